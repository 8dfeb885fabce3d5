/*
 * Text to HTML: whatever is typed, no markup gets through but ours.
 */

#include <stdlib.h>
#include <string.h>

#include "fedi_html.h"


static void *
fuzz_alloc(void *ctx, size_t size)
{
    void  **list = ctx, **p;

    p = malloc(sizeof(void *) + size);
    if (p == NULL) {
        return NULL;
    }

    p[0] = *list;
    *list = p;

    return p + 1;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    long          n, i;
    char         *out;
    void         *chunks, **p, **next;
    fedi_json_t   h;

    chunks = NULL;
    fedi_json_init(&h, fuzz_alloc, &chunks);
    fedi_text_to_html(&h, (const char *) data, size);

    out = malloc(h.size + 1);
    n = fedi_json_flatten(&h, (unsigned char *) out, h.size);
    if (n < 0) {
        abort();
    }

    out[n] = '\0';

    /* every '<' opens one of our tags */
    for (i = 0; i < n; i++) {
        if (out[i] != '<') {
            continue;
        }

        if (strncmp(out + i, "<p>", 3) && strncmp(out + i, "</p>", 4)
            && strncmp(out + i, "<br />", 6) && strncmp(out + i, "<a href=\"", 9)
            && strncmp(out + i, "</a>", 4) && strncmp(out + i, "<span class=\"", 13)
            && strncmp(out + i, "</span>", 7))
        {
            abort();
        }
    }

    free(out);

    for (p = chunks; p; p = next) {
        next = p[0];
        free(p);
    }

    return 0;
}
