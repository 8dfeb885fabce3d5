/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl accounts alias|move|rotate-key: what Mastodon's settings pages
 * do for moving an account, and a new key pair for one.
 *
 *   alias NAME ACCOUNT       ACCOUNT (local, user@domain or an actor's
 *                            URL) among NAME's alsoKnownAs: the account
 *                            NAME moves from, seen from the new one
 *   move NAME ACCOUNT        NAME moves to ACCOUNT, which must name NAME
 *                            in its alsoKnownAs (sql/0033: movedTo, Move
 *                            to the followers' servers, local followers
 *                            follow ACCOUNT instead)
 *   rotate-key NAME          a new RSA key pair under the same key id;
 *                            sql/0017's trigger sends the Update of the
 *                            actor with the new publicKey, and whatever
 *                            is sent from then on is signed with it
 *
 * A remote account is fetched here, with libcurl, synchronously (this is
 * not nginx): WebFinger for user@domain, then the actor, whose id must be
 * the URL it was fetched at.  --resolve HOST:PORT:ADDR and --cacert FILE
 * are curl's, for test labs.  The fetch is not signed: a server that
 * serves actors to signed requests only cannot be asked this way.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <libpq-fe.h>

#include "fedi_crypto.h"
#include "fedictl.h"


#define FEDICTL_FETCH_MAX  (1024 * 1024)


typedef struct {
    char    *data;
    size_t   len;
    int      too_big;
} fedictl_buf_t;


typedef struct {
    const char  *resolve;       /* --resolve HOST:PORT:ADDR */
    const char  *cacert;        /* --cacert FILE */
    char         base[512];     /* our base URL */
} fedictl_net_t;


static size_t
fedictl_fetch_write(char *p, size_t size, size_t n, void *data)
{
    char           *nd;
    fedictl_buf_t  *b = data;

    n *= size;

    if (b->len + n > FEDICTL_FETCH_MAX) {
        b->too_big = 1;
        return 0;
    }

    nd = realloc(b->data, b->len + n + 1);
    if (nd == NULL) {
        return 0;
    }

    b->data = nd;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';

    return n;
}


/* GET url (https only, no redirects): the body of a 200, or NULL */
static char *
fedictl_fetch(fedictl_net_t *net, const char *url, const char *accept)
{
    long                status;
    char                hdr[256];
    CURL               *c;
    CURLcode            rc;
    fedictl_buf_t       b;
    struct curl_slist  *headers, *resolve;

    memset(&b, 0, sizeof(b));
    headers = NULL;
    resolve = NULL;
    status = 0;

    c = curl_easy_init();
    if (c == NULL) {
        return NULL;
    }

    snprintf(hdr, sizeof(hdr), "Accept: %s", accept);
    headers = curl_slist_append(headers, hdr);

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "fedictl");
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long) FEDICTL_FETCH_MAX);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fedictl_fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);

    if (net->resolve) {
        resolve = curl_slist_append(resolve, net->resolve);
        curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
    }

    if (net->cacert) {
        curl_easy_setopt(c, CURLOPT_CAINFO, net->cacert);
    }

    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    curl_slist_free_all(resolve);

    if (rc != CURLE_OK || status != 200 || b.too_big || b.data == NULL) {
        fprintf(stderr, "fedictl: %s: %s\n", url,
                rc != CURLE_OK ? curl_easy_strerror(rc)
                : b.too_big ? "over 1 MB" : "not found (no 200)");
        free(b.data);
        return NULL;
    }

    return b.data;
}


/* the base URL the instance runs under (the delivery process records it) */
static int
fedictl_base(PGconn *db, fedictl_net_t *net)
{
    PGresult  *res;

    res = fedictl_exec(db, "SELECT value #>> '{}' FROM settings"
                           " WHERE key = 'base_url'", 0, NULL);
    if (res == NULL) {
        return -1;
    }

    if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)
        || (size_t) PQgetlength(res, 0, 0) >= sizeof(net->base))
    {
        fprintf(stderr, "fedictl: the instance's base URL is not known yet"
                        " (it is recorded when nginx starts)\n");
        PQclear(res);
        return -1;
    }

    strcpy(net->base, PQgetvalue(res, 0, 0));
    PQclear(res);

    return 0;
}


/* the id of a local account by name, or NULL (printed) */
static char *
fedictl_local(PGconn *db, const char *name)
{
    char        *id;
    PGresult    *res;
    const char  *v[1];

    v[0] = name;

    res = fedictl_exec(db, "SELECT id FROM accounts WHERE domain IS NULL"
                           " AND lower(username) = lower($1)", 1, v);
    if (res == NULL) {
        return NULL;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: no local account %s\n", name);
        PQclear(res);
        return NULL;
    }

    id = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);

    return id;
}


/*
 * ACCOUNT (a local name, name@our-domain, our actor's URL, user@domain
 * or a remote actor's URL) as an account id here, a remote one fetched
 * and stored (with its alsoKnownAs) in the transaction open on db.  NULL
 * after printing why.
 */
static char *
fedictl_account(PGconn *db, fedictl_net_t *net, const char *target)
{
    char        *url, *body, *id, *at, wf[1024], host[300];
    size_t       blen;
    PGresult    *res;
    const char  *v[3];

    blen = strlen(net->base);
    at = strchr(target, '@');

    /* ours */
    if (strncmp(target, net->base, blen) == 0
        && strncmp(target + blen, "/users/", 7) == 0)
    {
        return fedictl_local(db, target + blen + 7);
    }

    if (at == NULL && strncmp(target, "https://", 8) != 0) {
        return fedictl_local(db, target);
    }

    if (at && strcasecmp(at + 1, net->base + 8) == 0) {
        snprintf(host, sizeof(host), "%.*s", (int) (at - target), target);
        return fedictl_local(db, host);
    }

    /* a remote actor: its URL, or WebFinger's self link */
    if (strncmp(target, "https://", 8) == 0) {
        url = strdup(target);

    } else {
        if (target[0] == '@') {
            target++;
            at = strchr(target, '@');
        }

        if (at == NULL || at == target || at[1] == '\0'
            || strpbrk(target, "/?#&% ") != NULL)
        {
            fprintf(stderr, "fedictl: %s: not user@domain\n", target);
            return NULL;
        }

        snprintf(wf, sizeof(wf),
                 "https://%s/.well-known/webfinger?resource=acct:%s",
                 at + 1, target);

        body = fedictl_fetch(net, wf, "application/jrd+json");
        if (body == NULL) {
            return NULL;
        }

        /* the JSON is read by PostgreSQL: fedictl parses none */
        v[0] = body;
        res = fedictl_exec(db, "SELECT l ->> 'href' FROM"
                               " jsonb_array_elements($1::jsonb -> 'links') l"
                               " WHERE l ->> 'rel' = 'self'"
                               " AND l ->> 'href' LIKE 'https://%'"
                               " AND (l ->> 'type'"
                               "  = 'application/activity+json'"
                               "  OR l ->> 'type' LIKE 'application/ld+json%')"
                               " LIMIT 1", 1, v);
        free(body);

        if (res == NULL) {
            return NULL;
        }

        if (PQntuples(res) != 1) {
            fprintf(stderr, "fedictl: %s has no ActivityPub actor\n",
                    target);
            PQclear(res);
            return NULL;
        }

        url = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
    }

    if (url == NULL) {
        return NULL;
    }

    body = fedictl_fetch(net, url, "application/activity+json");
    if (body == NULL) {
        free(url);
        return NULL;
    }

    /* the same checks as for any actor fetched (sql/0011), its id the URL */
    snprintf(host, sizeof(host), "%.*s", (int) strcspn(url + 8, "/:?#"),
             url + 8);

    v[0] = body;
    v[1] = host;
    v[2] = url;

    res = fedictl_exec(db, "SELECT fedi_remote_account($1::jsonb, $2, $3)",
                       3, v);
    if (res == NULL) {
        free(body);
        free(url);
        return NULL;
    }

    if (PQgetisnull(res, 0, 0)) {
        fprintf(stderr, "fedictl: %s is no actor we take (its id must be"
                        " its URL)\n", url);
        PQclear(res);
        free(body);
        free(url);
        return NULL;
    }

    id = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);

    v[1] = id;
    res = fedictl_exec(db, "UPDATE accounts SET also_known_as ="
                           " fedi_ap_ids($1::jsonb -> 'alsoKnownAs')"
                           " WHERE id = $2::bigint", 2, v);
    free(body);
    free(url);

    if (res == NULL) {
        free(id);
        return NULL;
    }

    PQclear(res);

    return id;
}


static void
fedictl_net(int argc, char **argv, fedictl_net_t *net)
{
    net->resolve = fedictl_opt(argc, argv, "--resolve");
    net->cacert = fedictl_opt(argc, argv, "--cacert");
}


static int
fedictl_begin(PGconn *db)
{
    PGresult  *res;

    res = fedictl_exec(db, "BEGIN", 0, NULL);
    if (res == NULL) {
        return -1;
    }

    PQclear(res);

    return 0;
}


/* COMMIT when ok, else ROLLBACK; rc back */
static int
fedictl_end(PGconn *db, int ok, int rc)
{
    PGresult  *res;

    res = fedictl_exec(db, ok ? "COMMIT" : "ROLLBACK", 0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    PQclear(res);

    return rc;
}


int
fedictl_accounts_alias(PGconn *db, int argc, char **argv)
{
    int            rm;
    char          *me, *other;
    PGresult      *res;
    const char    *v[4];
    fedictl_net_t  net;

    if (argc < 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        fprintf(stderr, "fedictl: accounts alias NAME ACCOUNT [--remove]"
                        " [--resolve H:P:A] [--cacert F]\n");
        return FEDICTL_USAGE;
    }

    rm = fedictl_flag(argc, argv, "--remove");
    fedictl_net(argc, argv, &net);

    if (fedictl_base(db, &net) != 0 || fedictl_begin(db) != 0) {
        return FEDICTL_FAILED;
    }

    me = fedictl_local(db, argv[0]);
    other = me ? fedictl_account(db, &net, argv[1]) : NULL;

    if (other == NULL) {
        free(me);
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    /* the alias by its actor URI, as alsoKnownAs shows it */
    v[0] = me;
    v[1] = other;
    v[2] = net.base;
    v[3] = rm ? "t" : "f";

    res = fedictl_exec(db, "WITH o AS (SELECT CASE WHEN domain IS NULL"
                           "  THEN $3 || '/users/' || username ELSE uri END"
                           "  AS uri FROM accounts WHERE id = $2::bigint)"
                           " UPDATE accounts a SET also_known_as ="
                           " CASE WHEN $4::boolean"
                           "  THEN array_remove(a.also_known_as, o.uri)"
                           "  WHEN o.uri = ANY (a.also_known_as)"
                           "  THEN a.also_known_as"
                           "  ELSE a.also_known_as || o.uri END"
                           " FROM o WHERE a.id = $1::bigint"
                           " AND $1::bigint <> $2::bigint"
                           " RETURNING o.uri", 4, v);
    free(me);
    free(other);

    if (res == NULL) {
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: an account is no alias of itself\n");
        PQclear(res);
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    printf("%s: alias %s %s\n", argv[0], PQgetvalue(res, 0, 0),
           rm ? "removed" : "added");
    PQclear(res);

    return fedictl_end(db, 1, FEDICTL_OK);
}


int
fedictl_accounts_move(PGconn *db, int argc, char **argv)
{
    char          *me, *target;
    PGresult      *res;
    const char    *v[3], *out;
    fedictl_net_t  net;

    if (argc < 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        fprintf(stderr, "fedictl: accounts move NAME ACCOUNT"
                        " [--resolve H:P:A] [--cacert F]\n");
        return FEDICTL_USAGE;
    }

    fedictl_net(argc, argv, &net);

    if (fedictl_base(db, &net) != 0 || fedictl_begin(db) != 0) {
        return FEDICTL_FAILED;
    }

    me = fedictl_local(db, argv[0]);
    target = me ? fedictl_account(db, &net, argv[1]) : NULL;

    if (target == NULL) {
        free(me);
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    v[0] = me;
    v[1] = target;
    v[2] = net.base;

    res = fedictl_exec(db, "SELECT fedi_account_move($1::bigint, $2::bigint,"
                           " $3)", 3, v);
    free(me);
    free(target);

    if (res == NULL) {
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    out = PQgetvalue(res, 0, 0);

    if (strncmp(out, "moved ", 6) != 0) {
        fprintf(stderr, "fedictl: %s cannot move to %s: %s\n", argv[0],
                argv[1], out);
        PQclear(res);
        return fedictl_end(db, 0, FEDICTL_FAILED);
    }

    printf("%s moved to %s: Move sent to its followers' servers,"
           " %s local followers follow %s now\n", argv[0], argv[1],
           out + 6, argv[1]);
    PQclear(res);

    return fedictl_end(db, 1, FEDICTL_OK);
}


int
fedictl_accounts_rotate_key(PGconn *db, int argc, char **argv)
{
    char        *priv, *pub;
    PGresult    *res;
    const char  *v[3];

    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "fedictl: accounts rotate-key NAME\n");
        return FEDICTL_USAGE;
    }

    if (fedi_rsa_generate(&priv, &pub) != 0) {
        fprintf(stderr, "fedictl: making the key pair failed\n");
        return FEDICTL_FAILED;
    }

    v[0] = argv[0];
    v[1] = priv;
    v[2] = pub;

    /* the trigger of sql/0017 queues the Update in this statement */
    res = fedictl_exec(db, "UPDATE accounts SET private_key = $2,"
                           " public_key = $3, updated_at = now()"
                           " WHERE domain IS NULL"
                           " AND lower(username) = lower($1)"
                           " RETURNING cardinality(fedi_follower_inboxes(id))",
                       3, v);
    free(priv);
    free(pub);

    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: no local account %s\n", argv[0]);
        PQclear(res);
        return FEDICTL_FAILED;
    }

    printf("%s: a new key pair; the Update of its actor goes to %s"
           " servers\n", argv[0], PQgetvalue(res, 0, 0));
    PQclear(res);

    return FEDICTL_OK;
}
