/*
 * Copyright (C) ngx_fedi authors
 *
 * Image processing for uploads, run on nginx's thread pool: the type from
 * the bytes (libmagic), the caps, then libvips: orientation applied,
 * metadata stripped, re-encoded, a small preview, a BlurHash.  No nginx
 * types: the caller hands bytes in and gets paths, sizes and errors out.
 */

#ifndef _FEDI_MEDIA_PROC_H_INCLUDED_
#define _FEDI_MEDIA_PROC_H_INCLUDED_


#include <stddef.h>

#include "fedi_blurhash.h"


/* what an upload becomes */
typedef enum {
    FEDI_MEDIA_ATTACHMENT = 0,    /* original (capped) and small */
    FEDI_MEDIA_AVATAR,            /* 400 x 400, cropped */
    FEDI_MEDIA_HEADER,            /* 1500 x 500, cropped */
    FEDI_MEDIA_THUMBNAIL          /* a custom preview: small, no more */
} fedi_media_kind_e;


/* decoded pixels an upload may have: above, a decompression bomb, refused
 * (Mastodon's image_matrix_limit, 7680 x 4320, as /api/v2/instance says) */
#define FEDI_MEDIA_MAX_PIXELS     33177600
/* Mastodon's caps: originals larger are scaled down, small previews */
#define FEDI_MEDIA_ORIGINAL_PIXELS  8294400      /* 3840 x 2160 */
#define FEDI_MEDIA_SMALL_PIXELS     230400       /* 640 x 360 */


typedef struct {
    /* in */
    const unsigned char  *data;
    size_t                len;
    const char           *root;           /* fedi_media_root */
    fedi_media_kind_e     kind;

    /* out of fedi_media_probe() */
    const char           *mime;           /* as detected */
    const char           *ext;            /* of the stored file */
    const char           *type;           /* image, gifv, video, audio */
    const char           *demuxer;        /* ffmpeg's for the type found */
    int                   av;             /* through ffmpeg */
    int                   in_width;
    int                   in_height;

    /* out of fedi_media_process(): paths relative to root */
    char                  path[96];
    char                  preview[96];
    const char           *out_mime;
    int                   width, height;
    int                   swidth, sheight;
    long long             size;
    char                  blurhash[FEDI_BLURHASH_MAX];
    char                  meta[512];      /* video and audio: their meta */

    char                  err[200];
    int                   internal;       /* our failure, not the file's */
} fedi_media_proc_t;


/*
 * The type from the content, and the header's size against the pixel cap.
 * 0, or -1 with err set (fit for a 422).
 */
int fedi_media_probe(fedi_media_proc_t *mp);

/* decodes, writes the files (never half: a temporary name, then rename),
 * 0, or -1 with err and nothing left on disk */
int fedi_media_process(fedi_media_proc_t *mp);

#define FEDI_MEDIA_UNPROCESSABLE                                             \
    "Validation failed: File could not be processed"

/* removes a stored file, path relative to root; quietly */
void fedi_media_unlink(const char *root, const char *path);
void fedi_media_discard(fedi_media_proc_t *mp);

/* shared by fedi_media_proc.c and fedi_media_av.c */
int fedi_media_fail(fedi_media_proc_t *mp, const char *msg);
int fedi_media_newname(fedi_media_proc_t *mp, char *hex);
int fedi_media_save_as(fedi_media_proc_t *mp, void *img, const char *rel,
    const char *ext);
int fedi_media_blurhash_of(fedi_media_proc_t *mp, void *img);
int fedi_media_preview(fedi_media_proc_t *mp, const char *file,
    const char *hex, const char *ext);

/* fedi_media_s3.c: S3-compatible storage, when configured (path-style
 * URLs endpoint/bucket/name, AWS SigV4 by libcurl) */
typedef struct {
    const char           *endpoint;       /* http(s)://host[:port] */
    const char           *bucket;
    const char           *region;
    const char           *access_key;
    const char           *secret_key;
} fedi_media_s3_t;

extern const fedi_media_s3_t  *fedi_media_s3;   /* NULL: the disk only */

int fedi_media_s3_put(const fedi_media_s3_t *s3, const char *root,
    const char *rel, char *err, size_t errlen);
void fedi_media_s3_delete(const fedi_media_s3_t *s3, const char *rel);
int fedi_media_s3_store(fedi_media_proc_t *mp);

/* fedi_media.c: Mastodon's meta of a processed file, its size as text
 * (size: 24 bytes) */
void fedi_media_meta_of(fedi_media_proc_t *mp, char *meta, size_t len,
    char *size);

/* fedi_media_av.c: video, audio and animated GIFs, through ffmpeg */
int fedi_media_av_available(void);
int fedi_media_av_process(fedi_media_proc_t *mp);


#endif /* _FEDI_MEDIA_PROC_H_INCLUDED_ */
