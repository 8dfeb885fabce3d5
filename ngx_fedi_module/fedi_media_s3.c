/*
 * Copyright (C) ngx_fedi authors
 *
 * S3-compatible object storage for media (fedi_media_s3_*): a file,
 * once processed under fedi_media_root, is PUT to the bucket under the
 * same name (path-style, signed by libcurl's AWS SigV4, public-read as
 * Mastodon stores it) and removed from the disk (fedi_media_s3_store() in
 * fedi_media_proc.c); removing a file DELETEs its object.  Runs only on
 * nginx's thread pool (blocking libcurl), as every other step of media
 * processing, and in fedictl; no nginx types nor libvips here.
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <curl/curl.h>

#include "fedi_media_proc.h"


#define FEDI_S3_TIMEOUT          120L     /* s, one transfer */
#define FEDI_S3_CONNECT_TIMEOUT  10L


/* set once per worker before any thread uses it; NULL: local disk */
const fedi_media_s3_t  *fedi_media_s3;


static CURL *fedi_s3_handle(const fedi_media_s3_t *s3, const char *rel,
    struct curl_slist **hdrs, char *url, size_t len);
static const char *fedi_s3_mime(const char *rel);


/* the type of a stored file, by the extension we gave it */
static const char *
fedi_s3_mime(const char *rel)
{
    const char  *dot;

    static const char  *types[][2] = {
        { ".jpg", "image/jpeg" }, { ".png", "image/png" },
        { ".webp", "image/webp" }, { ".mp4", "video/mp4" },
        { ".mp3", "audio/mpeg" }, { NULL, NULL }
    };

    int  i;

    dot = strrchr(rel, '.');

    for (i = 0; dot && types[i][0]; i++) {
        if (strcmp(dot, types[i][0]) == 0) {
            return types[i][1];
        }
    }

    return "application/octet-stream";
}


static CURL *
fedi_s3_handle(const fedi_media_s3_t *s3, const char *rel,
    struct curl_slist **hdrs, char *url, size_t len)
{
    CURL  *c;
    char   sigv4[160];

    c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }

    snprintf(url, len, "%s/%s/%s", s3->endpoint, s3->bucket, rel);
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", s3->region);

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, FEDI_S3_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, FEDI_S3_CONNECT_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s3->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s3->secret_key);

    /* the body is not hashed into the signature (TLS protects it) */
    *hdrs = curl_slist_append(*hdrs,
                              "x-amz-content-sha256: UNSIGNED-PAYLOAD");

    return c;
}


/* PUT root/rel to the bucket as rel; 0, or -1 with err */
int
fedi_media_s3_put(const fedi_media_s3_t *s3, const char *root,
    const char *rel, char *err, size_t errlen)
{
    int                 rc;
    long                status;
    FILE               *f;
    CURL               *c;
    char                full[4096], url[4096], type[128];
    CURLcode            cc;
    struct stat         st;
    struct curl_slist  *hdrs;

    snprintf(full, sizeof(full), "%s/%s", root, rel);

    f = fopen(full, "rb");
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "S3: cannot read %s", rel);
        if (f) {
            fclose(f);
        }
        return -1;
    }

    hdrs = NULL;
    c = fedi_s3_handle(s3, rel, &hdrs, url, sizeof(url));
    if (c == NULL) {
        fclose(f);
        snprintf(err, errlen, "S3: out of memory");
        return -1;
    }

    snprintf(type, sizeof(type), "Content-Type: %s", fedi_s3_mime(rel));
    hdrs = curl_slist_append(hdrs, type);
    hdrs = curl_slist_append(hdrs, "x-amz-acl: public-read");
    hdrs = curl_slist_append(hdrs, "Expect:");

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READDATA, f);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t) st.st_size);

    cc = curl_easy_perform(c);
    status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

    rc = 0;

    if (cc != CURLE_OK || status < 200 || status > 299) {
        snprintf(err, errlen, "S3: PUT %s: %s %ld", url,
                 cc != CURLE_OK ? curl_easy_strerror(cc) : "status", status);
        rc = -1;
    }

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    fclose(f);

    return rc;
}


/* DELETE rel from the bucket; quietly, as unlink() */
void
fedi_media_s3_delete(const fedi_media_s3_t *s3, const char *rel)
{
    CURL               *c;
    char                url[4096];
    struct curl_slist  *hdrs;

    hdrs = NULL;
    c = fedi_s3_handle(s3, rel, &hdrs, url, sizeof(url));
    if (c == NULL) {
        return;
    }

    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);

    (void) curl_easy_perform(c);

    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
}
