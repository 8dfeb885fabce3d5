/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of accounts: sign-up, credentials, lookups, relationships,
 * preferences, markers.
 */


FEDI_SQL(ACCOUNT_BY_ID, 1,
    "SELECT " FEDI_ACCOUNT_COLS " FROM accounts a WHERE a.id = $1")

/* $1 username, $2 domain or NULL */
FEDI_SQL(ACCOUNT_LOOKUP, 2,
    "SELECT " FEDI_ACCOUNT_COLS " FROM accounts a"
    " WHERE lower(a.username) = lower($1)"
    " AND lower(coalesce(a.domain, '')) = lower(coalesce($2, ''))")

/* $1 prefix, $2 limit, $3 offset */
FEDI_SQL(ACCOUNT_SEARCH, 3,
    "SELECT " FEDI_ACCOUNT_COLS " FROM accounts a"
    " WHERE a.suspended_at IS NULL"
    " AND (lower(a.username) LIKE lower($1) || '%'"
    "  OR lower(a.display_name) LIKE lower($1) || '%'"
    "  OR lower(a.username || '@' || coalesce(a.domain, ''))"
    "     LIKE lower($1) || '%')"
    " ORDER BY a.domain IS NOT NULL, a.followers_count DESC, a.id"
    " LIMIT $2 OFFSET $3")

/* the CredentialAccount: the Account, then the source and the role */
FEDI_SQL(ACCOUNT_CREDENTIALS, 1,
    "SELECT " FEDI_ACCOUNT_COLS ","
    " a.note_source, a.fields_source::text, u.default_privacy,"
    " u.default_sensitive, u.default_language, u.role,"
    " (SELECT count(*) FROM follow_requests r"
    "   WHERE r.target_account_id = a.id)"
    " FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.id = $1")

/* $1 account, $2 display_name, $3 note (HTML), $4 note (typed),
 * $5 locked, $6 bot, $7 discoverable, $8 indexable, $9 hide_collections,
 * $10 fields (HTML) json, $11 fields (typed) json, $12 privacy,
 * $13 sensitive, $14 language ('' clears), $15 avatar and $16 header
 * files ('' removes; NULL keeps); answers the old files after the notice */
FEDI_SQL(ACCOUNT_UPDATE, 16,
    "WITH o AS (SELECT avatar_file, header_file FROM accounts"
    "   WHERE id = $1),"
    " u AS (UPDATE users SET"
    "   default_privacy = coalesce($12, default_privacy),"
    "   default_sensitive = coalesce($13::boolean, default_sensitive),"
    "   default_language = CASE WHEN $14::text IS NULL THEN default_language"
    "     ELSE nullif($14, '') END,"
    "   updated_at = now()"
    "   WHERE account_id = $1 RETURNING 1)"
    " UPDATE accounts SET"
    " display_name = coalesce($2, display_name),"
    " note = coalesce($3, note), note_source = coalesce($4, note_source),"
    " locked = coalesce($5::boolean, locked),"
    " actor_type = CASE WHEN $6::boolean IS NULL THEN actor_type"
    "   WHEN $6::boolean THEN 'Service' ELSE 'Person' END,"
    " discoverable = coalesce($7::boolean, discoverable),"
    " indexable = coalesce($8::boolean, indexable),"
    " hide_collections = coalesce($9::boolean, hide_collections),"
    " fields = coalesce($10::jsonb, fields),"
    " fields_source = coalesce($11::jsonb, fields_source),"
    " avatar_file = CASE WHEN $15::text IS NULL THEN avatar_file"
    "   ELSE nullif($15, '') END,"
    " header_file = CASE WHEN $16::text IS NULL THEN header_file"
    "   ELSE nullif($16, '') END,"
    " updated_at = now()"
    " WHERE id = $1 AND (SELECT count(*) FROM u) >= 0"
    " RETURNING fedi_cache_notify('account:' || id),"
    " (SELECT avatar_file FROM o), (SELECT header_file FROM o)")

/* $1 viewer, $2 ids as '{1,2}' */
FEDI_SQL(RELATIONSHIPS, 2,
    "SELECT t.id,"
    " f.account_id IS NOT NULL, coalesce(f.show_reblogs, false),"
    " coalesce(f.notify, false),"
    " EXISTS (SELECT 1 FROM follows x WHERE x.account_id = t.id"
    "   AND x.target_account_id = $1),"
    " EXISTS (SELECT 1 FROM blocks x WHERE x.account_id = $1"
    "   AND x.target_account_id = t.id),"
    " EXISTS (SELECT 1 FROM blocks x WHERE x.account_id = t.id"
    "   AND x.target_account_id = $1),"
    " m.account_id IS NOT NULL, coalesce(m.hide_notifications, false),"
    " EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = $1"
    "   AND x.target_account_id = t.id),"
    " EXISTS (SELECT 1 FROM follow_requests x WHERE x.account_id = t.id"
    "   AND x.target_account_id = $1),"
    " t.domain IS NOT NULL AND EXISTS (SELECT 1 FROM account_domain_blocks x"
    "   WHERE x.account_id = $1 AND x.domain = t.domain),"
    " EXISTS (SELECT 1 FROM account_pins x WHERE x.account_id = $1"
    "   AND x.target_account_id = t.id),"
    " coalesce(n.comment, ''),"
    " to_char(m.expires_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    " array_to_json(f.languages)::text"
    " FROM unnest($2::bigint[]) WITH ORDINALITY AS x(id, ord)"
    " JOIN accounts t ON t.id = x.id"
    " LEFT JOIN follows f ON f.account_id = $1 AND f.target_account_id = t.id"
    " LEFT JOIN mutes m ON m.account_id = $1 AND m.target_account_id = t.id"
    "   AND (m.expires_at IS NULL OR m.expires_at > now())"
    " LEFT JOIN account_notes n ON n.account_id = $1"
    "   AND n.target_account_id = t.id"
    " ORDER BY x.ord")

FEDI_SQL(PREFERENCES, 1,
    "SELECT default_privacy, default_sensitive, default_language"
    " FROM users WHERE account_id = $1")

/* $1 account, $2 timelines as '{home,notifications}' or NULL for all */
FEDI_SQL(MARKERS_GET, 2,
    "SELECT timeline, last_read_id, lock_version,"
    " to_char(updated_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    " FROM markers WHERE account_id = $1"
    " AND ($2::text[] IS NULL OR timeline = ANY ($2::text[]))")

/* $1 account, $2 home last_read_id or NULL, $3 notifications' */
FEDI_SQL(MARKERS_SET, 3,
    "INSERT INTO markers (account_id, timeline, last_read_id)"
    " SELECT $1, t, v::bigint FROM (VALUES ('home', $2), ('notifications', $3))"
    "   AS m(t, v) WHERE v IS NOT NULL"
    " ON CONFLICT (account_id, timeline) DO UPDATE"
    " SET last_read_id = excluded.last_read_id,"
    " lock_version = markers.lock_version + 1, updated_at = now()"
    " RETURNING timeline, last_read_id, lock_version,"
    " to_char(updated_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")

/* sign-up: see fedi_signup() in sql/; $1..$15 as there */
FEDI_SQL(SIGNUP, 15,
    "SELECT fedi_signup($1, $2, $3, $4, $5, $6::inet, $7::boolean,"
    " $8::boolean, $9, $10, $11, $12, $13::bigint, $14, $15)")

/* $1 hex SHA-256 of the confirmation token */
FEDI_SQL(CONFIRM_EMAIL, 1,
    "UPDATE users SET confirmed_at = now(), confirmation_digest = NULL"
    " WHERE confirmation_digest = decode($1, 'hex')"
    " AND confirmed_at IS NULL"
    " RETURNING id, fedi_cache_notify('user:' || id)")

FEDI_SQL(REGISTRATIONS_MODE, 0,
    "SELECT coalesce((SELECT value #>> '{}' FROM settings"
    " WHERE key = 'registrations_mode'), 'open')")
