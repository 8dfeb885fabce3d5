/*
 * Copyright (C) ngx_fedi authors
 *
 * What filters match against: see fedi_filter_text.h.  Pure C.
 */


#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "fedi_filter_text.h"


static unsigned char *fedi_filter_entity(unsigned char *dst,
    const unsigned char **src, const unsigned char *end);


unsigned char *
fedi_filter_plain(unsigned char *dst, const unsigned char *src, size_t len)
{
    int                   newline;
    unsigned char        *start;
    const unsigned char  *end, *tag;

    start = dst;
    end = src + len;
    newline = 0;

    while (src < end) {

        if (*src == '<') {
            tag = src + 1;

            while (src < end && *src != '>') {
                src++;
            }

            src++;

            if ((end - tag > 2 && strncasecmp((const char *) tag, "br", 2) == 0
                 && (tag[2] == '>' || tag[2] == ' ' || tag[2] == '/'))
                || (end - tag >= 3
                    && strncasecmp((const char *) tag, "/p>", 3) == 0))
            {
                /* a run of them is one line break */
                if (!newline) {
                    *dst++ = '\n';
                    newline = 1;
                }

            } else {
                newline = 0;
            }

            continue;
        }

        newline = 0;

        if (*src == '&') {
            dst = fedi_filter_entity(dst, &src, end);
            continue;
        }

        *dst++ = *src++;
    }

    /* Ruby's chomp */
    if (dst > start && dst[-1] == '\n') {
        dst--;
    }

    return dst;
}


/* an entity at *src, decoded; else its '&' as it is */
static unsigned char *
fedi_filter_entity(unsigned char *dst, const unsigned char **src,
    const unsigned char *end)
{
    size_t                n, i;
    uint32_t              cp;
    const unsigned char  *s, *semi;

    static const struct {
        const char  *name;
        uint32_t     cp;
    } named[] = {
        { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
        { "apos", '\'' }, { "nbsp", 0xa0 }, { NULL, 0 }
    };

    s = *src + 1;
    semi = s;

    while (semi < end && semi - s < 10 && *semi != ';') {
        semi++;
    }

    if (semi == end || *semi != ';' || semi == s) {
        *dst++ = *(*src)++;
        return dst;
    }

    n = semi - s;
    cp = 0;

    if (*s == '#') {
        if (n > 1 && (s[1] == 'x' || s[1] == 'X')) {
            for (i = 2; i < n && isxdigit(s[i]); i++) {
                cp = cp * 16 + (isdigit(s[i]) ? s[i] - '0'
                                              : (s[i] | 0x20) - 'a' + 10);
            }

        } else {
            for (i = 1; i < n && isdigit(s[i]); i++) {
                cp = cp * 10 + (s[i] - '0');
            }
        }

        if (i != n || i < 2 || cp == 0 || cp > 0x10ffff
            || (cp >= 0xd800 && cp <= 0xdfff))
        {
            cp = 0;
        }

    } else {
        for (i = 0; named[i].name; i++) {
            if (strlen(named[i].name) == n
                && strncmp((const char *) s, named[i].name, n) == 0)
            {
                cp = named[i].cp;
                break;
            }
        }
    }

    if (cp == 0) {
        *dst++ = *(*src)++;
        return dst;
    }

    *src = semi + 1;

    /* UTF-8: never longer than the entity ("&#N;" is 4 bytes at least,
     * 4-byte characters take "&#65536;") */
    if (cp < 0x80) {
        *dst++ = (unsigned char) cp;

    } else if (cp < 0x800) {
        *dst++ = (unsigned char) (0xc0 | (cp >> 6));
        *dst++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else if (cp < 0x10000) {
        *dst++ = (unsigned char) (0xe0 | (cp >> 12));
        *dst++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *dst++ = (unsigned char) (0x80 | (cp & 0x3f));

    } else {
        *dst++ = (unsigned char) (0xf0 | (cp >> 18));
        *dst++ = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        *dst++ = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        *dst++ = (unsigned char) (0x80 | (cp & 0x3f));
    }

    return dst;
}


unsigned char *
fedi_filter_literal(unsigned char *dst, const unsigned char *kw, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (kw[i] < 0x80 && !isalnum(kw[i])) {
            *dst++ = '\\';
        }

        *dst++ = kw[i];
    }

    return dst;
}
