/*
 * Copyright (C) ngx_fedi authors
 *
 * Video, audio and animated GIFs, on the thread pool: ffprobe reads the
 * upload (streams, size, frame rate, duration), the caps are Mastodon's,
 * ffmpeg re-encodes it without its metadata (H.264 and AAC in MP4 for
 * video, silent video for GIFs and videos without sound, which are
 * "gifv"; MP3 for audio), and the first frame makes the preview and the
 * blurhash.
 *
 * ffmpeg runs as a grandchild.  nginx's SIGCHLD handler reaps every
 * child of a worker that signals its end (waitpid(-1)) and would take
 * ffmpeg's status from under us, and exec() makes any child signal it.
 * So a copy of the worker cloned with no exit signal, which never execs,
 * starts ffmpeg, waits for it with SIGCHLD at its default, and exits with
 * its status; this thread waits for that copy with __WALL, which nginx's
 * waitpid() does not see.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE            /* clone, __WALL, close_range */
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <vips/vips.h>

#include "fedi_media_proc.h"


#define FEDI_FFMPEG              "/usr/bin/ffmpeg"
#define FEDI_FFPROBE             "/usr/bin/ffprobe"
#define FEDI_MEDIA_VIDEO_PIXELS  8294400      /* Mastodon's video matrix */
#define FEDI_MEDIA_VIDEO_FPS     120
#define FEDI_MEDIA_PROBE_MAX     (256 * 1024)
#define FEDI_MEDIA_STACK         (64 * 1024)


typedef struct {
    char *const  *argv;
    int           out;          /* stdout, or -1 */
    int           null;
} fedi_media_child_t;


static int fedi_media_child(void *arg);
static int fedi_media_run(char *const argv[], char *out, size_t outlen);
static int fedi_media_write_input(fedi_media_proc_t *mp, const char *path);
static double fedi_media_rate(const char *r);
static size_t fedi_media_args(char **argv, size_t i, const char *const *add);


/* the commands, in parts: the input or output file goes between them */
/*
 * The input is read as the type libmagic found, by that demuxer only, from
 * the file only: a file that is a playlist inside (HLS in AVI, concat)
 * neither reads other files nor fetches URLs
 */
static const char *const  fedi_ffprobe_args[] = {
    FEDI_FFPROBE, "-v", "error", "-print_format", "json", "-show_format",
    "-show_streams", "-protocol_whitelist", "file", "-f", NULL
};

static const char *const  fedi_ffmpeg_args[] = {
    FEDI_FFMPEG, "-nostdin", "-v", "error", "-y", "-protocol_whitelist",
    "file", "-f", NULL
};

/* no metadata (a phone's video carries where it was made), no chapters */
static const char *const  fedi_ffmpeg_clean[] = {
    "-map_metadata", "-1", "-map_chapters", "-1", NULL
};

static const char *const  fedi_ffmpeg_audio[] = {
    "-vn", "-c:a", "libmp3lame", "-q:a", "2", "-f", "mp3", NULL
};

#define FEDI_FFMPEG_H264                                                     \
    "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",                  \
    "-pix_fmt", "yuv420p", "-vf", "scale=trunc(iw/2)*2:trunc(ih/2)*2",       \
    "-movflags", "+faststart", "-f", "mp4"

static const char *const  fedi_ffmpeg_video[] = {
    "-map", "0:v:0", "-map", "0:a:0", "-c:a", "aac", "-b:a", "192k",
    FEDI_FFMPEG_H264, NULL
};

static const char *const  fedi_ffmpeg_gifv[] = {
    "-map", "0:v:0", "-an", FEDI_FFMPEG_H264, NULL
};

static const char *const  fedi_ffmpeg_frame[] = {
    "-frames:v", "1", "-f", "image2", "-c:v", "png", NULL
};


int
fedi_media_av_available(void)
{
    return access(FEDI_FFMPEG, X_OK) == 0 && access(FEDI_FFPROBE, X_OK) == 0;
}


int
fedi_media_av_process(fedi_media_proc_t *mp)
{
    int           rc, w, h, has_audio, has_video;
    char          hex[33], in[4096], out[4096], tmp[4200], frame[4200];
    char          probe[FEDI_MEDIA_PROBE_MAX], fr[32], *argv[40];
    double        duration, fps;
    size_t        i;
    json_t       *root, *streams, *st, *fmt;
    long long     bitrate;
    const char   *ct, *v;
    struct stat   sb;

    rc = -1;
    root = NULL;
    mp->path[0] = '\0';
    mp->preview[0] = '\0';
    frame[0] = '\0';
    tmp[0] = '\0';

    if (fedi_media_newname(mp, hex) != 0) {
        return -1;
    }

    snprintf(in, sizeof(in), "%s/%.2s/%.2s/%s.in", mp->root, hex, hex + 2,
             hex);

    if (fedi_media_write_input(mp, in) != 0) {
        return -1;
    }

    /* what it is, by ffprobe */
    i = fedi_media_args(argv, 0, fedi_ffprobe_args);
    argv[i++] = (char *) mp->demuxer;
    argv[i++] = in;
    argv[i] = NULL;

    if (fedi_media_run(argv, probe, sizeof(probe)) != 0
        || (root = json_loads(probe, 0, NULL)) == NULL)
    {
        fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
        goto done;
    }

    streams = json_object_get(root, "streams");
    fmt = json_object_get(root, "format");
    w = 0;
    h = 0;
    fps = 0;
    fr[0] = '\0';
    has_audio = 0;
    has_video = 0;

    json_array_foreach(streams, i, st) {
        ct = json_string_value(json_object_get(st, "codec_type"));

        if (ct && strcmp(ct, "audio") == 0) {
            has_audio = 1;

        } else if (ct && strcmp(ct, "video") == 0 && !has_video) {
            has_video = 1;
            w = (int) json_integer_value(json_object_get(st, "width"));
            h = (int) json_integer_value(json_object_get(st, "height"));
            v = json_string_value(json_object_get(st, "avg_frame_rate"));

            if (v == NULL || fedi_media_rate(v) <= 0) {
                v = json_string_value(json_object_get(st, "r_frame_rate"));
            }

            if (v) {
                snprintf(fr, sizeof(fr), "%s", v);
                fps = fedi_media_rate(v);
            }
        }
    }

    v = json_string_value(json_object_get(fmt, "duration"));
    duration = v ? strtod(v, NULL) : 0;
    v = json_string_value(json_object_get(fmt, "bit_rate"));
    bitrate = v ? strtoll(v, NULL, 10) : 0;

    if (strcmp(mp->type, "audio") == 0) {
        if (!has_audio) {
            fedi_media_fail(mp, "Validation failed: File has no sound");
            goto done;
        }

    } else {
        if (!has_video || w < 1 || h < 1) {
            fedi_media_fail(mp, "Validation failed: File has no picture");
            goto done;
        }

        if ((long long) w * h > FEDI_MEDIA_VIDEO_PIXELS) {
            fedi_media_fail(mp, "Validation failed: File dimensions are "
                            "too large");
            goto done;
        }

        if (fps > FEDI_MEDIA_VIDEO_FPS) {
            fedi_media_fail(mp, "Validation failed: File frame rate is too "
                            "high");
            goto done;
        }

        /* a video without sound plays as a GIF does */
        if (!has_audio) {
            mp->type = "gifv";
        }
    }

    /* re-encoded without its metadata, under a temporary name */
    snprintf(mp->path, sizeof(mp->path), "%.2s/%.2s/%s.%s", hex, hex + 2,
             hex, mp->ext);
    snprintf(out, sizeof(out), "%s/%s", mp->root, mp->path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", out);

    i = fedi_media_args(argv, 0, fedi_ffmpeg_args);
    argv[i++] = (char *) mp->demuxer;
    argv[i++] = "-i";
    argv[i++] = in;
    i = fedi_media_args(argv, i, fedi_ffmpeg_clean);
    i = fedi_media_args(argv, i,
                        strcmp(mp->type, "audio") == 0 ? fedi_ffmpeg_audio
                        : strcmp(mp->type, "video") == 0 ? fedi_ffmpeg_video
                        : fedi_ffmpeg_gifv);
    argv[i++] = tmp;
    argv[i] = NULL;

    if (fedi_media_run(argv, NULL, 0) != 0 || stat(tmp, &sb) != 0
        || sb.st_size == 0 || rename(tmp, out) != 0)
    {
        mp->path[0] = '\0';
        fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
        goto done;
    }

    mp->size = (long long) sb.st_size;

    if (strcmp(mp->type, "audio") == 0) {
        snprintf(mp->meta, sizeof(mp->meta),
                 "{\"original\":{\"duration\":%.3f,\"bitrate\":%lld}}",
                 duration, bitrate);
        rc = 0;
        goto done;
    }

    mp->width = w & ~1;
    mp->height = h & ~1;

    /* the first frame: the preview and the blurhash */
    snprintf(frame, sizeof(frame), "%s/%.2s/%.2s/%s.frame.png", mp->root,
             hex, hex + 2, hex);

    i = fedi_media_args(argv, 0, fedi_ffmpeg_args);
    argv[i++] = (strcmp(mp->type, "audio") == 0) ? "mp3" : "mov";
    argv[i++] = "-i";
    argv[i++] = out;
    i = fedi_media_args(argv, i, fedi_ffmpeg_frame);
    argv[i++] = frame;
    argv[i] = NULL;

    if (fedi_media_run(argv, NULL, 0) != 0) {
        fedi_media_fail(mp, FEDI_MEDIA_UNPROCESSABLE);
        goto done;
    }

    if (fedi_media_preview(mp, frame, hex, "jpg") != 0) {
        goto done;
    }

    snprintf(mp->meta, sizeof(mp->meta),
             "{\"original\":{\"width\":%d,\"height\":%d,\"size\":\"%dx%d\","
             "\"aspect\":%.6f,\"frame_rate\":\"%s\",\"duration\":%.3f,"
             "\"bitrate\":%lld},"
             "\"small\":{\"width\":%d,\"height\":%d,\"size\":\"%dx%d\","
             "\"aspect\":%.6f}}",
             mp->width, mp->height, mp->width, mp->height,
             (double) mp->width / mp->height, fr, duration, bitrate,
             mp->swidth, mp->sheight, mp->swidth, mp->sheight,
             (double) mp->swidth / mp->sheight);

    rc = 0;

done:

    if (rc != 0) {
        fedi_media_discard(mp);
    }

    json_decref(root);

    unlink(in);

    if (tmp[0]) {
        unlink(tmp);
    }

    if (frame[0]) {
        unlink(frame);
    }

    return rc;
}


/* the upload's bytes into a file ffmpeg can seek in */
static int
fedi_media_write_input(fedi_media_proc_t *mp, const char *path)
{
    int                   fd;
    size_t                left;
    ssize_t               n;
    const unsigned char  *p;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        mp->internal = 1;
        return fedi_media_fail(mp, "The media directory is not writable");
    }

    for (p = mp->data, left = mp->len; left; p += n, left -= n) {
        n = write(fd, p, left);

        if (n <= 0) {
            if (n == -1 && errno == EINTR) {
                n = 0;
                continue;
            }

            close(fd);
            unlink(path);
            mp->internal = 1;
            return fedi_media_fail(mp, "The media directory is full");
        }
    }

    close(fd);

    return 0;
}


/* appends a NULL-ended list to argv at i; the next place */
static size_t
fedi_media_args(char **argv, size_t i, const char *const *add)
{
    while (*add) {
        argv[i++] = (char *) *add++;
    }

    return i;
}


/* "30000/1001" or "25": frames a second */
static double
fedi_media_rate(const char *r)
{
    char    *end;
    double   n, d;

    n = strtod(r, &end);

    if (*end != '/') {
        return n;
    }

    d = strtod(end + 1, NULL);

    return d > 0 ? n / d : 0;
}


/*
 * Runs argv[0] with stdin and stderr on /dev/null, stdout into out (when
 * given, NUL-terminated); 0 when it exited with 0
 */
static int
fedi_media_run(char *const argv[], char *out, size_t outlen)
{
    int                  fds[2], status;
    char                *stack;
    pid_t                pid;
    size_t               got;
    ssize_t              n;
    fedi_media_child_t   c;

    fds[0] = -1;
    fds[1] = -1;

    c.argv = argv;
    c.null = open("/dev/null", O_RDWR | O_CLOEXEC);
    c.out = -1;

    if (c.null == -1) {
        return -1;
    }

    if (out && pipe2(fds, O_CLOEXEC) == 0) {
        c.out = fds[1];
    }

    stack = mmap(NULL, FEDI_MEDIA_STACK, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);

    if (stack == MAP_FAILED || (out && c.out == -1)) {
        pid = -1;

    } else {
        /* a copy of this process (no CLONE_VM), the low byte of the
         * flags, its exit signal, none */
        pid = clone(fedi_media_child, stack + FEDI_MEDIA_STACK, 0, &c);
    }

    if (stack != MAP_FAILED) {
        munmap(stack, FEDI_MEDIA_STACK);
    }

    close(c.null);

    if (fds[1] != -1) {
        close(fds[1]);
    }

    got = 0;

    if (pid != -1 && fds[0] != -1) {
        for ( ;; ) {
            n = read(fds[0], out + got, outlen - 1 - got);

            if (n == -1 && errno == EINTR) {
                continue;
            }

            if (n <= 0) {
                break;
            }

            got += n;

            if (got == outlen - 1) {
                break;          /* the rest is not read: too much to say */
            }
        }
    }

    if (out) {
        out[got] = '\0';
    }

    if (fds[0] != -1) {
        close(fds[0]);
    }

    if (pid == -1) {
        return -1;
    }

    while (waitpid(pid, &status, __WALL) == -1) {
        if (errno != EINTR) {
            return -1;
        }
    }

    return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : -1;
}


/*
 * In the copy of the worker (its own memory, no exit signal): system
 * calls only, not even libc's wrappers, which a sanitizer intercepts
 * with locks another thread of the worker may have held when it was
 * copied.  ffmpeg's status becomes this one's.
 */
__attribute__((no_sanitize("address", "undefined")))
static int
fedi_media_child(void *arg)
{
    fedi_media_child_t  *c = arg;

    long           pid;
    int            status;
    unsigned long  mask;
    unsigned long  sa[4];       /* handler, flags, restorer, mask */

    /* nginx's threads block signals, and its SIGCHLD handler reaps */
    sa[0] = (unsigned long) SIG_DFL;
    sa[1] = 0;
    sa[2] = 0;
    sa[3] = 0;
    syscall(SYS_rt_sigaction, SIGCHLD, sa, NULL, sizeof(mask));

    mask = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof(mask));

    syscall(SYS_dup2, c->null, 0);
    syscall(SYS_dup2, c->out != -1 ? c->out : c->null, 1);
    syscall(SYS_dup2, c->null, 2);
    syscall(SYS_close_range, 3, ~0U, 0);

    pid = syscall(SYS_fork);

    if (pid == 0) {
        syscall(SYS_execve, c->argv[0], c->argv, environ);
        syscall(SYS_exit_group, 127);
    }

    if (pid < 0) {
        syscall(SYS_exit_group, 126);
    }

    while (syscall(SYS_wait4, pid, &status, 0, NULL) < 0) {
        if (errno != EINTR) {
            syscall(SYS_exit_group, 125);
        }
    }

    syscall(SYS_exit_group, WIFEXITED(status) ? WEXITSTATUS(status) : 124);

    return 0;
}
