/*
 * Remote HTML sanitized: whatever comes, no markup gets through but the
 * allow-list's; no crash, no leak.
 */

#include <stdlib.h>
#include <string.h>

#include "fedi_sanitize.h"


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char  *out;

    out = fedi_sanitize_html((const char *) data, size);

    if (out && (strstr(out, "<script") || strstr(out, "onerror")
                || strstr(out, "javascript:\"")))
    {
        abort();
    }

    free(out);

    return 0;
}
