/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of announcements (api_announcements.c, and the streaming
 * API's announcement events) and of the Emoji document (fedi_emoji.c):
 * see sql/0034.
 */


/*
 * An Announcement for the viewer $1 (NULL: none, as the streaming API
 * renders it), $2 the base URL; see fedi_announcement_render().  The
 * reactions: [name, count, me, file, url, static url] in the order they
 * came; the emojis as FEDI_EMOJIS_OF's; the mentions: the accounts its
 * text names that are known here, as Mastodon's Account.from_text.
 */
#define FEDI_ANNOUNCEMENT_COLS                                               \
    "an.id, an.text,"                                                        \
    " to_char(an.starts_at AT TIME ZONE 'UTC',"                              \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " to_char(an.ends_at AT TIME ZONE 'UTC',"                                \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " an.all_day AND an.starts_at IS NOT NULL,"                              \
    " to_char(an.published_at AT TIME ZONE 'UTC',"                           \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " to_char(an.updated_at AT TIME ZONE 'UTC',"                             \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " EXISTS (SELECT 1 FROM announcement_reads ar"                           \
    "   WHERE ar.announcement_id = an.id AND ar.account_id = $1),"           \
    " (SELECT json_agg(json_build_array(x.name, x.n, x.me, e.image_file,"    \
    "   e.image_url, e.static_url) ORDER BY x.first, x.name)"                \
    "   FROM (SELECT r.name, count(*) AS n, min(r.created_at) AS first,"     \
    "     coalesce(bool_or(r.account_id = $1), false) AS me,"                \
    "     min(r.custom_emoji_id) AS emoji"                                   \
    "     FROM announcement_reactions r WHERE r.announcement_id = an.id"     \
    "     GROUP BY r.name) x"                                                \
    "   LEFT JOIN custom_emojis e ON e.id = x.emoji AND NOT e.disabled),"    \
    " (SELECT json_agg(json_build_array(e.shortcode, e.image_file,"         \
    "   e.image_url, e.static_url, e.visible_in_picker, e.category)"         \
    "   ORDER BY e.shortcode) FROM custom_emojis e"                          \
    "   WHERE e.domain IS NULL AND NOT e.disabled"                           \
    "   AND e.shortcode = ANY (fedi_emoji_shortcodes(an.text))),"            \
    " (SELECT json_agg(json_build_object('id', ma.id::text,"                 \
    "   'username', ma.username, 'url', coalesce(ma.url, $2 || '/@'"         \
    "   || ma.username), 'acct', ma.username || coalesce('@' || ma.domain,"  \
    "   '')) ORDER BY ma.id) FROM accounts ma WHERE ma.id IN"                \
    "   (SELECT a.id FROM regexp_matches(an.text, '(?:^|[^/[:alnum:]@])@"   \
    "([A-Za-z0-9_]+(?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?)"                         \
    "(?:@([A-Za-z0-9.-]*[A-Za-z0-9]))?', 'g') m"                              \
    "   JOIN accounts a ON lower(a.username) = lower(m[1])"                  \
    "   AND lower(coalesce(a.domain, '')) = CASE WHEN m[2] IS NULL"          \
    "   OR lower(m[2]) = lower(split_part(substr($2, 9), '/', 1))"           \
    "   THEN '' ELSE lower(m[2]) END))"

/* the published ones, as Mastodon's "chronological" */
FEDI_SQL(ANNOUNCEMENTS, 2,
    "SELECT " FEDI_ANNOUNCEMENT_COLS
    " FROM announcements an WHERE an.published_at IS NOT NULL"
    " ORDER BY coalesce(an.starts_at, an.published_at, an.created_at), an.id")

/* one, for the streaming API: $3 its id */
FEDI_SQL(ANNOUNCEMENT_GET, 3,
    "SELECT " FEDI_ANNOUNCEMENT_COLS
    " FROM announcements an WHERE an.id = $3::bigint"
    " AND an.published_at IS NOT NULL")

/* $1 account, $2 announcement: one row when it is published */
FEDI_SQL(ANNOUNCEMENT_DISMISS, 2,
    "WITH an AS (SELECT id FROM announcements WHERE id = $2::bigint"
    "   AND published_at IS NOT NULL),"
    " ins AS (INSERT INTO announcement_reads (account_id, announcement_id)"
    "   SELECT $1, id FROM an ON CONFLICT DO NOTHING)"
    " SELECT id FROM an")

/* $1 account, $2 announcement, $3 name, $4 whether it is a unicode emoji:
 * see fedi_announcement_react() */
FEDI_SQL(ANNOUNCEMENT_REACT, 4,
    "SELECT fedi_announcement_react($1, $2::bigint, $3, $4::boolean)")

/* one's reaction taken back: a row when there was one */
FEDI_SQL(ANNOUNCEMENT_UNREACT, 3,
    "DELETE FROM announcement_reactions r USING announcements an"
    " WHERE an.id = r.announcement_id AND an.published_at IS NOT NULL"
    " AND r.account_id = $1 AND r.announcement_id = $2::bigint"
    " AND r.name = $3 RETURNING r.id")

/* a name's reactions now, for announcement.reaction: $1 announcement,
 * $2 name; one row (count 0 when the last was taken back) */
FEDI_SQL(ANNOUNCEMENT_REACTION, 2,
    "SELECT $2::text, count(r.id), e.image_file, e.image_url, e.static_url"
    " FROM (SELECT 1) one"
    " LEFT JOIN announcement_reactions r ON r.announcement_id = $1::bigint"
    "   AND r.name = $2"
    " LEFT JOIN custom_emojis e ON e.id = r.custom_emoji_id"
    "   AND NOT e.disabled"
    " GROUP BY e.image_file, e.image_url, e.static_url"
    " ORDER BY count(r.id) DESC LIMIT 1")

/* a local emoji's ActivityPub document (/emojis/:id): $1 its id */
FEDI_SQL(AP_EMOJI, 1,
    "SELECT " FEDI_EMOJI_JSON " FROM custom_emojis e"
    " WHERE e.id = $1::bigint AND e.domain IS NULL")
