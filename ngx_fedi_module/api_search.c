/*
 * Copyright (C) ngx_fedi authors
 *
 * GET /api/v2/search: accounts and hashtags by prefix; with resolve=true
 * (and a token, as Mastodon), a remote handle (@user@domain) or an actor's
 * URL is fetched and stored first (ap_resolve.c), and a status's URL
 * finds it, fetched from its origin under the inbox's origin rules
 * (fedi_inbox_object) when it is not here yet.  Full-text search of
 * statuses is not there yet.
 */

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_status.h"
#include "ap_resolve.h"
#include "ap_inbox_object.h"


typedef struct {
    fedi_json_t   *j;
    const char    *type;        /* accounts, hashtags, statuses or NULL */
    char          *like;        /* the query, LIKE-escaped */
    char          *user;        /* a remote handle's parts */
    char          *domain;
    char          *url;         /* an actor's or a status's URL */
    char          *base;
    json_t        *act;         /* the status to fetch, as an Announce */
    unsigned       fetched:1;
    char           limit[NGX_INT64_LEN + 1];
    char           offset[NGX_INT64_LEN + 1];
} fedi_search_t;


static void api_search(fedi_req_t *rq);
static void fedi_search_accounts(fedi_req_t *rq);
static void fedi_search_known(fedi_req_t *rq, PGresult *res);
static void fedi_search_resolved(fedi_req_t *rq, ngx_int_t found);
static void fedi_search_accounts_found(fedi_req_t *rq, PGresult *res);
static void fedi_search_tags(fedi_req_t *rq);
static void fedi_search_status_lookup(fedi_req_t *rq);
static void fedi_search_status(fedi_req_t *rq, PGresult *res);
static void fedi_search_status_fetched(fedi_req_t *rq, char *object,
    ngx_uint_t later);
static void fedi_search_status_stored(fedi_req_t *rq, PGresult *res);
static void fedi_search_hashtags(fedi_req_t *rq);
static void fedi_search_cleanup(void *data);
static void fedi_search_tags_found(fedi_req_t *rq, PGresult *res);


const fedi_route_t  fedi_routes_search[] = {
    { NGX_HTTP_GET, "/api/v2/search", api_search, NULL,
      FEDI_ROUTE_CORS },
    { 0, NULL, NULL, NULL, 0 }
};


static ngx_int_t
fedi_search_wants(fedi_search_t *s, const char *type)
{
    return s->type == NULL || ngx_strcmp(s->type, type) == 0;
}


static void
api_search(fedi_req_t *rq)
{
    u_char         *p, *q;
    char           *at, *domain;
    size_t          n;
    const char     *text;
    fedi_search_t  *s;

    s = ngx_pcalloc(rq->r->pool, sizeof(fedi_search_t));
    if (s == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = s;

    text = fedi_param_str(rq->params, "q");
    if (text == NULL || text[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "Validation failed: q is missing");
        return;
    }

    s->type = fedi_param_str(rq->params, "type");
    if (s->type && ngx_strcmp(s->type, "accounts") != 0
        && ngx_strcmp(s->type, "hashtags") != 0
        && ngx_strcmp(s->type, "statuses") != 0)
    {
        s->type = NULL;
    }

    ngx_sprintf((u_char *) s->limit, "%L%Z",
                fedi_param_int(rq->params, "limit", 20, 1, 40));
    /* offset and resolve need a user, as Mastodon */
    ngx_sprintf((u_char *) s->offset, "%L%Z",
                rq->token ? fedi_param_int(rq->params, "offset", 0, 0, 10000)
                          : 0);

    n = ngx_strlen(text);

    if (rq->token && fedi_param_bool(rq->params, "resolve", 0)) {

        if (ngx_strncmp(text, "https://", 8) == 0) {
            s->url = fedi_pstrz(rq->r->pool, (u_char *) text, n);

        } else {
            s->user = fedi_pstrz(rq->r->pool, (u_char *) text
                                 + (text[0] == '@'), n - (text[0] == '@'));
            at = s->user ? ngx_strchr(s->user, '@') : NULL;

            /* a remote handle's domain as stored; ours means local */
            if (at && at[1] != '\0'
                && fedi_resolve_domain(rq, at + 1, &domain) == NGX_OK
                && domain != NULL)
            {
                *at = '\0';
                s->domain = domain;
            }
        }
    }

    /* a prefix: LIKE's metacharacters literal, a leading @ or # dropped */
    if (text[0] == '@' || text[0] == '#') {
        text++;
    }

    s->like = ngx_pnalloc(rq->r->pool, 2 * ngx_strlen(text) + 1);
    s->j = fedi_json_new(rq);

    if (s->like == NULL || s->j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    for (p = (u_char *) text, q = (u_char *) s->like; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') {
            *q++ = '\\';
        }
        *q++ = *p;
    }
    *q = '\0';

    fedi_json_obj_open(s->j);
    fedi_json_key(s->j, "accounts");
    fedi_json_arr_open(s->j);

    if (!fedi_search_wants(s, "accounts")) {
        fedi_search_tags(rq);
        return;
    }

    if (s->domain) {
        fedi_query(rq, FEDI_SQL_ACCOUNT_LOOKUP, fedi_search_known, 2,
                   s->user, s->domain);
        return;
    }

    if (s->url) {
        fedi_query(rq, FEDI_SQL_ACCOUNT_BY_URI, fedi_search_known, 1,
                   s->url);
        return;
    }

    fedi_search_accounts(rq);
}


static void
fedi_search_accounts(fedi_req_t *rq)
{
    fedi_search_t  *s = rq->data;

    fedi_query(rq, FEDI_SQL_ACCOUNT_SEARCH, fedi_search_accounts_found, 3,
               s->like, s->limit, s->offset);
}


/* a handle or URL already known is not fetched again */
static void
fedi_search_known(fedi_req_t *rq, PGresult *res)
{
    fedi_search_t  *s = rq->data;

    if (PQntuples(res) == 1) {
        fedi_search_accounts_found(rq, res);
        return;
    }

    if (s->url) {
        fedi_resolve_url(rq, s->url, fedi_search_resolved);
        return;
    }

    fedi_resolve_acct(rq, s->user, s->domain, fedi_search_resolved);
}


static void
fedi_search_resolved(fedi_req_t *rq, ngx_int_t found)
{
    fedi_search_t  *s = rq->data;

    if (!found) {
        fedi_search_tags(rq);
        return;
    }

    if (s->url) {
        fedi_query(rq, FEDI_SQL_ACCOUNT_BY_URI, fedi_search_accounts_found, 1,
                   s->url);
        return;
    }

    fedi_query(rq, FEDI_SQL_ACCOUNT_LOOKUP, fedi_search_accounts_found, 2,
               s->user, s->domain);
}


static void
fedi_search_accounts_found(fedi_req_t *rq, PGresult *res)
{
    int             i;
    fedi_search_t  *s = rq->data;

    for (i = 0; i < PQntuples(res); i++) {
        fedi_account_render(rq, s->j, res, i, 0);
    }

    fedi_search_tags(rq);
}


static void
fedi_search_tags(fedi_req_t *rq)
{
    fedi_search_t  *s = rq->data;

    fedi_json_arr_close(s->j);

    fedi_json_key(s->j, "statuses");
    fedi_json_arr_open(s->j);

    if (s->url == NULL || !fedi_search_wants(s, "statuses")) {
        fedi_search_hashtags(rq);
        return;
    }

    s->base = fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                         rq->mcf->base_url.len);
    if (s->base == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_search_status_lookup(rq);
}


/* the status at s->url as the viewer may see it, if we hold it */
static void
fedi_search_status_lookup(fedi_req_t *rq)
{
    fedi_search_t  *s = rq->data;

    fedi_query(rq, FEDI_SQL_STATUS_BY_URL, fedi_search_status, 3,
               rq->token->has_user ? rq->token->account_id : NULL, s->base,
               s->url);
}


/* a status's URL: here already, or fetched once as a boost would be */
static void
fedi_search_status(fedi_req_t *rq, PGresult *res)
{
    ngx_pool_cleanup_t  *cln;
    fedi_search_t       *s = rq->data;

    if (PQntuples(res) == 1) {
        fedi_status_render(rq, s->j, res, 0);
        fedi_search_hashtags(rq);
        return;
    }

    if (s->fetched) {
        fedi_search_hashtags(rq);
        return;
    }

    s->fetched = 1;

    s->act = json_pack("{s:s, s:s}", "type", "Announce", "object", s->url);
    cln = ngx_pool_cleanup_add(rq->r->pool, 0);
    if (s->act == NULL || cln == NULL) {
        json_decref(s->act);
        fedi_send_internal_error(rq);
        return;
    }

    cln->handler = fedi_search_cleanup;
    cln->data = s->act;

    fedi_inbox_object(rq, s->act, NULL, 1, fedi_search_status_fetched);
}


static void
fedi_search_cleanup(void *data)
{
    json_decref(data);
}


static void
fedi_search_status_fetched(fedi_req_t *rq, char *object,
    ngx_uint_t later)
{
    fedi_search_t  *s = rq->data;

    if (object == NULL) {
        fedi_search_hashtags(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_STORE_REMOTE, fedi_search_status_stored,
               2, object, s->base);
}


static void
fedi_search_status_stored(fedi_req_t *rq, PGresult *res)
{
    fedi_search_status_lookup(rq);
}


static void
fedi_search_hashtags(fedi_req_t *rq)
{
    fedi_search_t  *s = rq->data;

    fedi_json_arr_close(s->j);

    fedi_json_key(s->j, "hashtags");
    fedi_json_arr_open(s->j);

    if (!fedi_search_wants(s, "hashtags")) {
        fedi_search_tags_found(rq, NULL);
        return;
    }

    fedi_query(rq, FEDI_SQL_TAG_SEARCH, fedi_search_tags_found, 4, s->like,
               s->limit, s->offset,
               fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                          rq->mcf->base_url.len));
}


static void
fedi_search_tags_found(fedi_req_t *rq, PGresult *res)
{
    int             i;
    fedi_json_t    *j;
    fedi_search_t  *s = rq->data;

    j = s->j;

    for (i = 0; res && i < PQntuples(res); i++) {
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "id", PQgetvalue(res, i, 0));
        fedi_json_kcstr(j, "name", PQgetvalue(res, i, 1));
        fedi_json_kcstr(j, "url", PQgetvalue(res, i, 2));
        fedi_json_key(j, "history");
        fedi_json_arr_open(j);
        fedi_json_arr_close(j);
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
