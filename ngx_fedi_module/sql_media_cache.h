/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of the remote media cache (fedi_media_cache.c); the work is
 * in sql/0032_media_cache.sql.
 */


/* $1 jobs at most, $2 the lease in seconds: job, kind, url */
FEDI_SQL(MEDIA_CACHE_CLAIM, 2,
    "SELECT job, kind, url"
    " FROM fedi_media_cache_claim($1::integer, $2::integer)")

/* $1 job, our copy: $2 file, $3 preview, $4 meta, $5 blurhash, $6 content
 * type, $7 size, $8 type; rows of files to remove (ours, not taken) */
FEDI_SQL(MEDIA_CACHE_DONE, 8,
    "SELECT unnest(fedi_media_cache_done($1::bigint, $2, $3, $4::jsonb,"
    " $5, $6, $7::bigint, $8))")

/* $1 job, $2 final, $3 attempts allowed */
FEDI_SQL(MEDIA_CACHE_FAILED, 3,
    "SELECT fedi_media_cache_failed($1::bigint, $2::boolean, $3::integer)")

/* $1 at most: files no row uses any more, to remove */
FEDI_SQL(MEDIA_CACHE_TRASH, 1,
    "SELECT fedi_media_cache_trash($1::integer)")
