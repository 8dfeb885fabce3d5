/*
 * The JSON writer: any bytes as a string value must come out as JSON that
 * parses, and valid UTF-8 must read back unchanged.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_json.h"


static void *
fuzz_alloc(void *ctx, size_t size)
{
    void  **list = ctx, **p;

    /* remember every chunk so the run frees them */
    p = malloc(sizeof(void *) + size);
    if (p == NULL) {
        return NULL;
    }

    p[0] = *list;
    *list = p;

    return p + 1;
}


static void
fuzz_free(void *list)
{
    void  **p, **next;

    for (p = list; p; p = next) {
        next = p[0];
        free(p);
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    long          n;
    char         *out;
    void         *chunks;
    json_t       *v, *s;
    fedi_json_t   j;

    chunks = NULL;
    fedi_json_init(&j, fuzz_alloc, &chunks);

    fedi_json_obj_open(&j);
    fedi_json_kstr(&j, "s", data, size);
    fedi_json_key(&j, "a");
    fedi_json_arr_open(&j);
    fedi_json_int(&j, (int64_t) size * -7919);
    fedi_json_str(&j, data, size / 2);
    fedi_json_double(&j, size ? (double) data[0] / 7.0 : 0.5);
    fedi_json_arr_close(&j);
    fedi_json_obj_close(&j);

    out = malloc(j.size + 1);
    n = fedi_json_flatten(&j, (unsigned char *) out, j.size);

    if (n < 0) {
        abort();
    }

    v = json_loadb(out, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
    if (v == NULL) {
        abort();                        /* the writer wrote bad JSON */
    }

    s = json_object_get(v, "s");
    if (!json_is_string(s)) {
        abort();
    }

    /* valid UTF-8 comes back as it went in */
    {
        json_t  *in = json_stringn((const char *) data, size);

        if (in) {
            if (json_string_length(s) != size
                || memcmp(json_string_value(s), data, size) != 0)
            {
                abort();
            }

            json_decref(in);
        }
    }

    json_decref(v);
    free(out);
    fuzz_free(chunks);

    return 0;
}
