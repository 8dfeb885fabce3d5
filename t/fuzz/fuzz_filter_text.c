/*
 * A status's HTML made plain for filters: whatever the bytes, the text
 * fits in as many bytes as the HTML (the renderer's buffer relies on it),
 * and keywords escape into twice their length at most.
 */

#include <stdlib.h>
#include <string.h>

#include "fedi_filter_text.h"


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char  *out, *end;

    /* exactly size bytes: ASan reports a write past them */
    out = malloc(size ? size : 1);
    if (out == NULL) {
        return 0;
    }

    end = fedi_filter_plain(out, data, size);

    if ((size_t) (end - out) > size) {
        abort();
    }

    free(out);

    out = malloc(2 * size + 1);
    if (out == NULL) {
        return 0;
    }

    end = fedi_filter_literal(out, data, size);

    if ((size_t) (end - out) > 2 * size) {
        abort();
    }

    free(out);

    return 0;
}
