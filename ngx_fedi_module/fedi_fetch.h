/*
 * Copyright (C) ngx_fedi authors
 *
 * Fetching remote documents (actors, objects, WebFinger) without blocking,
 * on nginx's own resolver, peer connections and SSL: https only, the
 * certificate verified, private addresses refused after resolution unless
 * fedi_outbound_allow lists them, the body, the total time and the
 * redirects capped.  Once the worker has loaded the instance actor's key
 * (fedi_fetch_key_load), every request is signed with it, draft-cavage
 * over (request-target) host date accept, as Mastodon signs its fetches,
 * so servers in authorized-fetch mode answer.
 */

#ifndef _FEDI_FETCH_H_INCLUDED_
#define _FEDI_FETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define FEDI_FETCH_MAX_BODY      (1024 * 1024)
#define FEDI_FETCH_TIMEOUT       30000          /* ms, the whole fetch */
#define FEDI_FETCH_MAX_REDIRECTS 3


typedef struct fedi_fetch_s  fedi_fetch_t;

typedef void (*fedi_fetch_done_pt)(fedi_fetch_t *f);


typedef struct {
    ngx_ssl_t           *ssl;              /* client context, verifying */
    ngx_str_t            trusted;          /* fedi_ssl_trusted_certificate */
    ngx_array_t         *allow;            /* of ngx_cidr_t, or NULL */
    ngx_msec_t           timeout;
    size_t               max_body;
    ngx_str_t            key_id;           /* BASE/actor#main-key */
} fedi_fetch_conf_t;


struct fedi_fetch_s {
    /* set by fedi_fetch_create(), the caller may change */
    ngx_str_t            url;
    const char          *accept;
    size_t               max_body;         /* the conf's, or less or more */
    fedi_fetch_done_pt   done;             /* called once, unless the pool */
    void                *data;             /* goes first */

    /* the outcome */
    ngx_int_t            rc;               /* NGX_OK: a response */
    const char          *error;            /* else why not */
    ngx_uint_t           status;
    ngx_str_t            content_type;
    ngx_str_t            body;
    ngx_str_t            final_url;        /* after redirects */

    /* private */
    ngx_pool_t          *pool;
    ngx_log_t           *log;
    fedi_fetch_conf_t   *conf;
    ngx_resolver_t      *resolver;
    ngx_msec_t           resolver_timeout;
    ngx_resolver_ctx_t  *rctx;
    ngx_str_t            host;             /* lower case, no trailing dot */
    in_port_t            port;
    ngx_str_t            path;             /* with the query */
    ngx_addr_t           addr;
    u_char               sockaddr[NGX_SOCKADDRLEN];
    ngx_peer_connection_t  peer;
    ngx_buf_t           *out;
    ngx_buf_t           *in;
    ngx_event_t          timer;
    ngx_uint_t           redirects;
    unsigned             finished:1;
};


/* where background work (no request behind it) fetches: its pool is the
 * work's lifetime */
typedef struct {
    ngx_pool_t          *pool;
    ngx_log_t           *log;
    ngx_resolver_t      *resolver;
    ngx_msec_t           resolver_timeout;
} fedi_fetch_env_t;


fedi_fetch_t *fedi_fetch_create(ngx_http_request_t *r, fedi_fetch_conf_t *fc,
    ngx_str_t *url);
/* with no request behind it (background work): the pool is the fetch's
 * lifetime, the resolver the caller's */
fedi_fetch_t *fedi_fetch_create_in(ngx_pool_t *pool, ngx_log_t *log,
    fedi_fetch_conf_t *fc, ngx_resolver_t *resolver,
    ngx_msec_t resolver_timeout, ngx_str_t *url);
void fedi_fetch_start(fedi_fetch_t *f);
ngx_uint_t fedi_fetch_refused(fedi_fetch_t *f);
void fedi_fetch_resolver(ngx_cycle_t *cycle, ngx_resolver_t **resolver,
    ngx_msec_t *timeout);

ngx_int_t fedi_fetch_conf_init(ngx_conf_t *cf, fedi_fetch_conf_t *fc,
    ngx_str_t *base_url);

/* the instance actor's key from the database, once per worker, when it
 * connects (until then, and without one, fetches go unsigned) */
void fedi_fetch_key_load(void);
char *fedi_fetch_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* _FEDI_FETCH_H_INCLUDED_ */
