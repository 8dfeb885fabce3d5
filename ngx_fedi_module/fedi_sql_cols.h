/*
 * Copyright (C) ngx_fedi authors
 *
 * Column lists shared by statements and their serializers.
 */

#ifndef _FEDI_SQL_COLS_H_INCLUDED_
#define _FEDI_SQL_COLS_H_INCLUDED_


/*
 * A custom emoji "e" (sql/0034) as a JSON array of [shortcode, file,
 * url, static url, visible_in_picker, category, id, content type,
 * updated, uri], as fedi_emoji.c reads it; and those a status or an
 * account uses, through the link table t whose column k is the id x:
 * NULL, or a JSON array of them.  (No "HH24:MI" here: `make bench` runs
 * the account columns through pgbench, which reads ":MI" as a variable.)
 */
#define FEDI_EMOJI_JSON                                                      \
    "json_build_array(e.shortcode, e.image_file,"                            \
    " e.image_url, e.static_url, e.visible_in_picker, e.category,"           \
    " e.id::text, e.image_content_type, (to_json(date_trunc('second',"      \
    " e.updated_at AT TIME ZONE 'UTC')) #>> '{}') || 'Z', e.uri)"

#define FEDI_EMOJIS_OF(t, k, x)                                              \
    "(SELECT json_agg(" FEDI_EMOJI_JSON " ORDER BY e.shortcode)"             \
    " FROM " t " el JOIN custom_emojis e ON e.id = el.emoji_id"             \
    " WHERE el." k " = " x " AND NOT e.disabled)"


/* an Account: select from "accounts a"; see fedi_account_render() */
#define FEDI_ACCOUNT_COLS_OF(a)                                              \
    a ".id, " a ".username, " a ".domain, " a ".display_name, " a ".note, "  \
    a ".url, " a ".uri, " a ".locked, " a ".actor_type = 'Service', "       \
    a ".actor_type = 'Group', " a ".discoverable, " a ".indexable, "        \
    a ".hide_collections, " a ".memorial, "                                 \
    "to_char(" a ".created_at AT TIME ZONE 'UTC',"                          \
    " 'YYYY-MM-DD\"T00:00:00.000Z\"'), "                                     \
    "to_char(" a ".last_status_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), "       \
    a ".followers_count, " a ".following_count, " a ".statuses_count, "     \
    a ".fields::text, " a ".avatar_file, " a ".avatar_remote_url, "         \
    a ".header_file, " a ".header_remote_url, "                             \
    a ".suspended_at IS NOT NULL, " a ".silenced_at IS NOT NULL, "          \
    "CASE WHEN " a ".moved_to_account_id IS NOT NULL"                       \
    " THEN fedi_account_moved(" a ".moved_to_account_id) END, "             \
    FEDI_EMOJIS_OF("account_emojis", "account_id", a ".id")

/*
 * The column before the emojis: the account it moved to, its first 26
 * columns in a JSON array (sql/0033's fedi_account_moved(), which lists
 * them as above), NULL when it has not moved; fedi_account_fields()
 * renders it as "moved".  A function, not a subquery here: the planner
 * would count a subquery's cost for every row, never run, and large
 * estimates turn on JIT compilation, hundreds of milliseconds.
 */

#define FEDI_ACCOUNT_COLS  FEDI_ACCOUNT_COLS_OF("a")

#define FEDI_ACCOUNT_NCOLS  28


/*
 * A Poll as JSON, for "polls p" and the viewer $1: a leaf object, built
 * by the database.  Totals hidden until the end when hide_totals is set,
 * but for the author.
 */
#define FEDI_POLL_JSON                                                       \
    "json_build_object('id', p.id::text, 'expires_at',"                      \
    " to_char(p.expires_at AT TIME ZONE 'UTC',"                              \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                 \
    " 'expired', coalesce(p.expires_at <= now(), false),"                    \
    " 'multiple', p.multiple, 'votes_count', p.votes_count,"                 \
    " 'voters_count', p.voters_count,"                                       \
    " 'options', (SELECT json_agg(json_build_object('title', o.title,"       \
    "   'votes_count', CASE WHEN p.hide_totals AND p.expires_at > now()"     \
    "   AND p.account_id IS DISTINCT FROM $1 THEN NULL ELSE"                 \
    "   coalesce(p.remote_counts[o.n], 0) +"                                 \
    "   (SELECT count(*) FROM poll_votes v WHERE v.poll_id = p.id"           \
    "    AND v.choice = o.n - 1) END) ORDER BY o.n)"                         \
    "   FROM unnest(p.options) WITH ORDINALITY o(title, n)),"                \
    " 'emojis', '[]'::json,"                                                 \
    " 'voted', EXISTS (SELECT 1 FROM poll_votes v WHERE v.poll_id = p.id"    \
    "   AND v.account_id = $1),"                                             \
    " 'own_votes', coalesce((SELECT json_agg(v.choice ORDER BY v.choice)"    \
    "   FROM poll_votes v WHERE v.poll_id = p.id AND v.account_id = $1),"    \
    "   '[]'))"


/*
 * A MediaAttachment, for "media_attachments m": a JSON array of id, type,
 * file, preview, remote URL, description, blurhash, meta, focus x and y,
 * processed, content type; see fedi_media_render().  Paths are relative to
 * fedi_media_root, the URL prefix is the configuration's.
 */
#define FEDI_MEDIA_JSON(m)                                                   \
    "json_build_array(" m ".id::text, " m ".type, " m ".file_path, "         \
    m ".preview_path, " m ".remote_url, " m ".description, "                 \
    m ".blurhash, " m ".meta, " m ".focus_x, " m ".focus_y, "                \
    m ".processed, " m ".content_type, " m ".thumbnail_path)"


/*
 * A Status and its author: select from "statuses s JOIN accounts a ON
 * a.id = s.account_id" and its application "sap" (FEDI_STATUS_JOIN), with
 * $1 the viewer (or NULL) and $2 the instance's base URL; see
 * fedi_status_render().  What needs a look elsewhere is guarded, so the
 * half of a row that is no boost (r NULL) costs no lookups at all.
 */
#define FEDI_IF_STATUS(s, x)                                                 \
    " CASE WHEN " s ".id IS NOT NULL THEN " x " END"

/*
 * What a status is to the viewer $1, in this order: favourited,
 * bookmarked, reblogged, pinned, the poll (with the viewer's votes),
 * muted; fedi_status_render_marks() reads them so
 */
#define FEDI_STATUS_MARKS_OF(s)                                              \
    FEDI_IF_STATUS(s, "EXISTS (SELECT 1 FROM favourites"                     \
    "   fv WHERE fv.status_id = " s ".id AND fv.account_id = $1)") ","       \
    FEDI_IF_STATUS(s, "EXISTS (SELECT 1 FROM bookmarks"                      \
    "   bm WHERE bm.status_id = " s ".id AND bm.account_id = $1)") ","       \
    FEDI_IF_STATUS(s, "EXISTS (SELECT 1 FROM statuses rb"                    \
    "   WHERE rb.reblog_of_id = " s ".id AND rb.account_id = $1"             \
    "   AND rb.deleted_at IS NULL)") ","                                     \
    FEDI_IF_STATUS(s, "EXISTS (SELECT 1 FROM status_pins"                    \
    "   sp WHERE sp.status_id = " s ".id AND sp.account_id = $1)") ","       \
    FEDI_IF_STATUS(s, "(SELECT " FEDI_POLL_JSON " FROM polls p"              \
    "   WHERE p.status_id = " s ".id)") ","                                  \
    FEDI_IF_STATUS(s, "EXISTS (SELECT 1 FROM conversation_mutes cm"          \
    "   WHERE cm.account_id = $1 AND cm.conversation_id"                     \
    "   = coalesce(" s ".conversation_id, " s ".id))")

#define FEDI_STATUS_COLS_OF(s, a)                                            \
    "" s ".id, to_char(" s ".created_at AT TIME ZONE 'UTC',"                 \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " " s ".in_reply_to_id, " s ".in_reply_to_account_id, " s ".sensitive,"  \
    " " s ".spoiler_text, " s ".visibility, " s ".language,"                 \
    " coalesce(" s ".uri, $2 || '/users/' || " a ".username || '/statuses/' || " s ".id)," \
    " coalesce(" s ".url, $2 || '/@' || " a ".username || '/' || " s ".id)," \
    " " s ".replies_count, " s ".reblogs_count, " s ".favourites_count,"     \
    " to_char(" s ".edited_at AT TIME ZONE 'UTC',"                           \
    "  'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"                                \
    " " s ".content, " s "ap.name, " s "ap.website,"                         \
    FEDI_IF_STATUS(s, "coalesce((SELECT json_agg(json_build_object("        \
    "   'id', ma.id::text,"                                                  \
    "   'username', ma.username, 'acct', CASE WHEN ma.domain IS NULL"        \
    "   THEN ma.username ELSE ma.username || '@' || ma.domain END,"          \
    "   'url', coalesce(ma.url, $2 || '/@' || ma.username)))"                \
    "   FROM mentions m JOIN accounts ma ON ma.id = m.account_id"            \
    "   WHERE m.status_id = " s ".id), '[]')") ","                           \
    FEDI_IF_STATUS(s, "coalesce((SELECT json_agg(json_build_object("        \
    "   'name', lower(t.name),"                                              \
    "   'url', $2 || '/tags/' || lower(t.name)))"                            \
    "   FROM statuses_tags st JOIN tags t ON t.id = st.tag_id"               \
    "   WHERE st.status_id = " s ".id), '[]')") ","                          \
    FEDI_STATUS_MARKS_OF(s) ", "                                            \
    FEDI_IF_STATUS(s, "(SELECT json_agg(" FEDI_MEDIA_JSON("mda")             \
    "   ORDER BY mda.position, mda.id) FROM media_attachments mda"           \
    "   WHERE mda.status_id = " s ".id)") ", "                               \
    FEDI_IF_STATUS(s, FEDI_EMOJIS_OF("status_emojis", "status_id",           \
                                     s ".id")) ", "                          \
    FEDI_ACCOUNT_COLS_OF(a)

/* a status and, when it is a boost, the boosted one: "r" by "ra" */
#define FEDI_STATUS_COLS                                                     \
    FEDI_STATUS_COLS_OF("s", "a") ", " FEDI_STATUS_COLS_OF("r", "ra")

/* the boosted status alone: enough to pick a page's rows */
#define FEDI_STATUS_JOIN_R                                                   \
    " LEFT JOIN statuses r ON r.id = s.reblog_of_id"

/* the applications of a status and of the boosted one */
#define FEDI_STATUS_JOIN_APPS                                                \
    " LEFT JOIN oauth_applications sap ON sap.id = s.application_id"         \
    " LEFT JOIN oauth_applications rap ON rap.id = r.application_id"

#define FEDI_STATUS_JOIN                                                     \
    " JOIN accounts a ON a.id = s.account_id"                                \
    FEDI_STATUS_JOIN_R                                                       \
    " LEFT JOIN accounts ra ON ra.id = r.account_id"                         \
    FEDI_STATUS_JOIN_APPS

/* a status's version: the row versions of the status and its author */
#define FEDI_STATUS_VERSION_OF(s, a)                                         \
    " " s ".xmin::text || '.' || " a ".xmin::text"

#define FEDI_STATUS_NCOLS   27      /* then the account's columns */
#define FEDI_STATUS_BLOCK   (FEDI_STATUS_NCOLS + FEDI_ACCOUNT_NCOLS)
#define FEDI_STATUS_ALL     (2 * FEDI_STATUS_BLOCK)   /* with the boosted */

/*
 * The visibility rule, for "statuses s" (and "r", the boosted) and the
 * viewer in $1: public and unlisted to all, private to followers, direct
 * to the mentioned, the author always, never across a block (nor from a
 * domain the viewer blocks).  The same rule as fedi_status_visible() in
 * SQL, written out so the planner sees it, with the viewer's blocks
 * (either way, and the accounts of blocked domains) gathered once per
 * statement rather than looked up for every row.
 */
#define FEDI_BLOCKED_BY_VIEWER                                               \
    " ARRAY(SELECT b.target_account_id FROM blocks b"                        \
    "   WHERE b.account_id = $1 UNION ALL SELECT b.account_id"               \
    "   FROM blocks b WHERE b.target_account_id = $1"                        \
    "   UNION ALL SELECT da.id FROM account_domain_blocks db"                \
    "   JOIN accounts da ON lower(da.domain) = db.domain"                    \
    "   WHERE db.account_id = $1 AND da.domain IS NOT NULL)"

#define FEDI_VISIBLE_BUT(s, blocked)                                         \
    " (" s ".visibility IN ('public', 'unlisted') OR " s ".account_id = $1"  \
    "  OR (" s ".visibility = 'private' AND EXISTS (SELECT 1 FROM follows f" \
    "   WHERE f.account_id = $1 AND f.target_account_id = " s ".account_id))"\
    "  OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = " s ".id"     \
    "   AND m.account_id = $1))"                                             \
    " AND NOT " s ".account_id = ANY (" blocked ")"

#define FEDI_STATUS_VISIBLE_BUT(blocked)                                     \
    " s.deleted_at IS NULL AND" FEDI_VISIBLE_BUT("s", blocked)               \
    " AND (s.reblog_of_id IS NULL OR (r.deleted_at IS NULL AND"              \
    FEDI_VISIBLE_BUT("r", blocked) "))"

#define FEDI_STATUS_VISIBLE  FEDI_STATUS_VISIBLE_BUT(FEDI_BLOCKED_BY_VIEWER)

/*
 * The same in a timeline (FEDI_SQL_TIMELINE), whose statement gathers the
 * viewer's blocks once for the status and the boosted one, in "bk"
 */
#define FEDI_TIMELINE_BLOCKED                                                \
    "WITH bk AS MATERIALIZED (SELECT" FEDI_BLOCKED_BY_VIEWER " AS ids)"

#define FEDI_TIMELINE_VISIBLE                                                \
    FEDI_STATUS_VISIBLE_BUT("(SELECT bk.ids FROM bk)::bigint[]")

/* max_id, since_id and min_id in $3, $4, $5, the limit in $6, over c */
#define FEDI_PAGE_BY(c)                                                      \
    " AND ($3::bigint IS NULL OR " c " < $3::bigint)"                        \
    " AND ($4::bigint IS NULL OR " c " > $4::bigint)"                        \
    " AND ($5::bigint IS NULL OR " c " > $5::bigint)"                        \
    " ORDER BY CASE WHEN $5::bigint IS NOT NULL THEN " c " END,"             \
    " " c " DESC LIMIT $6"

#define FEDI_PAGE  FEDI_PAGE_BY("s.id")

/*
 * The same bounds in a form a generic plan can use as index bounds, one
 * statement per direction: newest first, and oldest first for min_id
 * (the page right after the cursor; the outer query orders it back).
 * FEDI_SQL_PAGED makes both: ID and ID_MIN, which follows it.
 */
#define FEDI_PAGE_DESC(c)                                                    \
    " AND " c " < coalesce($3::bigint, 9223372036854775807)"                 \
    " AND " c " > coalesce($4::bigint, 0) AND $5::bigint IS NULL"            \
    " ORDER BY " c " DESC LIMIT $6"

#define FEDI_PAGE_ASC(c)                                                     \
    " AND " c " < coalesce($3::bigint, 9223372036854775807)"                 \
    " AND " c " > coalesce($4::bigint, 0) AND " c " > $5::bigint"            \
    " ORDER BY " c " LIMIT $6"

#define FEDI_SQL_PAGED(id, n, c, head, tail)                                 \
    FEDI_SQL(id, n, head FEDI_PAGE_DESC(c) tail)                             \
    FEDI_SQL(id##_MIN, n, head FEDI_PAGE_ASC(c) tail)


/*
 * A page as the status cache (fedi_status_cache.c) reads it: for each
 * row the status and the boosted one, each with its version and the
 * viewer's marks (as FEDI_STATUS_MARKS_OF orders them, but for the poll:
 * whether there is one, which STATUS_POLLS then renders).  The marks come
 * from one lookup per table for the whole page (the viewer's favourites
 * among the page's ids, ...) rather than from a subquery per row: the
 * page is short, and the lookups were most of the statement's cost.
 */
#define FEDI_LIGHT_HEAD                                                      \
    FEDI_TIMELINE_BLOCKED ", pg AS MATERIALIZED (SELECT s.id AS pid,"        \
    FEDI_STATUS_VERSION_OF("s", "au") " AS sv,"                              \
    " coalesce(s.conversation_id, s.id) AS sc, r.id AS rid,"                 \
    FEDI_STATUS_VERSION_OF("r", "rau") " AS rv,"                             \
    " coalesce(r.conversation_id, r.id) AS rc"

/*
 * The authors, for the versions: joined in the page's own scan, where
 * the planner probes them for the rows it keeps (a join outside it, on
 * the page's 40 rows, cost a tenth more of the statement)
 */
#define FEDI_LIGHT_AUTHORS                                                   \
    " JOIN accounts au ON au.id = s.account_id"                              \
    " LEFT JOIN accounts rau ON rau.id = r.account_id"

#define FEDI_LIGHT_MARKS(x, conv)                                            \
    " CASE WHEN " x " IS NOT NULL THEN " x " = ANY (m.fav) END,"             \
    " CASE WHEN " x " IS NOT NULL THEN " x " = ANY (m.bm) END,"              \
    " CASE WHEN " x " IS NOT NULL THEN " x " = ANY (m.rb) END,"              \
    " CASE WHEN " x " IS NOT NULL THEN " x " = ANY (m.pin) END,"             \
    " " x " = ANY (m.poll),"                                                \
    " CASE WHEN " x " IS NOT NULL THEN " conv " = ANY (m.cm) END"

/*
 * The rows of table "t" (alias "a"; the viewer's by "who") whose column
 * "c" is in the page's id range: one index descent, and ids off the page
 * do no harm.  At most 65: more (a range holding many of them: a page
 * spanning days, a heavy favouriter) and the statement says so in its
 * last column, "full"; the status cache then runs its _LIGHT_BY_ID twin
 * (FEDI_LIGHT_BY_ID: the page's ids looked up one by one, what every
 * mark used to cost), and goes to the twin directly for a while
 * (fedi_status_cache_stmt()).  Its lookups inside this statement, never
 * run on an ordinary page, cost a sixth of it to set up each time.
 * "ord" orders the viewer's rows by "c": an ordered scan of their index
 * alone, where the generic plan otherwise visited the table too (a
 * bitmap scan).
 */
#define FEDI_LIGHT_RANGE(t, a, c, who, ord)                                  \
    " ARRAY(SELECT " a "." c " FROM " t " " a " WHERE " who                  \
    " " a "." c " BETWEEN pr.lo AND pr.hi" ord " LIMIT 65)"

/*
 * The viewer's rows of the page by id, each by a subquery of its own:
 * "= ANY (ids)", or EXISTS (a semi-join), could be planned generically as
 * all of the viewer's rows, filtered (it was, for boosts and bookmarks)
 */
#define FEDI_LIGHT_BY_ID(t, a, c, who)                                       \
    " ARRAY(SELECT i FROM unnest(pr.ids) i WHERE (SELECT true FROM "         \
    t " " a " WHERE " who " " a "." c " = i LIMIT 1))"

#define FEDI_LIGHT_TAIL_OF(fav, bm, rb, poll, full)                          \
    "), pr AS MATERIALIZED (SELECT min(least(pid, rid)) AS lo,"              \
    " max(greatest(pid, rid)) AS hi,"                                        \
    " array_agg(pid) || array_remove(array_agg(rid), NULL) AS ids"           \
    " FROM pg),"                                                             \
    " m AS MATERIALIZED (SELECT" fav " AS fav," bm " AS bm," rb " AS rb,"    \
    " ARRAY(SELECT sp.status_id FROM status_pins sp"                         \
    "   WHERE sp.account_id = $1) AS pin,"   /* five at most */              \
    poll " AS poll,"                                                         \
    " ARRAY(SELECT cm.conversation_id FROM conversation_mutes cm"            \
    "   WHERE cm.account_id = $1) AS cm FROM pr)"                            \
    " SELECT pg.pid, pg.sv, pg.rid, pg.rv,"                                  \
    FEDI_LIGHT_MARKS("pg.pid", "pg.sc") ","                                  \
    FEDI_LIGHT_MARKS("pg.rid", "pg.rc") "," full                             \
    " FROM pg, m WHERE $2::text IS NOT NULL ORDER BY pg.pid DESC"

#define FEDI_LIGHT_TAIL                                                      \
    FEDI_LIGHT_TAIL_OF(                                                      \
        FEDI_LIGHT_RANGE("favourites", "fv", "status_id",                    \
            "fv.account_id = $1 AND", " ORDER BY fv.status_id"),             \
        FEDI_LIGHT_RANGE("bookmarks", "bm", "status_id",                     \
            "bm.account_id = $1 AND", " ORDER BY bm.status_id"),             \
        FEDI_LIGHT_RANGE("statuses", "rb", "reblog_of_id",                   \
            "rb.account_id = $1 AND rb.reblog_of_id IS NOT NULL"             \
            " AND rb.deleted_at IS NULL AND",     /* sql/0045 */             \
            " ORDER BY rb.reblog_of_id"),                                    \
        FEDI_LIGHT_RANGE("polls", "p", "status_id", "", ""),                 \
        " greatest(cardinality(m.fav), cardinality(m.bm),"                   \
        " cardinality(m.rb), cardinality(m.poll)) > 64")

#define FEDI_LIGHT_TAIL_BY_ID                                                \
    FEDI_LIGHT_TAIL_OF(                                                      \
        FEDI_LIGHT_BY_ID("favourites", "fv", "status_id",                    \
            "fv.account_id = $1 AND"),                                       \
        FEDI_LIGHT_BY_ID("bookmarks", "bm", "status_id",                     \
            "bm.account_id = $1 AND"),                                       \
        FEDI_LIGHT_BY_ID("statuses", "rb", "reblog_of_id",                   \
            "rb.account_id = $1 AND rb.deleted_at IS NULL AND"),             \
        " ARRAY(SELECT p.status_id FROM polls p"    /* one column: exact */  \
        "   WHERE p.status_id = ANY (pr.ids))",                              \
        " false")

/*
 * A timeline: its page of statuses "s" (boosting "r") chosen by the FROM
 * in "from" (after "SELECT s.id AS pid"; it ends with "r") and the WHERE
 * in "where", with its _MIN twin; and the same page for the status
 * cache, _LIGHT and _LIGHT_MIN ($2, the base URL, unused there), and
 * their twins _LIGHT_BY_ID and _LIGHT_BY_ID_MIN two statements on
 */
#define FEDI_SQL_TIMELINE(id, n, c, from, where)                             \
    FEDI_SQL_PAGED(id, n, c,                                                 \
        FEDI_TIMELINE_BLOCKED " SELECT " FEDI_STATUS_COLS                    \
        " FROM (SELECT s.id AS pid" from where,                              \
        ") pg JOIN statuses s ON s.id = pg.pid"                              \
        FEDI_STATUS_JOIN " ORDER BY s.id DESC")                              \
    FEDI_SQL_PAGED(id##_LIGHT, n, c,                                         \
        FEDI_LIGHT_HEAD from FEDI_LIGHT_AUTHORS where, FEDI_LIGHT_TAIL)      \
    FEDI_SQL_PAGED(id##_LIGHT_BY_ID, n, c,                                   \
        FEDI_LIGHT_HEAD from FEDI_LIGHT_AUTHORS where, FEDI_LIGHT_TAIL_BY_ID)


#endif /* _FEDI_SQL_COLS_H_INCLUDED_ */
