/*
 * Secrets: digests, tokens, bcrypt (ours and Mastodon's $2a$), PKCE.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_crypto.h"


#include "tap.h"


int
main(void)
{
    char   hex[65], a[64], b[64], hash[FEDI_HASH_LEN];
    char  *priv, *pub;

    fedi_sha256_hex((const unsigned char *) "abc", 3, hex);
    ok(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223"
                   "b00361a396177a9cb410ff61f20015ad") == 0,
       "SHA-256 of abc (FIPS 180-2 vector)");

    ok(fedi_random_token(a, sizeof(a), 32) == 0 && strlen(a) == 43,
       "a token is 43 base64url characters");
    ok(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 "0123456789-_") == 43, "only URL-safe characters");
    ok(fedi_random_token(b, sizeof(b), 32) == 0 && strcmp(a, b) != 0,
       "two tokens differ");
    ok(fedi_random_token(a, 10, 32) != 0, "a short buffer is refused");

    ok(fedi_ct_equal("abc", 3, "abc", 3), "equal strings compare equal");
    ok(!fedi_ct_equal("abc", 3, "abd", 3), "different strings differ");
    ok(!fedi_ct_equal("abc", 3, "abcd", 4), "lengths differ");

    ok(fedi_password_hash("correct horse", hash) == 0
       && strncmp(hash, "$2b$10$", 7) == 0, "bcrypt hash, cost 10");
    ok(fedi_password_verify("correct horse", hash), "the password matches");
    ok(!fedi_password_verify("correct hors", hash), "another does not");
    ok(!fedi_password_verify("correct horse", "plain"),
       "a non-bcrypt hash never matches");
    ok(!fedi_password_verify("x", NULL), "no hash never matches");

    /* Mastodon (Devise) stores $2a$ hashes: OpenBSD's test vector */
    ok(fedi_password_verify("U*U",
           "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
       "OpenBSD $2a$ test vector U*U");
    ok(!fedi_password_verify("U*V",
           "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"),
       "and not its neighbour");

    /* RFC 7636 appendix B */
    ok(fedi_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                      "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
       "PKCE S256: RFC 7636's example");
    ok(!fedi_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
                       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
       "PKCE S256: a wrong verifier");

    ok(fedi_rsa_generate(&priv, &pub) == 0
       && strncmp(priv, "-----BEGIN PRIVATE KEY-----", 27) == 0
       && strncmp(pub, "-----BEGIN PUBLIC KEY-----", 26) == 0,
       "an RSA key pair in PEM");

    free(priv);
    free(pub);

    return done();
}
