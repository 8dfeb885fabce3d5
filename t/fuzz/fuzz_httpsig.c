/*
 * The HTTP Signatures parsers.  The first byte picks what the rest is:
 *
 *   0  a draft-cavage Signature value
 *   1  Signature-Input, '\n', Signature (RFC 9421)
 *   2  a Digest and a Content-Digest value, and base64
 *   3  a whole request: "Name: value" lines, a blank line, the body;
 *      parsed, checked, its signing string built and verified
 *   4  a PEM public key
 *   5  a Date
 *
 * Whatever the bytes: a code among the known ones; on success every
 * string of the signature inside its store, the bounds kept, the
 * re-serialized @signature-params parsing back to itself, a signing
 * string no longer than its buffer; base64 decoding then encoding then
 * decoding gives the same bytes; a date read is written back the same.
 */

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "fedi_crypto.h"
#include "fedi_httpsig.h"


#define MAX_HEADERS  16


static void check_rc(int rc);
static void check_str(const fedi_httpsig_t *sig, fedi_httpsig_str_t s);
static void check_sig(const fedi_httpsig_t *sig);
static void check_base(const fedi_httpsig_t *sig,
    const fedi_httpsig_request_t *rq);
static void fuzz_request(const char *s, size_t len);


static EVP_PKEY        *key;
static fedi_httpsig_t   sig, again;


static void
check_rc(int rc)
{
    if (rc < 0 || rc >= FEDI_HTTPSIG_NCODES
        || fedi_httpsig_strerror(rc) == NULL)
    {
        abort();
    }
}


static void
check_str(const fedi_httpsig_t *sig, fedi_httpsig_str_t s)
{
    if (s.len == 0) {
        return;
    }

    if (s.data < sig->store || s.data + s.len > sig->store + sig->store_len
        || sig->store_len > sizeof(sig->store))
    {
        abort();
    }
}


static void
check_sig(const fedi_httpsig_t *sig)
{
    size_t  i;

    /* RFC 9421 may cover nothing but its parameters */
    if ((sig->ncovered == 0 && sig->scheme == FEDI_HTTPSIG_CAVAGE)
        || sig->ncovered > FEDI_HTTPSIG_MAX_COVERED
        || sig->sig_len > FEDI_HTTPSIG_MAX_SIG || sig->key_id.len == 0)
    {
        abort();
    }

    check_str(sig, sig->key_id);
    check_str(sig, sig->label);
    check_str(sig, sig->params);

    for (i = 0; i < sig->ncovered; i++) {
        check_str(sig, sig->covered[i]);
    }
}


static void
check_base(const fedi_httpsig_t *sig, const fedi_httpsig_request_t *rq)
{
    int     rc;
    char    small[64], *big;
    size_t  len;

    rc = fedi_httpsig_base(sig, rq, 1, small, sizeof(small), &len);
    check_rc(rc);
    if (len > sizeof(small)) {
        abort();
    }

    big = malloc(FEDI_HTTPSIG_MAX_BASE);
    rc = fedi_httpsig_base(sig, rq, 0, big, FEDI_HTTPSIG_MAX_BASE, &len);
    check_rc(rc);
    if (len > FEDI_HTTPSIG_MAX_BASE) {
        abort();
    }
    free(big);
}


/* headers, a blank line, the body */
static void
fuzz_request(const char *s, size_t len)
{
    int                     rc;
    const char             *p, *end, *nl, *colon;
    fedi_httpsig_header_t   h[MAX_HEADERS];
    fedi_httpsig_request_t  rq;

    memset(&rq, 0, sizeof(rq));
    rq.method.data = "POST";
    rq.method.len = 4;
    rq.scheme.data = "https";
    rq.scheme.len = 5;
    rq.authority.data = "ours.example";
    rq.authority.len = 12;
    rq.target.data = "/inbox?a=b";
    rq.target.len = 10;
    rq.headers = h;

    p = s;
    end = s + len;

    while (p < end && rq.nheaders < MAX_HEADERS) {
        nl = memchr(p, '\n', end - p);
        nl = nl ? nl : end;

        if (nl == p) {
            p++;
            break;
        }

        colon = memchr(p, ':', nl - p);
        if (colon != NULL) {
            h[rq.nheaders].name.data = p;
            h[rq.nheaders].name.len = colon - p;
            h[rq.nheaders].value.data = colon + 1;
            h[rq.nheaders].value.len = nl - colon - 1;
            rq.nheaders++;
        }

        p = nl < end ? nl + 1 : end;
    }

    rq.body = (const unsigned char *) p;
    rq.body_len = end - p;

    rc = fedi_httpsig_parse(&rq, &sig);
    check_rc(rc);

    if (rc != FEDI_HTTPSIG_OK) {
        return;
    }

    check_sig(&sig);
    check_rc(fedi_httpsig_check(&sig, &rq, 1764000000));
    check_base(&sig, &rq);

    rc = fedi_httpsig_verify(&sig, &rq, key);
    check_rc(rc);

    /* no signature made by this key is in the corpus */
    if (rc == FEDI_HTTPSIG_OK) {
        abort();
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

    return key == NULL;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    int                     rc;
    char                   *s, *nl, *line, date[FEDI_HTTPSIG_DATE_LEN + 1];
    size_t                  len, n1, n2;
    time_t                  t, t2;
    EVP_PKEY               *k;
    unsigned char           b1[512], b2[512];
    static const char       body[] = "{\"hello\": \"world\"}";

    if (size < 1) {
        return 0;
    }

    /* an exact-size copy: ASan sees any read past the end */
    len = size - 1;
    s = malloc(len ? len : 1);
    memcpy(s, data + 1, len);

    switch (data[0] % 6) {

    case 0:
        rc = fedi_httpsig_cavage_parse(s, len, &sig);
        check_rc(rc);
        if (rc == FEDI_HTTPSIG_OK) {
            check_sig(&sig);
        }
        break;

    case 1:
        nl = memchr(s, '\n', len);
        n1 = nl ? (size_t) (nl - s) : len;
        rc = fedi_httpsig_rfc9421_parse(s, n1, nl ? nl + 1 : s + len,
                                        nl ? len - n1 - 1 : 0, NULL, &sig);
        check_rc(rc);

        if (rc != FEDI_HTTPSIG_OK) {
            break;
        }

        check_sig(&sig);

        /* the serialized parameters read back as themselves */
        line = malloc(sig.label.len + 1 + sig.params.len);
        memcpy(line, sig.label.data, sig.label.len);
        line[sig.label.len] = '=';
        memcpy(line + sig.label.len + 1, sig.params.data, sig.params.len);

        rc = fedi_httpsig_rfc9421_parse(line,
                                        sig.label.len + 1 + sig.params.len,
                                        nl + 1, len - n1 - 1, NULL, &again);
        if (rc != FEDI_HTTPSIG_OK || again.params.len != sig.params.len
            || memcmp(again.params.data, sig.params.data, sig.params.len)
               != 0)
        {
            abort();
        }

        free(line);
        break;

    case 2:
        nl = memchr(s, '\n', len);
        n1 = nl ? (size_t) (nl - s) : len;
        check_rc(fedi_httpsig_digest_check(s, n1,
                                           (const unsigned char *) body, 18));
        check_rc(fedi_httpsig_content_digest_check(s, n1,
                                           (const unsigned char *) body, 18));

        if (n1 < 300 && fedi_base64_decode(s, n1, b1, sizeof(b1), &n1) == 0)
        {
            char  enc[700];

            fedi_base64_encode(b1, n1, enc);
            if (fedi_base64_decode(enc, strlen(enc), b2, sizeof(b2), &n2)
                != 0 || n1 != n2 || memcmp(b1, b2, n1) != 0)
            {
                abort();
            }
        }
        break;

    case 3:
        fuzz_request(s, len);
        break;

    case 4:
        k = fedi_httpsig_pubkey_parse(s, len, &rc);
        check_rc(rc);
        if ((k == NULL) != (rc != FEDI_HTTPSIG_OK)) {
            abort();
        }
        EVP_PKEY_free(k);
        break;

    case 5:
        if (fedi_httpsig_parse_date(s, len, &t) == 0) {
            fedi_httpsig_date(t, date);
            if (fedi_httpsig_parse_date(date, FEDI_HTTPSIG_DATE_LEN, &t2) != 0
                || t2 != t)
            {
                abort();
            }
        }
        break;
    }

    free(s);

    return 0;
}
