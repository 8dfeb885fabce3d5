/*
 * The JSON writer, two ways over the same input.
 *
 * 1. The bytes as a string value, whole and in two halves, in chunks of
 *    the default size or of a few bytes: the output must parse, read back
 *    as the WHATWG decoder reads the bytes (so valid UTF-8 unchanged),
 *    and hold no raw control character, DEL, U+2028 or U+2029.
 *
 * 2. The bytes as commands (open, close, key, string, number, ...): a
 *    jansson document is built alongside as the model.  A command that
 *    misuses the writer must set its error; otherwise there is none, and
 *    the output parses to a document equal to the model.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_json.h"

/* coverage is the writer's: the checks' own branches are not explored */
#define FUZZ_CHECK     __attribute__((no_sanitize("coverage")))
#define UTF8_REF_ATTR  FUZZ_CHECK

#include "utf8_ref.h"


#define FUZZ_DEPTH  (FEDI_JSON_MAX_DEPTH + 2)


typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
} input_t;


static void *fuzz_alloc(void *ctx, size_t size);
static void fuzz_free(void *list);
static json_t *output(fedi_json_t *j, void *chunks) FUZZ_CHECK;
static int input_byte(input_t *in);
static size_t input_bytes(input_t *in, const unsigned char **s);
static int same(json_t *a, json_t *b) FUZZ_CHECK;
static void check_string(const unsigned char *data, size_t size,
    size_t chunk_size);
static void check_commands(const unsigned char *data, size_t size);


static void *
fuzz_alloc(void *ctx, size_t size)
{
    void  **list = ctx, **p;

    /* every chunk is remembered so the run frees them */
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


/* the output, checked byte by byte and parsed; frees the chunks */
static json_t *
output(fedi_json_t *j, void *chunks)
{
    long            n, i;
    json_t         *v;
    unsigned char  *out;

    out = malloc(j->size + 1);
    n = fedi_json_flatten(j, out, j->size);
    fuzz_free(chunks);

    if (n < 0 || (size_t) n != j->size) {
        abort();
    }

    for (i = 0; i < n; i++) {
        if (out[i] < 0x20 || out[i] == 0x7f
            || (i + 2 < n && out[i] == 0xe2 && out[i + 1] == 0x80
                && (out[i + 2] == 0xa8 || out[i + 2] == 0xa9)))
        {
            abort();                    /* unsafe in a <script> */
        }
    }

    v = json_loadb((char *) out, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    free(out);

    if (v == NULL) {
        abort();                        /* the writer wrote bad JSON */
    }

    return v;
}


static void
check_string(const unsigned char *data, size_t size, size_t chunk_size)
{
    void           *chunks;
    size_t          half, rlen;
    json_t         *v, *s, *s2, *in;
    fedi_json_t     j;
    unsigned char  *ref;

    chunks = NULL;
    fedi_json_init(&j, fuzz_alloc, &chunks);

    if (chunk_size) {
        j.chunk_size = chunk_size;
    }

    half = size / 2;

    fedi_json_obj_open(&j);
    fedi_json_kstr(&j, "s", data, size);
    fedi_json_key(&j, "a");
    fedi_json_arr_open(&j);
    fedi_json_str(&j, data, half);
    fedi_json_str(&j, data + half, size - half);
    fedi_json_arr_close(&j);
    fedi_json_obj_close(&j);

    if (j.error || j.depth != 0) {
        abort();
    }

    v = output(&j, chunks);

    s = json_object_get(v, "s");
    if (!json_is_string(s)) {
        abort();
    }

    /* every invalid sequence is one U+FFFD, as the WHATWG decoder says */
    ref = malloc(3 * size + 1);
    rlen = utf8_ref_decode(ref, data, size);

    if (json_string_length(s) != rlen
        || memcmp(json_string_value(s), ref, rlen) != 0)
    {
        abort();
    }

    free(ref);

    /* valid UTF-8 comes back as it went in */
    in = json_stringn((const char *) data, size);

    if (in && !json_equal(in, s)) {
        abort();
    }

    json_decref(in);

    s2 = json_array_get(json_object_get(v, "a"), 1);
    if (!json_is_string(s2)) {
        abort();
    }

    json_decref(v);
}


static int
input_byte(input_t *in)
{
    return in->p < in->end ? *in->p++ : 0;
}


/* a length byte and that many bytes (fewer at the end) */
static size_t
input_bytes(input_t *in, const unsigned char **s)
{
    size_t  n;

    n = (size_t) input_byte(in);

    if (n > (size_t) (in->end - in->p)) {
        n = in->end - in->p;
    }

    *s = in->p;
    in->p += n;

    return n;
}


/* equal documents; numbers by value (1.0 may come back as 1) */
static int
same(json_t *a, json_t *b)
{
    size_t       i;
    json_t      *va, *vb;
    const char  *k;

    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            return json_integer_value(a) == json_integer_value(b);
        }

        return json_number_value(a) == json_number_value(b);
    }

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }

    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }

        json_array_foreach(a, i, va) {
            if (!same(va, json_array_get(b, i))) {
                return 0;
            }
        }

        return 1;
    }

    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }

        json_object_foreach(a, k, va) {
            vb = json_object_get(b, k);

            if (vb == NULL || !same(va, vb)) {
                return 0;
            }
        }

        return 1;
    }

    return json_equal(a, b);
}


static void
check_commands(const unsigned char *data, size_t size)
{
    int                   op, depth, misuse, obj;
    char                  key[257], pkey[3 * 256 + 1], *pending;
    void                 *chunks;
    double                d;
    size_t                n, i;
    json_t               *stack[FUZZ_DEPTH], *val, *doc, *got;
    int64_t               iv;
    input_t               in;
    fedi_json_t           j;
    unsigned char         ref[3 * 256 + 1];
    const unsigned char  *s;

    in.p = data;
    in.end = data + size;

    chunks = NULL;
    fedi_json_init(&j, fuzz_alloc, &chunks);
    j.chunk_size = 1 + (size % 61);

    /* a top-level array, the model beside it */
    fedi_json_arr_open(&j);
    doc = json_array();
    stack[0] = doc;
    depth = 1;
    pending = NULL;
    misuse = 0;

    while (in.p < in.end && !misuse) {
        op = input_byte(&in) % 14;
        obj = json_is_object(stack[depth - 1]);
        val = NULL;

        switch (op) {

        case 0:                         /* { */
        case 1:                         /* [ */
            if ((obj && pending == NULL) || depth >= FEDI_JSON_MAX_DEPTH) {
                misuse = 1;
            }

            if (op == 0) {
                fedi_json_obj_open(&j);

            } else {
                fedi_json_arr_open(&j);
            }

            if (misuse) {
                break;
            }

            val = op == 0 ? json_object() : json_array();
            break;

        case 2:                         /* } */
        case 3:                         /* ] */
            if (depth == 1) {
                continue;               /* the top level stays open */
            }

            if (pending || obj != (op == 2)) {
                misuse = 1;
            }

            if (op == 2) {
                fedi_json_obj_close(&j);

            } else {
                fedi_json_arr_close(&j);
            }

            if (!misuse) {
                depth--;
            }

            continue;

        case 4:                         /* a key */
            n = input_bytes(&in, &s);

            for (i = 0; i < n; i++) {
                key[i] = s[i] ? (char) s[i] : 'x';
            }

            key[n] = '\0';

            if (!obj || pending) {
                misuse = 1;
            }

            fedi_json_key(&j, key);

            if (!misuse) {
                /* the key reads back as the decoder reads it */
                n = utf8_ref_decode((unsigned char *) pkey,
                                    (unsigned char *) key, n);
                pkey[n] = '\0';
                pending = pkey;
            }

            continue;

        case 5:                         /* a string */
        case 6:
            n = input_bytes(&in, &s);
            fedi_json_str(&j, s, n);
            n = utf8_ref_decode(ref, s, n);
            val = json_stringn((char *) ref, n);
            break;

        case 7:                         /* an integer */
            iv = 0;

            for (i = 0; i < 8; i++) {
                iv = (int64_t) ((uint64_t) iv << 8 | input_byte(&in));
            }

            fedi_json_int(&j, iv);
            val = json_integer(iv);
            break;

        case 8:                         /* a double */
            iv = 0;

            for (i = 0; i < 8; i++) {
                iv = (int64_t) ((uint64_t) iv << 8 | input_byte(&in));
            }

            memcpy(&d, &iv, sizeof(d));
            fedi_json_double(&j, d);
            val = isfinite(d) ? json_real(d) : json_null();
            break;

        case 9:
            fedi_json_null(&j);
            val = json_null();
            break;

        case 10:
            n = input_byte(&in) & 1;
            fedi_json_bool(&j, (int) n);
            val = json_boolean(n);
            break;

        case 11:
            fedi_json_raw(&j, (const unsigned char *) "[1,{\"r\":\"\"}]", 12);
            val = json_pack("[i{ss}]", 1, "r", "");
            break;

        case 12:                        /* a C string or NULL */
            n = input_bytes(&in, &s);
            memcpy(key, s, n);
            key[n] = '\0';
            fedi_json_cstr(&j, (n & 1) ? NULL : key);

            if (n & 1) {
                val = json_null();

            } else {
                n = utf8_ref_decode(ref, (unsigned char *) key, strlen(key));
                val = json_stringn((char *) ref, n);
            }

            break;

        default:                        /* a key and an integer at once */
            if (!obj || pending) {
                misuse = 1;
            }

            fedi_json_kint(&j, "k", (int64_t) size);

            if (!misuse) {
                json_object_set_new(stack[depth - 1], "k",
                                    json_integer((int64_t) size));
            }

            continue;
        }

        if (val == NULL) {
            break;
        }

        if (obj && pending == NULL) {
            misuse = 1;                 /* a value with no key */
            json_decref(val);
            break;
        }

        if (obj) {
            json_object_set(stack[depth - 1], pending, val);
            pending = NULL;

        } else {
            json_array_append(stack[depth - 1], val);
        }

        if (op <= 1) {
            stack[depth++] = val;       /* opened, now the innermost */
        }

        json_decref(val);

        if (j.error) {
            abort();                    /* no misuse, yet an error */
        }
    }

    if (misuse) {
        if (!j.error) {
            abort();                    /* misuse must set the error */
        }

        json_decref(doc);
        fuzz_free(chunks);
        return;
    }

    /* finish: a pending key gets null, everything open is closed */
    if (pending) {
        fedi_json_null(&j);
        json_object_set_new(stack[depth - 1], pending, json_null());
    }

    while (depth > 0) {
        depth--;

        if (json_is_object(stack[depth])) {
            fedi_json_obj_close(&j);

        } else {
            fedi_json_arr_close(&j);
        }
    }

    if (j.error || j.depth != 0) {
        abort();
    }

    got = output(&j, chunks);

    if (!same(doc, got)) {
        abort();                        /* not what was written */
    }

    json_decref(got);
    json_decref(doc);
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    check_string(data, size, (size & 1) ? 1 + size % 13 : 0);
    check_commands(data, size);

    return 0;
}
