/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl media remove: uploads never attached to a status, older than
 * --days (1 by default, as Mastodon's cleanup), go with their files under
 * --root (fedi_media_root; fedictl does not read nginx's configuration).
 * Remote media cached longer than that (fedi_media_cache) loses our
 * copy and is shown by its remote URL again, as tootctl media remove
 * does; jobs of the cache nobody claimed for that long go too.  With
 * media in S3 (--s3-endpoint URL --s3-bucket NAME [--s3-region R], the
 * keys in FEDI_S3_ACCESS_KEY and FEDI_S3_SECRET_KEY, out of argv), the
 * objects are deleted too.
 * Blocking libpq and unlink() are fine here: this is not nginx.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "fedictl.h"
#include "fedi_media_proc.h"


static fedi_media_s3_t  fedictl_s3;


/* a stored file's path: ours are "xx/yy/<hex>.ext", never out of root */
static void
fedictl_media_unlink(const char *root, const char *path, int *files)
{
    char  full[4096];

    if (path == NULL || path[0] == '\0' || path[0] == '/'
        || strstr(path, "..") != NULL)
    {
        return;
    }

    snprintf(full, sizeof(full), "%s/%s", root, path);

    if (fedi_media_s3) {
        /* the disk holds none of them */
        fedi_media_s3_delete(fedi_media_s3, path);
        (*files)++;
        return;
    }

    if (unlink(full) == 0) {
        (*files)++;
    }
}


/* the bucket named on the command line, or NULL */
static int
fedictl_media_s3(int argc, char **argv)
{
    fedictl_s3.endpoint = fedictl_opt(argc, argv, "--s3-endpoint");

    if (fedictl_s3.endpoint == NULL) {
        return 0;
    }

    fedictl_s3.bucket = fedictl_opt(argc, argv, "--s3-bucket");
    fedictl_s3.region = fedictl_opt(argc, argv, "--s3-region");
    fedictl_s3.access_key = getenv("FEDI_S3_ACCESS_KEY");
    fedictl_s3.secret_key = getenv("FEDI_S3_SECRET_KEY");

    if (fedictl_s3.region == NULL) {
        fedictl_s3.region = "us-east-1";
    }

    if (fedictl_s3.bucket == NULL || fedictl_s3.access_key == NULL
        || fedictl_s3.secret_key == NULL)
    {
        fprintf(stderr, "fedictl: --s3-endpoint needs --s3-bucket, and "
                        "FEDI_S3_ACCESS_KEY and FEDI_S3_SECRET_KEY in the "
                        "environment\n");
        return -1;
    }

    fedi_media_s3 = &fedictl_s3;

    return 0;
}


/* the files of each row's columns */
static int
fedictl_media_unlink_rows(const char *root, PGresult *res)
{
    int  i, j, files;

    files = 0;

    for (i = 0; i < PQntuples(res); i++) {
        for (j = 0; j < PQnfields(res); j++) {
            fedictl_media_unlink(root, PQgetisnull(res, i, j)
                                       ? NULL : PQgetvalue(res, i, j),
                                 &files);
        }
    }

    return files;
}


int
fedictl_media_remove(PGconn *db, int argc, char **argv)
{
    int          files;
    char        *end;
    long         days;
    PGresult    *res;
    const char  *v[1], *root, *d;

    d = fedictl_opt(argc, argv, "--days");
    days = d ? strtol(d, &end, 10) : 1;

    if (d && (*end != '\0' || days < 0 || days > 36500)) {
        fprintf(stderr, "fedictl: --days is a number of days\n");
        return FEDICTL_USAGE;
    }

    root = fedictl_opt(argc, argv, "--root");
    if (root == NULL || root[0] == '\0') {
        fprintf(stderr, "fedictl: media remove needs --root DIR, the "
                        "fedi_media_root of the instance\n");
        return FEDICTL_USAGE;
    }

    if (fedictl_media_s3(argc, argv) != 0) {
        return FEDICTL_USAGE;
    }

    v[0] = d ? d : "1";

    res = fedictl_exec(db,
        "DELETE FROM media_attachments"
        " WHERE status_id IS NULL AND remote_url IS NULL"
        " AND created_at < now() - $1::integer * interval '1 day'"
        " RETURNING file_path, preview_path, thumbnail_path", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    files = fedictl_media_unlink_rows(root, res);

    printf("removed %d unattached uploads (%d files)\n", PQntuples(res),
           files);

    PQclear(res);

    res = fedictl_exec(db,
        "WITH c AS (SELECT id, file_path, preview_path"
        "  FROM media_attachments"
        "  WHERE cached_at < now() - $1::integer * interval '1 day'"
        "  FOR UPDATE),"
        " j AS (DELETE FROM media_cache_jobs"
        "  WHERE next_at < now() - $1::integer * interval '1 day')"
        " UPDATE media_attachments m SET file_path = NULL,"
        " preview_path = NULL, cached_at = NULL, updated_at = now()"
        " FROM c WHERE m.id = c.id"
        " RETURNING c.file_path, c.preview_path", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    files = fedictl_media_unlink_rows(root, res);

    printf("removed %d cached remote attachments (%d files)\n",
           PQntuples(res), files);

    PQclear(res);

    return FEDICTL_OK;
}
