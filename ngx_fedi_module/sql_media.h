/*
 * Copyright (C) ngx_fedi authors
 *
 * Statements of media attachments (fedi_media.c).  An attachment is
 * rendered from FEDI_MEDIA_JSON (fedi_sql_cols.h) by fedi_media_render().
 */


/* $1 account, $2 type, $3 content type, $4 description, $5 $6 focus,
 * $7 size of the upload: a row while it is processed */
FEDI_SQL(MEDIA_CREATE, 7,
    "INSERT INTO media_attachments (account_id, type, content_type,"
    " description, focus_x, focus_y, file_size)"
    " VALUES ($1, $2, $3, $4, $5::real, $6::real, $7::bigint) RETURNING id")

/* $1 id, processed: $2 file, $3 preview, $4 meta, $5 blurhash, $6 content
 * type, $7 size, $8 type (a silent video is a gifv), $9 a custom
 * thumbnail; no row when it was deleted meanwhile */
FEDI_SQL(MEDIA_DONE, 9,
    "UPDATE media_attachments m SET processed = true, file_path = $2,"
    " preview_path = $3, meta = $4::jsonb, blurhash = $5,"
    " content_type = $6, file_size = $7::bigint, type = $8,"
    " thumbnail_path = $9,"
    " updated_at = now()"
    " WHERE m.id = $1 RETURNING " FEDI_MEDIA_JSON("m"))

/* $1 id: processing failed after the answer */
FEDI_SQL(MEDIA_FAIL, 1,
    "UPDATE media_attachments SET failed = true, updated_at = now()"
    " WHERE id = $1")

/* $1 id: processing failed before the answer; nothing stays */
FEDI_SQL(MEDIA_DROP, 1,
    "DELETE FROM media_attachments WHERE id = $1")

/* a job lost with its worker (nginx stopped mid-processing) fails in
 * the end rather than answering 206 for ever */
#define FEDI_MEDIA_FAILED(m)                                                 \
    " (" m ".failed OR (NOT " m ".processed"                                 \
    "   AND " m ".updated_at < now() - interval '15 minutes'))"

/* $1 account, $2 id: one of the account's, not attached yet (Mastodon
 * shows and changes only those) */
FEDI_SQL(MEDIA_GET, 2,
    "SELECT " FEDI_MEDIA_JSON("m") ", m.processed," FEDI_MEDIA_FAILED("m")
    " FROM media_attachments m"
    " WHERE m.id = $2 AND m.account_id = $1 AND m.status_id IS NULL")

/* $1 account, $2 id, $3 description, $4 $5 focus, $6 a new custom
 * thumbnail (NULL: as they are); the thumbnail replaced, to remove */
FEDI_SQL(MEDIA_UPDATE, 6,
    "WITH o AS (SELECT id, thumbnail_path FROM media_attachments"
    "   WHERE id = $2 AND account_id = $1 AND status_id IS NULL"
    "   FOR UPDATE)"
    " UPDATE media_attachments m SET"
    " description = coalesce($3, m.description),"
    " focus_x = coalesce($4::real, m.focus_x),"
    " focus_y = coalesce($5::real, m.focus_y),"
    " thumbnail_path = coalesce($6::text, m.thumbnail_path),"
    " updated_at = now()"
    " FROM o WHERE m.id = o.id"
    " RETURNING " FEDI_MEDIA_JSON("m") ", m.processed,"
    FEDI_MEDIA_FAILED("m") ", CASE WHEN $6::text IS NOT NULL"
    " THEN o.thumbnail_path END")

/* $1 account, $2 id: its files, to remove */
FEDI_SQL(MEDIA_DELETE, 2,
    "DELETE FROM media_attachments"
    " WHERE id = $2 AND account_id = $1 AND status_id IS NULL"
    " RETURNING file_path, preview_path, thumbnail_path")
