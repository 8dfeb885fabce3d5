/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl emoji add|remove|list: the instance's custom emojis, in the
 * spirit of tootctl emoji.  An emoji's image is a PNG, GIF or WebP of
 * 256 KB at most (Mastodon's limit for local ones), kept as uploads are:
 * "xx/yy/<hex>.ext" under --root (fedi_media_root; fedictl does not read
 * nginx's configuration; FEDI_MEDIA_ROOT stands in for it), written under
 * a temporary name and renamed when whole, so nginx never serves half.
 *
 * fedictl announcements add|remove|list: the notices every user sees
 * (GET /api/v1/announcements) and hears of on the streaming API.
 *
 * Blocking libpq and file I/O are fine here: this is not nginx.
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <openssl/rand.h>

#include "fedictl.h"


#define FEDICTL_EMOJI_LIMIT  (256 * 1024)


static int fedictl_emoji_shortcode(const char *s);
static const char *fedictl_emoji_type(const unsigned char *p, size_t n,
    const char **ext);
static const char *fedictl_emoji_root(int argc, char **argv);
static int fedictl_emoji_store(const char *root, const unsigned char *data,
    size_t n, const char *ext, char *path, size_t size);


/* Mastodon's shortcode: two or more of [a-zA-Z0-9_] */
static int
fedictl_emoji_shortcode(const char *s)
{
    size_t  n;

    n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_");

    return n >= 2 && n <= 128 && s[n] == '\0';
}


/* the type by the bytes, never by the name */
static const char *
fedictl_emoji_type(const unsigned char *p, size_t n, const char **ext)
{
    if (n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        *ext = "png";
        return "image/png";
    }

    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
    {
        *ext = "gif";
        return "image/gif";
    }

    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
    {
        *ext = "webp";
        return "image/webp";
    }

    return NULL;
}


static const char *
fedictl_emoji_root(int argc, char **argv)
{
    const char  *root;

    root = fedictl_opt(argc, argv, "--root");
    if (root == NULL) {
        root = getenv("FEDI_MEDIA_ROOT");
    }

    return (root && root[0]) ? root : NULL;
}


static int
fedictl_emoji_store(const char *root, const unsigned char *data, size_t n,
    const char *ext, char *path, size_t size)
{
    int            fd;
    char           hex[33], dir[4096], full[4096], tmp[4200];
    size_t         i, done;
    ssize_t        w;
    unsigned char  rnd[16];

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        fprintf(stderr, "fedictl: no random bytes for a file name\n");
        return -1;
    }

    for (i = 0; i < sizeof(rnd); i++) {
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    }

    snprintf(dir, sizeof(dir), "%s/%.2s", root, hex);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fedictl: %s: %s\n", dir, strerror(errno));
        return -1;
    }

    snprintf(dir, sizeof(dir), "%s/%.2s/%.2s", root, hex, hex + 2);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "fedictl: %s: %s\n", dir, strerror(errno));
        return -1;
    }

    snprintf(path, size, "%.2s/%.2s/%s.%s", hex, hex + 2, hex, ext);
    snprintf(full, sizeof(full), "%s/%s", root, path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", full);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd == -1) {
        fprintf(stderr, "fedictl: %s: %s\n", tmp, strerror(errno));
        return -1;
    }

    for (done = 0; done < n; done += (size_t) w) {
        w = write(fd, data + done, n - done);
        if (w <= 0) {
            fprintf(stderr, "fedictl: %s: %s\n", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return -1;
        }
    }

    if (close(fd) != 0 || rename(tmp, full) != 0) {
        fprintf(stderr, "fedictl: %s: %s\n", full, strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}


int
fedictl_emoji_add(PGconn *db, int argc, char **argv)
{
    int             fd;
    char            path[128], full[4300];
    size_t          n;
    ssize_t         r;
    PGresult       *res;
    struct stat     st;
    const char     *root, *type, *ext, *v[4];
    unsigned char  *data;

    if (argc < 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        fprintf(stderr, "fedictl: emoji add SHORTCODE FILE [--category C]"
                        " --root DIR\n");
        return FEDICTL_USAGE;
    }

    if (!fedictl_emoji_shortcode(argv[0])) {
        fprintf(stderr, "fedictl: a shortcode is two or more letters,"
                        " digits or underscores\n");
        return FEDICTL_USAGE;
    }

    root = fedictl_emoji_root(argc, argv);
    if (root == NULL) {
        fprintf(stderr, "fedictl: emoji add needs --root DIR (or"
                        " FEDI_MEDIA_ROOT), the fedi_media_root of the"
                        " instance\n");
        return FEDICTL_USAGE;
    }

    fd = open(argv[1], O_RDONLY);
    if (fd == -1 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "fedictl: %s: %s\n", argv[1],
                fd == -1 ? strerror(errno) : "not a file");
        if (fd != -1) {
            close(fd);
        }
        return FEDICTL_FAILED;
    }

    if (st.st_size > FEDICTL_EMOJI_LIMIT || st.st_size == 0) {
        fprintf(stderr, "fedictl: %s: an emoji is 256 KB at most\n",
                argv[1]);
        close(fd);
        return FEDICTL_FAILED;
    }

    n = (size_t) st.st_size;
    data = malloc(n);
    if (data == NULL) {
        close(fd);
        return FEDICTL_FAILED;
    }

    r = read(fd, data, n);
    close(fd);

    if (r != (ssize_t) n) {
        fprintf(stderr, "fedictl: %s: cannot read it\n", argv[1]);
        free(data);
        return FEDICTL_FAILED;
    }

    type = fedictl_emoji_type(data, n, &ext);
    if (type == NULL) {
        fprintf(stderr, "fedictl: %s: not a PNG, GIF or WebP image\n",
                argv[1]);
        free(data);
        return FEDICTL_FAILED;
    }

    if (fedictl_emoji_store(root, data, n, ext, path, sizeof(path)) != 0) {
        free(data);
        return FEDICTL_FAILED;
    }

    free(data);

    v[0] = argv[0];
    v[1] = path;
    v[2] = type;
    v[3] = fedictl_opt(argc, argv, "--category");

    res = fedictl_exec(db,
        "INSERT INTO custom_emojis (shortcode, image_file, image_content_type,"
        " category) VALUES ($1, $2, $3, nullif($4, ''))"
        " ON CONFLICT (shortcode, coalesce(domain, '')) DO NOTHING"
        " RETURNING id", 4, v);

    if (res == NULL || PQntuples(res) != 1) {
        if (res) {
            fprintf(stderr, "fedictl: :%s: exists already\n", argv[0]);
            PQclear(res);
        }

        snprintf(full, sizeof(full), "%s/%s", root, path);
        unlink(full);
        return FEDICTL_FAILED;
    }

    printf("added :%s: (%s)\n", argv[0], PQgetvalue(res, 0, 0));
    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_emoji_remove(PGconn *db, int argc, char **argv)
{
    char         full[4300];
    PGresult    *res;
    const char  *root, *v[1];

    if (argc < 1 || !fedictl_emoji_shortcode(argv[0])) {
        fprintf(stderr, "fedictl: emoji remove SHORTCODE [--root DIR]\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    res = fedictl_exec(db,
        "DELETE FROM custom_emojis WHERE domain IS NULL AND shortcode = $1"
        " RETURNING image_file", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    if (PQntuples(res) == 0) {
        fprintf(stderr, "fedictl: no emoji :%s:\n", argv[0]);
        PQclear(res);
        return FEDICTL_FAILED;
    }

    /* ours are "xx/yy/<hex>.ext": never out of root */
    root = fedictl_emoji_root(argc, argv);

    if (root && !PQgetisnull(res, 0, 0)
        && strstr(PQgetvalue(res, 0, 0), "..") == NULL
        && PQgetvalue(res, 0, 0)[0] != '/')
    {
        snprintf(full, sizeof(full), "%s/%s", root, PQgetvalue(res, 0, 0));
        unlink(full);
    }

    printf("removed :%s:\n", argv[0]);
    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_emoji_list(PGconn *db, int argc, char **argv)
{
    int        i;
    PGresult  *res;

    (void) argc;
    (void) argv;

    res = fedictl_exec(db,
        "SELECT shortcode, coalesce(category, '-'),"
        " CASE WHEN disabled THEN 'disabled' ELSE 'enabled' END,"
        " coalesce(image_file, image_url, '')"
        " FROM custom_emojis WHERE domain IS NULL ORDER BY lower(shortcode)",
        0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    for (i = 0; i < PQntuples(res); i++) {
        printf(":%s:\t%s\t%s\t%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3));
    }

    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_announcements_add(PGconn *db, int argc, char **argv)
{
    PGresult    *res;
    const char  *v[4];

    if (argc < 1 || argv[0][0] == '\0') {
        fprintf(stderr, "fedictl: announcements add TEXT [--starts TIME"
                        " --ends TIME] [--all-day]\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];
    v[1] = fedictl_opt(argc, argv, "--starts");
    v[2] = fedictl_opt(argc, argv, "--ends");
    v[3] = fedictl_flag(argc, argv, "--all-day") ? "true" : "false";

    /* as Mastodon: a start and an end, or neither */
    if ((v[1] == NULL) != (v[2] == NULL)) {
        fprintf(stderr, "fedictl: --starts and --ends go together\n");
        return FEDICTL_USAGE;
    }

    res = fedictl_exec(db,
        "INSERT INTO announcements (text, starts_at, ends_at, all_day)"
        " VALUES ($1, $2::timestamptz, $3::timestamptz, $4::boolean)"
        " RETURNING id", 4, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    printf("%s\n", PQgetvalue(res, 0, 0));
    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_announcements_remove(PGconn *db, int argc, char **argv)
{
    PGresult    *res;
    const char  *v[1];

    if (argc < 1 || argv[0][0] == '\0'
        || argv[0][strspn(argv[0], "0123456789")] != '\0'
        || strlen(argv[0]) > 19)
    {
        fprintf(stderr, "fedictl: announcements remove ID\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    res = fedictl_exec(db, "DELETE FROM announcements WHERE id = $1::bigint"
                           " RETURNING id", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    if (PQntuples(res) == 0) {
        fprintf(stderr, "fedictl: no announcement %s\n", argv[0]);
        PQclear(res);
        return FEDICTL_FAILED;
    }

    printf("removed %s\n", argv[0]);
    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_announcements_list(PGconn *db, int argc, char **argv)
{
    int        i;
    PGresult  *res;

    (void) argc;
    (void) argv;

    res = fedictl_exec(db,
        "SELECT id, to_char(published_at AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD HH24:MI'), coalesce(to_char(starts_at AT TIME ZONE"
        " 'UTC', 'YYYY-MM-DD HH24:MI') || '..' || to_char(ends_at AT TIME"
        " ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), '-'),"
        " left(replace(text, E'\\n', ' '), 60)"
        " FROM announcements ORDER BY coalesce(starts_at, published_at,"
        " created_at), id", 0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    for (i = 0; i < PQntuples(res); i++) {
        printf("%s\t%s\t%s\t%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3));
    }

    PQclear(res);

    return FEDICTL_OK;
}
