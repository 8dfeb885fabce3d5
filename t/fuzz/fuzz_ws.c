/*
 * WebSocket frames: the parser over arbitrary bytes, as the server reads
 * them (a stream of frames in a bounded buffer).  A parsed header must
 * lie within the input and respect the cap, control frames must be
 * short and final, and an accepted text payload is checked for UTF-8
 * without reading past it.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_ws.h"


#define FUZZ_MAX  16384


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc;
    size_t           off, used;
    unsigned         code;
    unsigned char   *buf;
    fedi_ws_frame_t  f;

    buf = malloc(size ? size : 1);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);

    for (off = 0; off < size; off += used) {
        code = 0;
        rc = fedi_ws_parse(buf + off, size - off, FUZZ_MAX, &f, &code);

        if (rc < 0) {
            if (code < 1000 || code > 1011) {
                abort();
            }
            break;
        }

        if (rc == 0) {
            break;
        }

        if ((size_t) rc != f.header || f.header > size - off
            || f.len > FUZZ_MAX || !f.masked)
        {
            abort();
        }

        if (f.opcode >= 8 && (!f.fin || f.len > 125)) {
            abort();
        }

        if (f.len > size - off - f.header) {
            break;
        }

        fedi_ws_unmask(buf + off + f.header, (size_t) f.len, f.mask, 0);
        (void) fedi_ws_utf8(buf + off + f.header, (size_t) f.len);

        used = f.header + (size_t) f.len;
    }

    free(buf);

    return 0;
}
