/*
 * Copyright (C) ngx_fedi authors
 */


#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_json.h"


static unsigned char *fedi_json_reserve(fedi_json_t *j, size_t n);
static void fedi_json_value_start(fedi_json_t *j);
static void fedi_json_escape(fedi_json_t *j, const unsigned char *s,
    size_t len);
static size_t fedi_utf8_valid(const unsigned char *s, size_t len);


/* bytes that need no escaping: printable ASCII but '"' and '\\' */
static const unsigned char  fedi_json_plain[256] = {
    0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,
    1,1,0,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,0,1,1,1,
    1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,0,
};


void
fedi_json_init(fedi_json_t *j, fedi_json_alloc_pt alloc, void *ctx)
{
    memset(j, 0, sizeof(fedi_json_t));
    j->alloc = alloc;
    j->alloc_ctx = ctx;
    j->chunk_size = FEDI_JSON_CHUNK_SIZE;
}


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

    /* grow the chunks of a large document */
    if (j->chunk_size < 65536) {
        j->chunk_size *= 2;
    }

    return ch->last;
}


void
fedi_json_write(fedi_json_t *j, const unsigned char *s, size_t len)
{
    size_t          n;
    unsigned char  *p;

    while (len) {
        p = fedi_json_reserve(j, 1);
        if (p == NULL) {
            return;
        }

        n = j->current->end - p;
        if (n > len) {
            n = len;
        }

        memcpy(p, s, n);
        j->current->last += n;
        j->size += n;
        s += n;
        len -= n;
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

    if (j->depth > 0 && (j->objects & (1ULL << (j->depth - 1)))) {
        /* a value in an object needs its key first */
        j->error = 1;
        return;
    }

    if (j->depth > 0) {
        bit = 1ULL << (j->depth - 1);

        if (j->need_comma & bit) {
            fedi_json_write(j, (const unsigned char *) ",", 1);
        }

        j->need_comma |= bit;
    }
}


static void
fedi_json_open(fedi_json_t *j, unsigned char c)
{
    fedi_json_value_start(j);

    if (j->depth >= FEDI_JSON_MAX_DEPTH) {
        j->error = 1;
        return;
    }

    fedi_json_write(j, &c, 1);
    j->depth++;
    j->need_comma &= ~(1ULL << (j->depth - 1));

    if (c == '{') {
        j->objects |= 1ULL << (j->depth - 1);

    } else {
        j->objects &= ~(1ULL << (j->depth - 1));
    }
}


static void
fedi_json_close(fedi_json_t *j, unsigned char c)
{
    if (j->depth <= 0 || j->after_key) {
        j->error = 1;
        return;
    }

    j->depth--;
    fedi_json_write(j, &c, 1);
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

    if (j->after_key || j->depth <= 0
        || !(j->objects & (1ULL << (j->depth - 1))))
    {
        j->error = 1;
        return;
    }

    bit = 1ULL << (j->depth - 1);

    if (j->need_comma & bit) {
        fedi_json_write(j, (const unsigned char *) ",", 1);
    }

    j->need_comma |= bit;
    fedi_json_write(j, (const unsigned char *) "\"", 1);
    fedi_json_escape(j, (const unsigned char *) key, strlen(key));
    fedi_json_write(j, (const unsigned char *) "\":", 2);
    j->after_key = 1;
}


/* the length of the valid UTF-8 sequence at s, or 0 */
static size_t
fedi_utf8_valid(const unsigned char *s, size_t len)
{
    unsigned char  c = s[0];

    if (c < 0x80) {
        return 1;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        return (len >= 2 && (s[1] & 0xc0) == 0x80) ? 2 : 0;
    }

    if (c >= 0xe0 && c <= 0xef) {
        if (len < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) {
            return 0;
        }

        if ((c == 0xe0 && s[1] < 0xa0)          /* overlong */
            || (c == 0xed && s[1] >= 0xa0))     /* surrogates */
        {
            return 0;
        }

        return 3;
    }

    if (c >= 0xf0 && c <= 0xf4) {
        if (len < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80)
        {
            return 0;
        }

        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90)) {
            return 0;
        }

        return 4;
    }

    return 0;
}


/*
 * The maximal invalid subpart at s (WHATWG): how many bytes one U+FFFD
 * replaces.
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
        }
        if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0) {
            lo = 0x90;
        }
        if (c == 0xf4) {
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


static void
fedi_json_escape(fedi_json_t *j, const unsigned char *s, size_t len)
{
    size_t                i, start, n;
    unsigned char         c, buf[8];
    static const char     hex[] = "0123456789abcdef";

    start = 0;
    i = 0;

    while (i < len) {
        c = s[i];

        if (fedi_json_plain[c]) {
            i++;
            continue;
        }

        if (c >= 0x80) {
            n = fedi_utf8_valid(s + i, len - i);

            if (n == 3 && c == 0xe2 && s[i + 1] == 0x80
                && (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
            {
                /* U+2028, U+2029: valid JSON, but not inside <script> */
                fedi_json_write(j, s + start, i - start);
                fedi_json_write(j, (const unsigned char *)
                                (s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029"),
                                6);
                i += 3;
                start = i;
                continue;
            }

            if (n) {
                i += n;
                continue;
            }

            fedi_json_write(j, s + start, i - start);
            fedi_json_write(j, (const unsigned char *) "\xef\xbf\xbd", 3);
            i += fedi_utf8_invalid(s + i, len - i);
            start = i;
            continue;
        }

        fedi_json_write(j, s + start, i - start);

        switch (c) {
        case '"':
            fedi_json_write(j, (const unsigned char *) "\\\"", 2);
            break;
        case '\\':
            fedi_json_write(j, (const unsigned char *) "\\\\", 2);
            break;
        case '\n':
            fedi_json_write(j, (const unsigned char *) "\\n", 2);
            break;
        case '\r':
            fedi_json_write(j, (const unsigned char *) "\\r", 2);
            break;
        case '\t':
            fedi_json_write(j, (const unsigned char *) "\\t", 2);
            break;
        case '\b':
            fedi_json_write(j, (const unsigned char *) "\\b", 2);
            break;
        case '\f':
            fedi_json_write(j, (const unsigned char *) "\\f", 2);
            break;
        default:
            memcpy(buf, "\\u00", 4);
            buf[4] = hex[c >> 4];
            buf[5] = hex[c & 0xf];
            fedi_json_write(j, buf, 6);
            break;
        }

        i++;
        start = i;
    }

    fedi_json_write(j, s + start, len - start);
}


void
fedi_json_str(fedi_json_t *j, const unsigned char *s, size_t len)
{
    fedi_json_value_start(j);
    fedi_json_write(j, (const unsigned char *) "\"", 1);
    fedi_json_escape(j, s, len);
    fedi_json_write(j, (const unsigned char *) "\"", 1);
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
    fedi_json_write(j, (const unsigned char *) "null", 4);
}


void
fedi_json_bool(fedi_json_t *j, int v)
{
    fedi_json_value_start(j);

    if (v) {
        fedi_json_write(j, (const unsigned char *) "true", 4);

    } else {
        fedi_json_write(j, (const unsigned char *) "false", 5);
    }
}


void
fedi_json_int(fedi_json_t *j, int64_t v)
{
    int            neg;
    uint64_t       u;
    unsigned char  buf[24], *p;

    fedi_json_value_start(j);

    p = buf + sizeof(buf);
    neg = v < 0;
    u = neg ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

    do {
        *--p = (unsigned char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (neg) {
        *--p = '-';
    }

    fedi_json_write(j, p, buf + sizeof(buf) - p);
}


void
fedi_json_double(fedi_json_t *j, double v)
{
    int   n;
    char  buf[32];

    if (!isfinite(v)) {
        fedi_json_null(j);
        return;
    }

    /* the shortest form that reads back as the same double */
    for (n = 15; n <= 17; n++) {
        snprintf(buf, sizeof(buf), "%.*g", n, v);

        if (strtod(buf, NULL) == v) {
            break;
        }
    }

    fedi_json_value_start(j);
    fedi_json_write(j, (const unsigned char *) buf, strlen(buf));
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

        if (total + n > size) {
            return -1;
        }

        memcpy(buf + total, ch->start, n);
        total += n;
    }

    return (long) total;
}
