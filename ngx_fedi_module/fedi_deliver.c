/*
 * Copyright (C) ngx_fedi authors
 *
 * The delivery process: a companion process of nginx that POSTs the
 * activities queued in PostgreSQL (sql/0017_deliveries.sql) to other
 * servers' inboxes.
 *
 * How it exists: the module registers a path with a "manager" hook
 * (ngx_add_path), so the nginx master runs, and respawns when it dies,
 * the process it runs for its caches ("cache manager"), with its own
 * event loop; the first call of the hook starts the engine below and
 * renames the process "fedi delivery process".  nginx calls the hook
 * only in that process.  On reload the master starts a new one and tells
 * the old one to quit, which it does at once (exit(0), no cleanup): the
 * leases it held are given back by its successor, which sees that its
 * pid is gone.  With master_process off the engine runs in the single
 * process instead.
 *
 * The engine: claims due deliveries (FOR UPDATE SKIP LOCKED, a lease,
 * at most a few per domain at a time), woken by NOTIFY fedi_deliver, with
 * a timer for what a lost notification or a retry left behind; loads and
 * renders each activity once (the Note by the serializer that answers
 * GET), with its Digest and the signer's parsed key; then per job signs
 * (draft-cavage rsa-sha256 over (request-target) host date digest
 * content-type) and POSTs it over HTTP/1.1 through nginx's resolver,
 * peer connections and SSL (SNI, the certificate verified, private
 * addresses refused unless fedi_outbound_allow lists them), with a
 * connection cap per host and overall, keep-alive per host, and one
 * deadline per request.  Each outcome goes to fedi_delivery_done(),
 * which decides about retries.  Signing runs here, in a process of its
 * own, so it never holds up a worker's clients.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap.h"
#include "fedi_addr.h"
#include "fedi_httpsig.h"


#define FEDI_DL_MAX_JOBS       1024     /* claimed and not yet reported */
#define FEDI_DL_BATCH          256
#define FEDI_DL_LEASE          300      /* s */
#define FEDI_DL_TICK           5000     /* ms: the fallback, the sweep */
#define FEDI_DL_KEEPALIVE      60000    /* ms an idle connection is kept */
#define FEDI_DL_IN_SIZE        4096     /* the response head; bodies are
                                           read and dropped */
#define FEDI_DL_MAX_BODY       (1024 * 1024)
#define FEDI_DL_PATH           "fedi_delivery"
#define FEDI_DL_LOOKUP_TIMEOUT 2000     /* ms: a lookup's first answer
                                           awaited, doubled each time */
#define FEDI_DL_LOOKUP_TRIES   4        /* failed lookups of a name before
                                           its deliveries fail */


typedef struct {
    ngx_flag_t             enable;
    ngx_str_t              dir;
    ngx_uint_t             connections;
    ngx_uint_t             host_connections;
    ngx_msec_t             timeout;
    ngx_uint_t             lookups;
    time_t                 host_idle;
} fedi_dl_conf_t;


typedef struct fedi_dl_host_s  fedi_dl_host_t;
typedef struct fedi_dl_act_s   fedi_dl_act_t;
typedef struct fedi_dl_job_s   fedi_dl_job_t;
typedef struct fedi_dl_conn_s  fedi_dl_conn_t;


/* an activity, rendered once for all its deliveries */
struct fedi_dl_act_s {
    ngx_rbtree_node_t      node;        /* key: the activity's id */
    char                   id[24];
    ngx_uint_t             refs;        /* jobs holding it */
    ngx_queue_t            waiting;     /* jobs until it is loaded */
    ngx_pool_t            *pool;
    fedi_pg_op_t           op;
    ngx_str_t              body;
    char                   digest[64];
    char                  *key_id;
    EVP_PKEY              *key;
    const char            *skip;        /* not to send: why */
    ngx_uint_t             skip_status; /* 204: never; 0: later */
    json_t                *payload;     /* while it is rendered */
    char                  *username;
    unsigned               loading:1;
    unsigned               ready:1;
};


/* a server: host and port */
struct fedi_dl_host_s {
    ngx_str_node_t         sn;          /* "host:port" */
    ngx_str_t              name;        /* host, for SNI, Host, domain */
    in_port_t              port;
    ngx_queue_t            waiting;     /* jobs */
    ngx_uint_t             nwaiting;
    ngx_uint_t             active;      /* connections with a job */
    ngx_queue_t            idle;        /* kept-alive connections */
    ngx_queue_t            starved;     /* in fedi_dl.starved */
    ngx_uint_t             refs;        /* jobs that name it */
    time_t                 used;        /* when last it had work */

    /* its address: one lookup for all its connections, kept as long as
     * the resolver says it is valid */
    ngx_queue_t            resolving;   /* connections waiting for it */
    ngx_resolver_ctx_t    *rctx;        /* the lookup under way */
    ngx_queue_t            lookup;      /* in fedi_dl.lookups */
    ngx_event_t            relookup;    /* after a failed lookup */
    ngx_uint_t             failed;      /* lookups failed in a row */
    time_t                 valid;       /* the address, until then */
    u_char                 sockaddr[NGX_SOCKADDRLEN];
    socklen_t              socklen;

    u_char                *ssl_session; /* to resume, DER */
    size_t                 ssl_session_len;
    unsigned               is_starved:1;
    unsigned               in_lookups:1;
};


/* one delivery */
struct fedi_dl_job_s {
    ngx_queue_t            queue;
    char                   id[24];
    fedi_dl_act_t         *act;
    fedi_dl_host_t        *host;
    ngx_str_t              path;
    ngx_uint_t             status;      /* 0: no answer */
    ngx_int_t              retry_after; /* -1: none */
    const char            *error;
    fedi_pg_op_t           op;
    char                   status_s[8];
    char                   retry_s[24];
    unsigned               retried:1;   /* once more on a fresh connection */
    u_char                 inbox[1];
};


struct fedi_dl_conn_s {
    ngx_queue_t            queue;       /* host's idle or resolving list */
    fedi_dl_host_t        *host;
    fedi_dl_job_t         *job;
    ngx_pool_t            *pool;
    ngx_peer_connection_t  peer;
    u_char                 sockaddr[NGX_SOCKADDRLEN];
    socklen_t              socklen;
    ngx_event_t            timer;       /* the request's deadline, or idle */
    ngx_buf_t             *out;
    u_char                *in;
    size_t                 nin;
    off_t                  body_left;   /* -1: until the head is read */
    unsigned               reused:1;
    unsigned               got:1;       /* a byte of answer came */
    unsigned               keepalive:1;
    unsigned               resolving:1; /* in host's resolving list */
};


/* the engine: one per process */
static struct {
    ngx_log_t                  *log;
    fedi_dl_conf_t             *conf;
    ngx_http_fedi_main_conf_t  *fmcf;
    fedi_pg_pool_t             *pool;
    ngx_resolver_t             *resolver;
    ngx_msec_t                  resolver_timeout;
    char                        by[NGX_MAXHOSTNAMELEN + 24];
    char                        hostname[NGX_MAXHOSTNAMELEN];
    char                        base[512];
    ngx_rbtree_t                hosts;
    ngx_rbtree_node_t           hosts_sentinel;
    ngx_rbtree_t                acts;
    ngx_rbtree_node_t           acts_sentinel;
    ngx_queue_t                 starved;
    ngx_queue_t                 lookups;   /* hosts waiting to look up */
    ngx_uint_t                  nlookups;  /* lookups under way */
    ngx_uint_t                  nhosts;
    ngx_uint_t                  njobs;
    ngx_uint_t                  active;
    ngx_uint_t                  nidle;
    ngx_uint_t                  nbusy;     /* in the last claim's list */
    ngx_event_t                 tick;
    ngx_event_t                 recheck;   /* a claim that found nothing */
    ngx_uint_t                  ticks;
    fedi_pg_op_t                claim;
    fedi_pg_op_t                sweep;
    fedi_pg_op_t                base_op;
    char                        limit_s[16];
    char                        per_domain_s[16];
    char                        lease_s[16];
    char                       *busy;
    size_t                      busy_size;
    char                       *alive;
    size_t                      alive_size;
    unsigned                    started:1;
    unsigned                    claiming:1;
    unsigned                    again:1;      /* woken while claiming */
    unsigned                    on_unbusy:1;  /* claim when a host frees */
    unsigned                    sweeping:1;
    unsigned                    rechecked:1;
} fedi_dl;


static void *fedi_dl_create_conf(ngx_conf_t *cf);
static char *fedi_dl_init_conf(ngx_conf_t *cf, void *conf);
static ngx_int_t fedi_dl_init_process(ngx_cycle_t *cycle);
static ngx_msec_t fedi_dl_manager(void *data);
static ngx_int_t fedi_dl_start(ngx_cycle_t *cycle, fedi_dl_conf_t *conf);
static void fedi_dl_notify(const char *channel, const char *payload);
static void fedi_dl_tick(ngx_event_t *ev);
static void fedi_dl_recheck(ngx_event_t *ev);
static void fedi_dl_claim(void);
static void fedi_dl_claimed(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);
static void fedi_dl_sweep(void);
static void fedi_dl_swept(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);
static void fedi_dl_released(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);
static void fedi_dl_base_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);
static fedi_dl_job_t *fedi_dl_job_new(PGresult *res, int row);
static fedi_dl_act_t *fedi_dl_act_get(const char *id);
static void fedi_dl_act_loaded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_dl_act_query(fedi_dl_act_t *act, fedi_sql_id_e stmt,
    const char *arg, fedi_pg_handler_pt handler);
static void fedi_dl_actor_loaded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_dl_act_ready(fedi_dl_act_t *act, const char *skip,
    ngx_uint_t status);
static const char *fedi_dl_type(fedi_dl_act_t *act);
static ngx_int_t fedi_dl_key(fedi_dl_act_t *act, PGresult *res);
static ngx_int_t fedi_dl_render(fedi_dl_act_t *act, PGresult *note,
    PGresult *actor);
static void fedi_dl_act_release(fedi_dl_act_t *act);
static fedi_dl_host_t *fedi_dl_host_get(ngx_str_t *name, in_port_t port);
static ngx_uint_t fedi_dl_host_busy(fedi_dl_host_t *h);
static void fedi_dl_host_run(fedi_dl_host_t *h);
static void fedi_dl_run_starved(void);
static void fedi_dl_job_ready(fedi_dl_job_t *job);
static void fedi_dl_job_done(fedi_dl_job_t *job);
static void fedi_dl_job_reported(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_dl_hosts_sweep(void);
static void fedi_dl_conn_start(fedi_dl_conn_t *dc);
static void fedi_dl_lookup(fedi_dl_host_t *h);
static void fedi_dl_looked_up(ngx_resolver_ctx_t *ctx);
static void fedi_dl_lookup_failed(fedi_dl_host_t *h, const char *why,
    ngx_uint_t transient);
static void fedi_dl_relookup(ngx_event_t *ev);
static void fedi_dl_lookup_next(void);
static void fedi_dl_save_session(ngx_connection_t *c);
static void fedi_dl_connect(fedi_dl_conn_t *dc);
static void fedi_dl_connected(ngx_event_t *ev);
static void fedi_dl_handshaken(ngx_connection_t *c);
static void fedi_dl_send(fedi_dl_conn_t *dc);
static void fedi_dl_write(ngx_event_t *ev);
static void fedi_dl_read(ngx_event_t *ev);
static ngx_int_t fedi_dl_head(fedi_dl_conn_t *dc, u_char *end);
static void fedi_dl_timeout(ngx_event_t *ev);
static void fedi_dl_idle_read(ngx_event_t *ev);
static void fedi_dl_idle_timeout(ngx_event_t *ev);
static void fedi_dl_fail(fedi_dl_conn_t *dc, const char *why);
static void fedi_dl_finish(fedi_dl_conn_t *dc);
static void fedi_dl_close(fedi_dl_conn_t *dc);
static void fedi_dl_write_value(fedi_json_t *j, json_t *v);


static ngx_command_t  fedi_dl_commands[] = {

    { ngx_string("fedi_delivery"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, enable),
      NULL },

    { ngx_string("fedi_delivery_path"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, dir),
      NULL },

    { ngx_string("fedi_delivery_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, connections),
      NULL },

    { ngx_string("fedi_delivery_host_connections"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, host_connections),
      NULL },

    { ngx_string("fedi_delivery_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, timeout),
      NULL },

    { ngx_string("fedi_delivery_lookups"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, lookups),
      NULL },

    { ngx_string("fedi_delivery_host_idle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(fedi_dl_conf_t, host_idle),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  fedi_dl_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    fedi_dl_create_conf,                   /* create main configuration */
    fedi_dl_init_conf,                     /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_fedi_deliver_module = {
    NGX_MODULE_V1,
    &fedi_dl_module_ctx,                   /* module context */
    fedi_dl_commands,                      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    fedi_dl_init_process,                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
fedi_dl_create_conf(ngx_conf_t *cf)
{
    fedi_dl_conf_t  *dcf;

    dcf = ngx_pcalloc(cf->pool, sizeof(fedi_dl_conf_t));
    if (dcf == NULL) {
        return NULL;
    }

    dcf->enable = NGX_CONF_UNSET;
    dcf->connections = NGX_CONF_UNSET_UINT;
    dcf->host_connections = NGX_CONF_UNSET_UINT;
    dcf->timeout = NGX_CONF_UNSET_MSEC;
    dcf->lookups = NGX_CONF_UNSET_UINT;
    dcf->host_idle = NGX_CONF_UNSET;

    return dcf;
}


static char *
fedi_dl_init_conf(ngx_conf_t *cf, void *conf)
{
    fedi_dl_conf_t *dcf = conf;

    ngx_path_t                 *path;
    ngx_http_fedi_main_conf_t  *fmcf;

    ngx_conf_init_value(dcf->enable, 1);
    ngx_conf_init_uint_value(dcf->connections, 128);
    ngx_conf_init_uint_value(dcf->host_connections, 8);
    ngx_conf_init_msec_value(dcf->timeout, 15000);

    /*
     * Lookups under way at a time: a fan-out to a thousand servers would
     * otherwise send a query for each connection it opens at once, and
     * the answers that arrive while the process signs and shakes hands
     * wait in one socket's buffer (256 datagrams by default on Linux)
     */
    ngx_conf_init_uint_value(dcf->lookups, 32);
    ngx_conf_init_value(dcf->host_idle, 600);

    if (dcf->lookups == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_delivery_lookups\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    /* the cache manager process has 512 connections in all */
    if (dcf->connections == 0 || dcf->connections > 400
        || dcf->host_connections == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_delivery_connections\" must be 1 to 400"
                           " and \"fedi_delivery_host_connections\" at"
                           " least 1");
        return NGX_CONF_ERROR;
    }

    if (dcf->dir.len == 0) {
        ngx_str_set(&dcf->dir, FEDI_DL_PATH);
    }

    fmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_fedi_module);

    if (fmcf == NULL || !fmcf->configured || !dcf->enable) {
        return NGX_CONF_OK;
    }

    /*
     * The path with a manager hook: nginx creates its directory and runs
     * a "cache manager" process that calls the hook.
     */
    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = dcf->dir;

    if (ngx_conf_full_name(cf->cycle, &path->name, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    path->manager = fedi_dl_manager;
    path->data = dcf;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
fedi_dl_init_process(ngx_cycle_t *cycle)
{
    fedi_dl_conf_t             *dcf;
    ngx_http_fedi_main_conf_t  *fmcf;

    /* no master, no cache manager: the single process does the work */
    if (ngx_process != NGX_PROCESS_SINGLE) {
        return NGX_OK;
    }

    dcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_fedi_deliver_module);
    fmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);

    if (dcf == NULL || fmcf == NULL || !fmcf->configured || !dcf->enable) {
        return NGX_OK;
    }

    return fedi_dl_start(cycle, dcf);
}


/* the cache manager's hook: the first call starts the engine */
static ngx_msec_t
fedi_dl_manager(void *data)
{
    fedi_dl_conf_t  *dcf = data;

    if (!fedi_dl.started && ngx_process == NGX_PROCESS_HELPER) {
        ngx_setproctitle((char *) "fedi delivery process");

        if (fedi_dl_start((ngx_cycle_t *) ngx_cycle, dcf) != NGX_OK) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "fedi: the delivery process cannot start");
            exit(2);        /* and the master starts another */
        }
    }

    return 24 * 60 * 60 * 1000;
}


static ngx_int_t
fedi_dl_start(ngx_cycle_t *cycle, fedi_dl_conf_t *dcf)
{
    fedi_pg_conf_t  pgc;

    fedi_dl.started = 1;
    fedi_dl.log = cycle->log;
    fedi_dl.conf = dcf;
    fedi_dl.fmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                       ngx_http_fedi_module);

    ngx_rbtree_init(&fedi_dl.hosts, &fedi_dl.hosts_sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_rbtree_init(&fedi_dl.acts, &fedi_dl.acts_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&fedi_dl.starved);
    ngx_queue_init(&fedi_dl.lookups);

    if (gethostname(fedi_dl.hostname, sizeof(fedi_dl.hostname) - 1) == -1) {
        ngx_cpystrn((u_char *) fedi_dl.hostname, (u_char *) "localhost",
                    sizeof(fedi_dl.hostname));
    }

    ngx_sprintf((u_char *) fedi_dl.by, "%s:%P%Z", fedi_dl.hostname, ngx_pid);

    if (fedi_dl.fmcf->base_url.len >= sizeof(fedi_dl.base)) {
        return NGX_ERROR;
    }

    ngx_sprintf((u_char *) fedi_dl.base, "%V%Z", &fedi_dl.fmcf->base_url);
    ngx_sprintf((u_char *) fedi_dl.per_domain_s, "%ui%Z",
                2 * dcf->host_connections);
    ngx_sprintf((u_char *) fedi_dl.lease_s, "%d%Z", FEDI_DL_LEASE);

    fedi_fetch_resolver(cycle, &fedi_dl.resolver, &fedi_dl.resolver_timeout);

    pgc = fedi_dl.fmcf->db;
    pgc.size = 2;
    pgc.queue_max = 2 * FEDI_DL_MAX_JOBS + 64;
    pgc.queue_timeout = 60000;

    fedi_dl.pool = fedi_pg_pool_create(cycle, &pgc);
    if (fedi_dl.pool == NULL) {
        return NGX_ERROR;
    }

    if (fedi_pg_listen(fedi_dl.pool, "LISTEN fedi_deliver", fedi_dl_notify)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    fedi_dl.recheck.handler = fedi_dl_recheck;
    fedi_dl.recheck.log = cycle->log;
    fedi_dl.recheck.data = &fedi_dl;
    fedi_dl.recheck.cancelable = 1;

    fedi_dl.tick.handler = fedi_dl_tick;
    fedi_dl.tick.log = cycle->log;
    fedi_dl.tick.data = &fedi_dl;
    fedi_dl.tick.cancelable = 1;
    ngx_add_timer(&fedi_dl.tick, FEDI_DL_TICK);

    fedi_dl.base_op.stmt = FEDI_SQL_DELIVER_BASE;
    fedi_dl.base_op.nparams = 1;
    fedi_dl.base_op.values[0] = fedi_dl.base;
    fedi_dl.base_op.handler = fedi_dl_base_done;
    fedi_pg_exec(fedi_dl.pool, &fedi_dl.base_op);

    ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                  "fedi: delivery process %s started", fedi_dl.by);

    return NGX_OK;
}


static void
fedi_dl_base_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    /* then whatever a predecessor left behind, then the queue */
    fedi_dl_sweep();
    fedi_dl_claim();
}


static void
fedi_dl_notify(const char *channel, const char *payload)
{
    /* channel NULL: (re)connected, anything may have been missed */
    fedi_dl.rechecked = 0;
    fedi_dl_claim();
}


static void
fedi_dl_recheck(ngx_event_t *ev)
{
    fedi_dl_claim();
}


static void
fedi_dl_tick(ngx_event_t *ev)
{
    if (ngx_terminate || ngx_quit || ngx_exiting) {
        return;
    }

    fedi_dl_claim();

    if (++fedi_dl.ticks % 2 == 0) {
        fedi_dl_sweep();
    }

    fedi_dl_hosts_sweep();

    ngx_add_timer(ev, FEDI_DL_TICK);
}


/* ---- the queue ---- */

/* the busy domains as an array literal: hosts are [a-z0-9.-] */
static char *
fedi_dl_busy_list(void)
{
    size_t             need;
    u_char            *p;
    ngx_rbtree_node_t *node, *root, *sentinel;
    fedi_dl_host_t    *h;

    need = 3;
    root = fedi_dl.hosts.root;
    sentinel = fedi_dl.hosts.sentinel;

    if (root != sentinel) {
        for (node = ngx_rbtree_min(root, sentinel); node;
             node = ngx_rbtree_next(&fedi_dl.hosts, node))
        {
            h = (fedi_dl_host_t *) node;
            if (fedi_dl_host_busy(h)) {
                need += h->name.len + 1;
            }
        }
    }

    if (need > fedi_dl.busy_size) {
        ngx_free(fedi_dl.busy);
        fedi_dl.busy_size = ngx_max(need, 256);
        fedi_dl.busy = ngx_alloc(fedi_dl.busy_size, fedi_dl.log);
        if (fedi_dl.busy == NULL) {
            fedi_dl.busy_size = 0;
            return NULL;
        }
    }

    p = (u_char *) fedi_dl.busy;
    *p++ = '{';
    fedi_dl.nbusy = 0;

    if (root != sentinel) {
        for (node = ngx_rbtree_min(root, sentinel); node;
             node = ngx_rbtree_next(&fedi_dl.hosts, node))
        {
            h = (fedi_dl_host_t *) node;
            if (fedi_dl_host_busy(h)) {
                if (p[-1] != '{') {
                    *p++ = ',';
                }
                p = ngx_cpymem(p, h->name.data, h->name.len);
                fedi_dl.nbusy++;
            }
        }
    }

    *p++ = '}';
    *p = '\0';

    return fedi_dl.busy;
}


static ngx_uint_t
fedi_dl_host_busy(fedi_dl_host_t *h)
{
    return h->nwaiting + h->active >= 2 * fedi_dl.conf->host_connections;
}


static void
fedi_dl_claim(void)
{
    ngx_uint_t   limit;
    char        *busy;

    if (!fedi_dl.started || ngx_terminate || ngx_quit || ngx_exiting) {
        return;
    }

    if (fedi_dl.claiming) {
        fedi_dl.again = 1;
        return;
    }

    if (fedi_dl.njobs >= FEDI_DL_MAX_JOBS) {
        return;
    }

    limit = ngx_min(FEDI_DL_BATCH, FEDI_DL_MAX_JOBS - fedi_dl.njobs);

    busy = fedi_dl_busy_list();
    if (busy == NULL) {
        return;
    }

    ngx_sprintf((u_char *) fedi_dl.limit_s, "%ui%Z", limit);

    ngx_memzero(&fedi_dl.claim, sizeof(fedi_pg_op_t));
    fedi_dl.claim.stmt = FEDI_SQL_DELIVER_CLAIM;
    fedi_dl.claim.nparams = 5;
    fedi_dl.claim.values[0] = fedi_dl.limit_s;
    fedi_dl.claim.values[1] = fedi_dl.per_domain_s;
    fedi_dl.claim.values[2] = fedi_dl.by;
    fedi_dl.claim.values[3] = busy;
    fedi_dl.claim.values[4] = fedi_dl.lease_s;
    fedi_dl.claim.handler = fedi_dl_claimed;
    fedi_dl.claim.data = (void *) (uintptr_t) limit;

    fedi_dl.claiming = 1;
    fedi_dl.again = 0;
    fedi_dl.on_unbusy = 0;

    fedi_pg_exec(fedi_dl.pool, &fedi_dl.claim);
}


static void
fedi_dl_claimed(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int             i, n;
    ngx_uint_t      limit = (uintptr_t) op->data;
    fedi_dl_job_t  *job;

    fedi_dl.claiming = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, fedi_dl.log, 0,
                          "fedi: claiming deliveries failed: %s",
                          PQresultErrorMessage(res));
        }
        return;         /* the tick tries again */
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        job = fedi_dl_job_new(res, i);
        if (job == NULL) {
            continue;   /* its lease runs out, it comes back */
        }

        fedi_dl.njobs++;
        fedi_dl_job_ready(job);
    }

    if ((ngx_uint_t) n == limit || fedi_dl.again) {
        fedi_dl_claim();
        return;
    }

    /*
     * Nothing, when woken: another node's claim may have held the due
     * rows that moment (SKIP LOCKED), and takes no more than a claim's
     * worth of a domain; look once more half a second later, so nodes
     * share a fan-out rather than the first taking all of it
     */
    if (n == 0 && !fedi_dl.rechecked && !fedi_dl.recheck.timer_set) {
        fedi_dl.rechecked = 1;
        ngx_add_timer(&fedi_dl.recheck, 500);
    }

    /*
     * Some domains were left out, or got as many as one claim gives a
     * domain (more of theirs may be due): look again when one frees.
     * (Without the second, a server with hundreds due got sixteen every
     * tick, five seconds.)
     */
    fedi_dl.on_unbusy = (fedi_dl.nbusy > 0 || n > 0);
}


static fedi_dl_job_t *
fedi_dl_job_new(PGresult *res, int row)
{
    u_char          *p, *last, *host, *colon;
    size_t           len;
    ngx_int_t        port;
    ngx_str_t        name;
    fedi_dl_job_t   *job;
    fedi_dl_act_t   *act;

    len = PQgetlength(res, row, 2);

    job = ngx_calloc(sizeof(fedi_dl_job_t) + len, fedi_dl.log);
    if (job == NULL) {
        return NULL;
    }

    ngx_cpystrn((u_char *) job->id, (u_char *) PQgetvalue(res, row, 0),
                sizeof(job->id));
    ngx_memcpy(job->inbox, PQgetvalue(res, row, 2), len);
    job->inbox[len] = '\0';
    job->retry_after = -1;

    act = fedi_dl_act_get(PQgetvalue(res, row, 1));
    if (act == NULL) {
        ngx_free(job);
        return NULL;
    }

    job->act = act;
    act->refs++;

    /* https://host[:port]/path: anything else fails as a 400 would */
    p = job->inbox + sizeof("https://") - 1;
    last = job->inbox + len;
    host = p;

    while (p < last && *p != '/' && *p != '?') {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '.' || *p == '-' || *p == ':'
              || (*p >= 'A' && *p <= 'Z')))
        {
            break;
        }
        p++;
    }

    colon = ngx_strlchr(host, p, ':');
    port = 443;

    if (colon) {
        port = ngx_atoi(colon + 1, p - colon - 1);
    } else {
        colon = p;
    }

    if (colon > host && colon[-1] == '.') {
        colon--;
    }

    if (len < sizeof("https://x") - 1
        || ngx_strncasecmp(job->inbox, (u_char *) "https://", 8) != 0
        || (p < last && *p != '/' && *p != '?')
        || colon == host || port < 1 || port > 65535)
    {
        job->status = 400;
        job->error = "not an https URL";
        job->host = NULL;
        return job;
    }

    ngx_strlow(host, host, colon - host);

    job->path.data = p;
    job->path.len = last - p;

    if (job->path.len == 0) {
        ngx_str_set(&job->path, "/");
    }

    name.data = host;
    name.len = colon - host;

    job->host = fedi_dl_host_get(&name, (in_port_t) port);
    if (job->host == NULL) {
        job->status = 0;
        job->error = "out of memory";

    } else {
        job->host->refs++;
    }

    return job;
}


/* ---- activities ---- */

static fedi_dl_act_t *
fedi_dl_act_get(const char *id)
{
    int64_t             key;
    ngx_rbtree_node_t  *node, *sentinel;
    fedi_dl_act_t      *act;

    key = ngx_atoi((u_char *) id, ngx_strlen(id));
    if (key == NGX_ERROR) {
        return NULL;
    }

    node = fedi_dl.acts.root;
    sentinel = fedi_dl.acts.sentinel;

    while (node != sentinel) {
        if ((ngx_rbtree_key_t) key == node->key) {
            return (fedi_dl_act_t *) node;
        }

        node = ((ngx_rbtree_key_t) key < node->key) ? node->left
                                                     : node->right;
    }

    act = ngx_calloc(sizeof(fedi_dl_act_t), fedi_dl.log);
    if (act == NULL) {
        return NULL;
    }

    act->pool = ngx_create_pool(4096, fedi_dl.log);
    if (act->pool == NULL) {
        ngx_free(act);
        return NULL;
    }

    act->node.key = (ngx_rbtree_key_t) key;
    ngx_cpystrn((u_char *) act->id, (u_char *) id, sizeof(act->id));
    ngx_queue_init(&act->waiting);
    ngx_rbtree_insert(&fedi_dl.acts, &act->node);

    act->loading = 1;
    fedi_dl_act_query(act, FEDI_SQL_DELIVER_ACTIVITY, act->id,
                      fedi_dl_act_loaded);

    return act;
}


/* stmt with arg and the base URL, for the activity */
static void
fedi_dl_act_query(fedi_dl_act_t *act, fedi_sql_id_e stmt, const char *arg,
    fedi_pg_handler_pt handler)
{
    ngx_memzero(&act->op, sizeof(fedi_pg_op_t));
    act->op.stmt = stmt;
    act->op.nparams = 2;
    act->op.values[0] = arg;
    act->op.values[1] = fedi_dl.base;
    act->op.handler = handler;
    act->op.data = act;

    fedi_pg_exec(fedi_dl.pool, &act->op);
}


static void
fedi_dl_act_loaded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_dl_act_t  *act = op->data;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, fedi_dl.log, 0,
                          "fedi: loading activity %s failed: %s", act->id,
                          PQresultErrorMessage(res));
        }
        fedi_dl_act_ready(act, "the activity could not be loaded", 0);
        return;
    }

    if (PQntuples(res) != 1) {
        fedi_dl_act_ready(act, "the activity is gone", 204);
        return;
    }

    if (fedi_pg_bool(res, 0, FEDI_AP_NOTE_NCOLS + 2)) {
        /* its Delete follows */
        fedi_dl_act_ready(act, "the status is gone", 204);
        return;
    }

    act->payload = json_loadb(PQgetvalue(res, 0, FEDI_AP_NOTE_NCOLS),
                              PQgetlength(res, 0, FEDI_AP_NOTE_NCOLS), 0,
                              NULL);

    if (act->payload == NULL || !json_is_object(act->payload)
        || fedi_dl_key(act, res) != NGX_OK)
    {
        fedi_dl_act_ready(act, "the activity could not be rendered", 0);
        return;
    }

    /* an Update of the actor: its document, as GET answers it */
    if (PQgetisnull(res, 0, N_ID)
        && json_object_get(act->payload, "object") == NULL
        && ngx_strcmp(fedi_dl_type(act), "Update") == 0)
    {
        act->username = fedi_pstrz(act->pool,
                                   (u_char *) PQgetvalue(res, 0, N_USERNAME),
                                   PQgetlength(res, 0, N_USERNAME));
        if (act->username == NULL) {
            fedi_dl_act_ready(act, "out of memory", 0);
            return;
        }

        fedi_dl_act_query(act, FEDI_SQL_AP_ACCOUNT, act->username,
                          fedi_dl_actor_loaded);
        return;
    }

    fedi_dl_act_ready(act, fedi_dl_render(act, res, NULL) == NGX_OK
                           ? NULL : "the activity could not be rendered", 0);
}


static void
fedi_dl_actor_loaded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_dl_act_t  *act = op->data;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        fedi_dl_act_ready(act, "the actor could not be loaded", 0);
        return;
    }

    if (PQntuples(res) != 1) {
        fedi_dl_act_ready(act, "the actor is gone", 204);
        return;
    }

    fedi_dl_act_ready(act, fedi_dl_render(act, NULL, res) == NGX_OK
                           ? NULL : "the activity could not be rendered", 0);
}


/* loaded (skip: or why not to send it, and as what): the jobs go on */
static void
fedi_dl_act_ready(fedi_dl_act_t *act, const char *skip, ngx_uint_t status)
{
    ngx_queue_t    *q;
    fedi_dl_job_t  *job;

    act->loading = 0;
    act->ready = 1;
    act->skip = skip;
    act->skip_status = status;

    if (act->payload) {
        json_decref(act->payload);
        act->payload = NULL;
    }

    while (!ngx_queue_empty(&act->waiting)) {
        q = ngx_queue_head(&act->waiting);
        ngx_queue_remove(q);
        job = ngx_queue_data(q, fedi_dl_job_t, queue);
        fedi_dl_job_ready(job);
    }
}


static const char *
fedi_dl_type(fedi_dl_act_t *act)
{
    json_t  *type = json_object_get(act->payload, "type");

    return json_is_string(type) ? json_string_value(type) : "";
}


/* the signer's key and its id */
static ngx_int_t
fedi_dl_key(fedi_dl_act_t *act, PGresult *res)
{
    int          prc;
    const char  *pem;

    act->key_id = (char *) ngx_pnalloc(act->pool,
                                       fedi_dl.fmcf->base_url.len
                                       + PQgetlength(res, 0, N_USERNAME)
                                       + sizeof("/users/#main-key"));
    if (act->key_id == NULL) {
        return NGX_ERROR;
    }

    if (fedi_pg_bool(res, 0, FEDI_AP_NOTE_NCOLS + 3)) {
        /* the instance actor's (a Flag: the reporter stays unnamed) */
        ngx_sprintf((u_char *) act->key_id, "%V/actor#main-key%Z",
                    &fedi_dl.fmcf->base_url);

    } else {
        ngx_sprintf((u_char *) act->key_id, "%V/users/%s#main-key%Z",
                    &fedi_dl.fmcf->base_url, PQgetvalue(res, 0, N_USERNAME));
    }

    pem = fedi_pg_val(res, 0, FEDI_AP_NOTE_NCOLS + 1);
    if (pem == NULL) {
        ngx_log_error(NGX_LOG_ERR, fedi_dl.log, 0,
                      "fedi: account %s has no private key",
                      PQgetvalue(res, 0, N_USERNAME));
        return NGX_ERROR;
    }

    act->key = fedi_httpsig_privkey_parse(pem, ngx_strlen(pem), &prc);
    if (act->key == NULL) {
        ngx_log_error(NGX_LOG_ERR, fedi_dl.log, 0,
                      "fedi: the private key of %s does not parse: %s",
                      PQgetvalue(res, 0, N_USERNAME),
                      fedi_httpsig_strerror(prc));
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void *
fedi_dl_json_alloc(void *ctx, size_t size)
{
    return ngx_palloc((ngx_pool_t *) ctx, size);
}


/*
 * The body: the payload, and for a Create or Update of a status its Note
 * (note: a DELIVER_ACTIVITY row), for an Update of the actor its document
 * (actor: an AP_ACCOUNT row); then its Digest
 */
static ngx_int_t
fedi_dl_render(fedi_dl_act_t *act, PGresult *note, PGresult *actor)
{
    long           n;
    u_char         uri[512], *p;
    json_t        *v;
    fedi_req_t     rq;
    fedi_json_t    j;
    const char    *key, *t;

    t = fedi_dl_type(act);

    if (note && (PQgetisnull(note, 0, N_ID)
                 || (ngx_strcmp(t, "Create") != 0
                     && ngx_strcmp(t, "Update") != 0)))
    {
        note = NULL;
    }

    ngx_memzero(&rq, sizeof(fedi_req_t));
    rq.mcf = fedi_dl.fmcf;

    fedi_json_init(&j, fedi_dl_json_alloc, act->pool);
    fedi_json_obj_open(&j);

    if (note) {
        fedi_json_kraw(&j, "@context", (u_char *) fedi_ap_note_context,
                       ngx_strlen(fedi_ap_note_context));
    } else {
        fedi_json_kcstr(&j, "@context", FEDI_AP_AS);
    }

    json_object_foreach(act->payload, key, v) {
        fedi_json_key(&j, key);

        /* a Flag's comment is text, whatever it starts with */
        if (ngx_strcmp(key, "content") == 0 && json_is_string(v)) {
            fedi_json_str(&j, (u_char *) json_string_value(v),
                          json_string_length(v));
            continue;
        }

        fedi_dl_write_value(&j, v);
    }

    if (note) {
        fedi_ap_kurl(&j, "actor", "%V/users/%s", &fedi_dl.fmcf->base_url,
                     PQgetvalue(note, 0, N_USERNAME));
        fedi_json_kcstr(&j, "published",
                        PQgetvalue(note, 0, ngx_strcmp(t, "Create") == 0
                                            ? N_PUBLISHED : N_UPDATED));
        fedi_json_kraw(&j, "to", (u_char *) PQgetvalue(note, 0, N_TO),
                       PQgetlength(note, 0, N_TO));
        fedi_json_kraw(&j, "cc", (u_char *) PQgetvalue(note, 0, N_CC),
                       PQgetlength(note, 0, N_CC));
        fedi_json_key(&j, "object");
        fedi_ap_note(&rq, &j, note, 0, 0);
    }

    if (actor) {
        p = ngx_snprintf(uri, sizeof(uri) - 1, "%V/users/%s",
                         &fedi_dl.fmcf->base_url, act->username);
        *p = '\0';
        fedi_json_key(&j, "object");
        fedi_ap_actor_render(&rq, &j, actor, (char *) uri);
    }

    fedi_json_obj_close(&j);

    act->body.data = ngx_pnalloc(act->pool, j.size + 1);
    if (act->body.data == NULL) {
        return NGX_ERROR;
    }

    n = fedi_json_flatten(&j, act->body.data, j.size + 1);
    if (n < 0) {
        return NGX_ERROR;
    }

    act->body.len = n;

    fedi_httpsig_digest(act->body.data, act->body.len, act->digest);

    return NGX_OK;
}


/* a payload value; strings starting with "/" are local URIs */
static void
fedi_dl_write_value(fedi_json_t *j, json_t *v)
{
    size_t       i;
    json_t      *e;
    const char  *key, *s;

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        fedi_json_obj_open(j);
        json_object_foreach(v, key, e) {
            fedi_json_key(j, key);
            fedi_dl_write_value(j, e);
        }
        fedi_json_obj_close(j);
        return;

    case JSON_ARRAY:
        fedi_json_arr_open(j);
        json_array_foreach(v, i, e) {
            fedi_dl_write_value(j, e);
        }
        fedi_json_arr_close(j);
        return;

    case JSON_STRING:
        s = json_string_value(v);
        if (s[0] == '/') {
            fedi_ap_kurl(j, NULL, "%V%s", &fedi_dl.fmcf->base_url, s);
        } else {
            fedi_json_str(j, (u_char *) s, json_string_length(v));
        }
        return;

    case JSON_INTEGER:
        fedi_json_int(j, json_integer_value(v));
        return;

    case JSON_REAL:
        fedi_json_double(j, json_real_value(v));
        return;

    case JSON_TRUE:
    case JSON_FALSE:
        fedi_json_bool(j, json_is_true(v));
        return;

    default:
        fedi_json_null(j);
    }
}


static void
fedi_dl_act_release(fedi_dl_act_t *act)
{
    if (--act->refs > 0 || act->loading) {
        return;
    }

    ngx_rbtree_delete(&fedi_dl.acts, &act->node);

    if (act->key) {
        EVP_PKEY_free(act->key);
    }

    ngx_destroy_pool(act->pool);
    ngx_free(act);
}


/* ---- hosts ---- */

static fedi_dl_host_t *
fedi_dl_host_get(ngx_str_t *name, in_port_t port)
{
    u_char           buf[NGX_MAXHOSTNAMELEN + 8], *p;
    uint32_t         hash;
    ngx_str_t        key;
    fedi_dl_host_t  *h;

    if (name->len >= NGX_MAXHOSTNAMELEN) {
        return NULL;
    }

    p = ngx_sprintf(buf, "%V:%d", name, (int) port);
    key.data = buf;
    key.len = p - buf;

    hash = ngx_crc32_short(key.data, key.len);

    h = (fedi_dl_host_t *) ngx_str_rbtree_lookup(&fedi_dl.hosts, &key, hash);
    if (h) {
        return h;
    }

    /* "host:port", then the host alone, NUL-terminated, for SNI */
    h = ngx_calloc(sizeof(fedi_dl_host_t) + key.len + name->len + 2,
                   fedi_dl.log);
    if (h == NULL) {
        return NULL;
    }

    h->sn.str.data = (u_char *) (h + 1);
    h->sn.str.len = key.len;
    ngx_memcpy(h->sn.str.data, key.data, key.len);
    h->sn.str.data[key.len] = '\0';
    h->sn.node.key = hash;
    h->name.data = h->sn.str.data + key.len + 1;
    h->name.len = name->len;
    ngx_memcpy(h->name.data, name->data, name->len);
    h->name.data[name->len] = '\0';
    h->port = port;
    h->used = ngx_time();
    ngx_queue_init(&h->waiting);
    ngx_queue_init(&h->idle);
    ngx_queue_init(&h->resolving);
    h->relookup.handler = fedi_dl_relookup;
    h->relookup.data = h;
    h->relookup.log = fedi_dl.log;
    h->relookup.cancelable = 1;

    ngx_rbtree_insert(&fedi_dl.hosts, &h->sn.node);
    fedi_dl.nhosts++;

    return h;
}


/* hosts with nothing to do for a while are forgotten: their address,
 * TLS session and place in the table */
static void
fedi_dl_hosts_sweep(void)
{
    time_t              before;
    ngx_uint_t          n;
    ngx_rbtree_node_t  *node, *next, *root, *sentinel;
    fedi_dl_host_t     *h;

    root = fedi_dl.hosts.root;
    sentinel = fedi_dl.hosts.sentinel;

    if (root == sentinel) {
        return;
    }

    before = ngx_time() - fedi_dl.conf->host_idle;
    n = 0;

    for (node = ngx_rbtree_min(root, sentinel); node; node = next) {
        next = ngx_rbtree_next(&fedi_dl.hosts, node);
        h = (fedi_dl_host_t *) node;

        if (h->used > before || h->refs || h->active || h->nwaiting
            || !ngx_queue_empty(&h->idle) || !ngx_queue_empty(&h->resolving)
            || h->rctx || h->in_lookups || h->relookup.timer_set
            || h->is_starved)
        {
            continue;
        }

        ngx_rbtree_delete(&fedi_dl.hosts, node);
        fedi_dl.nhosts--;

        ngx_free(h->ssl_session);
        ngx_free(h);
        n++;
    }

    if (n) {
        ngx_log_error(NGX_LOG_INFO, fedi_dl.log, 0,
                      "fedi: %ui idle delivery hosts forgotten, %ui left",
                      n, fedi_dl.nhosts);
    }
}


static void
fedi_dl_job_ready(fedi_dl_job_t *job)
{
    fedi_dl_host_t  *h = job->host;

    if (!job->act->ready) {
        ngx_queue_insert_tail(&job->act->waiting, &job->queue);
        return;
    }

    if (job->act->skip && job->status == 0 && job->error == NULL) {
        /* nothing to send: gone for good (204), or try later (0) */
        job->status = job->act->skip_status;
        job->error = job->act->skip;
        fedi_dl_job_done(job);
        return;
    }

    if (h == NULL || job->status || job->error) {
        fedi_dl_job_done(job);
        return;
    }

    ngx_queue_insert_tail(&h->waiting, &job->queue);
    h->nwaiting++;

    fedi_dl_host_run(h);
}


static void
fedi_dl_host_run(fedi_dl_host_t *h)
{
    ngx_queue_t     *q;
    fedi_dl_job_t   *job;
    fedi_dl_conn_t  *dc;

    while (h->nwaiting && h->active < fedi_dl.conf->host_connections) {

        if (!ngx_queue_empty(&h->idle)) {
            q = ngx_queue_head(&h->idle);
            ngx_queue_remove(q);
            fedi_dl.nidle--;
            dc = ngx_queue_data(q, fedi_dl_conn_t, queue);
            dc->reused = 1;

            if (dc->timer.timer_set) {
                ngx_del_timer(&dc->timer);
            }

        } else if (fedi_dl.active >= fedi_dl.conf->connections) {
            if (!h->is_starved) {
                ngx_queue_insert_tail(&fedi_dl.starved, &h->starved);
                h->is_starved = 1;
            }
            return;

        } else {
            dc = ngx_calloc(sizeof(fedi_dl_conn_t), fedi_dl.log);
            if (dc == NULL) {
                return;
            }

            dc->pool = ngx_create_pool(2048, fedi_dl.log);
            if (dc->pool == NULL) {
                ngx_free(dc);
                return;
            }

            dc->host = h;
            dc->timer.data = dc;
            dc->timer.log = fedi_dl.log;
            dc->timer.cancelable = 1;
        }

        q = ngx_queue_head(&h->waiting);
        ngx_queue_remove(q);
        h->nwaiting--;
        job = ngx_queue_data(q, fedi_dl_job_t, queue);

        h->active++;
        fedi_dl.active++;

        dc->job = job;
        fedi_dl_conn_start(dc);
    }
}


static void
fedi_dl_run_starved(void)
{
    ngx_queue_t     *q;
    fedi_dl_host_t  *h;

    while (!ngx_queue_empty(&fedi_dl.starved)
           && fedi_dl.active < fedi_dl.conf->connections)
    {
        q = ngx_queue_head(&fedi_dl.starved);
        ngx_queue_remove(q);
        h = ngx_queue_data(q, fedi_dl_host_t, starved);
        h->is_starved = 0;
        fedi_dl_host_run(h);
    }
}


/* ---- one request ---- */

static void
fedi_dl_conn_start(fedi_dl_conn_t *dc)
{
    in_addr_t        a;
    fedi_dl_host_t  *h = dc->host;

    dc->timer.handler = fedi_dl_timeout;
    ngx_add_timer(&dc->timer, fedi_dl.conf->timeout);

    dc->got = 0;
    dc->nin = 0;
    dc->body_left = -1;
    dc->keepalive = 0;

    if (dc->peer.connection) {
        fedi_dl_send(dc);
        return;
    }

    dc->reused = 0;

    a = ngx_inet_addr(h->name.data, h->name.len);

    if (a != INADDR_NONE) {
        struct sockaddr_in  *sin = (struct sockaddr_in *) dc->sockaddr;

        ngx_memzero(sin, sizeof(struct sockaddr_in));
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = a;
        dc->socklen = sizeof(struct sockaddr_in);
        fedi_dl_connect(dc);
        return;
    }

    if (h->valid >= ngx_time()) {
        ngx_memcpy(dc->sockaddr, h->sockaddr, h->socklen);
        dc->socklen = h->socklen;
        fedi_dl_connect(dc);
        return;
    }

    ngx_queue_insert_tail(&h->resolving, &dc->queue);
    dc->resolving = 1;

    fedi_dl_lookup(h);
}


/*
 * The host's address: one lookup at a time per host, and no more than
 * fedi_delivery_lookups at a time in all (the others wait their turn).
 * An answer not there after two seconds (four, eight ...) is given up
 * on, rather than awaited until the resolver's resend five seconds on;
 * a lookup that failed so, or that the DNS server failed or refused, is
 * made again (a new query) a quarter of a second later (half, one, two;
 * a name that does not exist: once).  A DNS server that drops or refuses
 * some queries of a burst costs a delivery some time within its
 * deadline, not a failure and the retry a quarter of a minute later.
 */
static void
fedi_dl_lookup(fedi_dl_host_t *h)
{
    ngx_msec_t           timeout;
    ngx_resolver_ctx_t  *ctx, temp;

    if (h->rctx || h->in_lookups || h->relookup.timer_set) {
        return;
    }

    if (ngx_queue_empty(&h->resolving)) {
        h->failed = 0;      /* they gave up waiting */
        return;
    }

    if (fedi_dl.resolver == NULL) {
        fedi_dl_lookup_failed(h, "no resolver: set nginx's \"resolver\""
                              " directive", 0);
        return;
    }

    if (fedi_dl.nlookups >= fedi_dl.conf->lookups) {
        ngx_queue_insert_tail(&fedi_dl.lookups, &h->lookup);
        h->in_lookups = 1;
        return;
    }

    temp.name = h->name;

    ctx = ngx_resolve_start(fedi_dl.resolver, &temp);
    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        fedi_dl_lookup_failed(h, "no resolver: set nginx's \"resolver\""
                              " directive", 0);
        return;
    }

    timeout = (ngx_msec_t) FEDI_DL_LOOKUP_TIMEOUT << ngx_min(h->failed, 4);

    ctx->name = h->name;
    ctx->handler = fedi_dl_looked_up;
    ctx->data = h;
    ctx->timeout = ngx_min(timeout, fedi_dl.resolver_timeout);

    h->rctx = ctx;
    fedi_dl.nlookups++;

    /* a cached name calls fedi_dl_looked_up() at once */
    if (ngx_resolve_name(ctx) != NGX_OK) {
        h->rctx = NULL;
        fedi_dl.nlookups--;
        fedi_dl_lookup_failed(h, "cannot resolve", 1);
    }
}


static void
fedi_dl_looked_up(ngx_resolver_ctx_t *ctx)
{
    ngx_int_t        state;
    ngx_queue_t     *q;
    const char      *why;
    fedi_dl_conn_t  *dc;
    fedi_dl_host_t  *h = ctx->data;

    h->rctx = NULL;
    fedi_dl.nlookups--;

    if (ctx->state || ctx->naddrs == 0) {
        state = ctx->state;
        why = state ? ngx_resolver_strerror(state) : "cannot resolve";
        ngx_resolve_name_done(ctx);

        /* the name does not exist: once more (as before), else a while */
        fedi_dl_lookup_failed(h, why, state != NGX_RESOLVE_NXDOMAIN);

    } else {
        /* the address checked is the address connected to */
        ngx_memcpy(h->sockaddr, ctx->addrs[0].sockaddr,
                   ctx->addrs[0].socklen);
        h->socklen = ctx->addrs[0].socklen;
        h->valid = ctx->valid;
        h->failed = 0;

        ngx_resolve_name_done(ctx);

        while (!ngx_queue_empty(&h->resolving)) {
            q = ngx_queue_head(&h->resolving);
            ngx_queue_remove(q);
            dc = ngx_queue_data(q, fedi_dl_conn_t, queue);
            dc->resolving = 0;

            ngx_memcpy(dc->sockaddr, h->sockaddr, h->socklen);
            dc->socklen = h->socklen;
            fedi_dl_connect(dc);
        }
    }

    fedi_dl_lookup_next();
}


static void
fedi_dl_lookup_failed(fedi_dl_host_t *h, const char *why,
    ngx_uint_t transient)
{
    ngx_msec_t       delay;
    ngx_queue_t     *q, waiting;
    fedi_dl_conn_t  *dc;

    if (ngx_queue_empty(&h->resolving)) {
        h->failed = 0;
        return;
    }

    if (h->failed < (transient ? FEDI_DL_LOOKUP_TRIES : 1)) {
        delay = (ngx_msec_t) 250 << h->failed;
        h->failed++;

        ngx_log_error(NGX_LOG_INFO, fedi_dl.log, 0,
                      "fedi: looking up \"%V\": %s, again in %M ms",
                      &h->name, why, delay);

        ngx_add_timer(&h->relookup, delay);
        return;
    }

    h->failed = 0;

    /* they fail; whatever starts meanwhile waits for a lookup of its own */
    ngx_queue_init(&waiting);
    ngx_queue_add(&waiting, &h->resolving);
    ngx_queue_init(&h->resolving);

    while (!ngx_queue_empty(&waiting)) {
        q = ngx_queue_head(&waiting);
        ngx_queue_remove(q);
        dc = ngx_queue_data(q, fedi_dl_conn_t, queue);
        dc->resolving = 0;
        fedi_dl_fail(dc, why);
    }
}


static void
fedi_dl_relookup(ngx_event_t *ev)
{
    fedi_dl_lookup(ev->data);
}


static void
fedi_dl_lookup_next(void)
{
    ngx_queue_t     *q;
    fedi_dl_host_t  *h;

    while (!ngx_queue_empty(&fedi_dl.lookups)
           && fedi_dl.nlookups < fedi_dl.conf->lookups)
    {
        q = ngx_queue_head(&fedi_dl.lookups);
        ngx_queue_remove(q);
        h = ngx_queue_data(q, fedi_dl_host_t, lookup);
        h->in_lookups = 0;
        fedi_dl_lookup(h);
    }
}


static void
fedi_dl_connect(fedi_dl_conn_t *dc)
{
    ngx_int_t           rc;
    ngx_connection_t   *c;
    struct sockaddr    *sa = (struct sockaddr *) dc->sockaddr;
    fedi_fetch_conf_t  *fc = &fedi_dl.fmcf->fetch;

    if (fedi_addr_private(sa)
        && (fc->allow == NULL || ngx_cidr_match(sa, fc->allow) != NGX_OK))
    {
        fedi_dl_fail(dc, "a private address");
        return;
    }

    ngx_inet_set_port(sa, dc->host->port);

    ngx_memzero(&dc->peer, sizeof(ngx_peer_connection_t));
    dc->peer.sockaddr = sa;
    dc->peer.socklen = dc->socklen;
    dc->peer.name = &dc->host->name;
    dc->peer.get = ngx_event_get_peer;
    dc->peer.log = fedi_dl.log;
    dc->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&dc->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        dc->peer.connection = NULL;
        dc->host->valid = 0;    /* looked up again next time */
        fedi_dl_fail(dc, "cannot connect");
        return;
    }

    c = dc->peer.connection;
    c->data = dc;
    c->pool = dc->pool;
    c->read->handler = fedi_dl_connected;
    c->write->handler = fedi_dl_connected;

    if (rc == NGX_OK) {
        fedi_dl_connected(c->write);
    }
}


static void
fedi_dl_connected(ngx_event_t *ev)
{
    int                 err;
    socklen_t           len;
    ngx_int_t           rc;
    const u_char       *p;
    ngx_ssl_session_t  *session;
    ngx_connection_t  *c = ev->data;
    fedi_dl_conn_t    *dc = c->data;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        dc->host->valid = 0;    /* looked up again next time */
        fedi_dl_fail(dc, "cannot connect");
        return;
    }

    if (ngx_ssl_create_connection(fedi_dl.fmcf->fetch.ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        fedi_dl_fail(dc, "TLS failed");
        return;
    }

    if (SSL_set_tlsext_host_name(c->ssl->connection,
                                 (char *) dc->host->name.data) == 0)
    {
        fedi_dl_fail(dc, "TLS failed");
        return;
    }

    /*
     * The host's last TLS session, resumed (an abbreviated handshake: no
     * certificate chain sent and verified again), as proxy_ssl_session_reuse
     * does; the server's new tickets replace it (fedi_dl_save_session).
     * Kept serialized, as nginx keeps an upstream's: OpenSSL does not
     * offer a TLS 1.3 session object twice, a copy of it it does.
     */
    c->ssl->save_session = fedi_dl_save_session;

    if (dc->host->ssl_session) {
        p = dc->host->ssl_session;
        session = d2i_SSL_SESSION(NULL, &p, dc->host->ssl_session_len);

        if (session) {
            rc = ngx_ssl_set_session(c, session);
            ngx_ssl_free_session(session);

            if (rc != NGX_OK) {
                fedi_dl_fail(dc, "TLS failed");
                return;
            }
        }
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = fedi_dl_handshaken;
        return;
    }

    fedi_dl_handshaken(c);
}


static void
fedi_dl_handshaken(ngx_connection_t *c)
{
    fedi_dl_conn_t  *dc = c->data;

    if (!c->ssl->handshaked) {
        fedi_dl_fail(dc, "TLS handshake failed");
        return;
    }

    if (SSL_get_verify_result(c->ssl->connection) != X509_V_OK
        || ngx_ssl_check_host(c, &dc->host->name) != NGX_OK)
    {
        ngx_free(dc->host->ssl_session);
        dc->host->ssl_session = NULL;

        fedi_dl_fail(dc, "the certificate does not verify");
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, c->log, 0,
                   "fedi: TLS to %V%s", &dc->host->name,
                   SSL_session_reused(c->ssl->connection) ? ", resumed" : "");

    fedi_dl_send(dc);
}


/* a session the server offers (during the handshake, or a ticket after
 * it): kept for the host, if the server is the one it must be */
static void
fedi_dl_save_session(ngx_connection_t *c)
{
    int                 len;
    u_char             *buf, *p;
    ngx_ssl_session_t  *session;
    fedi_dl_conn_t     *dc = c->data;

    if (SSL_get_verify_result(c->ssl->connection) != X509_V_OK
        || ngx_ssl_check_host(c, &dc->host->name) != NGX_OK)
    {
        return;
    }

    session = ngx_ssl_get0_session(c);
    if (session == NULL) {
        return;
    }

    len = i2d_SSL_SESSION(session, NULL);
    if (len <= 0 || len > 16384) {
        return;         /* no session, or not one to keep */
    }

    buf = ngx_alloc(len, fedi_dl.log);
    if (buf == NULL) {
        return;
    }

    p = buf;
    (void) i2d_SSL_SESSION(session, &p);

    ngx_free(dc->host->ssl_session);
    dc->host->ssl_session = buf;
    dc->host->ssl_session_len = len;
}


static void
fedi_dl_send(fedi_dl_conn_t *dc)
{
    int                     rc;
    u_char                 *p;
    size_t                  len;
    char                    date[32], host[NGX_MAXHOSTNAMELEN + 8];
    char                    sig[2048];
    ngx_connection_t       *c = dc->peer.connection;
    fedi_dl_job_t          *job = dc->job;
    fedi_dl_act_t          *act = job->act;
    fedi_httpsig_header_t   hdrs[4];
    fedi_httpsig_request_t  hr;

    static const char *const  names[] = {
        "(request-target)", "host", "date", "digest", "content-type"
    };

    fedi_httpsig_date(ngx_time(), date);

    if (dc->host->port == 443) {
        ngx_sprintf((u_char *) host, "%V%Z", &dc->host->name);
    } else {
        ngx_sprintf((u_char *) host, "%V:%d%Z", &dc->host->name,
                    (int) dc->host->port);
    }

    hdrs[0].name.data = "Host";
    hdrs[0].name.len = 4;
    hdrs[0].value.data = host;
    hdrs[0].value.len = ngx_strlen(host);
    hdrs[1].name.data = "Date";
    hdrs[1].name.len = 4;
    hdrs[1].value.data = date;
    hdrs[1].value.len = ngx_strlen(date);
    hdrs[2].name.data = "Digest";
    hdrs[2].name.len = 6;
    hdrs[2].value.data = act->digest;
    hdrs[2].value.len = ngx_strlen(act->digest);
    hdrs[3].name.data = "Content-Type";
    hdrs[3].name.len = 12;
    hdrs[3].value.data = "application/activity+json";
    hdrs[3].value.len = sizeof("application/activity+json") - 1;

    ngx_memzero(&hr, sizeof(fedi_httpsig_request_t));
    hr.method.data = "POST";
    hr.method.len = 4;
    hr.scheme.data = "https";
    hr.scheme.len = 5;
    hr.authority = hdrs[0].value;
    hr.target.data = (char *) job->path.data;
    hr.target.len = job->path.len;
    hr.headers = hdrs;
    hr.nheaders = 4;
    hr.body = act->body.data;
    hr.body_len = act->body.len;

    rc = fedi_httpsig_cavage_sign(&hr, names, 5, act->key_id, act->key, sig,
                                  sizeof(sig));
    if (rc != FEDI_HTTPSIG_OK) {
        fedi_dl_fail(dc, "cannot sign");
        return;
    }

    len = sizeof("POST  HTTP/1.1\r\nHost: \r\nDate: \r\nDigest: \r\n"
                 "Content-Type: application/activity+json\r\n"
                 "Signature: \r\nUser-Agent: ngx_fedi/" FEDI_VERSION
                 " (+)\r\nContent-Length: \r\n\r\n")
          + job->path.len + ngx_strlen(host) + ngx_strlen(date)
          + ngx_strlen(act->digest) + ngx_strlen(sig)
          + fedi_dl.fmcf->base_url.len + NGX_SIZE_T_LEN + act->body.len;

    if (dc->out == NULL || (size_t) (dc->out->end - dc->out->start) < len) {
        dc->out = ngx_create_temp_buf(dc->pool, ngx_max(len, 4096));
        if (dc->out == NULL) {
            fedi_dl_fail(dc, "out of memory");
            return;
        }
    }

    p = dc->out->start;
    p = ngx_sprintf(p, "POST %V HTTP/1.1\r\nHost: %s\r\nDate: %s\r\n"
                    "Digest: %s\r\n"
                    "Content-Type: application/activity+json\r\n"
                    "Signature: %s\r\n"
                    "User-Agent: ngx_fedi/" FEDI_VERSION " (+%V/)\r\n"
                    "Content-Length: %uz\r\n\r\n",
                    &job->path, host, date, act->digest, sig,
                    &fedi_dl.fmcf->base_url, act->body.len);
    p = ngx_cpymem(p, act->body.data, act->body.len);

    dc->out->pos = dc->out->start;
    dc->out->last = p;

    if (dc->in == NULL) {
        dc->in = ngx_pnalloc(dc->pool, FEDI_DL_IN_SIZE);
        if (dc->in == NULL) {
            fedi_dl_fail(dc, "out of memory");
            return;
        }
    }

    c->read->handler = fedi_dl_read;
    c->write->handler = fedi_dl_write;

    fedi_dl_write(c->write);
}


static void
fedi_dl_write(ngx_event_t *ev)
{
    ssize_t            n;
    ngx_connection_t  *c = ev->data;
    fedi_dl_conn_t    *dc = c->data;
    ngx_buf_t         *b = dc->out;

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(ev, 0) != NGX_OK) {
                fedi_dl_fail(dc, "cannot send");
            }
            return;
        }

        if (n <= 0) {
            fedi_dl_fail(dc, "cannot send");
            return;
        }

        b->pos += n;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        fedi_dl_fail(dc, "cannot read");
        return;
    }

    if (c->read->ready) {
        fedi_dl_read(c->read);
    }
}


static void
fedi_dl_read(ngx_event_t *ev)
{
    u_char             drop[4096], *end;
    ssize_t            n;
    ngx_connection_t  *c = ev->data;
    fedi_dl_conn_t    *dc = c->data;

    for ( ;; ) {

        if (dc->body_left >= 0) {
            if (dc->body_left == 0) {
                fedi_dl_finish(dc);
                return;
            }

            n = c->recv(c, drop, ngx_min((off_t) sizeof(drop),
                                         dc->body_left));
        } else {
            if (dc->nin == FEDI_DL_IN_SIZE) {
                fedi_dl_fail(dc, "the response head is too large");
                return;
            }

            n = c->recv(c, dc->in + dc->nin, FEDI_DL_IN_SIZE - dc->nin);
        }

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(ev, 0) != NGX_OK) {
                fedi_dl_fail(dc, "cannot read");
            }
            return;
        }

        if (n == 0 || n == NGX_ERROR) {
            if (dc->job->status) {
                /* the body ended with the connection */
                dc->keepalive = 0;
                fedi_dl_finish(dc);
                return;
            }

            fedi_dl_fail(dc, n == 0 ? "the connection was closed"
                                    : "the connection failed");
            return;
        }

        dc->got = 1;

        if (dc->body_left >= 0) {
            dc->body_left -= n;
            continue;
        }

        dc->nin += n;

        end = ngx_strlcasestrn(dc->in, dc->in + dc->nin,
                               (u_char *) "\r\n\r\n", 3);
        if (end == NULL) {
            continue;
        }

        if (fedi_dl_head(dc, end) != NGX_OK) {
            return;
        }
    }
}


/* a header's value in the head [p, end), or NULL */
static u_char *
fedi_dl_header(u_char *p, u_char *end, const char *name, size_t *len)
{
    u_char  *eol, *v;
    size_t   n = ngx_strlen(name);

    for ( ;; ) {
        eol = ngx_strlcasestrn(p, end, (u_char *) "\r\n", 1);
        if (eol == NULL) {
            eol = end;
        }

        if ((size_t) (eol - p) > n && p[n] == ':'
            && ngx_strncasecmp(p, (u_char *) name, n) == 0)
        {
            v = p + n + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t')) {
                eol--;
            }

            *len = eol - v;
            return v;
        }

        if (eol >= end) {
            return NULL;
        }

        p = eol + 2;
    }
}


/* the head is in: the status, and how much body follows */
static ngx_int_t
fedi_dl_head(fedi_dl_conn_t *dc, u_char *end)
{
    u_char      *p = dc->in, *v, *head;
    size_t       len;
    off_t        cl;
    time_t       t;
    ngx_int_t    status;

    if (end - p < 12 || ngx_strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') {
        fedi_dl_fail(dc, "not an HTTP response");
        return NGX_ERROR;
    }

    status = ngx_atoi(p + 9, 3);
    if (status < 100 || status > 599) {
        fedi_dl_fail(dc, "not an HTTP response");
        return NGX_ERROR;
    }

    if (status < 200) {
        /* 100 Continue and the like: the real answer follows */
        ngx_memmove(dc->in, end + 4, dc->in + dc->nin - (end + 4));
        dc->nin -= end + 4 - dc->in;
        return NGX_OK;
    }

    dc->job->status = status;

    head = ngx_strlcasestrn(p, end, (u_char *) "\r\n", 1);
    head = head ? head + 2 : end;

    if (status == 429) {
        v = fedi_dl_header(head, end, "Retry-After", &len);
        if (v) {
            dc->job->retry_after = ngx_atoi(v, len);
            if (dc->job->retry_after == NGX_ERROR) {
                t = ngx_parse_http_time(v, len);
                dc->job->retry_after = (t == NGX_ERROR) ? -1
                                       : ngx_max(t - ngx_time(), 1);
            }
        }
    }

    /* keep-alive: HTTP/1.1, a Content-Length, no "Connection: close" */
    dc->keepalive = (p[7] == '1');

    v = fedi_dl_header(head, end, "Connection", &len);
    if (v && ngx_strlcasestrn(v, v + len, (u_char *) "close", 4)) {
        dc->keepalive = 0;
    }

    cl = -1;
    v = fedi_dl_header(head, end, "Content-Length", &len);
    if (v) {
        cl = ngx_atoof(v, len);
    }

    if (cl < 0 || cl > FEDI_DL_MAX_BODY
        || fedi_dl_header(head, end, "Transfer-Encoding", &len))
    {
        /* the status is what counts: no reuse of this connection */
        dc->keepalive = 0;
        fedi_dl_finish(dc);
        return NGX_DONE;
    }

    len = dc->in + dc->nin - (end + 4);

    if ((off_t) len > cl) {
        dc->keepalive = 0;      /* more than announced: not HTTP we know */
        cl = len;
    }

    dc->body_left = cl - len;

    if (dc->body_left == 0) {
        fedi_dl_finish(dc);
        return NGX_DONE;
    }

    return NGX_OK;
}


static void
fedi_dl_timeout(ngx_event_t *ev)
{
    fedi_dl_conn_t  *dc = ev->data;

    dc->reused = 0;             /* a slow server is not a stale connection */
    fedi_dl_fail(dc, dc->resolving ? "timed out looking up the name"
                                   : "timed out");
}


/* the request failed without an answer */
static void
fedi_dl_fail(fedi_dl_conn_t *dc, const char *why)
{
    fedi_dl_job_t   *job = dc->job;
    fedi_dl_host_t  *h = dc->host;

    ngx_log_error(NGX_LOG_INFO, fedi_dl.log, 0,
                  "fedi: delivering to \"%s\": %s", job->inbox, why);

    /*
     * Once more, at once, with a fresh connection, on a kept-alive one
     * the server had closed; then the failure counts.  (A name that did
     * not resolve was looked up again already: fedi_dl_lookup_failed().)
     */
    if (!job->retried && dc->reused && !dc->got) {
        job->retried = 1;
        job->status = 0;
        dc->job = NULL;
        fedi_dl_close(dc);

        h->active--;
        fedi_dl.active--;

        ngx_queue_insert_head(&h->waiting, &job->queue);
        h->nwaiting++;

        fedi_dl_host_run(h);
        fedi_dl_run_starved();
        return;
    }

    job->status = 0;
    job->error = why;
    dc->keepalive = 0;
    fedi_dl_finish(dc);
}


/* the job has its outcome: report it, keep or close the connection */
static void
fedi_dl_finish(fedi_dl_conn_t *dc)
{
    ngx_connection_t  *c;
    fedi_dl_job_t     *job = dc->job;
    fedi_dl_host_t    *h = dc->host;

    dc->job = NULL;

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    h->active--;
    fedi_dl.active--;

    c = dc->peer.connection;

    if (dc->keepalive && c && !ngx_terminate && !ngx_quit
        && fedi_dl.nidle < fedi_dl.conf->connections)
    {
        c->read->handler = fedi_dl_idle_read;
        c->write->handler = fedi_dl_idle_read;
        dc->timer.handler = fedi_dl_idle_timeout;
        ngx_add_timer(&dc->timer, FEDI_DL_KEEPALIVE);
        ngx_queue_insert_head(&h->idle, &dc->queue);
        fedi_dl.nidle++;

    } else {
        fedi_dl_close(dc);
    }

    fedi_dl_job_done(job);

    fedi_dl_host_run(h);
    fedi_dl_run_starved();
}


static void
fedi_dl_idle_read(ngx_event_t *ev)
{
    int                n;
    char               buf[1];
    ngx_connection_t  *c = ev->data;
    fedi_dl_conn_t    *dc = c->data;

    if (!ev->write) {
        n = recv(c->fd, buf, 1, MSG_PEEK);

        if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
            ev->ready = 0;

            if (ngx_handle_read_event(c->read, 0) == NGX_OK) {
                return;
            }
        }
    } else {
        return;
    }

    /* closed by the server, or something unasked for: drop it */
    ngx_queue_remove(&dc->queue);
    fedi_dl.nidle--;
    fedi_dl_close(dc);
}


static void
fedi_dl_idle_timeout(ngx_event_t *ev)
{
    fedi_dl_conn_t  *dc = ev->data;

    ngx_queue_remove(&dc->queue);
    fedi_dl.nidle--;
    fedi_dl_close(dc);
}


/* close and free the connection */
static void
fedi_dl_close(fedi_dl_conn_t *dc)
{
    ngx_connection_t  *c;

    if (dc->resolving) {
        ngx_queue_remove(&dc->queue);
        dc->resolving = 0;
    }

    dc->host->used = ngx_time();

    if (dc->timer.timer_set) {
        ngx_del_timer(&dc->timer);
    }

    c = dc->peer.connection;

    if (c) {
        dc->peer.connection = NULL;

        if (c->ssl) {
            c->ssl->no_wait_shutdown = 1;
            c->ssl->no_send_shutdown = 1;
            (void) ngx_ssl_shutdown(c);
        }

        c->pool = NULL;     /* ours, destroyed below */
        ngx_close_connection(c);
    }

    ngx_destroy_pool(dc->pool);
    ngx_free(dc);
}


/* ---- outcomes ---- */

static void
fedi_dl_job_done(fedi_dl_job_t *job)
{
    ngx_sprintf((u_char *) job->status_s, "%ui%Z", job->status);

    ngx_memzero(&job->op, sizeof(fedi_pg_op_t));
    job->op.stmt = FEDI_SQL_DELIVER_DONE;
    job->op.nparams = 5;
    job->op.values[0] = job->id;
    job->op.values[1] = fedi_dl.by;
    job->op.values[2] = job->status_s;

    if (job->retry_after >= 0) {
        ngx_sprintf((u_char *) job->retry_s, "%i%Z", job->retry_after);
        job->op.values[3] = job->retry_s;
    }

    job->op.values[4] = job->error;
    job->op.handler = fedi_dl_job_reported;
    job->op.data = job;

    fedi_pg_exec(fedi_dl.pool, &job->op);
}


static void
fedi_dl_job_reported(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_dl_job_t   *job = op->data;
    fedi_dl_host_t  *h = job->host;
    ngx_uint_t       was_busy;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        /* the lease runs out and it is sent again: receivers dedupe */
        ngx_log_error(NGX_LOG_ERR, fedi_dl.log, 0,
                      "fedi: recording delivery %s failed: %s", job->id,
                      res ? PQresultErrorMessage(res) : "no database");
    } else {
        ngx_log_debug3(NGX_LOG_DEBUG_EVENT, fedi_dl.log, 0,
                       "fedi: delivery %s to %s: %s", job->id, job->inbox,
                       PQgetvalue(res, 0, 0));
    }

    if (h) {
        h->refs--;
        h->used = ngx_time();
    }

    fedi_dl_act_release(job->act);
    ngx_free(job);

    was_busy = fedi_dl.njobs-- >= FEDI_DL_MAX_JOBS;

    if (was_busy || (fedi_dl.on_unbusy && h && !fedi_dl_host_busy(h))) {
        fedi_dl_claim();
    }
}


/* ---- leases of processes that are gone ---- */

static void
fedi_dl_sweep(void)
{
    if (fedi_dl.sweeping || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_memzero(&fedi_dl.sweep, sizeof(fedi_pg_op_t));
    fedi_dl.sweep.stmt = FEDI_SQL_DELIVER_HOLDERS;
    fedi_dl.sweep.nparams = 1;
    fedi_dl.sweep.values[0] = fedi_dl.hostname;
    fedi_dl.sweep.handler = fedi_dl_swept;

    fedi_dl.sweeping = 1;
    fedi_pg_exec(fedi_dl.pool, &fedi_dl.sweep);
}


static void
fedi_dl_swept(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int          i, n;
    u_char      *p;
    size_t       need, hl;
    ngx_int_t    pid;
    ngx_uint_t   dead;
    const char  *by;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        fedi_dl.sweeping = 0;
        return;
    }

    n = PQntuples(res);
    hl = ngx_strlen(fedi_dl.hostname);
    need = 3;
    dead = 0;

    for (i = 0; i < n; i++) {
        need += PQgetlength(res, i, 0) + 3;
    }

    if (need > fedi_dl.alive_size) {
        ngx_free(fedi_dl.alive);
        fedi_dl.alive_size = ngx_max(need, 256);
        fedi_dl.alive = ngx_alloc(fedi_dl.alive_size, fedi_dl.log);
        if (fedi_dl.alive == NULL) {
            fedi_dl.alive_size = 0;
            fedi_dl.sweeping = 0;
            return;
        }
    }

    p = (u_char *) fedi_dl.alive;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        by = PQgetvalue(res, i, 0);

        if ((size_t) PQgetlength(res, i, 0) <= hl + 1 || by[hl] != ':'
            || ngx_strchr(by, '"') || ngx_strchr(by, '\\'))
        {
            continue;
        }

        pid = ngx_atoi((u_char *) by + hl + 1, ngx_strlen(by + hl + 1));

        if (pid > 0 && pid != ngx_pid && kill((pid_t) pid, 0) == -1
            && ngx_errno == NGX_ESRCH)
        {
            dead++;
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, by, PQgetlength(res, i, 0));
        *p++ = '"';
    }

    *p++ = '}';
    *p = '\0';

    if (dead == 0) {
        fedi_dl.sweeping = 0;
        return;
    }

    ngx_memzero(&fedi_dl.sweep, sizeof(fedi_pg_op_t));
    fedi_dl.sweep.stmt = FEDI_SQL_DELIVER_RELEASE;
    fedi_dl.sweep.nparams = 2;
    fedi_dl.sweep.values[0] = fedi_dl.hostname;
    fedi_dl.sweep.values[1] = fedi_dl.alive;
    fedi_dl.sweep.handler = fedi_dl_released;

    fedi_pg_exec(fedi_dl.pool, &fedi_dl.sweep);
}


static void
fedi_dl_released(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_dl.sweeping = 0;

    if (rc == NGX_OK && res && PQresultStatus(res) == PGRES_TUPLES_OK) {
        ngx_log_error(NGX_LOG_NOTICE, fedi_dl.log, 0,
                      "fedi: %s deliveries of processes gone given back",
                      PQgetvalue(res, 0, 0));
        fedi_dl_claim();
    }
}
