/*
 * Copyright (C) ngx_fedi authors
 *
 * RFC 6455 frames (see fedi_ws.h).
 */


#include "fedi_ws.h"


int
fedi_ws_parse(const unsigned char *p, size_t n, size_t max,
    fedi_ws_frame_t *f, unsigned *code)
{
    size_t    need, i;
    uint64_t  len;

    if (n < 2) {
        return 0;
    }

    f->fin = (p[0] & 0x80) != 0;
    f->opcode = p[0] & 0x0f;
    f->masked = (p[1] & 0x80) != 0;
    len = p[1] & 0x7f;

    /* no extension was negotiated: the reserved bits must be zero */
    if (p[0] & 0x70) {
        *code = 1002;
        return -1;
    }

    switch (f->opcode) {

    case 0x0: case 0x1: case 0x2:
        break;

    case 0x8: case 0x9: case 0xa:
        if (!f->fin || len > 125) {
            *code = 1002;
            return -1;
        }
        break;

    default:
        *code = 1002;
        return -1;
    }

    /* a client must mask every frame (section 5.1) */
    if (!f->masked) {
        *code = 1002;
        return -1;
    }

    need = 2 + (len == 126 ? 2 : len == 127 ? 8 : 0) + 4;
    if (n < need) {
        return 0;
    }

    i = 2;

    if (len == 126) {
        len = ((uint64_t) p[2] << 8) | p[3];
        i = 4;

    } else if (len == 127) {
        len = 0;

        for (i = 2; i < 10; i++) {
            len = (len << 8) | p[i];
        }

        if (len >> 63) {
            *code = 1002;
            return -1;
        }
    }

    if (len > max) {
        *code = 1009;
        return -1;
    }

    f->mask[0] = p[i];
    f->mask[1] = p[i + 1];
    f->mask[2] = p[i + 2];
    f->mask[3] = p[i + 3];
    f->len = len;
    f->header = i + 4;

    return (int) f->header;
}


void
fedi_ws_unmask(unsigned char *p, size_t len, const unsigned char *mask,
    uint64_t off)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        p[i] ^= mask[(off + i) & 3];
    }
}


size_t
fedi_ws_header(unsigned char *out, unsigned opcode, uint64_t len)
{
    int  i;

    out[0] = (unsigned char) (0x80 | (opcode & 0x0f));

    if (len < 126) {
        out[1] = (unsigned char) len;
        return 2;
    }

    if (len < 65536) {
        out[1] = 126;
        out[2] = (unsigned char) (len >> 8);
        out[3] = (unsigned char) len;
        return 4;
    }

    out[1] = 127;

    for (i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char) (len >> (56 - 8 * i));
    }

    return 10;
}


int
fedi_ws_utf8(const unsigned char *s, size_t len)
{
    size_t    i, k, n;
    uint32_t  c, min;

    for (i = 0; i < len; /* void */) {
        c = s[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1; min = 0x80; c &= 0x1f;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2; min = 0x800; c &= 0x0f;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3; min = 0x10000; c &= 0x07;

        } else {
            return 0;
        }

        /* cut short */
        if (len - i <= n) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = (c << 6) | (s[i + k] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}
