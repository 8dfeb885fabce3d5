/*
 * Copyright (C) ngx_fedi authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <crypt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "fedi_crypto.h"


static size_t fedi_base64url(const unsigned char *in, size_t len, char *out);
static size_t fedi_base64_with(const unsigned char *in, size_t len,
    char *out, const char *b64, int pad);


void
fedi_sha256_hex(const unsigned char *in, size_t len, char *out)
{
    size_t          i;
    unsigned char   md[SHA256_DIGEST_LENGTH];
    static const char  hex[] = "0123456789abcdef";

    SHA256(in, len, md);

    for (i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }

    out[2 * SHA256_DIGEST_LENGTH] = '\0';
}


static size_t
fedi_base64url(const unsigned char *in, size_t len, char *out)
{
    static const char  b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    return fedi_base64_with(in, len, out, b64url, 0);
}


size_t
fedi_base64_encode(const unsigned char *in, size_t len, char *out)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    return fedi_base64_with(in, len, out, b64, 1);
}


static size_t
fedi_base64_with(const unsigned char *in, size_t len, char *out,
    const char *b64, int pad)
{
    size_t    i, o;
    unsigned  v;

    o = 0;

    for (i = 0; i + 2 < len; i += 3) {
        v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }

    if (len - i == 1) {
        v = in[i] << 16;
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];

        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }

    } else if (len - i == 2) {
        v = (in[i] << 16) | (in[i + 1] << 8);
        out[o++] = b64[(v >> 18) & 63];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];

        if (pad) {
            out[o++] = '=';
        }
    }

    out[o] = '\0';

    return o;
}


int
fedi_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t size, size_t *outlen)
{
    int       c;
    size_t    i, o, n;
    unsigned  v;

    /* padding is optional; when given it must complete the quantum */
    if (len % 4 == 0 && len > 0 && in[len - 1] == '=') {
        len -= (in[len - 2] == '=') ? 2 : 1;
    }

    if (len % 4 == 1) {
        return -1;
    }

    n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (n > size) {
        return -1;
    }

    v = 0;
    o = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) in[i];

        if (c >= 'A' && c <= 'Z') {
            c -= 'A';
        } else if (c >= 'a' && c <= 'z') {
            c = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            c = c - '0' + 52;
        } else if (c == '+') {
            c = 62;
        } else if (c == '/') {
            c = 63;
        } else {
            return -1;
        }

        v = (v << 6) | c;

        if (i % 4 == 3) {
            out[o++] = (v >> 16) & 0xff;
            out[o++] = (v >> 8) & 0xff;
            out[o++] = v & 0xff;
            v = 0;
        }
    }

    /* the unused low bits of a partial quantum must be zero */
    if (len % 4 == 2) {
        if (v & 0xf) {
            return -1;
        }
        out[o++] = (v >> 4) & 0xff;

    } else if (len % 4 == 3) {
        if (v & 0x3) {
            return -1;
        }
        out[o++] = (v >> 10) & 0xff;
        out[o++] = (v >> 2) & 0xff;
    }

    *outlen = o;

    return 0;
}


int
fedi_random_token(char *out, size_t outlen, size_t n)
{
    unsigned char  buf[64];

    if (n > sizeof(buf) || outlen < (n * 4 + 2) / 3 + 1) {
        return -1;
    }

    if (RAND_bytes(buf, (int) n) != 1) {
        return -1;
    }

    fedi_base64url(buf, n, out);

    return 0;
}


int
fedi_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen) {
        return 0;
    }

    return CRYPTO_memcmp(a, b, alen) == 0;
}


int
fedi_password_hash(const char *password, char *out)
{
    char                salt[CRYPT_GENSALT_OUTPUT_SIZE];
    unsigned char       rnd[16];
    const char         *h;
    struct crypt_data   cd;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return -1;
    }

    if (crypt_gensalt_rn("$2b$", FEDI_BCRYPT_COST, (const char *) rnd,
                         sizeof(rnd), salt, sizeof(salt))
        == NULL)
    {
        return -1;
    }

    memset(&cd, 0, sizeof(cd));

    h = crypt_r(password, salt, &cd);
    if (h == NULL || h[0] == '*' || strlen(h) >= FEDI_HASH_LEN) {
        return -1;
    }

    strcpy(out, h);

    return 0;
}


int
fedi_password_verify(const char *password, const char *hash)
{
    int                 ok;
    const char         *h;
    struct crypt_data  *cd;

    if (hash == NULL || hash[0] != '$' || hash[1] != '2') {
        return 0;
    }

    /* struct crypt_data is 32 KB: not on a thread's stack */
    cd = calloc(1, sizeof(struct crypt_data));
    if (cd == NULL) {
        return 0;
    }

    h = crypt_r(password, hash, cd);

    ok = h != NULL && h[0] != '*'
         && fedi_ct_equal(h, strlen(h), hash, strlen(hash));

    free(cd);

    return ok;
}


int
fedi_pkce_s256(const char *verifier, const char *challenge)
{
    char           enc[64];
    unsigned char  md[SHA256_DIGEST_LENGTH];

    SHA256((const unsigned char *) verifier, strlen(verifier), md);
    fedi_base64url(md, sizeof(md), enc);

    return fedi_ct_equal(enc, strlen(enc), challenge, strlen(challenge));
}


int
fedi_rsa_generate(char **private_pem, char **public_pem)
{
    int        rc;
    BIO       *bpriv, *bpub;
    long       n;
    char      *p;
    EVP_PKEY  *key;

    rc = -1;
    bpriv = NULL;
    bpub = NULL;
    *private_pem = NULL;
    *public_pem = NULL;

    key = EVP_RSA_gen(2048);
    if (key == NULL) {
        return -1;
    }

    bpriv = BIO_new(BIO_s_mem());
    bpub = BIO_new(BIO_s_mem());
    if (bpriv == NULL || bpub == NULL) {
        goto done;
    }

    if (PEM_write_bio_PrivateKey(bpriv, key, NULL, NULL, 0, NULL, NULL) != 1
        || PEM_write_bio_PUBKEY(bpub, key) != 1)
    {
        goto done;
    }

    n = BIO_get_mem_data(bpriv, &p);
    *private_pem = strndup(p, n);

    n = BIO_get_mem_data(bpub, &p);
    *public_pem = strndup(p, n);

    if (*private_pem && *public_pem) {
        rc = 0;

    } else {
        free(*private_pem);
        free(*public_pem);
        *private_pem = NULL;
        *public_pem = NULL;
    }

done:

    BIO_free(bpriv);
    BIO_free(bpub);
    EVP_PKEY_free(key);

    return rc;
}
