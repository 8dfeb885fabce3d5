/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of filters (sql/0031_filters.sql).  $1 is the owner.  The
 * entities are leaves, built by the database: Filter (with its keywords
 * and statuses where Mastodon lists them), FilterKeyword, FilterStatus
 * and the v1 Filter, one per keyword.
 */


#define FEDI_FILTER_TIME(x)                                                  \
    "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* a Filter of "custom_filters f", as a FilterResult shows it */
#define FEDI_FILTER_JSON                                                     \
    "json_build_object('id', f.id::text, 'title', f.title,"                  \
    " 'context', to_json(f.context),"                                        \
    " 'expires_at', " FEDI_FILTER_TIME("f.expires_at") ","                    \
    " 'filter_action', f.action)"

/* ... and with its rules, as /api/v2/filters does */
#define FEDI_FILTER_RULES_JSON                                               \
    "json_build_object('id', f.id::text, 'title', f.title,"                  \
    " 'context', to_json(f.context),"                                        \
    " 'expires_at', " FEDI_FILTER_TIME("f.expires_at") ","                    \
    " 'filter_action', f.action,"                                            \
    " 'keywords', coalesce((SELECT json_agg(" FEDI_FILTER_KEYWORD_JSON       \
    "   ORDER BY k.id) FROM custom_filter_keywords k"                        \
    "   WHERE k.custom_filter_id = f.id), '[]'),"                            \
    " 'statuses', coalesce((SELECT json_agg(" FEDI_FILTER_STATUS_JSON        \
    "   ORDER BY fs.id) FROM custom_filter_statuses fs"                      \
    "   WHERE fs.custom_filter_id = f.id), '[]'))"

#define FEDI_FILTER_KEYWORD_JSON                                             \
    "json_build_object('id', k.id::text, 'keyword', k.keyword,"              \
    " 'whole_word', k.whole_word)"

#define FEDI_FILTER_STATUS_JSON                                              \
    "json_build_object('id', fs.id::text, 'status_id', fs.status_id::text)"

/* the v1 Filter: keyword "k" of filter "f" */
#define FEDI_FILTER_V1_JSON                                                  \
    "json_build_object('id', k.id::text, 'phrase', k.keyword,"               \
    " 'context', to_json(f.context), 'whole_word', k.whole_word,"            \
    " 'expires_at', " FEDI_FILTER_TIME("f.expires_at") ","                    \
    " 'irreversible', f.action = 'hide')"


/* the owner's filters, oldest first; $2 one of them, or NULL for all */
FEDI_SQL(FILTERS_LIST, 2,
    "SELECT " FEDI_FILTER_RULES_JSON " FROM custom_filters f"
    " WHERE f.account_id = $1"
    " AND ($2::bigint IS NULL OR f.id = $2::bigint) ORDER BY f.id")

/*
 * The writes answer the id of what they wrote, which is then read with
 * the statement that shows it (a statement does not see the rows its
 * functions write).  $2 the request's parameters as JSON, $3 the filter
 * (NULL: a new one).
 */
FEDI_SQL(FILTER_SAVE, 3,
    "SELECT fedi_filter_save($1, $3::bigint, $2::jsonb)")

FEDI_SQL(FILTER_DELETE, 2,
    "DELETE FROM custom_filters WHERE id = $2::bigint AND account_id = $1")

/* the keywords of filter $2 (no row at all: not the owner's) */
FEDI_SQL(FILTER_KEYWORDS, 2,
    "SELECT coalesce((SELECT json_agg(" FEDI_FILTER_KEYWORD_JSON
    "   ORDER BY k.id) FROM custom_filter_keywords k"
    "   WHERE k.custom_filter_id = f.id), '[]')"
    " FROM custom_filters f WHERE f.id = $2::bigint AND f.account_id = $1")

FEDI_SQL(FILTER_KEYWORD_GET, 2,
    "SELECT " FEDI_FILTER_KEYWORD_JSON " FROM custom_filter_keywords k"
    " JOIN custom_filters f ON f.id = k.custom_filter_id"
    " WHERE k.id = $2::bigint AND f.account_id = $1")

/* $2 the parameters, $3 the filter (a new keyword) or $4 the keyword */
FEDI_SQL(FILTER_KEYWORD_SAVE, 4,
    "SELECT fedi_filter_keyword_save($1, $3::bigint, $4::bigint, $2::jsonb)")

FEDI_SQL(FILTER_KEYWORD_DELETE, 2,
    "DELETE FROM custom_filter_keywords k USING custom_filters f"
    " WHERE k.id = $2::bigint AND f.id = k.custom_filter_id"
    " AND f.account_id = $1")

FEDI_SQL(FILTER_STATUSES, 2,
    "SELECT coalesce((SELECT json_agg(" FEDI_FILTER_STATUS_JSON
    "   ORDER BY fs.id) FROM custom_filter_statuses fs"
    "   WHERE fs.custom_filter_id = f.id), '[]')"
    " FROM custom_filters f WHERE f.id = $2::bigint AND f.account_id = $1")

FEDI_SQL(FILTER_STATUS_GET, 2,
    "SELECT " FEDI_FILTER_STATUS_JSON " FROM custom_filter_statuses fs"
    " JOIN custom_filters f ON f.id = fs.custom_filter_id"
    " WHERE fs.id = $2::bigint AND f.account_id = $1")

/* $2 the filter, $3 the status_id parameter */
FEDI_SQL(FILTER_STATUS_ADD, 3,
    "SELECT fedi_filter_status_add($1, $2::bigint, $3)")

FEDI_SQL(FILTER_STATUS_DELETE, 2,
    "DELETE FROM custom_filter_statuses fs USING custom_filters f"
    " WHERE fs.id = $2::bigint AND f.id = fs.custom_filter_id"
    " AND f.account_id = $1")

/* v1: one per keyword; $2 one keyword, or NULL for all */
FEDI_SQL(FILTERS_V1_LIST, 2,
    "SELECT " FEDI_FILTER_V1_JSON " FROM custom_filter_keywords k"
    " JOIN custom_filters f ON f.id = k.custom_filter_id"
    " WHERE f.account_id = $1"
    " AND ($2::bigint IS NULL OR k.id = $2::bigint) ORDER BY k.id")

/* $2 the parameters, $3 the keyword (NULL: a new filter) */
FEDI_SQL(FILTER_V1_SAVE, 3,
    "SELECT fedi_filter_v1_save($1, $3::bigint, $2::jsonb)")

/*
 * What the viewer's statuses are matched against (fedi_filters.c): the
 * unexpired filters with a keyword or a status, each as a FilterResult
 * shows it, its contexts, whether it hides, its expiry (epoch seconds),
 * its keywords as [[keyword, whole_word], ...] and its statuses' ids.
 */
FEDI_SQL(FILTERS_ACTIVE, 1,
    "SELECT " FEDI_FILTER_JSON ", f.context::text, f.action = 'hide',"
    " extract(epoch FROM f.expires_at)::bigint,"
    " (SELECT json_agg(json_build_array(k.keyword, k.whole_word)"
    "   ORDER BY k.id) FROM custom_filter_keywords k"
    "   WHERE k.custom_filter_id = f.id),"
    " (SELECT array_agg(fs.status_id ORDER BY fs.status_id)"
    "   FROM custom_filter_statuses fs WHERE fs.custom_filter_id = f.id)"
    " FROM custom_filters f WHERE f.account_id = $1::bigint"
    " AND (f.expires_at IS NULL OR f.expires_at > now())"
    " AND (EXISTS (SELECT 1 FROM custom_filter_keywords k"
    "   WHERE k.custom_filter_id = f.id)"
    "  OR EXISTS (SELECT 1 FROM custom_filter_statuses fs"
    "   WHERE fs.custom_filter_id = f.id))"
    " ORDER BY f.id")
