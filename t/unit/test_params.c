/*
 * Parameters as Mastodon (Rails/Rack) reads them: query, form, JSON and
 * multipart, nested keys, booleans, limits.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "fedi_params.h"


#include "tap.h"


static json_t *
parse(const char *q, const char *body, fedi_body_type_e t, char *err)
{
    return fedi_params_parse((const unsigned char *) q, q ? strlen(q) : 0,
                             (const unsigned char *) body,
                             body ? strlen(body) : 0, t, err, 256);
}


static int
same(json_t *got, const char *want)
{
    int      eq;
    json_t  *w;

    w = json_loads(want, 0, NULL);
    eq = got && w && json_equal(got, w);

    if (!eq && got) {
        char  *s = json_dumps(got, JSON_SORT_KEYS);

        printf("#   got: %s\n", s);
        free(s);
    }

    json_decref(w);

    return eq;
}


int
main(void)
{
    char         err[256];
    json_t      *p;
    const char  *v[8];
    static const char  ct[] = "multipart/form-data; boundary=XyZ";
    static const char  mp[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
        "al ice\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"poll[options][]\"\r\n"
        "\r\nx\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"avatar\"; "
        "filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\n"
        "--XyZ--\r\n";

    p = parse("a=1&b=x+y%21&c", NULL, FEDI_BODY_NONE, err);
    ok(same(p, "{\"a\":\"1\",\"b\":\"x y!\",\"c\":null}"),
       "a query: plus is space, percent-decoding, a bare key is null");
    json_decref(p);

    p = parse("a[]=1&a[]=2&p[o][]=x&p[o][]=y&f[0][name]=n&f[0][value]=v"
              "&f[1][name]=m", NULL, FEDI_BODY_NONE, err);
    ok(same(p, "{\"a\":[\"1\",\"2\"],\"p\":{\"o\":[\"x\",\"y\"]},"
               "\"f\":{\"0\":{\"name\":\"n\",\"value\":\"v\"},"
               "\"1\":{\"name\":\"m\"}}}"),
       "Rails keys: a[], poll[options][], fields_attributes[0][name]");
    json_decref(p);

    p = parse("m[][a]=1&m[][b]=2&m[][a]=3", NULL, FEDI_BODY_NONE, err);
    ok(same(p, "{\"m\":[{\"a\":\"1\",\"b\":\"2\"},{\"a\":\"3\"}]}"),
       "an array of hashes, as Rack builds it");
    json_decref(p);

    p = parse("a=1&a[b]=2", NULL, FEDI_BODY_NONE, err);
    ok(p == NULL && strstr(err, "expected Hash"),
       "a conflicting shape is an error, as in Rack");

    p = parse("a=%FF", NULL, FEDI_BODY_NONE, err);
    ok(p == NULL && strstr(err, "UTF-8"), "invalid UTF-8 is refused");

    p = parse("a=%zz%4", NULL, FEDI_BODY_NONE, err);
    ok(same(p, "{\"a\":\"%zz%4\"}"), "a broken escape is kept literally");
    json_decref(p);

    p = parse("a=1", "a=2&b=3", FEDI_BODY_FORM, err);
    ok(same(p, "{\"a\":\"2\",\"b\":\"3\"}"), "the body wins over the query");
    json_decref(p);

    p = parse(NULL, "{\"status\":\"hi\",\"media_ids\":[\"1\"],\"x\":true}",
              FEDI_BODY_JSON, err);
    ok(same(p, "{\"status\":\"hi\",\"media_ids\":[\"1\"],\"x\":true}"),
       "a JSON body");
    ok(fedi_param_strs(p, "media_ids", v, 8) == 1 && strcmp(v[0], "1") == 0,
       "an array of strings");
    json_decref(p);

    p = parse(NULL, "{\"a\":1,\"a\":2}", FEDI_BODY_JSON, err);
    ok(p == NULL && strstr(err, "Malformed JSON"), "duplicate keys refused");
    p = parse(NULL, "{\"a\":", FEDI_BODY_JSON, err);
    ok(p == NULL && strstr(err, "Malformed JSON"), "malformed JSON refused");
    p = parse(NULL, "[1]", FEDI_BODY_JSON, err);
    ok(p == NULL && strstr(err, "must be an object"),
       "a JSON body must be an object");

    p = parse(NULL, NULL, FEDI_BODY_JSON, err);
    ok(same(p, "{}"), "an empty JSON body is no body");
    json_decref(p);

    p = json_object();
    ok(fedi_params_multipart(p, (const unsigned char *) ct, strlen(ct),
                             (const unsigned char *) mp, strlen(mp), NULL,
                             NULL, err, sizeof(err)) == 0
       && same(p, "{\"username\":\"al ice\",\"poll\":{\"options\":[\"x\"]}}"),
       "multipart text parts, file parts left out");
    json_decref(p);

    p = json_object();
    ok(fedi_params_multipart(p, (const unsigned char *) "multipart/form-data",
                             19, (const unsigned char *) mp, strlen(mp), NULL,
                             NULL, err, sizeof(err)) != 0,
       "multipart without a boundary is an error");
    json_decref(p);

    ok(fedi_params_body_type((const unsigned char *) "application/json; "
                             "charset=utf-8", 31) == FEDI_BODY_JSON,
       "application/json with a charset");
    ok(fedi_params_body_type((const unsigned char *) "application/activity+json",
                             25) == FEDI_BODY_JSON, "+json types");
    ok(fedi_params_body_type((const unsigned char *)
                             "APPLICATION/X-WWW-FORM-URLENCODED", 33)
       == FEDI_BODY_FORM, "types are case-insensitive");

    p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:n,s:s}", "t", "true",
                  "f0", "0", "ff", "f", "off", "OFF", "e", "", "jb", 0,
                  "ji", 1, "jn", "x", "yes");
    ok(fedi_param_bool(p, "t", 0) == 1, "\"true\" is true");
    ok(fedi_param_bool(p, "f0", 1) == 0, "\"0\" is false");
    ok(fedi_param_bool(p, "ff", 1) == 0, "\"f\" is false");
    ok(fedi_param_bool(p, "off", 1) == 0, "\"OFF\" is false");
    ok(fedi_param_bool(p, "e", 7) == 7, "an empty string is not given");
    ok(fedi_param_bool(p, "jb", 1) == 0, "JSON false");
    ok(fedi_param_bool(p, "ji", 0) == 1, "JSON 1");
    ok(fedi_param_bool(p, "jn", 7) == 7, "JSON null is not given");
    ok(fedi_param_bool(p, "x", 0) == 1, "anything else is true, as Rails");
    ok(fedi_param_bool(p, "missing", 7) == 7, "absent: the default");
    json_decref(p);

    p = json_pack("{s:s,s:s,s:i,s:s}", "l", "40", "bad", "4x", "j", 500,
                  "neg", "-3");
    ok(fedi_param_int(p, "l", 20, 1, 80) == 40, "an integer string");
    ok(fedi_param_int(p, "bad", 20, 1, 80) == 20, "trailing junk: default");
    ok(fedi_param_int(p, "j", 20, 1, 80) == 80, "clamped to the maximum");
    ok(fedi_param_int(p, "neg", 20, 1, 80) == 1, "clamped to the minimum");
    ok(strcmp(fedi_param_str(p, "j"), "500") == 0,
       "a JSON integer read as a string");
    json_decref(p);

    {
        char   *q;
        size_t  i, len;

        len = (FEDI_PARAMS_MAX_KEYS + 1) * 4;
        q = malloc(len + 1);

        for (i = 0; i < FEDI_PARAMS_MAX_KEYS + 1; i++) {
            memcpy(q + i * 4, "a=1&", 4);
        }

        q[len] = '\0';
        p = parse(q, NULL, FEDI_BODY_NONE, err);
        ok(p == NULL && strstr(err, "Too many"), "too many parameters");
        free(q);
    }

    p = parse("a[b][c][d][e][f][g][h][i][j]=1", NULL, FEDI_BODY_NONE, err);
    ok(p == NULL && strstr(err, "deeply"), "nesting too deep");

    return done();
}
