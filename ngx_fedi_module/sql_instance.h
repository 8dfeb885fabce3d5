/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the instance documents.
 */


/* instance: one row with everything the instance documents need */
FEDI_SQL(INSTANCE, 0,
    "SELECT"
    " (SELECT value #>> '{}' FROM settings"
    "   WHERE key = 'registrations_mode'),"
    " (SELECT count(*) FROM accounts WHERE domain IS NULL),"
    " (SELECT coalesce(sum(statuses_count), 0) FROM accounts"
    "   WHERE domain IS NULL),"
    " (SELECT count(DISTINCT lower(domain)) FROM accounts"
    "   WHERE domain IS NOT NULL),"
    " coalesce((SELECT json_agg(json_build_object('id', id::text,"
    "   'text', text, 'hint', hint) ORDER BY position, id) FROM rules),"
    "   '[]'),"
    " (SELECT value #>> '{}' FROM settings WHERE key = 'site_title'),"
    " (SELECT value #>> '{}' FROM settings"
    "   WHERE key = 'site_short_description'),"
    " (SELECT value #>> '{}' FROM settings"
    "   WHERE key = 'site_contact_email'),"
    " (SELECT count(*) FROM accounts WHERE domain IS NULL"
    "   AND suspended_at IS NULL"
    "   AND (last_status_at > now() - interval '30 days'"
    "        OR updated_at > now() - interval '30 days')),"
    " (SELECT count(*) FROM accounts WHERE domain IS NULL"
    "   AND suspended_at IS NULL"
    "   AND (last_status_at > now() - interval '180 days'"
    "        OR updated_at > now() - interval '180 days')),"
    " (SELECT email FROM users WHERE role = 'Owner' ORDER BY id LIMIT 1)")

FEDI_SQL(INSTANCE_PEERS, 0,
    "SELECT DISTINCT lower(domain) FROM accounts"
    " WHERE domain IS NOT NULL ORDER BY 1")

FEDI_SQL(INSTANCE_RULES, 0,
    "SELECT id, text, hint FROM rules ORDER BY position, id")

/* Mastodon's "listed" emojis: local, enabled, in the picker; see
 * fedi_emoji_render_cols() */
FEDI_SQL(CUSTOM_EMOJIS, 0,
    "SELECT shortcode, image_file, image_url, static_url, visible_in_picker,"
    " category FROM custom_emojis WHERE domain IS NULL AND NOT disabled"
    " AND visible_in_picker ORDER BY lower(shortcode)")
