/*
 * The JSON writer: structure and commas, escaping of every class of
 * character, invalid UTF-8 as the WHATWG decoder reads it, numbers,
 * chunk boundaries, allocation failure, misuse.  Output is read back
 * with jansson wherever that says more than a string comparison.
 */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_json.h"
#include "tap.h"
#include "utf8_ref.h"


typedef struct chunk_s  chunk_t;

struct chunk_s {
    chunk_t  *next;
};


static void *test_alloc(void *ctx, size_t size);
static void *failing_alloc(void *ctx, size_t size);
static void release(void);
static char *flat(fedi_json_t *j);
static char *str_out(const char *s, size_t len, size_t chunk_size);
static int chunks_sane(fedi_json_t *j);
static unsigned rnd(void);
static void test_structure(void);
static void test_escapes(void);
static void test_utf8(void);
static void test_random_roundtrip(void);
static void test_numbers(void);
static void test_chunks(void);
static void test_alloc_failure(void);
static void test_misuse(void);


static chunk_t   *chunks;
static size_t     nalloc;
static unsigned   seed = 12345;


/* every chunk is remembered and freed after each case */
static void *
test_alloc(void *ctx, size_t size)
{
    chunk_t  *c;

    c = malloc(sizeof(chunk_t) + size);
    if (c == NULL) {
        return NULL;
    }

    c->next = chunks;
    chunks = c;
    nalloc++;

    return c + 1;
}


/* fails after *ctx allocations */
static void *
failing_alloc(void *ctx, size_t size)
{
    size_t  *left = ctx;

    if (*left == 0) {
        return NULL;
    }

    (*left)--;

    return test_alloc(NULL, size);
}


static void
release(void)
{
    chunk_t  *c, *next;

    for (c = chunks; c; c = next) {
        next = c->next;
        free(c);
    }

    chunks = NULL;
    nalloc = 0;
}


/* the output as a C string (static, overwritten), NULL on error */
static char *
flat(fedi_json_t *j)
{
    long          len;
    static char  *buf;
    static size_t size;

    if (size < j->size + 1) {
        free(buf);
        size = j->size + 1;
        buf = malloc(size);
    }

    len = fedi_json_flatten(j, (unsigned char *) buf, size - 1);
    release();

    if (len < 0) {
        return NULL;
    }

    buf[len] = '\0';

    return buf;
}


static char *
str_out(const char *s, size_t len, size_t chunk_size)
{
    fedi_json_t  j;

    fedi_json_init(&j, test_alloc, NULL);

    if (chunk_size) {
        j.chunk_size = chunk_size;
    }

    fedi_json_str(&j, (const unsigned char *) s, len);

    return flat(&j);
}


/* each chunk within its bounds, the sizes adding up to j->size */
static int
chunks_sane(fedi_json_t *j)
{
    size_t              total;
    fedi_json_chunk_t  *ch;

    total = 0;

    for (ch = j->first; ch; ch = ch->next) {
        if (ch->last < ch->start || ch->last > ch->end) {
            return 0;
        }

        total += ch->last - ch->start;

        if (ch->next == NULL && ch != j->current) {
            return 0;
        }
    }

    return total == j->size;
}


static unsigned
rnd(void)
{
    seed = seed * 1103515245 + 12345;

    return (seed >> 16) & 0x7fff;
}


/* a cached start of an object, resumed, then continued and closed */
static void
test_resume(void)
{
    fedi_json_t  j;

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_int(&j, 1);
    fedi_json_obj_resume(&j, (const unsigned char *) "{\"a\":1", 6);
    fedi_json_kbool(&j, "b", 1);
    fedi_json_key(&j, "r");
    fedi_json_obj_resume(&j, (const unsigned char *) "{\"c\":[]", 7);
    fedi_json_obj_close(&j);
    fedi_json_obj_close(&j);
    fedi_json_obj_resume(&j, (const unsigned char *) "{\"d\":2", 6);
    fedi_json_obj_close(&j);
    fedi_json_arr_close(&j);
    is_int(j.depth, 0, "resume: depth back to 0");
    is_str(flat(&j), "[1,{\"a\":1,\"b\":true,\"r\":{\"c\":[]}},{\"d\":2}]",
           "resume: commas before and after a resumed object");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_obj_resume(&j, (const unsigned char *) "{\"a\":1", 6);
    is_int(j.error, 1, "resume: a value without its key is misuse");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_members(&j, (const unsigned char *) "\"a\":1,\"b\":[]", 12);
    fedi_json_kint(&j, "c", 2);
    fedi_json_members(&j, (const unsigned char *) "\"d\":null", 8);
    fedi_json_obj_close(&j);
    is_str(flat(&j), "{\"a\":1,\"b\":[],\"c\":2,\"d\":null}",
           "members: commas on both sides");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_members(&j, (const unsigned char *) "\"a\":1", 5);
    is_int(j.error, 1, "members: only inside an object");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_resume(&j, (const unsigned char *) "[1", 2);
    is_int(j.error, 1, "resume: only an object's start");
}


static void
test_structure(void)
{
    fedi_json_t  j;

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_kcstr(&j, "a", "b");
    fedi_json_kint(&j, "n", 42);
    fedi_json_kbool(&j, "t", 1);
    fedi_json_kbool(&j, "f", 0);
    fedi_json_knull(&j, "z");
    fedi_json_kcstr(&j, "c", NULL);
    fedi_json_key(&j, "l");
    fedi_json_arr_open(&j);
    fedi_json_int(&j, 1);
    fedi_json_obj_open(&j);
    fedi_json_obj_close(&j);
    fedi_json_arr_open(&j);
    fedi_json_arr_close(&j);
    fedi_json_cstr(&j, NULL);
    fedi_json_str(&j, (const unsigned char *) "", 0);
    fedi_json_arr_close(&j);
    fedi_json_kraw(&j, "r", (const unsigned char *) "[1,2]", 5);
    fedi_json_kstr(&j, "s", (const unsigned char *) "xyz", 2);
    fedi_json_key(&j, "o");
    fedi_json_obj_open(&j);
    fedi_json_key(&j, "p");
    fedi_json_obj_open(&j);
    fedi_json_kint(&j, "q", -1);
    fedi_json_obj_close(&j);
    fedi_json_kint(&j, "w", 2);
    fedi_json_obj_close(&j);
    fedi_json_obj_close(&j);
    is_int(j.depth, 0, "depth back to 0");

    is_str(flat(&j),
           "{\"a\":\"b\",\"n\":42,\"t\":true,\"f\":false,\"z\":null,"
           "\"c\":null,\"l\":[1,{},[],null,\"\"],\"r\":[1,2],\"s\":\"xy\","
           "\"o\":{\"p\":{\"q\":-1},\"w\":2}}",
           "structure, commas, shorthands");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_raw(&j, (const unsigned char *) "{\"x\":1}", 7);
    fedi_json_raw(&j, (const unsigned char *) "2", 1);
    fedi_json_arr_close(&j);
    is_str(flat(&j), "[{\"x\":1},2]", "raw values get commas too");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_kint(&j, "a\"b\\c\n", 1);
    fedi_json_obj_close(&j);
    is_str(flat(&j), "{\"a\\\"b\\\\c\\n\":1}", "a key is escaped all the "
           "same");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_int(&j, 7);
    is_str(flat(&j), "7", "a scalar at the top level");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_write(&j, (const unsigned char *) "<p>", 3);
    fedi_json_write(&j, (const unsigned char *) "", 0);
    fedi_json_write(&j, (const unsigned char *) "x</p>", 5);
    is_str(flat(&j), "<p>x</p>", "fedi_json_write: bytes as they are");

    fedi_json_init(&j, test_alloc, NULL);
    is_str(flat(&j), "", "nothing written: empty output");
}


static void
test_escapes(void)
{
    int          c;
    char         in[2], want[16], all[128], wall[132];
    size_t       n;
    static const char  *name[] = {
        "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005",
        "\\u0006", "\\u0007", "\\b", "\\t", "\\n", "\\u000b", "\\f", "\\r",
        "\\u000e", "\\u000f", "\\u0010", "\\u0011", "\\u0012", "\\u0013",
        "\\u0014", "\\u0015", "\\u0016", "\\u0017", "\\u0018", "\\u0019",
        "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"
    };

    for (c = 0; c < 0x20; c++) {
        in[0] = (char) c;
        snprintf(want, sizeof(want), "\"%s\"", name[c]);
        is_str(str_out(in, 1, 0), want, "control 0x%02x is %s", c, name[c]);
    }

    is_str(str_out("\x7f", 1, 0), "\"\\u007f\"", "DEL is \\u007f");
    is_str(str_out("\"", 1, 0), "\"\\\"\"", "a quote is \\\"");
    is_str(str_out("\\", 1, 0), "\"\\\\\"", "a backslash is \\\\");
    is_str(str_out("</script>/", 10, 0), "\"</script>/\"",
           "'/' and '<' are left alone");

    n = 0;

    for (c = 0x20; c < 0x7f; c++) {
        if (c != '"' && c != '\\') {
            all[n++] = (char) c;
        }
    }

    all[n] = '\0';
    snprintf(wall, sizeof(wall), "\"%s\"", all);
    is_str(str_out(all, n, 0), wall, "all other printable ASCII as it is");

    is_str(str_out("a\0b", 3, 0), "\"a\\u0000b\"", "NUL inside a string");
    is_str(str_out("x\"y\\z\n\t\x01", 8, 0),
           "\"x\\\"y\\\\z\\n\\t\\u0001\"", "escapes between plain bytes");
    is_str(str_out("\"\"\"\"\"\"\"\"\"\"", 10, 0),
           "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\"",
           "a run of escapes");
}


static void
test_utf8(void)
{
    size_t   i, n;
    char     want[256];
    json_t  *v;
    char    *out;

    static const struct {
        const char  *in;
        size_t       len;
        const char  *name;
    } valid[] = {
        { "caf\xc3\xa9", 5, "U+00E9" },
        { "\xc2\x80", 2, "U+0080, the first of two bytes" },
        { "\xdf\xbf", 2, "U+07FF, the last of two bytes" },
        { "\xe0\xa0\x80", 3, "U+0800, the first of three bytes" },
        { "\xed\x9f\xbf", 3, "U+D7FF, below the surrogates" },
        { "\xee\x80\x80", 3, "U+E000, above the surrogates" },
        { "\xef\xbf\xbd", 3, "U+FFFD itself" },
        { "\xef\xbf\xbf", 3, "U+FFFF" },
        { "\xe2\x80\xa7\xe2\x80\xaa", 6, "U+2027, U+202A: neighbours of "
          "the escaped two" },
        { "\xf0\x90\x80\x80", 4, "U+10000, the first of four bytes" },
        { "\xf4\x8f\xbf\xbf", 4, "U+10FFFF, the last code point" },
        { "\xf0\x9f\x90\x98 \xe2\x82\xac \xe6\x97\xa5\xe6\x9c\xac", 15,
          "emoji, euro sign, CJK" },
    };

    static const struct {
        const char  *in;
        size_t       len;
        const char  *want;
        const char  *name;
    } invalid[] = {
        { "\x80", 1, "\xef\xbf\xbd", "a lone continuation byte" },
        { "\xbf\x80z", 3, "\xef\xbf\xbd\xef\xbf\xbdz",
          "two stray continuation bytes: two U+FFFD" },
        { "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd",
          "overlong '/' in two bytes (C0)" },
        { "\xc1\xbf", 2, "\xef\xbf\xbd\xef\xbf\xbd", "overlong with C1" },
        { "\xe0\x80\xaf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "overlong in three bytes" },
        { "\xe0\x9f\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "overlong U+07FF in three bytes" },
        { "\xf0\x80\x80\xaf", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "overlong in four bytes" },
        { "\xf0\x8f\xbf\xbf", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "overlong U+FFFF in four bytes" },
        { "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "surrogate U+D800" },
        { "\xed\xbf\xbf", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "surrogate U+DFFF" },
        { "\xed\xa0\xbd\xed\xb2\xa9", 6,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "a CESU-8 surrogate pair" },
        { "\xf4\x90\x80\x80", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "U+110000, beyond the last code point" },
        { "\xf5\x80\x80\x80", 4,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "F5 lead byte" },
        { "\xf8\x88\x80\x80\x80", 5,
          "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
          "five-byte form" },
        { "\xfe\xff", 2, "\xef\xbf\xbd\xef\xbf\xbd", "FE and FF" },
        { "\xc3", 1, "\xef\xbf\xbd", "two-byte sequence cut at the end" },
        { "\xe2\x82", 2, "\xef\xbf\xbd",
          "three-byte sequence cut at the end: one U+FFFD" },
        { "\xf0\x9f\x90", 3, "\xef\xbf\xbd",
          "four-byte sequence cut at the end: one U+FFFD" },
        { "\xf0\x9f\x90z", 4, "\xef\xbf\xbdz",
          "four-byte sequence cut by ASCII" },
        { "\xe2\x82\xe2\x82\xac", 5, "\xef\xbf\xbd\xe2\x82\xac",
          "a cut sequence, then a whole one" },
        { "\xe2\x22", 2, "\xef\xbf\xbd\\\"",
          "a cut sequence, then a quote to escape" },
        { "\xc3\x0a", 2, "\xef\xbf\xbd\\n",
          "a cut sequence, then a newline to escape" },
        { "a\xf1\x80\x80\xe1\x80\xc2" "b\x80" "c\x80\xbf" "d", 13,
          "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "b\xef\xbf\xbd"
          "c\xef\xbf\xbd\xef\xbf\xbd" "d",
          "Unicode's table 3-8 example" },
    };

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        snprintf(want, sizeof(want), "\"%.*s\"", (int) valid[i].len,
                 valid[i].in);
        is_str(str_out(valid[i].in, valid[i].len, 0), want,
               "valid UTF-8 as it is: %s", valid[i].name);
    }

    is_str(str_out("\xe2\x80\xa8", 3, 0), "\"\\u2028\"",
           "U+2028 escaped for <script>");
    is_str(str_out("a\xe2\x80\xa9" "b", 5, 0), "\"a\\u2029b\"",
           "U+2029 escaped for <script>");

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        snprintf(want, sizeof(want), "\"%s\"", invalid[i].want);
        is_str(str_out(invalid[i].in, invalid[i].len, 0), want,
               "U+FFFD: %s", invalid[i].name);
    }

    /* and the reference decoder agrees with each expectation */
    n = 0;

    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        unsigned char  ref[64];
        size_t         len;

        len = utf8_ref_decode(ref, (const unsigned char *) invalid[i].in,
                              invalid[i].len);
        out = str_out(invalid[i].in, invalid[i].len, 0);
        v = out ? json_loads(out, JSON_DECODE_ANY, NULL) : NULL;

        if (v && json_string_length(v) == len
            && memcmp(json_string_value(v), ref, len) == 0)
        {
            n++;

        } else {
            diag("differs from the WHATWG decoder: %s", invalid[i].name);
        }

        json_decref(v);
    }

    is_int(n, sizeof(invalid) / sizeof(invalid[0]),
           "every invalid case reads back as the WHATWG decoder reads it");
}


/* random strings, biased to the interesting bytes, read back by jansson */
static void
test_random_roundtrip(void)
{
    int             round, bad_parse, bad_valid, bad_ref;
    char           *out;
    size_t          i, len, rlen;
    json_t         *v, *in;
    unsigned char   s[600], ref[1800];

    static const unsigned char  pick[] = {
        'a', ' ', '"', '\\', '\n', 0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc0, 0xc2,
        0xdf, 0xe0, 0xe2, 0x80, 0xa8, 0xa9, 0xed, 0xa0, 0xef, 0xf0, 0x90,
        0xf4, 0x8f, 0xf5, 0xff, 0x9f
    };

    bad_parse = 0;
    bad_valid = 0;
    bad_ref = 0;

    for (round = 0; round < 20000; round++) {
        len = rnd() % sizeof(s);

        for (i = 0; i < len; i++) {
            s[i] = (rnd() & 1) ? pick[rnd() % sizeof(pick)]
                               : (unsigned char) rnd();
        }

        out = str_out((char *) s, len, (round & 1) ? 7 : 0);
        v = out ? json_loads(out, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
                : NULL;

        if (!json_is_string(v)) {
            bad_parse++;
            json_decref(v);
            continue;
        }

        /* valid input reads back unchanged */
        in = json_stringn((const char *) s, len);

        if (in && !json_equal(in, v)) {
            bad_valid++;
        }

        json_decref(in);

        rlen = utf8_ref_decode(ref, s, len);

        if (json_string_length(v) != rlen
            || memcmp(json_string_value(v), ref, rlen) != 0)
        {
            bad_ref++;
        }

        json_decref(v);
    }

    is_int(bad_parse, 0, "20000 random strings: output always parses");
    is_int(bad_valid, 0, "valid UTF-8 among them reads back unchanged");
    is_int(bad_ref, 0, "all read back as the WHATWG decoder reads them");
}


static void
test_numbers(void)
{
    int           i, bad;
    char         *out, *end;
    double        d;
    fedi_json_t   j;

    static const struct {
        double       v;
        const char  *want;
    } doubles[] = {
        { 1.5, "1.5" },
        { 0.1, "0.1" },
        { -2.25, "-2.25" },
        { 100.0, "100" },
        { 0.0, "0" },
        { 1e300, "1e+300" },
        { 1e-7, "9.9999999999999995e-08" },
        { 5e-324, "4.94065645841247e-324" },
        { 123456.789, "123456.789" },
    };

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_int(&j, INT64_MIN);
    fedi_json_int(&j, INT64_MAX);
    fedi_json_int(&j, 0);
    fedi_json_int(&j, -1);
    fedi_json_int(&j, 10);
    fedi_json_int(&j, 1000000007);
    fedi_json_arr_close(&j);
    is_str(flat(&j), "[-9223372036854775808,9223372036854775807,0,-1,10,"
           "1000000007]", "integers exact, int64 extremes included");

    for (i = 0; i < (int) (sizeof(doubles) / sizeof(doubles[0])); i++) {
        fedi_json_init(&j, test_alloc, NULL);
        fedi_json_double(&j, doubles[i].v);
        out = flat(&j);

        if (strcmp(doubles[i].want, "9.9999999999999995e-08") == 0
            && out && strcmp(out, "1e-07") == 0)
        {
            /* the shorter one reads back the same: better still */
            ok(1, "double %s", out);
            continue;
        }

        is_str(out, doubles[i].want, "double %s", doubles[i].want);
    }

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_double(&j, -0.0);
    out = flat(&j);
    ok(out && (strcmp(out, "-0") == 0 || strcmp(out, "0") == 0),
       "negative zero is a number");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_double(&j, NAN);
    fedi_json_double(&j, INFINITY);
    fedi_json_double(&j, -INFINITY);
    fedi_json_arr_close(&j);
    is_str(flat(&j), "[null,null,null]", "NaN and infinities are null");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_double(&j, DBL_MAX);
    out = flat(&j);
    ok(out && strtod(out, NULL) == DBL_MAX, "DBL_MAX reads back: %s",
       out ? out : "(error)");

    /* random doubles: exact round trip, at most 17 digits */
    bad = 0;

    for (i = 0; i < 20000; i++) {
        uint64_t  bits;

        bits = (uint64_t) rnd() << 49 ^ (uint64_t) rnd() << 34
               ^ (uint64_t) rnd() << 19 ^ (uint64_t) rnd() << 4 ^ rnd();
        memcpy(&d, &bits, sizeof(d));

        if (!isfinite(d)) {
            continue;
        }

        fedi_json_init(&j, test_alloc, NULL);
        fedi_json_double(&j, d);
        out = flat(&j);

        if (out == NULL || strtod(out, &end) != d || *end != '\0'
            || strlen(out) > 24)
        {
            if (bad++ < 5) {
                diag("%.17g written as %s", d, out ? out : "(error)");
            }
        }
    }

    is_int(bad, 0, "20000 random doubles read back exactly");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_double(&j, 1.0 / 3.0);
    fedi_json_double(&j, 1e21);
    fedi_json_arr_close(&j);
    out = flat(&j);

    {
        json_t  *v = out ? json_loads(out, 0, NULL) : NULL;

        ok(v && json_real_value(json_array_get(v, 0)) == 1.0 / 3.0
           && json_number_value(json_array_get(v, 1)) == 1e21,
           "doubles read back by jansson: %s", out ? out : "(error)");
        json_decref(v);
    }
}


static void
test_chunks(void)
{
    int           bad_same, bad_sane;
    char         *big, *out, *ref;
    size_t        i, k, len, cs;
    json_t       *v;
    fedi_json_t   j;

    static const char  *pieces[] = {
        "a", "\"", "\\", "\n", "\x01", "\xc3\xa9", "\xe2\x82\xac",
        "\xf0\x9f\x90\x98", "\xe2\x80\xa8", "\xff", "\xe2\x82", "bcdefgh"
    };

    /* every chunk size from 1 to 64, a string of every kind of piece */
    big = malloc(4096);
    len = 0;

    for (i = 0; len < 3000; i++) {
        k = strlen(pieces[(i * 7) % 12]);
        memcpy(big + len, pieces[(i * 7) % 12], k);
        len += k;
    }

    out = str_out(big, len, 1 << 20);
    ref = out ? strdup(out) : NULL;
    bad_same = 0;
    bad_sane = 0;

    for (cs = 1; cs <= 64; cs++) {
        fedi_json_init(&j, test_alloc, NULL);
        j.chunk_size = cs;
        fedi_json_arr_open(&j);
        fedi_json_str(&j, (const unsigned char *) big, len);
        fedi_json_int(&j, INT64_MIN);
        fedi_json_arr_close(&j);

        if (!chunks_sane(&j)) {
            bad_sane++;
        }

        out = flat(&j);

        if (out == NULL || ref == NULL || strncmp(out + 1, ref, strlen(ref))
            || strcmp(out + 1 + strlen(ref), ",-9223372036854775808]"))
        {
            bad_same++;
        }
    }

    ok(ref != NULL, "a 3000-byte mixed string in one chunk");
    is_int(bad_sane, 0, "chunks of 1..64 bytes: each within its bounds, "
           "sizes adding up");
    is_int(bad_same, 0, "chunks of 1..64 bytes: the same output as one "
           "chunk");
    free(ref);
    free(big);

    /* 1 MB with quotes, across many default-size chunks */
    len = 1 << 20;
    big = malloc(len + 1);

    for (i = 0; i < len; i++) {
        big[i] = (i % 97 == 0) ? '"' : (char) ('a' + i % 26);
    }

    big[len] = '\0';

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_kcstr(&j, "big", big);
    fedi_json_obj_close(&j);
    ok(nalloc > 1, "a large document takes several chunks (%zu)", nalloc);
    ok(chunks_sane(&j), "and they are sane");
    ok(j.first->end - j.first->start == FEDI_JSON_CHUNK_SIZE,
       "the first chunk has the default size");
    out = flat(&j);
    v = out ? json_loads(out, 0, NULL) : NULL;
    ok(v && strcmp(json_string_value(json_object_get(v, "big")), big) == 0,
       "1 MB with quotes round-trips through jansson");
    json_decref(v);
    free(big);

    /* a string longer than a chunk in the middle of small values */
    fedi_json_init(&j, test_alloc, NULL);
    j.chunk_size = 16;
    fedi_json_arr_open(&j);

    for (i = 0; i < 100; i++) {
        fedi_json_int(&j, (int64_t) i);
        fedi_json_cstr(&j, "\xe2\x80\xa8 0123456789abcdefghijklmnop \x7f");
    }

    fedi_json_arr_close(&j);
    out = flat(&j);
    v = out ? json_loads(out, 0, NULL) : NULL;
    ok(json_array_size(v) == 200
       && strcmp(json_string_value(json_array_get(v, 199)),
                 "\xe2\x80\xa8 0123456789abcdefghijklmnop \x7f") == 0,
       "small chunks, many values: parses, strings intact");
    json_decref(v);
}


static void
test_alloc_failure(void)
{
    int           bad;
    char         *out;
    size_t        i, left, needed;
    fedi_json_t   j;

    bad = 0;
    needed = 0;

    for (i = 0; i < 12; i++) {
        left = i;
        fedi_json_init(&j, failing_alloc, &left);
        j.chunk_size = 4;
        fedi_json_obj_open(&j);
        fedi_json_kcstr(&j, "key", "a string longer than a chunk or two, "
                        "or three, or four");
        fedi_json_kint(&j, "n", 1);
        fedi_json_obj_close(&j);

        if (!j.error && needed == 0) {
            needed = i;
        }

        out = flat(&j);

        if (needed == 0 ? out != NULL
            : (out == NULL
               || strcmp(out, "{\"key\":\"a string longer than a chunk or "
                         "two, or three, or four\",\"n\":1}") != 0))
        {
            bad++;
        }
    }

    ok(needed > 3, "the document takes %zu chunks", needed);
    is_int(bad, 0, "a failed allocation at any point is an error, enough "
           "allocations give the document");
}


static void
test_misuse(void)
{
    int           i;
    size_t        size;
    fedi_json_t   j;

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_close(&j);
    ok(j.error, "closing what was not opened is an error");
    ok(flat(&j) == NULL, "and flattening refuses it");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_arr_close(&j);
    fedi_json_arr_close(&j);
    ok(j.error, "closing more than was opened is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_obj_close(&j);
    ok(j.error, "'}' for an array is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_arr_close(&j);
    ok(j.error, "']' for an object is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_key(&j, "k");
    ok(j.error, "a key inside an array is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_key(&j, "k");
    ok(j.error, "a key at the top level is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_key(&j, "k");
    fedi_json_key(&j, "l");
    ok(j.error, "two keys in a row are an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_int(&j, 1);
    ok(j.error, "a value in an object without its key is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_obj_open(&j);
    fedi_json_key(&j, "k");
    fedi_json_obj_close(&j);
    ok(j.error, "closing an object after a key is an error");
    release();

    fedi_json_init(&j, test_alloc, NULL);

    for (i = 0; i < FEDI_JSON_MAX_DEPTH; i++) {
        fedi_json_arr_open(&j);
    }

    for (i = 0; i < FEDI_JSON_MAX_DEPTH; i++) {
        fedi_json_arr_close(&j);
    }

    ok(!j.error && j.depth == 0, "%d levels are fine", FEDI_JSON_MAX_DEPTH);
    release();

    fedi_json_init(&j, test_alloc, NULL);

    for (i = 0; i < FEDI_JSON_MAX_DEPTH; i++) {
        fedi_json_obj_open(&j);
        fedi_json_key(&j, "k");
    }

    fedi_json_int(&j, 1);

    for (i = 0; i < FEDI_JSON_MAX_DEPTH; i++) {
        fedi_json_obj_close(&j);
    }

    {
        json_t  *v;
        char    *out = flat(&j);

        v = out ? json_loads(out, 0, NULL) : NULL;
        ok(v != NULL, "%d nested objects parse", FEDI_JSON_MAX_DEPTH);
        json_decref(v);
    }

    fedi_json_init(&j, test_alloc, NULL);

    for (i = 0; i < FEDI_JSON_MAX_DEPTH + 1; i++) {
        fedi_json_arr_open(&j);
    }

    ok(j.error, "nesting deeper than %d is an error", FEDI_JSON_MAX_DEPTH);
    size = j.size;
    fedi_json_cstr(&j, "more");
    fedi_json_arr_close(&j);
    fedi_json_write(&j, (const unsigned char *) "x", 1);
    ok(j.size == size, "after an error nothing more is written");
    ok(flat(&j) == NULL, "and flattening refuses it");

    fedi_json_init(&j, test_alloc, NULL);
    fedi_json_arr_open(&j);
    fedi_json_int(&j, 12345);
    fedi_json_arr_close(&j);
    {
        unsigned char  small[4];

        ok(fedi_json_flatten(&j, small, sizeof(small)) == -1,
           "flattening into a buffer too small: -1");
    }
    release();
}


int
main(void)
{
    test_structure();
    test_resume();
    test_escapes();
    test_utf8();
    test_random_roundtrip();
    test_numbers();
    test_chunks();
    test_alloc_failure();
    test_misuse();

    return done();
}
