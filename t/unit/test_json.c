/*
 * The JSON writer: structure, escaping of every class of character,
 * invalid UTF-8, numbers, chunk boundaries, misuse.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_json.h"


static int     n, failed;
static void   *chunks[4096];
static size_t  nchunks;


static void *
test_alloc(void *ctx, size_t size)
{
    void  *p = malloc(size);

    if (p && nchunks < 4096) {
        chunks[nchunks++] = p;
    }

    return p;
}


static char *
out(fedi_json_t *j)
{
    long         len;
    static char  buf[1 << 20];

    len = fedi_json_flatten(j, (unsigned char *) buf, sizeof(buf) - 1);
    buf[len < 0 ? 0 : len] = '\0';

    while (nchunks) {
        free(chunks[--nchunks]);
    }

    return len < 0 ? NULL : buf;
}


static void
is(const char *got, const char *want, const char *name)
{
    n++;

    if (got && strcmp(got, want) == 0) {
        printf("ok %d - %s\n", n, name);

    } else {
        failed++;
        printf("not ok %d - %s\n#   got:  %s\n#   want: %s\n", n, name,
               got ? got : "(error)", want);
    }
}


static void
ok(int cond, const char *name)
{
    n++;
    printf("%sok %d - %s\n", cond ? "" : "not ", n, name);
    failed += !cond;
}


static const char *
str(const char *s, size_t len)
{
    fedi_json_t  j;

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_str(&j, (const unsigned char *) s, len);

    return out(&j);
}


int
main(void)
{
    char         *big, *res;
    size_t        i;
    json_t       *v;
    fedi_json_t   j;

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_kcstr(&j, "a", "b");
    fedi_json_kint(&j, "n", 42);
    fedi_json_kbool(&j, "t", 1);
    fedi_json_kbool(&j, "f", 0);
    fedi_json_knull(&j, "z");
    fedi_json_key(&j, "l");
    fedi_json_arr_open(&j);
    fedi_json_int(&j, 1);
    fedi_json_obj_open(&j);
    fedi_json_obj_close(&j);
    fedi_json_arr_open(&j);
    fedi_json_arr_close(&j);
    fedi_json_cstr(&j, NULL);
    fedi_json_arr_close(&j);
    fedi_json_kraw(&j, "r", (const unsigned char *) "[1,2]", 5);
    fedi_json_obj_close(&j);
    is(out(&j), "{\"a\":\"b\",\"n\":42,\"t\":true,\"f\":false,\"z\":null,"
                "\"l\":[1,{},[],null],\"r\":[1,2]}", "structure and commas");

    is(str("\"\\/", 3), "\"\\\"\\\\/\"", "quote and backslash escaped");
    is(str("\n\r\t\b\f", 5), "\"\\n\\r\\t\\b\\f\"", "the short escapes");
    is(str("\x01\x1f\x7f", 3), "\"\\u0001\\u001f\\u007f\"",
       "other control characters as \\u00XX");
    is(str("a\0b", 3), "\"a\\u0000b\"", "NUL inside a string");
    is(str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98", 14),
       "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x98\"",
       "valid UTF-8 passes through");
    is(str("\xe2\x80\xa8\xe2\x80\xa9", 6), "\"\\u2028\\u2029\"",
       "U+2028 and U+2029 escaped for <script>");
    is(str("a\xff" "b", 3), "\"a\xef\xbf\xbd" "b\"", "a stray byte is U+FFFD");
    is(str("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"",
       "an overlong encoding is replaced");
    is(str("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
       "an encoded surrogate is replaced");
    is(str("\xf4\x90\x80\x80", 4),
       "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
       "beyond U+10FFFF is replaced");
    is(str("\xe2\x82", 2), "\"\xef\xbf\xbd\"",
       "a truncated sequence is one U+FFFD");
    is(str("\x80z", 2), "\"\xef\xbf\xbdz\"", "a lone continuation byte");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_int(&j, INT64_MIN);
    fedi_json_int(&j, INT64_MAX);
    fedi_json_int(&j, 0);
    fedi_json_double(&j, 1.5);
    fedi_json_double(&j, 0.1);
    fedi_json_double(&j, 1.0 / 0.0);
    fedi_json_arr_close(&j);
    is(out(&j), "[-9223372036854775808,9223372036854775807,0,1.5,0.1,null]",
       "integers exact, doubles short, infinity null");

    /* a string far larger than a chunk, across chunk boundaries */
    big = malloc(100001);
    for (i = 0; i < 100000; i++) {
        big[i] = (i % 97 == 0) ? '"' : 'a' + i % 26;
    }
    big[100000] = '\0';

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_kcstr(&j, "big", big);
    fedi_json_obj_close(&j);
    res = out(&j);
    v = res ? json_loads(res, 0, NULL) : NULL;
    ok(v && strcmp(json_string_value(json_object_get(v, "big")), big) == 0,
       "100 KB with quotes round-trips through jansson");
    json_decref(v);
    free(big);

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_close(&j);
    ok(j.error, "closing what was not opened is an error");
    (void) out(&j);

    fedi_json_init(&j, test_alloc, NULL);
    for (i = 0; i < FEDI_JSON_MAX_DEPTH + 1; i++) {
        fedi_json_arr_open(&j);
    }
    ok(j.error, "nesting deeper than the limit is an error");
    ok(out(&j) == NULL, "and flattening refuses it");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_key(&j, "k");
    ok(j.error, "a key inside an array is an error");
    (void) out(&j);

    printf("1..%d\n", n);

    return failed ? 1 : 0;
}
