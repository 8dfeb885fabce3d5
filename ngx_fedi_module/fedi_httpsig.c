/*
 * Copyright (C) ngx_fedi authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "fedi_crypto.h"
#include "fedi_httpsig.h"


#define HS_MAX_PARAMS    16
#define HS_MAX_MEMBERS   16
#define HS_MAX_KEY_PEM   16384
#define HS_EXPIRES_SKEW  300     /* an explicit expires, seconds */

/* RFC 8941 bare item types */
#define SF_INTEGER  1
#define SF_STRING   2
#define SF_TOKEN    3
#define SF_BYTES    4
#define SF_BOOLEAN  5


typedef struct {
    char     *p;
    size_t    len;
    size_t    size;
    unsigned  over:1;
} hs_buf_t;


typedef struct {
    int          type;
    const char  *s;          /* string: between the quotes, escapes kept;
                                token; bytes: the base64 between colons */
    size_t       len;
    int64_t      i;          /* integer, boolean */
} sf_bare_t;


typedef struct {
    const char  *key;
    size_t       klen;
    sf_bare_t    v;
} sf_param_t;


typedef struct {
    const char     *key;
    size_t          klen;
    unsigned        inner:1;
    sf_bare_t       items[FEDI_HTTPSIG_MAX_COVERED]; /* inner: the list */
    unsigned char   item_params[FEDI_HTTPSIG_MAX_COVERED];
    size_t          nitems;
    sf_param_t      params[HS_MAX_PARAMS];
    size_t          nparams;
} sf_member_t;


typedef struct {
    const char  *key;
    size_t       klen;
    unsigned     inner:1;
    sf_bare_t    v;
} hs_label_t;


typedef struct {
    unsigned  target:1;
    unsigned  host:1;
    unsigned  date:1;
    unsigned  digest:1;
    unsigned  content_digest:1;
} hs_cover_t;


typedef struct hs_entry_s  hs_entry_t;

struct hs_entry_s {
    hs_entry_t  *hnext;          /* the bucket's chain */
    hs_entry_t  *prev;           /* the LRU list, most recent first */
    hs_entry_t  *next;
    EVP_PKEY    *key;
    time_t       added;
    size_t       len;
    char         id[1];
};


struct fedi_httpsig_cache_s {
    hs_entry_t  **buckets;
    size_t        nbuckets;       /* a power of 2 */
    size_t        n;
    size_t        max;
    time_t        max_age;
    hs_entry_t   *head;
    hs_entry_t   *tail;
};


static void hs_buf_init(hs_buf_t *b, char *p, size_t size);
static void hs_put(hs_buf_t *b, const char *s, size_t n);
static void hs_puts(hs_buf_t *b, const char *s);
static void hs_put_int(hs_buf_t *b, int64_t v);
static int hs_ieq(const char *a, size_t alen, const char *b);
static int hs_is_tchar(int c);
static char *hs_store(fedi_httpsig_t *sig, const char *s, size_t n);
static int hs_header(const fedi_httpsig_request_t *rq, const char *name,
    size_t nlen, hs_buf_t *b);
static const fedi_httpsig_header_t *hs_find(const fedi_httpsig_request_t *rq,
    const char *name);
static int hs_covers(const fedi_httpsig_t *sig, const char *name);
static int hs_parse_int(const char *s, size_t len, int64_t *v);
static int hs_cavage_value(fedi_httpsig_t *sig, const char **pp,
    const char *end, fedi_httpsig_str_t *v);
static int hs_cavage_headers(fedi_httpsig_t *sig, const char *s, size_t len);
static int hs_cavage_base(const fedi_httpsig_request_t *rq,
    const fedi_httpsig_str_t *names, size_t n, const fedi_httpsig_t *sig,
    int with_query, hs_buf_t *b);
static int hs_rfc9421_base(const fedi_httpsig_request_t *rq,
    const fedi_httpsig_str_t *names, size_t n, const char *params,
    size_t plen, hs_buf_t *b);
static int hs_component(const fedi_httpsig_request_t *rq, const char *name,
    size_t len, hs_buf_t *b);
static int hs_component_name(const char *s, size_t len);
static int hs_label_add(hs_label_t *labels, size_t *n,
    const sf_member_t *m);
static int hs_rfc9421_member(fedi_httpsig_t *sig, const sf_member_t *m);
static void hs_serialize_params(hs_buf_t *b, const sf_member_t *m);
static int hs_alg_for_key(int alg, EVP_PKEY *key, int *out);
static int hs_key_usable(EVP_PKEY *key);
static EVP_MD_CTX *hs_md_ctx(int alg, EVP_PKEY *key, int sign);
static int hs_verify_raw(int alg, EVP_PKEY *key, const char *msg,
    size_t len, const unsigned char *sig, size_t sig_len);
static int hs_sign_raw(int alg, EVP_PKEY *key, const char *msg, size_t len,
    unsigned char *sig, size_t *sig_len);
static int hs_digest_one(const char *alg, size_t alen, const unsigned char *d,
    size_t dlen, const unsigned char *body, size_t body_len, int *seen);
static void hs_ows(const char **pp, const char *end);
static int sf_key(const char **pp, const char *end, const char **key,
    size_t *klen);
static int sf_bare(const char **pp, const char *end, sf_bare_t *v);
static int sf_params(const char **pp, const char *end, sf_param_t *params,
    size_t max, size_t *n);
static int sf_member(const char **pp, const char *end, sf_member_t *m);
static int sf_dict_next(const char **pp, const char *end, int first);
static uint64_t hs_hash(const char *s, size_t len);
static void hs_cache_unlink(fedi_httpsig_cache_t *c, hs_entry_t *e);


static const char  *hs_errors[FEDI_HTTPSIG_NCODES] = {
    "OK",
    "Request not signed",
    "Error parsing signature parameters",
    "Signature parameter given twice",
    "Signature header too large",
    "Incompatible request signature: keyId, signature and (RFC 9421) "
        "created are required",
    "Unsupported signature algorithm",
    "Unsupported covered component",
    "A covered header is missing from the request",
    "The request target (request-target) or @method and @target-uri "
        "must be signed",
    "The Host header must be signed",
    "The Date header or (created) must be signed",
    "A request with a body must sign its Digest or Content-Digest",
    "Invalid Date header or created parameter",
    "Signed request date is in the future",
    "Signed request date outside acceptable time window",
    "Digest header offers neither SHA-256 nor SHA-512",
    "Digest does not match the request body",
    "Unusable public key",
    "The signature algorithm does not match the key",
    "Verification failed",
    "Internal error while verifying"
};


const char *
fedi_httpsig_strerror(int rc)
{
    if (rc < 0 || rc >= FEDI_HTTPSIG_NCODES) {
        return "Unknown error";
    }

    return hs_errors[rc];
}


/* ---- small helpers ---- */

static void
hs_buf_init(hs_buf_t *b, char *p, size_t size)
{
    b->p = p;
    b->len = 0;
    b->size = size;
    b->over = 0;
}


static void
hs_put(hs_buf_t *b, const char *s, size_t n)
{
    if (b->over || n > b->size - b->len) {
        b->over = 1;
        return;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
}


static void
hs_puts(hs_buf_t *b, const char *s)
{
    hs_put(b, s, strlen(s));
}


static void
hs_put_int(hs_buf_t *b, int64_t v)
{
    char  num[24];
    int   n;

    n = snprintf(num, sizeof(num), "%lld", (long long) v);
    hs_put(b, num, n);
}


/* a equals the lower-case b, ignoring the case of a */
static int
hs_ieq(const char *a, size_t alen, const char *b)
{
    size_t  i;
    int     c;

    for (i = 0; i < alen; i++) {
        c = (unsigned char) a[i];
        if (c >= 'A' && c <= 'Z') {
            c += 'a' - 'A';
        }

        if (b[i] == '\0' || c != b[i]) {
            return 0;
        }
    }

    return b[alen] == '\0';
}


static int
hs_is_tchar(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9')
           || (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}


static char *
hs_store(fedi_httpsig_t *sig, const char *s, size_t n)
{
    char  *p;

    if (n > sizeof(sig->store) - sig->store_len) {
        return NULL;
    }

    p = sig->store + sig->store_len;
    memcpy(p, s, n);
    sig->store_len += n;

    return p;
}


static void
hs_ows(const char **pp, const char *end)
{
    while (*pp < end && (**pp == ' ' || **pp == '\t')) {
        (*pp)++;
    }
}


static int
hs_parse_int(const char *s, size_t len, int64_t *v)
{
    size_t   i;
    int64_t  n;

    if (len == 0 || len > 15) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        n = n * 10 + (s[i] - '0');
    }

    *v = n;

    return 0;
}


static const fedi_httpsig_header_t *
hs_find(const fedi_httpsig_request_t *rq, const char *name)
{
    size_t  i;

    for (i = 0; i < rq->nheaders; i++) {
        if (hs_ieq(rq->headers[i].name.data, rq->headers[i].name.len, name)) {
            return &rq->headers[i];
        }
    }

    return NULL;
}


/*
 * The values of every header called name (lower case, nlen bytes),
 * trimmed and joined with ", "; EHEADER when there is none or a value
 * holds a line break (it would forge a line of the signed string).
 */
static int
hs_header(const fedi_httpsig_request_t *rq, const char *name, size_t nlen,
    hs_buf_t *b)
{
    int                          found;
    char                         lname[64];
    size_t                       i;
    const char                  *s, *e;
    const fedi_httpsig_header_t  *h;

    if (nlen >= sizeof(lname)) {
        return FEDI_HTTPSIG_EHEADER;
    }

    memcpy(lname, name, nlen);
    lname[nlen] = '\0';

    found = 0;

    for (i = 0; i < rq->nheaders; i++) {
        h = &rq->headers[i];

        if (!hs_ieq(h->name.data, h->name.len, lname)) {
            continue;
        }

        s = h->value.data;
        e = s + h->value.len;

        if (memchr(s, '\r', h->value.len) || memchr(s, '\n', h->value.len)
            || memchr(s, '\0', h->value.len))
        {
            return FEDI_HTTPSIG_EHEADER;
        }

        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }

        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }

        if (found++) {
            hs_put(b, ", ", 2);
        }

        hs_put(b, s, e - s);
    }

    return found ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EHEADER;
}


static int
hs_covers(const fedi_httpsig_t *sig, const char *name)
{
    size_t  i;

    for (i = 0; i < sig->ncovered; i++) {
        if (hs_ieq(sig->covered[i].data, sig->covered[i].len, name)) {
            return 1;
        }
    }

    return 0;
}


/* ---- draft-cavage ---- */

/* a quoted string (\x escapes) or a token, copied into the store */
static int
hs_cavage_value(fedi_httpsig_t *sig, const char **pp, const char *end,
    fedi_httpsig_str_t *v)
{
    char        *start;
    const char  *p;

    p = *pp;
    start = sig->store + sig->store_len;

    if (p < end && *p == '"') {
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\') {
                if (++p == end) {
                    return FEDI_HTTPSIG_EPARSE;
                }
            }

            if ((unsigned char) *p < 0x20 || *p == 0x7f) {
                return FEDI_HTTPSIG_EPARSE;
            }

            if (hs_store(sig, p, 1) == NULL) {
                return FEDI_HTTPSIG_ETOOBIG;
            }
        }

        if (p == end) {
            return FEDI_HTTPSIG_EPARSE;
        }

        p++;

    } else {
        while (p < end && hs_is_tchar((unsigned char) *p)) {
            if (hs_store(sig, p++, 1) == NULL) {
                return FEDI_HTTPSIG_ETOOBIG;
            }
        }

        if (p == *pp) {
            return FEDI_HTTPSIG_EPARSE;
        }
    }

    v->data = start;
    v->len = sig->store + sig->store_len - start;
    *pp = p;

    return FEDI_HTTPSIG_OK;
}


int
fedi_httpsig_cavage_parse(const char *value, size_t len, fedi_httpsig_t *sig)
{
    int                  rc, i;
    size_t               nlen;
    const char          *p, *end, *name;
    fedi_httpsig_str_t   v, *slot;
    fedi_httpsig_str_t   key_id, alg, headers, signature, created, expires;
    static const char   *names[] = {
        "keyId", "algorithm", "headers", "signature", "created", "expires"
    };

    memset(sig, 0, offsetof(fedi_httpsig_t, store));
    sig->store_len = 0;
    sig->scheme = FEDI_HTTPSIG_CAVAGE;

    if (len > FEDI_HTTPSIG_MAX_HEADER) {
        return FEDI_HTTPSIG_ETOOBIG;
    }

    key_id.data = alg.data = headers.data = signature.data = NULL;
    created.data = expires.data = NULL;

    p = value;
    end = value + len;

    hs_ows(&p, end);

    /* old node-http-signature sends the auth-scheme too */
    if (end - p > 10 && memcmp(p, "Signature ", 10) == 0) {
        p += 10;
    }

    for ( ;; ) {
        hs_ows(&p, end);

        name = p;
        while (p < end && hs_is_tchar((unsigned char) *p)) {
            p++;
        }

        nlen = p - name;
        if (nlen == 0) {
            return FEDI_HTTPSIG_EPARSE;
        }

        hs_ows(&p, end);
        if (p == end || *p != '=') {
            return FEDI_HTTPSIG_EPARSE;
        }
        p++;
        hs_ows(&p, end);

        rc = hs_cavage_value(sig, &p, end, &v);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }

        slot = NULL;

        for (i = 0; i < 6; i++) {
            if (strlen(names[i]) == nlen && memcmp(names[i], name, nlen) == 0)
            {
                slot = (i == 0) ? &key_id : (i == 1) ? &alg
                       : (i == 2) ? &headers : (i == 3) ? &signature
                       : (i == 4) ? &created : &expires;
                break;
            }
        }

        if (slot != NULL) {
            if (slot->data != NULL) {
                return FEDI_HTTPSIG_EDUP;
            }
            *slot = v;
        }

        hs_ows(&p, end);

        if (p == end) {
            break;
        }

        if (*p++ != ',') {
            return FEDI_HTTPSIG_EPARSE;
        }
    }

    if (key_id.data == NULL || key_id.len == 0
        || signature.data == NULL || signature.len == 0)
    {
        return FEDI_HTTPSIG_EMISSING;
    }

    sig->key_id = key_id;

    if (alg.data == NULL || hs_ieq(alg.data, alg.len, "hs2019")) {
        sig->alg = FEDI_HTTPSIG_ALG_NONE;
        sig->cavage_hs2019 = 1;

    } else if (hs_ieq(alg.data, alg.len, "rsa-sha256")) {
        sig->alg = FEDI_HTTPSIG_ALG_RSA_SHA256;

    } else if (hs_ieq(alg.data, alg.len, "ed25519")) {
        sig->alg = FEDI_HTTPSIG_ALG_ED25519;

    } else {
        return FEDI_HTTPSIG_EALG;
    }

    if (created.data != NULL) {
        if (hs_parse_int(created.data, created.len, &sig->created) != 0) {
            return FEDI_HTTPSIG_EPARSE;
        }
        sig->has_created = 1;
    }

    if (expires.data != NULL) {
        if (hs_parse_int(expires.data, expires.len, &sig->expires) != 0) {
            return FEDI_HTTPSIG_EPARSE;
        }
        sig->has_expires = 1;
    }

    if (fedi_base64_decode(signature.data, signature.len, sig->sig,
                           sizeof(sig->sig), &sig->sig_len)
        != 0)
    {
        return signature.len > 2 * FEDI_HTTPSIG_MAX_SIG
               ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_EPARSE;
    }

    if (headers.data == NULL) {
        rc = sig->cavage_hs2019 ? hs_cavage_headers(sig, "(created)", 9)
                                : hs_cavage_headers(sig, "date", 4);
    } else {
        rc = hs_cavage_headers(sig, headers.data, headers.len);
    }

    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    /* Mastodon: the pseudo-headers only with hs2019, and never empty */
    for (i = 0; i < (int) sig->ncovered; i++) {
        v = sig->covered[i];

        if (hs_ieq(v.data, v.len, "(created)")
            || hs_ieq(v.data, v.len, "(expires)"))
        {
            if (!sig->cavage_hs2019 && sig->alg != FEDI_HTTPSIG_ALG_ED25519) {
                return FEDI_HTTPSIG_ECOMPONENT;
            }

            if (v.data[1] == 'c' ? !sig->has_created : !sig->has_expires) {
                return FEDI_HTTPSIG_EMISSING;
            }
        }
    }

    return FEDI_HTTPSIG_OK;
}


/* the space-separated header names, lower-cased into the store */
static int
hs_cavage_headers(fedi_httpsig_t *sig, const char *s, size_t len)
{
    char        *d;
    size_t       i, j, n;
    const char  *end, *w;

    end = s + len;

    for ( ;; ) {
        while (s < end && *s == ' ') {
            s++;
        }

        if (s == end) {
            break;
        }

        w = s;
        while (s < end && *s != ' ') {
            s++;
        }

        n = s - w;

        for (i = 0; i < n; i++) {
            if (!hs_is_tchar((unsigned char) w[i]) && w[i] != '('
                && w[i] != ')')
            {
                return FEDI_HTTPSIG_EPARSE;
            }
        }

        if (sig->ncovered == FEDI_HTTPSIG_MAX_COVERED) {
            return FEDI_HTTPSIG_ETOOBIG;
        }

        d = hs_store(sig, w, n);
        if (d == NULL) {
            return FEDI_HTTPSIG_ETOOBIG;
        }

        for (i = 0; i < n; i++) {
            if (d[i] >= 'A' && d[i] <= 'Z') {
                d[i] += 'a' - 'A';
            }
        }

        for (j = 0; j < sig->ncovered; j++) {
            if (sig->covered[j].len == n
                && memcmp(sig->covered[j].data, d, n) == 0)
            {
                return FEDI_HTTPSIG_EDUP;
            }
        }

        sig->covered[sig->ncovered].data = d;
        sig->covered[sig->ncovered].len = n;
        sig->ncovered++;
    }

    return sig->ncovered ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EPARSE;
}


static int
hs_cavage_base(const fedi_httpsig_request_t *rq,
    const fedi_httpsig_str_t *names, size_t n, const fedi_httpsig_t *sig,
    int with_query, hs_buf_t *b)
{
    int          rc;
    size_t       i, j, tlen;
    const char  *q;

    for (i = 0; i < n; i++) {
        if (b->over) {
            return FEDI_HTTPSIG_ETOOBIG;
        }

        if (i) {
            hs_put(b, "\n", 1);
        }

        hs_put(b, names[i].data, names[i].len);
        hs_put(b, ": ", 2);

        if (hs_ieq(names[i].data, names[i].len, "(request-target)")) {
            for (j = 0; j < rq->method.len; j++) {
                char  c = rq->method.data[j];

                c = (c >= 'A' && c <= 'Z') ? c + 'a' - 'A' : c;
                hs_put(b, &c, 1);
            }

            hs_put(b, " ", 1);

            tlen = rq->target.len;
            if (!with_query) {
                q = memchr(rq->target.data, '?', tlen);
                if (q != NULL) {
                    tlen = q - rq->target.data;
                }
            }

            hs_put(b, rq->target.data, tlen);

        } else if (hs_ieq(names[i].data, names[i].len, "(created)")) {
            if (sig == NULL || !sig->has_created) {
                return FEDI_HTTPSIG_EMISSING;
            }
            hs_put_int(b, sig->created);

        } else if (hs_ieq(names[i].data, names[i].len, "(expires)")) {
            if (sig == NULL || !sig->has_expires) {
                return FEDI_HTTPSIG_EMISSING;
            }
            hs_put_int(b, sig->expires);

        } else if (names[i].len > 0 && names[i].data[0] == '(') {
            return FEDI_HTTPSIG_ECOMPONENT;

        } else if (hs_ieq(names[i].data, names[i].len, "host")) {
            /* our own name, whatever Host the client sent */
            hs_put(b, rq->authority.data, rq->authority.len);

        } else {
            rc = hs_header(rq, names[i].data, names[i].len, b);
            if (rc != FEDI_HTTPSIG_OK) {
                return rc;
            }
        }
    }

    return b->over ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_OK;
}


/* ---- RFC 8941 structured fields (the subset signatures use) ---- */

static int
sf_key(const char **pp, const char *end, const char **key, size_t *klen)
{
    const char  *p;

    p = *pp;

    if (p == end || !((*p >= 'a' && *p <= 'z') || *p == '*')) {
        return FEDI_HTTPSIG_EPARSE;
    }

    for (p++; p < end; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '-' || *p == '.' || *p == '*'))
        {
            break;
        }
    }

    *key = *pp;
    *klen = p - *pp;
    *pp = p;

    return FEDI_HTTPSIG_OK;
}


static int
sf_bare(const char **pp, const char *end, sf_bare_t *v)
{
    int          neg;
    size_t       n;
    int64_t      i;
    const char  *p, *s;

    p = *pp;

    if (p == end) {
        return FEDI_HTTPSIG_EPARSE;
    }

    if (*p == '"') {
        s = ++p;

        for ( ;; ) {
            if (p == end) {
                return FEDI_HTTPSIG_EPARSE;
            }

            if (*p == '\\') {
                if (p + 1 == end || (p[1] != '"' && p[1] != '\\')) {
                    return FEDI_HTTPSIG_EPARSE;
                }
                p += 2;
                continue;
            }

            if (*p == '"') {
                break;
            }

            if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e) {
                return FEDI_HTTPSIG_EPARSE;
            }

            p++;
        }

        v->type = SF_STRING;
        v->s = s;
        v->len = p - s;
        *pp = p + 1;

        return FEDI_HTTPSIG_OK;
    }

    if (*p == ':') {
        s = ++p;

        while (p < end && *p != ':') {
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                  || (*p >= '0' && *p <= '9') || *p == '+' || *p == '/'
                  || *p == '='))
            {
                return FEDI_HTTPSIG_EPARSE;
            }
            p++;
        }

        if (p == end) {
            return FEDI_HTTPSIG_EPARSE;
        }

        v->type = SF_BYTES;
        v->s = s;
        v->len = p - s;
        *pp = p + 1;

        return FEDI_HTTPSIG_OK;
    }

    if (*p == '?') {
        if (p + 1 == end || (p[1] != '0' && p[1] != '1')) {
            return FEDI_HTTPSIG_EPARSE;
        }

        v->type = SF_BOOLEAN;
        v->i = p[1] == '1';
        v->s = p;
        v->len = 2;
        *pp = p + 2;

        return FEDI_HTTPSIG_OK;
    }

    if (*p == '-' || (*p >= '0' && *p <= '9')) {
        neg = (*p == '-');
        s = p;
        p += neg;
        i = 0;
        n = 0;

        while (p < end && *p >= '0' && *p <= '9') {
            if (++n > 15) {
                return FEDI_HTTPSIG_EPARSE;
            }
            i = i * 10 + (*p++ - '0');
        }

        /* decimals are not needed here */
        if (n == 0 || (p < end && *p == '.')) {
            return FEDI_HTTPSIG_EPARSE;
        }

        v->type = SF_INTEGER;
        v->i = neg ? -i : i;
        v->s = s;
        v->len = p - s;
        *pp = p;

        return FEDI_HTTPSIG_OK;
    }

    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '*') {
        s = p;

        for (p++; p < end; p++) {
            if (!hs_is_tchar((unsigned char) *p) && *p != ':' && *p != '/') {
                break;
            }
        }

        v->type = SF_TOKEN;
        v->s = s;
        v->len = p - s;
        *pp = p;

        return FEDI_HTTPSIG_OK;
    }

    return FEDI_HTTPSIG_EPARSE;
}


/* ;key[=value]..., a key given twice refused */
static int
sf_params(const char **pp, const char *end, sf_param_t *params, size_t max,
    size_t *n)
{
    int          rc;
    size_t       i;
    sf_param_t   pr;
    const char  *p;

    p = *pp;
    *n = 0;

    while (p < end && *p == ';') {
        p++;
        while (p < end && *p == ' ') {
            p++;
        }

        rc = sf_key(&p, end, &pr.key, &pr.klen);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }

        if (p < end && *p == '=') {
            p++;
            rc = sf_bare(&p, end, &pr.v);
            if (rc != FEDI_HTTPSIG_OK) {
                return rc;
            }

        } else {
            pr.v.type = SF_BOOLEAN;
            pr.v.i = 1;
            pr.v.s = NULL;
            pr.v.len = 0;
        }

        for (i = 0; i < *n; i++) {
            if (params[i].klen == pr.klen
                && memcmp(params[i].key, pr.key, pr.klen) == 0)
            {
                return FEDI_HTTPSIG_EDUP;
            }
        }

        if (*n == max) {
            return FEDI_HTTPSIG_ETOOBIG;
        }

        params[(*n)++] = pr;
    }

    *pp = p;

    return FEDI_HTTPSIG_OK;
}


/* key[=(item ...)|=item] with parameters */
static int
sf_member(const char **pp, const char *end, sf_member_t *m)
{
    int          rc;
    size_t       n;
    sf_param_t   ip[HS_MAX_PARAMS];
    const char  *p;

    p = *pp;
    m->nitems = 0;
    m->nparams = 0;
    m->inner = 0;

    rc = sf_key(&p, end, &m->key, &m->klen);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    if (p == end || *p != '=') {
        /* a bare key: boolean true */
        m->items[0].type = SF_BOOLEAN;
        m->items[0].i = 1;
        m->items[0].s = NULL;
        m->items[0].len = 0;
        m->item_params[0] = 0;
        m->nitems = 1;
        goto params;
    }

    p++;

    if (p < end && *p == '(') {
        m->inner = 1;
        p++;

        for ( ;; ) {
            while (p < end && *p == ' ') {
                p++;
            }

            if (p == end) {
                return FEDI_HTTPSIG_EPARSE;
            }

            if (*p == ')') {
                p++;
                break;
            }

            if (m->nitems == FEDI_HTTPSIG_MAX_COVERED) {
                return FEDI_HTTPSIG_ETOOBIG;
            }

            rc = sf_bare(&p, end, &m->items[m->nitems]);
            if (rc != FEDI_HTTPSIG_OK) {
                return rc;
            }

            rc = sf_params(&p, end, ip, HS_MAX_PARAMS, &n);
            if (rc != FEDI_HTTPSIG_OK) {
                return rc;
            }

            m->item_params[m->nitems++] = n != 0;

            if (p == end || (*p != ' ' && *p != ')')) {
                return FEDI_HTTPSIG_EPARSE;
            }
        }

    } else {
        rc = sf_bare(&p, end, &m->items[0]);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }
        m->item_params[0] = 0;
        m->nitems = 1;
    }

params:

    rc = sf_params(&p, end, m->params, HS_MAX_PARAMS, &m->nparams);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    *pp = p;

    return FEDI_HTTPSIG_OK;
}


/*
 * Before a member: 1 when there is one, 0 at the end, -1 on garbage.
 * The first member may follow spaces; the others a comma with OWS.
 */
static int
sf_dict_next(const char **pp, const char *end, int first)
{
    hs_ows(pp, end);

    if (*pp == end) {
        return first ? -1 : 0;
    }

    if (!first) {
        if (**pp != ',') {
            return -1;
        }

        (*pp)++;
        hs_ows(pp, end);

        if (*pp == end) {
            return -1;          /* a trailing comma */
        }
    }

    return 1;
}


/* ---- RFC 9421 ---- */

int
fedi_httpsig_rfc9421_parse(const char *input, size_t input_len,
    const char *signature, size_t signature_len, const char *label,
    fedi_httpsig_t *sig)
{
    int           rc, r, i, found;
    size_t        j, n, ni;
    sf_member_t  *m;
    hs_label_t    sigs[HS_MAX_MEMBERS], ins[HS_MAX_MEMBERS];
    const char   *p, *end;

    memset(sig, 0, offsetof(fedi_httpsig_t, store));
    sig->store_len = 0;
    sig->scheme = FEDI_HTTPSIG_RFC9421;

    if (input_len > FEDI_HTTPSIG_MAX_HEADER
        || signature_len > FEDI_HTTPSIG_MAX_HEADER)
    {
        return FEDI_HTTPSIG_ETOOBIG;
    }

    m = malloc(sizeof(sf_member_t));
    if (m == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    /* Signature: every member checked, each label's value kept */
    p = signature;
    end = signature + signature_len;
    n = 0;

    for (i = 1; (r = sf_dict_next(&p, end, i)) == 1; i = 0) {
        rc = sf_member(&p, end, m);
        if (rc != FEDI_HTTPSIG_OK) {
            goto done;
        }

        rc = hs_label_add(sigs, &n, m);
        if (rc != FEDI_HTTPSIG_OK) {
            goto done;
        }
    }

    if (r < 0) {
        rc = FEDI_HTTPSIG_EPARSE;
        goto done;
    }

    /* Signature-Input: every member checked; the label asked for, or
     * the first one that has a signature */
    p = input;
    end = input + input_len;
    ni = 0;
    found = -1;

    for (i = 1; (r = sf_dict_next(&p, end, i)) == 1; i = 0) {
        rc = sf_member(&p, end, m);
        if (rc != FEDI_HTTPSIG_OK) {
            goto done;
        }

        rc = hs_label_add(ins, &ni, m);
        if (rc != FEDI_HTTPSIG_OK) {
            goto done;
        }

        if (found >= 0) {
            continue;
        }

        if (label != NULL
            && (strlen(label) != m->klen
                || memcmp(label, m->key, m->klen) != 0))
        {
            continue;
        }

        for (j = 0; j < n; j++) {
            if (sigs[j].klen == m->klen
                && memcmp(sigs[j].key, m->key, m->klen) == 0)
            {
                break;
            }
        }

        if (j == n) {
            continue;
        }

        found = (int) j;

        rc = hs_rfc9421_member(sig, m);
        if (rc != FEDI_HTTPSIG_OK) {
            goto done;
        }
    }

    if (r < 0) {
        rc = FEDI_HTTPSIG_EPARSE;
        goto done;
    }

    if (found < 0) {
        rc = FEDI_HTTPSIG_EMISSING;
        goto done;
    }

    if (sigs[found].inner || sigs[found].v.type != SF_BYTES) {
        rc = FEDI_HTTPSIG_EPARSE;
        goto done;
    }

    if (fedi_base64_decode(sigs[found].v.s, sigs[found].v.len, sig->sig,
                           sizeof(sig->sig), &sig->sig_len)
        != 0 || sig->sig_len == 0)
    {
        rc = sigs[found].v.len > 2 * FEDI_HTTPSIG_MAX_SIG
             ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_EPARSE;
        goto done;
    }

    rc = FEDI_HTTPSIG_OK;

done:

    free(m);

    return rc;
}


/* a dictionary's member remembered; a key given twice refused */
static int
hs_label_add(hs_label_t *labels, size_t *n, const sf_member_t *m)
{
    size_t  i;

    for (i = 0; i < *n; i++) {
        if (labels[i].klen == m->klen
            && memcmp(labels[i].key, m->key, m->klen) == 0)
        {
            return FEDI_HTTPSIG_EDUP;
        }
    }

    if (*n == HS_MAX_MEMBERS) {
        return FEDI_HTTPSIG_ETOOBIG;
    }

    labels[*n].key = m->key;
    labels[*n].klen = m->klen;
    labels[*n].inner = m->inner;
    labels[*n].v = m->items[0];
    (*n)++;

    return FEDI_HTTPSIG_OK;
}


/* a Signature-Input member into sig: components, parameters */
static int
hs_rfc9421_member(fedi_httpsig_t *sig, const sf_member_t *m)
{
    char                *d;
    size_t               i, j;
    hs_buf_t             b;
    const sf_param_t    *pr;
    fedi_httpsig_str_t  *c;

    if (!m->inner) {
        return FEDI_HTTPSIG_EPARSE;
    }

    d = hs_store(sig, m->key, m->klen);
    if (d == NULL) {
        return FEDI_HTTPSIG_ETOOBIG;
    }

    sig->label.data = d;
    sig->label.len = m->klen;

    for (i = 0; i < m->nitems; i++) {
        if (m->items[i].type != SF_STRING) {
            return FEDI_HTTPSIG_EPARSE;
        }

        /* ;sf ;key ;bs ;req ;tr and @query-param are not supported */
        if (m->item_params[i]
            || !hs_component_name(m->items[i].s, m->items[i].len))
        {
            return FEDI_HTTPSIG_ECOMPONENT;
        }

        for (j = 0; j < i; j++) {
            c = &sig->covered[j];
            if (c->len == m->items[i].len
                && memcmp(c->data, m->items[i].s, c->len) == 0)
            {
                return FEDI_HTTPSIG_EDUP;
            }
        }

        d = hs_store(sig, m->items[i].s, m->items[i].len);
        if (d == NULL) {
            return FEDI_HTTPSIG_ETOOBIG;
        }

        sig->covered[i].data = d;
        sig->covered[i].len = m->items[i].len;
    }

    sig->ncovered = m->nitems;

    for (i = 0; i < m->nparams; i++) {
        pr = &m->params[i];

        if (hs_ieq(pr->key, pr->klen, "created")
            || hs_ieq(pr->key, pr->klen, "expires"))
        {
            if (pr->v.type != SF_INTEGER || pr->v.i < 0) {
                return FEDI_HTTPSIG_EPARSE;
            }

            if (pr->key[0] == 'c') {
                sig->created = pr->v.i;
                sig->has_created = 1;

            } else {
                sig->expires = pr->v.i;
                sig->has_expires = 1;
            }

        } else if (hs_ieq(pr->key, pr->klen, "keyid")) {
            if (pr->v.type != SF_STRING || pr->v.len == 0
                || memchr(pr->v.s, '\\', pr->v.len))
            {
                return FEDI_HTTPSIG_EPARSE;
            }

            d = hs_store(sig, pr->v.s, pr->v.len);
            if (d == NULL) {
                return FEDI_HTTPSIG_ETOOBIG;
            }

            sig->key_id.data = d;
            sig->key_id.len = pr->v.len;

        } else if (hs_ieq(pr->key, pr->klen, "alg")) {
            if (pr->v.type != SF_STRING) {
                return FEDI_HTTPSIG_EPARSE;
            }

            if (hs_ieq(pr->v.s, pr->v.len, "rsa-v1_5-sha256")) {
                sig->alg = FEDI_HTTPSIG_ALG_RSA_SHA256;

            } else if (hs_ieq(pr->v.s, pr->v.len, "rsa-pss-sha512")) {
                sig->alg = FEDI_HTTPSIG_ALG_RSA_PSS_SHA512;

            } else if (hs_ieq(pr->v.s, pr->v.len, "ed25519")) {
                sig->alg = FEDI_HTTPSIG_ALG_ED25519;

            } else {
                return FEDI_HTTPSIG_EALG;
            }

        } else if (pr->v.type != SF_STRING && pr->v.type != SF_INTEGER
                   && pr->v.type != SF_TOKEN && pr->v.type != SF_BOOLEAN)
        {
            /* nonce, tag and the rest: kept as sent */
            return FEDI_HTTPSIG_EPARSE;
        }
    }

    if (sig->key_id.len == 0) {
        return FEDI_HTTPSIG_EMISSING;
    }

    /* @signature-params: the member re-serialized (RFC 8941 4.1) */
    hs_buf_init(&b, sig->store + sig->store_len,
                sizeof(sig->store) - sig->store_len);

    hs_serialize_params(&b, m);

    if (b.over) {
        return FEDI_HTTPSIG_ETOOBIG;
    }

    sig->params.data = b.p;
    sig->params.len = b.len;
    sig->store_len += b.len;

    return FEDI_HTTPSIG_OK;
}


static void
hs_serialize_params(hs_buf_t *b, const sf_member_t *m)
{
    size_t             i;
    const sf_param_t  *pr;

    hs_put(b, "(", 1);

    for (i = 0; i < m->nitems; i++) {
        if (i) {
            hs_put(b, " ", 1);
        }

        hs_put(b, "\"", 1);
        hs_put(b, m->items[i].s, m->items[i].len);
        hs_put(b, "\"", 1);
    }

    hs_put(b, ")", 1);

    for (i = 0; i < m->nparams; i++) {
        pr = &m->params[i];

        hs_put(b, ";", 1);
        hs_put(b, pr->key, pr->klen);

        switch (pr->v.type) {

        case SF_INTEGER:
            hs_put(b, "=", 1);
            hs_put_int(b, pr->v.i);
            break;

        case SF_STRING:
            /* escapes as received: only \" and \\ parse, both canonical */
            hs_put(b, "=\"", 2);
            hs_put(b, pr->v.s, pr->v.len);
            hs_put(b, "\"", 1);
            break;

        case SF_TOKEN:
            hs_put(b, "=", 1);
            hs_put(b, pr->v.s, pr->v.len);
            break;

        case SF_BOOLEAN:
            if (!pr->v.i) {
                hs_put(b, "=?0", 3);
            }
            break;
        }
    }
}


/* a header name in lower case, or a derived component we know */
static int
hs_component_name(const char *s, size_t len)
{
    size_t              i;
    static const char  *derived[] = {
        "@method", "@target-uri", "@authority", "@scheme",
        "@request-target", "@path", "@query", NULL
    };

    if (len == 0) {
        return 0;
    }

    if (s[0] == '@') {
        for (i = 0; derived[i]; i++) {
            if (strlen(derived[i]) == len && memcmp(derived[i], s, len) == 0) {
                return 1;
            }
        }

        return 0;
    }

    if (len >= 64) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((s[i] >= 'A' && s[i] <= 'Z') || !hs_is_tchar((unsigned char) s[i]))
        {
            return 0;
        }
    }

    return 1;
}


/* the value of one covered component */
static int
hs_component(const fedi_httpsig_request_t *rq, const char *name, size_t len,
    hs_buf_t *b)
{
    size_t       i, plen;
    const char  *q;
    char         c;

    q = memchr(rq->target.data, '?', rq->target.len);
    plen = q ? (size_t) (q - rq->target.data) : rq->target.len;

    if (hs_ieq(name, len, "@method")) {
        hs_put(b, rq->method.data, rq->method.len);

    } else if (hs_ieq(name, len, "@target-uri")) {
        hs_put(b, rq->scheme.data, rq->scheme.len);
        hs_put(b, "://", 3);
        hs_put(b, rq->authority.data, rq->authority.len);
        hs_put(b, rq->target.data, rq->target.len);

    } else if (hs_ieq(name, len, "@authority")
               || hs_ieq(name, len, "host"))
    {
        /* our own name, whatever Host the client sent */
        for (i = 0; i < rq->authority.len; i++) {
            c = rq->authority.data[i];
            c = (c >= 'A' && c <= 'Z') ? c + 'a' - 'A' : c;
            hs_put(b, &c, 1);
        }

    } else if (hs_ieq(name, len, "@scheme")) {
        for (i = 0; i < rq->scheme.len; i++) {
            c = rq->scheme.data[i];
            c = (c >= 'A' && c <= 'Z') ? c + 'a' - 'A' : c;
            hs_put(b, &c, 1);
        }

    } else if (hs_ieq(name, len, "@request-target")) {
        hs_put(b, rq->target.data, rq->target.len);

    } else if (hs_ieq(name, len, "@path")) {
        if (plen == 0) {
            hs_put(b, "/", 1);
        } else {
            hs_put(b, rq->target.data, plen);
        }

    } else if (hs_ieq(name, len, "@query")) {
        hs_put(b, "?", 1);
        if (q != NULL) {
            hs_put(b, q + 1, rq->target.len - plen - 1);
        }

    } else if (len > 0 && name[0] == '@') {
        return FEDI_HTTPSIG_ECOMPONENT;

    } else {
        return hs_header(rq, name, len, b);
    }

    return FEDI_HTTPSIG_OK;
}


static int
hs_rfc9421_base(const fedi_httpsig_request_t *rq,
    const fedi_httpsig_str_t *names, size_t n, const char *params,
    size_t plen, hs_buf_t *b)
{
    int     rc;
    size_t  i;

    for (i = 0; i < n; i++) {
        hs_put(b, "\"", 1);
        hs_put(b, names[i].data, names[i].len);
        hs_put(b, "\": ", 3);

        rc = hs_component(rq, names[i].data, names[i].len, b);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }

        hs_put(b, "\n", 1);
    }

    hs_puts(b, "\"@signature-params\": ");
    hs_put(b, params, plen);

    return b->over ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_OK;
}


/* ---- both schemes ---- */

int
fedi_httpsig_parse(const fedi_httpsig_request_t *rq, fedi_httpsig_t *sig)
{
    int                           rc;
    char                         *in, *sv;
    hs_buf_t                      bi, bs;
    const fedi_httpsig_header_t  *h;

    h = hs_find(rq, "signature");
    if (h == NULL) {
        memset(sig, 0, offsetof(fedi_httpsig_t, store));
        sig->store_len = 0;
        return FEDI_HTTPSIG_ENOSIG;
    }

    if (hs_find(rq, "signature-input") == NULL) {

        /* a repeated Signature header is a second signature: refused */
        sv = malloc(FEDI_HTTPSIG_MAX_HEADER);
        if (sv == NULL) {
            return FEDI_HTTPSIG_EINTERNAL;
        }

        hs_buf_init(&bs, sv, FEDI_HTTPSIG_MAX_HEADER);

        rc = hs_header(rq, "signature", 9, &bs);
        if (rc == FEDI_HTTPSIG_OK) {
            rc = bs.over ? FEDI_HTTPSIG_ETOOBIG
                         : fedi_httpsig_cavage_parse(bs.p, bs.len, sig);
        }

        free(sv);

        return rc == FEDI_HTTPSIG_EHEADER ? FEDI_HTTPSIG_EPARSE : rc;
    }

    /* repeated fields join with ", ", a dictionary's own separator */
    in = malloc(2 * FEDI_HTTPSIG_MAX_HEADER);
    if (in == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    hs_buf_init(&bi, in, FEDI_HTTPSIG_MAX_HEADER);

    hs_buf_init(&bs, in + FEDI_HTTPSIG_MAX_HEADER, FEDI_HTTPSIG_MAX_HEADER);

    rc = hs_header(rq, "signature-input", 15, &bi);
    if (rc == FEDI_HTTPSIG_OK) {
        rc = hs_header(rq, "signature", 9, &bs);
    }

    if (rc == FEDI_HTTPSIG_OK) {
        rc = (bi.over || bs.over)
             ? FEDI_HTTPSIG_ETOOBIG
             : fedi_httpsig_rfc9421_parse(bi.p, bi.len, bs.p, bs.len, NULL,
                                          sig);
    } else {
        rc = FEDI_HTTPSIG_EPARSE;
    }

    free(in);

    return rc;
}


int
fedi_httpsig_base(const fedi_httpsig_t *sig, const fedi_httpsig_request_t *rq,
    int with_query, char *out, size_t size, size_t *len)
{
    int       rc;
    hs_buf_t  b;

    hs_buf_init(&b, out, size);

    if (sig->scheme == FEDI_HTTPSIG_CAVAGE) {
        rc = hs_cavage_base(rq, sig->covered, sig->ncovered, sig, with_query,
                            &b);

    } else if (sig->scheme == FEDI_HTTPSIG_RFC9421) {
        rc = hs_rfc9421_base(rq, sig->covered, sig->ncovered,
                             sig->params.data, sig->params.len, &b);

    } else {
        rc = FEDI_HTTPSIG_ENOSIG;
    }

    *len = b.len;

    return rc;
}


int
fedi_httpsig_check(const fedi_httpsig_t *sig, const fedi_httpsig_request_t *rq,
    time_t now)
{
    int                           rc, body, signed_expires;
    char                          value[1024];
    time_t                        created, expires, limit;
    hs_buf_t                      b;
    hs_cover_t                    cv;
    const fedi_httpsig_header_t  *h;

    memset(&cv, 0, sizeof(cv));

    if (sig->scheme == FEDI_HTTPSIG_CAVAGE) {
        cv.target = hs_covers(sig, "(request-target)");
        cv.host = hs_covers(sig, "host");
        cv.date = hs_covers(sig, "date") || hs_covers(sig, "(created)");
        cv.digest = hs_covers(sig, "digest");

    } else if (sig->scheme == FEDI_HTTPSIG_RFC9421) {
        cv.target = hs_covers(sig, "@method")
                    && (hs_covers(sig, "@target-uri")
                        || hs_covers(sig, "@path")
                        || hs_covers(sig, "@request-target"));
        cv.host = hs_covers(sig, "@target-uri") || hs_covers(sig, "@authority")
                  || hs_covers(sig, "host");
        cv.date = sig->has_created;
        cv.digest = hs_covers(sig, "digest");
        cv.content_digest = hs_covers(sig, "content-digest");

        if (!sig->has_created) {
            return FEDI_HTTPSIG_EMISSING;
        }

    } else {
        return FEDI_HTTPSIG_ENOSIG;
    }

    if (!cv.target) {
        return FEDI_HTTPSIG_ECOVER_TARGET;
    }

    if (!cv.host) {
        return FEDI_HTTPSIG_ECOVER_HOST;
    }

    if (!cv.date) {
        return FEDI_HTTPSIG_ECOVER_DATE;
    }

    body = rq->body_len > 0
           || !(hs_ieq(rq->method.data, rq->method.len, "get")
                || hs_ieq(rq->method.data, rq->method.len, "head"));

    if (body && !cv.digest && !cv.content_digest) {
        return FEDI_HTTPSIG_ECOVER_DIGEST;
    }

    /*
     * The time signed: created when it is signed (always in RFC 9421,
     * in draft-cavage when (created) is covered), else the Date header,
     * which is covered then.  Unlike Mastodon, an unsigned created or
     * expires of a draft-cavage header is ignored: anyone may add one
     * to a captured request to stretch its window.
     */
    signed_expires = sig->has_expires
                     && (sig->scheme == FEDI_HTTPSIG_RFC9421
                         || hs_covers(sig, "(expires)"));

    if (sig->has_created
        && (sig->scheme == FEDI_HTTPSIG_RFC9421 || hs_covers(sig, "(created)")))
    {
        created = (time_t) sig->created;

    } else {
        h = hs_find(rq, "date");
        if (h == NULL) {
            return FEDI_HTTPSIG_EHEADER;
        }

        if (fedi_httpsig_parse_date(h->value.data, h->value.len, &created)
            != 0)
        {
            return FEDI_HTTPSIG_EDATE;
        }
    }

    if (created > now + FEDI_HTTPSIG_CLOCK_SKEW) {
        return FEDI_HTTPSIG_EFUTURE;
    }

    limit = created + FEDI_HTTPSIG_MAX_TTL;

    if (signed_expires) {
        expires = (time_t) sig->expires;

        if (now > expires + HS_EXPIRES_SKEW) {
            return FEDI_HTTPSIG_EEXPIRED;
        }

    } else {
        expires = created + FEDI_HTTPSIG_DEFAULT_TTL;
    }

    if (expires > limit) {
        expires = limit;
    }

    if (now > expires + FEDI_HTTPSIG_CLOCK_SKEW) {
        return FEDI_HTTPSIG_EEXPIRED;
    }

    /* every value signed is checked: repeated headers joined */
    if (cv.digest) {
        hs_buf_init(&b, value, sizeof(value));

        rc = hs_header(rq, "digest", 6, &b);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }

        rc = b.over ? FEDI_HTTPSIG_EDIGEST
                    : fedi_httpsig_digest_check(b.p, b.len, rq->body,
                                                rq->body_len);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }
    }

    if (cv.content_digest) {
        hs_buf_init(&b, value, sizeof(value));

        rc = hs_header(rq, "content-digest", 14, &b);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }

        rc = b.over ? FEDI_HTTPSIG_EDIGEST
                    : fedi_httpsig_content_digest_check(b.p, b.len, rq->body,
                                                        rq->body_len);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }
    }

    return FEDI_HTTPSIG_OK;
}


/* ---- keys and the primitives ---- */

static int
hs_key_usable(EVP_PKEY *key)
{
    int  id, bits;

    id = EVP_PKEY_get_base_id(key);

    if (id == EVP_PKEY_RSA) {
        bits = EVP_PKEY_get_bits(key);
        if (bits < FEDI_HTTPSIG_MIN_RSA_BITS
            || bits > FEDI_HTTPSIG_MAX_RSA_BITS)
        {
            return FEDI_HTTPSIG_EKEY;
        }

        return FEDI_HTTPSIG_OK;
    }

    return id == EVP_PKEY_ED25519 ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EKEY;
}


/* the algorithm the key takes, refusing a key of another kind */
static int
hs_alg_for_key(int alg, EVP_PKEY *key, int *out)
{
    int  id;

    id = EVP_PKEY_get_base_id(key);

    switch (alg) {

    case FEDI_HTTPSIG_ALG_NONE:
        *out = (id == EVP_PKEY_ED25519) ? FEDI_HTTPSIG_ALG_ED25519
                                        : FEDI_HTTPSIG_ALG_RSA_SHA256;
        return FEDI_HTTPSIG_OK;

    case FEDI_HTTPSIG_ALG_RSA_SHA256:
    case FEDI_HTTPSIG_ALG_RSA_PSS_SHA512:
        *out = alg;
        return id == EVP_PKEY_RSA ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EKEYTYPE;

    case FEDI_HTTPSIG_ALG_ED25519:
        *out = alg;
        return id == EVP_PKEY_ED25519 ? FEDI_HTTPSIG_OK
                                      : FEDI_HTTPSIG_EKEYTYPE;
    }

    return FEDI_HTTPSIG_EALG;
}


/* a context to sign or verify with alg: RSA padding set for PSS */
static EVP_MD_CTX *
hs_md_ctx(int alg, EVP_PKEY *key, int sign)
{
    int            r;
    EVP_MD_CTX    *ctx;
    EVP_PKEY_CTX  *pctx;
    const EVP_MD  *md;

    md = (alg == FEDI_HTTPSIG_ALG_ED25519) ? NULL
         : (alg == FEDI_HTTPSIG_ALG_RSA_PSS_SHA512) ? EVP_sha512()
         : EVP_sha256();

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return NULL;
    }

    r = sign ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
             : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);

    if (r == 1 && alg == FEDI_HTTPSIG_ALG_RSA_PSS_SHA512
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 64) != 1
            || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha512()) != 1))
    {
        r = 0;
    }

    if (r != 1) {
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }

    return ctx;
}


static int
hs_verify_raw(int alg, EVP_PKEY *key, const char *msg, size_t len,
    const unsigned char *sig, size_t sig_len)
{
    int          r;
    EVP_MD_CTX  *ctx;

    ctx = hs_md_ctx(alg, key, 0);
    if (ctx == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    r = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *) msg, len);

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return r == 1 ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EVERIFY;
}


static int
hs_sign_raw(int alg, EVP_PKEY *key, const char *msg, size_t len,
    unsigned char *sig, size_t *sig_len)
{
    int          r;
    EVP_MD_CTX  *ctx;

    ctx = hs_md_ctx(alg, key, 1);
    if (ctx == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    r = EVP_DigestSign(ctx, NULL, sig_len, (const unsigned char *) msg, len);

    if (r == 1 && *sig_len <= FEDI_HTTPSIG_MAX_SIG) {
        r = EVP_DigestSign(ctx, sig, sig_len, (const unsigned char *) msg,
                           len);
    } else {
        r = 0;
    }

    EVP_MD_CTX_free(ctx);
    ERR_clear_error();

    return r == 1 ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EINTERNAL;
}


int
fedi_httpsig_verify(const fedi_httpsig_t *sig,
    const fedi_httpsig_request_t *rq, EVP_PKEY *key)
{
    int      rc, alg;
    char    *base;
    size_t   len;

    if (key == NULL) {
        return FEDI_HTTPSIG_EKEY;
    }

    rc = hs_key_usable(key);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    rc = hs_alg_for_key(sig->alg, key, &alg);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    base = malloc(FEDI_HTTPSIG_MAX_BASE);
    if (base == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    rc = fedi_httpsig_base(sig, rq, 1, base, FEDI_HTTPSIG_MAX_BASE, &len);
    if (rc == FEDI_HTTPSIG_OK) {
        rc = hs_verify_raw(alg, key, base, len, sig->sig, sig->sig_len);
    }

    /* Mastodon before 4.3 left the query out of (request-target) */
    if (rc == FEDI_HTTPSIG_EVERIFY && sig->scheme == FEDI_HTTPSIG_CAVAGE
        && memchr(rq->target.data, '?', rq->target.len) != NULL
        && hs_covers(sig, "(request-target)"))
    {
        rc = fedi_httpsig_base(sig, rq, 0, base, FEDI_HTTPSIG_MAX_BASE, &len);
        if (rc == FEDI_HTTPSIG_OK) {
            rc = hs_verify_raw(alg, key, base, len, sig->sig, sig->sig_len);
        }
    }

    free(base);

    return rc;
}


/* ---- signing ---- */

int
fedi_httpsig_cavage_sign(const fedi_httpsig_request_t *rq,
    const char *const *names, size_t nnames, const char *key_id,
    EVP_PKEY *key, char *out, size_t size)
{
    int                 rc, alg;
    char               *base;
    size_t              i, sig_len;
    hs_buf_t            b, o;
    unsigned char       sig[FEDI_HTTPSIG_MAX_SIG];
    char                b64[2 * FEDI_HTTPSIG_MAX_SIG];
    fedi_httpsig_str_t  list[FEDI_HTTPSIG_MAX_COVERED];

    if (nnames == 0 || nnames > FEDI_HTTPSIG_MAX_COVERED || key == NULL) {
        return FEDI_HTTPSIG_EPARSE;
    }

    if (strpbrk(key_id, "\"\\\r\n") != NULL) {
        return FEDI_HTTPSIG_EPARSE;
    }

    rc = hs_alg_for_key(FEDI_HTTPSIG_ALG_NONE, key, &alg);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    for (i = 0; i < nnames; i++) {
        list[i].data = names[i];
        list[i].len = strlen(names[i]);
    }

    base = malloc(FEDI_HTTPSIG_MAX_BASE);
    if (base == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    hs_buf_init(&b, base, FEDI_HTTPSIG_MAX_BASE);

    rc = hs_cavage_base(rq, list, nnames, NULL, 1, &b);
    if (rc == FEDI_HTTPSIG_OK) {
        rc = hs_sign_raw(alg, key, b.p, b.len, sig, &sig_len);
    }

    free(base);

    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    fedi_base64_encode(sig, sig_len, b64);

    hs_buf_init(&o, out, size);

    hs_puts(&o, "keyId=\"");
    hs_puts(&o, key_id);
    hs_puts(&o, alg == FEDI_HTTPSIG_ALG_ED25519
                ? "\",algorithm=\"hs2019\",headers=\""
                : "\",algorithm=\"rsa-sha256\",headers=\"");

    for (i = 0; i < nnames; i++) {
        if (i) {
            hs_put(&o, " ", 1);
        }
        hs_puts(&o, names[i]);
    }

    hs_puts(&o, "\",signature=\"");
    hs_puts(&o, b64);
    hs_put(&o, "\"", 2);             /* with the NUL */

    return o.over ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_OK;
}


int
fedi_httpsig_rfc9421_sign(const fedi_httpsig_request_t *rq,
    const char *const *components, size_t ncomponents, const char *label,
    const char *key_id, int alg, time_t created, EVP_PKEY *key,
    char *input, size_t input_size, char *signature, size_t sig_size)
{
    int                 rc, a;
    char               *base, *params;
    size_t              i, sig_len;
    hs_buf_t            b, pb, o;
    unsigned char       sig[FEDI_HTTPSIG_MAX_SIG];
    char                b64[2 * FEDI_HTTPSIG_MAX_SIG];
    const char         *lp;
    fedi_httpsig_str_t  list[FEDI_HTTPSIG_MAX_COVERED];

    if (ncomponents > FEDI_HTTPSIG_MAX_COVERED || key == NULL
        || strpbrk(key_id, "\"\\") != NULL)
    {
        return FEDI_HTTPSIG_EPARSE;
    }

    for (lp = label; *lp; lp++) {
        if (!((*lp >= 'a' && *lp <= 'z') || (*lp >= '0' && *lp <= '9')
              || *lp == '-' || *lp == '_'))
        {
            return FEDI_HTTPSIG_EPARSE;
        }
    }

    for (lp = key_id; *lp; lp++) {
        if ((unsigned char) *lp < 0x20 || (unsigned char) *lp > 0x7e) {
            return FEDI_HTTPSIG_EPARSE;
        }
    }

    if (lp == key_id || label[0] < 'a' || label[0] > 'z') {
        return FEDI_HTTPSIG_EPARSE;
    }

    rc = hs_alg_for_key(alg, key, &a);
    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    for (i = 0; i < ncomponents; i++) {
        list[i].data = components[i];
        list[i].len = strlen(components[i]);

        if (!hs_component_name(list[i].data, list[i].len)) {
            return FEDI_HTTPSIG_ECOMPONENT;
        }
    }

    base = malloc(FEDI_HTTPSIG_MAX_BASE + FEDI_HTTPSIG_MAX_HEADER);
    if (base == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    params = base + FEDI_HTTPSIG_MAX_BASE;

    hs_buf_init(&pb, params, FEDI_HTTPSIG_MAX_HEADER);

    hs_put(&pb, "(", 1);

    for (i = 0; i < ncomponents; i++) {
        if (i) {
            hs_put(&pb, " ", 1);
        }
        hs_put(&pb, "\"", 1);
        hs_puts(&pb, components[i]);
        hs_put(&pb, "\"", 1);
    }

    hs_puts(&pb, ");created=");
    hs_put_int(&pb, (int64_t) created);
    hs_puts(&pb, ";keyid=\"");
    hs_puts(&pb, key_id);
    hs_puts(&pb, "\";alg=\"");
    hs_puts(&pb, a == FEDI_HTTPSIG_ALG_ED25519 ? "ed25519"
                 : a == FEDI_HTTPSIG_ALG_RSA_PSS_SHA512 ? "rsa-pss-sha512"
                 : "rsa-v1_5-sha256");
    hs_put(&pb, "\"", 1);

    hs_buf_init(&b, base, FEDI_HTTPSIG_MAX_BASE);

    rc = pb.over ? FEDI_HTTPSIG_ETOOBIG
                 : hs_rfc9421_base(rq, list, ncomponents, pb.p, pb.len, &b);

    if (rc == FEDI_HTTPSIG_OK) {
        rc = hs_sign_raw(a, key, b.p, b.len, sig, &sig_len);
    }

    if (rc == FEDI_HTTPSIG_OK) {
        hs_buf_init(&o, input, input_size);

        hs_puts(&o, label);
        hs_put(&o, "=", 1);
        hs_put(&o, pb.p, pb.len);
        hs_put(&o, "", 1);

        rc = o.over ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_OK;
    }

    free(base);

    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    fedi_base64_encode(sig, sig_len, b64);

    hs_buf_init(&o, signature, sig_size);

    hs_puts(&o, label);
    hs_put(&o, "=:", 2);
    hs_puts(&o, b64);
    hs_put(&o, ":", 2);             /* with the NUL */

    return o.over ? FEDI_HTTPSIG_ETOOBIG : FEDI_HTTPSIG_OK;
}


/* ---- dates and digests ---- */

void
fedi_httpsig_date(time_t t, char *out)
{
    struct tm          tm;
    static const char  days[] = "SunMonTueWedThuFriSat";
    static const char  months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

    /* not strftime: %a and %b follow the locale */
    gmtime_r(&t, &tm);
    snprintf(out, FEDI_HTTPSIG_DATE_LEN + 1,
             "%.3s, %02u %.3s %04u %02u:%02u:%02u GMT",
             days + 3 * (tm.tm_wday % 7), (unsigned) tm.tm_mday % 100,
             months + 3 * (tm.tm_mon % 12),
             (unsigned) (tm.tm_year + 1900) % 10000,
             (unsigned) tm.tm_hour % 100, (unsigned) tm.tm_min % 100,
             (unsigned) tm.tm_sec % 100);
}


int
fedi_httpsig_parse_date(const char *s, size_t len, time_t *t)
{
    int                 i, n;
    struct tm           tm;
    static const char  *days = "SunMonTueWedThuFriSat";
    static const char  *months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const char   shape[] = "Aaa, 00 Aaa 0000 00:00:00 GMT";

    if (len != FEDI_HTTPSIG_DATE_LEN) {
        return -1;
    }

    for (i = 0; i < FEDI_HTTPSIG_DATE_LEN; i++) {
        if (shape[i] == '0') {
            if (s[i] < '0' || s[i] > '9') {
                return -1;
            }
        } else if (shape[i] == 'A' || shape[i] == 'a') {
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            {
                return -1;
            }
        } else if (s[i] != shape[i]) {
            return -1;
        }
    }

    for (n = 0; n < 7; n++) {
        if (memcmp(days + 3 * n, s, 3) == 0) {
            break;
        }
    }

    if (n == 7) {
        return -1;
    }

    memset(&tm, 0, sizeof(tm));

    for (n = 0; n < 12; n++) {
        if (memcmp(months + 3 * n, s + 8, 3) == 0) {
            break;
        }
    }

    if (n == 12) {
        return -1;
    }

    tm.tm_mon = n;
    tm.tm_mday = (s[5] - '0') * 10 + (s[6] - '0');
    tm.tm_year = (s[12] - '0') * 1000 + (s[13] - '0') * 100
                 + (s[14] - '0') * 10 + (s[15] - '0') - 1900;
    tm.tm_hour = (s[17] - '0') * 10 + (s[18] - '0');
    tm.tm_min = (s[20] - '0') * 10 + (s[21] - '0');
    tm.tm_sec = (s[23] - '0') * 10 + (s[24] - '0');

    if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23
        || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 70)
    {
        return -1;
    }

    *t = timegm(&tm);

    return 0;
}


void
fedi_httpsig_digest(const unsigned char *body, size_t len, char *out)
{
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256(body, len, md);
    memcpy(out, "SHA-256=", 8);
    fedi_base64_encode(md, sizeof(md), out + 8);
}


void
fedi_httpsig_content_digest(const unsigned char *body, size_t len, char *out)
{
    size_t         n;
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256(body, len, md);
    memcpy(out, "sha-256=:", 9);
    n = fedi_base64_encode(md, sizeof(md), out + 9);
    out[9 + n] = ':';
    out[10 + n] = '\0';
}


/* one offered digest: a known algorithm must match; others are skipped */
static int
hs_digest_one(const char *alg, size_t alen, const unsigned char *d,
    size_t dlen, const unsigned char *body, size_t body_len, int *seen)
{
    unsigned char  md[SHA512_DIGEST_LENGTH];

    if (hs_ieq(alg, alen, "sha-256")) {
        SHA256(body, body_len, md);
        *seen = 1;
        return fedi_ct_equal(d, dlen, md, SHA256_DIGEST_LENGTH)
               ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EDIGEST;
    }

    if (hs_ieq(alg, alen, "sha-512")) {
        SHA512(body, body_len, md);
        *seen = 1;
        return fedi_ct_equal(d, dlen, md, SHA512_DIGEST_LENGTH)
               ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EDIGEST;
    }

    return FEDI_HTTPSIG_OK;
}


int
fedi_httpsig_digest_check(const char *value, size_t len,
    const unsigned char *body, size_t body_len)
{
    int            rc, seen;
    size_t         dlen;
    const char    *p, *end, *alg, *v, *ve;
    unsigned char  d[SHA512_DIGEST_LENGTH];

    p = value;
    end = value + len;
    seen = 0;

    while (p < end) {
        hs_ows(&p, end);

        alg = p;
        while (p < end && *p != '=' && *p != ',') {
            p++;
        }

        if (p == end || *p != '=') {
            return FEDI_HTTPSIG_EDIGEST;
        }

        /* base64 holds '=': the value runs to the next comma */
        v = ++p;
        while (p < end && *p != ',') {
            p++;
        }

        ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) {
            ve--;
        }

        if (p < end) {
            p++;
        }

        if (!hs_ieq(alg, v - 1 - alg, "sha-256")
            && !hs_ieq(alg, v - 1 - alg, "sha-512"))
        {
            continue;
        }

        if (fedi_base64_decode(v, ve - v, d, sizeof(d), &dlen) != 0) {
            return FEDI_HTTPSIG_EDIGEST;
        }

        rc = hs_digest_one(alg, v - 1 - alg, d, dlen, body, body_len, &seen);
        if (rc != FEDI_HTTPSIG_OK) {
            return rc;
        }
    }

    return seen ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EDIGEST_ALG;
}


int
fedi_httpsig_content_digest_check(const char *value, size_t len,
    const unsigned char *body, size_t body_len)
{
    int            rc, r, i, seen;
    size_t         dlen;
    const char    *p, *end;
    sf_member_t   *m;
    unsigned char  d[SHA512_DIGEST_LENGTH];

    m = malloc(sizeof(sf_member_t));
    if (m == NULL) {
        return FEDI_HTTPSIG_EINTERNAL;
    }

    p = value;
    end = value + len;
    seen = 0;
    rc = FEDI_HTTPSIG_OK;

    for (i = 1; (r = sf_dict_next(&p, end, i)) == 1; i = 0) {
        rc = sf_member(&p, end, m);
        if (rc != FEDI_HTTPSIG_OK) {
            rc = FEDI_HTTPSIG_EDIGEST;
            break;
        }

        if (!hs_ieq(m->key, m->klen, "sha-256")
            && !hs_ieq(m->key, m->klen, "sha-512"))
        {
            continue;
        }

        if (m->inner || m->items[0].type != SF_BYTES
            || fedi_base64_decode(m->items[0].s, m->items[0].len, d,
                                  sizeof(d), &dlen) != 0)
        {
            rc = FEDI_HTTPSIG_EDIGEST;
            break;
        }

        rc = hs_digest_one(m->key, m->klen, d, dlen, body, body_len, &seen);
        if (rc != FEDI_HTTPSIG_OK) {
            break;
        }
    }

    free(m);

    if (rc != FEDI_HTTPSIG_OK) {
        return rc;
    }

    if (r < 0) {
        return FEDI_HTTPSIG_EDIGEST;
    }

    return seen ? FEDI_HTTPSIG_OK : FEDI_HTTPSIG_EDIGEST_ALG;
}


/* ---- PEM keys ---- */

EVP_PKEY *
fedi_httpsig_pubkey_parse(const char *pem, size_t len, int *rc)
{
    BIO                  *bio;
    long                  dlen;
    char                 *name, *header;
    EVP_PKEY             *key;
    unsigned char        *data;
    const unsigned char  *p;

    key = NULL;
    name = NULL;
    header = NULL;
    data = NULL;
    *rc = FEDI_HTTPSIG_EKEY;

    if (len == 0 || len > HS_MAX_KEY_PEM) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        *rc = FEDI_HTTPSIG_EINTERNAL;
        return NULL;
    }

    if (PEM_read_bio(bio, &name, &header, &data, &dlen) != 1) {
        goto done;
    }

    p = data;

    if (strcmp(name, "PUBLIC KEY") == 0) {
        key = d2i_PUBKEY(NULL, &p, dlen);

    } else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
        key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, dlen);
    }

    /* trailing bytes after the DER are not a key */
    if (key != NULL && p != data + dlen) {
        EVP_PKEY_free(key);
        key = NULL;
    }

    if (key != NULL) {
        *rc = hs_key_usable(key);

        if (*rc != FEDI_HTTPSIG_OK) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }

done:

    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    BIO_free(bio);
    ERR_clear_error();

    return key;
}


EVP_PKEY *
fedi_httpsig_privkey_parse(const char *pem, size_t len, int *rc)
{
    BIO       *bio;
    EVP_PKEY  *key;

    *rc = FEDI_HTTPSIG_EKEY;

    if (len == 0 || len > HS_MAX_KEY_PEM) {
        return NULL;
    }

    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        *rc = FEDI_HTTPSIG_EINTERNAL;
        return NULL;
    }

    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();

    if (key != NULL) {
        *rc = hs_key_usable(key);

        if (*rc != FEDI_HTTPSIG_OK) {
            EVP_PKEY_free(key);
            key = NULL;
        }
    }

    return key;
}


/* ---- the key cache ---- */

static uint64_t
hs_hash(const char *s, size_t len)
{
    size_t    i;
    uint64_t  h;

    h = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char) s[i]) * 1099511628211ULL;
    }

    return h;
}


fedi_httpsig_cache_t *
fedi_httpsig_cache_create(size_t max_entries, time_t max_age)
{
    size_t                 n;
    fedi_httpsig_cache_t  *c;

    if (max_entries == 0 || max_entries > (1 << 24)) {
        return NULL;
    }

    c = calloc(1, sizeof(fedi_httpsig_cache_t));
    if (c == NULL) {
        return NULL;
    }

    for (n = 16; n < max_entries; n <<= 1) { /* void */ }

    c->buckets = calloc(n, sizeof(hs_entry_t *));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }

    c->nbuckets = n;
    c->max = max_entries;
    c->max_age = max_age;

    return c;
}


static void
hs_cache_unlink(fedi_httpsig_cache_t *c, hs_entry_t *e)
{
    hs_entry_t  **pp;

    for (pp = &c->buckets[hs_hash(e->id, e->len) & (c->nbuckets - 1)];
         *pp != e;
         pp = &(*pp)->hnext)
    { /* void */ }

    *pp = e->hnext;

    if (e->prev) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }

    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }

    c->n--;
    EVP_PKEY_free(e->key);
    free(e);
}


EVP_PKEY *
fedi_httpsig_cache_get(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len, time_t now)
{
    hs_entry_t  *e;

    for (e = c->buckets[hs_hash(key_id, len) & (c->nbuckets - 1)];
         e != NULL;
         e = e->hnext)
    {
        if (e->len == len && memcmp(e->id, key_id, len) == 0) {
            break;
        }
    }

    if (e == NULL) {
        return NULL;
    }

    if (now - e->added > c->max_age) {
        hs_cache_unlink(c, e);
        return NULL;
    }

    /* to the front */
    if (e != c->head) {
        e->prev->next = e->next;

        if (e->next) {
            e->next->prev = e->prev;
        } else {
            c->tail = e->prev;
        }

        e->prev = NULL;
        e->next = c->head;
        c->head->prev = e;
        c->head = e;
    }

    return e->key;
}


int
fedi_httpsig_cache_put(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len, EVP_PKEY *key, time_t now)
{
    size_t       b;
    hs_entry_t  *e;

    if (EVP_PKEY_up_ref(key) != 1) {
        return -1;
    }

    fedi_httpsig_cache_remove(c, key_id, len);

    e = malloc(offsetof(hs_entry_t, id) + len + 1);
    if (e == NULL) {
        EVP_PKEY_free(key);
        return -1;
    }

    memcpy(e->id, key_id, len);
    e->id[len] = '\0';
    e->len = len;
    e->key = key;
    e->added = now;

    b = hs_hash(key_id, len) & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;

    e->prev = NULL;
    e->next = c->head;
    if (c->head) {
        c->head->prev = e;
    } else {
        c->tail = e;
    }
    c->head = e;
    c->n++;

    while (c->n > c->max) {
        hs_cache_unlink(c, c->tail);
    }

    return 0;
}


void
fedi_httpsig_cache_remove(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len)
{
    hs_entry_t  *e;

    for (e = c->buckets[hs_hash(key_id, len) & (c->nbuckets - 1)];
         e != NULL;
         e = e->hnext)
    {
        if (e->len == len && memcmp(e->id, key_id, len) == 0) {
            hs_cache_unlink(c, e);
            return;
        }
    }
}


size_t
fedi_httpsig_cache_size(fedi_httpsig_cache_t *c)
{
    return c->n;
}


void
fedi_httpsig_cache_destroy(fedi_httpsig_cache_t *c)
{
    if (c == NULL) {
        return;
    }

    while (c->head) {
        hs_cache_unlink(c, c->head);
    }

    free(c->buckets);
    free(c);
}
