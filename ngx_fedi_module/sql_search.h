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
