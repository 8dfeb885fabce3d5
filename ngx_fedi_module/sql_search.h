/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of search.
 */


/* hashtags by prefix: $1 the prefix (LIKE-escaped), $2 limit, $3 offset,
 * $4 the base URL */
FEDI_SQL(TAG_SEARCH, 4,
    "SELECT id, lower(name), $4 || '/tags/' || lower(name) FROM tags"
    " WHERE lower(name) LIKE lower($1) || '%'"
    " ORDER BY lower(name) LIMIT $2::bigint OFFSET $3::bigint")

/*
 * A status by its URL ($3), as the viewer $1 may see it ($2 the base
 * URL): a remote one by its id or its page's URL (believed only on its
 * author's host), one of ours by either of its URLs.
 */
FEDI_SQL(STATUS_BY_URL, 3,
    "SELECT " FEDI_STATUS_COLS
    " FROM statuses s" FEDI_STATUS_JOIN
    " WHERE s.id = coalesce(fedi_status_by_uri($3, $2),"
    "   (SELECT ls.id FROM statuses ls JOIN accounts la"
    "      ON la.id = ls.account_id AND la.domain IS NULL"
    "     WHERE ls.id = substring($3 FROM '/([0-9]{1,18})$')::bigint"
    "       AND $3 = $2 || '/@' || la.username || '/' || ls.id"
    "       AND ls.deleted_at IS NULL),"
    "   (SELECT rs.id FROM statuses rs JOIN accounts ra"
    "      ON ra.id = rs.account_id"
    "     WHERE rs.url = $3 AND rs.deleted_at IS NULL"
    "       AND lower(ra.domain)"
    "           = lower(substring($3 FROM '^https://([^/?#:]+)'))"
    "     LIMIT 1))"
    " AND" FEDI_STATUS_VISIBLE)

/* a remote status from a document made trustworthy (fedi_inbox_object),
 * $1, by its author known here; $2 the base URL: its id or NULL */
FEDI_SQL(STATUS_STORE_REMOTE, 2,
    "SELECT fedi_remote_status($1::jsonb, (SELECT id FROM accounts"
    "   WHERE uri = (fedi_ap_ids($1::jsonb -> 'attributedTo'))[1]"
    "     AND domain IS NOT NULL), $2, true)")
