/*
 * Copyright (C) ngx_fedi authors
 *
 * Resolving a remote handle, user@domain: WebFinger at the domain, then
 * the actor it names, fetched (fedi_fetch) and stored by the database
 * (fedi_remote_account(), which checks that the document is an actor of
 * that domain whose id is the URL it came from).
 */

#include "fedi.h"
#include "fedi_addr.h"
#include "ap_resolve.h"


typedef struct {
    fedi_req_t         *rq;         /* NULL: in the background */
    ngx_pool_t         *pool;
    ngx_log_t          *log;
    ngx_http_fedi_main_conf_t  *mcf;
    fedi_resolved_in_pt  done_in;   /* in the background, with data */
    void               *data;
    fedi_pg_op_t        op;         /* in the background */
    fedi_fetch_env_t    env;        /* in the background */
    const char         *user;
    const char         *domain;
    fedi_resolved_pt    done;
    void               *saved;      /* the caller's rq->data */
    ngx_str_t           url;        /* WebFinger's, or the actor's */
    unsigned            actor:1;    /* url is the actor's */
    unsigned            again:1;    /* fetched once more, by its id */
} fedi_resolve_t;


static void fedi_resolve_checked(fedi_req_t *rq, PGresult *res);
static void fedi_resolve_in_result(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_resolve_domain_checked(fedi_resolve_t *rs, PGresult *res);
static fedi_fetch_t *fedi_resolve_fetch(fedi_resolve_t *rs, ngx_str_t *url);
static void fedi_webfinger_done(fedi_fetch_t *f);
static void fedi_actor_done(fedi_fetch_t *f);
static ngx_int_t fedi_actor_by_id(fedi_resolve_t *rs, const char *body,
    const char *url);
static void fedi_actor_stored(fedi_req_t *rq, PGresult *res);
static void fedi_actor_stored_rs(fedi_resolve_t *rs, PGresult *res);
static void fedi_resolve_end(fedi_resolve_t *rs, ngx_int_t found);


#define FEDI_JRD_ACCEPT  "application/jrd+json, application/json"


static ngx_int_t
fedi_resolve_valid(const char *s, size_t max, const char *extra)
{
    size_t  n;

    n = ngx_strlen(s);
    if (n == 0 || n > max) {
        return NGX_ERROR;
    }

    for ( ; *s; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
              || (*s >= '0' && *s <= '9') || ngx_strchr(extra, *s)))
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static fedi_resolve_t *
fedi_resolve_new(fedi_req_t *rq, const char *user, const char *domain,
    fedi_resolved_pt done)
{
    fedi_resolve_t  *rs;

    rs = ngx_pcalloc(rq->r->pool, sizeof(fedi_resolve_t));
    if (rs == NULL) {
        return NULL;
    }

    rs->rq = rq;
    rs->pool = rq->r->pool;
    rs->log = rq->r->connection->log;
    rs->mcf = rq->mcf;
    rs->user = user;
    rs->domain = domain;
    rs->done = done;
    rs->saved = rq->data;

    return rs;
}


/* nothing is fetched from a suspended domain */
static void
fedi_resolve_start(fedi_resolve_t *rs)
{
    if (rs->rq == NULL) {
        ngx_memzero(&rs->op, sizeof(fedi_pg_op_t));
        rs->op.stmt = FEDI_SQL_DOMAIN_BLOCK;
        rs->op.nparams = 1;
        rs->op.values[0] = rs->domain;
        rs->op.handler = fedi_resolve_in_result;
        rs->op.data = rs;
        rs->op.log = rs->log;

        fedi_pg_exec(fedi_db(), &rs->op);
        return;
    }

    rs->rq->data = rs;
    fedi_query(rs->rq, FEDI_SQL_DOMAIN_BLOCK, fedi_resolve_checked, 1,
               rs->domain);
}


void
fedi_resolve_acct(fedi_req_t *rq, const char *user, const char *domain,
    fedi_resolved_pt done)
{
    u_char          *p;
    fedi_resolve_t  *rs;

    if (fedi_resolve_valid(user, 64, "_.-") != NGX_OK
        || fedi_resolve_valid(domain, 253, ".-:") != NGX_OK)
    {
        done(rq, 0);
        return;
    }

    rs = fedi_resolve_new(rq, user, domain, done);
    if (rs == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rs->url.data = ngx_pnalloc(rq->r->pool, 2 * ngx_strlen(domain)
                               + ngx_strlen(user)
                               + sizeof("https:///.well-known/webfinger"
                                        "?resource=acct:@"));
    if (rs->url.data == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = ngx_sprintf(rs->url.data, "https://%s/.well-known/webfinger"
                    "?resource=acct:%s@%s", domain, user, domain);
    rs->url.len = p - rs->url.data;

    fedi_resolve_start(rs);
}


/* an actor's URL: its host is the account's domain (NGX_DECLINED: not
 * one to fetch) */
static ngx_int_t
fedi_resolve_url_set(fedi_resolve_t *rs, const char *url)
{
    size_t  n;

    if (ngx_strncmp(url, "https://", 8) != 0) {
        return NGX_DECLINED;
    }

    n = strcspn(url + 8, "/?#");
    rs->domain = fedi_pstrz(rs->pool, (u_char *) url + 8, n);

    if (rs->domain == NULL
        || fedi_resolve_valid(rs->domain, 253, ".-:") != NGX_OK)
    {
        return NGX_DECLINED;
    }

    ngx_strlow((u_char *) rs->domain, (u_char *) rs->domain, n);

    /* the caller's string may not outlive this call (a PGresult's) */
    rs->url.len = ngx_strlen(url);
    rs->url.data = (u_char *) fedi_pstrz(rs->pool, (u_char *) url,
                                         rs->url.len);
    if (rs->url.data == NULL) {
        return NGX_ERROR;
    }

    rs->actor = 1;

    return NGX_OK;
}


void
fedi_resolve_url(fedi_req_t *rq, const char *url, fedi_resolved_pt done)
{
    ngx_int_t        rc;
    fedi_resolve_t  *rs;

    rs = fedi_resolve_new(rq, NULL, NULL, done);
    if (rs == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rc = fedi_resolve_url_set(rs, url);

    if (rc == NGX_ERROR) {
        fedi_send_internal_error(rq);
        return;
    }

    if (rc != NGX_OK) {
        done(rq, 0);
        return;
    }

    fedi_resolve_start(rs);
}


void
fedi_resolve_url_in(fedi_fetch_env_t *env, const char *url,
    fedi_resolved_in_pt done, void *data)
{
    fedi_resolve_t  *rs;

    rs = ngx_pcalloc(env->pool, sizeof(fedi_resolve_t));
    if (rs == NULL) {
        done(data, 0);
        return;
    }

    rs->env = *env;
    rs->pool = env->pool;
    rs->log = env->log;
    rs->mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                  ngx_http_fedi_module);
    rs->done_in = done;
    rs->data = data;

    if (fedi_db() == NULL || fedi_resolve_url_set(rs, url) != NGX_OK) {
        done(data, 0);
        return;
    }

    fedi_resolve_start(rs);
}


/* the background's statements: any failure is "not found" */
static void
fedi_resolve_in_result(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_resolve_t  *rs = op->data;

    if (rc != NGX_OK || res == NULL) {
        rs->done_in(rs->data, 0);
        return;
    }

    if (op->stmt == FEDI_SQL_DOMAIN_BLOCK) {
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rs->done_in(rs->data, 0);
            return;
        }

        fedi_resolve_domain_checked(rs, res);
        return;
    }

    fedi_actor_stored_rs(rs, res);
}


static fedi_fetch_t *
fedi_resolve_fetch(fedi_resolve_t *rs, ngx_str_t *url)
{
    if (rs->rq) {
        return fedi_fetch_create(rs->rq->r, &rs->mcf->fetch, url);
    }

    return fedi_fetch_create_in(rs->pool, rs->log, &rs->mcf->fetch,
                                rs->env.resolver, rs->env.resolver_timeout,
                                url);
}


static void
fedi_resolve_checked(fedi_req_t *rq, PGresult *res)
{
    fedi_resolve_t  *rs = rq->data;

    rq->data = rs->saved;

    fedi_resolve_domain_checked(rs, res);
}


static void
fedi_resolve_domain_checked(fedi_resolve_t *rs, PGresult *res)
{
    fedi_fetch_t  *f;

    if (PQntuples(res) == 1
        && ngx_strcmp(PQgetvalue(res, 0, 0), "suspend") == 0)
    {
        ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                      "fedi: %s is suspended: %V is not fetched",
                      rs->domain, &rs->url);

        if (rs->rq) {
            rs->done(rs->rq, 0);

        } else {
            rs->done_in(rs->data, 0);
        }

        return;
    }

    f = fedi_resolve_fetch(rs, &rs->url);
    if (f == NULL) {
        if (rs->rq) {
            fedi_send_internal_error(rs->rq);

        } else {
            rs->done_in(rs->data, 0);
        }

        return;
    }

    if (rs->actor) {
        f->done = fedi_actor_done;

    } else {
        f->accept = FEDI_JRD_ACCEPT;
        f->done = fedi_webfinger_done;
    }

    f->data = rs;

    fedi_fetch_start(f);
}


ngx_int_t
fedi_is_ap_type(const char *t)
{
    return ngx_strcmp(t, "application/activity+json") == 0
           || (ngx_strncmp(t, "application/ld+json", 19) == 0
               && ngx_strstr(t, "https://www.w3.org/ns/activitystreams"));
}


/* the actor's URL: the "self" link of an ActivityPub type */
static void
fedi_webfinger_done(fedi_fetch_t *f)
{
    json_t          *jrd, *links, *l;
    size_t           i;
    ngx_str_t        url;
    const char      *rel, *type, *href;
    fedi_fetch_t    *af;
    fedi_resolve_t  *rs = f->data;

    if (f->rc != NGX_OK || f->status != 200) {
        fedi_resolve_end(rs, 0);
        return;
    }

    jrd = json_loadb((char *) f->body.data, f->body.len,
                     JSON_REJECT_DUPLICATES, NULL);
    links = json_object_get(jrd, "links");
    href = NULL;

    json_array_foreach(links, i, l) {
        rel = json_string_value(json_object_get(l, "rel"));
        type = json_string_value(json_object_get(l, "type"));

        if (rel && type && ngx_strcmp(rel, "self") == 0
            && fedi_is_ap_type(type))
        {
            href = json_string_value(json_object_get(l, "href"));
            break;
        }
    }

    url.len = href ? ngx_strlen(href) : 0;
    url.data = href ? (u_char *) fedi_pstrz(rs->pool,
                                            (u_char *) href, url.len)
                    : NULL;
    json_decref(jrd);

    if (url.data == NULL) {
        fedi_resolve_end(rs, 0);
        return;
    }

    af = fedi_resolve_fetch(rs, &url);
    if (af == NULL) {
        fedi_resolve_end(rs, 0);
        return;
    }

    af->done = fedi_actor_done;
    af->data = rs;

    fedi_fetch_start(af);
}


static void
fedi_actor_done(fedi_fetch_t *f)
{
    char            *type, *semi, *body, *url;
    fedi_req_t      *rq;
    fedi_resolve_t  *rs = f->data;

    rq = rs->rq;

    if (f->rc != NGX_OK || f->status != 200 || f->content_type.len == 0) {
        fedi_resolve_end(rs, 0);
        return;
    }

    /* the document's type must be ActivityPub's */
    type = fedi_pstrz(rs->pool, f->content_type.data,
                      f->content_type.len);
    body = fedi_pstrz(rs->pool, f->body.data, f->body.len);
    url = fedi_pstrz(rs->pool, f->final_url.data, f->final_url.len);

    if (type == NULL || body == NULL || url == NULL) {
        fedi_resolve_end(rs, 0);
        return;
    }

    semi = ngx_strchr(type, ';');
    if (semi && ngx_strncmp(type, "application/activity+json", 25) == 0) {
        *semi = '\0';
    }

    if (!fedi_is_ap_type(type)
        || ngx_strlen(body) != f->body.len)     /* a NUL inside */
    {
        fedi_resolve_end(rs, 0);
        return;
    }

    if (fedi_actor_by_id(rs, body, url) == NGX_OK) {
        return;
    }

    if (rq == NULL) {
        ngx_memzero(&rs->op, sizeof(fedi_pg_op_t));
        rs->op.stmt = FEDI_SQL_REMOTE_ACCOUNT;
        rs->op.nparams = 3;
        rs->op.values[0] = body;
        rs->op.values[1] = rs->domain;
        rs->op.values[2] = url;
        rs->op.handler = fedi_resolve_in_result;
        rs->op.data = rs;
        rs->op.log = rs->log;

        fedi_pg_exec(fedi_db(), &rs->op);
        return;
    }

    rq->data = rs;
    rq->pg_errors = 1;      /* a document PostgreSQL refuses: not found */

    fedi_query(rq, FEDI_SQL_REMOTE_ACCOUNT, fedi_actor_stored, 3, body,
               rs->domain, url);
}


/*
 * A profile page's URL (https://host/@name) may serve the actor whose id
 * is another URL of the same host: as Mastodon does, that id is fetched
 * once, and its document must then be its own.  NGX_OK: fetching it.
 */
static ngx_int_t
fedi_actor_by_id(fedi_resolve_t *rs, const char *body, const char *url)
{
    json_t        *doc;
    ngx_str_t      id, u;
    const char    *s;
    fedi_fetch_t  *f;

    if (rs->again) {
        return NGX_DECLINED;
    }

    doc = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    s = json_string_value(json_object_get(doc, "id"));

    id.len = s ? ngx_strlen(s) : 0;
    id.data = s ? (u_char *) fedi_pstrz(rs->pool, (u_char *) s,
                                        id.len)
                : NULL;
    json_decref(doc);

    u.data = (u_char *) url;
    u.len = ngx_strlen(url);

    if (id.data == NULL || ngx_strcmp(id.data, url) == 0
        || !fedi_same_origin((char *) id.data, &u))
    {
        return NGX_DECLINED;
    }

    f = fedi_resolve_fetch(rs, &id);
    if (f == NULL) {
        return NGX_DECLINED;
    }

    rs->again = 1;
    f->done = fedi_actor_done;
    f->data = rs;

    fedi_fetch_start(f);

    return NGX_OK;
}


static void
fedi_actor_stored(fedi_req_t *rq, PGresult *res)
{
    fedi_resolve_t  *rs = rq->data;

    rq->pg_errors = 0;
    rq->data = rs->saved;

    fedi_actor_stored_rs(rs, res);
}


static void
fedi_actor_stored_rs(fedi_resolve_t *rs, PGresult *res)
{
    ngx_int_t  found;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_INFO, rs->log, 0,
                      "fedi: the actor from %V is refused: %s", &rs->url,
                      PQresultErrorMessage(res));
        found = 0;

    } else {
        found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0);
    }

    if (rs->rq) {
        rs->done(rs->rq, found);

    } else {
        rs->done_in(rs->data, found);
    }
}


/* from a fetch's event: the request's posted work runs after */
static void
fedi_resolve_end(fedi_resolve_t *rs, ngx_int_t found)
{
    ngx_connection_t  *c;

    if (rs->rq == NULL) {
        rs->done_in(rs->data, found);
        return;
    }

    c = rs->rq->r->connection;

    rs->rq->data = rs->saved;
    rs->done(rs->rq, found);

    ngx_http_run_posted_requests(c);
}


ngx_int_t
fedi_resolve_domain(fedi_req_t *rq, const char *in, char **out)
{
    char        buf[300];
    size_t      n;
    ngx_str_t  *ours;

    if (fedi_domain_normalize(in, ngx_strlen(in), buf, sizeof(buf)) != 0) {
        return NGX_DECLINED;
    }

    n = ngx_strlen(buf);
    ours = &rq->mcf->domain;

    if (n == ours->len && ngx_strncasecmp((u_char *) buf, ours->data, n) == 0)
    {
        *out = NULL;
        return NGX_OK;
    }

    *out = fedi_pstrz(rq->r->pool, (u_char *) buf, n);

    return *out ? NGX_OK : NGX_ERROR;
}


ngx_uint_t
fedi_same_origin(const char *id, ngx_str_t *url)
{
    size_t   n;
    u_char  *p;

    if (url->len < 8 || ngx_strncmp(url->data, "https://", 8) != 0) {
        return 0;
    }

    for (p = url->data + 8; p < url->data + url->len; p++) {
        if (*p == '/' || *p == '?' || *p == '#') {
            break;
        }
    }

    n = p - url->data;

    return ngx_strlen(id) > n && ngx_strncmp(id, url->data, n) == 0
           && id[n] == '/';
}
