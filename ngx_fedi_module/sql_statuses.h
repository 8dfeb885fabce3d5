/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of statuses, timelines and follows.  $1 is the viewer (NULL
 * when anonymous) and $2 the base URL wherever statuses are rendered.
 */


/* $1 handles, "user" (local) or "user@domain": the accounts a new status
 * mentions, known here; their id, username, domain ("" for local) and
 * profile URL ($2 the base URL) */
FEDI_SQL(MENTION_LOOKUP, 2,
    "SELECT id, username, coalesce(domain, ''),"
    " coalesce(url, $2 || '/@' || username) FROM accounts"
    " WHERE suspended_at IS NULL"
    " AND (lower(username), lower(coalesce(domain, ''))) IN"
    " (SELECT lower(split_part(u, '@', 1)),"
    "  lower(substr(u, length(split_part(u, '@', 1)) + 2))"
    "  FROM unnest($1::text[]) u)")

/* fedi_post_status(): $1..$16 as there; the attachments in the $17
 * array, fedi_post_status_media() */
FEDI_SQL(STATUS_POST, 16,
    "SELECT fedi_post_status($1, $2, $3, $4, $5::boolean, $6, $7,"
    " $8::bigint, $9::bigint, $10::bigint[], $11::text[], $12,"
    " $13::text[], $14::integer, $15::boolean, $16::boolean)")

FEDI_SQL(STATUS_POST_MEDIA, 17,
    "SELECT fedi_post_status_media($1, $2, $3, $4, $5::boolean, $6, $7,"
    " $8::bigint, $9::bigint, $10::bigint[], $11::text[], $12,"
    " $13::text[], $14::integer, $15::boolean, $16::boolean,"
    " $17::bigint[])")

/* $3 status id */
FEDI_SQL(STATUS_GET, 3,
    "SELECT " FEDI_STATUS_COLS
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id = $3 AND" FEDI_STATUS_VISIBLE)

/* $3 status id, $1 its author: answers the status with its source text;
 * its attachments are deleted with $4 (delete_media, their files after
 * the text and the count), else detached for a redraft, as Mastodon */
FEDI_SQL(STATUS_DELETE, 4,
    "WITH d AS (UPDATE statuses SET deleted_at = now()"
    "   WHERE id = $3 AND account_id = $1 AND deleted_at IS NULL"
    "   RETURNING id, in_reply_to_id),"
    " md AS (DELETE FROM media_attachments WHERE $4::boolean"
    "   AND status_id IN (SELECT id FROM d)"
    "   RETURNING file_path, preview_path, thumbnail_path),"
    " mu AS (UPDATE media_attachments SET status_id = NULL"
    "   WHERE NOT $4::boolean AND status_id IN (SELECT id FROM d)),"
    " c AS (UPDATE accounts SET statuses_count"
    "   = greatest(statuses_count - 1, 0)"
    "   WHERE id = $1 AND EXISTS (SELECT 1 FROM d) RETURNING 1),"
    " r AS (UPDATE statuses SET replies_count"
    "   = greatest(replies_count - 1, 0)"
    "   WHERE id = (SELECT in_reply_to_id FROM d) RETURNING 1),"
    " f AS (DELETE FROM feeds WHERE status_id IN (SELECT id FROM d)"
    "   RETURNING 1)"
    " SELECT " FEDI_STATUS_COLS ", s.text,"
    " (SELECT count(*) FROM c) + (SELECT count(*) FROM r)"
    " + (SELECT count(*) FROM f),"
    " (SELECT array_agg(p) FROM md, LATERAL (VALUES (file_path),"
    "   (preview_path), (thumbnail_path)) v(p) WHERE p IS NOT NULL)"
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id IN (SELECT id FROM d)")

/* home: $3..$6 max_id, since_id, min_id, limit */
FEDI_SQL_TIMELINE(TIMELINE_HOME, 6, "fd.status_id",
    " FROM feeds fd JOIN statuses s ON s.id = fd.status_id"
    FEDI_STATUS_JOIN_R,
    " WHERE fd.account_id = $1 AND" FEDI_TIMELINE_VISIBLE)

/* the polls of statuses $2 for the viewer $1 (the status cache's page) */
FEDI_SQL(STATUS_POLLS, 2,
    "SELECT p.status_id, " FEDI_POLL_JSON
    " FROM polls p WHERE p.status_id = ANY ($2::bigint[])")

/* statuses by id for the status cache: $3 the ids, their viewer-free
 * columns ($1 NULL) and their versions */
FEDI_SQL(STATUS_FILL, 3,
    "SELECT " FEDI_STATUS_COLS_OF("s", "a") ","
    FEDI_STATUS_VERSION_OF("s", "a")
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    " LEFT JOIN oauth_applications sap ON sap.id = s.application_id"
    " WHERE s.id = ANY ($3::bigint[]) AND $1::bigint IS NULL")

/* public: $7 local only, $8 remote only, $9 with media only */
FEDI_SQL_TIMELINE(TIMELINE_PUBLIC, 9, "s.id",
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    FEDI_STATUS_JOIN_R,
    " WHERE s.visibility = 'public' AND s.reblog_of_id IS NULL"
    " AND a.suspended_at IS NULL AND a.silenced_at IS NULL"
    " AND (NOT $7::boolean OR a.domain IS NULL)"
    " AND (NOT $8::boolean OR a.domain IS NOT NULL)"
    " AND (NOT $9::boolean OR EXISTS (SELECT 1 FROM media_attachments md"
    "      WHERE md.status_id = s.id))"
    " AND" FEDI_TIMELINE_VISIBLE)

/* an account's statuses: $7 the account, $8 exclude replies, $9 pinned
 * only, $10 exclude boosts, $11 with this hashtag only (or NULL), $12
 * with media only */
FEDI_SQL_TIMELINE(ACCOUNT_STATUSES, 12, "s.id",
    " FROM statuses s" FEDI_STATUS_JOIN_R,
    " WHERE s.account_id = $7::bigint"
    " AND (NOT $8::boolean OR s.in_reply_to_id IS NULL"
    "      OR s.in_reply_to_account_id = s.account_id)"
    " AND (NOT $9::boolean OR EXISTS (SELECT 1 FROM status_pins p"
    "      WHERE p.status_id = s.id AND p.account_id = s.account_id))"
    " AND (NOT $10::boolean OR s.reblog_of_id IS NULL)"
    " AND ($11::text IS NULL OR EXISTS (SELECT 1 FROM statuses_tags st"
    "   JOIN tags t ON t.id = st.tag_id WHERE st.status_id = s.id"
    "   AND lower(t.name) = lower($11::text)))"
    " AND (NOT $12::boolean OR EXISTS (SELECT 1 FROM media_attachments md"
    "      WHERE md.status_id = s.id))"
    " AND" FEDI_TIMELINE_VISIBLE)

/* $1 follower, $2 target, $3 reblogs, $4 notify; a remote target by
 * request, its Follow delivered (sql/0017) */
FEDI_SQL(FOLLOW, 4,
    "SELECT fedi_follow($1, $2, $3::boolean, $4::boolean)"
    " FROM accounts WHERE id = $2 AND id <> $1"
    " AND (domain IS NULL OR inbox_url <> '')")

FEDI_SQL(UNFOLLOW, 2,
    "SELECT fedi_unfollow($1, $2) FROM accounts WHERE id = $2")

/* $1 account, $2 status, $3 on or off: false when not visible */
FEDI_SQL(FAVOURITE, 3,
    "SELECT fedi_favourite($1, $2, $3::boolean)")

FEDI_SQL(BOOKMARK, 3,
    "SELECT fedi_bookmark($1, $2, $3::boolean)")

/* the viewer's favourites and bookmarks, paged by their own ids (the
 * last column is the cursor) */
FEDI_SQL_PAGED(FAVOURITES, 6, "fv.id",
    "SELECT " FEDI_STATUS_COLS ", pg.cursor"
    " FROM (SELECT s.id AS pid, fv.id AS cursor"
    " FROM favourites fv JOIN statuses s ON s.id = fv.status_id"
    FEDI_STATUS_JOIN_R
    " WHERE fv.account_id = $1 AND" FEDI_STATUS_VISIBLE,
    ") pg JOIN statuses s ON s.id = pg.pid"
    FEDI_STATUS_JOIN " ORDER BY pg.cursor DESC")

FEDI_SQL_PAGED(BOOKMARKS, 6, "bm.id",
    "SELECT " FEDI_STATUS_COLS ", pg.cursor"
    " FROM (SELECT s.id AS pid, bm.id AS cursor"
    " FROM bookmarks bm JOIN statuses s ON s.id = bm.status_id"
    FEDI_STATUS_JOIN_R
    " WHERE bm.account_id = $1 AND" FEDI_STATUS_VISIBLE,
    ") pg JOIN statuses s ON s.id = pg.pid"
    FEDI_STATUS_JOIN " ORDER BY pg.cursor DESC")

/* a thread: $3 the status; ancestors (up the reply chain) and
 * descendants (down, depth-first by id), each visible to the viewer;
 * the last column says which */
FEDI_SQL(CONTEXT, 3,
    "WITH RECURSIVE up(id, depth) AS ("
    "   SELECT in_reply_to_id, 1 FROM statuses WHERE id = $3"
    "   UNION ALL"
    "   SELECT st.in_reply_to_id, up.depth + 1 FROM statuses st"
    "   JOIN up ON st.id = up.id"
    "   WHERE up.id IS NOT NULL AND up.depth < 40),"
    " down(id, depth) AS ("
    "   SELECT id, 1 FROM statuses WHERE in_reply_to_id = $3"
    "   UNION ALL"
    "   SELECT st.id, down.depth + 1 FROM statuses st"
    "   JOIN down ON st.in_reply_to_id = down.id WHERE down.depth < 40)"
    " SELECT " FEDI_STATUS_COLS ", 'a'"
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id IN (SELECT id FROM up) AND" FEDI_STATUS_VISIBLE
    " UNION ALL"
    " SELECT " FEDI_STATUS_COLS ", 'd'"
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id IN (SELECT id FROM down) AND" FEDI_STATUS_VISIBLE
    " ORDER BY 1")

/* statuses by id ($3 '{1,2}'), those the viewer may see */
FEDI_SQL(STATUSES_BY_IDS, 3,
    "SELECT " FEDI_STATUS_COLS
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id = ANY ($3::bigint[]) AND" FEDI_STATUS_VISIBLE)

/*
 * Notifications: $1 the account, $2 the base URL, $3..$6 the page, $7
 * types to include ('{}' for all), $8 types to exclude, $9 from this
 * account only.  The sender's columns, the notification's, then its
 * status's (NULL when it has none).  Notifications from blocked or muted
 * accounts, or about statuses gone or not visible, are left out.
 */
/*
 * Only the page's ids are chosen first; the costly columns are computed
 * for those alone (a select list is evaluated for every row a sort sees).
 */
#define FEDI_NOTIFICATION_COLS                                               \
    FEDI_ACCOUNT_COLS_OF("na") ", n.id AS nid, n.type,"                     \
    " to_char(n.created_at AT TIME ZONE 'UTC',"                              \
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " FEDI_STATUS_COLS

#define FEDI_NOTIFICATION_FROM                                               \
    " FROM notifications n JOIN accounts na ON na.id = n.from_account_id"    \
    " LEFT JOIN statuses s ON s.id = n.status_id"                            \
    " LEFT JOIN accounts a ON a.id = s.account_id"                           \
    " LEFT JOIN statuses r ON r.id = s.reblog_of_id"                         \
    " LEFT JOIN accounts ra ON ra.id = r.account_id"                         \
    FEDI_STATUS_JOIN_APPS

#define FEDI_NOTIFICATION_WHERE                                              \
    " WHERE n.account_id = $1"                                               \
    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = $1"        \
    "   AND b.target_account_id = n.from_account_id)"                        \
    " AND NOT EXISTS (SELECT 1 FROM account_domain_blocks db"                \
    "   WHERE db.account_id = $1 AND db.domain = lower(na.domain))"          \
    " AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = $1"         \
    "   AND m.target_account_id = n.from_account_id AND m.hide_notifications"\
    "   AND (m.expires_at IS NULL OR m.expires_at > now()))"                 \
    " AND (n.status_id IS NULL OR (" FEDI_STATUS_VISIBLE "))"

FEDI_SQL_PAGED(NOTIFICATIONS, 9, "n.id",
    "SELECT " FEDI_NOTIFICATION_COLS
    " FROM (SELECT n.id AS pid" FEDI_NOTIFICATION_FROM FEDI_NOTIFICATION_WHERE
    " AND (cardinality($7::text[]) = 0 OR n.type = ANY ($7::text[]))"
    " AND NOT (n.type = ANY ($8::text[]))"
    " AND ($9::bigint IS NULL OR n.from_account_id = $9::bigint)",
    ") pg JOIN notifications n ON n.id = pg.pid"
    " JOIN accounts na ON na.id = n.from_account_id"
    " LEFT JOIN statuses s ON s.id = n.status_id"
    " LEFT JOIN accounts a ON a.id = s.account_id"
    " LEFT JOIN statuses r ON r.id = s.reblog_of_id"
    " LEFT JOIN accounts ra ON ra.id = r.account_id"
    FEDI_STATUS_JOIN_APPS
    " ORDER BY n.id DESC")

/* one: $3 its id */
FEDI_SQL(NOTIFICATION_GET, 3,
    "SELECT " FEDI_NOTIFICATION_COLS FEDI_NOTIFICATION_FROM
    FEDI_NOTIFICATION_WHERE " AND n.id = $3::bigint")

/* $2 one id, or NULL for all */
FEDI_SQL(NOTIFICATIONS_CLEAR, 2,
    "DELETE FROM notifications WHERE account_id = $1"
    " AND ($2::bigint IS NULL OR id = $2::bigint)")

/* unread: newer than the notifications marker, up to $2 */
FEDI_SQL(NOTIFICATIONS_UNREAD, 2,
    "SELECT count(*) FROM (SELECT 1 FROM notifications n"
    " WHERE n.account_id = $1 AND n.id > coalesce((SELECT last_read_id"
    "   FROM markers WHERE account_id = $1"
    "   AND timeline = 'notifications'), 0)"
    " LIMIT $2::bigint) x")

/* $1 account, $2 status, $3 visibility, $4 on: see fedi_reblog() */
FEDI_SQL(REBLOG, 4,
    "SELECT fedi_reblog($1, $2, $3, $4::boolean)")

/* fedi_edit_status(): $1 account, $2 status, $3..$9 as there */
FEDI_SQL(STATUS_EDIT, 9,
    "SELECT fedi_edit_status($1, $2, $3, $4, $5, $6::boolean, $7,"
    " $8::bigint[], $9::text[])")

/* the same, the attachments becoming those of the $10 array */
FEDI_SQL(STATUS_EDIT_MEDIA, 10,
    "SELECT fedi_edit_status_media($1, $2, $3, $4, $5, $6::boolean, $7,"
    " $8::bigint[], $9::text[], $10::bigint[])")

/* the versions of $3, oldest first: the edits, then the current one */
FEDI_SQL(STATUS_HISTORY, 3,
    "SELECT e.content, e.spoiler_text, e.sensitive,"
    " to_char(e.created_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " FEDI_ACCOUNT_COLS
    " FROM status_edits e JOIN statuses s ON s.id = e.status_id"
    FEDI_STATUS_JOIN
    " WHERE s.id = $3 AND ($2::text IS NULL OR true) AND" FEDI_STATUS_VISIBLE
    " UNION ALL"
    " SELECT s.content, s.spoiler_text, s.sensitive,"
    " to_char(coalesce(s.edited_at, s.created_at) AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), " FEDI_ACCOUNT_COLS
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id = $3 AND" FEDI_STATUS_VISIBLE
    " ORDER BY 4")

/* the source of one's own status: $1 account, $2 status */
FEDI_SQL(STATUS_SOURCE, 2,
    "SELECT id, text, spoiler_text FROM statuses"
    " WHERE id = $2 AND account_id = $1 AND deleted_at IS NULL")

/* $1 account, $2 status, $3 on: see fedi_pin() */
FEDI_SQL(PIN, 3,
    "SELECT fedi_pin($1, $2, $3::boolean)")

/* a hashtag's timeline: $7 the tag, $8 any of these too, $9 all of
 * these as well, $10 none of these, $11 local only, $12 remote only */
FEDI_SQL_TIMELINE(TIMELINE_TAG, 12, "s.id",
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    FEDI_STATUS_JOIN_R,
    " WHERE s.visibility = 'public' AND s.reblog_of_id IS NULL"
    " AND a.suspended_at IS NULL AND a.silenced_at IS NULL"
    " AND s.id IN (SELECT st.status_id FROM statuses_tags st"
    "   JOIN tags t ON t.id = st.tag_id"
    "   WHERE lower(t.name) = lower($7)"
    "   OR lower(t.name) = ANY (SELECT lower(x) FROM unnest($8::text[]) x))"
    " AND (SELECT count(DISTINCT lower(t.name)) FROM statuses_tags st"
    "   JOIN tags t ON t.id = st.tag_id WHERE st.status_id = s.id"
    "   AND lower(t.name) = ANY (SELECT lower(x) FROM unnest($9::text[]) x))"
    "   = (SELECT count(DISTINCT lower(x)) FROM unnest($9::text[]) x)"
    " AND NOT EXISTS (SELECT 1 FROM statuses_tags st"
    "   JOIN tags t ON t.id = st.tag_id WHERE st.status_id = s.id"
    "   AND lower(t.name) = ANY (SELECT lower(x) FROM unnest($10::text[]) x))"
    " AND (NOT $11::boolean OR a.domain IS NULL)"
    " AND (NOT $12::boolean OR a.domain IS NOT NULL)"
    " AND" FEDI_TIMELINE_VISIBLE)

/* a poll: $1 viewer, $2 poll id */
FEDI_SQL(POLL_GET, 2,
    "SELECT " FEDI_POLL_JSON " FROM polls p JOIN statuses s"
    " ON s.id = p.status_id WHERE p.id = $2::bigint AND s.deleted_at IS NULL"
    " AND fedi_status_visible(s.id, s.account_id, s.visibility, $1)")

/* $1 account, $2 poll, $3 choices '{0,2}': see fedi_poll_vote() */
FEDI_SQL(POLL_VOTE, 3,
    "SELECT fedi_poll_vote($1, $2, $3::integer[])")

/*
 * Conversations (direct messages): per thread the viewer is in, its last
 * direct status, once per other participant (the account columns after
 * the status's; NULL when alone), the thread's id and whether it is
 * unread.  Paged by the last status's id; $7 one thread, or NULL for all.
 * Removed ones stay away until a newer direct status.
 */
FEDI_SQL(CONVERSATIONS, 7,
    "WITH c AS (SELECT s.conversation_id AS cid, max(s.id) AS last_id"
    "   FROM statuses s WHERE s.visibility = 'direct'"
    "   AND s.deleted_at IS NULL AND (s.account_id = $1 OR EXISTS"
    "   (SELECT 1 FROM mentions m WHERE m.status_id = s.id"
    "    AND m.account_id = $1))"
    "   AND ($7::bigint IS NULL OR s.conversation_id = $7::bigint)"
    "   GROUP BY s.conversation_id),"
    " pg AS (SELECT cid, last_id, coalesce(cs.read_up_to, 0) AS read_up_to"
    "   FROM c LEFT JOIN conversation_states cs ON cs.account_id = $1"
    "   AND cs.conversation_id = c.cid"
    "   WHERE last_id > coalesce(cs.removed_up_to, 0)"
    "   AND last_id < coalesce($3::bigint, 9223372036854775807)"
    "   AND last_id > coalesce($4::bigint, 0)"
    "   AND ($5::bigint IS NULL OR last_id > $5::bigint)"
    "   ORDER BY CASE WHEN $5::bigint IS NOT NULL THEN last_id END,"
    "   last_id DESC LIMIT $6),"
    " parts AS (SELECT DISTINCT pg.cid, x.acc FROM pg"
    "   JOIN statuses d ON d.conversation_id = pg.cid"
    "   AND d.visibility = 'direct' AND d.deleted_at IS NULL"
    "   CROSS JOIN LATERAL (SELECT d.account_id AS acc UNION"
    "   SELECT m.account_id FROM mentions m WHERE m.status_id = d.id) x"
    "   WHERE x.acc <> $1)"
    " SELECT " FEDI_STATUS_COLS ", " FEDI_ACCOUNT_COLS_OF("pa") ", pg.cid,"
    " s.account_id <> $1 AND pg.last_id > pg.read_up_to"
    " FROM pg JOIN statuses s ON s.id = pg.last_id" FEDI_STATUS_JOIN
    " LEFT JOIN parts ON parts.cid = pg.cid"
    " LEFT JOIN accounts pa ON pa.id = parts.acc"
    " ORDER BY pg.last_id DESC, pa.id")

/* $1 account, $2 thread, $3 remove (or only read): fedi_conversation_mark */
FEDI_SQL(CONVERSATION_MARK, 3,
    "SELECT fedi_conversation_mark($1, $2::bigint, $3::boolean)")

/* $1 account, $2 status, $3 on or off: false when not visible */
FEDI_SQL(MUTE_CONVERSATION, 3,
    "SELECT fedi_mute_conversation($1, $2, $3::boolean)")

/* the background fan-out: $1 jobs at most; see fedi_fanout_run() */
FEDI_SQL(FANOUT_RUN, 1,
    "SELECT fedi_fanout_run($1::integer)")

/* the accounts of one notification group ($2 its group_key) */
FEDI_SQL(NOTIFICATION_GROUP_ACCOUNTS, 2,
    "SELECT " FEDI_ACCOUNT_COLS
    " FROM notifications n JOIN accounts a ON a.id = n.from_account_id"
    " WHERE n.account_id = $1"
    " AND (($2 = 'follow' AND n.type = 'follow')"
    "  OR ($2 LIKE 'ungrouped-%' AND n.id::text = substr($2, 11))"
    "  OR (n.type IN ('favourite', 'reblog')"
    "      AND n.type || '-' || n.status_id = $2))"
    " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = $1"
    "   AND b.target_account_id = n.from_account_id)"
    " ORDER BY n.id DESC LIMIT 80")

/* polls that ended: $1 at most; see fedi_polls_ended() */
FEDI_SQL(POLLS_ENDED, 1,
    "SELECT fedi_polls_ended($1::integer)")
