/*
 * Copyright (C) ngx_fedi authors
 *
 * The life of a request: route, read the body, parse the parameters, run
 * the handler's steps (one PostgreSQL round trip each), answer.
 *
 * The request holds one extra reference (r->main->count) from the moment
 * the content handler returns NGX_DONE until fedi_finish() finalizes it,
 * exactly once.  Database callbacks never run from inside fedi_query().
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


/* a body that went to the temporary file, read on the thread pool */
typedef struct {
    ngx_chain_t  *bufs;
    u_char       *dst;
    size_t        len;
    ngx_int_t     rc;
} fedi_body_read_t;


static void fedi_http_body_handler(ngx_http_request_t *r);
static ngx_uint_t fedi_http_body_in_file(ngx_http_request_t *r, size_t *len);
static void fedi_http_body_read(void *data);
static void fedi_http_body_loaded(fedi_req_t *rq, void *data);
static void fedi_http_dispatch(fedi_req_t *rq);
static void fedi_http_cleanup(void *data);
static void fedi_query_send(fedi_req_t *rq, fedi_sql_id_e stmt, int nparams,
    const char **values);
static void fedi_http_pg_handler(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static ngx_int_t fedi_http_preflight(ngx_http_request_t *r, ngx_uint_t allowed);
static ngx_int_t fedi_http_cors(ngx_http_request_t *r, ngx_uint_t api);
static void fedi_finish(fedi_req_t *rq, ngx_int_t rc);
static void *fedi_http_json_alloc(void *ctx, size_t size);
static ngx_int_t fedi_http_error_early(ngx_http_request_t *r,
    ngx_uint_t status, const char *msg);
static ngx_int_t fedi_http_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_chain_t *out, off_t len);


static ngx_str_t  fedi_type_json = ngx_string("application/json; charset=utf-8");

static ngx_str_t  fedi_cors_expose =
    ngx_string("Link, X-RateLimit-Reset, X-RateLimit-Limit, "
               "X-RateLimit-Remaining, X-Request-Id, Idempotency-Key");

static ngx_str_t  fedi_cors_headers =
    ngx_string("Authorization, Content-Type, Idempotency-Key");

static ngx_str_t  fedi_cors_methods =
    ngx_string("POST, PUT, DELETE, GET, PATCH, OPTIONS");


ngx_int_t
fedi_http_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_uint_t                  method, allowed;
    fedi_req_t                 *rq;
    const fedi_route_t         *route;
    ngx_http_cleanup_t         *cln;
    ngx_http_fedi_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_fedi_module);

    rq = ngx_pcalloc(r->pool, sizeof(fedi_req_t));
    if (rq == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rq->r = r;
    rq->mcf = mcf;

    ngx_http_set_ctx(r, rq, ngx_http_fedi_module);

    method = (r->method == NGX_HTTP_HEAD) ? NGX_HTTP_GET : r->method;
    allowed = 0;

    route = fedi_route_find(&r->uri, method, rq->args, &rq->nargs, &allowed);

    if (r->method == NGX_HTTP_OPTIONS) {
        return fedi_http_preflight(r, allowed);
    }

    if (route == NULL) {
        if (allowed) {
            return fedi_http_error_early(r, NGX_HTTP_NOT_ALLOWED,
                                         "Method not allowed");
        }

        return fedi_http_error_early(r, NGX_HTTP_NOT_FOUND,
                                     "Record not found");
    }

    rq->route = route;

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = fedi_http_cleanup;
    cln->data = rq;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        r->main->count++;
        fedi_http_dispatch(rq);
        return NGX_DONE;
    }

    if ((route->flags & FEDI_ROUTE_UPLOAD) && r->headers_in.content_type
        && fedi_params_body_type(r->headers_in.content_type->value.data,
                                 r->headers_in.content_type->value.len)
           == FEDI_BODY_MULTIPART)
    {
        /* an upload stays in nginx's temporary file, read on the thread
         * pool by fedi_media.c; what no limit allows is not even read */
        if (r->headers_in.content_length_n
            > (off_t) ngx_max(mcf->image_size_limit, mcf->video_size_limit)
              + 65536)
        {
            return fedi_http_error_early(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "File is too large");
        }

        r->request_body_in_file_only = 1;
        r->request_body_in_clean_file = 1;
        r->request_body_file_log_level = NGX_LOG_INFO;

    } else {
        /* the whole body in one buffer: parameters, signatures' digests */
        r->request_body_in_single_buf = 1;
    }

    rc = ngx_http_read_client_request_body(r, fedi_http_body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
fedi_http_body_handler(ngx_http_request_t *r)
{
    size_t             len;
    fedi_req_t        *rq;
    fedi_body_read_t  *br;

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);

    /* an upload stays in its file for fedi_media.c; any other body that
     * went to the file is read back on the thread pool first */
    if (r->request_body_in_file_only || !fedi_http_body_in_file(r, &len)) {
        fedi_http_dispatch(rq);
        return;
    }

    br = ngx_pcalloc(r->pool, sizeof(fedi_body_read_t));
    if (br == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    br->bufs = r->request_body->bufs;
    br->len = len;
    br->dst = ngx_pnalloc(r->pool, len + 1);
    if (br->dst == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_thread_run(rq, fedi_http_body_read, fedi_http_body_loaded, br);
}


static void
fedi_http_dispatch(fedi_req_t *rq)
{
    u_char               *body;
    size_t                blen;
    char                  err[256];
    ngx_http_request_t   *r;
    fedi_body_type_e      type;
    ngx_http_request_body_t  *rb;

    r = rq->r;
    body = NULL;
    blen = 0;
    type = FEDI_BODY_NONE;

    rb = r->request_body;

    if (r->headers_in.content_type) {
        type = fedi_params_body_type(r->headers_in.content_type->value.data,
                                     r->headers_in.content_type->value.len);
    }

    if (rb && rb->bufs && type != FEDI_BODY_OTHER
        && !r->request_body_in_file_only)
    {
        if (fedi_http_body(r, &body, &blen) != NGX_OK) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    rq->params = fedi_params_parse(r->args.data, r->args.len, body, blen,
                                   type, err, sizeof(err));
    if (rq->params == NULL) {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST, err);
        return;
    }

    if (type == FEDI_BODY_MULTIPART && body
        && fedi_params_multipart(rq->params,
                                 r->headers_in.content_type->value.data,
                                 r->headers_in.content_type->value.len,
                                 body, blen, NULL, NULL, err, sizeof(err))
           != 0)
    {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY, err);
        return;
    }

    /* notice a client that goes away while we wait for the database */
    r->read_event_handler = ngx_http_test_reading;

    fedi_auth(rq);
}


/* the first request header called name (any case), or NULL */
ngx_table_elt_t *
fedi_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


/*
 * The body in one piece: a chunked body arrives in several buffers, and a
 * large one in the temporary file (bounded by client_max_body_size), which
 * fedi_http_body_handler has read back on the thread pool already.
 */
ngx_int_t
fedi_http_body(ngx_http_request_t *r, u_char **body, size_t *len)
{
    u_char       *p;
    off_t         n;
    fedi_req_t   *rq;
    ngx_chain_t  *cl;

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);

    if (rq && rq->body) {
        *body = rq->body;
        *len = rq->body_len;
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        *body = cl->buf->pos;
        *len = cl->buf->last - cl->buf->pos;
        return NGX_OK;
    }

    n = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return NGX_ERROR;       /* never read here: it would block */
        }

        n += ngx_buf_size(cl->buf);
    }

    p = ngx_pnalloc(r->pool, n + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    *body = p;
    *len = n;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return NGX_OK;
}


static ngx_uint_t
fedi_http_body_in_file(ngx_http_request_t *r, size_t *len)
{
    ngx_uint_t    in_file;
    ngx_chain_t  *cl;

    in_file = 0;
    *len = 0;

    if (r->request_body == NULL) {
        return 0;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        in_file |= cl->buf->in_file;
        *len += ngx_buf_size(cl->buf);
    }

    return in_file;
}


static void
fedi_http_body_read(void *data)
{
    fedi_body_read_t  *br = data;

    u_char       *p;
    ssize_t       got;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    p = br->dst;

    for (cl = br->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        got = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                            b->file_pos);
        if (got != b->file_last - b->file_pos) {
            br->rc = NGX_ERROR;
            return;
        }

        p += got;
    }

    br->rc = NGX_OK;
}


static void
fedi_http_body_loaded(fedi_req_t *rq, void *data)
{
    fedi_body_read_t  *br = data;

    if (br->rc != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->body = br->dst;
    rq->body_len = br->len;

    fedi_http_dispatch(rq);
}


static void
fedi_http_cleanup(void *data)
{
    fedi_req_t  *rq = data;

    if (rq->in_query) {
        fedi_pg_cancel(&rq->op);
        rq->in_query = 0;
    }

    if (rq->params) {
        json_decref(rq->params);
        rq->params = NULL;
    }
}


void
fedi_query(fedi_req_t *rq, fedi_sql_id_e stmt, fedi_result_pt next,
    int nparams, ...)
{
    int          i;
    va_list      ap;
    const char  *values[FEDI_PG_MAX_PARAMS];

    va_start(ap, nparams);

    for (i = 0; i < nparams && i < FEDI_PG_MAX_PARAMS; i++) {
        values[i] = va_arg(ap, const char *);
    }

    va_end(ap);

    rq->next = next;
    fedi_query_send(rq, stmt, i, values);
}


/*
 * From a query's handler: statement stmt with the query's parameters,
 * its result to the same handler
 */
void
fedi_query_again(fedi_req_t *rq, fedi_sql_id_e stmt)
{
    const char  *values[FEDI_PG_MAX_PARAMS];

    ngx_memcpy(values, rq->op.values, sizeof(values));
    fedi_query_send(rq, stmt, rq->op.nparams, values);
}


static void
fedi_query_send(fedi_req_t *rq, fedi_sql_id_e stmt, int nparams,
    const char **values)
{
    ngx_memzero(&rq->op, sizeof(fedi_pg_op_t));

    rq->op.stmt = stmt;
    rq->op.nparams = nparams;
    ngx_memcpy(rq->op.values, values, nparams * sizeof(const char *));
    rq->op.handler = fedi_http_pg_handler;
    rq->op.data = rq;
    rq->op.log = rq->r->connection->log;

    if (fedi_db() == NULL) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "Database not configured");
        return;
    }

    rq->in_query = 1;
    fedi_pg_exec(fedi_db(), &rq->op);
}


static void
fedi_http_pg_handler(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_req_t          *rq;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ExecStatusType       st;

    rq = op->data;
    r = rq->r;
    c = r->connection;

    rq->in_query = 0;

    ngx_http_set_log_request(c->log, r);

    if (rc == NGX_DECLINED) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "The server is too busy, try again later");

    } else if (rc != NGX_OK || res == NULL) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "The database is unavailable, try again later");

    } else {
        st = PQresultStatus(res);

        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK
            && !rq->pg_errors)
        {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "fedi: %s failed: %s",
                          fedi_sql_stmts[op->stmt].name,
                          PQresultErrorMessage(res));
            fedi_send_internal_error(rq);

        } else {
            rq->next(rq, res);
        }
    }

    ngx_http_run_posted_requests(c);
}


/* the JSON answer to a statement that finds one row: NULL after answering
 * 404 when it found none, or 500 */
fedi_json_t *
fedi_json_one(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NULL;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
    }

    return j;
}


fedi_json_t *
fedi_json_new(fedi_req_t *rq)
{
    fedi_json_t  *j;

    j = ngx_palloc(rq->r->pool, sizeof(fedi_json_t));
    if (j == NULL) {
        return NULL;
    }

    fedi_json_init(j, fedi_http_json_alloc, rq->r->pool);

    return j;
}


static void *
fedi_http_json_alloc(void *ctx, size_t size)
{
    return ngx_palloc((ngx_pool_t *) ctx, size);
}


void
fedi_send_json(fedi_req_t *rq, ngx_uint_t status, fedi_json_t *j)
{
    fedi_send_chunks(rq, status, (char *) fedi_type_json.data, j);
}


void
fedi_send_chunks(fedi_req_t *rq, ngx_uint_t status, const char *type,
    fedi_json_t *j)
{
    off_t               len;
    ngx_str_t           t;
    ngx_buf_t          *b;
    ngx_chain_t        *out, **ll, *cl;
    fedi_json_chunk_t  *ch;

    if (j == NULL || j->error) {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "fedi: rendering JSON failed");
        fedi_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    out = NULL;
    ll = &out;
    len = 0;

    for (ch = j->first; ch; ch = ch->next) {
        if (ch->last == ch->start) {
            continue;
        }

        b = ngx_calloc_buf(rq->r->pool);
        cl = ngx_alloc_chain_link(rq->r->pool);
        if (b == NULL || cl == NULL) {
            fedi_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        b->pos = ch->start;
        b->last = ch->last;
        b->memory = 1;
        len += ch->last - ch->start;

        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;
    }

    t.data = (u_char *) type;
    t.len = ngx_strlen(type);

    fedi_finish(rq, fedi_http_send(rq->r, status, &t, out, len));
}


void
fedi_send_bytes(fedi_req_t *rq, ngx_uint_t status, const char *type,
    u_char *data, size_t len)
{
    ngx_str_t     t;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    cl = NULL;

    if (len) {
        b = ngx_calloc_buf(rq->r->pool);
        cl = ngx_alloc_chain_link(rq->r->pool);
        if (b == NULL || cl == NULL) {
            fedi_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        b->pos = data;
        b->last = data + len;
        b->memory = 1;
        cl->buf = b;
        cl->next = NULL;
    }

    t.data = (u_char *) type;
    t.len = ngx_strlen(type);

    fedi_finish(rq, fedi_http_send(rq->r, status, &t, cl, len));
}


void
fedi_send_error(fedi_req_t *rq, ngx_uint_t status, const char *msg)
{
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_finish(rq, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "error", msg);

    if (status == NGX_HTTP_UNPROCESSABLE_ENTITY) {
        /* Mastodon's ValidationError shape */
        fedi_json_key(j, "details");
        fedi_json_obj_open(j);
        fedi_json_obj_close(j);
    }

    fedi_json_obj_close(j);

    fedi_send_json(rq, status, j);
}


void
fedi_send_internal_error(fedi_req_t *rq)
{
    fedi_send_error(rq, NGX_HTTP_INTERNAL_SERVER_ERROR,
                    "Internal server error");
}


/* an error before the request took its extra reference */
static ngx_int_t
fedi_http_error_early(ngx_http_request_t *r, ngx_uint_t status,
    const char *msg)
{
    ngx_int_t     rc;
    fedi_req_t   *rq;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);

    r->main->count++;
    fedi_send_error(rq, status, msg);

    return NGX_DONE;
}


static ngx_int_t
fedi_http_send(ngx_http_request_t *r, ngx_uint_t status, ngx_str_t *type,
    ngx_chain_t *out, off_t len)
{
    ngx_int_t     rc;
    ngx_chain_t  *cl;

    if (fedi_http_cors(r, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = len;

    if (out == NULL) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    for (cl = out; cl->next; cl = cl->next) { /* void */ }

    cl->buf->last_buf = (r == r->main) ? 1 : 0;
    cl->buf->last_in_chain = 1;

    return ngx_http_output_filter(r, out);
}


static void
fedi_finish(fedi_req_t *rq, ngx_int_t rc)
{
    if (rq->finalized) {
        ngx_log_error(NGX_LOG_ALERT, rq->r->connection->log, 0,
                      "fedi: request finalized twice");
        return;
    }

    rq->finalized = 1;
    ngx_http_finalize_request(rq->r, rc);
}


static ngx_int_t
fedi_http_cors(ngx_http_request_t *r, ngx_uint_t api)
{
    ngx_uint_t        cors;
    ngx_table_elt_t  *h;

    cors = fedi_route_cors(&r->uri);
    if (!cors) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Allow-Origin");
    ngx_str_set(&h->value, "*");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Expose-Headers");
    h->value = fedi_cors_expose;

    return NGX_OK;
}


static ngx_int_t
fedi_http_preflight(ngx_http_request_t *r, ngx_uint_t allowed)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!fedi_route_cors(&r->uri)) {
        r->headers_out.status = allowed ? NGX_HTTP_NO_CONTENT
                                        : NGX_HTTP_NOT_FOUND;
        r->headers_out.content_length_n = 0;
        r->header_only = 1;
        return ngx_http_send_header(r);
    }

    if (fedi_http_cors(r, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Allow-Methods");
    h->value = fedi_cors_methods;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Allow-Headers");
    h->value = fedi_cors_headers;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Max-Age");
    ngx_str_set(&h->value, "7200");

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


ngx_int_t
fedi_add_header(fedi_req_t *rq, const char *name, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&rq->r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = ngx_strlen(name);
    h->value = *value;

    return NGX_OK;
}


char *
fedi_pstrz(ngx_pool_t *pool, const u_char *s, size_t len)
{
    u_char  *p;

    p = ngx_pnalloc(pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);
    p[len] = '\0';

    return (char *) p;
}


/* the path's argument n as an id, or NULL after answering 404 or 500 */
char *
fedi_path_id(fedi_req_t *rq, ngx_uint_t n)
{
    char  *id;

    id = fedi_pstrz(rq->r->pool, rq->args[n].data, rq->args[n].len);

    if (id == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    if (fedi_is_id(id) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NULL;
    }

    return id;
}


const char *
fedi_pg_val(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        return NULL;
    }

    return PQgetvalue(res, row, col);
}


ngx_int_t
fedi_pg_len(PGresult *res, int row, int col)
{
    return PQgetlength(res, row, col);
}


ngx_flag_t
fedi_pg_bool(PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}


int64_t
fedi_pg_int(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        return 0;
    }

    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}
