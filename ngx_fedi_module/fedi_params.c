/*
 * Copyright (C) ngx_fedi authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fedi_params.h"


#define fedi_params_error(err, errlen, ...)                                   \
    (void) snprintf(err, errlen, __VA_ARGS__)


static int fedi_params_utf8(const unsigned char *s, size_t len);
static int fedi_hexval(unsigned char c);
static const char *fedi_params_class(json_t *v);
static int fedi_params_has_key(json_t *hash, const char *key, size_t len);
static json_t *fedi_params_child(json_t *params, const char *k, size_t klen,
    int array, char *err, size_t errlen);
static int fedi_params_normalize(json_t *params, const char *name,
    size_t len, json_t *v, int depth, char *err, size_t errlen);
static int fedi_params_set(json_t *params, const char *key, size_t klen,
    json_t *v, char *err, size_t errlen);
static int fedi_params_form(json_t *out, const unsigned char *s, size_t len,
    char *err, size_t errlen);
static json_t *fedi_params_json(const unsigned char *body, size_t blen,
    char *err, size_t errlen);
static void fedi_params_sanitize(char *err);
static int fedi_params_to_int(const char *s, int64_t *n);
static json_t *fedi_params_printed(json_t *v);
static int fedi_header_param(const unsigned char *h, size_t len,
    const char *name, char *out, size_t outlen);
static const unsigned char *fedi_memmem(const unsigned char *h, size_t hlen,
    const unsigned char *n, size_t nlen);


fedi_body_type_e
fedi_params_body_type(const unsigned char *ct, size_t len)
{
    size_t                n;
    const unsigned char  *slash;

    if (ct == NULL) {
        return FEDI_BODY_NONE;
    }

    while (len && (*ct == ' ' || *ct == '\t')) {
        ct++;
        len--;
    }

    for (n = 0; n < len && ct[n] != ';' && ct[n] != ' ' && ct[n] != '\t';
         n++)
    {
        /* void */
    }

    if (n == 0) {
        return FEDI_BODY_NONE;
    }

    if (n == 33
        && strncasecmp((const char *) ct,
                       "application/x-www-form-urlencoded", 33) == 0)
    {
        return FEDI_BODY_FORM;
    }

    if (n == 19
        && strncasecmp((const char *) ct, "multipart/form-data", 19) == 0)
    {
        return FEDI_BODY_MULTIPART;
    }

    if (n == 16
        && strncasecmp((const char *) ct, "application/json", 16) == 0)
    {
        return FEDI_BODY_JSON;
    }

    /* application/activity+json, application/ld+json, ... */
    slash = memchr(ct, '/', n);

    if (slash && slash > ct && ct + n - slash > 6
        && strncasecmp((const char *) ct + n - 5, "+json", 5) == 0)
    {
        return FEDI_BODY_JSON;
    }

    return FEDI_BODY_OTHER;
}


/* strict UTF-8, as jansson checks it: no overlongs, surrogates, > 10FFFF */
static int
fedi_params_utf8(const unsigned char *s, size_t len)
{
    size_t               n, i;
    unsigned char        c, lo, hi;
    const unsigned char *end;

    end = s + len;

    while (s < end) {
        c = *s;

        if (c < 0x80) {
            s++;
            continue;
        }

        lo = 0x80;
        hi = 0xbf;

        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;

        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            lo = (c == 0xe0) ? 0xa0 : 0x80;
            hi = (c == 0xed) ? 0x9f : 0xbf;

        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            lo = (c == 0xf0) ? 0x90 : 0x80;
            hi = (c == 0xf4) ? 0x8f : 0xbf;

        } else {
            return 0;
        }

        if ((size_t) (end - s) <= n || s[1] < lo || s[1] > hi) {
            return 0;
        }

        for (i = 2; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                return 0;
            }
        }

        s += n + 1;
    }

    return 1;
}


static int
fedi_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


size_t
fedi_params_unescape(unsigned char *dst, const unsigned char *src, size_t len)
{
    int     h, l;
    size_t  i, n;

    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '+') {
            dst[n++] = ' ';

        } else if (src[i] == '%' && i + 2 < len
                   && (h = fedi_hexval(src[i + 1])) >= 0
                   && (l = fedi_hexval(src[i + 2])) >= 0)
        {
            dst[n++] = (unsigned char) (h << 4 | l);
            i += 2;

        } else {
            dst[n++] = src[i];
        }
    }

    return n;
}


/* the Ruby class Rack names in "expected Hash (got String)" */
static const char *
fedi_params_class(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "Hash";
    case JSON_ARRAY:
        return "Array";
    case JSON_STRING:
        return "String";
    case JSON_INTEGER:
        return "Integer";
    case JSON_REAL:
        return "Float";
    case JSON_TRUE:
        return "TrueClass";
    case JSON_FALSE:
        return "FalseClass";
    default:
        return "NilClass";
    }
}


/* Rack's params_hash_has_key?: is the path a[b] in hash already? */
static int
fedi_params_has_key(json_t *hash, const char *key, size_t len)
{
    const char  *p, *q, *end;

    end = key + len;

    for (p = key; p + 1 < end; p++) {
        if (p[0] == '[' && p[1] == ']') {
            return 0;
        }
    }

    p = key;

    for ( ;; ) {
        while (p < end && (*p == '[' || *p == ']')) {
            p++;
        }

        if (p == end) {
            return 1;
        }

        for (q = p; q < end && *q != '[' && *q != ']'; q++) {
            /* void */
        }

        if (!json_is_object(hash)) {
            return 0;
        }

        hash = json_object_getn(hash, p, q - p);
        if (hash == NULL) {
            return 0;
        }

        p = q;
    }
}


/*
 * params[k] ||= [] (or {}), then the check that it is one: Rack's
 * ParameterTypeError for a=1&a[b]=2.  nil and false count as absent.
 */
static json_t *
fedi_params_child(json_t *params, const char *k, size_t klen, int array,
    char *err, size_t errlen)
{
    json_t  *c;

    c = json_object_getn(params, k, klen);

    if (c == NULL || json_is_null(c) || json_is_false(c)) {
        c = array ? json_array() : json_object();

        if (c == NULL || json_object_setn_new(params, k, klen, c) != 0) {
            fedi_params_error(err, errlen, "Out of memory");
            return NULL;
        }

        return c;
    }

    if (array ? !json_is_array(c) : !json_is_object(c)) {
        fedi_params_error(err, errlen, "expected %s (got %s) for param `%.*s'",
                          array ? "Array" : "Hash", fedi_params_class(c),
                          (int) (klen > 64 ? 64 : klen), k);
        return NULL;
    }

    return c;
}


/*
 * Rack 3's QueryParser#normalize_params, step for step: sets the rest of
 * a name (a, [b], [], [][c], ...) to v in params.  Takes the reference to
 * v.  0, or -1 with err.
 */
static int
fedi_params_normalize(json_t *params, const char *name, size_t len,
    json_t *v, int depth, char *err, size_t errlen)
{
    size_t       klen, alen, clen, i;
    json_t      *arr, *last, *h;
    const char  *k, *after, *child, *br;

    if (depth > FEDI_PARAMS_MAX_DEPTH) {
        fedi_params_error(err, errlen, "Parameters nested too deeply "
                          "(more than %d levels)", FEDI_PARAMS_MAX_DEPTH);
        goto failed;
    }

    k = name;
    klen = len;

    if (depth == 0) {
        /* a '[' at the very start is part of the name */
        br = len > 1 ? memchr(name + 1, '[', len - 1) : NULL;

        if (br) {
            klen = br - name;
        }

    } else if (len >= 2 && name[0] == '[' && name[1] == ']') {
        klen = 2;

    } else if (len >= 2 && name[0] == '['
               && (br = memchr(name + 1, ']', len - 1)) != NULL)
    {
        k = name + 1;
        klen = br - k;
    }

    /* what follows k: the whole name when k is not in brackets */
    after = (k == name) ? name + klen : k + klen + 1;
    alen = name + len - after;

    if (klen == 0) {
        json_decref(v);                /* Rack: return if k.empty? */
        return 0;
    }

    if (alen == 0) {
        if (depth != 0 && klen == 2 && k[0] == '[' && k[1] == ']') {
            /* Rack returns [v] to a caller that drops it */
            json_decref(v);
            return 0;
        }

        if (json_object_setn_new(params, k, klen, v) != 0) {
            fedi_params_error(err, errlen, "Out of memory");
            return -1;
        }

        return 0;
    }

    if (alen == 1 && after[0] == '[') {
        /* "a[": the name as it is */
        if (json_object_setn_new(params, name, len, v) != 0) {
            fedi_params_error(err, errlen, "Out of memory");
            return -1;
        }

        return 0;
    }

    if (alen >= 2 && after[0] == '[' && after[1] == ']') {
        arr = fedi_params_child(params, k, klen, 1, err, errlen);
        if (arr == NULL) {
            goto failed;
        }

        if (alen == 2) {
            if (json_array_append_new(arr, v) != 0) {
                fedi_params_error(err, errlen, "Out of memory");
                return -1;
            }

            return 0;
        }

        /* a[][c]: a hash in the array; a[][c][d] and the like: as is */
        child = after + 2;
        clen = alen - 2;

        if (alen > 4 && after[2] == '[' && after[alen - 1] == ']') {
            for (i = 3; i < alen - 1; i++) {
                if (after[i] == '[' || after[i] == ']') {
                    break;
                }
            }

            if (i == alen - 1) {
                child = after + 3;
                clen = alen - 4;
            }
        }

        last = json_array_get(arr, json_array_size(arr) - 1);

        if (json_is_object(last) && !fedi_params_has_key(last, child, clen)) {
            return fedi_params_normalize(last, child, clen, v, depth + 1, err,
                                         errlen);
        }

        if (clen == 2 && child[0] == '[' && child[1] == ']') {
            /* a[][]: normalize_params returns [v] */
            if (depth + 1 > FEDI_PARAMS_MAX_DEPTH) {
                fedi_params_error(err, errlen, "Parameters nested too deeply "
                                  "(more than %d levels)",
                                  FEDI_PARAMS_MAX_DEPTH);
                goto failed;
            }

            h = json_array();

            if (h == NULL || json_array_append_new(arr, h) != 0) {
                fedi_params_error(err, errlen, "Out of memory");
                goto failed;
            }

            if (json_array_append_new(h, v) != 0) {
                fedi_params_error(err, errlen, "Out of memory");
                return -1;
            }

            return 0;
        }

        h = json_object();

        if (h == NULL || json_array_append_new(arr, h) != 0) {
            fedi_params_error(err, errlen, "Out of memory");
            goto failed;
        }

        return fedi_params_normalize(h, child, clen, v, depth + 1, err,
                                     errlen);
    }

    h = fedi_params_child(params, k, klen, 0, err, errlen);
    if (h == NULL) {
        goto failed;
    }

    return fedi_params_normalize(h, after, alen, v, depth + 1, err, errlen);

failed:

    json_decref(v);

    return -1;
}


/* one name=value pair into params; takes the reference to v */
static int
fedi_params_set(json_t *params, const char *key, size_t klen, json_t *v,
    char *err, size_t errlen)
{
    if (v == NULL) {
        fedi_params_error(err, errlen, "Out of memory");
        return -1;
    }

    /* jansson keys are UTF-8 C strings */
    if (memchr(key, '\0', klen)
        || !fedi_params_utf8((const unsigned char *) key, klen))
    {
        json_decref(v);
        fedi_params_error(err, errlen, "Invalid parameter name: not UTF-8 "
                          "or a NUL byte");
        return -1;
    }

    return fedi_params_normalize(params, key, klen, v, 0, err, errlen);
}


/* a query string or an x-www-form-urlencoded body, as Rack splits it */
static int
fedi_params_form(json_t *out, const unsigned char *s, size_t len, char *err,
    size_t errlen)
{
    size_t                klen, vlen, pairs;
    json_t               *v;
    unsigned char        *buf;
    const unsigned char  *p, *end, *amp, *eq;

    if (s == NULL || len == 0) {
        return 0;
    }

    /* a key and its value unescape to no more than the pair */
    buf = malloc(len);
    if (buf == NULL) {
        fedi_params_error(err, errlen, "Out of memory");
        return -1;
    }

    end = s + len;
    pairs = 0;

    for (p = s; p < end; p = amp + 1) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if (p > s) {
            /* Rack splits on "& *": spaces after a "&" go */
            while (p < amp && *p == ' ') {
                p++;
            }
        }

        if (amp == p) {
            continue;
        }

        if (++pairs > FEDI_PARAMS_MAX_KEYS) {
            fedi_params_error(err, errlen, "Too many parameters (more than "
                              "%d)", FEDI_PARAMS_MAX_KEYS);
            goto failed;
        }

        eq = memchr(p, '=', amp - p);
        klen = fedi_params_unescape(buf, p, (eq ? eq : amp) - p);

        if (klen == 0) {
            continue;                  /* "=x": no name, nothing set */
        }

        if (eq) {
            vlen = fedi_params_unescape(buf + klen, eq + 1, amp - eq - 1);

            if (memchr(buf + klen, '\0', vlen)) {
                fedi_params_error(err, errlen, "Invalid parameter value: "
                                  "a NUL byte");
                goto failed;
            }

            v = json_stringn((char *) buf + klen, vlen);

            if (v == NULL) {
                fedi_params_error(err, errlen, "Invalid parameter value: "
                                  "not UTF-8");
                goto failed;
            }

        } else {
            v = json_null();            /* "a" alone is nil in Rack */
        }

        if (fedi_params_set(out, (char *) buf, klen, v, err, errlen) != 0) {
            goto failed;
        }
    }

    free(buf);

    return 0;

failed:

    free(buf);

    return -1;
}


static json_t *
fedi_params_json(const unsigned char *body, size_t blen, char *err,
    size_t errlen)
{
    json_t        *b;
    json_error_t   e;

    if (blen > FEDI_PARAMS_MAX_JSON) {
        fedi_params_error(err, errlen, "JSON body too large (more than %d "
                          "bytes)", FEDI_PARAMS_MAX_JSON);
        return NULL;
    }

    b = json_loadb((const char *) body, blen,
                   JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);

    if (b == NULL) {
        fedi_params_error(err, errlen, "Malformed JSON: %s at line %d "
                          "column %d", e.text, e.line, e.column);
        return NULL;
    }

    if (!json_is_object(b)) {
        fedi_params_error(err, errlen, "JSON body must be an object");
        json_decref(b);
        return NULL;
    }

    return b;
}


/* jansson quotes the input it stopped at: no control bytes to a client */
static void
fedi_params_sanitize(char *err)
{
    unsigned char  *p;

    for (p = (unsigned char *) err; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
}


json_t *
fedi_params_parse(const unsigned char *query, size_t qlen,
    const unsigned char *body, size_t blen, fedi_body_type_e type,
    char *err, size_t errlen)
{
    char     dummy[1];
    json_t  *out, *b;

    if (err == NULL || errlen == 0) {
        err = dummy;
        errlen = sizeof(dummy);
    }

    err[0] = '\0';

    out = json_object();
    if (out == NULL) {
        fedi_params_error(err, errlen, "Out of memory");
        return NULL;
    }

    if (fedi_params_form(out, query, qlen, err, errlen) != 0) {
        goto failed;
    }

    if (body == NULL || blen == 0) {
        return out;
    }

    switch (type) {

    case FEDI_BODY_FORM:
        b = json_object();

        if (b == NULL) {
            fedi_params_error(err, errlen, "Out of memory");
            goto failed;
        }

        if (fedi_params_form(b, body, blen, err, errlen) != 0) {
            json_decref(b);
            goto failed;
        }

        break;

    case FEDI_BODY_JSON:
        b = fedi_params_json(body, blen, err, errlen);
        if (b == NULL) {
            goto failed;
        }

        break;

    default:
        /* multipart is fedi_params_multipart()'s; others are not params */
        return out;
    }

    /*
     * The query wins, key by key at the top level, as in Rails
     * (ActionDispatch: request_parameters.merge(query_parameters))
     */
    if (json_object_update(b, out) != 0) {
        json_decref(b);
        fedi_params_error(err, errlen, "Out of memory");
        goto failed;
    }

    json_decref(out);

    return b;

failed:

    fedi_params_sanitize(err);
    json_decref(out);

    return NULL;
}


int
fedi_param_bool(json_t *params, const char *key, int def)
{
    size_t       i;
    json_t      *v;
    const char  *s;

    static const char  *false_values[] = {
        "0", "f", "F", "false", "FALSE", "off", "OFF"
    };

    v = json_object_get(params, key);

    if (v == NULL) {
        return def;
    }

    switch (json_typeof(v)) {

    case JSON_STRING:
        s = json_string_value(v);

        if (s[0] == '\0') {
            return def;
        }

        for (i = 0; i < sizeof(false_values) / sizeof(false_values[0]); i++)
        {
            if (strcmp(s, false_values[i]) == 0) {
                return 0;
            }
        }

        return 1;

    case JSON_FALSE:
        return 0;

    case JSON_INTEGER:
        return json_integer_value(v) != 0;

    case JSON_NULL:
        return def;

    default:
        /* true, reals (0.0 is not 0 to Ruby's Set), arrays, hashes */
        return 1;
    }
}


/* a number or a boolean as Ruby's to_s prints it, as a new string */
static json_t *
fedi_params_printed(json_t *v)
{
    int   n;
    char  buf[48];

    if (v == NULL) {
        return NULL;
    }

    switch (json_typeof(v)) {

    case JSON_INTEGER:
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        break;

    case JSON_REAL:
        for (n = 15; n <= 17; n++) {
            snprintf(buf, sizeof(buf), "%.*g", n, json_real_value(v));

            if (strtod(buf, NULL) == json_real_value(v)) {
                break;
            }
        }

        if (strpbrk(buf, ".eEni") == NULL) {
            strcat(buf, ".0");
        }

        break;

    case JSON_TRUE:
        return json_string("true");

    case JSON_FALSE:
        return json_string("false");

    default:
        return NULL;
    }

    return json_string(buf);
}


const char *
fedi_param_str(json_t *params, const char *key)
{
    json_t  *v, *s;

    v = json_object_get(params, key);

    if (json_is_string(v)) {
        return json_string_value(v);
    }

    s = fedi_params_printed(v);
    if (s == NULL) {
        return NULL;
    }

    /* the printed form takes the value's place: it lives as long as params */
    if (json_object_set_new(params, key, s) != 0) {
        return NULL;
    }

    return json_string_value(s);
}


/* a strictly decimal string; beyond int64 saturates */
static int
fedi_params_to_int(const char *s, int64_t *n)
{
    int       neg, over;
    uint64_t  u;

    neg = (*s == '-');

    if (*s == '-' || *s == '+') {
        s++;
    }

    if (*s == '\0') {
        return -1;
    }

    u = 0;
    over = 0;

    for ( /* void */ ; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }

        if (u > (UINT64_MAX - 9) / 10) {
            over = 1;

        } else {
            u = u * 10 + (*s - '0');
        }
    }

    if (neg) {
        *n = (over || u > (uint64_t) INT64_MAX + 1) ? INT64_MIN
                                                    : (int64_t) (0 - u);

    } else {
        *n = (over || u > (uint64_t) INT64_MAX) ? INT64_MAX : (int64_t) u;
    }

    return 0;
}


int64_t
fedi_param_int(json_t *params, const char *key, int64_t def, int64_t min,
    int64_t max)
{
    json_t   *v;
    int64_t   n;

    v = json_object_get(params, key);

    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (!json_is_string(v)
               || fedi_params_to_int(json_string_value(v), &n) != 0)
    {
        return def;
    }

    if (n < min) {
        return min;
    }

    if (n > max) {
        return max;
    }

    return n;
}


size_t
fedi_param_strs(json_t *params, const char *key, const char **out, size_t n)
{
    char         alt[256];
    size_t       i, k;
    json_t      *v, *e, *s;
    const char  *name;

    name = key;
    v = json_object_get(params, key);

    /* JSON from some clients: {"media_ids[]": [...]} */
    if ((v == NULL || json_is_null(v))
        && snprintf(alt, sizeof(alt), "%s[]", key) < (int) sizeof(alt))
    {
        name = alt;
        v = json_object_get(params, alt);
    }

    if (n == 0 || v == NULL) {
        return 0;
    }

    if (json_is_string(v) || json_is_integer(v)) {
        out[0] = fedi_param_str(params, name);
        return out[0] ? 1 : 0;
    }

    if (!json_is_array(v)) {
        return 0;
    }

    k = 0;

    json_array_foreach(v, i, e) {
        if (k == n) {
            break;
        }

        if (json_is_integer(e)) {
            /* {"media_ids": [1, 2]}: the printed form takes the place */
            s = fedi_params_printed(e);

            if (s == NULL || json_array_set_new(v, i, s) != 0) {
                continue;
            }

            e = s;
        }

        if (json_is_string(e)) {
            out[k++] = json_string_value(e);
        }
    }

    return k;
}


/* a parameter of a header value: name="value" or name=value */
static int
fedi_header_param(const unsigned char *h, size_t len, const char *name,
    char *out, size_t outlen)
{
    size_t                n, k;
    const unsigned char  *p, *end;

    n = strlen(name);
    end = h + len;

    for (p = h; p + n + 1 <= end; p++) {
        if ((p == h || p[-1] == ';' || p[-1] == ' ' || p[-1] == '\t')
            && strncasecmp((const char *) p, name, n) == 0 && p[n] == '=')
        {
            p += n + 1;
            k = 0;

            if (p < end && *p == '"') {
                p++;

                while (p < end && *p != '"' && k + 1 < outlen) {
                    if (*p == '\\' && p + 1 < end) {
                        p++;
                    }

                    out[k++] = *p++;
                }

            } else {
                while (p < end && *p != ';' && *p != ' ' && *p != '\t'
                       && k + 1 < outlen)
                {
                    out[k++] = *p++;
                }
            }

            out[k] = '\0';

            return 1;
        }
    }

    return 0;
}


static const unsigned char *
fedi_memmem(const unsigned char *h, size_t hlen, const unsigned char *n,
    size_t nlen)
{
    const unsigned char  *p, *end;

    if (nlen == 0 || hlen < nlen) {
        return NULL;
    }

    end = h + hlen - nlen;

    for (p = h; p <= end; p++) {
        p = memchr(p, n[0], end - p + 1);
        if (p == NULL) {
            return NULL;
        }

        if (memcmp(p, n, nlen) == 0) {
            return p;
        }
    }

    return NULL;
}


int
fedi_params_multipart(json_t *params, const unsigned char *ct, size_t ctlen,
    const unsigned char *body, size_t blen, fedi_params_file_pt file,
    void *ctx, char *err, size_t errlen)
{
    int                   has_filename;
    char                  boundary[80], delim[84], term[88], name[256];
    char                  filename[256], type[128];
    size_t                dlen, clen, parts, hlen, k;
    json_t               *v;
    const unsigned char  *p, *end, *next, *hend, *line, *eol, *data;

    if (!fedi_header_param(ct, ctlen, "boundary", boundary, sizeof(boundary))
        || boundary[0] == '\0')
    {
        fedi_params_error(err, errlen, "Malformed multipart body: "
                          "no boundary");
        return -1;
    }

    dlen = (size_t) snprintf(delim, sizeof(delim), "--%s", boundary);
    clen = (size_t) snprintf(term, sizeof(term), "\r\n--%s", boundary);
    end = body + blen;

    p = fedi_memmem(body, blen, (const unsigned char *) delim, dlen);
    if (p == NULL) {
        fedi_params_error(err, errlen, "Malformed multipart body");
        return -1;
    }

    parts = 0;

    for ( ;; ) {
        p += dlen;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return 0;                               /* the closing one */
        }

        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            fedi_params_error(err, errlen, "Malformed multipart body");
            return -1;
        }

        p += 2;

        if (++parts > FEDI_PARAMS_MAX_KEYS) {
            fedi_params_error(err, errlen, "Too many parameters (more than "
                              "%d)", FEDI_PARAMS_MAX_KEYS);
            return -1;
        }

        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p - 2;                           /* no headers */

        } else {
            hend = fedi_memmem(p, end - p, (const unsigned char *) "\r\n\r\n",
                               4);
            if (hend == NULL) {
                fedi_params_error(err, errlen, "Malformed multipart body");
                return -1;
            }
        }

        name[0] = '\0';
        filename[0] = '\0';
        has_filename = 0;
        strcpy(type, "text/plain");

        for (line = p; line < hend; line = eol + 2) {
            eol = fedi_memmem(line, hend + 2 - line,
                              (const unsigned char *) "\r\n", 2);
            if (eol == NULL) {
                eol = hend;
            }

            hlen = eol - line;

            if (hlen > 20
                && strncasecmp((const char *) line, "Content-Disposition:",
                               20) == 0)
            {
                fedi_header_param(line + 20, hlen - 20, "name", name,
                                  sizeof(name));
                has_filename = fedi_header_param(line + 20, hlen - 20,
                                                 "filename", filename,
                                                 sizeof(filename));

            } else if (hlen > 13
                       && strncasecmp((const char *) line, "Content-Type:",
                                      13) == 0)
            {
                for (k = 13; k < hlen && line[k] == ' '; k++) {
                    /* void */
                }

                snprintf(type, sizeof(type), "%.*s", (int) (hlen - k),
                         line + k);
            }
        }

        data = hend + 4;

        /* the part ends at CRLF and the delimiter */
        next = fedi_memmem(data, end - data, (const unsigned char *) term,
                           clen);
        if (next == NULL) {
            fedi_params_error(err, errlen, "Malformed multipart body");
            return -1;
        }

        if (name[0] && has_filename) {
            if (file) {
                file(ctx, name, filename, type, data - body, next - data);
            }

        } else if (name[0]) {
            if (memchr(data, '\0', next - data)) {
                fedi_params_error(err, errlen, "Invalid parameter value: "
                                  "a NUL byte");
                return -1;
            }

            v = json_stringn((const char *) data, next - data);

            if (v == NULL) {
                fedi_params_error(err, errlen, "Invalid parameter value: "
                                  "not UTF-8");
                return -1;
            }

            if (fedi_params_set(params, name, strlen(name), v, err, errlen)
                != 0)
            {
                fedi_params_sanitize(err);
                return -1;
            }
        }

        p = next + 2;
    }
}
