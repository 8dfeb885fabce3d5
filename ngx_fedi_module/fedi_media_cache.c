/*
 * Copyright (C) ngx_fedi authors
 *
 * The remote media cache (fedi_media_cache on): remote attachments,
 * avatars and headers fetched by us, processed like uploads and served
 * from fedi_media_root, the API then giving our URL as "url" and the
 * origin's as "remote_url", as Mastodon does.
 *
 * Off the request path, in every worker, never blocking one: the inbox
 * stores an attachment or a profile and, in the same transaction, a job
 * (sql/0032_media_cache.sql) whose commit NOTIFYs fedi_media_cache.  A
 * worker woken by it (or by its timer, for retries and lost
 * notifications) claims a few jobs with a lease (FOR UPDATE SKIP LOCKED:
 * each job to one worker of one node), fetches each on the event loop
 * through fedi_fetch.c (the resolver, the address check and
 * fedi_outbound_allow, TLS verified, the body capped at
 * fedi_media_cache_max_size and the time at fedi_fetch_timeout), then on
 * the thread pool finds the type from the bytes and processes the file
 * as an upload (fedi_media_probe, fedi_media_process: re-encoded,
 * metadata stripped, a preview, a BlurHash), and records the outcome.  A
 * file refused (its type, its size, a private address, a 4xx) is not
 * tried again; a network failure is, a few times, with backoff.  At most
 * FEDI_MCACHE_SLOTS files per worker at a time, so a worker holds at most
 * that many bodies in memory.
 *
 * Why the workers and not the delivery process: processing needs nginx's
 * thread pool, which only workers have.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include "fedi.h"
#include "fedi_media_proc.h"
#include "fedi_claim.h"


#define FEDI_MCACHE_SLOTS         2
#define FEDI_MCACHE_LEASE         "300"     /* s, a fetch and processing */
#define FEDI_MCACHE_ATTEMPTS      "5"
#define FEDI_MCACHE_INTERVAL      30000     /* ms, retries and heartbeat */
#define FEDI_MCACHE_TRASH_BATCH   "50"
#define FEDI_MCACHE_PROFILE_LIMIT (2 * 1024 * 1024)    /* as Mastodon's */


typedef struct {
    ngx_uint_t           busy;
    ngx_pool_t          *pool;          /* the fetch's, NULL when none */
    fedi_fetch_t        *fetch;
    ngx_str_t            url;           /* in the pool */
    fedi_media_proc_t    proc;
    ngx_thread_task_t    task;
    fedi_pg_op_t         op;
    char                 job[24];
    char                 meta[512];
    char                 size[24];
    unsigned             running:1;     /* on the thread pool */
    unsigned             failed:1;
    unsigned             final:1;       /* not to be tried again */
} fedi_mcache_slot_t;


static ngx_uint_t fedi_mcache_nfree(void);
static void fedi_mcache_claimed(PGresult *res, int row);
static void fedi_mcache_start(fedi_mcache_slot_t *s, const char *kind,
    const char *url, size_t len);
static void fedi_mcache_fetched(fedi_fetch_t *f);
static void fedi_mcache_work(void *data, ngx_log_t *log);
static void fedi_mcache_worked(ngx_event_t *ev);
static void fedi_mcache_fail(fedi_mcache_slot_t *s, const char *why,
    ngx_uint_t final);
static void fedi_mcache_recorded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_mcache_free(fedi_mcache_slot_t *s);
static void fedi_mcache_trash(void);
static void fedi_mcache_trashed(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_mcache_timer_handler(ngx_event_t *ev);


static struct {
    ngx_http_fedi_main_conf_t  *mcf;
    ngx_resolver_t             *resolver;
    ngx_msec_t                  resolver_timeout;
    ngx_thread_pool_t          *tp;
    fedi_mcache_slot_t          slots[FEDI_MCACHE_SLOTS];
    fedi_claim_t                claim;
    fedi_pg_op_t                trash_op;
    ngx_event_t                 timer;
    unsigned                    on:1;
    unsigned                    trashing:1;
    unsigned                    trash:1;
} fedi_mc;


ngx_int_t
fedi_media_cache_init(ngx_cycle_t *cycle)
{
    static ngx_str_t  name = ngx_string("default");

    ngx_memzero(&fedi_mc, sizeof(fedi_mc));

    fedi_mc.mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                                      ngx_http_fedi_module);

    /* files no row uses are removed even once the cache is off */
    fedi_mc.trash = fedi_mc.mcf->media_root.len > 0;

    if (fedi_mc.mcf->media_cache) {
        fedi_mc.tp = ngx_thread_pool_get(cycle, &name);
        if (fedi_mc.tp == NULL) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "fedi: thread pool \"%V\" not found", &name);
            return NGX_ERROR;
        }

        fedi_fetch_resolver(cycle, &fedi_mc.resolver,
                            &fedi_mc.resolver_timeout);

        /* the claim also says the cache is on */
        fedi_mc.claim.stmt = FEDI_SQL_MEDIA_CACHE_CLAIM;
        fedi_mc.claim.what = "media to cache";
        fedi_mc.claim.lease = FEDI_MCACHE_LEASE;
        fedi_mc.claim.free = fedi_mcache_nfree;
        fedi_mc.claim.start = fedi_mcache_claimed;

        fedi_mc.on = 1;
    }

    if (fedi_mc.on || fedi_mc.trash) {
        fedi_mc.timer.handler = fedi_mcache_timer_handler;
        fedi_mc.timer.log = cycle->log;
        fedi_mc.timer.cancelable = 1;

        ngx_add_timer(&fedi_mc.timer, FEDI_MCACHE_INTERVAL);
    }

    return NGX_OK;
}


/* NOTIFY fedi_media_cache, a connection made, the timer, a slot free */
void
fedi_media_cache_wake(void)
{
    if (fedi_db() == NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    if (fedi_mc.on) {
        fedi_claim(&fedi_mc.claim);
    }

    if (fedi_mc.trash) {
        fedi_mcache_trash();
    }
}


void
fedi_media_cache_exit(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;

    if (fedi_mc.timer.timer_set) {
        ngx_del_timer(&fedi_mc.timer);
    }

    /* fetches end with their pools; work on the thread pool is left */
    for (i = 0; i < FEDI_MCACHE_SLOTS; i++) {
        if (fedi_mc.slots[i].busy && !fedi_mc.slots[i].running
            && fedi_mc.slots[i].pool)
        {
            ngx_destroy_pool(fedi_mc.slots[i].pool);
            fedi_mc.slots[i].pool = NULL;
        }
    }

    fedi_mc.on = 0;
    fedi_mc.trash = 0;
}


static void
fedi_mcache_timer_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    fedi_media_cache_wake();
    ngx_add_timer(ev, FEDI_MCACHE_INTERVAL);
}


static ngx_uint_t
fedi_mcache_nfree(void)
{
    ngx_uint_t  i, n;

    for (n = 0, i = 0; i < FEDI_MCACHE_SLOTS; i++) {
        n += !fedi_mc.slots[i].busy;
    }

    return n;
}


/* a claimed job (job, kind, url) into a free slot */
static void
fedi_mcache_claimed(PGresult *res, int row)
{
    ngx_uint_t           i;
    fedi_mcache_slot_t  *s;

    for (i = 0; i < FEDI_MCACHE_SLOTS; i++) {
        s = &fedi_mc.slots[i];

        if (s->busy) {
            continue;
        }

        ngx_cpystrn((u_char *) s->job, (u_char *) PQgetvalue(res, row, 0),
                    sizeof(s->job));

        fedi_mcache_start(s, PQgetvalue(res, row, 1),
                          PQgetvalue(res, row, 2), PQgetlength(res, row, 2));
        return;
    }
}


static void
fedi_mcache_start(fedi_mcache_slot_t *s, const char *kind, const char *url,
    size_t len)
{
    ngx_str_t      u;
    fedi_fetch_t  *f;

    s->busy = 1;
    s->failed = 0;
    s->final = 0;
    ngx_str_set(&s->url, "?");
    ngx_memzero(&s->proc, sizeof(fedi_media_proc_t));

    s->proc.kind = ngx_strcmp(kind, "avatar") == 0 ? FEDI_MEDIA_AVATAR
                   : ngx_strcmp(kind, "header") == 0 ? FEDI_MEDIA_HEADER
                   : FEDI_MEDIA_ATTACHMENT;
    s->proc.root = (const char *) fedi_mc.mcf->media_root.data;

    s->pool = ngx_create_pool(4096, ngx_cycle->log);
    if (s->pool == NULL) {
        fedi_mcache_fail(s, "out of memory", 0);
        return;
    }

    u.len = len;
    u.data = ngx_pnalloc(s->pool, len + 1);
    if (u.data == NULL) {
        fedi_mcache_fail(s, "out of memory", 0);
        return;
    }

    ngx_memcpy(u.data, url, len);
    u.data[len] = '\0';
    s->url = u;

    f = fedi_fetch_create_in(s->pool, ngx_cycle->log, &fedi_mc.mcf->fetch,
                             fedi_mc.resolver, fedi_mc.resolver_timeout, &u);
    if (f == NULL) {
        fedi_mcache_fail(s, "out of memory", 0);
        return;
    }

    f->accept = "*/*";
    f->max_body = fedi_mc.mcf->media_cache_max_size;

    if (s->proc.kind != FEDI_MEDIA_ATTACHMENT) {
        f->max_body = ngx_min(f->max_body, FEDI_MCACHE_PROFILE_LIMIT);
    }

    f->done = fedi_mcache_fetched;
    f->data = s;
    s->fetch = f;

    fedi_fetch_start(f);
}


static void
fedi_mcache_fetched(fedi_fetch_t *f)
{
    fedi_mcache_slot_t  *s = f->data;

    if (f->rc != NGX_OK) {
        /* what the URL is, not how the network is: no use trying again */
        fedi_mcache_fail(s, f->error, fedi_fetch_refused(f));
        return;
    }

    if (f->status < 200 || f->status > 299) {
        fedi_mcache_fail(s, "an HTTP error",
                         f->status >= 400 && f->status < 500
                         && f->status != 408 && f->status != 429);
        return;
    }

    if (f->body.len == 0) {
        fedi_mcache_fail(s, "an empty file", 1);
        return;
    }

    /* the body stays in the slot's pool, which outlives the task */
    s->proc.data = f->body.data;
    s->proc.len = f->body.len;

    s->task.ctx = s;
    s->task.handler = fedi_mcache_work;
    s->task.event.handler = fedi_mcache_worked;
    s->task.event.data = s;
    s->task.event.log = ngx_cycle->log;

    if (ngx_thread_task_post(fedi_mc.tp, &s->task) != NGX_OK) {
        fedi_mcache_fail(s, "the thread pool is full", 0);
        return;
    }

    s->running = 1;
}


/* on the thread pool: the type from the bytes, then as an upload */
static void
fedi_mcache_work(void *data, ngx_log_t *log)
{
    fedi_mcache_slot_t  *s = data;

    if (fedi_media_probe(&s->proc) != 0 || fedi_media_process(&s->proc) != 0)
    {
        s->failed = 1;
    }
}


static void
fedi_mcache_worked(ngx_event_t *ev)
{
    fedi_mcache_slot_t  *s = ev->data;
    fedi_media_proc_t   *mp = &s->proc;

    s->running = 0;

    if (!fedi_mc.on || fedi_db() == NULL) {
        if (!s->failed) {
            fedi_media_remove(mp->root, mp->path);
            fedi_media_remove(mp->root, mp->preview);
        }

        fedi_mcache_free(s);
        return;
    }

    if (s->failed) {
        fedi_mcache_fail(s, mp->err, !mp->internal);
        return;
    }

    /* the body is no longer needed; the slot keeps what the row takes */
    fedi_media_meta_of(mp, s->meta, sizeof(s->meta), s->size);

    ngx_memzero(&s->op, sizeof(fedi_pg_op_t));
    s->op.stmt = FEDI_SQL_MEDIA_CACHE_DONE;
    s->op.nparams = 8;
    s->op.values[0] = s->job;
    s->op.values[1] = mp->path;
    s->op.values[2] = mp->preview[0] ? mp->preview : NULL;
    s->op.values[3] = s->meta;
    s->op.values[4] = mp->blurhash[0] ? mp->blurhash : NULL;
    s->op.values[5] = mp->out_mime;
    s->op.values[6] = s->size;
    s->op.values[7] = mp->type;
    s->op.handler = fedi_mcache_recorded;
    s->op.data = s;
    s->op.log = ngx_cycle->log;

    fedi_pg_exec(fedi_db(), &s->op);
}


static void
fedi_mcache_fail(fedi_mcache_slot_t *s, const char *why, ngx_uint_t final)
{
    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "fedi: caching \"%V\" (job %s): %s%s", &s->url, s->job,
                  why,
                  final ? ", refused" : ", to try again");

    if (fedi_db() == NULL) {
        fedi_mcache_free(s);
        return;
    }

    s->failed = 1;

    ngx_memzero(&s->op, sizeof(fedi_pg_op_t));
    s->op.stmt = FEDI_SQL_MEDIA_CACHE_FAILED;
    s->op.nparams = 3;
    s->op.values[0] = s->job;
    s->op.values[1] = final ? "true" : "false";
    s->op.values[2] = FEDI_MCACHE_ATTEMPTS;
    s->op.handler = fedi_mcache_recorded;
    s->op.data = s;
    s->op.log = ngx_cycle->log;

    fedi_pg_exec(fedi_db(), &s->op);
}


/* the outcome recorded; files the row did not take are removed */
static void
fedi_mcache_recorded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int                  i;
    fedi_mcache_slot_t  *s = op->data;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "fedi: recording cached media %s failed: %s", s->job,
                      res ? PQresultErrorMessage(res) : "no connection");

        /* the lease brings the job back; our files go */
        if (!s->failed) {
            fedi_media_remove(s->proc.root, s->proc.path);
            fedi_media_remove(s->proc.root, s->proc.preview);
        }

    } else if (!s->failed) {
        for (i = 0; i < PQntuples(res); i++) {
            fedi_media_remove(s->proc.root, fedi_pg_val(res, i, 0));
        }
    }

    fedi_mcache_free(s);
    fedi_media_cache_wake();
}


static void
fedi_mcache_free(fedi_mcache_slot_t *s)
{
    if (s->pool) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
    }

    s->fetch = NULL;
    ngx_str_set(&s->url, "?");
    s->busy = 0;
}


/* files no row uses any more, removed on the thread pool */
static void
fedi_mcache_trash(void)
{
    if (fedi_mc.trashing) {
        return;
    }

    ngx_memzero(&fedi_mc.trash_op, sizeof(fedi_pg_op_t));
    fedi_mc.trash_op.stmt = FEDI_SQL_MEDIA_CACHE_TRASH;
    fedi_mc.trash_op.nparams = 1;
    fedi_mc.trash_op.values[0] = FEDI_MCACHE_TRASH_BATCH;
    fedi_mc.trash_op.handler = fedi_mcache_trashed;
    fedi_mc.trash_op.log = ngx_cycle->log;

    fedi_mc.trashing = 1;

    fedi_pg_exec(fedi_db(), &fedi_mc.trash_op);
}


static void
fedi_mcache_trashed(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int  i;

    fedi_mc.trashing = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        return;
    }

    for (i = 0; i < PQntuples(res); i++) {
        fedi_media_remove((char *) fedi_mc.mcf->media_root.data,
                          fedi_pg_val(res, i, 0));
    }

    if (PQntuples(res) >= ngx_atoi((u_char *) FEDI_MCACHE_TRASH_BATCH,
                                   sizeof(FEDI_MCACHE_TRASH_BATCH) - 1))
    {
        fedi_mcache_trash();
    }
}
