/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the ActivityPub documents of local accounts and statuses:
 * WebFinger, actors, Notes, outbox, followers, following.  The instance's
 * base URL is a parameter: every id is absolute.
 */


#define FEDI_AP_PUBLIC  "'https://www.w3.org/ns/activitystreams#Public'"

/* the actor URL of "accounts x", local or remote, with base b */
#define FEDI_AP_URI_OF(x, b)                                                 \
    "CASE WHEN " x ".domain IS NULL THEN " b " || '/users/' || " x           \
    ".username ELSE " x ".uri END"


/*
 * A local account's actor: $1 username, $2 base URL; see ap_actor.c.
 * Suspended accounts are not served.
 */
FEDI_SQL(AP_ACCOUNT, 2,
    "SELECT a.username, a.display_name, a.note, a.actor_type, a.locked,"
    " a.discoverable, a.indexable, a.memorial,"
    " to_char(a.created_at AT TIME ZONE 'UTC',"
    "  'YYYY-MM-DD\"T00:00:00Z\"'),"
    " coalesce((SELECT json_agg(json_build_object('type', 'PropertyValue',"
    "   'name', f->>'name', 'value', f->>'value'))"
    "   FROM jsonb_array_elements(a.fields) f), '[]'),"
    " a.avatar_file, a.header_file, a.public_key,"
    " array_to_json(a.also_known_as),"
    " (SELECT " FEDI_AP_URI_OF("m", "$2") " FROM accounts m"
    "   WHERE m.id = a.moved_to_account_id),"
    " coalesce(a.hide_collections, false), a.followers_count,"
    " a.following_count, a.statuses_count, a.note_source, "
    FEDI_EMOJIS_OF("account_emojis", "account_id", "a.id")
    " FROM accounts a"
    " WHERE a.domain IS NULL AND lower(a.username) = lower($1)"
    " AND a.suspended_at IS NULL")


/* a reply "statuses r" by "accounts ra": its URI, whether anyone may see it */
#define FEDI_AP_REPLY_URI(b)                                                 \
    "coalesce(r.uri, " b " || '/users/' || ra.username || '/statuses/'"      \
    " || r.id)"

#define FEDI_AP_REPLY_PUBLIC                                                 \
    " r.deleted_at IS NULL AND r.reblog_of_id IS NULL"                       \
    " AND r.visibility IN ('public', 'unlisted')"


/*
 * A Note of "statuses s" by the local "accounts a", base URL b: see
 * fedi_ap_note().  to, cc and tag are built here, as Mastodon's
 * ActivityPub::TagManager addresses a status.
 */
#define FEDI_AP_MENTION_URIS(b)                                              \
    "coalesce((SELECT jsonb_agg(" FEDI_AP_URI_OF("ma", b) " ORDER BY ma.id)" \
    " FROM mentions m JOIN accounts ma ON ma.id = m.account_id"              \
    " WHERE m.status_id = s.id), '[]'::jsonb)"

#define FEDI_AP_FOLLOWERS(b)                                                 \
    "jsonb_build_array(" b " || '/users/' || a.username || '/followers')"

#define FEDI_AP_NOTE_COLS(b)                                                 \
    "s.id, to_char(s.created_at AT TIME ZONE 'UTC',"                         \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                   \
    " to_char(s.edited_at AT TIME ZONE 'UTC',"                               \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"                                   \
    " s.language, s.spoiler_text, s.sensitive, s.content,"                   \
    " (SELECT " FEDI_AP_REPLY_URI(b) " FROM statuses r"                      \
    "   JOIN accounts ra ON ra.id = r.account_id"                            \
    "   WHERE r.id = s.in_reply_to_id),"                                     \
    " CASE s.visibility WHEN 'public' THEN"                                  \
    "   jsonb_build_array(" FEDI_AP_PUBLIC ")"                               \
    "  WHEN 'direct' THEN " FEDI_AP_MENTION_URIS(b)                          \
    "  ELSE " FEDI_AP_FOLLOWERS(b) " END,"                                   \
    " CASE s.visibility WHEN 'public' THEN " FEDI_AP_FOLLOWERS(b)            \
    "   || " FEDI_AP_MENTION_URIS(b)                                         \
    "  WHEN 'unlisted' THEN jsonb_build_array(" FEDI_AP_PUBLIC ")"           \
    "   || " FEDI_AP_MENTION_URIS(b)                                         \
    "  WHEN 'private' THEN " FEDI_AP_MENTION_URIS(b)                         \
    "  ELSE '[]'::jsonb END,"                                                \
    " coalesce((SELECT jsonb_agg(jsonb_build_object('type', 'Mention',"      \
    "   'href', " FEDI_AP_URI_OF("ma", b) ", 'name', '@' || ma.username"     \
    "   || coalesce('@' || ma.domain, '')) ORDER BY ma.id)"                  \
    "   FROM mentions m JOIN accounts ma ON ma.id = m.account_id"            \
    "   WHERE m.status_id = s.id), '[]'::jsonb)"                             \
    " || coalesce((SELECT jsonb_agg(jsonb_build_object('type', 'Hashtag',"   \
    "   'href', " b " || '/tags/' || lower(t.name),"                         \
    "   'name', '#' || lower(t.name)) ORDER BY lower(t.name))"               \
    "   FROM statuses_tags st JOIN tags t ON t.id = st.tag_id"               \
    "   WHERE st.status_id = s.id), '[]'::jsonb),"                           \
    " p.multiple, to_char(p.expires_at AT TIME ZONE 'UTC',"                 \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), p.expires_at <= now(),"          \
    " p.voters_count,"                                                       \
    " (SELECT json_agg(json_build_object('type', 'Note', 'name', o.title,"   \
    "   'replies', json_build_object('type', 'Collection', 'totalItems',"    \
    "   (SELECT count(*) FROM poll_votes v WHERE v.poll_id = p.id"           \
    "    AND v.choice = o.n - 1))) ORDER BY o.n)"                            \
    "   FROM unnest(p.options) WITH ORDINALITY o(title, n)),"                \
    " a.username, s.text, a.display_name,"                                   \
    " coalesce((SELECT jsonb_agg(" FEDI_AP_REPLY_URI(b) " ORDER BY r.id)"    \
    "   FROM statuses r JOIN accounts ra ON ra.id = r.account_id"            \
    "   WHERE r.in_reply_to_id = s.id AND r.account_id = s.account_id"       \
    "   AND" FEDI_AP_REPLY_PUBLIC "), '[]'::jsonb),"                         \
    " (SELECT json_agg(" FEDI_MEDIA_JSON("mda")                              \
    "   ORDER BY mda.position, mda.id) FROM media_attachments mda"           \
    "   WHERE mda.status_id = s.id), "                                       \
    FEDI_EMOJIS_OF("status_emojis", "status_id", "s.id")

#define FEDI_AP_NOTE_NCOLS  22

/* the polls of the Notes: p */
#define FEDI_AP_NOTE_POLL  " LEFT JOIN polls p ON p.status_id = s.id"

/* the statuses anyone may fetch */
#define FEDI_AP_STATUS_PUBLIC                                                \
    " s.deleted_at IS NULL AND s.reblog_of_id IS NULL"                       \
    " AND s.visibility IN ('public', 'unlisted')"


/* $1 username, $2 status id, $3 base URL */
FEDI_SQL(AP_STATUS, 3,
    "SELECT " FEDI_AP_NOTE_COLS("$3")
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    FEDI_AP_NOTE_POLL
    " WHERE s.id = $2::bigint AND a.domain IS NULL"
    " AND lower(a.username) = lower($1) AND a.suspended_at IS NULL"
    " AND" FEDI_AP_STATUS_PUBLIC)


/*
 * An outbox page: $1 username, $2 base URL, $3 max_id, $4 min_id,
 * $5 limit (0 for the collection alone).  One row with a NULL status
 * when the page is empty, none when there is no such account; the
 * account's statuses_count follows the Note's columns.
 */
FEDI_SQL(AP_OUTBOX, 5,
    "SELECT " FEDI_AP_NOTE_COLS("$2") ", a.statuses_count"
    " FROM accounts a LEFT JOIN LATERAL (SELECT s.* FROM statuses s"
    "   WHERE s.account_id = a.id AND" FEDI_AP_STATUS_PUBLIC
    "   AND s.id < coalesce($3::bigint, 9223372036854775807)"
    "   AND s.id > coalesce($4::bigint, 0)"
    "   ORDER BY CASE WHEN $4::bigint IS NOT NULL THEN s.id END,"
    "   s.id DESC LIMIT $5) s ON true" FEDI_AP_NOTE_POLL
    " WHERE a.domain IS NULL AND lower(a.username) = lower($1)"
    " AND a.suspended_at IS NULL"
    " ORDER BY s.id DESC")


/*
 * Followers and following: $1 username, $2 base URL, $3 limit (0 for the
 * collection alone), $4 offset.  Rows: hidden, total, the actor's URI
 * (NULL when the page is empty).
 */
#define FEDI_AP_FOLLOWS(total, mine, theirs)                                 \
    "SELECT coalesce(a.hide_collections, false), a." total ", x.uri"         \
    " FROM accounts a LEFT JOIN LATERAL (SELECT "                            \
    FEDI_AP_URI_OF("fa", "$2") " AS uri, f.id"                               \
    "   FROM follows f JOIN accounts fa ON fa.id = f." theirs                \
    "   WHERE f." mine " = a.id AND fa.suspended_at IS NULL"                 \
    "   ORDER BY f.id DESC LIMIT $3 OFFSET $4) x ON true"                    \
    " WHERE a.domain IS NULL AND lower(a.username) = lower($1)"              \
    " AND a.suspended_at IS NULL ORDER BY x.id DESC"

FEDI_SQL(AP_FOLLOWERS, 4,
    FEDI_AP_FOLLOWS("followers_count", "target_account_id", "account_id"))

FEDI_SQL(AP_FOLLOWING, 4,
    FEDI_AP_FOLLOWS("following_count", "account_id", "target_account_id"))


/*
 * The featured collection: the pinned public and unlisted statuses,
 * last pinned first; $1 username, $2 base URL.  One row with a NULL
 * status when there are none, none when there is no such account.
 */
FEDI_SQL(AP_FEATURED, 2,
    "SELECT " FEDI_AP_NOTE_COLS("$2")
    " FROM accounts a LEFT JOIN LATERAL (SELECT s.*, sp.created_at AS pinned"
    "   FROM status_pins sp JOIN statuses s ON s.id = sp.status_id"
    "   WHERE sp.account_id = a.id AND" FEDI_AP_STATUS_PUBLIC ") s ON true"
    FEDI_AP_NOTE_POLL
    " WHERE a.domain IS NULL AND lower(a.username) = lower($1)"
    " AND a.suspended_at IS NULL"
    " ORDER BY s.pinned DESC, s.id DESC")


/*
 * Replies to a public or unlisted status by others: $1 username, $2
 * status id, $3 base URL, $4 min_id, $5 limit.  Rows: URI, id, the
 * author's username.  One row with a NULL URI
 * when there are none, none when there is no such status.
 */
FEDI_SQL(AP_REPLIES, 5,
    "SELECT x.uri, x.id, a.username"
    " FROM statuses s JOIN accounts a ON a.id = s.account_id"
    " LEFT JOIN LATERAL (SELECT " FEDI_AP_REPLY_URI("$3") " AS uri, r.id"
    "   FROM statuses r JOIN accounts ra ON ra.id = r.account_id"
    "   WHERE r.in_reply_to_id = s.id AND r.account_id <> s.account_id"
    "   AND r.id > coalesce($4::bigint, 0) AND" FEDI_AP_REPLY_PUBLIC
    "   ORDER BY r.id LIMIT $5) x ON true"
    " WHERE s.id = $2::bigint AND a.domain IS NULL"
    " AND lower(a.username) = lower($1) AND a.suspended_at IS NULL"
    " AND" FEDI_AP_STATUS_PUBLIC
    " ORDER BY x.id")

/* the instance actor's public key (see sql/0025) */
FEDI_SQL(INSTANCE_ACTOR, 0,
    "SELECT public_key FROM instance_actor")

/* ... and its private key, which signs the workers' fetches */
FEDI_SQL(INSTANCE_KEY, 0,
    "SELECT private_key FROM instance_actor")
