/*
 * Copyright (C) ngx_fedi authors
 */


#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fedi_params.h"


static int fedi_params_form(json_t *out, const unsigned char *s, size_t len,
    char *err, size_t errlen);
static int fedi_params_set(json_t *out, const char *key, size_t klen,
    json_t *value, char *err, size_t errlen);
static int fedi_hexval(unsigned char c);
static int fedi_params_utf8(const unsigned char *s, size_t len);


fedi_body_type_e
fedi_params_body_type(const unsigned char *ct, size_t len)
{
    size_t  n;

    if (ct == NULL || len == 0) {
        return FEDI_BODY_NONE;
    }

    for (n = 0; n < len && ct[n] != ';' && ct[n] != ' '; n++) {
        /* void */
    }

    if (n == 33
        && strncasecmp((const char *) ct, "application/x-www-form-urlencoded",
                       33) == 0)
    {
        return FEDI_BODY_FORM;
    }

    if (n == 19 && strncasecmp((const char *) ct, "multipart/form-data", 19)
                   == 0)
    {
        return FEDI_BODY_MULTIPART;
    }

    if ((n == 16 && strncasecmp((const char *) ct, "application/json", 16)
                    == 0)
        || (n > 17 && strncasecmp((const char *) ct, "application/", 12) == 0
            && strncasecmp((const char *) ct + n - 5, "+json", 5) == 0))
    {
        return FEDI_BODY_JSON;
    }

    return FEDI_BODY_OTHER;
}


static int
fedi_params_utf8(const unsigned char *s, size_t len)
{
    json_t  *v;

    /* jansson's own check: what it accepts as a value it accepts here */
    v = json_stringn((const char *) s, len);
    if (v == NULL) {
        return 0;
    }

    json_decref(v);

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
    int            h, l;
    size_t         i, n;

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


/*
 * Sets key (a Rails key: name, name[], name[a][b], name[0][x]) in out.
 * Takes the reference to value.  0, or -1 with err set.
 */
static int
fedi_params_set(json_t *out, const char *key, size_t klen, json_t *value,
    char *err, size_t errlen)
{
    size_t       i, n, depth, seglen;
    char         seg[256];
    json_t      *cur, *next;
    const char  *p, *end, *close;

    end = key + klen;

    /* jansson keys are UTF-8 (it refuses others, freeing the value) */
    if (!fedi_params_utf8((const unsigned char *) key, klen)
        || memchr(key, '\0', klen))
    {
        json_decref(value);
        snprintf(err, errlen, "Invalid UTF-8 in parameters");
        return -1;
    }

    /* the name: up to the first '[' (a key starting with '[' is literal) */
    for (n = 0; n < klen && key[n] != '['; n++) {
        /* void */
    }

    if (n == 0) {
        n = klen;
    }

    if (n >= sizeof(seg)) {
        json_decref(value);
        snprintf(err, errlen, "Parameter name too long");
        return -1;
    }

    memcpy(seg, key, n);
    seg[n] = '\0';
    p = key + n;

    cur = out;
    depth = 0;

    for ( ;; ) {
        /* seg names the child of cur; what follows says its shape */

        if (p >= end) {
            /* a plain value: last one wins, as in Rack */
            if (json_is_array(cur)) {
                json_array_append_new(cur, value);

            } else {
                json_object_set_new(cur, seg, value);
            }

            return 0;
        }

        if (p[0] != '[' || (close = memchr(p, ']', end - p)) == NULL) {
            /* "a[b" or "a]x": the rest is part of the name, as Rack does */
            n = strlen(seg);
            seglen = end - p;

            if (n + seglen >= sizeof(seg)) {
                json_decref(value);
                snprintf(err, errlen, "Parameter name too long");
                return -1;
            }

            memcpy(seg + n, p, seglen);
            seg[n + seglen] = '\0';
            p = end;
            continue;
        }

        if (++depth > FEDI_PARAMS_MAX_DEPTH) {
            json_decref(value);
            snprintf(err, errlen, "Parameters nested too deeply");
            return -1;
        }

        seglen = close - p - 1;

        if (seglen == 0) {
            /* name[]: an array */
            next = json_is_array(cur) ? NULL : json_object_get(cur, seg);

            if (json_is_array(cur)) {
                json_decref(value);
                snprintf(err, errlen, "expected Hash (got Array) for param "
                         "`%s'", seg);
                return -1;
            }

            if (next == NULL) {
                next = json_array();

                if (next == NULL || json_object_set_new(cur, seg, next) != 0) {
                    json_decref(value);
                    snprintf(err, errlen, "Out of memory");
                    return -1;
                }

            } else if (!json_is_array(next)) {
                json_decref(value);
                snprintf(err, errlen, "expected Array (got %s) for param "
                         "`%s'", json_is_object(next) ? "Hash" : "String",
                         seg);
                return -1;
            }

            p = close + 1;

            if (p >= end) {
                json_array_append_new(next, value);
                return 0;
            }

            /* name[][x]: a new hash in the array unless the last one
             * lacks x (Rack's rule) */
            if (p[0] != '[' || memchr(p, ']', end - p) == NULL) {
                json_array_append_new(next, value);
                return 0;
            }

            close = memchr(p, ']', end - p);
            seglen = close - p - 1;
            n = json_array_size(next);

            {
                char     sub[256];
                json_t  *last;

                if (seglen >= sizeof(sub)) {
                    json_decref(value);
                    snprintf(err, errlen, "Parameter name too long");
                    return -1;
                }

                memcpy(sub, p + 1, seglen);
                sub[seglen] = '\0';

                last = n ? json_array_get(next, n - 1) : NULL;

                if (!json_is_object(last) || json_object_get(last, sub)) {
                    last = json_object();
                    json_array_append_new(next, last);
                }

                cur = last;
                memcpy(seg, sub, seglen + 1);
                p = close + 1;
                continue;
            }
        }

        /* name[sub]: a hash */
        next = json_object_get(cur, seg);

        if (next == NULL) {
            next = json_object();

            if (next == NULL || json_object_set_new(cur, seg, next) != 0) {
                json_decref(value);
                snprintf(err, errlen, "Out of memory");
                return -1;
            }

        } else if (!json_is_object(next)) {
            json_decref(value);
            snprintf(err, errlen, "expected Hash (got %s) for param `%s'",
                     json_is_array(next) ? "Array" : "String", seg);
            return -1;
        }

        cur = next;

        if (seglen >= sizeof(seg)) {
            json_decref(value);
            snprintf(err, errlen, "Parameter name too long");
            return -1;
        }

        for (i = 0; i < seglen; i++) {
            seg[i] = p[1 + i];
        }

        seg[seglen] = '\0';
        p = close + 1;
    }
}


static int
fedi_params_form(json_t *out, const unsigned char *s, size_t len, char *err,
    size_t errlen)
{
    size_t                n, klen, vlen, pairs;
    unsigned char        *buf;
    const unsigned char  *p, *end, *amp, *eq;
    json_t               *v;

    if (len == 0) {
        return 0;
    }

    buf = malloc(len + 1);
    if (buf == NULL) {
        snprintf(err, errlen, "Out of memory");
        return -1;
    }

    end = s + len;
    pairs = 0;

    for (p = s; p < end; p = amp + 1) {
        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        if (amp == p) {
            continue;
        }

        if (++pairs > FEDI_PARAMS_MAX_KEYS) {
            free(buf);
            snprintf(err, errlen, "Too many parameters");
            return -1;
        }

        eq = memchr(p, '=', amp - p);

        klen = fedi_params_unescape(buf, p, (eq ? eq : amp) - p);
        buf[klen] = '\0';

        if (klen == 0 || memchr(buf, '\0', klen)) {
            continue;
        }

        if (!fedi_params_utf8(buf, klen)) {
            free(buf);
            snprintf(err, errlen, "Invalid UTF-8 in parameters");
            return -1;
        }

        if (eq) {
            vlen = fedi_params_unescape(buf + klen + 1, eq + 1, amp - eq - 1);
            /* the key and the value fit: each unescapes to no more */
            v = json_stringn((char *) buf + klen + 1, vlen);

            if (v == NULL) {
                free(buf);
                snprintf(err, errlen, "Invalid UTF-8 in parameters");
                return -1;
            }

        } else {
            v = json_null();
        }

        n = klen;

        if (fedi_params_set(out, (char *) buf, n, v, err, errlen) != 0) {
            free(buf);
            return -1;
        }
    }

    free(buf);

    return 0;
}


json_t *
fedi_params_parse(const unsigned char *query, size_t qlen,
    const unsigned char *body, size_t blen, fedi_body_type_e type,
    char *err, size_t errlen)
{
    json_t        *out, *b, *v;
    const char    *k;
    json_error_t   e;

    out = json_object();
    if (out == NULL) {
        snprintf(err, errlen, "Out of memory");
        return NULL;
    }

    if (fedi_params_form(out, query, qlen, err, errlen) != 0) {
        json_decref(out);
        return NULL;
    }

    if (body == NULL || blen == 0) {
        return out;
    }

    if (type == FEDI_BODY_FORM) {
        b = json_object();

        if (b == NULL || fedi_params_form(b, body, blen, err, errlen) != 0) {
            json_decref(b);
            json_decref(out);
            return NULL;
        }

    } else if (type == FEDI_BODY_JSON) {
        if (blen > FEDI_PARAMS_MAX_JSON) {
            snprintf(err, errlen, "JSON body too large");
            json_decref(out);
            return NULL;
        }

        b = json_loadb((const char *) body, blen,
                       JSON_REJECT_DUPLICATES,
                       &e);

        if (b == NULL) {
            snprintf(err, errlen, "Malformed JSON: %s at line %d column %d",
                     e.text, e.line, e.column);
            json_decref(out);
            return NULL;
        }

        if (!json_is_object(b)) {
            snprintf(err, errlen, "JSON body must be an object");
            json_decref(b);
            json_decref(out);
            return NULL;
        }

    } else {
        return out;
    }

    json_object_foreach(b, k, v) {
        json_object_set(out, k, v);
    }

    json_decref(b);

    return out;
}


int
fedi_param_bool(json_t *params, const char *key, int def)
{
    json_t      *v;
    const char  *s;

    v = json_object_get(params, key);

    if (v == NULL || json_is_null(v)) {
        return def;
    }

    if (json_is_true(v)) {
        return 1;
    }

    if (json_is_false(v)) {
        return 0;
    }

    if (json_is_integer(v)) {
        return json_integer_value(v) != 0;
    }

    if (json_is_real(v)) {
        return json_real_value(v) != 0.0;
    }

    if (!json_is_string(v)) {
        return 1;
    }

    s = json_string_value(v);

    if (s[0] == '\0') {
        return def;
    }

    if (strcmp(s, "0") == 0 || strcmp(s, "f") == 0 || strcmp(s, "F") == 0
        || strcmp(s, "false") == 0 || strcmp(s, "FALSE") == 0
        || strcmp(s, "off") == 0 || strcmp(s, "OFF") == 0)
    {
        return 0;
    }

    return 1;
}


/*
 * The string of a JSON string.  Integers are written into a buffer kept
 * in the params object itself (under a hidden key), so the pointer lives
 * as long as params.  Anything else: NULL.
 */
const char *
fedi_param_str(json_t *params, const char *key)
{
    json_t  *v, *s;
    char     buf[32], hidden[300];

    v = json_object_get(params, key);

    if (json_is_string(v)) {
        return json_string_value(v);
    }

    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        snprintf(hidden, sizeof(hidden), "\x01%s", key);

        s = json_string(buf);
        if (s == NULL) {
            return NULL;
        }

        json_object_set_new(params, hidden, s);

        return json_string_value(s);
    }

    return NULL;
}


int64_t
fedi_param_int(json_t *params, const char *key, int64_t def, int64_t min,
    int64_t max)
{
    json_t      *v;
    char        *end;
    int64_t      n;
    const char  *s;

    v = json_object_get(params, key);

    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (json_is_string(v)) {
        s = json_string_value(v);

        if (s[0] == '\0' || !(isdigit((unsigned char) s[0]) || s[0] == '-')) {
            return def;
        }

        errno = 0;
        n = strtoll(s, &end, 10);

        if (errno || *end != '\0') {
            return def;
        }

    } else {
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
    size_t   i, k;
    char     alt[300];
    json_t  *v, *e;

    v = json_object_get(params, key);

    if (v == NULL) {
        snprintf(alt, sizeof(alt), "%s[]", key);
        v = json_object_get(params, alt);
    }

    if (json_is_string(v)) {
        if (n == 0) {
            return 0;
        }

        out[0] = json_string_value(v);
        return 1;
    }

    if (!json_is_array(v)) {
        return 0;
    }

    k = 0;

    json_array_foreach(v, i, e) {
        if (k == n) {
            break;
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
        if ((p == h || p[-1] == ';' || p[-1] == ' ')
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
                while (p < end && *p != ';' && *p != ' ' && k + 1 < outlen) {
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
    char                  boundary[80], delim[84], name[256], filename[256];
    char                  type[128];
    size_t                dlen, parts, hlen;
    json_t               *v;
    const unsigned char  *p, *end, *next, *hend, *line, *eol, *data;

    if (!fedi_header_param(ct, ctlen, "boundary", boundary, sizeof(boundary))
        || boundary[0] == '\0')
    {
        snprintf(err, errlen, "Malformed multipart body: no boundary");
        return -1;
    }

    dlen = (size_t) snprintf(delim, sizeof(delim), "--%s", boundary);
    end = body + blen;

    p = fedi_memmem(body, blen, (unsigned char *) delim, dlen);
    if (p == NULL) {
        snprintf(err, errlen, "Malformed multipart body");
        return -1;
    }

    parts = 0;

    for ( ;; ) {
        p += dlen;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            return 0;                               /* the closing one */
        }

        if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
            snprintf(err, errlen, "Malformed multipart body");
            return -1;
        }

        p += 2;

        if (++parts > FEDI_PARAMS_MAX_KEYS) {
            snprintf(err, errlen, "Too many parameters");
            return -1;
        }

        hend = fedi_memmem(p, end - p, (unsigned char *) "\r\n\r\n", 4);
        if (hend == NULL) {
            snprintf(err, errlen, "Malformed multipart body");
            return -1;
        }

        name[0] = '\0';
        filename[0] = '\0';
        strcpy(type, "text/plain");

        int has_filename = 0;

        for (line = p; line < hend; line = eol + 2) {
            eol = fedi_memmem(line, hend + 2 - line,
                              (unsigned char *) "\r\n", 2);
            if (eol == NULL) {
                eol = hend;
            }

            hlen = eol - line;

            if (hlen > 20
                && strncasecmp((const char *) line, "Content-Disposition:", 20)
                   == 0)
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
                size_t  k = 13;

                while (k < hlen && line[k] == ' ') {
                    k++;
                }

                snprintf(type, sizeof(type), "%.*s", (int) (hlen - k),
                         line + k);
            }
        }

        data = hend + 4;

        /* the part ends at CRLF + delimiter */
        {
            char   d2[88];
            size_t d2len;

            d2len = (size_t) snprintf(d2, sizeof(d2), "\r\n%s", delim);
            next = fedi_memmem(data, end - data, (unsigned char *) d2, d2len);

            if (next == NULL) {
                snprintf(err, errlen, "Malformed multipart body");
                return -1;
            }
        }

        if (name[0]) {
            if (has_filename) {
                if (file) {
                    file(ctx, name, filename, type, data - body, next - data);
                }

            } else {
                v = json_stringn((const char *) data, next - data);

                if (v == NULL) {
                    snprintf(err, errlen, "Invalid UTF-8 in parameters");
                    return -1;
                }

                if (fedi_params_set(params, name, strlen(name), v, err,
                                    errlen)
                    != 0)
                {
                    return -1;
                }
            }
        }

        p = next + 2;
    }
}
