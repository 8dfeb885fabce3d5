/*
 * Copyright (C) ngx_fedi authors
 *
 * The streaming API, held by the workers themselves: WebSocket at
 * /api/v1/streaming (RFC 6455, several streams on one socket) and
 * server-sent events at /api/v1/streaming/<stream>.
 *
 * No worker-to-worker IPC.  Writers leave rows in stream_events in the
 * transaction of the action (sql/0018_streaming.sql); NOTIFY fedi_stream
 * wakes every worker of every node on its one LISTEN connection; each
 * worker reads the rows after the last it saw and hands them to its own
 * subscribers.  A batch is rendered with a fixed number of queries,
 * whatever the number of subscribers: the statuses once (STREAM_STATUSES),
 * every (viewer, status) pair's permission and marks at once
 * (STREAM_VIEW), and one query per notification or conversation, which
 * belong to one account each.  A payload is rendered once per set of
 * viewer marks and copied to every subscriber that gets it.
 *
 * Ids come from a sequence, so a row may commit after a higher one was
 * read: the worker remembers what it delivered above a gap and waits a
 * few seconds for the gap to fill (a rolled-back transaction never does).
 *
 * Clients: a bounded output buffer each (fedi_stream_buffer: a slow
 * reader is dropped), none while idle; a heartbeat (":thump" for SSE, a
 * ping for WebSocket); a cap of streams per token per worker; a revoked
 * token closes its streams.
 * The connections are "idle" for nginx, so a reload closes them at once,
 * with a close frame (1001), and clients reconnect to the new workers.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/sha.h>

#include "fedi.h"
#include "fedi_scope.h"
#include "fedi_status.h"
#include "fedi_ws.h"
#include "fedi_filters.h"
#include "fedi_announcement.h"


#define FEDI_STREAM_BUCKETS    1024
#define FEDI_STREAM_BATCH      500
#define FEDI_STREAM_MSG_MAX    16384          /* a client message, in bytes */
#define FEDI_STREAM_IN_SIZE    (FEDI_STREAM_MSG_MAX + FEDI_WS_HEADER_MAX)
#define FEDI_STREAM_PER_TOKEN  32             /* streams of a token */
#define FEDI_STREAM_SUBS_MAX   32             /* streams of a socket */
#define FEDI_STREAM_BEAT       15000          /* heartbeat, ms */
#define FEDI_STREAM_STALL      60000          /* unsent output: dropped */
#define FEDI_STREAM_LINGER     5000           /* for the close to go out */
#define FEDI_STREAM_H2_WATCH   1000           /* HTTP/2: a reload, seen */
#define FEDI_STREAM_GAP_WAIT   5000           /* for a missing event */
#define FEDI_STREAM_SEEN_MAX   4096
#define FEDI_STREAM_PRUNE      60000

/* HTTP/2: frames of the stream not sent yet, or output held back */
#if (NGX_HTTP_V2)
#define fedi_stream_h2_busy(r)  ((r)->out || (r)->stream->queued)
#else
#define fedi_stream_h2_busy(r)  ((r)->out != NULL)
#endif

/* what a stream follows: the key of its events */
#define FEDI_CH_USER     1              /* user:ACCOUNT */
#define FEDI_CH_PUBLIC   2              /* public */
#define FEDI_CH_HASHTAG  3              /* hashtag:NAME */
#define FEDI_CH_DIRECT   4              /* direct:ACCOUNT */
#define FEDI_CH_LIST     5              /* list:LIST, the viewer's */
#define FEDI_CH_TOKEN    6              /* token:DIGEST, counts streams */

#define FEDI_CHF_LOCAL   0x01
#define FEDI_CHF_REMOTE  0x02
#define FEDI_CHF_MEDIA   0x04
#define FEDI_CHF_NOTIF   0x08

/* events */
#define FEDI_EV_UPDATE        0
#define FEDI_EV_STATUS_UPDATE 1
#define FEDI_EV_DELETE        2
#define FEDI_EV_NOTIFICATION  3
#define FEDI_EV_CONVERSATION  4
#define FEDI_EV_FILTERS       5     /* filters_changed: no payload */
#define FEDI_EV_ANNOUNCEMENT  6     /* for every user: one query */
#define FEDI_EV_ANN_REACTION  7
#define FEDI_EV_ANN_DELETE    8

/* the viewer's marks in a payload: one rendering per combination */
#define FEDI_STREAM_MARKS     5
#define FEDI_STREAM_VARIANTS  (1 << FEDI_STREAM_MARKS)


typedef struct {
    const char          *name;      /* Mastodon's: "public:local" */
    const char          *path;      /* SSE: /api/v1/streaming + path */
    ngx_uint_t           kind;
    ngx_uint_t           flags;
    const char          *scope;     /* NULL: any token will do */
} fedi_stream_channel_t;


typedef struct fedi_stream_client_s  fedi_stream_client_t;

typedef struct {
    ngx_queue_t                   bucket;   /* in the registry */
    ngx_queue_t                   mine;     /* in the client's list */
    fedi_stream_client_t         *client;
    const fedi_stream_channel_t  *ch;
    uint32_t                      hash;
    ngx_str_t                     key;      /* "user:42" */
    ngx_str_t                     stream;   /* ["hashtag","foo"] */
} fedi_stream_sub_t;


struct fedi_stream_client_s {
    fedi_req_t          *rq;
    ngx_http_request_t  *r;
    ngx_connection_t    *c;
    ngx_queue_t          all;
    ngx_queue_t          subs;
    ngx_uint_t           nsubs;
    ngx_queue_t          checks;        /* list subscriptions pending */
    ngx_uint_t           nchecks;
    int64_t              account;
    u_char              *out;           /* unsent output, or NULL */
    size_t               out_pos;
    size_t               out_len;
    size_t               out_size;
    ngx_msec_t           stalled;       /* since when output waits */
    u_char              *in;            /* unread frame bytes, or NULL */
    size_t               in_len;
    u_char              *msg;           /* a fragmented message */
    size_t               msg_len;
    ngx_msec_t           last_in;
    ngx_event_t          beat;
    ngx_event_t          finish;
    /* HTTP/2: out is handed to the filter chain as sbuf, and events go
     * to the spare buffer until nginx is done with it (both from the
     * request pool, which outlives the stream's queued frames) */
    ngx_buf_t            sbuf;
    ngx_chain_t          sch;
    u_char              *spare;
    size_t               spare_size;
    unsigned             h2:1;
    unsigned             sending:1;     /* sbuf is nginx's */
    unsigned             last:1;        /* END_STREAM queued */
    unsigned             ws:1;
    unsigned             chunked:1;
    unsigned             in_msg:1;
    unsigned             closing:1;
    unsigned             gone:1;
};


/* a list subscription waiting for the database to say whose list it is */
typedef struct {
    fedi_pg_op_t           op;
    ngx_queue_t            queue;       /* in the client's checks */
    fedi_stream_client_t  *client;
    char                   list[NGX_INT64_LEN + 1];
} fedi_stream_check_t;


/* one row of stream_events */
typedef struct {
    int64_t              id;
    u_char              *key;
    size_t               key_len;
    uint32_t             hash;
    ngx_uint_t           event;
    int64_t              object;
    char                 object_str[NGX_INT64_LEN + 1];
    int                  row;           /* in the statuses, or -1 */
    PGresult            *res;           /* a notification, conversation */
    fedi_pg_op_t        *op;
    ngx_str_t           *raw;           /* payloads by marks, rendered */
    ngx_str_t           *quoted;
    char                *detail;        /* a reaction's name, or NULL */
    void                *same;          /* the row of this event whose
                                           payload all users share */
    unsigned             local:1;
    unsigned             media:1;       /* the status has attachments */
    unsigned             media_known:1; /* ... its row is loaded */
    unsigned             wanted:1;
    unsigned             seen:1;
} fedi_stream_event_t;


typedef struct {
    int64_t              viewer;
    int64_t              status;
    ngx_uint_t           allowed;
    ngx_uint_t           marks;
} fedi_stream_view_t;


typedef struct {
    ngx_queue_t          buckets[FEDI_STREAM_BUCKETS];
    ngx_queue_t          clients;
    ngx_uint_t           nclients;
    ngx_http_fedi_main_conf_t  *mcf;
    char                *base;
    ngx_log_t           *log;

    int64_t              last;          /* every event up to it is done */
    int64_t              gap_at;
    ngx_msec_t           gap_since;
    int64_t              seen[FEDI_STREAM_SEEN_MAX];
    ngx_uint_t           nseen;
    char                 last_str[NGX_INT64_LEN + 1];
    char                 batch_str[NGX_INT_T_LEN + 1];

    fedi_pg_op_t         op;
    fedi_pg_op_t         op_statuses;
    fedi_pg_op_t         op_view;
    fedi_pg_op_t         op_prune;
    ngx_event_t          prune;
    ngx_event_t          h2_watch;      /* a reload ends HTTP/2 streams */
    ngx_uint_t           nh2;

    /* the batch in hand */
    ngx_pool_t          *pool;
    fedi_stream_event_t *ev;
    ngx_uint_t           nev;
    ngx_uint_t           full;
    PGresult            *statuses;
    fedi_stream_view_t  *view;
    ngx_uint_t           nview;
    ngx_uint_t           hint;
    ngx_uint_t           pending;

    unsigned             ready:1;
    unsigned             busy:1;
    unsigned             again:1;
    unsigned             pruning:1;
} fedi_stream_state_t;


static void fedi_stream_health(fedi_req_t *rq);
static void fedi_stream_handler(fedi_req_t *rq);
static ngx_int_t fedi_stream_list_first(fedi_req_t *rq, ngx_str_t *path);
static void fedi_stream_list_owned(fedi_req_t *rq, PGresult *res);
static void fedi_ws_list_check(fedi_stream_client_t *cl, const char *list);
static void fedi_ws_list_checked(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static const fedi_stream_channel_t *fedi_stream_channel(const char *name,
    size_t len);
static size_t fedi_stream_key(fedi_req_t *rq, const fedi_stream_channel_t *ch,
    const char *tag, const char *list, u_char *key, size_t size,
    ngx_uint_t *status, const char **err);
static ngx_int_t fedi_stream_resolve(fedi_req_t *rq, fedi_stream_client_t *cl,
    const fedi_stream_channel_t *ch, const char *tag, const char *list,
    ngx_uint_t *status, const char **err);
static ngx_int_t fedi_stream_sub_add(fedi_stream_client_t *cl,
    const fedi_stream_channel_t *ch, u_char *key, size_t key_len,
    u_char *stream, size_t stream_len);
static void fedi_stream_sub_del(fedi_stream_sub_t *s);
static ngx_uint_t fedi_stream_count(u_char *key, size_t len);
static ngx_int_t fedi_ws_handshake(fedi_req_t *rq, ngx_str_t *accept,
    ngx_table_elt_t **proto);
static ngx_int_t fedi_stream_start(fedi_stream_client_t *cl,
    ngx_str_t *accept, ngx_table_elt_t *proto);
static void fedi_stream_cleanup(void *data);
static void fedi_stream_beat_handler(ngx_event_t *ev);
static void fedi_stream_finish_handler(ngx_event_t *ev);
static void fedi_stream_close(fedi_stream_client_t *cl, unsigned code);
static void fedi_stream_drop(fedi_stream_client_t *cl);
static u_char *fedi_stream_reserve(fedi_stream_client_t *cl, size_t n);
static void fedi_stream_write(fedi_stream_client_t *cl, u_char *p,
    size_t n);
static void fedi_stream_flush(fedi_stream_client_t *cl);
static void fedi_stream_flush_h2(fedi_stream_client_t *cl);
static void fedi_stream_h2_watch(ngx_event_t *ev);
static void fedi_stream_write_handler(ngx_http_request_t *r);
static void fedi_stream_sse_read(ngx_http_request_t *r);
static void fedi_ws_read(ngx_http_request_t *r);
static ngx_int_t fedi_ws_frames(fedi_stream_client_t *cl);
static void fedi_ws_send(fedi_stream_client_t *cl, unsigned opcode,
    u_char *p, size_t n);
static void fedi_ws_message(fedi_stream_client_t *cl, u_char *p, size_t n);
static void fedi_ws_error(fedi_stream_client_t *cl, ngx_uint_t status,
    const char *msg);

static void fedi_stream_read(void);
static void fedi_stream_started(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_stream_events(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static ngx_int_t fedi_stream_event_row(fedi_stream_event_t *e,
    PGresult *res, int i);
static ngx_int_t fedi_stream_event_add(ngx_array_t *evs,
    fedi_stream_event_t *row, u_char *key, size_t len, ngx_uint_t keep);
static ngx_uint_t fedi_stream_accepts(fedi_stream_sub_t *s,
    fedi_stream_event_t *e);
static ngx_uint_t fedi_stream_seen(int64_t id);
static void fedi_stream_advance(void);
static ngx_int_t fedi_stream_render_queries(void);
static ngx_int_t fedi_stream_announcement_query(ngx_uint_t i);
static void fedi_stream_loaded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_stream_deliver(void);
static ngx_int_t fedi_stream_payload(fedi_stream_event_t *e,
    fedi_stream_sub_t *s, ngx_str_t **raw, ngx_str_t **quoted);
static ngx_uint_t fedi_stream_filters_owner(fedi_stream_event_t *e,
    ngx_uint_t replace);
static void fedi_stream_send_event(fedi_stream_sub_t *s,
    fedi_stream_event_t *e, ngx_str_t *raw, ngx_str_t *quoted);
static void fedi_stream_batch_done(void);
static void fedi_stream_prune_handler(ngx_event_t *ev);
static void fedi_stream_pruned(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void *fedi_stream_json_alloc(void *ctx, size_t size);


static const fedi_stream_channel_t  fedi_stream_channels[] = {
    { "user", "/user", FEDI_CH_USER, 0, "read:statuses" },
    { "user:notification", "/user/notification", FEDI_CH_USER,
      FEDI_CHF_NOTIF, "read:notifications" },
    { "public", "/public", FEDI_CH_PUBLIC, 0, NULL },
    { "public:media", "/public/media", FEDI_CH_PUBLIC, FEDI_CHF_MEDIA,
      NULL },
    { "public:local", "/public/local", FEDI_CH_PUBLIC, FEDI_CHF_LOCAL,
      NULL },
    { "public:local:media", "/public/local/media", FEDI_CH_PUBLIC,
      FEDI_CHF_LOCAL|FEDI_CHF_MEDIA, NULL },
    { "public:remote", "/public/remote", FEDI_CH_PUBLIC, FEDI_CHF_REMOTE,
      NULL },
    { "public:remote:media", "/public/remote/media", FEDI_CH_PUBLIC,
      FEDI_CHF_REMOTE|FEDI_CHF_MEDIA, NULL },
    { "hashtag", "/hashtag", FEDI_CH_HASHTAG, 0, NULL },
    { "hashtag:local", "/hashtag/local", FEDI_CH_HASHTAG, FEDI_CHF_LOCAL,
      NULL },
    { "list", "/list", FEDI_CH_LIST, 0, "read:lists" },
    { "direct", "/direct", FEDI_CH_DIRECT, 0, "read:statuses" },
    { NULL, NULL, 0, 0, NULL }
};

static const fedi_stream_channel_t  fedi_stream_token_ch =
    { "", "", FEDI_CH_TOKEN, 0, NULL };

static const char  *fedi_stream_event_names[] = {
    "update", "status.update", "delete", "notification", "conversation",
    "filters_changed", "announcement", "announcement.reaction",
    "announcement.delete"
};


#define STREAM  (CORS|TOKEN|USER|FEDI_ROUTE_STREAM)

const fedi_route_t  fedi_routes_streaming[] = {
    { GET, "/api/v1/streaming/health", fedi_stream_health, NULL, CORS },
    { GET, "/api/v1/streaming", fedi_stream_handler, NULL, STREAM },
    { GET, "/api/v1/streaming/user", fedi_stream_handler, NULL, STREAM },
    { GET, "/api/v1/streaming/user/notification", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/public", fedi_stream_handler, NULL, STREAM },
    { GET, "/api/v1/streaming/public/media", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/public/local", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/public/local/media", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/public/remote", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/public/remote/media", fedi_stream_handler,
      NULL, STREAM },
    { GET, "/api/v1/streaming/hashtag", fedi_stream_handler, NULL, STREAM },
    { GET, "/api/v1/streaming/hashtag/local", fedi_stream_handler, NULL,
      STREAM },
    { GET, "/api/v1/streaming/list", fedi_stream_handler, NULL, STREAM },
    { GET, "/api/v1/streaming/direct", fedi_stream_handler, NULL, STREAM },
    { 0, NULL, NULL, NULL, 0 }
};


static fedi_stream_state_t  *fedi_st;


/* ---- the worker's side: start, stop, wake-ups ---- */

ngx_int_t
fedi_stream_init(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i;
    ngx_http_fedi_main_conf_t  *mcf;

    fedi_st = ngx_pcalloc(cycle->pool, sizeof(fedi_stream_state_t));
    if (fedi_st == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < FEDI_STREAM_BUCKETS; i++) {
        ngx_queue_init(&fedi_st->buckets[i]);
    }

    ngx_queue_init(&fedi_st->clients);

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);
    fedi_st->mcf = mcf;
    fedi_st->log = cycle->log;
    fedi_st->base = fedi_pstrz(cycle->pool, mcf->base_url.data,
                               mcf->base_url.len);
    if (fedi_st->base == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf((u_char *) fedi_st->batch_str, "%d%Z", FEDI_STREAM_BATCH);

    /* one worker of a node keeps the table short; several nodes doing
     * it as well does no harm */
    if (ngx_worker == 0) {
        fedi_st->prune.handler = fedi_stream_prune_handler;
        fedi_st->prune.log = cycle->log;
        fedi_st->prune.cancelable = 1;
        ngx_add_timer(&fedi_st->prune, FEDI_STREAM_PRUNE);
    }

    fedi_st->h2_watch.handler = fedi_stream_h2_watch;
    fedi_st->h2_watch.log = cycle->log;

    return NGX_OK;
}


void
fedi_stream_exit(ngx_cycle_t *cycle)
{
    if (fedi_st && fedi_st->prune.timer_set) {
        ngx_del_timer(&fedi_st->prune);
    }
}


/* NOTIFY fedi_stream, or the listening connection is back: read on */
void
fedi_stream_wake(void)
{
    if (fedi_st == NULL || fedi_db() == NULL || ngx_exiting || ngx_terminate)
    {
        return;
    }

    if (fedi_st->busy) {
        fedi_st->again = 1;
        return;
    }

    fedi_stream_read();
}


/* NOTIFY fedi_cache 'token:<digest>': the token's streams end */
void
fedi_stream_revoke(const char *what)
{
    size_t              len;
    uint32_t            hash;
    ngx_queue_t        *q, *next, *b;
    fedi_stream_sub_t  *s;

    if (fedi_st == NULL || ngx_strncmp(what, "token:", 6) != 0) {
        return;
    }

    len = ngx_strlen(what);
    hash = ngx_crc32_short((u_char *) what, len);
    b = &fedi_st->buckets[hash % FEDI_STREAM_BUCKETS];

    for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b); q = next) {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

        if (s->hash == hash && s->key.len == len
            && ngx_strncmp(s->key.data, what, len) == 0)
        {
            /* its token sub goes, and with it no other of this bucket */
            fedi_stream_close(s->client, FEDI_WS_POLICY);
        }
    }
}


/* ---- requests ---- */

static void
fedi_stream_health(fedi_req_t *rq)
{
    fedi_send_bytes(rq, NGX_HTTP_OK, "text/plain", (u_char *) "OK", 2);
}


/*
 * A stream's request, its token already checked by fedi_auth (from the
 * Authorization header, access_token, or Sec-WebSocket-Protocol): the
 * WebSocket handshake or the SSE stream named by the path.
 */
static void
fedi_stream_handler(fedi_req_t *rq)
{
    u_char                       *p;
    ngx_str_t                     accept, path;
    ngx_uint_t                    status;
    const char                   *name, *err;
    ngx_table_elt_t              *proto;
    ngx_http_request_t           *r;
    fedi_stream_client_t         *cl;
    ngx_http_cleanup_t           *cln;
    const fedi_stream_channel_t  *ch;
    u_char                        key[80];

    r = rq->r;
    ch = NULL;
    proto = NULL;
    ngx_str_null(&accept);

    /* a worker on its way out: the client goes to a new one */
    if (ngx_exiting || ngx_terminate) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "The server is restarting, try again");
        return;
    }

    path.data = r->uri.data + sizeof("/api/v1/streaming") - 1;
    path.len = r->uri.len - (sizeof("/api/v1/streaming") - 1);

    if (path.len && path.data[path.len - 1] == '/') {
        path.len--;
    }

    /* a list stream is the viewer's list or nothing: asked first */
    if (fedi_stream_list_first(rq, &path) != NGX_OK) {
        return;
    }

    if (path.len == 0) {
        if (fedi_ws_handshake(rq, &accept, &proto) != NGX_OK) {
            return;
        }

        name = fedi_param_str(rq->params, "stream");

        if (name && name[0]) {
            ch = fedi_stream_channel(name, ngx_strlen(name));
            if (ch == NULL) {
                fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                                "Unknown stream type");
                return;
            }
        }

    } else {
        for (ch = fedi_stream_channels; ch->name; ch++) {
            if (ngx_strlen(ch->path) == path.len
                && ngx_strncmp(ch->path, path.data, path.len) == 0)
            {
                break;
            }
        }

        if (ch->name == NULL) {
            fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
            return;
        }

        /* ?only_media=true picks the media variant, as Mastodon */
        if (ch->kind == FEDI_CH_PUBLIC && !(ch->flags & FEDI_CHF_MEDIA)
            && fedi_param_bool(rq->params, "only_media", 0))
        {
            ch++;
        }
    }

    /* the token's streams on this worker, counted by their token sub */
    p = ngx_snprintf(key, sizeof(key), "token:%s", rq->token->digest);

    if (fedi_stream_count(key, p - key) >= FEDI_STREAM_PER_TOKEN) {
        fedi_send_error(rq, NGX_HTTP_TOO_MANY_REQUESTS,
                        "Too many streaming connections");
        return;
    }

    cl = ngx_pcalloc(r->pool, sizeof(fedi_stream_client_t));
    if (cl == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = cl;
    cl->rq = rq;
    cl->r = r;
    cl->c = r->connection;
    cl->ws = (path.len == 0);
#if (NGX_HTTP_V2)
    cl->h2 = (r->stream != NULL);
#endif
    cl->account = ngx_atoof((u_char *) rq->token->account_id,
                            ngx_strlen(rq->token->account_id));
    ngx_queue_init(&cl->subs);
    ngx_queue_init(&cl->checks);

    if (ch) {
        status = 0;
        err = NULL;

        if (fedi_stream_resolve(rq, cl, ch, fedi_param_str(rq->params, "tag"),
                                fedi_param_str(rq->params, "list"),
                                &status, &err)
            != NGX_OK)
        {
            while (!ngx_queue_empty(&cl->subs)) {
                fedi_stream_sub_del(ngx_queue_data(ngx_queue_head(&cl->subs),
                                                   fedi_stream_sub_t, mine));
            }

            if (status == 0) {
                fedi_send_internal_error(rq);

            } else {
                fedi_send_error(rq, status, err);
            }

            return;
        }
    }

    if (fedi_stream_sub_add(cl, &fedi_stream_token_ch, key, p - key, NULL, 0)
        != NGX_OK)
    {
        fedi_send_internal_error(rq);
        return;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        fedi_stream_cleanup(cl);
        fedi_send_internal_error(rq);
        return;
    }

    cln->handler = fedi_stream_cleanup;
    cln->data = cl;

    ngx_queue_insert_tail(&fedi_st->clients, &cl->all);
    fedi_st->nclients++;

    if (cl->h2) {
        /* an HTTP/2 connection is not closed as idle on a reload, it
         * waits for its streams: a timer looks for the reload */
        fedi_st->nh2++;

        if (!fedi_st->h2_watch.timer_set) {
            ngx_add_timer(&fedi_st->h2_watch, FEDI_STREAM_H2_WATCH);
        }
    }

    cl->beat.handler = fedi_stream_beat_handler;
    cl->beat.data = cl;
    cl->beat.log = cl->c->log;
    cl->beat.cancelable = 1;

    cl->finish.handler = fedi_stream_finish_handler;
    cl->finish.data = cl;
    cl->finish.log = cl->c->log;

    /* from here on the request is ours: fedi_http must not answer it */
    rq->finalized = 1;

    if (fedi_stream_start(cl, &accept, proto) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_CLOSE);
    }
}


/*
 * /api/v1/streaming/list?list=ID and /api/v1/streaming?stream=list&list=ID:
 * NGX_OK to go on (not a list stream, or the list is the viewer's, when
 * fedi_stream_list_owned() calls the handler again), NGX_DONE while the
 * database is asked
 */
static ngx_int_t
fedi_stream_list_first(fedi_req_t *rq, ngx_str_t *path)
{
    const char  *list, *name;

    static u_char  owned;

    if (rq->data == &owned) {
        rq->data = NULL;
        return NGX_OK;
    }

    name = fedi_param_str(rq->params, "stream");

    if (!(path->len == sizeof("/list") - 1
          && ngx_strncmp(path->data, "/list", path->len) == 0)
        && !(path->len == 0 && name && ngx_strcmp(name, "list") == 0))
    {
        return NGX_OK;
    }

    list = fedi_param_str(rq->params, "list");

    /* a missing or malformed id is answered by fedi_stream_key() */
    if (list == NULL || fedi_is_id(list) != NGX_OK) {
        return NGX_OK;
    }

    rq->data = &owned;
    fedi_query(rq, FEDI_SQL_LIST_GET, fedi_stream_list_owned, 2,
               rq->token->account_id, list);

    return NGX_DONE;
}


static void
fedi_stream_list_owned(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        rq->data = NULL;
        fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED,
                        "Not authorized to stream this list");
        return;
    }

    fedi_stream_handler(rq);
}


/* {"type":"subscribe","stream":"list","list":ID}: whose list, first */
static void
fedi_ws_list_check(fedi_stream_client_t *cl, const char *list)
{
    fedi_stream_check_t  *chk;

    if (fedi_is_id(list) != NGX_OK) {
        fedi_ws_error(cl, NGX_HTTP_UNAUTHORIZED,
                      "Not authorized to stream this list");
        return;
    }

    /* pending ones count: a client cannot queue queries without end */
    if (cl->nsubs + cl->nchecks >= FEDI_STREAM_SUBS_MAX
        || fedi_db() == NULL)
    {
        fedi_ws_error(cl, NGX_HTTP_BAD_REQUEST,
                      "Too many streams on one connection");
        return;
    }

    chk = ngx_alloc(sizeof(fedi_stream_check_t), cl->c->log);
    if (chk == NULL) {
        fedi_stream_drop(cl);
        return;
    }

    ngx_memzero(chk, sizeof(fedi_stream_check_t));
    chk->client = cl;
    ngx_cpystrn((u_char *) chk->list, (u_char *) list, sizeof(chk->list));

    chk->op.stmt = FEDI_SQL_LIST_GET;
    chk->op.nparams = 2;
    chk->op.values[0] = cl->rq->token->account_id;
    chk->op.values[1] = chk->list;
    chk->op.handler = fedi_ws_list_checked;
    chk->op.data = chk;
    chk->op.log = cl->c->log;

    ngx_queue_insert_tail(&cl->checks, &chk->queue);
    cl->nchecks++;
    fedi_pg_exec(fedi_db(), &chk->op);
}


static void
fedi_ws_list_checked(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_stream_check_t   *chk = op->data;
    fedi_stream_client_t  *cl;
    ngx_uint_t             status;
    const char            *err;

    cl = chk->client;
    ngx_queue_remove(&chk->queue);
    cl->nchecks--;

    if (cl->closing || cl->gone) {
        ngx_free(chk);
        return;
    }

    status = 0;
    err = NULL;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        fedi_ws_error(cl, NGX_HTTP_SERVICE_UNAVAILABLE,
                      "The database is unavailable, try again later");

    } else if (PQntuples(res) == 0) {
        fedi_ws_error(cl, NGX_HTTP_UNAUTHORIZED,
                      "Not authorized to stream this list");

    } else if (fedi_stream_resolve(cl->rq, cl,
                                   fedi_stream_channel("list", 4), NULL,
                                   chk->list, &status, &err)
               != NGX_OK)
    {
        if (status == 0) {
            ngx_free(chk);
            fedi_stream_drop(cl);
            return;
        }

        fedi_ws_error(cl, status, err);
    }

    ngx_free(chk);
}


static const fedi_stream_channel_t *
fedi_stream_channel(const char *name, size_t len)
{
    const fedi_stream_channel_t  *ch;

    for (ch = fedi_stream_channels; ch->name; ch++) {
        if (ngx_strlen(ch->name) == len && ngx_strncmp(ch->name, name, len)
                                           == 0)
        {
            return ch;
        }
    }

    return NULL;
}


/*
 * The registry key of ch for the token's account ("user:42",
 * "hashtag:foo"), its length, or 0 with an HTTP status and Mastodon's
 * message
 */
static size_t
fedi_stream_key(fedi_req_t *rq, const fedi_stream_channel_t *ch,
    const char *tag, const char *list, u_char *key, size_t size,
    ngx_uint_t *status, const char **err)
{
    u_char  *k;
    size_t   n;

    switch (ch->kind) {

    case FEDI_CH_USER:
        k = ngx_slprintf(key, key + size, "user:%s", rq->token->account_id);
        break;

    case FEDI_CH_DIRECT:
        k = ngx_slprintf(key, key + size, "direct:%s",
                         rq->token->account_id);
        break;

    case FEDI_CH_PUBLIC:
        k = ngx_cpymem(key, "public", sizeof("public") - 1);
        break;

    case FEDI_CH_HASHTAG:
        n = tag ? ngx_strlen(tag) : 0;

        if (n && tag[0] == '#') {
            tag++;
            n--;
        }

        if (n == 0 || n > 100) {
            *status = NGX_HTTP_BAD_REQUEST;
            *err = "Missing tag name parameter";
            return 0;
        }

        /* tags match in lower case, as the events' keys are written */
        k = ngx_cpymem(key, "hashtag:", sizeof("hashtag:") - 1);
        ngx_strlow(k, (u_char *) tag, n);
        k += n;
        break;

    default: /* FEDI_CH_LIST */
        if (list == NULL || list[0] == '\0') {
            *status = NGX_HTTP_BAD_REQUEST;
            *err = "Missing list name parameter";
            return 0;
        }

        /* whose list it is was asked before (fedi_stream_list_first,
         * fedi_ws_list_check): what is not an id is nobody's */
        if (fedi_is_id(list) != NGX_OK) {
            *status = NGX_HTTP_UNAUTHORIZED;
            *err = "Not authorized to stream this list";
            return 0;
        }

        k = ngx_slprintf(key, key + size, "list:%s", list);
        break;
    }

    return k - key;
}


/*
 * Subscribes cl to ch: NGX_OK, or NGX_DECLINED with an HTTP status and
 * Mastodon's message, or NGX_ERROR (status 0)
 */
static ngx_int_t
fedi_stream_resolve(fedi_req_t *rq, fedi_stream_client_t *cl,
    const fedi_stream_channel_t *ch, const char *tag, const char *list,
    ngx_uint_t *status, const char **err)
{
    long                n;
    size_t              klen;
    u_char              key[160], stream[400];
    ngx_queue_t        *q;
    fedi_json_t         j;
    fedi_stream_sub_t  *s;

    if (ch->scope && !fedi_scope_allows(rq->token->scopes, "read")
        && !fedi_scope_allows(rq->token->scopes, ch->scope))
    {
        *status = NGX_HTTP_UNAUTHORIZED;
        *err = "Access token does not have the required scopes";
        return NGX_DECLINED;
    }

    klen = fedi_stream_key(rq, ch, tag, list, key, sizeof(key), status, err);
    if (klen == 0) {
        return NGX_DECLINED;
    }

    /* subscribing twice to one stream changes nothing */
    for (q = ngx_queue_head(&cl->subs); q != ngx_queue_sentinel(&cl->subs);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, fedi_stream_sub_t, mine);

        if (s->ch == ch && s->key.len == klen
            && ngx_memcmp(s->key.data, key, klen) == 0)
        {
            return NGX_OK;
        }
    }

    if (cl->nsubs >= FEDI_STREAM_SUBS_MAX) {
        *status = NGX_HTTP_BAD_REQUEST;
        *err = "Too many streams on one connection";
        return NGX_DECLINED;
    }

    /* the stream's name in WebSocket messages: ["hashtag","foo"], the
     * tag as the client gave it */
    fedi_json_init(&j, fedi_stream_json_alloc, rq->r->pool);
    fedi_json_arr_open(&j);
    fedi_json_cstr(&j, ch->name);

    if (ch->kind == FEDI_CH_HASHTAG) {
        fedi_json_cstr(&j, tag[0] == '#' ? tag + 1 : tag);
    }

    if (ch->kind == FEDI_CH_LIST) {
        fedi_json_cstr(&j, list);
    }

    fedi_json_arr_close(&j);

    n = fedi_json_flatten(&j, stream, sizeof(stream));

    if (n < 0
        || fedi_stream_sub_add(cl, ch, key, klen, stream, n) != NGX_OK)
    {
        *status = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
fedi_stream_sub_add(fedi_stream_client_t *cl, const fedi_stream_channel_t *ch,
    u_char *key, size_t key_len, u_char *stream, size_t stream_len)
{
    u_char             *p;
    fedi_stream_sub_t  *s;

    s = ngx_alloc(sizeof(fedi_stream_sub_t) + key_len + stream_len,
                  fedi_st->log);
    if (s == NULL) {
        return NGX_ERROR;
    }

    p = (u_char *) (s + 1);

    s->client = cl;
    s->ch = ch;
    s->key.data = p;
    s->key.len = key_len;
    p = ngx_cpymem(p, key, key_len);
    s->stream.data = p;
    s->stream.len = stream_len;
    ngx_memcpy(p, stream, stream_len);
    s->hash = ngx_crc32_short(key, key_len);

    ngx_queue_insert_tail(&fedi_st->buckets[s->hash % FEDI_STREAM_BUCKETS],
                          &s->bucket);
    ngx_queue_insert_tail(&cl->subs, &s->mine);

    if (ch->kind != FEDI_CH_TOKEN) {
        cl->nsubs++;
    }

    return NGX_OK;
}


static void
fedi_stream_sub_del(fedi_stream_sub_t *s)
{
    ngx_queue_remove(&s->bucket);
    ngx_queue_remove(&s->mine);

    if (s->ch->kind != FEDI_CH_TOKEN) {
        s->client->nsubs--;
    }

    ngx_free(s);
}


static ngx_uint_t
fedi_stream_count(u_char *key, size_t len)
{
    uint32_t            hash;
    ngx_uint_t          n;
    ngx_queue_t        *q, *b;
    fedi_stream_sub_t  *s;

    hash = ngx_crc32_short(key, len);
    b = &fedi_st->buckets[hash % FEDI_STREAM_BUCKETS];
    n = 0;

    for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

        if (s->hash == hash && s->key.len == len
            && ngx_strncmp(s->key.data, key, len) == 0)
        {
            n++;
        }
    }

    return n;
}


/*
 * The token of a stream when there is no Authorization header: the
 * access_token parameter, or the Sec-WebSocket-Protocol header (browsers
 * cannot set headers on a WebSocket), as Mastodon's streaming server.
 */
ngx_int_t
fedi_stream_token(fedi_req_t *rq, u_char **p, size_t *n)
{
    const char       *v;
    ngx_table_elt_t  *h;

    v = fedi_param_str(rq->params, "access_token");

    if (v && v[0]) {
        *p = (u_char *) v;
        *n = ngx_strlen(v);
        return NGX_OK;
    }

    h = fedi_header(rq->r, "Sec-WebSocket-Protocol");

    if (h && h->value.len) {
        *p = h->value.data;
        *n = h->value.len;
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * RFC 6455 section 4.2.1: GET, HTTP/1.1, Upgrade: websocket, Connection:
 * upgrade, version 13, a key of 16 bytes in base64.  NGX_OK with the
 * Sec-WebSocket-Accept value, or NGX_DECLINED after answering 400.
 */
static ngx_int_t
fedi_ws_handshake(fedi_req_t *rq, ngx_str_t *accept, ngx_table_elt_t **proto)
{
    u_char              *p;
    u_char               raw[32], hash[SHA_DIGEST_LENGTH], buf[128];
    ngx_str_t            src, dst, v;
    ngx_table_elt_t     *h, *c;
    ngx_http_request_t  *r;

    r = rq->r;

    h = fedi_header(r, "Upgrade");
    c = fedi_header(r, "Connection");

    if (h == NULL || h->value.len != 9
        || ngx_strncasecmp(h->value.data, (u_char *) "websocket", 9) != 0
        || c == NULL
        || ngx_strlcasestrn(c->value.data, c->value.data + c->value.len,
                            (u_char *) "upgrade", 7 - 1)
           == NULL
        || r->http_version < NGX_HTTP_VERSION_11
        || r->http_version >= NGX_HTTP_VERSION_20)
    {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "This endpoint is a WebSocket; the streams by"
                        " server-sent events are under"
                        " /api/v1/streaming/");
        return NGX_DECLINED;
    }

    h = fedi_header(r, "Sec-WebSocket-Version");

    if (h == NULL || h->value.len != 2
        || ngx_strncmp(h->value.data, "13", 2) != 0)
    {
        ngx_str_set(&v, "13");

        if (fedi_add_header(rq, "Sec-WebSocket-Version", &v) != NGX_OK) {
            fedi_send_internal_error(rq);
            return NGX_DECLINED;
        }

        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "Missing or invalid Sec-WebSocket-Version header");
        return NGX_DECLINED;
    }

    h = fedi_header(r, "Sec-WebSocket-Key");

    if (h == NULL || h->value.len != 24) {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "Missing or invalid Sec-WebSocket-Key header");
        return NGX_DECLINED;
    }

    src = h->value;
    dst.data = raw;

    if (ngx_decode_base64(&dst, &src) != NGX_OK || dst.len != 16) {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "Missing or invalid Sec-WebSocket-Key header");
        return NGX_DECLINED;
    }

    p = ngx_cpymem(buf, h->value.data, h->value.len);
    p = ngx_cpymem(p, FEDI_WS_GUID, sizeof(FEDI_WS_GUID) - 1);

    SHA1(buf, p - buf, hash);

    accept->data = ngx_pnalloc(r->pool,
                               ngx_base64_encoded_length(sizeof(hash)));
    if (accept->data == NULL) {
        fedi_send_internal_error(rq);
        return NGX_DECLINED;
    }

    src.data = hash;
    src.len = sizeof(hash);
    ngx_encode_base64(accept, &src);

    /* the token came as the subprotocol: it is echoed, or browsers fail */
    *proto = (r->headers_in.authorization == NULL
              && fedi_param_str(rq->params, "access_token") == NULL)
             ? fedi_header(r, "Sec-WebSocket-Protocol") : NULL;

    return NGX_OK;
}


/* the answer's header (101 or 200), then the connection is a stream */
static ngx_int_t
fedi_stream_start(fedi_stream_client_t *cl, ngx_str_t *accept,
    ngx_table_elt_t *proto)
{
    size_t               n;
    ngx_int_t            rc;
    ngx_str_t            v;
    fedi_req_t          *rq;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = cl->r;
    rq = cl->rq;
    c = cl->c;

    r->keepalive = 0;
    r->headers_out.content_length_n = -1;

    if (cl->ws) {
        r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
        ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");

        ngx_str_set(&v, "websocket");

        if (fedi_add_header(rq, "Upgrade", &v) != NGX_OK
            || fedi_add_header(rq, "Sec-WebSocket-Accept", accept) != NGX_OK
            || (proto && fedi_add_header(rq, "Sec-WebSocket-Protocol",
                                         &proto->value)
                         != NGX_OK))
        {
            return NGX_ERROR;
        }

    } else {
        r->headers_out.status = NGX_HTTP_OK;
        ngx_str_set(&r->headers_out.content_type, "text/event-stream");
        r->headers_out.content_type_len = r->headers_out.content_type.len;

        ngx_str_set(&v, "private, no-store");
        if (fedi_add_header(rq, "Cache-Control", &v) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_str_set(&v, "no");
        if (fedi_add_header(rq, "X-Accel-Buffering", &v) != NGX_OK) {
            return NGX_ERROR;
        }

        ngx_str_set(&v, "*");
        if (fedi_add_header(rq, "Access-Control-Allow-Origin", &v)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK) {
        return NGX_ERROR;
    }

    /* the header out now; what a slow client leaves is in r->out */
    rc = ngx_http_send_special(r, NGX_HTTP_FLUSH);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    cl->chunked = r->chunked;
    cl->last_in = ngx_current_msec;

    r->write_event_handler = fedi_stream_write_handler;
    c->idle = 1;
    ngx_tcp_nodelay(c);

    ngx_add_timer(&cl->beat, FEDI_STREAM_BEAT);

    if (!cl->ws) {
        r->read_event_handler = fedi_stream_sse_read;

        /* Mastodon's first words */
        fedi_stream_write(cl, (u_char *) ":)\n", 3);
        fedi_stream_sse_read(r);
        return NGX_OK;
    }

    r->read_event_handler = fedi_ws_read;

    /* frames that came with the handshake */
    n = r->header_in->last - r->header_in->pos;

    if (n) {
        if (n > FEDI_STREAM_IN_SIZE) {
            return NGX_ERROR;
        }

        cl->in = ngx_alloc(FEDI_STREAM_IN_SIZE, c->log);
        if (cl->in == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(cl->in, r->header_in->pos, n);
        cl->in_len = n;
        r->header_in->pos = r->header_in->last;

        if (fedi_ws_frames(cl) != NGX_OK) {
            return NGX_OK;
        }
    }

    /* the socket may hold more, and a level was lost while we waited
     * for the token */
    fedi_ws_read(r);

    return NGX_OK;
}


static void
fedi_stream_cleanup(void *data)
{
    fedi_stream_client_t *cl = data;

    u_char                buf[8];
    fedi_stream_check_t  *chk;

    if (cl->gone) {
        return;
    }

    cl->gone = 1;

    /* nginx closes the socket for a reload: the last words, if they fit
     * (HTTP/2 ends its streams before, see fedi_stream_h2_watch()) */
    if (!cl->h2 && !cl->closing && !cl->c->error && cl->out == NULL
        && cl->r->out == NULL && cl->r->header_sent)
    {
        if (cl->ws) {
            buf[0] = 0x80 | FEDI_WS_CLOSE;
            buf[1] = 2;
            buf[2] = FEDI_WS_GOING_AWAY >> 8;
            buf[3] = FEDI_WS_GOING_AWAY & 0xff;
            (void) cl->c->send(cl->c, buf, 4);

        } else if (cl->chunked) {
            (void) cl->c->send(cl->c, (u_char *) "0\r\n\r\n", 5);
        }
    }

    while (!ngx_queue_empty(&cl->subs)) {
        fedi_stream_sub_del(ngx_queue_data(ngx_queue_head(&cl->subs),
                                           fedi_stream_sub_t, mine));
    }

    while (cl->checks.next && !ngx_queue_empty(&cl->checks)) {
        chk = ngx_queue_data(ngx_queue_head(&cl->checks),
                             fedi_stream_check_t, queue);
        fedi_pg_cancel(&chk->op);
        ngx_queue_remove(&chk->queue);
        ngx_free(chk);
    }

    if (cl->all.next) {
        ngx_queue_remove(&cl->all);
        fedi_st->nclients--;

        if (cl->h2 && --fedi_st->nh2 == 0 && fedi_st->h2_watch.timer_set) {
            ngx_del_timer(&fedi_st->h2_watch);
        }
    }

    if (cl->beat.timer_set) {
        ngx_del_timer(&cl->beat);
    }

    if (cl->finish.posted) {
        ngx_delete_posted_event(&cl->finish);
    }

    if (cl->h2) {
        /* queued frames of the stream may still point into them: the
         * request pool frees them after the last frame */
        cl->out = NULL;
        cl->spare = NULL;

    } else if (cl->out) {
        ngx_free(cl->out);
        cl->out = NULL;
    }

    if (cl->in) {
        ngx_free(cl->in);
        cl->in = NULL;
    }

    if (cl->msg) {
        ngx_free(cl->msg);
        cl->msg = NULL;
    }
}


static void
fedi_stream_beat_handler(ngx_event_t *ev)
{
    u_char                 buf[2];
    fedi_stream_client_t  *cl = ev->data;

    if (cl->closing) {
        /* the close did not go out in time */
        fedi_stream_drop(cl);
        return;
    }

    if ((cl->h2 ? (cl->sending || cl->out_len) : cl->out != NULL)
        && ngx_current_msec - cl->stalled > FEDI_STREAM_STALL)
    {
        ngx_log_error(NGX_LOG_INFO, cl->c->log, 0,
                      "fedi: stream client stalled, dropped");
        fedi_stream_drop(cl);
        return;
    }

    if (cl->ws) {
        if (ngx_current_msec - cl->last_in > 3 * FEDI_STREAM_BEAT) {
            /* no frame, not even a pong, for three pings */
            fedi_stream_close(cl, FEDI_WS_GOING_AWAY);
            return;
        }

        fedi_ws_send(cl, FEDI_WS_PING, buf, 0);

    } else {
        fedi_stream_write(cl, (u_char *) ":thump\n", 7);
    }

    if (!cl->gone && !cl->closing) {
        ngx_add_timer(&cl->beat, FEDI_STREAM_BEAT);
    }
}


static void
fedi_stream_finish_handler(ngx_event_t *ev)
{
    fedi_stream_client_t  *cl = ev->data;
    ngx_connection_t      *c;

    c = cl->c;

    /* HTTP/2: a stream cut short is reset with INTERNAL_ERROR, not with
     * the PROTOCOL_ERROR of a timed out one (NGX_HTTP_CLOSE) */
    ngx_http_finalize_request(cl->r, cl->h2 ? NGX_ERROR : NGX_HTTP_CLOSE);
    ngx_http_run_posted_requests(c);
}


/* the end of a stream: a close frame, or the last chunk; then the
 * connection closes once that is out */
static void
fedi_stream_close(fedi_stream_client_t *cl, unsigned code)
{
    u_char  buf[2];

    /* a closing client gets no more events; its subs stay in the
     * registry (a delivery may be walking it) until the cleanup */
    if (cl->closing || cl->gone) {
        return;
    }

    if (cl->ws) {
        buf[0] = (u_char) (code >> 8);
        buf[1] = (u_char) (code & 0xff);
        fedi_ws_send(cl, FEDI_WS_CLOSE, buf, 2);

    } else if (cl->chunked) {
        fedi_stream_write(cl, (u_char *) "0\r\n\r\n", 5);
    }

    if (cl->gone) {
        return;
    }

    cl->closing = 1;

    if (cl->beat.timer_set) {
        ngx_del_timer(&cl->beat);
    }

    if (cl->h2) {
        /* the rest, then END_STREAM; the finish is posted once out */
        fedi_stream_flush(cl);

        if (cl->gone || cl->finish.posted) {
            return;
        }

    } else if (cl->out == NULL && cl->r->out == NULL) {
        ngx_post_event(&cl->finish, &ngx_posted_events);
        return;
    }

    /* an exiting worker waits for this one (an open socket at its exit
     * would be an alert), but not long */
    cl->beat.cancelable = 0;
    ngx_add_timer(&cl->beat, FEDI_STREAM_LINGER);
}


/* at once, without last words: an error, or output nobody reads */
static void
fedi_stream_drop(fedi_stream_client_t *cl)
{
    if (cl->gone) {
        return;
    }

    cl->closing = 1;

    if (cl->beat.timer_set) {
        ngx_del_timer(&cl->beat);
    }

    if (!cl->finish.posted) {
        ngx_post_event(&cl->finish, &ngx_posted_events);
    }
}


/* room for n more bytes of output, or NULL when that would pass the
 * budget (the client is then dropped) */
static u_char *
fedi_stream_reserve(fedi_stream_client_t *cl, size_t n)
{
    u_char  *p;
    size_t   size, used;

    if (cl->gone || (cl->closing && cl->finish.posted)) {
        return NULL;
    }

    used = cl->out_len - cl->out_pos;
    size = used;

    if (cl->sending) {
        /* HTTP/2: what nginx has not sent yet counts as well */
        size += (size_t) ngx_buf_size(&cl->sbuf);
    }

    /* one message always fits in an empty buffer, however large */
    if (size && size + n > fedi_st->mcf->stream_buffer) {
        ngx_log_error(NGX_LOG_INFO, cl->c->log, 0,
                      "fedi: stream client reads too slowly, dropped");
        fedi_stream_drop(cl);
        return NULL;
    }

    if (cl->out && cl->out_len + n <= cl->out_size) {
        return cl->out + cl->out_len;
    }

    if (cl->out && used + n <= cl->out_size) {
        ngx_memmove(cl->out, cl->out + cl->out_pos, used);
        cl->out_pos = 0;
        cl->out_len = used;
        return cl->out + cl->out_len;
    }

    for (size = 4096; size < used + n; size *= 2) { /* void */ }

    /* HTTP/2: from the request pool, a large allocation (a page and
     * more) that ngx_pfree() gives back */
    p = cl->h2 ? ngx_palloc(cl->r->pool, size) : ngx_alloc(size, cl->c->log);
    if (p == NULL) {
        fedi_stream_drop(cl);
        return NULL;
    }

    if (cl->out && cl->h2) {
        ngx_memcpy(p, cl->out, used);
        ngx_pfree(cl->r->pool, cl->out);

    } else if (cl->out) {
        ngx_memcpy(p, cl->out + cl->out_pos, used);
        ngx_free(cl->out);

    } else {
        cl->stalled = ngx_current_msec;
    }

    cl->out = p;
    cl->out_size = size;
    cl->out_pos = 0;
    cl->out_len = used;

    return p + used;
}


/* n bytes of SSE (chunked when the connection is) or a ready frame */
static void
fedi_stream_write(fedi_stream_client_t *cl, u_char *data, size_t n)
{
    u_char  *p;
    size_t   extra;

    extra = (cl->chunked && !cl->ws) ? NGX_OFF_T_LEN + 4 : 0;

    p = fedi_stream_reserve(cl, n + extra);
    if (p == NULL) {
        return;
    }

    if (extra) {
        p = ngx_sprintf(p, "%xz\r\n", n);
    }

    p = ngx_cpymem(p, data, n);

    if (extra) {
        *p++ = '\r';
        *p++ = '\n';
    }

    cl->out_len = p - cl->out;

    fedi_stream_flush(cl);
}


static void
fedi_stream_flush(fedi_stream_client_t *cl)
{
    ssize_t              n;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = cl->c;
    r = cl->r;

    if (cl->h2) {
        fedi_stream_flush_h2(cl);
        return;
    }

    if (cl->gone || c->error) {
        return;
    }

    /* the answer's header first, if the client was slow to take it */
    if (r->out) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }

        if (r->out) {
            goto wait;
        }
    }

    while (cl->out && cl->out_pos < cl->out_len) {
        n = c->send(c, cl->out + cl->out_pos, cl->out_len - cl->out_pos);

        if (n == NGX_AGAIN) {
            goto wait;
        }

        if (n == NGX_ERROR || n == 0) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }

        cl->out_pos += n;
        cl->stalled = ngx_current_msec;     /* it reads: not stalled */
    }

    if (cl->out) {
        ngx_free(cl->out);
        cl->out = NULL;
        cl->out_pos = 0;
        cl->out_len = 0;
        cl->out_size = 0;
    }

    if (cl->closing && !cl->finish.posted) {
        ngx_post_event(&cl->finish, &ngx_posted_events);
    }

    return;

wait:

    if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
        c->error = 1;
        fedi_stream_drop(cl);
    }
}


/*
 * HTTP/2: the output goes through the filter chain, the v2 module frames
 * it.  Its DATA frames point into the buffer until they are sent (and
 * flow control may keep it in r->out), so one buffer is nginx's while
 * events go to the other; the write handler is called again as frames
 * go out.
 */
static void
fedi_stream_flush_h2(fedi_stream_client_t *cl)
{
    u_char              *p;
    size_t               size;
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    c = cl->c;
    r = cl->r;

    if (cl->gone) {
        return;
    }

    if (c->error) {
        /* the stream was reset or the connection is going */
        fedi_stream_drop(cl);
        return;
    }

    for ( ;; ) {
        if (fedi_stream_h2_busy(r)) {
            rc = ngx_http_output_filter(r, NULL);

            if (rc == NGX_ERROR) {
                c->error = 1;
                fedi_stream_drop(cl);
                return;
            }

            if (fedi_stream_h2_busy(r)) {
                return;
            }
        }

        /* every frame is out: the buffer is ours again */
        cl->sending = 0;

        if (cl->out_len == 0) {
            break;
        }

        /* the filled buffer goes, the spare takes the next events */
        p = cl->out;
        size = cl->out_size;

        ngx_memzero(&cl->sbuf, sizeof(ngx_buf_t));
        cl->sbuf.start = p;
        cl->sbuf.pos = p;
        cl->sbuf.last = p + cl->out_len;
        cl->sbuf.end = p + size;
        cl->sbuf.memory = 1;
        cl->sbuf.flush = 1;

        cl->sch.buf = &cl->sbuf;
        cl->sch.next = NULL;

        cl->out = cl->spare;
        cl->out_size = cl->spare_size;
        cl->out_len = 0;
        cl->out_pos = 0;
        cl->spare = p;
        cl->spare_size = size;
        cl->sending = 1;
        cl->stalled = ngx_current_msec;

        if (ngx_http_output_filter(r, &cl->sch) == NGX_ERROR) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }
    }

    if (!cl->closing || cl->finish.posted) {
        return;
    }

    if (!cl->last) {
        /* an empty DATA frame with END_STREAM */
        cl->last = 1;

        if (ngx_http_send_special(r, NGX_HTTP_LAST) == NGX_ERROR) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }

        if (fedi_stream_h2_busy(r)) {
            return;
        }
    }

    ngx_post_event(&cl->finish, &ngx_posted_events);
}


/* a reload: HTTP/2 streams end, so that their connections close */
static void
fedi_stream_h2_watch(ngx_event_t *ev)
{
    ngx_queue_t           *q, *next;
    fedi_stream_client_t  *cl;

    if (!ngx_exiting && !ngx_terminate) {
        if (fedi_st->nh2) {
            ngx_add_timer(ev, FEDI_STREAM_H2_WATCH);
        }

        return;
    }

    for (q = ngx_queue_head(&fedi_st->clients);
         q != ngx_queue_sentinel(&fedi_st->clients);
         q = next)
    {
        next = ngx_queue_next(q);
        cl = ngx_queue_data(q, fedi_stream_client_t, all);

        if (cl->h2) {
            fedi_stream_close(cl, FEDI_WS_GOING_AWAY);
        }
    }
}


static void
fedi_stream_write_handler(ngx_http_request_t *r)
{
    fedi_stream_client_t  *cl;
    fedi_req_t            *rq;

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);
    cl = rq->data;

    if (cl == NULL || cl->gone) {
        return;
    }

    fedi_stream_flush(cl);
}


/* an SSE client says nothing: a read is its leaving, or a reload */
static void
fedi_stream_sse_read(ngx_http_request_t *r)
{
    u_char                 buf[1024];
    ssize_t                n;
    fedi_req_t            *rq;
    ngx_connection_t      *c;
    fedi_stream_client_t  *cl;

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);
    cl = rq->data;
    c = r->connection;

    if (cl == NULL || cl->gone) {
        return;
    }

    if (cl->h2) {
        /* the fake connection's recv() is the socket's, never ours to
         * call: a reset of the stream (or the connection's end) comes
         * as an error */
        if (c->error) {
            fedi_stream_drop(cl);
        }

        return;
    }

    for ( ;; ) {
        n = c->recv(c, buf, sizeof(buf));

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        fedi_stream_drop(cl);
    }
}


static void
fedi_ws_read(ngx_http_request_t *r)
{
    ssize_t                n;
    fedi_req_t            *rq;
    ngx_connection_t      *c;
    fedi_stream_client_t  *cl;

    rq = ngx_http_get_module_ctx(r, ngx_http_fedi_module);
    cl = rq->data;
    c = r->connection;

    if (cl == NULL || cl->gone) {
        return;
    }

    for ( ;; ) {
        if (cl->in == NULL) {
            cl->in = ngx_alloc(FEDI_STREAM_IN_SIZE, c->log);
            if (cl->in == NULL) {
                fedi_stream_drop(cl);
                return;
            }

            cl->in_len = 0;
        }

        if (cl->in_len == FEDI_STREAM_IN_SIZE) {
            /* cannot happen: a frame is at most FEDI_STREAM_IN_SIZE */
            fedi_stream_close(cl, FEDI_WS_TOO_BIG);
            return;
        }

        n = c->recv(c, cl->in + cl->in_len, FEDI_STREAM_IN_SIZE - cl->in_len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            c->error = 1;
            fedi_stream_drop(cl);
            return;
        }

        cl->in_len += n;
        cl->last_in = ngx_current_msec;

        if (fedi_ws_frames(cl) != NGX_OK) {
            return;
        }
    }

    if (cl->in && cl->in_len == 0) {
        ngx_free(cl->in);
        cl->in = NULL;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        fedi_stream_drop(cl);
    }
}


/* the complete frames in cl->in; NGX_DONE when the client is closing */
static ngx_int_t
fedi_ws_frames(fedi_stream_client_t *cl)
{
    int               rc;
    u_char           *payload;
    size_t            len, used;
    unsigned          code;
    fedi_ws_frame_t   f;

    for ( ;; ) {
        if (cl->closing || cl->gone) {
            return NGX_DONE;
        }

        code = 0;
        rc = fedi_ws_parse(cl->in, cl->in_len, FEDI_STREAM_MSG_MAX, &f, &code);

        if (rc < 0) {
            ngx_log_error(NGX_LOG_INFO, cl->c->log, 0,
                          "fedi: bad WebSocket frame, closing with %ui",
                          (ngx_uint_t) code);
            fedi_stream_close(cl, code);
            return NGX_DONE;
        }

        if (rc == 0 || cl->in_len < f.header + f.len) {
            return NGX_OK;
        }

        payload = cl->in + f.header;
        len = (size_t) f.len;
        used = f.header + len;
        fedi_ws_unmask(payload, len, f.mask, 0);

        switch (f.opcode) {

        case FEDI_WS_TEXT:
        case FEDI_WS_BINARY:
            if (cl->in_msg) {
                fedi_stream_close(cl, FEDI_WS_PROTOCOL);
                return NGX_DONE;
            }

            if (f.opcode == FEDI_WS_BINARY) {
                fedi_stream_close(cl, FEDI_WS_UNSUPPORTED);
                return NGX_DONE;
            }

            if (f.fin) {
                fedi_ws_message(cl, payload, len);
                break;
            }

            cl->msg = ngx_alloc(FEDI_STREAM_MSG_MAX, cl->c->log);
            if (cl->msg == NULL) {
                fedi_stream_drop(cl);
                return NGX_DONE;
            }

            ngx_memcpy(cl->msg, payload, len);
            cl->msg_len = len;
            cl->in_msg = 1;
            break;

        case FEDI_WS_CONT:
            if (!cl->in_msg) {
                fedi_stream_close(cl, FEDI_WS_PROTOCOL);
                return NGX_DONE;
            }

            if (cl->msg_len + len > FEDI_STREAM_MSG_MAX) {
                fedi_stream_close(cl, FEDI_WS_TOO_BIG);
                return NGX_DONE;
            }

            ngx_memcpy(cl->msg + cl->msg_len, payload, len);
            cl->msg_len += len;

            if (f.fin) {
                cl->in_msg = 0;
                fedi_ws_message(cl, cl->msg, cl->msg_len);

                if (cl->msg) {
                    ngx_free(cl->msg);
                    cl->msg = NULL;
                }
            }

            break;

        case FEDI_WS_PING:
            fedi_ws_send(cl, FEDI_WS_PONG, payload, len);
            break;

        case FEDI_WS_PONG:
            break;

        default: /* FEDI_WS_CLOSE: answer with its code, then go */
            code = (len >= 2) ? ((unsigned) payload[0] << 8 | payload[1])
                              : FEDI_WS_NORMAL;
            fedi_stream_close(cl, code);
            return NGX_DONE;
        }

        if (cl->gone || cl->in == NULL) {
            return NGX_DONE;
        }

        ngx_memmove(cl->in, cl->in + used, cl->in_len - used);
        cl->in_len -= used;
    }
}


static void
fedi_ws_send(fedi_stream_client_t *cl, unsigned opcode, u_char *data,
    size_t n)
{
    u_char  *p;

    p = fedi_stream_reserve(cl, FEDI_WS_HEADER_MAX + n);
    if (p == NULL) {
        return;
    }

    p += fedi_ws_header(p, opcode, n);
    p = ngx_cpymem(p, data, n);
    cl->out_len = p - cl->out;

    fedi_stream_flush(cl);
}


/* {"type":"subscribe"|"unsubscribe","stream":…,"tag":…,"list":…} */
static void
fedi_ws_message(fedi_stream_client_t *cl, u_char *p, size_t n)
{
    u_char                        key[160], lbuf[NGX_INT64_LEN + 2];
    size_t                        klen;
    json_t                       *msg;
    ngx_uint_t                    status, subscribe;
    ngx_queue_t                  *q, *next;
    const char                   *type, *stream, *tag, *list, *err;
    json_error_t                  jerr;
    fedi_stream_sub_t            *s;
    const fedi_stream_channel_t  *ch;

    if (!fedi_ws_utf8(p, n)) {
        fedi_stream_close(cl, FEDI_WS_INVALID);
        return;
    }

    /* Mastodon ignores what it cannot read */
    msg = json_loadb((char *) p, n, JSON_REJECT_DUPLICATES, &jerr);
    if (msg == NULL) {
        return;
    }

    type = json_string_value(json_object_get(msg, "type"));
    stream = json_string_value(json_object_get(msg, "stream"));
    tag = json_string_value(json_object_get(msg, "tag"));
    list = json_string_value(json_object_get(msg, "list"));

    /* a list id may come as a number */
    if (list == NULL && json_is_integer(json_object_get(msg, "list"))) {
        ngx_sprintf(lbuf, "%L%Z",
                    (int64_t) json_integer_value(json_object_get(msg,
                                                                 "list")));
        list = (const char *) lbuf;
    }

    if (type == NULL || stream == NULL) {
        json_decref(msg);
        return;
    }

    if (ngx_strcmp(type, "subscribe") == 0) {
        subscribe = 1;

    } else if (ngx_strcmp(type, "unsubscribe") == 0) {
        subscribe = 0;

    } else {
        json_decref(msg);
        return;
    }

    ch = fedi_stream_channel(stream, ngx_strlen(stream));

    if (ch == NULL) {
        fedi_ws_error(cl, NGX_HTTP_BAD_REQUEST, "Unknown stream type");
        json_decref(msg);
        return;
    }

    if (subscribe && ch->kind == FEDI_CH_LIST && list && list[0]) {
        fedi_ws_list_check(cl, list);
        json_decref(msg);
        return;
    }

    if (subscribe) {
        status = 0;
        err = NULL;

        if (fedi_stream_resolve(cl->rq, cl, ch, tag, list, &status, &err)
            != NGX_OK)
        {
            if (status == 0) {
                fedi_stream_drop(cl);

            } else {
                fedi_ws_error(cl, status, err);
            }
        }

        json_decref(msg);
        return;
    }

    status = 0;
    err = NULL;
    klen = fedi_stream_key(cl->rq, ch, tag, list, key, sizeof(key), &status,
                           &err);

    for (q = ngx_queue_head(&cl->subs); q != ngx_queue_sentinel(&cl->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        s = ngx_queue_data(q, fedi_stream_sub_t, mine);

        if (s->ch != ch || s->key.len != klen
            || ngx_memcmp(s->key.data, key, klen) != 0)
        {
            continue;
        }

        fedi_stream_sub_del(s);
    }

    json_decref(msg);
}


/* Mastodon's error frame: {"error":"…","status":400} */
static void
fedi_ws_error(fedi_stream_client_t *cl, ngx_uint_t status, const char *msg)
{
    u_char       buf[512];
    long         n;
    fedi_json_t  j;

    fedi_json_init(&j, fedi_stream_json_alloc, cl->r->pool);
    fedi_json_obj_open(&j);
    fedi_json_kcstr(&j, "error", msg);
    fedi_json_kint(&j, "status", status);
    fedi_json_obj_close(&j);

    n = fedi_json_flatten(&j, buf, sizeof(buf));
    if (n > 0) {
        fedi_ws_send(cl, FEDI_WS_TEXT, buf, n);
    }
}


/* ---- events: read, render, deliver ---- */

static void
fedi_stream_read(void)
{
    fedi_st->busy = 1;
    fedi_st->again = 0;

    ngx_memzero(&fedi_st->op, sizeof(fedi_pg_op_t));
    fedi_st->op.data = fedi_st;

    if (!fedi_st->ready) {
        fedi_st->op.stmt = FEDI_SQL_STREAM_START;
        fedi_st->op.nparams = 0;
        fedi_st->op.handler = fedi_stream_started;

    } else {
        ngx_sprintf((u_char *) fedi_st->last_str, "%L%Z", fedi_st->last);
        fedi_st->op.stmt = FEDI_SQL_STREAM_EVENTS;
        fedi_st->op.nparams = 2;
        fedi_st->op.values[0] = fedi_st->last_str;
        fedi_st->op.values[1] = fedi_st->batch_str;
        fedi_st->op.handler = fedi_stream_events;
    }

    fedi_pg_exec(fedi_db(), &fedi_st->op);
}


/* the worker's starting point: the newest event so far */
static void
fedi_stream_started(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_st->busy = 0;

    if (rc != NGX_OK || res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, fedi_st->log, 0,
                          "fedi: reading stream events failed: %s",
                          PQresultErrorMessage(res));
        }

        return;
    }

    fedi_st->last = fedi_pg_int(res, 0, 0);
    fedi_st->ready = 1;

    if (fedi_st->again) {
        fedi_stream_read();
    }
}


static void
fedi_stream_events(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int                   i, n;
    u_char               *p, *q, *a, *k, *last, *star, *stream;
    size_t                len;
    ngx_int_t             got;
    ngx_uint_t            added;
    ngx_array_t          *evs;
    fedi_stream_event_t   row;
    u_char                key[128];

    if (rc != NGX_OK || res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, fedi_st->log, 0,
                          "fedi: reading stream events failed: %s",
                          PQresultErrorMessage(res));
        }

        fedi_st->busy = 0;
        return;
    }

    n = PQntuples(res);

    fedi_st->pool = ngx_create_pool(16384, fedi_st->log);
    if (fedi_st->pool == NULL) {
        fedi_st->busy = 0;
        return;
    }

    evs = ngx_array_create(fedi_st->pool, n + 1,
                           sizeof(fedi_stream_event_t));
    if (evs == NULL) {
        goto failed;
    }

    fedi_st->full = (n >= FEDI_STREAM_BATCH);

    for (i = 0; i < n; i++) {
        if (fedi_stream_event_row(&row, res, i) != NGX_OK) {
            goto failed;
        }

        stream = (u_char *) PQgetvalue(res, i, 1);
        len = PQgetlength(res, i, 1);
        star = ngx_strlchr(stream, stream + len, '*');

        if (star == NULL || PQgetisnull(res, i, 6)
            || len + NGX_INT64_LEN >= sizeof(key))
        {
            if (fedi_stream_event_add(evs, &row, stream, len, 1)
                == NGX_ERROR)
            {
                goto failed;
            }

            continue;
        }

        /*
         * One event for many home feeds or lists ("user:*" and their ids):
         * an event for each of them that someone here streams; one
         * unwanted if nobody does, so that its id counts as read
         */
        k = ngx_cpymem(key, stream, star - stream);
        p = (u_char *) PQgetvalue(res, i, 6);
        last = p + PQgetlength(res, i, 6);
        added = 0;

        while (p < last) {
            while (p < last && (*p < '0' || *p > '9')) {
                p++;
            }

            a = p;

            while (p < last && *p >= '0' && *p <= '9'
                   && (size_t) (p - a) < NGX_INT64_LEN)
            {
                p++;
            }

            if (p == a) {
                break;
            }

            /* "user:" 42 "": "user:42" */
            q = ngx_cpymem(k, a, p - a);
            q = ngx_cpymem(q, star + 1, stream + len - star - 1);

            got = fedi_stream_event_add(evs, &row, key, q - key, 0);
            if (got == NGX_ERROR) {
                goto failed;
            }

            added += (got == NGX_OK);
        }

        if (added == 0
            && fedi_stream_event_add(evs, &row, stream, len, 1) == NGX_ERROR)
        {
            goto failed;
        }
    }

    fedi_st->ev = evs->elts;
    fedi_st->nev = evs->nelts;

    fedi_stream_advance();

    if (fedi_stream_render_queries() != NGX_OK) {
        fedi_stream_batch_done();
        return;
    }

    if (fedi_st->pending == 0) {
        fedi_stream_deliver();
    }

    return;

failed:

    fedi_stream_batch_done();
}


/* row i of a batch, as every event made of it starts */
static ngx_int_t
fedi_stream_event_row(fedi_stream_event_t *e, PGresult *res, int i)
{
    ngx_uint_t   k;
    const char  *name;

    ngx_memzero(e, sizeof(fedi_stream_event_t));

    e->id = fedi_pg_int(res, i, 0);
    e->object = fedi_pg_int(res, i, 3);
    e->local = fedi_pg_bool(res, i, 4);
    e->row = -1;
    e->seen = fedi_stream_seen(e->id);

    name = PQgetvalue(res, i, 2);
    e->event = FEDI_EV_UPDATE;

    for (k = 0; k < sizeof(fedi_stream_event_names) / sizeof(char *); k++) {
        if (ngx_strcmp(name, fedi_stream_event_names[k]) == 0) {
            e->event = k;
            break;
        }
    }

    ngx_cpystrn((u_char *) e->object_str, (u_char *) PQgetvalue(res, i, 3),
                sizeof(e->object_str));

    if (!PQgetisnull(res, i, 5)) {
        e->detail = fedi_pstrz(fedi_st->pool,
                               (u_char *) PQgetvalue(res, i, 5),
                               PQgetlength(res, i, 5));
        if (e->detail == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * A row of a batch (begun as "row") as an event for the stream "key":
 * NGX_OK, kept and wanted here; NGX_DECLINED, kept for its id alone
 * (keep) or not kept
 */
static ngx_int_t
fedi_stream_event_add(ngx_array_t *evs, fedi_stream_event_t *row,
    u_char *key, size_t len, ngx_uint_t keep)
{
    ngx_queue_t          *q, *b;
    fedi_stream_sub_t    *s;
    fedi_stream_event_t   ev, *e;

    ev = *row;
    e = &ev;
    e->key = key;
    e->key_len = len;
    e->hash = ngx_crc32_short(key, len);

    if (e->seen) {
        /* read before, above a gap: nothing to do */

    } else if (e->event == FEDI_EV_FILTERS
               && fedi_stream_filters_owner(e, 0))
    {
        /* its owner's streams here take the new filters, whatever they
         * follow */
        e->wanted = 1;

    } else {
        /* anyone here who wants it? */
        b = &fedi_st->buckets[e->hash % FEDI_STREAM_BUCKETS];

        for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b);
             q = ngx_queue_next(q))
        {
            s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

            if (fedi_stream_accepts(s, e)) {
                e->wanted = 1;
                break;
            }
        }
    }

    if (!e->wanted && !keep) {
        return NGX_DECLINED;
    }

    e = ngx_array_push(evs);
    if (e == NULL) {
        return NGX_ERROR;
    }

    *e = ev;

    e->key = (u_char *) fedi_pstrz(fedi_st->pool, key, len);
    if (e->key == NULL) {
        return NGX_ERROR;
    }

    return e->wanted ? NGX_OK : NGX_DECLINED;
}


static ngx_uint_t
fedi_stream_accepts(fedi_stream_sub_t *s, fedi_stream_event_t *e)
{
    const fedi_stream_channel_t  *ch;

    if (s->hash != e->hash || s->key.len != e->key_len
        || ngx_memcmp(s->key.data, e->key, e->key_len) != 0
        || s->client->closing)
    {
        return 0;
    }

    ch = s->ch;

    switch (ch->kind) {

    case FEDI_CH_USER:
        if (ch->flags & FEDI_CHF_NOTIF) {
            return e->event == FEDI_EV_NOTIFICATION;
        }

        return e->event != FEDI_EV_CONVERSATION;

    case FEDI_CH_PUBLIC:
    case FEDI_CH_HASHTAG:
        if (((ch->flags & FEDI_CHF_LOCAL) && !e->local)
            || ((ch->flags & FEDI_CHF_REMOTE) && e->local))
        {
            return 0;
        }

        /* media streams: statuses with attachments (until the status
         * is loaded, maybe), and deletes */
        if ((ch->flags & FEDI_CHF_MEDIA) && e->event != FEDI_EV_DELETE
            && e->media_known && !e->media)
        {
            return 0;
        }

        return 1;

    case FEDI_CH_DIRECT:
        return e->event == FEDI_EV_CONVERSATION;

    case FEDI_CH_LIST:
        return e->event == FEDI_EV_UPDATE || e->event == FEDI_EV_STATUS_UPDATE
               || e->event == FEDI_EV_DELETE;

    default:
        return 0;
    }
}


/*
 * A filters_changed of user:ACCOUNT: whether a client of the account is
 * here; with replace, they take the account's filters as loaded (a
 * FILTERS_ACTIVE result), as Mastodon's streaming server drops its cache
 * on the event, for every stream of the account
 */
static ngx_uint_t
fedi_stream_filters_owner(fedi_stream_event_t *e, ngx_uint_t replace)
{
    int64_t                owner;
    ngx_uint_t             found;
    ngx_queue_t           *q;
    fedi_stream_client_t  *cl;

    if (e->key_len <= 5 || ngx_strncmp(e->key, "user:", 5) != 0) {
        return 0;
    }

    owner = ngx_atoi(e->key + 5, e->key_len - 5);
    found = 0;

    for (q = ngx_queue_head(&fedi_st->clients);
         q != ngx_queue_sentinel(&fedi_st->clients);
         q = ngx_queue_next(q))
    {
        cl = ngx_queue_data(q, fedi_stream_client_t, all);

        if (cl->account != owner || cl->closing) {
            continue;
        }

        found = 1;

        if (!replace) {
            break;
        }

        if (e->res && fedi_filters_replace(cl->rq, e->res) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, fedi_st->log, 0,
                          "fedi: a stream's filters were not replaced");
        }
    }

    return found;
}


static ngx_uint_t
fedi_stream_seen(int64_t id)
{
    ngx_uint_t  i;

    for (i = 0; i < fedi_st->nseen; i++) {
        if (fedi_st->seen[i] == id) {
            return 1;
        }
    }

    return 0;
}


/*
 * The new "last": past every event read, unless one is missing below
 * some of them (a transaction that took its id earlier and has not
 * committed yet).  Then the events above the gap are remembered as seen
 * and the gap waits, for FEDI_STREAM_GAP_WAIT at most (a rollback).
 */
static void
fedi_stream_advance(void)
{
    int64_t      expected;
    ngx_uint_t   i, j, skip;

    expected = fedi_st->last + 1;

    for (i = 0; i < fedi_st->nev; i++) {
        if (fedi_st->ev[i].id == expected) {
            expected++;
            continue;
        }

        /* another row of the event just counted (one per home feed) */
        if (i > 0 && fedi_st->ev[i].id == fedi_st->ev[i - 1].id
            && fedi_st->ev[i].id == expected - 1)
        {
            continue;
        }

        /* a gap before this event */
        if (fedi_st->gap_at != expected) {
            fedi_st->gap_at = expected;
            fedi_st->gap_since = ngx_current_msec;
        }

        skip = (ngx_current_msec - fedi_st->gap_since > FEDI_STREAM_GAP_WAIT)
               || fedi_st->nseen + (fedi_st->nev - i) > FEDI_STREAM_SEEN_MAX;

        if (skip) {
            expected = fedi_st->ev[i].id + 1;
            continue;
        }

        for (j = i; j < fedi_st->nev; j++) {
            if (!fedi_st->ev[j].seen
                && (j == i || fedi_st->ev[j].id != fedi_st->ev[j - 1].id))
            {
                fedi_st->seen[fedi_st->nseen++] = fedi_st->ev[j].id;
            }
        }

        break;
    }

    fedi_st->last = expected - 1;

    /* what is below the new last needs no remembering */
    for (i = 0, j = 0; i < fedi_st->nseen; i++) {
        if (fedi_st->seen[i] > fedi_st->last) {
            fedi_st->seen[j++] = fedi_st->seen[i];
        }
    }

    fedi_st->nseen = j;
}


/*
 * What the wanted events need: the statuses (one query), the viewers'
 * permissions and marks (one query for every pair), and each
 * notification or conversation, for its owner.
 */
static ngx_int_t
fedi_stream_render_queries(void)
{
    u_char               *ids, *viewers, *pairs, *p, *v, *w;
    size_t                nids, npairs;
    ngx_uint_t            i;
    ngx_queue_t          *q, *b;
    fedi_pg_op_t         *op;
    fedi_stream_sub_t    *s;
    fedi_stream_event_t  *e;
    const char           *owner;

    fedi_st->pending = 0;
    nids = 0;
    npairs = 0;

    for (i = 0; i < fedi_st->nev; i++) {
        e = &fedi_st->ev[i];

        if (!e->wanted) {
            continue;
        }

        if (e->event == FEDI_EV_UPDATE || e->event == FEDI_EV_STATUS_UPDATE)
        {
            nids++;

            b = &fedi_st->buckets[e->hash % FEDI_STREAM_BUCKETS];

            for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b);
                 q = ngx_queue_next(q))
            {
                s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

                if (fedi_stream_accepts(s, e)) {
                    npairs++;
                }
            }
        }
    }

    if (nids) {
        ids = ngx_pnalloc(fedi_st->pool, nids * (NGX_INT64_LEN + 1) + 3);
        viewers = ngx_pnalloc(fedi_st->pool,
                              npairs * (NGX_INT64_LEN + 1) + 3);
        pairs = ngx_pnalloc(fedi_st->pool, npairs * (NGX_INT64_LEN + 1) + 3);
        if (ids == NULL || viewers == NULL || pairs == NULL) {
            return NGX_ERROR;
        }

        p = ids;
        v = viewers;
        w = pairs;
        *p++ = '{';
        *v++ = '{';
        *w++ = '{';

        for (i = 0; i < fedi_st->nev; i++) {
            e = &fedi_st->ev[i];

            if (!e->wanted || (e->event != FEDI_EV_UPDATE
                               && e->event != FEDI_EV_STATUS_UPDATE))
            {
                continue;
            }

            p = ngx_sprintf(p, "%s%L", p[-1] == '{' ? "" : ",", e->object);

            b = &fedi_st->buckets[e->hash % FEDI_STREAM_BUCKETS];

            for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b);
                 q = ngx_queue_next(q))
            {
                s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

                if (!fedi_stream_accepts(s, e)) {
                    continue;
                }

                v = ngx_sprintf(v, "%s%L", v[-1] == '{' ? "" : ",",
                                s->client->account);
                w = ngx_sprintf(w, "%s%L", w[-1] == '{' ? "" : ",",
                                e->object);
            }
        }

        *p++ = '}'; *p = '\0';
        *v++ = '}'; *v = '\0';
        *w++ = '}'; *w = '\0';

        op = &fedi_st->op_statuses;
        ngx_memzero(op, sizeof(fedi_pg_op_t));
        op->stmt = FEDI_SQL_STREAM_STATUSES;
        op->nparams = 3;
        op->values[0] = NULL;
        op->values[1] = fedi_st->base;
        op->values[2] = (char *) ids;
        op->handler = fedi_stream_loaded;
        op->data = NULL;
        fedi_st->pending++;
        fedi_pg_exec(fedi_db(), op);

        op = &fedi_st->op_view;
        ngx_memzero(op, sizeof(fedi_pg_op_t));
        op->stmt = FEDI_SQL_STREAM_VIEW;
        op->nparams = 2;
        op->values[0] = (char *) viewers;
        op->values[1] = (char *) pairs;
        op->handler = fedi_stream_loaded;
        op->data = NULL;
        fedi_st->pending++;
        fedi_pg_exec(fedi_db(), op);
    }

    for (i = 0; i < fedi_st->nev; i++) {
        e = &fedi_st->ev[i];

        if (!e->wanted) {
            continue;
        }

        if (e->event == FEDI_EV_ANNOUNCEMENT
            || e->event == FEDI_EV_ANN_REACTION)
        {
            if (fedi_stream_announcement_query(i) != NGX_OK) {
                return NGX_ERROR;
            }

            continue;
        }

        if (e->event != FEDI_EV_NOTIFICATION
            && e->event != FEDI_EV_CONVERSATION
            && e->event != FEDI_EV_FILTERS)
        {
            continue;
        }

        /* the owner: user:ID, direct:ID */
        owner = (char *) ngx_strlchr(e->key, e->key + e->key_len, ':');
        if (owner == NULL) {
            e->wanted = 0;
            continue;
        }

        owner++;

        op = ngx_pcalloc(fedi_st->pool, sizeof(fedi_pg_op_t));
        if (op == NULL) {
            return NGX_ERROR;
        }

        e->op = op;
        op->values[0] = owner;
        op->values[1] = fedi_st->base;
        op->handler = fedi_stream_loaded;
        op->data = e;

        if (e->event == FEDI_EV_NOTIFICATION) {
            op->stmt = FEDI_SQL_NOTIFICATION_GET;
            op->nparams = 3;
            op->values[2] = e->object_str;

        } else if (e->event == FEDI_EV_FILTERS) {
            op->stmt = FEDI_SQL_FILTERS_ACTIVE;
            op->nparams = 1;

        } else {
            op->stmt = FEDI_SQL_CONVERSATIONS;
            op->nparams = 7;
            op->values[2] = NULL;
            op->values[3] = NULL;
            op->values[4] = NULL;
            op->values[5] = "1";
            op->values[6] = e->object_str;
        }

        fedi_st->pending++;
        fedi_pg_exec(fedi_db(), op);
    }

    return NGX_OK;
}


/*
 * An announcement event comes as one row per user; the payload is the
 * same for all (rendered for no viewer, as Mastodon's), so the first
 * wanted row's query serves the others.
 */
static ngx_int_t
fedi_stream_announcement_query(ngx_uint_t i)
{
    ngx_uint_t            k;
    fedi_pg_op_t         *op;
    fedi_stream_event_t  *e, *f;

    e = &fedi_st->ev[i];

    for (k = 0; k < i; k++) {
        f = &fedi_st->ev[k];

        if (f->wanted && f->id == e->id && f->same == NULL
            && (f->op || f->res))
        {
            e->same = f;
            return NGX_OK;
        }
    }

    op = ngx_pcalloc(fedi_st->pool, sizeof(fedi_pg_op_t));
    if (op == NULL) {
        return NGX_ERROR;
    }

    e->op = op;
    op->handler = fedi_stream_loaded;
    op->data = e;

    if (e->event == FEDI_EV_ANNOUNCEMENT) {
        op->stmt = FEDI_SQL_ANNOUNCEMENT_GET;
        op->nparams = 3;
        op->values[0] = NULL;
        op->values[1] = fedi_st->base;
        op->values[2] = e->object_str;

    } else {
        op->stmt = FEDI_SQL_ANNOUNCEMENT_REACTION;
        op->nparams = 2;
        op->values[0] = e->object_str;
        op->values[1] = e->detail ? e->detail : "";
    }

    fedi_st->pending++;
    fedi_pg_exec(fedi_db(), op);

    return NGX_OK;
}


static void
fedi_stream_loaded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int                   i, n;
    ngx_uint_t            k;
    PGresult             *copy;
    fedi_stream_event_t  *e;
    fedi_stream_view_t   *vw;

    copy = NULL;

    if (rc != NGX_OK || res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, fedi_st->log, 0,
                          "fedi: rendering stream events failed: %s",
                          PQresultErrorMessage(res));
        }

    } else if (op == &fedi_st->op_view) {
        n = PQntuples(res);
        fedi_st->view = ngx_palloc(fedi_st->pool,
                                   (n + 1) * sizeof(fedi_stream_view_t));

        if (fedi_st->view) {
            for (i = 0; i < n; i++) {
                vw = &fedi_st->view[i];
                vw->viewer = fedi_pg_int(res, i, 0);
                vw->status = fedi_pg_int(res, i, 1);
                vw->allowed = fedi_pg_bool(res, i, 2);
                vw->marks = 0;

                for (k = 0; k < FEDI_STREAM_MARKS; k++) {
                    if (fedi_pg_bool(res, i, 3 + k)) {
                        vw->marks |= 1 << k;
                    }
                }
            }

            fedi_st->nview = n;
        }

    } else {
        /* kept past this call: the pool clears res */
        copy = PQcopyResult(res, PG_COPYRES_ATTRS|PG_COPYRES_TUPLES);
    }

    if (op == &fedi_st->op_statuses) {
        fedi_st->statuses = copy;

        if (copy) {
            n = PQntuples(copy);

            for (i = 0; i < n; i++) {
                int64_t  id = fedi_pg_int(copy, i, 0);

                for (k = 0; k < fedi_st->nev; k++) {
                    e = &fedi_st->ev[k];

                    if (e->object == id
                        && (e->event == FEDI_EV_UPDATE
                            || e->event == FEDI_EV_STATUS_UPDATE))
                    {
                        e->row = i;
                        e->media_known = 1;
                        e->media = !PQgetisnull(copy, i,
                                                FEDI_STATUS_COL_MEDIA);
                    }
                }
            }
        }

    } else if (op != &fedi_st->op_view) {
        e = op->data;
        e->res = copy;
        e->op = NULL;
    }

    if (--fedi_st->pending == 0) {
        fedi_stream_deliver();
    }
}


static void
fedi_stream_deliver(void)
{
    ngx_uint_t            i;
    ngx_queue_t          *q, *next, *b;
    ngx_str_t            *raw, *quoted;
    fedi_stream_sub_t    *s;
    fedi_stream_event_t  *e;

    for (i = 0; i < fedi_st->nev; i++) {
        e = &fedi_st->ev[i];

        if (!e->wanted) {
            continue;
        }

        if (e->event == FEDI_EV_FILTERS) {
            (void) fedi_stream_filters_owner(e, 1);
        }

        b = &fedi_st->buckets[e->hash % FEDI_STREAM_BUCKETS];

        for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b); q = next) {
            next = ngx_queue_next(q);
            s = ngx_queue_data(q, fedi_stream_sub_t, bucket);

            if (!fedi_stream_accepts(s, e)) {
                continue;
            }

            if (e->event == FEDI_EV_FILTERS) {
                fedi_stream_send_event(s, e, NULL, NULL);
                continue;
            }

            if (fedi_stream_payload(e, s, &raw, &quoted) != NGX_OK) {
                continue;
            }

            fedi_stream_send_event(s, e, raw, quoted);
        }
    }

    fedi_stream_batch_done();
}


/*
 * The payload of e for cl, rendered once per set of marks (NGX_DECLINED:
 * nothing for this viewer)
 */
static ngx_int_t
fedi_stream_payload(fedi_stream_event_t *e, fedi_stream_sub_t *s,
    ngx_str_t **raw, ngx_str_t **quoted)
{
    long                   n;
    u_char                *p;
    ngx_str_t             *own;
    ngx_uint_t             i, marks, variant;
    fedi_json_t            j, jq;
    fedi_stream_view_t    *vw;
    fedi_stream_client_t  *cl;

    cl = s->client;
    own = NULL;

    static const int  cols[FEDI_STREAM_MARKS] = {
        FEDI_STATUS_COL_FAVOURITED, FEDI_STATUS_COL_BOOKMARKED,
        FEDI_STATUS_COL_REBLOGGED, FEDI_STATUS_COL_PINNED,
        FEDI_STATUS_COL_MUTED
    };

    variant = 0;
    marks = 0;

    switch (e->event) {

    case FEDI_EV_UPDATE:
    case FEDI_EV_STATUS_UPDATE:
        if (e->row < 0 || fedi_st->statuses == NULL) {
            return NGX_DECLINED;
        }

        /* the pairs come back in the order deliveries walk them */
        vw = NULL;
        i = fedi_st->hint;

        if (i < fedi_st->nview && fedi_st->view[i].viewer == cl->account
            && fedi_st->view[i].status == e->object)
        {
            vw = &fedi_st->view[i];

        } else {
            for (i = 0; i < fedi_st->nview; i++) {
                if (fedi_st->view[i].viewer == cl->account
                    && fedi_st->view[i].status == e->object)
                {
                    vw = &fedi_st->view[i];
                    break;
                }
            }
        }

        fedi_st->hint = i + 1;

        if (vw == NULL || !vw->allowed) {
            return NGX_DECLINED;
        }

        marks = vw->marks;
        variant = marks;

        /* a viewer with filters has a payload of their own */
        if (cl->rq->filters) {
            fedi_filters_context(cl->rq,
                                 s->ch->kind == FEDI_CH_USER
                                 || s->ch->kind == FEDI_CH_LIST
                                 ? FEDI_FILTER_HOME : FEDI_FILTER_PUBLIC);

            if (fedi_filters_hide(cl->rq, fedi_st->statuses, e->row, 0)) {
                return NGX_DECLINED;
            }
        }

        break;

    case FEDI_EV_ANNOUNCEMENT:
    case FEDI_EV_ANN_REACTION:
        if (e->same) {
            e = e->same;
        }

        /* fall through */

    case FEDI_EV_NOTIFICATION:
    case FEDI_EV_CONVERSATION:
        if (e->res == NULL || PQntuples(e->res) == 0) {
            return NGX_DECLINED;
        }

        if (cl->rq->filters) {
            fedi_filters_context(cl->rq, e->event == FEDI_EV_NOTIFICATION
                                         ? FEDI_FILTER_NOTIFICATIONS : 0);

            if (e->event == FEDI_EV_NOTIFICATION
                && fedi_filters_hide(cl->rq, e->res, 0,
                                     FEDI_ACCOUNT_NCOLS + 3))
            {
                return NGX_DECLINED;
            }
        }

        break;

    default: /* FEDI_EV_DELETE, FEDI_EV_ANN_DELETE: the id */
        break;
    }

    if (e->raw == NULL) {
        e->raw = ngx_pcalloc(fedi_st->pool,
                             2 * FEDI_STREAM_VARIANTS * sizeof(ngx_str_t));
        if (e->raw == NULL) {
            return NGX_ERROR;
        }

        e->quoted = e->raw + FEDI_STREAM_VARIANTS;
    }

    if (cl->rq->filters && e->event != FEDI_EV_DELETE) {
        own = ngx_pcalloc(fedi_st->pool, 2 * sizeof(ngx_str_t));
        if (own == NULL) {
            return NGX_ERROR;
        }

    } else if (e->raw[variant].data) {
        *raw = &e->raw[variant];
        *quoted = &e->quoted[variant];
        return NGX_OK;
    }

    fedi_json_init(&j, fedi_stream_json_alloc, fedi_st->pool);

    switch (e->event) {

    case FEDI_EV_UPDATE:
    case FEDI_EV_STATUS_UPDATE:
        for (i = 0; i < FEDI_STREAM_MARKS; i++) {
            if (PQsetvalue(fedi_st->statuses, e->row, cols[i],
                           (marks & (1 << i)) ? "t" : "f", 1)
                == 0)
            {
                return NGX_ERROR;
            }
        }

        fedi_status_render(cl->rq, &j, fedi_st->statuses, e->row);
        break;

    case FEDI_EV_NOTIFICATION:
        fedi_notification_render(cl->rq, &j, e->res, 0);
        break;

    case FEDI_EV_CONVERSATION:
        (void) fedi_conversation_render(cl->rq, &j, e->res, 0);
        break;

    case FEDI_EV_ANNOUNCEMENT:
        fedi_announcement_render(cl->rq, fedi_st->pool, &j, e->res, 0, 0);
        break;

    case FEDI_EV_ANN_REACTION:
        fedi_announcement_reaction_render(cl->rq, &j, e->res, 0,
                                          e->object_str);
        break;

    default:
        fedi_json_write(&j, (u_char *) e->object_str,
                        ngx_strlen(e->object_str));
        break;
    }

    if (j.error) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(fedi_st->pool, j.size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    n = fedi_json_flatten(&j, p, j.size + 1);
    if (n < 0) {
        return NGX_ERROR;
    }

    if (own) {
        *raw = &own[0];
        *quoted = &own[1];

    } else {
        *raw = &e->raw[variant];
        *quoted = &e->quoted[variant];
    }

    (*raw)->data = p;
    (*raw)->len = n;

    /* the payload as a JSON string, for WebSocket messages */
    fedi_json_init(&jq, fedi_stream_json_alloc, fedi_st->pool);
    fedi_json_str(&jq, p, n);

    p = ngx_pnalloc(fedi_st->pool, jq.size + 1);
    if (jq.error || p == NULL) {
        return NGX_ERROR;
    }

    n = fedi_json_flatten(&jq, p, jq.size + 1);
    if (n < 0) {
        return NGX_ERROR;
    }

    (*quoted)->data = p;
    (*quoted)->len = n;

    return NGX_OK;
}


/*
 * SSE: "event: update\ndata: {…}\n\n"; WebSocket:
 * {"stream":["user"],"event":"update","payload":"{…}"}.  An event with
 * no payload (raw NULL) goes as Mastodon's streaming server writes an
 * undefined one: "data: undefined", and no "payload" key.
 */
static void
fedi_stream_send_event(fedi_stream_sub_t *s, fedi_stream_event_t *e,
    ngx_str_t *raw, ngx_str_t *quoted)
{
    u_char                *p, *start;
    size_t                 n, head;
    const char            *name;
    fedi_stream_client_t  *cl;

    static ngx_str_t  undefined = ngx_string("undefined");

    cl = s->client;
    name = fedi_stream_event_names[e->event];

    if (cl->ws && quoted == NULL) {
        n = sizeof("{\"stream\":,\"event\":\"\"}") - 1 + s->stream.len
            + ngx_strlen(name);

        p = fedi_stream_reserve(cl, FEDI_WS_HEADER_MAX + n);
        if (p == NULL) {
            return;
        }

        p += fedi_ws_header(p, FEDI_WS_TEXT, n);
        p = ngx_sprintf(p, "{\"stream\":%V,\"event\":\"%s\"}",
                        &s->stream, name);
        cl->out_len = p - cl->out;

    } else if (cl->ws) {
        n = sizeof("{\"stream\":,\"event\":\"\",\"payload\":}") - 1
            + s->stream.len + ngx_strlen(name) + quoted->len;

        p = fedi_stream_reserve(cl, FEDI_WS_HEADER_MAX + n);
        if (p == NULL) {
            return;
        }

        p += fedi_ws_header(p, FEDI_WS_TEXT, n);
        p = ngx_sprintf(p, "{\"stream\":%V,\"event\":\"%s\",\"payload\":%V}",
                        &s->stream, name, quoted);
        cl->out_len = p - cl->out;

    } else {
        if (raw == NULL) {
            raw = &undefined;
        }

        n = sizeof("event: \ndata: \n\n") - 1 + ngx_strlen(name) + raw->len;
        head = cl->chunked ? NGX_OFF_T_LEN + 2 : 0;

        p = fedi_stream_reserve(cl, head + n + 2);
        if (p == NULL) {
            return;
        }

        start = p;

        if (cl->chunked) {
            p = ngx_sprintf(p, "%xz\r\n", n);
        }

        p = ngx_sprintf(p, "event: %s\ndata: %V\n\n", name, raw);

        if (cl->chunked) {
            *p++ = '\r';
            *p++ = '\n';
        }

        cl->out_len += p - start;
    }

    fedi_stream_flush(cl);
}


static void
fedi_stream_batch_done(void)
{
    ngx_uint_t            i;
    fedi_stream_event_t  *e;

    if (fedi_st->statuses) {
        PQclear(fedi_st->statuses);
        fedi_st->statuses = NULL;
    }

    for (i = 0; fedi_st->ev && i < fedi_st->nev; i++) {
        e = &fedi_st->ev[i];

        if (e->res) {
            PQclear(e->res);
            e->res = NULL;
        }
    }

    fedi_st->view = NULL;
    fedi_st->nview = 0;
    fedi_st->hint = 0;
    fedi_st->ev = NULL;
    fedi_st->nev = 0;

    if (fedi_st->pool) {
        ngx_destroy_pool(fedi_st->pool);
        fedi_st->pool = NULL;
    }

    fedi_st->busy = 0;

    if ((fedi_st->again || fedi_st->full) && !ngx_exiting && !ngx_terminate)
    {
        fedi_st->full = 0;
        fedi_stream_read();
    }
}


static void
fedi_stream_prune_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    if (!fedi_st->pruning && fedi_db()) {
        ngx_memzero(&fedi_st->op_prune, sizeof(fedi_pg_op_t));
        fedi_st->op_prune.stmt = FEDI_SQL_STREAM_PRUNE;
        fedi_st->op_prune.handler = fedi_stream_pruned;
        fedi_st->pruning = 1;
        fedi_pg_exec(fedi_db(), &fedi_st->op_prune);
    }

    ngx_add_timer(ev, FEDI_STREAM_PRUNE);
}


static void
fedi_stream_pruned(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_st->pruning = 0;

    if (res && PQresultStatus(res) != PGRES_COMMAND_OK) {
        ngx_log_error(NGX_LOG_ERR, fedi_st->log, 0,
                      "fedi: pruning stream events failed: %s",
                      PQresultErrorMessage(res));
    }
}


static void *
fedi_stream_json_alloc(void *ctx, size_t size)
{
    return ngx_palloc((ngx_pool_t *) ctx, size);
}
