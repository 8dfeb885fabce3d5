/*
 * Copyright (C) ngx_fedi authors
 *
 * Secrets: digests, random tokens, constant-time comparison, bcrypt,
 * PKCE, RSA keys.  Pure C over OpenSSL and libcrypt, no nginx types;
 * the slow ones (bcrypt, key generation) are called from nginx's thread
 * pool, never on the event loop.
 */

#ifndef _FEDI_CRYPTO_H_INCLUDED_
#define _FEDI_CRYPTO_H_INCLUDED_


#include <stddef.h>


#define FEDI_TOKEN_BYTES     32
#define FEDI_TOKEN_LEN       43          /* base64url of 32 bytes */
#define FEDI_SHA256_HEX_LEN  64
#define FEDI_BCRYPT_COST     10
#define FEDI_HASH_LEN        128


/* lower-case hex SHA-256 of in, NUL-terminated (out: 65 bytes) */
void fedi_sha256_hex(const unsigned char *in, size_t len, char *out);

/* standard base64 with padding, NUL-terminated (out: 4 * ceil(len / 3)
 * + 1 bytes); the length written */
size_t fedi_base64_encode(const unsigned char *in, size_t len, char *out);

/* standard base64, padding optional, nothing else allowed (no spaces,
 * no base64url, no stray bits); 0 on success */
int fedi_base64_decode(const char *in, size_t len, unsigned char *out,
    size_t size, size_t *outlen);

/* base64url of n random bytes, NUL-terminated; 0 on success */
int fedi_random_token(char *out, size_t outlen, size_t n);

/* 1 when equal; time depends on the length only */
int fedi_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* bcrypt ($2b$); out must hold FEDI_HASH_LEN bytes; 0 on success */
int fedi_password_hash(const char *password, char *out);

/* 1 when the password matches a bcrypt hash ($2a$, $2b$, $2y$) */
int fedi_password_verify(const char *password, const char *hash);

/* RFC 7636 S256: base64url(sha256(verifier)) == challenge */
int fedi_pkce_s256(const char *verifier, const char *challenge);

/* a new RSA-2048 key pair as PEM strings (malloc'd); 0 on success */
int fedi_rsa_generate(char **private_pem, char **public_pem);


#endif /* _FEDI_CRYPTO_H_INCLUDED_ */
