/*
 * The WHATWG Encoding Standard's UTF-8 decoder, byte by byte as the spec
 * writes it, re-encoded as UTF-8: what a string with invalid sequences
 * should read as once each maximal invalid subpart is one U+FFFD.  A
 * reference for t/unit/test_json.c and t/fuzz/fuzz_json.c, written
 * apart from the writer's own scanner on purpose.
 */

#ifndef _UTF8_REF_H_INCLUDED_
#define _UTF8_REF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* the fuzzer keeps coverage instrumentation out of its reference */
#ifndef UTF8_REF_ATTR
#define UTF8_REF_ATTR
#endif


static inline size_t utf8_ref_put(unsigned char *out, uint32_t cp)
    UTF8_REF_ATTR;
static inline size_t utf8_ref_decode(unsigned char *out,
    const unsigned char *in, size_t len) UTF8_REF_ATTR;


static inline size_t
utf8_ref_put(unsigned char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char) cp;
        return 1;
    }

    if (cp < 0x800) {
        out[0] = (unsigned char) (0xc0 | cp >> 6);
        out[1] = (unsigned char) (0x80 | (cp & 0x3f));
        return 2;
    }

    if (cp < 0x10000) {
        out[0] = (unsigned char) (0xe0 | cp >> 12);
        out[1] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char) (0x80 | (cp & 0x3f));
        return 3;
    }

    out[0] = (unsigned char) (0xf0 | cp >> 18);
    out[1] = (unsigned char) (0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char) (0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char) (0x80 | (cp & 0x3f));
    return 4;
}


/* out needs 3 * len bytes; returns the bytes written */
static inline size_t
utf8_ref_decode(unsigned char *out, const unsigned char *in, size_t len)
{
    size_t         i, n;
    uint32_t       cp;
    unsigned int   needed, seen, lower, upper, b;

    n = 0;
    cp = 0;
    needed = 0;
    seen = 0;
    lower = 0x80;
    upper = 0xbf;

    for (i = 0; i < len; i++) {
        b = in[i];

        if (needed == 0) {
            if (b <= 0x7f) {
                n += utf8_ref_put(out + n, b);

            } else if (b >= 0xc2 && b <= 0xdf) {
                needed = 1;
                cp = b & 0x1f;

            } else if (b >= 0xe0 && b <= 0xef) {
                if (b == 0xe0) {
                    lower = 0xa0;
                }

                if (b == 0xed) {
                    upper = 0x9f;
                }

                needed = 2;
                cp = b & 0xf;

            } else if (b >= 0xf0 && b <= 0xf4) {
                if (b == 0xf0) {
                    lower = 0x90;
                }

                if (b == 0xf4) {
                    upper = 0x8f;
                }

                needed = 3;
                cp = b & 0x7;

            } else {
                n += utf8_ref_put(out + n, 0xfffd);
            }

            continue;
        }

        if (b < lower || b > upper) {
            /* an error, and the byte is read again ("prepended") */
            cp = 0;
            needed = 0;
            seen = 0;
            lower = 0x80;
            upper = 0xbf;
            n += utf8_ref_put(out + n, 0xfffd);
            i--;
            continue;
        }

        lower = 0x80;
        upper = 0xbf;
        cp = cp << 6 | (b & 0x3f);

        if (++seen == needed) {
            n += utf8_ref_put(out + n, cp);
            cp = 0;
            needed = 0;
            seen = 0;
        }
    }

    if (needed) {
        n += utf8_ref_put(out + n, 0xfffd);
    }

    return n;
}


#endif /* _UTF8_REF_H_INCLUDED_ */
