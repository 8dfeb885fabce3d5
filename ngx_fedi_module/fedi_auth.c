/*
 * Copyright (C) ngx_fedi authors
 *
 * Bearer tokens: the Authorization header -> SHA-256 digest -> the token's
 * user, account and scopes, cached per worker.  The cache is dropped by
 * NOTIFY fedi_cache ('token:<digest>', 'user:<id>', 'account:<id>') and
 * entirely whenever the listening connection was lost.  The route table
 * says what a route needs; the answers are Mastodon's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_crypto.h"
#include "fedi_scope.h"
#include "ap.h"
#include "ap_verify.h"
#include "fedi_filters.h"


#define FEDI_AUTH_CACHE_SIZE  4096          /* a power of two */
#define FEDI_AUTH_CACHE_TTL   300000        /* backstop, ms */


typedef struct {
    fedi_token_t   token;
    ngx_msec_t     expires;
    unsigned       used:1;
} fedi_auth_entry_t;


static ngx_uint_t fedi_auth_slot(const char *digest);
static void fedi_auth_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_auth_check(fedi_req_t *rq);
static void fedi_auth_pass(fedi_req_t *rq);


static fedi_auth_entry_t  *fedi_auth_cache;


ngx_int_t
fedi_auth_init(ngx_cycle_t *cycle)
{
    fedi_auth_cache = ngx_pcalloc(cycle->pool,
                              FEDI_AUTH_CACHE_SIZE * sizeof(fedi_auth_entry_t));

    return fedi_auth_cache ? NGX_OK : NGX_ERROR;
}


static ngx_uint_t
fedi_auth_slot(const char *digest)
{
    ngx_uint_t  i, h;

    h = 0;

    for (i = 0; i < 8; i++) {
        h = (h << 4) | ((digest[i] <= '9') ? digest[i] - '0'
                                           : digest[i] - 'a' + 10);
    }

    return h & (FEDI_AUTH_CACHE_SIZE - 1);
}


void
fedi_auth_invalidate(const char *what)
{
    ngx_uint_t          i;
    const char         *id;
    fedi_auth_entry_t  *e;

    if (fedi_auth_cache == NULL) {
        return;
    }

    if (what == NULL) {
        ngx_memzero(fedi_auth_cache,
                    FEDI_AUTH_CACHE_SIZE * sizeof(fedi_auth_entry_t));
        return;
    }

    if (ngx_strncmp(what, "token:", 6) == 0) {
        if (ngx_strlen(what + 6) != FEDI_SHA256_HEX_LEN) {
            return;
        }

        e = &fedi_auth_cache[fedi_auth_slot(what + 6)];

        if (e->used && ngx_strcmp(e->token.digest, what + 6) == 0) {
            e->used = 0;
        }

        return;
    }

    for (i = 0; i < FEDI_AUTH_CACHE_SIZE; i++) {
        e = &fedi_auth_cache[i];

        if (!e->used) {
            continue;
        }

        if (ngx_strncmp(what, "user:", 5) == 0) {
            id = what + 5;

            if (ngx_strcmp(e->token.user_id, id) == 0) {
                e->used = 0;
            }

        } else if (ngx_strncmp(what, "account:", 8) == 0) {
            id = what + 8;

            if (ngx_strcmp(e->token.account_id, id) == 0) {
                e->used = 0;
            }
        }
    }
}


void
fedi_auth(fedi_req_t *rq)
{
    u_char              *p, *end;
    size_t               n;
    ngx_table_elt_t     *h;
    fedi_auth_entry_t   *e;
    ngx_http_request_t  *r;

    r = rq->r;
    h = r->headers_in.authorization;

    if (h == NULL && (rq->route->flags & FEDI_ROUTE_STREAM)
        && fedi_stream_token(rq, &p, &n) == NGX_OK)
    {
        goto token;
    }

    if (h == NULL || h->value.len < 8
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ", 7) != 0)
    {
        fedi_auth_check(rq);
        return;
    }

    p = h->value.data + 7;
    end = h->value.data + h->value.len;

    while (p < end && *p == ' ') {
        p++;
    }

    n = end - p;

token:

    rq->token = ngx_pcalloc(r->pool, sizeof(fedi_token_t));
    if (rq->token == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex(p, n, rq->token->digest);

    e = &fedi_auth_cache[fedi_auth_slot(rq->token->digest)];

    if (e->used
        && ngx_strcmp(e->token.digest, rq->token->digest) == 0
        && (ngx_msec_int_t) (e->expires - ngx_current_msec) > 0)
    {
        *rq->token = e->token;
        fedi_auth_check(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_AUTH_TOKEN, fedi_auth_loaded, 1,
               rq->token->digest);
}


static void
fedi_auth_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_token_t       *t;
    fedi_auth_entry_t  *e;

    t = rq->token;

    if (PQntuples(res) != 1) {
        /* unknown or revoked */
        t->invalid = 1;
        fedi_auth_check(rq);
        return;
    }

    ngx_cpystrn((u_char *) t->token_id, (u_char *) PQgetvalue(res, 0, 0),
                sizeof(t->token_id));
    ngx_cpystrn((u_char *) t->user_id, (u_char *) PQgetvalue(res, 0, 1),
                sizeof(t->user_id));
    ngx_cpystrn((u_char *) t->account_id, (u_char *) PQgetvalue(res, 0, 2),
                sizeof(t->account_id));
    ngx_cpystrn((u_char *) t->app_id, (u_char *) PQgetvalue(res, 0, 3),
                sizeof(t->app_id));
    ngx_cpystrn((u_char *) t->scopes, (u_char *) PQgetvalue(res, 0, 4),
                sizeof(t->scopes));

    t->has_user = !PQgetisnull(res, 0, 1);
    t->confirmed = fedi_pg_bool(res, 0, 5);
    t->approved = fedi_pg_bool(res, 0, 6);
    t->disabled = fedi_pg_bool(res, 0, 7);
    t->suspended = fedi_pg_bool(res, 0, 8);
    t->role = (ngx_uint_t) fedi_pg_int(res, 0, 9);
    t->has_filters = fedi_pg_bool(res, 0, 10);

    e = &fedi_auth_cache[fedi_auth_slot(t->digest)];
    e->token = *t;
    e->expires = ngx_current_msec + FEDI_AUTH_CACHE_TTL;
    e->used = 1;

    fedi_auth_check(rq);
}


static void
fedi_auth_check(fedi_req_t *rq)
{
    fedi_token_t        *t;
    const fedi_route_t  *rt;

    rt = rq->route;
    t = rq->token;

    if (t && t->invalid) {
        rq->token = NULL;

        if (rt->scope || (rt->flags & (FEDI_ROUTE_TOKEN|FEDI_ROUTE_USER))) {
            fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED,
                            "The access token is invalid");
            return;
        }

        /* public endpoints ignore a bad token, as Mastodon does */
        fedi_auth_pass(rq);
        return;
    }

    if (t == NULL) {
        if (rt->scope || (rt->flags & (FEDI_ROUTE_TOKEN|FEDI_ROUTE_USER))) {
            fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED,
                            "The access token is invalid");
            return;
        }

        fedi_auth_pass(rq);
        return;
    }

    if (rt->scope && !fedi_scope_allows(t->scopes, rt->scope)) {
        fedi_send_error(rq, NGX_HTTP_FORBIDDEN,
                        "This action is outside the authorized scopes");
        return;
    }

    if (rt->flags & FEDI_ROUTE_USER) {
        if (!t->has_user) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "This method requires an authenticated user");
            return;
        }

        if (!t->confirmed) {
            fedi_send_error(rq, NGX_HTTP_FORBIDDEN,
                        "Your login is missing a confirmed e-mail address");
            return;
        }

        if (!t->approved) {
            fedi_send_error(rq, NGX_HTTP_FORBIDDEN,
                            "Your login is currently pending approval");
            return;
        }

        if (t->disabled || t->suspended) {
            fedi_send_error(rq, NGX_HTTP_FORBIDDEN,
                            "Your login is currently disabled");
            return;
        }
    }

    fedi_auth_pass(rq);
}


static void
fedi_auth_pass(fedi_req_t *rq)
{
    ngx_str_t  *uri;

    uri = &rq->r->uri;

    if (uri->len > 5 && ngx_strncmp(uri->data, "/api/", 5) == 0
        && fedi_ratelimit(rq) != NGX_OK)
    {
        fedi_send_error(rq, NGX_HTTP_TOO_MANY_REQUESTS, "Too many requests");
        return;
    }

    if ((rq->route->flags & FEDI_ROUTE_SIGNED) && rq->mcf->authorized_fetch
        && fedi_ap_wanted(rq))
    {
        fedi_verify_get(rq);
        return;
    }

    /* a viewer with filters: statuses are matched against them */
    if (rq->token && rq->token->has_filters && fedi_filters_wanted(rq)) {
        fedi_filters_load(rq);
        return;
    }

    rq->route->handler(rq);
}
