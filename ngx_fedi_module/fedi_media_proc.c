/*
 * Copyright (C) ngx_fedi authors
 *
 * The thread-pool half of uploads (see fedi_media_proc.h).  libvips runs
 * with one thread of its own per call (nginx's pool is the concurrency),
 * no operation cache (memory is the cap, not speed) and its untrusted
 * loaders blocked; libmagic has one handle per thread, as it is not
 * thread-safe.
 */


#ifndef _GNU_SOURCE
#define _GNU_SOURCE            /* strcasestr */
#endif

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <magic.h>
#include <openssl/rand.h>
#include <vips/vips.h>

#include "fedi_media_proc.h"


typedef struct {
    const char  *mime;
    const char  *loader;          /* part of the vips loader's name */
    const char  *ext;             /* what it is stored as */
    const char  *out_mime;
    const char  *demuxer;         /* ffmpeg's, forced: no other is tried */
} fedi_media_format_t;


static void fedi_media_vips_init(void);
static void fedi_media_vips_log(const gchar *domain, GLogLevelFlags level,
    const gchar *message, gpointer data);
static const fedi_media_format_t *fedi_media_format(const char *mime);
static VipsImage *fedi_media_rgb8(VipsImage *in);
static int fedi_media_process_file(fedi_media_proc_t *mp);


/* images by libvips; video and audio by ffmpeg, when it is there */
static const fedi_media_format_t  fedi_media_formats[] = {
    { "image/jpeg", "jpeg", "jpg", "image/jpeg", NULL },
    { "image/png", "png", "png", "image/png", NULL },
    { "image/gif", "gif", "png", "image/png", "gif" },
    { "image/webp", "webp", "webp", "image/webp", NULL },
    { "image/heic", "heif", "jpg", "image/jpeg", NULL },
    { "image/heif", "heif", "jpg", "image/jpeg", NULL },
    { "image/avif", "heif", "jpg", "image/jpeg", NULL },
    /* without a loader: ffmpeg's (fedi_media_av.c) */
    { "video/mp4", NULL, "mp4", "video/mp4", "mov" },
    { "video/quicktime", NULL, "mp4", "video/mp4", "mov" },
    { "video/webm", NULL, "mp4", "video/mp4", "matroska" },
    { "video/x-matroska", NULL, "mp4", "video/mp4", "matroska" },
    { "video/ogg", NULL, "mp4", "video/mp4", "ogg" },
    { "audio/mpeg", NULL, "mp3", "audio/mpeg", "mp3" },
    { "audio/ogg", NULL, "mp3", "audio/mpeg", "ogg" },
    { "audio/x-wav", NULL, "mp3", "audio/mpeg", "wav" },
    { "audio/wav", NULL, "mp3", "audio/mpeg", "wav" },
    { "audio/flac", NULL, "mp3", "audio/mpeg", "flac" },
    { "audio/x-m4a", NULL, "mp3", "audio/mpeg", "mov" },
    { "audio/mp4", NULL, "mp3", "audio/mpeg", "mov" },
    { "audio/aac", NULL, "mp3", "audio/mpeg", "aac" },
    { NULL, NULL, NULL, NULL, NULL }
};


static pthread_once_t     fedi_media_once = PTHREAD_ONCE_INIT;
static int                fedi_media_vips_ok;
static __thread magic_t   fedi_media_magic;


static void
fedi_media_vips_init(void)
{
    if (VIPS_INIT("ngx_fedi") != 0) {
        return;
    }

    vips_concurrency_set(1);
    vips_cache_set_max(0);
    vips_block_untrusted_set(TRUE);

    /* a broken file is refused with its reason; libvips' own warnings
     * about it would only land on nginx's stderr */
    g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE,
                      fedi_media_vips_log, NULL);

    fedi_media_vips_ok = 1;
}


static void
fedi_media_vips_log(const gchar *domain, GLogLevelFlags level,
    const gchar *message, gpointer data)
{
}


static const fedi_media_format_t *
fedi_media_format(const char *mime)
{
    const fedi_media_format_t  *f;

    for (f = fedi_media_formats; f->mime; f++) {
        if (strcmp(f->mime, mime) == 0) {
            return f;
        }
    }

    return NULL;
}


int
fedi_media_fail(fedi_media_proc_t *mp, const char *msg)
{
    snprintf(mp->err, sizeof(mp->err), "%s", msg);
    vips_error_clear();
    return -1;
}


int
fedi_media_probe(fedi_media_proc_t *mp)
{
    int                          w, h, pages;
    const char                  *mime, *loader;
    VipsImage                   *img;
    const fedi_media_format_t   *f;

    pthread_once(&fedi_media_once, fedi_media_vips_init);

    if (!fedi_media_vips_ok) {
        return fedi_media_fail(mp, "Image processing is unavailable");
    }

    if (mp->len == 0) {
        return fedi_media_fail(mp, "Validation failed: File is empty");
    }

    if (fedi_media_magic == NULL) {
        fedi_media_magic = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);

        if (fedi_media_magic == NULL
            || magic_load(fedi_media_magic, NULL) != 0)
        {
            if (fedi_media_magic) {
                magic_close(fedi_media_magic);
                fedi_media_magic = NULL;
            }

            return fedi_media_fail(mp, "File type detection is "
                                   "unavailable");
        }
    }

    /* what the bytes are, whatever the name or the client says */
    mime = magic_buffer(fedi_media_magic, mp->data, mp->len);
    f = mime ? fedi_media_format(mime) : NULL;

    if (f && f->loader == NULL) {
        /* video or audio: ffmpeg probes it when it processes it */
        if (!fedi_media_av_available()) {
            return fedi_media_fail(mp, "Validation failed: File content "
                                   "type is invalid");
        }

        mp->mime = f->mime;
        mp->ext = f->ext;
        mp->out_mime = f->out_mime;
        mp->type = (strncmp(f->mime, "audio/", 6) == 0) ? "audio" : "video";
        mp->demuxer = f->demuxer;
        mp->av = 1;

        return 0;
    }

    if (f == NULL) {
        return fedi_media_fail(mp, "Validation failed: File content type "
                               "is invalid");
    }

    /* and libvips must read them as that type, nothing else */
    loader = vips_foreign_find_load_buffer(mp->data, mp->len);

    if (loader == NULL || strcasestr(loader, f->loader) == NULL) {
        return fedi_media_fail(mp, "Validation failed: File content type "
                               "is invalid");
    }

    img = vips_image_new_from_buffer(mp->data, mp->len, "",
                                     "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (img == NULL) {
        return fedi_media_fail(mp, "Validation failed: File could not be "
                               "read as an image");
    }

    w = vips_image_get_width(img);
    h = vips_image_get_height(img);
    pages = vips_image_get_n_pages(img);
    g_object_unref(img);

    if (w < 1 || h < 1 || (long long) w * h > FEDI_MEDIA_MAX_PIXELS) {
        return fedi_media_fail(mp, "Validation failed: File dimensions are "
                               "too large");
    }

    mp->mime = f->mime;
    mp->ext = f->ext;
    mp->out_mime = f->out_mime;
    mp->type = "image";
    mp->in_width = w;
    mp->in_height = h;

    /* an animated GIF is a silent video, as Mastodon makes it */
    if (pages > 1 && mp->kind == FEDI_MEDIA_ATTACHMENT
        && fedi_media_av_available())
    {
        mp->ext = "mp4";
        mp->out_mime = "video/mp4";
        mp->type = "gifv";
        mp->demuxer = f->demuxer;
        mp->av = 1;
    }

    return 0;
}


/* processed, then to the object storage when there is one */
int
fedi_media_process(fedi_media_proc_t *mp)
{
    if (fedi_media_process_file(mp) != 0) {
        return -1;
    }

    return fedi_media_s3 ? fedi_media_s3_store(mp) : 0;
}


static int
fedi_media_process_file(fedi_media_proc_t *mp)
{
    int          rc, box, bw, bh;
    char         hex[33], full[4096];
    double       s, cap;
    VipsImage   *img, *mem, *small;

    if (mp->av) {
        rc = fedi_media_av_process(mp);
        vips_error_clear();
        vips_thread_shutdown();
        malloc_trim(0);
        return rc;
    }

    rc = -1;
    img = NULL;
    mem = NULL;
    small = NULL;
    mp->path[0] = '\0';
    mp->preview[0] = '\0';

    if (fedi_media_newname(mp, hex) != 0) {
        return -1;
    }

    snprintf(mp->path, sizeof(mp->path), "%.2s/%.2s/%s.%s", hex, hex + 2,
             hex, mp->ext);

    /* the orientation applied (thumbnail's autorotate), scaled down to the
     * caps; a truncated file fails rather than coming out grey */
    switch (mp->kind) {

    case FEDI_MEDIA_AVATAR:
    case FEDI_MEDIA_HEADER:
        bw = (mp->kind == FEDI_MEDIA_AVATAR) ? 400 : 1500;
        bh = (mp->kind == FEDI_MEDIA_AVATAR) ? 400 : 500;

        if (vips_thumbnail_buffer((void *) mp->data, mp->len, &img, bw,
                                  "height", bh,
                                  "crop", VIPS_INTERESTING_CENTRE,
                                  "option_string", "fail_on=truncated",
                                  NULL)
            != 0)
        {
            fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
            goto failed;
        }

        break;

    default:
        box = mp->in_width > mp->in_height ? mp->in_width : mp->in_height;

        /* a thumbnail is the preview: Mastodon's 640 x 360 pixels */
        cap = (mp->kind == FEDI_MEDIA_THUMBNAIL) ? FEDI_MEDIA_SMALL_PIXELS
                                                 : FEDI_MEDIA_ORIGINAL_PIXELS;

        if ((double) mp->in_width * mp->in_height > cap) {
            s = sqrt(cap / ((double) mp->in_width * mp->in_height));
            box = (int) floor(box * s);
        }

        if (vips_thumbnail_buffer((void *) mp->data, mp->len, &img, box,
                                  "height", box,
                                  "size", VIPS_SIZE_DOWN,
                                  "option_string", "fail_on=truncated",
                                  NULL)
            != 0)
        {
            fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
            goto failed;
        }

        break;
    }

    /* streamed from the decoder to the file: a broken file fails here */
    mp->width = vips_image_get_width(img);
    mp->height = vips_image_get_height(img);

    if (fedi_media_save_as(mp, img, mp->path, mp->ext) != 0) {
        goto failed;
    }

    if (mp->kind != FEDI_MEDIA_ATTACHMENT) {
        rc = 0;
        goto done;
    }

    /* the preview from the stored original: small, decoded shrunk */
    snprintf(full, sizeof(full), "%s/%s", mp->root, mp->path);

    if (fedi_media_preview(mp, full, hex, mp->ext) != 0) {
        goto failed;
    }

    rc = 0;
    goto done;

failed:

    fedi_media_discard(mp);

done:

    if (small) {
        g_object_unref(small);
    }

    if (mem) {
        g_object_unref(mem);
    }

    if (img) {
        g_object_unref(img);
    }

    vips_error_clear();
    vips_thread_shutdown();

    /* the decoder's buffers go back to the system, not kept by the
     * thread's malloc arena for the next upload */
    malloc_trim(0);

    return rc;
}


/* 128 random bits name the files; two levels of directories spread them */
int
fedi_media_newname(fedi_media_proc_t *mp, char *hex)
{
    int            i;
    char           dir[4096];
    unsigned char  rnd[16];

    mp->internal = 1;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return fedi_media_fail(mp, "No randomness for a file name");
    }

    for (i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    }

    snprintf(dir, sizeof(dir), "%s/%.2s", mp->root, hex);

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return fedi_media_fail(mp, "The media directory is not writable");
    }

    snprintf(dir, sizeof(dir), "%s/%.2s/%.2s", mp->root, hex, hex + 2);

    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        return fedi_media_fail(mp, "The media directory is not writable");
    }

    mp->internal = 0;

    return 0;
}


/* written under a temporary name, renamed when whole: nginx never serves
 * half a file, and a failure leaves nothing */
int
fedi_media_save_as(fedi_media_proc_t *mp, void *image, const char *rel,
    const char *ext)
{
    VipsImage    *img = image;

    int              rc;
    char             path[4096], tmp[4200];
    VipsImage       *flat;
    VipsArrayDouble *white;
    struct stat      st;

    snprintf(path, sizeof(path), "%s/%s", mp->root, rel);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);

    flat = NULL;

    if (strcmp(ext, "jpg") == 0) {
        if (vips_image_hasalpha(img)) {
            white = vips_array_double_newv(3, 255.0, 255.0, 255.0);
            rc = vips_flatten(img, &flat, "background", white, NULL);
            vips_area_unref(VIPS_AREA(white));

            if (rc != 0) {
                return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
            }

            img = flat;
        }

        rc = vips_jpegsave(img, tmp, "Q", 85, "strip", TRUE,
                           "optimize_coding", TRUE, NULL);

    } else if (strcmp(ext, "png") == 0) {
        rc = vips_pngsave(img, tmp, "strip", TRUE, NULL);

    } else {
        rc = vips_webpsave(img, tmp, "Q", 80, "strip", TRUE, NULL);
    }

    if (flat) {
        g_object_unref(flat);
    }

    if (rc != 0 || stat(tmp, &st) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    if (rel == mp->path) {
        mp->size = (long long) st.st_size;
    }

    return 0;
}


/*
 * The preview of an image file (the stored original, or a video's first
 * frame): 230,400 pixels at most, decoded shrunk, saved as ext, and the
 * BlurHash from it.  mp->width and height are the original's.
 */
int
fedi_media_preview(fedi_media_proc_t *mp, const char *file, const char *hex,
    const char *ext)
{
    int          rc, bw, bh;
    double       s;
    VipsImage   *small, *mem;

    bw = mp->width;
    bh = mp->height;

    if ((double) bw * bh > FEDI_MEDIA_SMALL_PIXELS) {
        s = sqrt(FEDI_MEDIA_SMALL_PIXELS / ((double) bw * bh));
        bw = (int) floor(bw * s);
        bh = (int) floor(bh * s);
    }

    if (vips_thumbnail(file, &small, bw, "height", bh, "size", VIPS_SIZE_DOWN,
                       "no_rotate", TRUE, NULL)
        != 0)
    {
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    mem = vips_image_copy_memory(small);
    g_object_unref(small);

    if (mem == NULL) {
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    mp->swidth = vips_image_get_width(mem);
    mp->sheight = vips_image_get_height(mem);

    snprintf(mp->preview, sizeof(mp->preview), "%.2s/%.2s/%s-small.%s",
             hex, hex + 2, hex, ext);

    rc = fedi_media_save_as(mp, mem, mp->preview, ext);

    if (rc != 0) {
        mp->preview[0] = '\0';

    } else {
        rc = fedi_media_blurhash_of(mp, mem);
    }

    g_object_unref(mem);

    return rc;
}


/* 8-bit sRGB, three bands, no alpha: what the BlurHash reads */
static VipsImage *
fedi_media_rgb8(VipsImage *in)
{
    VipsImage  *a, *b, *c;

    a = NULL;
    b = NULL;
    c = NULL;

    if (vips_colourspace(in, &a, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
        return NULL;
    }

    if (vips_image_hasalpha(a)) {
        if (vips_flatten(a, &b, NULL) != 0) {
            g_object_unref(a);
            return NULL;
        }

    } else {
        b = a;
        g_object_ref(b);
    }

    g_object_unref(a);

    if (vips_cast_uchar(b, &a, NULL) != 0) {
        g_object_unref(b);
        return NULL;
    }

    g_object_unref(b);

    if (vips_extract_band(a, &c, 0, "n", 3, NULL) != 0) {
        g_object_unref(a);
        return NULL;
    }

    g_object_unref(a);

    return c;
}


int
fedi_media_blurhash_of(fedi_media_proc_t *mp, void *image)
{
    VipsImage   *img = image;

    int          rc;
    size_t       len;
    uint8_t     *px;
    VipsImage   *t, *rgb;

    if (vips_thumbnail_image(img, &t, 100, "height", 100,
                             "size", VIPS_SIZE_DOWN, NULL)
        != 0)
    {
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    rgb = fedi_media_rgb8(t);
    g_object_unref(t);

    if (rgb == NULL) {
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    px = vips_image_write_to_memory(rgb, &len);

    rc = px ? fedi_blurhash_encode(px, vips_image_get_width(rgb),
                                   vips_image_get_height(rgb),
                                   (size_t) vips_image_get_width(rgb) * 3,
                                   4, 4, mp->blurhash)
            : -1;

    g_free(px);
    g_object_unref(rgb);

    if (rc < 0) {
        return fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
    }

    return 0;
}


/* what a failed job stored goes */
void
fedi_media_discard(fedi_media_proc_t *mp)
{
    if (mp->path[0]) {
        fedi_media_unlink(mp->root, mp->path);
        mp->path[0] = '\0';
    }

    if (mp->preview[0]) {
        fedi_media_unlink(mp->root, mp->preview);
        mp->preview[0] = '\0';
    }
}


void
fedi_media_unlink(const char *root, const char *path)
{
    char  full[4096];

    /* only our own names: no way out of the root */
    if (path == NULL || path[0] == '\0' || strstr(path, "..")
        || path[0] == '/')
    {
        return;
    }

    snprintf(full, sizeof(full), "%s/%s", root, path);
    unlink(full);

    if (fedi_media_s3) {
        fedi_media_s3_delete(fedi_media_s3, path);
    }
}


/*
 * After processing: the files to the bucket, then off the disk.  On a
 * failure nothing stays, neither object nor file (an internal failure,
 * not the file's).
 */
int
fedi_media_s3_store(fedi_media_proc_t *mp)
{
    char  full[4096];

    if (fedi_media_s3_put(fedi_media_s3, mp->root, mp->path, mp->err,
                          sizeof(mp->err))
        != 0
        || (mp->preview[0]
            && fedi_media_s3_put(fedi_media_s3, mp->root, mp->preview,
                                 mp->err, sizeof(mp->err))
               != 0))
    {
        mp->internal = 1;
        fedi_media_discard(mp);         /* objects and files */
        return -1;
    }

    snprintf(full, sizeof(full), "%s/%s", mp->root, mp->path);
    unlink(full);

    if (mp->preview[0]) {
        snprintf(full, sizeof(full), "%s/%s", mp->root, mp->preview);
        unlink(full);
    }

    return 0;
}
