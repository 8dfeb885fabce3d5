/*
 * Parameters as Mastodon (Rails/Rack) reads them: Content-Type, query,
 * form, JSON and multipart bodies, Rack's nested keys and their quirks,
 * conflicts, limits, and the getters (Rails' booleans among them).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_params.h"
#include "tap.h"


typedef struct {
    int     n;
    char    name[64];
    char    filename[64];
    char    type[64];
    size_t  offset;
    size_t  len;
} files_t;


static json_t *parse(const char *q, const char *body, fedi_body_type_e t);
static int multipart(json_t *p, const char *ct, const char *body,
    files_t *f);
static int same(json_t *got, const char *want);
static void parses(const char *q, const char *want, const char *name);
static void refused(const char *q, const char *body, fedi_body_type_e t,
    const char *err_want, const char *name);
static void on_file(void *ctx, const char *name, const char *filename,
    const char *type, size_t offset, size_t len);
static char *repeat(const char *s, size_t n);
static void test_body_type(void);
static void test_unescape(void);
static void test_query(void);
static void test_rails_keys(void);
static void test_conflicts_and_limits(void);
static void test_bodies(void);
static void test_json_errors(void);
static void test_multipart(void);
static void test_bool(void);
static void test_str_int(void);
static void test_strs(void);


static char  err[256];


static json_t *
parse(const char *q, const char *body, fedi_body_type_e t)
{
    return fedi_params_parse((const unsigned char *) q, q ? strlen(q) : 0,
                             (const unsigned char *) body,
                             body ? strlen(body) : 0, t, err, sizeof(err));
}


/* got equals the JSON want; prints got when not */
static int
same(json_t *got, const char *want)
{
    int      eq;
    char    *s;
    json_t  *w;

    w = json_loads(want, 0, NULL);
    if (w == NULL) {
        diag("bad expectation: %s", want);
    }

    eq = got && w && json_equal(got, w);

    if (!eq) {
        if (got) {
            s = json_dumps(got, JSON_SORT_KEYS);
            diag("got:  %s", s);
            free(s);

        } else {
            diag("got:  NULL (%s)", err);
        }

        diag("want: %s", want);
    }

    json_decref(w);

    return eq;
}


static int
multipart(json_t *p, const char *ct, const char *body, files_t *f)
{
    return fedi_params_multipart(p, (const unsigned char *) ct, strlen(ct),
                                 (const unsigned char *) body, strlen(body),
                                 f ? on_file : NULL, f, err, sizeof(err));
}


static void
parses(const char *q, const char *want, const char *name)
{
    json_t  *p;

    p = parse(q, NULL, FEDI_BODY_NONE);
    ok(same(p, want), "%s: %s", name, q);
    json_decref(p);
}


static void
refused(const char *q, const char *body, fedi_body_type_e t,
    const char *err_want, const char *name)
{
    json_t  *p;

    strcpy(err, "(unset)");
    p = parse(q, body, t);

    if (!ok(p == NULL && strstr(err, err_want) != NULL, "%s", name)) {
        diag("err: %s", err);
    }

    json_decref(p);
}


static void
on_file(void *ctx, const char *name, const char *filename, const char *type,
    size_t offset, size_t len)
{
    files_t  *f = ctx;

    f->n++;
    snprintf(f->name, sizeof(f->name), "%s", name);
    snprintf(f->filename, sizeof(f->filename), "%s", filename);
    snprintf(f->type, sizeof(f->type), "%s", type);
    f->offset = offset;
    f->len = len;
}


/* s n times, malloc'd */
static char *
repeat(const char *s, size_t n)
{
    char    *r;
    size_t   i, len;

    len = strlen(s);
    r = malloc(len * n + 1);

    for (i = 0; i < n; i++) {
        memcpy(r + i * len, s, len);
    }

    r[len * n] = '\0';

    return r;
}


static void
test_body_type(void)
{
    size_t  i;

    static const struct {
        const char        *ct;
        fedi_body_type_e   want;
    } types[] = {
        { "application/json", FEDI_BODY_JSON },
        { "application/json; charset=utf-8", FEDI_BODY_JSON },
        { "application/json;charset=UTF-8", FEDI_BODY_JSON },
        { "Application/JSON", FEDI_BODY_JSON },
        { "application/activity+json", FEDI_BODY_JSON },
        { "application/ld+json; profile=\"https://www.w3.org/ns/"
          "activitystreams\"", FEDI_BODY_JSON },
        { "application/jrd+json", FEDI_BODY_JSON },
        { "APPLICATION/ACTIVITY+JSON", FEDI_BODY_JSON },
        { "application/json-patch", FEDI_BODY_OTHER },
        { "application/jsonx", FEDI_BODY_OTHER },
        { "application/+json", FEDI_BODY_OTHER },
        { "+json", FEDI_BODY_OTHER },
        { "application/x-www-form-urlencoded", FEDI_BODY_FORM },
        { "application/x-www-form-urlencoded; charset=UTF-8",
          FEDI_BODY_FORM },
        { "APPLICATION/X-WWW-FORM-URLENCODED", FEDI_BODY_FORM },
        { "application/x-www-form-urlencodedx", FEDI_BODY_OTHER },
        { "multipart/form-data; boundary=abc", FEDI_BODY_MULTIPART },
        { "Multipart/Form-Data;boundary=abc", FEDI_BODY_MULTIPART },
        { "multipart/mixed; boundary=abc", FEDI_BODY_OTHER },
        { "text/plain", FEDI_BODY_OTHER },
        { "image/png", FEDI_BODY_OTHER },
        { "", FEDI_BODY_NONE },
        { "; charset=utf-8", FEDI_BODY_NONE },
    };

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        is_int(fedi_params_body_type((const unsigned char *) types[i].ct,
                                     strlen(types[i].ct)),
               types[i].want, "Content-Type \"%s\"", types[i].ct);
    }

    is_int(fedi_params_body_type(NULL, 0), FEDI_BODY_NONE,
           "no Content-Type");
    is_int(fedi_params_body_type((const unsigned char *) "application/json",
                                 11), FEDI_BODY_OTHER,
           "the length is respected (\"application\")");
}


static void
test_unescape(void)
{
    size_t          i, n;
    unsigned char   out[64];

    static const struct {
        const char  *in;
        const char  *want;
    } cases[] = {
        { "a+b", "a b" },
        { "%41%42%43", "ABC" },
        { "%e2%82%AC", "\xe2\x82\xac" },
        { "%2B+%2b", "+ +" },
        { "%", "%" },
        { "%4", "%4" },
        { "%zz", "%zz" },
        { "%4g", "%4g" },
        { "%%41", "%A" },
        { "100%", "100%" },
        { "a%2", "a%2" },
        { "%25", "%" },
        { "", "" },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n = fedi_params_unescape(out, (const unsigned char *) cases[i].in,
                                 strlen(cases[i].in));
        out[n] = '\0';
        is_str((char *) out, cases[i].want, "unescape \"%s\"", cases[i].in);
    }

    n = fedi_params_unescape(out, (const unsigned char *) "a%00b", 5);
    ok(n == 3 && memcmp(out, "a\0b", 3) == 0, "unescape %%00 is a NUL");
}


static void
test_query(void)
{
    parses("a=1&b=x+y%21", "{\"a\":\"1\",\"b\":\"x y!\"}",
           "plus is a space, percent-decoding");
    parses("a", "{\"a\":null}", "a name alone is null, as in Rack");
    parses("a=", "{\"a\":\"\"}", "an empty value is an empty string");
    parses("a==b", "{\"a\":\"=b\"}", "only the first '=' separates");
    parses("a=1&a=2", "{\"a\":\"2\"}", "the last of a name wins");
    parses("&&a=1&&", "{\"a\":\"1\"}", "empty pairs are skipped");
    parses("=x&b=1", "{\"b\":\"1\"}", "a pair without a name is skipped");
    parses("a=1;b=2", "{\"a\":\"1;b=2\"}", "';' is no separator (Rack 3)");
    parses("a=1& b=2&  c=3", "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}",
           "spaces after '&' go, as Rack splits on /& */");
    parses(" a=1", "{\" a\":\"1\"}", "a space at the very start stays");
    parses("a%20b=c&d+e=f", "{\"a b\":\"c\",\"d e\":\"f\"}",
           "names are decoded too");
    parses("a=%zz%4&b=%", "{\"a\":\"%zz%4\",\"b\":\"%\"}",
           "broken escapes are kept literally");
    parses("a%3D=b%26", "{\"a=\":\"b&\"}", "escaped '=' and '&'");
    parses("q=%C3%A9t%C3%A9", "{\"q\":\"\xc3\xa9t\xc3\xa9\"}",
           "UTF-8 in escapes");
    parses("q=\xc3\xa9", "{\"q\":\"\xc3\xa9\"}", "raw UTF-8");
    parses("", "{}", "an empty query");

    refused("a=%FF", NULL, FEDI_BODY_NONE, "not UTF-8",
            "an invalid UTF-8 value is refused");
    refused("a=%C0%AF", NULL, FEDI_BODY_NONE, "not UTF-8",
            "an overlong value is refused");
    refused("a=%ED%A0%80", NULL, FEDI_BODY_NONE, "not UTF-8",
            "an encoded surrogate is refused");
    refused("%FF=1", NULL, FEDI_BODY_NONE, "Invalid parameter name",
            "an invalid UTF-8 name is refused");
    refused("a=x%00y", NULL, FEDI_BODY_NONE, "NUL",
            "a NUL byte in a value is refused");
    refused("a%00b=1", NULL, FEDI_BODY_NONE, "Invalid parameter name",
            "a NUL byte in a name is refused");
}


static void
test_rails_keys(void)
{
    parses("a[]=1&a[]=2", "{\"a\":[\"1\",\"2\"]}", "a[]");
    parses("a[b]=1&a[c]=2", "{\"a\":{\"b\":\"1\",\"c\":\"2\"}}", "a[b]");
    parses("a[b][c]=1", "{\"a\":{\"b\":{\"c\":\"1\"}}}", "a[b][c]");
    parses("poll[options][]=x&poll[options][]=y&poll[expires_in]=60",
           "{\"poll\":{\"options\":[\"x\",\"y\"],\"expires_in\":\"60\"}}",
           "poll[options][]");
    parses("fields_attributes[0][name]=n&fields_attributes[0][value]=v"
           "&fields_attributes[1][name]=m",
           "{\"fields_attributes\":{\"0\":{\"name\":\"n\",\"value\":\"v\"},"
           "\"1\":{\"name\":\"m\"}}}", "fields_attributes[0][name]");
    parses("a%5B%5D=1&a%5B%5D=2", "{\"a\":[\"1\",\"2\"]}",
           "escaped brackets are brackets");
    parses("m[][a]=1&m[][b]=2&m[][a]=3",
           "{\"m\":[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\"}]}",
           "a[][x]: a new hash when the last has x");
    parses("m[][a][b]=1&m[][a][c]=2&m[][a][b]=3",
           "{\"m\":[{\"a\":{\"b\":\"1\",\"c\":\"2\"}},{\"a\":{\"b\":\"3\"}}]}",
           "a[][x][y]: the whole path decides");
    parses("m[][a][]=1&m[][a][]=2", "{\"m\":[{\"a\":[\"1\",\"2\"]}]}",
           "a[][x][]: into the last hash (Rack: a path with [] is never "
           "there)");
    parses("a[][]=1&a[][]=2", "{\"a\":[[\"1\"],[\"2\"]]}", "a[][]");
    parses("a[]b=1", "{\"a\":[{\"b\":\"1\"}]}", "a[]b");
    parses("a[b]c=1", "{\"a\":{\"b\":{\"c\":\"1\"}}}", "a[b]c (Rack)");
    parses("a[b]c[d]=1", "{\"a\":{\"b\":{\"c[d]\":\"1\"}}}",
           "a[b]c[d] (Rack)");
    parses("a[b=1", "{\"a\":{\"[b\":\"1\"}}", "an unclosed bracket (Rack)");
    parses("a[=1", "{\"a[\":\"1\"}", "a[ at the end is part of the name");
    parses("a]=1", "{\"a]\":\"1\"}", "a stray ']' is part of the name");
    parses("[a]=1", "{\"[a]\":\"1\"}", "a name starting with '['");
    parses("[a][b]=1", "{\"[a]\":{\"b\":\"1\"}}", "[a][b]");
    parses("[]=1", "{\"[]\":\"1\"}", "[] alone");
    parses("a[b]]=1", "{\"a\":{\"b\":{\"]\":\"1\"}}}", "a[b]] (Rack)");
    parses("a[]=1&a=2", "{\"a\":\"2\"}", "a plain value replaces an array");
    parses("a&a[b]=1", "{\"a\":{\"b\":\"1\"}}",
           "null is replaced by a hash (Rack's ||=)");
    parses("a&a[]=1", "{\"a\":[\"1\"]}",
           "null is replaced by an array (Rack's ||=)");
    parses("a[b][c][d][e][f][g][h][i]=1",
           "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"g\":{\"h\":"
           "{\"i\":\"1\"}}}}}}}}}", "8 levels of nesting are fine");
    parses("a[\xc3\xa9][]=\xe2\x82\xac",
           "{\"a\":{\"\xc3\xa9\":[\"\xe2\x82\xac\"]}}", "UTF-8 in nested names");
}


static void
test_conflicts_and_limits(void)
{
    char  *q, *q2;

    refused("a=1&a[b]=2", NULL, FEDI_BODY_NONE,
            "expected Hash (got String) for param `a'",
            "a=1&a[b]=2: Rack's message");
    refused("a[]=1&a[b]=2", NULL, FEDI_BODY_NONE,
            "expected Hash (got Array) for param `a'", "array, then hash");
    refused("a[b]=1&a[]=2", NULL, FEDI_BODY_NONE,
            "expected Array (got Hash) for param `a'", "hash, then array");
    refused("a=1&a[]=2", NULL, FEDI_BODY_NONE,
            "expected Array (got String) for param `a'",
            "string, then array");
    refused("a[b]=1&a[b][c]=2", NULL, FEDI_BODY_NONE,
            "expected Hash (got String) for param `b'", "a nested conflict");
    parses("a[]=1&a[][x]=2", "{\"a\":[\"1\",{\"x\":\"2\"}]}",
           "a[][x] after a[]= is no conflict");
    refused("a[b][c][d][e][f][g][h][i][j]=1", NULL, FEDI_BODY_NONE,
            "nested too deeply", "9 levels are too deep");
    parses("a[][][][][][][][][]=1",
           "{\"a\":[{\"[]\":[{\"[]\":[{\"[]\":[{\"[]\":[\"1\"]}]}]}]}]}",
           "a[] nine times: each level takes two (Rack)");
    refused("a[][][][][][][][][][][][][][][][][][][]=1", NULL,
            FEDI_BODY_NONE, "nested too deeply",
            "a[] nineteen times is too deep");
    refused("a[][x][][x][][x][][x][][x][][x][][x][][x][][x]=1", NULL,
            FEDI_BODY_NONE, "nested too deeply",
            "[][x] nine times is too deep");
    parses("a[][x][][x][][x][][x][][x][][x][][x][][x]=1",
           "{\"a\":[{\"x\":[{\"x\":[{\"x\":[{\"x\":[{\"x\":[{\"x\":"
           "[{\"x\":[{\"x\":\"1\"}]}]}]}]}]}]}]}]}",
           "[][x] eight times is fine");

    q = repeat("a[]=1&", FEDI_PARAMS_MAX_KEYS);
    {
        json_t  *p = parse(q, NULL, FEDI_BODY_NONE);

        ok(json_array_size(json_object_get(p, "a")) == FEDI_PARAMS_MAX_KEYS,
           "%d pairs are fine", FEDI_PARAMS_MAX_KEYS);
        json_decref(p);
    }

    q2 = malloc(strlen(q) + 8);
    sprintf(q2, "%sb=2", q);
    refused(q2, NULL, FEDI_BODY_NONE, "Too many parameters",
            "one pair more is too many");
    free(q2);
    {
        json_t  *p = parse(q, q, FEDI_BODY_FORM);

        ok(json_array_size(json_object_get(p, "a")) == FEDI_PARAMS_MAX_KEYS,
           "the limit is per part: the body has its own");
        json_decref(p);
    }

    free(q);
}


static void
test_bodies(void)
{
    json_t  *p;

    p = parse("a=1&b=2", "a=x&c[]=3", FEDI_BODY_FORM);
    ok(same(p, "{\"a\":\"1\",\"b\":\"2\",\"c\":[\"3\"]}"),
       "a form body and the query: the query wins, as in Rails");
    json_decref(p);

    p = parse("p[x]=1&q=1", "p[y]=2", FEDI_BODY_FORM);
    ok(same(p, "{\"p\":{\"x\":\"1\"},\"q\":\"1\"}"),
       "top-level keys are replaced whole, not merged");
    json_decref(p);

    p = parse("a=1&limit=5", "{\"a\":[1,{\"b\":null}],\"c\":true}",
              FEDI_BODY_JSON);
    ok(same(p, "{\"a\":\"1\",\"c\":true,\"limit\":\"5\"}"),
       "a JSON body and the query: the query wins");
    json_decref(p);

    p = parse(NULL, "{\"status\":\"caf\\u00e9 \\ud83d\\udc18\","
              "\"media_ids[]\":[\"1\",\"2\"]}", FEDI_BODY_JSON);
    ok(same(p, "{\"status\":\"caf\xc3\xa9 \xf0\x9f\x90\x98\","
               "\"media_ids[]\":[\"1\",\"2\"]}"),
       "JSON escapes and surrogate pairs; bracket names stay literal");
    json_decref(p);

    p = parse("a=1", NULL, FEDI_BODY_JSON);
    ok(same(p, "{\"a\":\"1\"}"), "an empty JSON body is no body");
    json_decref(p);

    p = parse("a=1", "", FEDI_BODY_FORM);
    ok(same(p, "{\"a\":\"1\"}"), "an empty form body is no body");
    json_decref(p);

    p = parse("a=1", "{\"a\":2}", FEDI_BODY_OTHER);
    ok(same(p, "{\"a\":\"1\"}"), "a body of another type is not read");
    json_decref(p);

    p = parse("a=1", "b=2", FEDI_BODY_NONE);
    ok(same(p, "{\"a\":\"1\"}"), "a body without a type is not read");
    json_decref(p);

    p = parse("a=1", "--x\r\n", FEDI_BODY_MULTIPART);
    ok(same(p, "{\"a\":\"1\"}"),
       "multipart is left to fedi_params_multipart");
    json_decref(p);

    refused("a[b]=1", "a=1&a[b]=2", FEDI_BODY_FORM, "expected Hash",
            "a conflict in the body");
    refused("a=%FF", "{}", FEDI_BODY_JSON, "UTF-8",
            "a bad query fails before the body");

    p = fedi_params_parse(NULL, 0, NULL, 0, FEDI_BODY_NONE, NULL, 0);
    ok(same(p, "{}"), "no query, no body, no err buffer");
    json_decref(p);
}


static void
test_json_errors(void)
{
    char         *big;
    size_t        n;
    json_t       *p;
    const char   *c;

    refused(NULL, "{\"a\":1,\"a\":2}", FEDI_BODY_JSON, "duplicate",
            "duplicate keys are refused");
    refused(NULL, "{\"a\":{\"b\":1,\"b\":2}}", FEDI_BODY_JSON, "duplicate",
            "nested duplicate keys are refused");
    refused(NULL, "{\"a\":", FEDI_BODY_JSON, "Malformed JSON: ",
            "a cut JSON body");
    ok(strstr(err, "at line 1 column") != NULL, "the error has a place: %s",
       err);
    refused(NULL, "{\"a\":1}\n{\"b\":2}", FEDI_BODY_JSON, "Malformed JSON",
            "two documents");
    refused(NULL, "{'a':1}", FEDI_BODY_JSON, "Malformed JSON",
            "single quotes");
    refused(NULL, "{\"a\":1,}", FEDI_BODY_JSON, "Malformed JSON",
            "a trailing comma");
    refused(NULL, "  ", FEDI_BODY_JSON, "Malformed JSON",
            "white space only");
    refused(NULL, "{\"a\":\"\\u0000\"}", FEDI_BODY_JSON, "Malformed JSON",
            "\\u0000 in a string");
    refused(NULL, "{\"a\":\"\xff\"}", FEDI_BODY_JSON, "Malformed JSON",
            "invalid UTF-8 in a string");
    refused(NULL, "{\"a\":99999999999999999999}", FEDI_BODY_JSON,
            "Malformed JSON", "an integer beyond int64");
    refused(NULL, "[1]", FEDI_BODY_JSON, "JSON body must be an object",
            "an array body");
    refused(NULL, "\"s\"", FEDI_BODY_JSON, "JSON body must be an object",
            "a string body");
    refused(NULL, "1", FEDI_BODY_JSON, "JSON body must be an object",
            "a number body");
    refused(NULL, "null", FEDI_BODY_JSON, "JSON body must be an object",
            "a null body");

    refused(NULL, "{\"a\":\x01\x02\x1b[31m}", FEDI_BODY_JSON, "Malformed",
            "control characters in the body");

    for (c = err; *c; c++) {
        if ((unsigned char) *c < 0x20 || *c == 0x7f) {
            break;
        }
    }

    ok(*c == '\0', "the message has no control characters: %s", err);

    /* exactly the limit is fine, one byte more is not */
    n = FEDI_PARAMS_MAX_JSON;
    big = malloc(n + 2);
    memset(big, ' ', n + 1);
    memcpy(big, "{\"a\":1}", 7);
    big[n] = '\0';

    p = parse(NULL, big, FEDI_BODY_JSON);
    ok(same(p, "{\"a\":1}"), "a JSON body of %zu bytes is read", n);
    json_decref(p);

    big[n] = ' ';
    big[n + 1] = '\0';
    refused(NULL, big, FEDI_BODY_JSON, "too large",
            "one byte more is too large");
    free(big);
}


static void
test_multipart(void)
{
    json_t   *p;
    files_t   f;

    static const char  ct[] = "multipart/form-data; boundary=XyZ";
    static const char  mp[] =
        "preamble\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
        "al ice\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"poll[options][]\"\r\n"
        "\r\nx\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"poll[options][]\"\r\n"
        "\r\ny\r\nz\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; "
        "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
        "--XyZ\r\n\r\nno name, ignored\r\n"
        "--XyZ--\r\n";

    p = json_object();
    memset(&f, 0, sizeof(f));
    ok(multipart(p, ct, mp, &f) == 0
       && same(p, "{\"username\":\"al ice\","
                  "\"poll\":{\"options\":[\"x\",\"y\\r\\nz\"]}}"),
       "multipart text parts with Rails names");
    ok(f.n == 1 && strcmp(f.name, "avatar") == 0
       && strcmp(f.filename, "a.png") == 0
       && strcmp(f.type, "image/png") == 0 && f.len == 3
       && memcmp(mp + f.offset, "PNG", 3) == 0,
       "a file part is reported with its place in the body");
    json_decref(p);

    p = parse("username=q&x=1", NULL, FEDI_BODY_NONE);
    ok(multipart(p, ct, mp, NULL) == 0
       && same(p, "{\"username\":\"al ice\",\"x\":\"1\","
                  "\"poll\":{\"options\":[\"x\",\"y\\r\\nz\"]}}"),
       "over the query, without a file callback");
    json_decref(p);

    p = json_object();
    ok(multipart(p, "multipart/form-data", mp, NULL) != 0
       && strstr(err, "boundary"),
       "multipart without a boundary is an error");
    ok(multipart(p, ct, "--XyZ\r\nContent-Disposition: form-data; "
                 "name=\"a\"\r\n\r\n1", NULL) != 0,
       "an unterminated part is an error");
    ok(multipart(p, ct, "--XyZ\r\nContent-Disposition: form-data; "
                 "name=\"a\"\r\n\r\n\xff\r\n--XyZ--", NULL) != 0
       && strstr(err, "UTF-8"),
       "an invalid UTF-8 value is an error");
    ok(multipart(p, ct, "--XyZ\r\nContent-Disposition: form-data; "
                 "name=\"a[b]\"\r\n\r\n1\r\n"
                 "--XyZ\r\nContent-Disposition: form-data; "
                 "name=\"a[]\"\r\n\r\n2\r\n--XyZ--", NULL) != 0
       && strstr(err, "expected Array (got Hash) for param `a'"),
       "a conflicting shape is an error");
    ok(multipart(p, "multipart/form-data; boundary=\"q q\"",
                 "--q q\r\nContent-Disposition: form-data; name=a\r\n\r\n"
                 "v\r\n--q q--", NULL) == 0
       && same(p, "{\"a\":\"v\"}"),
       "a quoted boundary, an unquoted name");
    json_decref(p);
}


static void
test_bool(void)
{
    size_t   i;
    json_t  *p;

    static const struct {
        const char  *json;
        int          want;
    } cases[] = {
        { "false", 0 }, { "0", 0 }, { "\"0\"", 0 }, { "\"f\"", 0 },
        { "\"F\"", 0 }, { "\"false\"", 0 }, { "\"FALSE\"", 0 },
        { "\"off\"", 0 }, { "\"OFF\"", 0 },
        { "true", 1 }, { "1", 1 }, { "-1", 1 }, { "\"1\"", 1 },
        { "\"t\"", 1 }, { "\"true\"", 1 }, { "\"on\"", 1 },
        { "\"yes\"", 1 }, { "\"no\"", 1 }, { "\"False\"", 1 },
        { "\"Off\"", 1 }, { "\" 0\"", 1 }, { "\"0 \"", 1 },
        { "\"00\"", 1 }, { "0.0", 1 }, { "1.5", 1 }, { "[]", 1 },
        { "{}", 1 }, { "\"x\"", 1 },
        { "\"\"", 7 }, { "null", 7 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char  buf[64];

        snprintf(buf, sizeof(buf), "{\"k\":%s}", cases[i].json);
        p = json_loads(buf, 0, NULL);
        is_int(fedi_param_bool(p, "k", 7), cases[i].want,
               "boolean %s is %s", cases[i].json,
               cases[i].want == 7 ? "not given" : cases[i].want ? "true"
                                                               : "false");
        json_decref(p);
    }

    p = parse("a=0&b=true&c=&d", NULL, FEDI_BODY_NONE);
    ok(fedi_param_bool(p, "a", 1) == 0 && fedi_param_bool(p, "b", 0) == 1
       && fedi_param_bool(p, "c", 5) == 5 && fedi_param_bool(p, "d", 5) == 5
       && fedi_param_bool(p, "missing", -1) == -1,
       "booleans from a query; absent, empty and bare are the default");
    json_decref(p);

    is_int(fedi_param_bool(NULL, "k", 3), 3, "no params at all: default");
}


static void
test_str_int(void)
{
    json_t      *p;
    const char  *s, *s2;

    p = json_loads("{\"s\":\"hi\",\"i\":500,\"neg\":-9223372036854775808,"
                   "\"r\":1.5,\"r2\":2.0,\"t\":true,\"f\":false,\"n\":null,"
                   "\"a\":[\"x\"],\"o\":{}}", 0, NULL);

    is_str(fedi_param_str(p, "s"), "hi", "str: a string");
    s = fedi_param_str(p, "i");
    is_str(s, "500", "str: a JSON integer is printed");
    s2 = fedi_param_str(p, "i");
    ok(s == s2 && json_is_string(json_object_get(p, "i")),
       "and the printed form took its place: the same pointer again");
    is_int(fedi_param_int(p, "i", 0, 0, 1000), 500,
           "int reads the printed form");
    is_str(fedi_param_str(p, "neg"), "-9223372036854775808",
           "str: INT64_MIN");
    is_str(fedi_param_str(p, "r"), "1.5", "str: a real");
    is_str(fedi_param_str(p, "r2"), "2.0", "str: a whole real, as Ruby");
    is_int(fedi_param_bool(p, "t", 0), 1, "bool before str: true");
    is_str(fedi_param_str(p, "t"), "true", "str: true");
    is_int(fedi_param_bool(p, "t", 0), 1, "bool after str: still true");
    is_str(fedi_param_str(p, "f"), "false", "str: false");
    is_int(fedi_param_bool(p, "f", 1), 0, "bool after str: still false");
    is_str(fedi_param_str(p, "n"), NULL, "str: null is NULL");
    is_str(fedi_param_str(p, "a"), NULL, "str: an array is NULL");
    is_str(fedi_param_str(p, "o"), NULL, "str: an object is NULL");
    is_str(fedi_param_str(p, "missing"), NULL, "str: absent is NULL");
    is_str(fedi_param_str(NULL, "s"), NULL, "str: no params");
    json_decref(p);

    p = json_loads("{\"l\":\"40\",\"neg\":\"-3\",\"plus\":\"+5\","
                   "\"e\":\"\",\"sp\":\" 4\",\"tr\":\"4 \",\"junk\":\"4x\","
                   "\"hex\":\"0x10\",\"exp\":\"1e3\",\"dot\":\"4.0\","
                   "\"sign\":\"-\",\"huge\":\"99999999999999999999\","
                   "\"nhuge\":\"-99999999999999999999\",\"j\":500,"
                   "\"jr\":40.0,\"jb\":true,\"jn\":null,\"ja\":[1],"
                   "\"max\":\"9223372036854775807\","
                   "\"min\":\"-9223372036854775808\"}", 0, NULL);

    is_int(fedi_param_int(p, "l", 20, 1, 80), 40, "int: \"40\"");
    is_int(fedi_param_int(p, "neg", 20, -80, 80), -3, "int: \"-3\"");
    is_int(fedi_param_int(p, "plus", 20, 1, 80), 5, "int: \"+5\"");
    is_int(fedi_param_int(p, "e", 20, 1, 80), 20, "int: \"\" is default");
    is_int(fedi_param_int(p, "sp", 20, 1, 80), 20,
           "int: a leading space is default");
    is_int(fedi_param_int(p, "tr", 20, 1, 80), 20,
           "int: a trailing space is default");
    is_int(fedi_param_int(p, "junk", 20, 1, 80), 20,
           "int: trailing junk is default");
    is_int(fedi_param_int(p, "hex", 20, 1, 80), 20, "int: hex is default");
    is_int(fedi_param_int(p, "exp", 20, 1, 9999), 20,
           "int: an exponent is default");
    is_int(fedi_param_int(p, "dot", 20, 1, 80), 20,
           "int: a decimal point is default");
    is_int(fedi_param_int(p, "sign", 20, 1, 80), 20,
           "int: a sign alone is default");
    is_int(fedi_param_int(p, "huge", 20, 1, 80), 80,
           "int: beyond int64 clamps to the maximum");
    is_int(fedi_param_int(p, "nhuge", 20, 1, 80), 1,
           "int: below int64 clamps to the minimum");
    is_int(fedi_param_int(p, "max", 0, INT64_MIN, INT64_MAX), INT64_MAX,
           "int: INT64_MAX");
    is_int(fedi_param_int(p, "min", 0, INT64_MIN, INT64_MAX), INT64_MIN,
           "int: INT64_MIN");
    is_int(fedi_param_int(p, "j", 20, 1, 80), 80,
           "int: a JSON integer, clamped to the maximum");
    is_int(fedi_param_int(p, "neg", 20, 1, 80), 1,
           "int: clamped to the minimum");
    is_int(fedi_param_int(p, "jr", 20, 1, 80), 20,
           "int: a JSON real is default");
    is_int(fedi_param_int(p, "jb", 20, 1, 80), 20,
           "int: a JSON boolean is default");
    is_int(fedi_param_int(p, "jn", 20, 1, 80), 20, "int: null is default");
    is_int(fedi_param_int(p, "ja", 20, 1, 80), 20,
           "int: an array is default");
    is_int(fedi_param_int(p, "missing", 20, 1, 80), 20,
           "int: absent is default");
    json_decref(p);
}


static void
test_strs(void)
{
    json_t      *p;
    const char  *v[8];

    p = parse("media_ids[]=1&media_ids[]=2&one=x&k[]=a&k[]=b&k[]=c",
              NULL, FEDI_BODY_NONE);
    ok(fedi_param_strs(p, "media_ids", v, 8) == 2 && strcmp(v[0], "1") == 0
       && strcmp(v[1], "2") == 0, "strs: a[] from a query");
    ok(fedi_param_strs(p, "one", v, 8) == 1 && strcmp(v[0], "x") == 0,
       "strs: a single string is one element");
    ok(fedi_param_strs(p, "k", v, 2) == 2 && strcmp(v[1], "b") == 0,
       "strs: at most n");
    is_int(fedi_param_strs(p, "k", v, 0), 0, "strs: n = 0");
    is_int(fedi_param_strs(p, "missing", v, 8), 0, "strs: absent");
    json_decref(p);

    p = parse(NULL, "{\"media_ids[]\":[\"7\",\"8\"],\"ids\":[\"1\",2,null,"
              "{\"x\":1},true,\"3\"],\"n\":5,\"o\":{\"a\":\"b\"},"
              "\"both\":[\"x\"],\"both[]\":[\"y\"],\"nul\":null,"
              "\"nul[]\":[\"z\"]}", FEDI_BODY_JSON);
    ok(fedi_param_strs(p, "media_ids", v, 8) == 2 && strcmp(v[0], "7") == 0
       && strcmp(v[1], "8") == 0, "strs: \"media_ids[]\" in a JSON body");
    ok(fedi_param_strs(p, "ids", v, 8) == 3 && strcmp(v[0], "1") == 0
       && strcmp(v[1], "2") == 0 && strcmp(v[2], "3") == 0,
       "strs: integers printed, other elements skipped");
    ok(fedi_param_strs(p, "n", v, 8) == 1 && strcmp(v[0], "5") == 0,
       "strs: a single integer");
    is_int(fedi_param_strs(p, "o", v, 8), 0, "strs: an object is nothing");
    ok(fedi_param_strs(p, "both", v, 8) == 1 && strcmp(v[0], "x") == 0,
       "strs: key wins over key[]");
    ok(fedi_param_strs(p, "nul", v, 8) == 1 && strcmp(v[0], "z") == 0,
       "strs: a null key falls back to key[]");
    json_decref(p);
}


int
main(void)
{
    test_body_type();
    test_unescape();
    test_query();
    test_rails_keys();
    test_conflicts_and_limits();
    test_bodies();
    test_json_errors();
    test_multipart();
    test_bool();
    test_str_int();
    test_strs();

    return done();
}
