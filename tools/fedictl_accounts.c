/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl accounts create|modify and fedictl settings: what an operator
 * does to accounts and instance settings from the shell.  Blocking libpq
 * is fine here: this is not nginx.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <libpq-fe.h>

#include "fedi_crypto.h"
#include "fedictl.h"


static int fedictl_role_valid(const char *role);
static int fedictl_notify_user(PGconn *db, const char *user_id);


const char *
fedictl_opt(int argc, char **argv, const char *name)
{
    int  i;

    for (i = 0; i < argc - 1; i++) {
        if (strcmp(argv[i], name) == 0) {
            return argv[i + 1];
        }
    }

    return NULL;
}


int
fedictl_flag(int argc, char **argv, const char *name)
{
    int  i;

    for (i = 0; i < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
fedictl_role_valid(const char *role)
{
    return strcmp(role, "Owner") == 0 || strcmp(role, "Admin") == 0
           || strcmp(role, "Moderator") == 0 || strcmp(role, "") == 0
           || strcasecmp(role, "user") == 0;
}


PGresult *
fedictl_exec(PGconn *db, const char *sql, int n, const char **values)
{
    PGresult  *res;

    res = PQexecParams(db, sql, n, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK
        && PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return NULL;
    }

    return res;
}


/* workers drop what they cached about this user's tokens */
static int
fedictl_notify_user(PGconn *db, const char *user_id)
{
    char       what[64];
    PGresult  *res;
    const char  *v[1];

    snprintf(what, sizeof(what), "user:%s", user_id);
    v[0] = what;

    res = fedictl_exec(db, "SELECT fedi_cache_notify($1)", 1, v);
    if (res == NULL) {
        return 1;
    }

    PQclear(res);

    return 0;
}


/*
 * fedictl accounts create NAME --email E [--password P] [--confirmed]
 *     [--approve] [--role Owner|Admin|Moderator]
 */
int
fedictl_accounts_create(PGconn *db, int argc, char **argv)
{
    int          rc;
    char         password[64], hash[FEDI_HASH_LEN];
    char        *priv, *pub;
    const char  *name, *email, *pass, *role, *s, *v[15];
    PGresult    *res;

    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: fedictl accounts create NAME --email E "
                "[--password P] [--confirmed] [--approve] [--role R]\n");
        return 2;
    }

    name = argv[0];
    email = fedictl_opt(argc, argv, "--email");
    pass = fedictl_opt(argc, argv, "--password");
    role = fedictl_opt(argc, argv, "--role");

    if (email == NULL || strchr(email, '@') == NULL) {
        fprintf(stderr, "fedictl: --email ADDRESS is required\n");
        return 2;
    }

    for (s = name; *s; s++) {
        if (!(isalnum((unsigned char) *s) || *s == '_')) {
            fprintf(stderr, "fedictl: a username has only letters, digits "
                    "and underscores\n");
            return 2;
        }
    }

    if (strlen(name) == 0 || strlen(name) > 30) {
        fprintf(stderr, "fedictl: a username has 1 to 30 characters\n");
        return 2;
    }

    if (role && !fedictl_role_valid(role)) {
        fprintf(stderr, "fedictl: --role is Owner, Admin or Moderator\n");
        return 2;
    }

    if (role && strcasecmp(role, "user") == 0) {
        role = "";
    }

    if (pass == NULL) {
        if (fedi_random_token(password, sizeof(password), 16) != 0) {
            fprintf(stderr, "fedictl: no randomness\n");
            return 1;
        }

        pass = password;

    } else if (strlen(pass) < 8 || strlen(pass) > 72) {
        fprintf(stderr, "fedictl: a password has 8 to 72 characters\n");
        return 2;
    }

    if (fedi_password_hash(pass, hash) != 0
        || fedi_rsa_generate(&priv, &pub) != 0)
    {
        fprintf(stderr, "fedictl: hashing the password or making the "
                "account's keys failed\n");
        return 1;
    }

    v[0] = name;
    v[1] = email;
    v[2] = hash;
    v[3] = "en";
    v[4] = NULL;
    v[5] = NULL;
    v[6] = fedictl_flag(argc, argv, "--confirmed") ? "true" : "false";
    v[7] = fedictl_flag(argc, argv, "--approve") ? "true" : "false";
    v[8] = role;
    v[9] = priv;
    v[10] = pub;
    v[11] = NULL;
    v[12] = NULL;
    v[13] = NULL;
    v[14] = NULL;

    res = fedictl_exec(db,
                       "SELECT fedi_signup($1, $2, $3, $4, $5, $6::inet,"
                       " $7::boolean, $8::boolean, $9, $10, $11, $12,"
                       " $13::bigint, $14, $15)", 15, v);

    free(priv);
    free(pub);

    if (res == NULL) {
        return 1;
    }

    s = PQgetvalue(res, 0, 0);
    rc = 0;

    if (strcmp(s, "username_taken") == 0) {
        fprintf(stderr, "fedictl: the username %s is taken\n", name);
        rc = 1;

    } else if (strcmp(s, "email_taken") == 0) {
        fprintf(stderr, "fedictl: the address %s is taken\n", email);
        rc = 1;

    } else {
        printf("OK: created %s <%s>%s%s\n", name, email,
               role && role[0] ? " as " : "", role ? role : "");

        if (pass == password) {
            printf("New password: %s\n", password);
        }
    }

    PQclear(res);

    return rc;
}


/*
 * fedictl accounts modify NAME [--confirm] [--approve] [--disable]
 *     [--enable] [--role R] [--reset-password] [--email E]
 */
int
fedictl_accounts_modify(PGconn *db, int argc, char **argv)
{
    char         password[64], hash[FEDI_HASH_LEN];
    const char  *name, *role, *email, *v[8];
    PGresult    *res;
    int          reset;

    if (argc < 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: fedictl accounts modify NAME [--confirm] "
                "[--approve] [--disable] [--enable] [--role R] "
                "[--reset-password] [--email E]\n");
        return 2;
    }

    name = argv[0];
    role = fedictl_opt(argc, argv, "--role");
    email = fedictl_opt(argc, argv, "--email");
    reset = fedictl_flag(argc, argv, "--reset-password");

    if (role && !fedictl_role_valid(role)) {
        fprintf(stderr, "fedictl: --role is Owner, Admin, Moderator or "
                "user\n");
        return 2;
    }

    if (role && strcasecmp(role, "user") == 0) {
        role = "";
    }

    if (fedictl_flag(argc, argv, "--disable")
        && fedictl_flag(argc, argv, "--enable"))
    {
        fprintf(stderr, "fedictl: --disable or --enable, not both\n");
        return 2;
    }

    hash[0] = '\0';

    if (reset) {
        if (fedi_random_token(password, sizeof(password), 16) != 0
            || fedi_password_hash(password, hash) != 0)
        {
            fprintf(stderr, "fedictl: hashing the password failed\n");
            return 1;
        }
    }

    v[0] = name;
    v[1] = fedictl_flag(argc, argv, "--confirm") ? "true" : NULL;
    v[2] = fedictl_flag(argc, argv, "--approve") ? "true" : NULL;
    v[3] = fedictl_flag(argc, argv, "--disable") ? "true"
           : fedictl_flag(argc, argv, "--enable") ? "false" : NULL;
    v[4] = role;
    v[5] = reset ? hash : NULL;
    v[6] = email;

    res = fedictl_exec(db,
        "UPDATE users u SET"
        " confirmed_at = CASE WHEN $2::boolean THEN coalesce(confirmed_at,"
        "   now()) ELSE confirmed_at END,"
        " approved = approved OR coalesce($3::boolean, false),"
        " disabled = coalesce($4::boolean, disabled),"
        " role = coalesce($5, role),"
        " encrypted_password = coalesce($6, encrypted_password),"
        " email = coalesce($7, email),"
        " updated_at = now()"
        " FROM accounts a"
        " WHERE a.id = u.account_id AND a.domain IS NULL"
        " AND lower(a.username) = lower($1)"
        " RETURNING u.id", 7, v);

    if (res == NULL) {
        return 1;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: no local account %s\n", name);
        PQclear(res);
        return 1;
    }

    if (fedictl_notify_user(db, PQgetvalue(res, 0, 0)) != 0) {
        PQclear(res);
        return 1;
    }

    PQclear(res);

    if (reset) {
        /* a new password signs every session and token out */
        v[0] = name;
        res = fedictl_exec(db,
            "WITH u AS (SELECT u.id FROM users u JOIN accounts a"
            "   ON a.id = u.account_id WHERE a.domain IS NULL"
            "   AND lower(a.username) = lower($1)),"
            " s AS (DELETE FROM web_sessions WHERE user_id IN"
            "   (SELECT id FROM u))"
            " UPDATE oauth_access_tokens SET revoked_at = now()"
            " WHERE user_id IN (SELECT id FROM u) AND revoked_at IS NULL",
            1, v);

        if (res == NULL) {
            return 1;
        }

        PQclear(res);
        printf("New password: %s\n", password);
    }

    printf("OK\n");

    return 0;
}


/* fedictl settings registrations open|approved|closed */
int
fedictl_settings(PGconn *db, int argc, char **argv)
{
    const char  *v[1];
    PGresult    *res;

    if (argc == 2 && strcmp(argv[0], "registrations") == 0
        && (strcmp(argv[1], "open") == 0 || strcmp(argv[1], "approved") == 0
            || strcmp(argv[1], "closed") == 0))
    {
        v[0] = argv[1];

        res = fedictl_exec(db,
            "WITH s AS (INSERT INTO settings (key, value)"
            " VALUES ('registrations_mode', to_jsonb($1::text))"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
            " updated_at = now() RETURNING 1)"
            " SELECT fedi_cache_notify('instance') FROM s", 1, v);

        if (res == NULL) {
            return 1;
        }

        PQclear(res);
        printf("OK: registrations are %s\n", argv[1]);

        return 0;
    }

    if (argc == 1 && strcmp(argv[0], "registrations") == 0) {
        res = fedictl_exec(db,
            "SELECT value #>> '{}' FROM settings"
            " WHERE key = 'registrations_mode'", 0, NULL);

        if (res == NULL) {
            return 1;
        }

        printf("%s\n", PQntuples(res) ? PQgetvalue(res, 0, 0) : "open");
        PQclear(res);

        return 0;
    }

    fprintf(stderr, "usage: fedictl settings registrations "
            "[open|approved|closed]\n");

    return 2;
}
