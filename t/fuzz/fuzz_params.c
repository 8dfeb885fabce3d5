/*
 * The parameter parser.  The input is split into a body type, a query
 * and a body; whatever the bytes, the answer is an object whose strings
 * and keys are C strings, or NULL with a short printable message.  A
 * form body reads as the same text as a query does; the getters agree
 * with themselves after fedi_param_str() has printed a value in place.
 */

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_params.h"


static void on_file(void *ctx, const char *name, const char *filename,
    const char *type, size_t offset, size_t len);
static int depth_of(json_t *v);
static void check_strings(json_t *v, int json);
static void check_err(const char *err, size_t errlen);
static void check_getters(json_t *p);


static void
on_file(void *ctx, const char *name, const char *filename, const char *type,
    size_t offset, size_t len)
{
    size_t  blen = *(size_t *) ctx;

    if (name == NULL || filename == NULL || type == NULL
        || offset > blen || len > blen - offset)
    {
        abort();
    }
}


static int
depth_of(json_t *v)
{
    int          d, m;
    size_t       i;
    json_t      *e;
    const char  *k;

    m = 0;

    if (json_is_object(v)) {
        json_object_foreach(v, k, e) {
            d = depth_of(e);
            m = d > m ? d : m;
        }

        return m + 1;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            d = depth_of(e);
            m = d > m ? d : m;
        }

        return m + 1;
    }

    return 0;
}


/* every key and string is UTF-8 with no NUL: safe as a C string */
static void
check_strings(json_t *v, int json)
{
    size_t       i;
    json_t      *e;
    const char  *k;

    if (json_is_string(v)
        && strlen(json_string_value(v)) != json_string_length(v))
    {
        abort();
    }

    if (json_is_object(v)) {
        json_object_foreach(v, k, e) {
            if (k[0] == '\0' && !json) {
                abort();                /* Rack skips empty names */
            }

            check_strings(e, json);
        }
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            check_strings(e, json);
        }
    }
}


static void
check_err(const char *err, size_t errlen)
{
    size_t  i;

    if (memchr(err, '\0', errlen) == NULL) {
        abort();                        /* not terminated */
    }

    if (errlen > 1 && err[0] == '\0') {
        abort();                        /* an error says what it is */
    }

    for (i = 0; err[i]; i++) {
        if ((unsigned char) err[i] < 0x20 || err[i] == 0x7f) {
            abort();
        }
    }
}


static void
check_getters(json_t *p)
{
    int          b1, b2;
    char        *keys[16];
    size_t       i, n, k;
    int64_t      i1, i2;
    const char  *key, *v[4], *s;
    json_t      *e;

    /* the keys first: fedi_param_str() replaces values */
    n = 0;

    json_object_foreach(p, key, e) {
        if (n == 16) {
            break;
        }

        keys[n++] = strdup(key);
    }

    for (i = 0; i < n; i++) {
        b1 = fedi_param_bool(p, keys[i], -1);
        i1 = fedi_param_int(p, keys[i], -7, -1000, 1000);
        s = fedi_param_str(p, keys[i]);
        b2 = fedi_param_bool(p, keys[i], -1);
        i2 = fedi_param_int(p, keys[i], -7, -1000, 1000);

        if (b1 != b2 || i1 != i2 || i1 < -1000 || i1 > 1000) {
            abort();
        }

        if (s && s != fedi_param_str(p, keys[i])) {
            abort();                    /* the pointer must stay */
        }

        k = fedi_param_strs(p, keys[i], v, 4);

        if (k > 4) {
            abort();
        }

        while (k) {
            if (v[--k] == NULL) {
                abort();
            }
        }

        free(keys[i]);
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char                  err[256];
    size_t                q, blen, errlen;
    json_t               *p, *a, *b;
    fedi_body_type_e      type;
    const unsigned char  *query, *body;
    static const char     ct[] = "multipart/form-data; boundary=XyZ";

    if (size < 3) {
        return 0;
    }

    (void) fedi_params_body_type(data, size < 64 ? size : 64);

    type = (fedi_body_type_e) (data[0] % 5);
    errlen = (data[0] & 0x80) ? 1 + data[0] % 24 : sizeof(err);
    q = (size_t) data[1] << 8 | data[2];
    query = data + 3;
    q = q < size - 3 ? q : size - 3;
    body = query + q;
    blen = size - 3 - q;

    memset(err, 'x', sizeof(err));
    p = fedi_params_parse(query, q, body, blen, type, err, errlen);

    if (p == NULL) {
        check_err(err, errlen);
        return 0;
    }

    if (!json_is_object(p)) {
        abort();
    }

    check_strings(p, type == FEDI_BODY_JSON);

    /* each bracket level is at most an array and a hash */
    if (type != FEDI_BODY_JSON
        && depth_of(p) > 2 * (FEDI_PARAMS_MAX_DEPTH + 1) + 1)
    {
        abort();
    }

    if (type == FEDI_BODY_MULTIPART) {
        if (fedi_params_multipart(p, (const unsigned char *) ct,
                                  sizeof(ct) - 1, body, blen, on_file, &blen,
                                  err, sizeof(err))
            != 0)
        {
            check_err(err, sizeof(err));

        } else {
            check_strings(p, 0);
        }
    }

    if (type == FEDI_BODY_FORM) {
        /* a form body reads as the same text in a query does */
        a = fedi_params_parse(NULL, 0, body, blen, FEDI_BODY_FORM, err,
                              sizeof(err));
        b = fedi_params_parse(body, blen, NULL, 0, FEDI_BODY_NONE, err,
                              sizeof(err));

        if ((a == NULL) != (b == NULL) || (a && !json_equal(a, b))) {
            abort();
        }

        json_decref(a);
        json_decref(b);
    }

    check_getters(p);

    json_decref(p);

    return 0;
}
