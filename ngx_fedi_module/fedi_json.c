/*
 * Copyright (C) ngx_fedi authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_json.h"

#if (defined __SSE2__ && defined __GNUC__)
#include <emmintrin.h>
#endif


/* the longest output of one input character: \u00XX, \u2028 */
#define FEDI_JSON_ESC_MAX  6

/* SWAR over 8 bytes where SSE2 is not there */
#define FEDI_ONES          0x0101010101010101ULL
#define FEDI_HIGHS         0x8080808080808080ULL

#if (defined __SSE2__ && defined __GNUC__)
#define FEDI_JSON_SSE2     1
#else
#define FEDI_JSON_SSE2     0
#endif


static unsigned char *fedi_json_reserve(fedi_json_t *j, size_t n);
static void fedi_json_put(fedi_json_t *j, const unsigned char *s, size_t n);
static void fedi_json_value_start(fedi_json_t *j);
static void fedi_json_open(fedi_json_t *j, unsigned char c);
static void fedi_json_close(fedi_json_t *j, unsigned char c);
static const unsigned char *fedi_json_run(const unsigned char *p,
    const unsigned char *end);
static void fedi_json_escape(fedi_json_t *j, const unsigned char *s,
    size_t len);
static size_t fedi_utf8_valid(const unsigned char *s, size_t len);
static size_t fedi_utf8_invalid(const unsigned char *s, size_t len);


/*
 * Printable ASCII but '"' and '\\': copied as they are.  0x7f is a
 * control character (escaped), bytes from 0x80 are checked as UTF-8.
 */
static const unsigned char  fedi_json_plain[256] = {
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,0,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,0,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,
};

/* the short escapes; 'u' for the rest of the control characters */
static const unsigned char  fedi_json_esc[128] = {
    'u','u','u','u','u','u','u','u','b','t','n','u','f','r','u','u',
    'u','u','u','u','u','u','u','u','u','u','u','u','u','u','u','u',
    0,  0,  '"',0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  '\\',0, 0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  'u',
};


void
fedi_json_init(fedi_json_t *j, fedi_json_alloc_pt alloc, void *ctx)
{
    memset(j, 0, sizeof(fedi_json_t));
    j->alloc = alloc;
    j->alloc_ctx = ctx;
    j->chunk_size = FEDI_JSON_CHUNK_SIZE;
}


/* room for n bytes at the end of the current chunk or of a new one */
static unsigned char *
fedi_json_reserve(fedi_json_t *j, size_t n)
{
    size_t              size;
    fedi_json_chunk_t  *ch;

    if (j->error) {
        return NULL;
    }

    ch = j->current;

    if (ch && (size_t) (ch->end - ch->last) >= n) {
        return ch->last;
    }

    if (j->chunk_size == 0) {
        j->chunk_size = FEDI_JSON_CHUNK_SIZE;
    }

    size = j->chunk_size > n ? j->chunk_size : n;

    ch = j->alloc(j->alloc_ctx, sizeof(fedi_json_chunk_t) + size);
    if (ch == NULL) {
        j->error = 1;
        return NULL;
    }

    ch->start = (unsigned char *) (ch + 1);
    ch->last = ch->start;
    ch->end = ch->start + size;
    ch->next = NULL;

    if (j->current) {
        j->current->next = ch;

    } else {
        j->first = ch;
    }

    j->current = ch;

    /* a large document takes fewer, larger chunks */
    if (j->chunk_size < 65536) {
        j->chunk_size *= 2;
    }

    return ch->last;
}


void
fedi_json_write(fedi_json_t *j, const unsigned char *s, size_t len)
{
    size_t              n;
    unsigned char      *p;
    fedi_json_chunk_t  *ch;

    while (len) {
        p = fedi_json_reserve(j, 1);
        if (p == NULL) {
            return;
        }

        ch = j->current;
        n = ch->end - p;

        if (n > len) {
            n = len;
        }

        memcpy(p, s, n);
        ch->last += n;
        j->size += n;
        s += n;
        len -= n;
    }
}


/* a few bytes: straight into the chunk when they fit */
static void
fedi_json_put(fedi_json_t *j, const unsigned char *s, size_t n)
{
    fedi_json_chunk_t  *ch;

    ch = j->current;

    if (ch == NULL || j->error || (size_t) (ch->end - ch->last) < n) {
        fedi_json_write(j, s, n);
        return;
    }

    j->size += n;

    while (n--) {
        *ch->last++ = *s++;
    }
}


static void
fedi_json_value_start(fedi_json_t *j)
{
    uint64_t  bit;

    if (j->after_key) {
        j->after_key = 0;
        return;
    }

    if (j->depth <= 0) {
        return;
    }

    bit = 1ULL << (j->depth - 1);

    if (j->objects & bit) {
        /* a value in an object needs its key first */
        j->error = 1;
        return;
    }

    if (j->need_comma & bit) {
        fedi_json_put(j, (const unsigned char *) ",", 1);
    }

    j->need_comma |= bit;
}


static void
fedi_json_open(fedi_json_t *j, unsigned char c)
{
    uint64_t  bit;

    fedi_json_value_start(j);

    if (j->depth < 0 || j->depth >= FEDI_JSON_MAX_DEPTH) {
        j->error = 1;
        return;
    }

    fedi_json_put(j, &c, 1);

    bit = 1ULL << j->depth;
    j->depth++;
    j->need_comma &= ~bit;

    if (c == '{') {
        j->objects |= bit;

    } else {
        j->objects &= ~bit;
    }
}


static void
fedi_json_close(fedi_json_t *j, unsigned char c)
{
    int  object;

    if (j->depth <= 0 || j->depth > FEDI_JSON_MAX_DEPTH || j->after_key) {
        j->error = 1;
        return;
    }

    object = (j->objects >> (j->depth - 1)) & 1;

    if (object != (c == '}')) {
        /* '}' for an array or ']' for an object */
        j->error = 1;
        return;
    }

    j->depth--;
    fedi_json_put(j, &c, 1);
}


void
fedi_json_obj_open(fedi_json_t *j)
{
    fedi_json_open(j, '{');
}


void
fedi_json_obj_close(fedi_json_t *j)
{
    fedi_json_close(j, '}');
}


/*
 * Members written elsewhere, "\"k\":v,..." (at least one), into the
 * object open here: a comma before them when one is owed, and after them.
 */
void
fedi_json_members(fedi_json_t *j, const unsigned char *s, size_t len)
{
    uint64_t  bit;

    if (len == 0 || j->after_key || j->depth <= 0
        || j->depth > FEDI_JSON_MAX_DEPTH
        || !(j->objects & (1ULL << (j->depth - 1))))
    {
        j->error = 1;
        return;
    }

    bit = 1ULL << (j->depth - 1);

    if (j->need_comma & bit) {
        fedi_json_put(j, (const unsigned char *) ",", 1);
    }

    fedi_json_write(j, s, len);
    j->need_comma |= bit;
}


/*
 * An object whose start was written elsewhere: s is "{" and members (at
 * least one), never its "}", as a cache keeps it.  Written as the next
 * value, then open here as if its members had been written here.
 */
void
fedi_json_obj_resume(fedi_json_t *j, const unsigned char *s, size_t len)
{
    if (len < 2 || s[0] != '{') {
        j->error = 1;
        return;
    }

    fedi_json_open(j, '{');

    if (j->error) {
        return;
    }

    fedi_json_members(j, s + 1, len - 1);
}


void
fedi_json_arr_open(fedi_json_t *j)
{
    fedi_json_open(j, '[');
}


void
fedi_json_arr_close(fedi_json_t *j)
{
    fedi_json_close(j, ']');
}


void
fedi_json_key(fedi_json_t *j, const char *key)
{
    uint64_t  bit;

    if (j->after_key || j->depth <= 0 || j->depth > FEDI_JSON_MAX_DEPTH
        || !(j->objects & (1ULL << (j->depth - 1))))
    {
        j->error = 1;
        return;
    }

    bit = 1ULL << (j->depth - 1);

    if (j->need_comma & bit) {
        fedi_json_put(j, (const unsigned char *) ",\"", 2);

    } else {
        fedi_json_put(j, (const unsigned char *) "\"", 1);
    }

    j->need_comma |= bit;

    /* trusted, but escaped all the same: it costs one scan */
    fedi_json_escape(j, (const unsigned char *) key, strlen(key));
    fedi_json_put(j, (const unsigned char *) "\":", 2);
    j->after_key = 1;
}


/* the length of the valid UTF-8 sequence at s (s[0] >= 0x80), or 0 */
static size_t
fedi_utf8_valid(const unsigned char *s, size_t len)
{
    unsigned char  c;

    c = s[0];

    if (c < 0xc2) {
        return 0;                      /* continuation byte, C0, C1 */
    }

    if (c < 0xe0) {
        return (len >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c < 0xf0) {
        if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && s[1] < 0xa0)            /* overlong */
            || (c == 0xed && s[1] >= 0xa0))       /* surrogates */
        {
            return 0;
        }

        return 3;
    }

    if (c < 0xf5) {
        if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && s[1] < 0x90)            /* overlong */
            || (c == 0xf4 && s[1] >= 0x90))       /* above U+10FFFF */
        {
            return 0;
        }

        return 4;
    }

    return 0;
}


/*
 * The maximal subpart of an invalid sequence at s, as the WHATWG decoder
 * (and Unicode's "U+FFFD substitution of maximal subparts") sees it: how
 * many bytes one U+FFFD replaces.
 */
static size_t
fedi_utf8_invalid(const unsigned char *s, size_t len)
{
    size_t         i, need;
    unsigned char  c, lo, hi;

    c = s[0];
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;

    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return 1;
    }

    for (i = 1; i <= need && i < len; i++) {
        if (s[i] < lo || s[i] > hi) {
            break;
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return i;
}


/*
 * The end of the run at p that goes out as it is: printable ASCII but
 * '"' and '\\', and valid UTF-8 but U+2028 and U+2029.  ASCII is looked
 * at 16 bytes at a time (SSE2) or 8 (SWAR), UTF-8 a character at a time
 * while it lasts, with the common 2- and 3-byte forms inline.
 */
static const unsigned char *
fedi_json_run(const unsigned char *p, const unsigned char *end)
{
    size_t    n;
#if (FEDI_JSON_SSE2)
    int       mask;
    __m128i   v, m;
#else
    uint64_t  w, t, m;
#endif

    for ( ;; ) {

#if (FEDI_JSON_SSE2)
        while (end - p >= 16) {
            v = _mm_loadu_si128((const __m128i *) p);

            /* signed: below 0x20 takes in 0x80..0xff too */
            m = _mm_or_si128(
                    _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))),
                    _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                 _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

            mask = _mm_movemask_epi8(m);

            if (mask) {
                p += __builtin_ctz((unsigned int) mask);
                break;
            }

            p += 16;
        }
#else
        while (end - p >= 8) {
            memcpy(&w, p, 8);

            /* per byte, on its low 7 bits so that no carry crosses */
            t = w & ~FEDI_HIGHS;
            m = (w | (t + FEDI_ONES)                         /* 0x7f */
                 | ~(t + FEDI_ONES * 0x60)                   /* < 0x20 */
                 | ~((t ^ FEDI_ONES * '"') + FEDI_ONES * 0x7f)
                 | ~((t ^ FEDI_ONES * '\\') + FEDI_ONES * 0x7f))
                & FEDI_HIGHS;

            if (m) {
                break;
            }

            p += 8;
        }
#endif

        while (p < end && fedi_json_plain[*p]) {
            p++;
        }

        while (p < end && *p >= 0x80) {

            /* U+0080..U+07FF */
            if (p[0] >= 0xc2 && p[0] <= 0xdf) {
                if (end - p >= 2 && (p[1] & 0xc0) == 0x80) {
                    p += 2;
                    continue;
                }

                return p;
            }

            /* U+1000..U+1FFF, U+3000..U+CFFF, U+E000..U+FFFF: no overlong,
             * no surrogate, not U+2028 or U+2029 */
            if (p[0] >= 0xe1 && p[0] <= 0xef && p[0] != 0xe2 && p[0] != 0xed
                && end - p >= 3 && (p[1] & 0xc0) == 0x80
                && (p[2] & 0xc0) == 0x80)
            {
                p += 3;
                continue;
            }

            n = fedi_utf8_valid(p, end - p);

            if (n == 0
                || (n == 3 && p[0] == 0xe2 && p[1] == 0x80
                    && (p[2] == 0xa8 || p[2] == 0xa9)))
            {
                return p;
            }

            p += n;
        }

        if (p == end || !fedi_json_plain[*p]) {
            return p;
        }
    }
}


static void
fedi_json_escape(fedi_json_t *j, const unsigned char *s, size_t len)
{
    unsigned char             c, e, buf[FEDI_JSON_ESC_MAX];
    const unsigned char      *end, *run;
    static const char         hex[] = "0123456789abcdef";

    end = s + len;

    while (s < end) {
        run = fedi_json_run(s, end);

        if (run != s) {
            fedi_json_write(j, s, run - s);
            s = run;

            if (s == end) {
                break;
            }
        }

        c = *s;

        if (c >= 0x80) {
            if (fedi_utf8_valid(s, end - s) == 3) {
                /* U+2028, U+2029: valid JSON, but not inside <script> */
                fedi_json_put(j, (const unsigned char *)
                              (s[2] == 0xa8 ? "\\u2028" : "\\u2029"), 6);
                s += 3;

            } else {
                fedi_json_put(j, (const unsigned char *) "\xef\xbf\xbd", 3);
                s += fedi_utf8_invalid(s, end - s);
            }

            continue;
        }

        e = fedi_json_esc[c];
        buf[0] = '\\';

        if (e == 'u') {
            buf[1] = 'u';
            buf[2] = '0';
            buf[3] = '0';
            buf[4] = hex[c >> 4];
            buf[5] = hex[c & 0xf];
            fedi_json_put(j, buf, 6);

        } else {
            buf[1] = e;
            fedi_json_put(j, buf, 2);
        }

        s++;
    }
}


void
fedi_json_str(fedi_json_t *j, const unsigned char *s, size_t len)
{
    fedi_json_value_start(j);
    fedi_json_put(j, (const unsigned char *) "\"", 1);
    fedi_json_escape(j, s, len);
    fedi_json_put(j, (const unsigned char *) "\"", 1);
}


void
fedi_json_cstr(fedi_json_t *j, const char *s)
{
    if (s == NULL) {
        fedi_json_null(j);
        return;
    }

    fedi_json_str(j, (const unsigned char *) s, strlen(s));
}


void
fedi_json_null(fedi_json_t *j)
{
    fedi_json_value_start(j);
    fedi_json_put(j, (const unsigned char *) "null", 4);
}


void
fedi_json_bool(fedi_json_t *j, int v)
{
    fedi_json_value_start(j);

    if (v) {
        fedi_json_put(j, (const unsigned char *) "true", 4);

    } else {
        fedi_json_put(j, (const unsigned char *) "false", 5);
    }
}


void
fedi_json_int(fedi_json_t *j, int64_t v)
{
    uint64_t       u;
    unsigned char  buf[24], *p;

    fedi_json_value_start(j);

    p = buf + sizeof(buf);
    u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

    do {
        *--p = (unsigned char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (v < 0) {
        *--p = '-';
    }

    fedi_json_put(j, p, buf + sizeof(buf) - p);
}


void
fedi_json_double(fedi_json_t *j, double v)
{
    int   n, len;
    char  buf[40];

    if (!isfinite(v)) {
        fedi_json_null(j);
        return;
    }

    /* the shortest of %.15g .. %.17g that reads back as the same double */
    len = 0;

    for (n = 15; n <= 17; n++) {
        len = snprintf(buf, sizeof(buf), "%.*g", n, v);

        if (strtod(buf, NULL) == v) {
            break;
        }
    }

    fedi_json_value_start(j);
    fedi_json_put(j, (const unsigned char *) buf, (size_t) len);
}


void
fedi_json_raw(fedi_json_t *j, const unsigned char *s, size_t len)
{
    fedi_json_value_start(j);
    fedi_json_write(j, s, len);
}


void
fedi_json_kstr(fedi_json_t *j, const char *key, const unsigned char *s,
    size_t len)
{
    fedi_json_key(j, key);
    fedi_json_str(j, s, len);
}


void
fedi_json_kcstr(fedi_json_t *j, const char *key, const char *s)
{
    fedi_json_key(j, key);
    fedi_json_cstr(j, s);
}


void
fedi_json_knull(fedi_json_t *j, const char *key)
{
    fedi_json_key(j, key);
    fedi_json_null(j);
}


void
fedi_json_kbool(fedi_json_t *j, const char *key, int v)
{
    fedi_json_key(j, key);
    fedi_json_bool(j, v);
}


void
fedi_json_kint(fedi_json_t *j, const char *key, int64_t v)
{
    fedi_json_key(j, key);
    fedi_json_int(j, v);
}


void
fedi_json_kraw(fedi_json_t *j, const char *key, const unsigned char *s,
    size_t len)
{
    fedi_json_key(j, key);
    fedi_json_raw(j, s, len);
}


long
fedi_json_flatten(fedi_json_t *j, unsigned char *buf, size_t size)
{
    size_t              n, total;
    fedi_json_chunk_t  *ch;

    if (j->error) {
        return -1;
    }

    total = 0;

    for (ch = j->first; ch; ch = ch->next) {
        n = ch->last - ch->start;

        if (n > size - total) {
            return -1;
        }

        memcpy(buf + total, ch->start, n);
        total += n;
    }

    return (long) total;
}
