/*
 * Secrets: digests, tokens, bcrypt (ours and Mastodon's $2a$), PKCE.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_crypto.h"


static int  n, failed;

#define OK(cond, name)                                                       \
    do {                                                                     \
        n++;                                                                 \
        if (cond) {                                                          \
            printf("ok %d - %s\n", n, name);                                 \
        } else {                                                             \
            failed++;                                                        \
            printf("not ok %d - %s\n", n, name);                             \
        }                                                                    \
    } while (0)


int
main(void)
{
    char   hex[65], a[64], b[64], hash[FEDI_HASH_LEN];
    char  *priv, *pub;

    fedi_sha256_hex((const unsigned char *) "abc", 3, hex);
    OK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad") == 0,
       "SHA-256 of abc (FIPS 180-2 vector)");

    OK(fedi_random_token(a, sizeof(a), 32) == 0 && strlen(a) == 43,
       "a token is 43 base64url characters");
    OK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789-_") == 43, "only URL-safe characters");
    OK(fedi_random_token(b, sizeof(b), 32) == 0 && strcmp(a, b) != 0,
       "two tokens differ");
    OK(fedi_random_token(a, 10, 32) != 0, "a short buffer is refused");

    OK(fedi_ct_equal("abc", 3, "abc", 3), "equal strings compare equal");
    OK(!fedi_ct_equal("abc", 3, "abd", 3), "different strings differ");
    OK(!fedi_ct_equal("abc", 3, "abcd", 4), "lengths differ");

    OK(fedi_password_hash("correct horse", hash) == 0
       && strncmp(hash, "$2b$10$", 7) == 0, "bcrypt hash, cost 10");
    OK(fedi_password_verify("correct horse", hash), "the password matches");
    OK(!fedi_password_verify("correct hors", hash), "another does not");
    OK(!fedi_password_verify("correct horse", "plain"),
       "a non-bcrypt hash never matches");
    OK(!fedi_password_verify("x", NULL), "no hash never matches");

    /* Mastodon (Devise) stores $2a$ hashes: OpenBSD's test vector */
    OK(fedi_password_verify("U*U",
           "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
       "OpenBSD $2a$ test vector U*U");
    OK(!fedi_password_verify("U*V",
           "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
       "and not its neighbour");

    /* RFC 7636 appendix B */
    OK(fedi_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
       "PKCE S256: RFC 7636's example");
    OK(!fedi_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
                       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
       "PKCE S256: a wrong verifier");

    OK(fedi_rsa_generate(&priv, &pub) == 0
       && strncmp(priv, "-----BEGIN PRIVATE KEY-----", 27) == 0
       && strncmp(pub, "-----BEGIN PUBLIC KEY-----", 26) == 0,
       "an RSA key pair in PEM");

    free(priv);
    free(pub);

    printf("1..%d\n", n);

    return failed ? 1 : 0;
}
