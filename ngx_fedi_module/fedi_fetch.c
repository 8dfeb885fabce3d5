/*
 * Copyright (C) ngx_fedi authors
 *
 * Outbound GETs on nginx's event loop: resolve with the location's
 * "resolver", check the address, connect, TLS with SNI and verification,
 * send, read until the peer closes (HTTP/1.1, Connection: close), follow up
 * to three redirects (each checked again), all within one total deadline
 * that a peer trickling bytes cannot extend.  See fedi_fetch.h.
 */

#include "fedi.h"
#include "fedi_fetch.h"
#include "fedi_addr.h"
#include "fedi_httpsig.h"


/* Date and Signature headers, but the keyId */
#define FEDI_FETCH_SIGNED_LEN  1024


#define FEDI_FETCH_HEADERS_MAX  (16 * 1024)


static ngx_int_t fedi_fetch_parse_url(fedi_fetch_t *f, ngx_str_t *url);
static void fedi_fetch_resolve(fedi_fetch_t *f);
static void fedi_fetch_resolved(ngx_resolver_ctx_t *ctx);
static void fedi_fetch_connect(fedi_fetch_t *f);
static void fedi_fetch_connected(ngx_event_t *ev);
static void fedi_fetch_handshaken(ngx_connection_t *c);
static void fedi_fetch_write(ngx_event_t *ev);
static void fedi_fetch_read(ngx_event_t *ev);
static void fedi_fetch_response(fedi_fetch_t *f);
static ngx_int_t fedi_fetch_dechunk(ngx_str_t *body);
static void fedi_fetch_timeout(ngx_event_t *ev);
static void fedi_fetch_close(fedi_fetch_t *f);
static void fedi_fetch_fail(fedi_fetch_t *f, const char *why);
static void fedi_fetch_finish(fedi_fetch_t *f);
static void fedi_fetch_cleanup(void *data);
static u_char *fedi_fetch_sign(fedi_fetch_t *f, u_char *p, u_char *end);
static void fedi_fetch_key_loaded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);


/* the instance actor's key, per worker: it signs every fetch */
static EVP_PKEY      *fedi_fetch_key;
static fedi_pg_op_t   fedi_fetch_key_op;
static ngx_uint_t     fedi_fetch_key_loading;


fedi_fetch_t *
fedi_fetch_create(ngx_http_request_t *r, fedi_fetch_conf_t *fc,
    ngx_str_t *url)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    return fedi_fetch_create_in(r->pool, r->connection->log, fc,
                                clcf->resolver, clcf->resolver_timeout, url);
}


fedi_fetch_t *
fedi_fetch_create_in(ngx_pool_t *pool, ngx_log_t *log, fedi_fetch_conf_t *fc,
    ngx_resolver_t *resolver, ngx_msec_t resolver_timeout, ngx_str_t *url)
{
    fedi_fetch_t        *f;
    ngx_pool_cleanup_t  *cln;

    f = ngx_pcalloc(pool, sizeof(fedi_fetch_t));
    if (f == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = fedi_fetch_cleanup;
    cln->data = f;

    f->pool = pool;
    f->log = log;
    f->conf = fc;
    f->resolver = resolver;
    f->resolver_timeout = resolver_timeout;
    f->url = *url;
    f->max_body = fc->max_body;
    f->accept = "application/activity+json, application/ld+json; "
                "profile=\"https://www.w3.org/ns/activitystreams\"";

    f->timer.handler = fedi_fetch_timeout;
    f->timer.data = f;
    f->timer.log = f->log;
    f->timer.cancelable = 1;

    return f;
}


void
fedi_fetch_start(fedi_fetch_t *f)
{
    ngx_add_timer(&f->timer, f->conf->timeout);

    if (fedi_fetch_parse_url(f, &f->url) != NGX_OK) {
        fedi_fetch_fail(f, "not an https URL");
        return;
    }

    fedi_fetch_resolve(f);
}


/* https://host[:port]/path?query; the host lower-cased, its dot dropped */
static ngx_int_t
fedi_fetch_parse_url(fedi_fetch_t *f, ngx_str_t *url)
{
    u_char     *p, *last, *host, *colon;
    ngx_int_t   port;

    if (url->len < 9 || url->len > 2048
        || ngx_strncasecmp(url->data, (u_char *) "https://", 8) != 0)
    {
        return NGX_ERROR;
    }

    p = url->data + 8;
    last = url->data + url->len;
    host = p;

    while (p < last && *p != '/' && *p != '?' && *p != '#') {
        if (*p == '@' || *p == '\\' || *p <= ' ' || *p >= 0x7f) {
            return NGX_ERROR;       /* userinfo, or worse */
        }
        p++;
    }

    colon = ngx_strlchr(host, p, ':');
    f->port = 443;

    if (colon) {
        port = ngx_atoi(colon + 1, p - colon - 1);
        if (port < 1 || port > 65535) {
            return NGX_ERROR;
        }
        f->port = (in_port_t) port;
    } else {
        colon = p;
    }

    if (colon > host && colon[-1] == '.') {
        colon--;
    }

    if (colon == host || host[0] == '[') {
        return NGX_ERROR;           /* no host; IPv6 literals: not here */
    }

    f->host.len = colon - host;
    f->host.data = ngx_pnalloc(f->pool, f->host.len + 1);
    if (f->host.data == NULL) {
        return NGX_ERROR;
    }

    ngx_strlow(f->host.data, host, f->host.len);
    f->host.data[f->host.len] = '\0';

    /* the path and query, without a fragment */
    f->path.data = p;
    while (p < last && *p != '#') {
        if (*p <= ' ' || *p >= 0x7f) {
            return NGX_ERROR;
        }
        p++;
    }
    f->path.len = p - f->path.data;

    if (f->path.len == 0 || f->path.data[0] != '/') {
        f->path.data = (u_char *) "/";
        f->path.len = 1;
    }

    f->final_url = *url;

    return NGX_OK;
}


static void
fedi_fetch_resolve(fedi_fetch_t *f)
{
    in_addr_t            a;
    ngx_resolver_ctx_t  *ctx, temp;

    a = ngx_inet_addr(f->host.data, f->host.len);

    if (a != INADDR_NONE) {
        struct sockaddr_in  *sin = (struct sockaddr_in *) f->sockaddr;

        ngx_memzero(sin, sizeof(struct sockaddr_in));
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = a;
        f->addr.sockaddr = (struct sockaddr *) sin;
        f->addr.socklen = sizeof(struct sockaddr_in);
        fedi_fetch_connect(f);
        return;
    }

    if (f->resolver == NULL) {
        fedi_fetch_fail(f, "no resolver: set nginx's \"resolver\" directive");
        return;
    }

    temp.name = f->host;

    ctx = ngx_resolve_start(f->resolver, &temp);
    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        fedi_fetch_fail(f, "no resolver: set nginx's \"resolver\" directive");
        return;
    }

    ctx->name = f->host;
    ctx->handler = fedi_fetch_resolved;
    ctx->data = f;
    ctx->timeout = f->resolver_timeout;

    f->rctx = ctx;

    if (ngx_resolve_name(ctx) != NGX_OK) {
        f->rctx = NULL;
        fedi_fetch_fail(f, "cannot resolve");
    }
}


static void
fedi_fetch_resolved(ngx_resolver_ctx_t *ctx)
{
    fedi_fetch_t  *f = ctx->data;

    if (ctx->state || ctx->naddrs == 0) {
        ngx_resolve_name_done(ctx);
        f->rctx = NULL;
        fedi_fetch_fail(f, "cannot resolve");
        return;
    }

    /* the address checked is the address connected to */
    ngx_memcpy(f->sockaddr, ctx->addrs[0].sockaddr, ctx->addrs[0].socklen);
    f->addr.sockaddr = (struct sockaddr *) f->sockaddr;
    f->addr.socklen = ctx->addrs[0].socklen;

    ngx_resolve_name_done(ctx);
    f->rctx = NULL;

    fedi_fetch_connect(f);
}


static void
fedi_fetch_connect(fedi_fetch_t *f)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    if (fedi_addr_private(f->addr.sockaddr)
        && (f->conf->allow == NULL
            || ngx_cidr_match(f->addr.sockaddr, f->conf->allow) != NGX_OK))
    {
        fedi_fetch_fail(f, "a private address");
        return;
    }

    ngx_inet_set_port(f->addr.sockaddr, f->port);

    ngx_memzero(&f->peer, sizeof(ngx_peer_connection_t));
    f->peer.sockaddr = f->addr.sockaddr;
    f->peer.socklen = f->addr.socklen;
    f->peer.name = &f->host;
    f->peer.get = ngx_event_get_peer;
    f->peer.log = f->log;
    f->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&f->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        f->peer.connection = NULL;
        fedi_fetch_fail(f, "cannot connect");
        return;
    }

    c = f->peer.connection;
    c->data = f;
    c->pool = f->pool;
    c->log = f->log;
    c->read->log = f->log;
    c->write->log = f->log;
    c->read->handler = fedi_fetch_connected;
    c->write->handler = fedi_fetch_connected;

    if (rc == NGX_OK) {
        fedi_fetch_connected(c->write);
    }
}


static void
fedi_fetch_connected(ngx_event_t *ev)
{
    int                err;
    socklen_t          len;
    ngx_int_t          rc;
    ngx_connection_t  *c = ev->data;
    fedi_fetch_t      *f = c->data;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        fedi_fetch_fail(f, "cannot connect");
        return;
    }

    if (ngx_ssl_create_connection(f->conf->ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        fedi_fetch_fail(f, "TLS failed");
        return;
    }

    if (SSL_set_tlsext_host_name(c->ssl->connection,
                                 (char *) f->host.data) == 0)
    {
        fedi_fetch_fail(f, "TLS failed");
        return;
    }

    c->log->action = "fetching: TLS handshake";

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = fedi_fetch_handshaken;
        return;
    }

    fedi_fetch_handshaken(c);
}


static void
fedi_fetch_handshaken(ngx_connection_t *c)
{
    u_char        *p;
    size_t         len;
    fedi_fetch_t  *f = c->data;

    if (!c->ssl->handshaked) {
        fedi_fetch_fail(f, "TLS handshake failed");
        return;
    }

    if (SSL_get_verify_result(c->ssl->connection) != X509_V_OK
        || ngx_ssl_check_host(c, &f->host) != NGX_OK)
    {
        fedi_fetch_fail(f, "the certificate does not verify");
        return;
    }

    len = sizeof("GET  HTTP/1.1\r\nHost: :65535\r\nAccept: \r\n"
                 "User-Agent: ngx_fedi/" FEDI_VERSION "\r\n"
                 "Connection: close\r\n\r\n")
          + f->path.len + f->host.len + ngx_strlen(f->accept)
          + (fedi_fetch_key ? FEDI_FETCH_SIGNED_LEN + f->conf->key_id.len
                            : 0);

    f->out = ngx_create_temp_buf(f->pool, len);
    if (f->out == NULL) {
        fedi_fetch_fail(f, "out of memory");
        return;
    }

    p = ngx_sprintf(f->out->last, "GET %V HTTP/1.1\r\nHost: %V",
                    &f->path, &f->host);
    if (f->port != 443) {
        p = ngx_sprintf(p, ":%d", (int) f->port);
    }
    p = ngx_sprintf(p, "\r\nAccept: %s\r\nUser-Agent: ngx_fedi/" FEDI_VERSION
                    "\r\nConnection: close\r\n", f->accept);

    if (fedi_fetch_key) {
        p = fedi_fetch_sign(f, p, f->out->end);
        if (p == NULL) {
            fedi_fetch_fail(f, "signing the request failed");
            return;
        }
    }

    *p++ = CR; *p++ = LF;
    f->out->last = p;

    c->log->action = "fetching";
    c->read->handler = fedi_fetch_read;
    c->write->handler = fedi_fetch_write;

    fedi_fetch_write(c->write);
}


static void
fedi_fetch_write(ngx_event_t *ev)
{
    ssize_t            n;
    ngx_connection_t  *c = ev->data;
    fedi_fetch_t      *f = c->data;

    while (f->out->pos < f->out->last) {
        n = c->send(c, f->out->pos, f->out->last - f->out->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(ev, 0) != NGX_OK) {
                fedi_fetch_fail(f, "cannot send");
            }
            return;
        }

        if (n <= 0) {
            fedi_fetch_fail(f, "cannot send");
            return;
        }

        f->out->pos += n;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        fedi_fetch_fail(f, "cannot read");
        return;
    }

    if (c->read->ready) {
        fedi_fetch_read(c->read);
    }
}


static void
fedi_fetch_read(ngx_event_t *ev)
{
    size_t             size, cap;
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c = ev->data;
    fedi_fetch_t      *f = c->data;

    cap = f->max_body + FEDI_FETCH_HEADERS_MAX;

    for ( ;; ) {
        b = f->in;

        if (b == NULL || b->last == b->end) {
            size = b ? (size_t) (b->end - b->start) * 2 : 16384;
            if (size > cap + 1) {
                size = cap + 1;
            }

            if (b && (size_t) (b->last - b->start) >= size) {
                fedi_fetch_fail(f, "the response is too large");
                return;
            }

            f->in = ngx_create_temp_buf(f->pool, size);
            if (f->in == NULL) {
                fedi_fetch_fail(f, "out of memory");
                return;
            }

            if (b) {
                f->in->last = ngx_cpymem(f->in->last, b->pos,
                                         b->last - b->pos);
            }

            b = f->in;
        }

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                fedi_fetch_fail(f, "cannot read");
            }
            return;
        }

        if (n == 0) {
            fedi_fetch_response(f);
            return;
        }

        if (n == NGX_ERROR) {
            fedi_fetch_fail(f, "the connection failed");
            return;
        }

        b->last += n;

        if ((size_t) (b->last - b->pos) > cap) {
            fedi_fetch_fail(f, "the response is too large");
            return;
        }
    }
}


static ngx_str_t *
fedi_fetch_header(ngx_pool_t *pool, u_char *head, u_char *end,
    const char *name, ngx_str_t *out)
{
    u_char  *p, *line, *eol, *v;
    size_t   n;

    n = ngx_strlen(name);

    for (p = head; p < end; p = eol + 2) {
        eol = ngx_strlcasestrn(p, end, (u_char *) "\r\n", 1);
        if (eol == NULL) {
            eol = end;
        }

        line = p;

        if ((size_t) (eol - line) > n && line[n] == ':'
            && ngx_strncasecmp(line, (u_char *) name, n) == 0)
        {
            v = line + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t')) {
                eol--;
            }

            out->len = eol - v;
            out->data = v;
            return out;
        }

        if (eol == end) {
            break;
        }
    }

    out->len = 0;
    out->data = NULL;
    return NULL;
}


static void
fedi_fetch_response(fedi_fetch_t *f)
{
    u_char     *p, *end, *head, *url;
    ngx_int_t   status;
    ngx_str_t   loc, te, cl;
    ngx_buf_t  *b = f->in;

    if (b == NULL) {
        fedi_fetch_fail(f, "an empty response");
        return;
    }

    p = b->pos;
    end = ngx_strlcasestrn(p, b->last, (u_char *) "\r\n\r\n", 3);

    if (end == NULL || b->last - p < 12
        || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ')
    {
        fedi_fetch_fail(f, "not an HTTP response");
        return;
    }

    status = ngx_atoi(p + 9, 3);
    if (status < 100 || status > 599) {
        fedi_fetch_fail(f, "not an HTTP response");
        return;
    }

    head = ngx_strlcasestrn(p, end, (u_char *) "\r\n", 1);
    head = head ? head + 2 : end;

    if (status >= 300 && status < 400 && status != 304
        && fedi_fetch_header(f->pool, head, end, "Location", &loc))
    {
        if (++f->redirects > FEDI_FETCH_MAX_REDIRECTS) {
            fedi_fetch_fail(f, "too many redirects");
            return;
        }

        /* absolute, or a path on the same host */
        if (loc.len && loc.data[0] == '/' && (loc.len < 2 || loc.data[1] != '/')) {
            url = ngx_pnalloc(f->pool, sizeof("https://:65535") + f->host.len
                                       + loc.len);
            if (url == NULL) {
                fedi_fetch_fail(f, "out of memory");
                return;
            }

            f->url.data = url;
            f->url.len = ngx_sprintf(url, "https://%V:%d%V", &f->host,
                                     (int) f->port, &loc) - url;
        } else {
            f->url.data = ngx_pstrdup(f->pool, &loc);
            f->url.len = loc.len;
            if (f->url.data == NULL) {
                fedi_fetch_fail(f, "out of memory");
                return;
            }
        }

        fedi_fetch_close(f);
        f->in = NULL;

        if (fedi_fetch_parse_url(f, &f->url) != NGX_OK) {
            fedi_fetch_fail(f, "a redirect to something not https");
            return;
        }

        fedi_fetch_resolve(f);      /* and the address checked again */
        return;
    }

    f->status = status;

    if (fedi_fetch_header(f->pool, head, end, "Content-Type",
                          &f->content_type) == NULL)
    {
        ngx_str_null(&f->content_type);
    }

    f->body.data = end + 4;
    f->body.len = b->last - f->body.data;

    if (fedi_fetch_header(f->pool, head, end, "Transfer-Encoding", &te)
        && ngx_strlcasestrn(te.data, te.data + te.len,
                            (u_char *) "chunked", 6))
    {
        if (fedi_fetch_dechunk(&f->body) != NGX_OK) {
            fedi_fetch_fail(f, "a broken chunked body");
            return;
        }

    } else if (fedi_fetch_header(f->pool, head, end, "Content-Length", &cl)) {
        status = ngx_atoof(cl.data, cl.len);
        if (status < 0 || (size_t) status > f->body.len) {
            fedi_fetch_fail(f, "a truncated body");
            return;
        }
        f->body.len = status;
    }

    if (f->body.len > f->max_body) {
        fedi_fetch_fail(f, "the response is too large");
        return;
    }

    f->final_url = f->url;
    f->rc = NGX_OK;
    fedi_fetch_finish(f);
}


/* in place: the decoded body is never longer than the chunked one */
static ngx_int_t
fedi_fetch_dechunk(ngx_str_t *body)
{
    u_char  *p, *last, *out;
    size_t   n;
    ngx_int_t  d;

    p = body->data;
    last = p + body->len;
    out = p;

    for ( ;; ) {
        n = 0;

        if (p >= last) {
            return NGX_ERROR;
        }

        while (p < last && *p != '\r' && *p != ';') {
            d = ngx_hextoi(p, 1);
            if (d < 0 || n > (SIZE_MAX >> 4)) {
                return NGX_ERROR;
            }
            n = n * 16 + d;
            p++;
        }

        p = ngx_strlcasestrn(p, last, (u_char *) "\r\n", 1);
        if (p == NULL) {
            return NGX_ERROR;
        }
        p += 2;

        if (n == 0) {
            break;
        }

        if ((size_t) (last - p) < n + 2) {
            return NGX_ERROR;
        }

        out = ngx_movemem(out, p, n);
        p += n + 2;
    }

    body->len = out - body->data;

    return NGX_OK;
}


static void
fedi_fetch_timeout(ngx_event_t *ev)
{
    fedi_fetch_fail(ev->data, "timed out");
}


static void
fedi_fetch_close(fedi_fetch_t *f)
{
    ngx_connection_t  *c;

    if (f->rctx) {
        ngx_resolve_name_done(f->rctx);
        f->rctx = NULL;
    }

    c = f->peer.connection;
    if (c == NULL) {
        return;
    }

    f->peer.connection = NULL;

    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }

    ngx_close_connection(c);
}


static void
fedi_fetch_fail(fedi_fetch_t *f, const char *why)
{
    ngx_log_error(NGX_LOG_INFO, f->log, 0, "fedi: fetching \"%V\": %s",
                  &f->url, why);

    f->rc = NGX_ERROR;
    f->error = why;
    fedi_fetch_finish(f);
}


static void
fedi_fetch_finish(fedi_fetch_t *f)
{
    if (f->finished) {
        return;
    }

    f->finished = 1;

    fedi_fetch_close(f);

    if (f->timer.timer_set) {
        ngx_del_timer(&f->timer);
    }

    if (f->done) {
        f->done(f);
    }
}


/* a failed fetch (rc not NGX_OK) that trying again cannot mend: what
 * the URL is, not how the network is */
ngx_uint_t
fedi_fetch_refused(fedi_fetch_t *f)
{
    return ngx_strcmp(f->error, "a private address") == 0
           || ngx_strcmp(f->error, "the response is too large") == 0
           || ngx_strncmp(f->error, "not an https", 12) == 0
           || ngx_strncmp(f->error, "a redirect to", 13) == 0;
}


/* the request went first: stop without telling anyone */
static void
fedi_fetch_cleanup(void *data)
{
    fedi_fetch_t  *f = data;

    f->finished = 1;
    fedi_fetch_close(f);

    if (f->timer.timer_set) {
        ngx_del_timer(&f->timer);
    }
}


/* configuration: the client SSL context, verifying */
ngx_int_t
fedi_fetch_conf_init(ngx_conf_t *cf, fedi_fetch_conf_t *fc,
    ngx_str_t *base_url)
{
    ngx_pool_cleanup_t  *cln;

    fc->key_id.len = base_url->len + sizeof("/actor#main-key") - 1;
    fc->key_id.data = ngx_pnalloc(cf->pool, fc->key_id.len + 1);
    if (fc->key_id.data == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(fc->key_id.data, "%V/actor#main-key%Z", base_url);

    if (fc->timeout == NGX_CONF_UNSET_MSEC) {
        fc->timeout = FEDI_FETCH_TIMEOUT;
    }

    if (fc->max_body == NGX_CONF_UNSET_SIZE) {
        fc->max_body = FEDI_FETCH_MAX_BODY;
    }

    fc->ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (fc->ssl == NULL) {
        return NGX_ERROR;
    }

    fc->ssl->log = cf->log;

    if (ngx_ssl_create(fc->ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(fc->ssl);
        return NGX_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = fc->ssl;

    if (SSL_CTX_set_default_verify_paths(fc->ssl->ctx) != 1) {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "SSL_CTX_set_default_verify_paths() failed");
        return NGX_ERROR;
    }

    if (fc->trusted.len
        && ngx_ssl_trusted_certificate(cf, fc->ssl, &fc->trusted, 4)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* sessions offered reach a connection's save_session handler: the
     * delivery process resumes them per host (fetches set none) */
    if (ngx_ssl_client_session_cache(cf, fc->ssl, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The resolver of background work (no request to take it from): the
 * first server's (merged: the http block's unless it sets its own); the
 * http block's own settings are not merged with the defaults (an unset
 * resolver_timeout there is -1).
 */
void
fedi_fetch_resolver(ngx_cycle_t *cycle, ngx_resolver_t **resolver,
    ngx_msec_t *timeout)
{
    ngx_http_conf_ctx_t        *hctx;
    ngx_http_core_srv_conf_t  **cscf;
    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_core_main_conf_t  *cmcf;

    hctx = (ngx_http_conf_ctx_t *) cycle->conf_ctx[ngx_http_module.index];
    clcf = hctx->loc_conf[ngx_http_core_module.ctx_index];
    cmcf = hctx->main_conf[ngx_http_core_module.ctx_index];

    if (cmcf->servers.nelts) {
        cscf = cmcf->servers.elts;
        clcf = cscf[0]->ctx->loc_conf[ngx_http_core_module.ctx_index];
    }

    *resolver = clcf->resolver;
    *timeout = clcf->resolver_timeout;

    if (*timeout == NGX_CONF_UNSET_MSEC) {
        *timeout = 30000;
    }
}


/* fedi_outbound_allow CIDR ...: private addresses a fetch may reach */
char *
fedi_fetch_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    fedi_fetch_conf_t  *fc = (fedi_fetch_conf_t *) ((u_char *) conf
                                                    + cmd->offset);
    ngx_str_t          *value;
    ngx_uint_t          i;
    ngx_cidr_t         *cidr;

    if (fc->allow == NULL) {
        fc->allow = ngx_array_create(cf->pool, 4, sizeof(ngx_cidr_t));
        if (fc->allow == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(fc->allow);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_ptocidr(&value[i], cidr) == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address \"%V\"", &value[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Date and Signature of the request, as Mastodon signs a fetch.  An RSA
 * signature (a millisecond) on the event loop: fetches are few, each
 * already waiting on the network.
 */
static u_char *
fedi_fetch_sign(fedi_fetch_t *f, u_char *p, u_char *end)
{
    u_char                  host[NGX_MAXHOSTNAMELEN + sizeof(":65535")], *h;
    char                    date[32];
    char                    sig[FEDI_FETCH_SIGNED_LEN];
    fedi_httpsig_header_t   headers[3];
    fedi_httpsig_request_t  hr;

    static const char  *names[] = { "(request-target)", "host", "date",
                                    "accept" };

    h = ngx_snprintf(host, sizeof(host), "%V", &f->host);
    if (f->port != 443) {
        h = ngx_snprintf(h, host + sizeof(host) - h, ":%d", (int) f->port);
    }

    fedi_httpsig_date(ngx_time(), date);

    headers[0].name.data = "host";
    headers[0].name.len = 4;
    headers[0].value.data = (char *) host;
    headers[0].value.len = h - host;
    headers[1].name.data = "date";
    headers[1].name.len = 4;
    headers[1].value.data = date;
    headers[1].value.len = ngx_strlen(date);
    headers[2].name.data = "accept";
    headers[2].name.len = 6;
    headers[2].value.data = f->accept;
    headers[2].value.len = ngx_strlen(f->accept);

    ngx_memzero(&hr, sizeof(fedi_httpsig_request_t));
    hr.method.data = "GET";
    hr.method.len = 3;
    hr.scheme.data = "https";
    hr.scheme.len = 5;
    hr.authority = headers[0].value;
    hr.target.data = (char *) f->path.data;
    hr.target.len = f->path.len;
    hr.headers = headers;
    hr.nheaders = 3;

    if (fedi_httpsig_cavage_sign(&hr, names, 4,
                                 (char *) f->conf->key_id.data,
                                 fedi_fetch_key, sig, sizeof(sig))
        != FEDI_HTTPSIG_OK)
    {
        return NULL;
    }

    if ((size_t) (end - p) < sizeof("Date: \r\nSignature: \r\n")
                             + ngx_strlen(date) + ngx_strlen(sig))
    {
        return NULL;
    }

    return ngx_sprintf(p, "Date: %s\r\nSignature: %s\r\n", date, sig);
}


void
fedi_fetch_key_load(void)
{
    if (fedi_fetch_key || fedi_fetch_key_loading || fedi_db() == NULL) {
        return;
    }

    ngx_memzero(&fedi_fetch_key_op, sizeof(fedi_pg_op_t));
    fedi_fetch_key_op.stmt = FEDI_SQL_INSTANCE_KEY;
    fedi_fetch_key_op.handler = fedi_fetch_key_loaded;

    fedi_fetch_key_loading = 1;
    fedi_pg_exec(fedi_db(), &fedi_fetch_key_op);
}


static void
fedi_fetch_key_loaded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int  err;

    fedi_fetch_key_loading = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        return;     /* the next connection tries again */
    }

    if (PQntuples(res) != 1) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "fedi: the instance actor has no key yet (fedictl db "
                      "migrate makes it): fetches go unsigned");
        return;
    }

    fedi_fetch_key = fedi_httpsig_privkey_parse(PQgetvalue(res, 0, 0),
                                                PQgetlength(res, 0, 0),
                                                &err);
    if (fedi_fetch_key == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "fedi: the instance actor's key does not parse: %s",
                      fedi_httpsig_strerror(err));
    }
}
