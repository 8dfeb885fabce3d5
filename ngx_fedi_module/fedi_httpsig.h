/*
 * Copyright (C) ngx_fedi authors
 *
 * HTTP Signatures, pure C over OpenSSL, no nginx types: draft-cavage
 * (the fediverse's `Signature: keyId=...,headers=...,signature=...`) and
 * RFC 9421 HTTP Message Signatures (`Signature-Input` + `Signature`),
 * the body digests (`Digest: SHA-256=...`, RFC 9530 `Content-Digest`),
 * the inbox policy (what must be covered, the time window) and public
 * key parsing.  Unit-tested in t/unit/test_httpsig.c, fuzzed in
 * t/fuzz/fuzz_httpsig.c.
 *
 * Verifying an inbound request, in order (cheap checks before the key):
 *
 *     rc = fedi_httpsig_parse(&rq, sig);           scheme, keyId, covered
 *     rc = fedi_httpsig_check(sig, &rq, now);      policy, window, digest
 *     key = cache lookup of sig->key_id, else fetch the actor, then
 *           fedi_httpsig_pubkey_parse() and cache it
 *     rc = fedi_httpsig_verify(sig, &rq, key);
 *     FEDI_HTTPSIG_EVERIFY with a cached key: refetch the key once and
 *           verify again (key rotation); any other rc: 401 at once with
 *           {"error": fedi_httpsig_strerror(rc)}.
 *
 * Signing an outbound request: set Host, Date (fedi_httpsig_date) and,
 * with a body, Digest (fedi_httpsig_digest) and Content-Type on it, then
 * fedi_httpsig_cavage_sign() gives the Signature value (an RSA-2048 sign
 * costs ~1 ms: on the delivery process or a thread, not a worker).
 *
 * Every function returns FEDI_HTTPSIG_OK (0) or one of the codes below.
 *
 * The request description holds what the caller trusts: the authority
 * is this server's own name, and a covered "host" or "@authority" reads
 * it, never the Host header (CVE-2023-49079: a request signed for
 * another host must not verify here); the target is the request line's
 * path and query as received (r->unparsed_uri), the method
 * r->method_name, the headers every line of r->headers_in in order
 * (repeats are joined with ", "), the body the raw bytes received, in
 * one buffer.  Nothing is kept: strings of a fedi_httpsig_t point into
 * its own store (17 KB: allocate it from the request pool, not the
 * stack of a thread).
 *
 * Key cache: parsing a PEM key costs
 * ~1 ms in OpenSSL 3.0, 30 times a verification, so a worker keeps
 * EVP_PKEY pointers keyed by keyId (the string, exactly), LRU with a
 * bound (a few thousand entries) and an age (a day), freed with
 * EVP_PKEY_free on eviction, and drops an entry when the actor's key
 * changes (LISTEN/NOTIFY on key updates) or a verification with it
 * failed and the refetched key differs.  fedi_httpsig_cache_*() below is
 * that LRU, without locking (one per worker process); when to drop an
 * entry is the glue's business.
 */

#ifndef _FEDI_HTTPSIG_H_INCLUDED_
#define _FEDI_HTTPSIG_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/evp.h>


#define FEDI_HTTPSIG_MAX_HEADER    8192   /* Signature, Signature-Input */
#define FEDI_HTTPSIG_MAX_COVERED   32
#define FEDI_HTTPSIG_MAX_SIG       1024   /* bytes: RSA up to 8192 bits */
#define FEDI_HTTPSIG_MAX_BASE      16384  /* the string that is signed */
#define FEDI_HTTPSIG_MIN_RSA_BITS  2048
#define FEDI_HTTPSIG_MAX_RSA_BITS  8192

/* Mastodon's window (SignedRequest): the time signed (Date or created)
 * at most an hour ahead; the signature valid until created plus 5
 * minutes, or a signed expires, never past created plus 12 hours, with
 * an hour of clock skew on top.  Stricter than Mastodon: a signed
 * expires itself gets 5 minutes of skew, not an hour, and a draft-cavage
 * created or expires that headers= does not cover is ignored. */
#define FEDI_HTTPSIG_CLOCK_SKEW    3600
#define FEDI_HTTPSIG_DEFAULT_TTL   300
#define FEDI_HTTPSIG_MAX_TTL       43200

#define FEDI_HTTPSIG_DATE_LEN      29     /* IMF-fixdate, without NUL */
#define FEDI_HTTPSIG_DIGEST_LEN    53     /* "SHA-256=" + 44, with NUL */
#define FEDI_HTTPSIG_CDIGEST_LEN   55     /* "sha-256=:" + 44 + ":", NUL */


enum {
    FEDI_HTTPSIG_OK = 0,
    FEDI_HTTPSIG_ENOSIG,          /* no Signature header */
    FEDI_HTTPSIG_EPARSE,          /* a header does not parse */
    FEDI_HTTPSIG_EDUP,            /* a parameter or label given twice */
    FEDI_HTTPSIG_ETOOBIG,         /* over a FEDI_HTTPSIG_MAX_* bound */
    FEDI_HTTPSIG_EMISSING,        /* keyId, signature or created missing */
    FEDI_HTTPSIG_EALG,            /* unsupported algorithm */
    FEDI_HTTPSIG_ECOMPONENT,      /* unsupported covered component */
    FEDI_HTTPSIG_EHEADER,         /* a covered header is not in the
                                     request */
    FEDI_HTTPSIG_ECOVER_TARGET,   /* (request-target) / @method and
                                     @target-uri not covered */
    FEDI_HTTPSIG_ECOVER_HOST,     /* host not covered */
    FEDI_HTTPSIG_ECOVER_DATE,     /* neither date nor (created) */
    FEDI_HTTPSIG_ECOVER_DIGEST,   /* a body without a covered digest */
    FEDI_HTTPSIG_EDATE,           /* Date or created unreadable */
    FEDI_HTTPSIG_EFUTURE,         /* signed more than the skew ahead */
    FEDI_HTTPSIG_EEXPIRED,        /* too old, or past expires */
    FEDI_HTTPSIG_EDIGEST_ALG,     /* no SHA-256/512 digest offered */
    FEDI_HTTPSIG_EDIGEST,         /* the digest does not match the body */
    FEDI_HTTPSIG_EKEY,            /* unusable key (type, size, PEM) */
    FEDI_HTTPSIG_EKEYTYPE,        /* algorithm does not fit the key */
    FEDI_HTTPSIG_EVERIFY,         /* the signature does not verify */
    FEDI_HTTPSIG_EINTERNAL,       /* OpenSSL or memory failure */
    FEDI_HTTPSIG_NCODES
};

enum {
    FEDI_HTTPSIG_CAVAGE = 1,
    FEDI_HTTPSIG_RFC9421
};

/* algorithms: cavage names map onto these too */
enum {
    FEDI_HTTPSIG_ALG_NONE = 0,    /* from the key: RSA -> v1.5 SHA-256 */
    FEDI_HTTPSIG_ALG_RSA_SHA256,  /* rsa-sha256, rsa-v1_5-sha256 */
    FEDI_HTTPSIG_ALG_RSA_PSS_SHA512,
    FEDI_HTTPSIG_ALG_ED25519
};


typedef struct {
    const char  *data;
    size_t       len;
} fedi_httpsig_str_t;


typedef struct {
    fedi_httpsig_str_t  name;         /* any case */
    fedi_httpsig_str_t  value;
} fedi_httpsig_header_t;


/* a request as received (verify) or about to be sent (sign) */
typedef struct {
    fedi_httpsig_str_t            method;     /* "POST" */
    fedi_httpsig_str_t            scheme;     /* "https" */
    fedi_httpsig_str_t            authority;  /* our host[:port] */
    fedi_httpsig_str_t            target;     /* "/path?query" */
    const fedi_httpsig_header_t  *headers;    /* repeated names allowed */
    size_t                        nheaders;
    const unsigned char          *body;
    size_t                        body_len;
} fedi_httpsig_request_t;


/* a parsed signature of either scheme; strings point into store */
typedef struct {
    int                 scheme;
    int                 alg;          /* FEDI_HTTPSIG_ALG_* */
    int                 cavage_hs2019; /* algorithm="hs2019" or none */
    fedi_httpsig_str_t  key_id;
    fedi_httpsig_str_t  label;        /* RFC 9421 */
    fedi_httpsig_str_t  params;       /* RFC 9421: ("a" "b");created=..
                                         as re-serialized */
    int64_t             created;
    int64_t             expires;
    unsigned            has_created:1;
    unsigned            has_expires:1;
    fedi_httpsig_str_t  covered[FEDI_HTTPSIG_MAX_COVERED]; /* lower case */
    size_t              ncovered;
    unsigned char       sig[FEDI_HTTPSIG_MAX_SIG];
    size_t              sig_len;
    char                store[2 * FEDI_HTTPSIG_MAX_HEADER];
    size_t              store_len;
} fedi_httpsig_t;


/* a short message for a 401 body */
const char *fedi_httpsig_strerror(int rc);


/* ---- inbound ---- */

/* Signature-Input present: RFC 9421 (label: the first one that has a
 * Signature too), else Signature: draft-cavage, else ENOSIG */
int fedi_httpsig_parse(const fedi_httpsig_request_t *rq,
    fedi_httpsig_t *sig);

/* draft-cavage `Signature` value: keyId, algorithm (rsa-sha256, hs2019,
 * ed25519; none = hs2019), headers (default "(created)" for hs2019,
 * "date" otherwise), signature (base64), created, expires; quoted or
 * bare values, Mastodon's buggy "Signature " prefix tolerated,
 * duplicates and garbage refused, unknown parameters ignored */
int fedi_httpsig_cavage_parse(const char *value, size_t len,
    fedi_httpsig_t *sig);

/* RFC 9421 `Signature-Input` and `Signature` dictionaries (RFC 8941
 * subset: inner lists of strings, parameters, byte sequences); label
 * NULL: the first label of Signature-Input found in Signature */
int fedi_httpsig_rfc9421_parse(const char *input, size_t input_len,
    const char *signature, size_t signature_len, const char *label,
    fedi_httpsig_t *sig);

/* The policy, before any key is fetched: (request-target), or @method
 * with @target-uri (or @path / @request-target), covered; host (or
 * @authority, or @target-uri) covered; date or (created) covered
 * (RFC 9421: created present); a body (any method but GET and HEAD)
 * needs digest / content-digest covered; every covered digest matches
 * the body; the window of FEDI_HTTPSIG_CLOCK_SKEW & co. around now */
int fedi_httpsig_check(const fedi_httpsig_t *sig,
    const fedi_httpsig_request_t *rq, time_t now);

/* the signature over the rebuilt string with the key: RSA keys take
 * rsa-sha256 / hs2019 / rsa-v1_5-sha256 / rsa-pss-sha512, Ed25519 keys
 * hs2019 / ed25519.  draft-cavage with a query in the target is tried
 * with and without it, as Mastodon does for older senders */
int fedi_httpsig_verify(const fedi_httpsig_t *sig,
    const fedi_httpsig_request_t *rq, EVP_PKEY *key);

/* the string that is signed: draft-cavage (with_query 0 drops the query
 * from (request-target)) or the RFC 9421 signature base */
int fedi_httpsig_base(const fedi_httpsig_t *sig,
    const fedi_httpsig_request_t *rq, int with_query, char *out,
    size_t size, size_t *len);


/* ---- outbound ---- */

/* draft-cavage `Signature` value over the named headers, in order
 * (Mastodon: "(request-target)", "host", "date", "digest",
 * "content-type"), algorithm="rsa-sha256" for RSA keys, "hs2019" for
 * Ed25519; the request must carry those headers already */
int fedi_httpsig_cavage_sign(const fedi_httpsig_request_t *rq,
    const char *const *names, size_t nnames, const char *key_id,
    EVP_PKEY *key, char *out, size_t size);

/* RFC 9421 `Signature-Input` and `Signature` values for label over the
 * components, in order (Fedify: "@method", "@target-uri", "@authority",
 * "host", "date", "content-digest"), with alg, keyid and created */
int fedi_httpsig_rfc9421_sign(const fedi_httpsig_request_t *rq,
    const char *const *components, size_t ncomponents, const char *label,
    const char *key_id, int alg, time_t created, EVP_PKEY *key,
    char *input, size_t input_size, char *signature, size_t sig_size);


/* ---- pieces ---- */

/* IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" (out: 30 bytes) */
void fedi_httpsig_date(time_t t, char *out);
/* strict IMF-fixdate; 0 on success */
int fedi_httpsig_parse_date(const char *s, size_t len, time_t *t);

/* "SHA-256=base64" and "sha-256=:base64:" of the body */
void fedi_httpsig_digest(const unsigned char *body, size_t len, char *out);
void fedi_httpsig_content_digest(const unsigned char *body, size_t len,
    char *out);

/* Digest (RFC 3230) and Content-Digest (RFC 9530) values against the
 * body: every SHA-256 / SHA-512 offered must match, one at least */
int fedi_httpsig_digest_check(const char *value, size_t len,
    const unsigned char *body, size_t body_len);
int fedi_httpsig_content_digest_check(const char *value, size_t len,
    const unsigned char *body, size_t body_len);

/* a public key from PEM: "PUBLIC KEY" (SubjectPublicKeyInfo) or
 * "RSA PUBLIC KEY" (PKCS#1); RSA of 2048..8192 bits or Ed25519; NULL
 * with *rc set otherwise */
EVP_PKEY *fedi_httpsig_pubkey_parse(const char *pem, size_t len, int *rc);

/* a private key from PEM (PKCS#8 or PKCS#1), for signing */
EVP_PKEY *fedi_httpsig_privkey_parse(const char *pem, size_t len, int *rc);


/* ---- the per-worker key cache: an LRU keyed by keyId ---- */

typedef struct fedi_httpsig_cache_s  fedi_httpsig_cache_t;

fedi_httpsig_cache_t *fedi_httpsig_cache_create(size_t max_entries,
    time_t max_age);
/* a key of the cache (not a reference of the caller's) or NULL */
EVP_PKEY *fedi_httpsig_cache_get(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len, time_t now);
/* takes a reference of key; replaces an older entry; 0 on success */
int fedi_httpsig_cache_put(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len, EVP_PKEY *key, time_t now);
void fedi_httpsig_cache_remove(fedi_httpsig_cache_t *c, const char *key_id,
    size_t len);
size_t fedi_httpsig_cache_size(fedi_httpsig_cache_t *c);
void fedi_httpsig_cache_destroy(fedi_httpsig_cache_t *c);


#endif /* _FEDI_HTTPSIG_H_INCLUDED_ */
