/*
 * Copyright (C) ngx_fedi authors
 *
 * The inbox's background fetcher: the objects that must come from their
 * origin (a Create or an Update by reference or from another host, an
 * Announce of a status we do not hold, a Move's target), so the inbox
 * answers 202 without waiting on a slow origin (issue 5).
 *
 * The inbox stores such an activity pending (sql/0039), whose commit
 * NOTIFYs fedi_inbox "fetch".  A worker woken by it (or by its timer, for
 * retries, expired leases and lost notifications) claims a few with a
 * lease (FOR UPDATE SKIP LOCKED: each to one worker of one node), runs
 * the inbox's own origin rules and sanitizing on them with no request
 * behind (fedi_inbox_object_in, ap_inbox_object.c), and records the
 * object, which makes the activity ready for processing (fedi_inbox_run,
 * woken by the NOTIFY fedi_inbox that follows).  A rule broken (an id
 * that is not the URL, no ActivityPub type, a private address, a foreign
 * author, a 404 or a 410) records no object and why, so the processing
 * drops the activity as before; a failure that may pass (a timeout, a
 * 5xx, a refused connection) is tried again after 2, 4, 8 ... seconds,
 * FEDI_IFETCH_ATTEMPTS times in all, then given up the same way.  A
 * worker that dies mid-fetch leaves its lease to expire: the activity is
 * claimed again (and counts an attempt).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap_inbox_object.h"
#include "fedi_claim.h"


#define FEDI_IFETCH_SLOTS       4
#define FEDI_IFETCH_LEASE       "300"       /* s: fetches, resolving */
#define FEDI_IFETCH_ATTEMPTS    "6"
#define FEDI_IFETCH_INTERVAL    5000        /* ms, leases and heartbeat */


typedef struct {
    ngx_uint_t           busy;
    ngx_pool_t          *pool;          /* the activity's work */
    json_t              *act;
    fedi_pg_op_t         op;
    char                 id[24];
    char                *object;
    const char          *why;
    unsigned             retry:1;
} fedi_ifetch_slot_t;


static ngx_uint_t fedi_ifetch_nfree(void);
static void fedi_ifetch_claimed(PGresult *res, int row);
static void fedi_ifetch_start(fedi_ifetch_slot_t *s, PGresult *res, int row);
static void fedi_ifetch_prepared(void *data, char *object, const char *why,
    ngx_uint_t retry);
static void fedi_ifetch_recorded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_ifetch_free(fedi_ifetch_slot_t *s);
static void fedi_ifetch_cleanup(void *data);
static void fedi_ifetch_timer_handler(ngx_event_t *ev);


static struct {
    ngx_resolver_t             *resolver;
    ngx_msec_t                  resolver_timeout;
    fedi_ifetch_slot_t          slots[FEDI_IFETCH_SLOTS];
    fedi_claim_t                claim;
    ngx_event_t                 timer;
    unsigned                    on:1;
} fedi_if;


ngx_int_t
fedi_inbox_fetch_init(ngx_cycle_t *cycle)
{
    ngx_memzero(&fedi_if, sizeof(fedi_if));

    fedi_fetch_resolver(cycle, &fedi_if.resolver, &fedi_if.resolver_timeout);

    fedi_if.claim.stmt = FEDI_SQL_INBOX_FETCH_CLAIM;
    fedi_if.claim.what = "inbox objects to fetch";
    fedi_if.claim.lease = FEDI_IFETCH_LEASE;
    fedi_if.claim.extra = FEDI_IFETCH_ATTEMPTS;
    fedi_if.claim.free = fedi_ifetch_nfree;
    fedi_if.claim.start = fedi_ifetch_claimed;

    fedi_if.timer.handler = fedi_ifetch_timer_handler;
    fedi_if.timer.log = cycle->log;
    fedi_if.timer.cancelable = 1;

    ngx_add_timer(&fedi_if.timer, FEDI_IFETCH_INTERVAL);

    fedi_if.on = 1;

    return NGX_OK;
}


/* NOTIFY fedi_inbox "fetch", a connection made, the timer, a slot free */
void
fedi_inbox_fetch_wake(void)
{
    if (!fedi_if.on || fedi_db() == NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    fedi_claim(&fedi_if.claim);
}


void
fedi_inbox_fetch_exit(ngx_cycle_t *cycle)
{
    if (fedi_if.timer.timer_set) {
        ngx_del_timer(&fedi_if.timer);
    }

    /*
     * the work of a busy slot may be on the thread pool or wait on the
     * database: its pool is left to the process's end; the lease brings
     * the activity back
     */
    fedi_if.on = 0;
}


static void
fedi_ifetch_timer_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    fedi_inbox_fetch_wake();
    ngx_add_timer(ev, FEDI_IFETCH_INTERVAL);
}


static ngx_uint_t
fedi_ifetch_nfree(void)
{
    ngx_uint_t  i, n;

    for (n = 0, i = 0; i < FEDI_IFETCH_SLOTS; i++) {
        n += !fedi_if.slots[i].busy;
    }

    return n;
}


static void
fedi_ifetch_claimed(PGresult *res, int row)
{
    ngx_uint_t  i;

    for (i = 0; i < FEDI_IFETCH_SLOTS; i++) {
        if (!fedi_if.slots[i].busy) {
            fedi_ifetch_start(&fedi_if.slots[i], res, row);
            return;
        }
    }
}


/* a claimed row: id, body, actor, attempts */
static void
fedi_ifetch_start(fedi_ifetch_slot_t *s, PGresult *res, int row)
{
    char                *actor;
    fedi_fetch_env_t     env;
    ngx_pool_cleanup_t  *cln;

    s->busy = 1;
    s->retry = 0;
    s->object = NULL;
    s->why = NULL;

    ngx_cpystrn((u_char *) s->id, (u_char *) PQgetvalue(res, row, 0),
                sizeof(s->id));

    s->pool = ngx_create_pool(4096, ngx_cycle->log);
    if (s->pool == NULL) {
        fedi_ifetch_prepared(s, NULL, "out of memory", 1);
        return;
    }

    s->act = json_loadb(PQgetvalue(res, row, 1), PQgetlength(res, row, 1),
                        0, NULL);
    cln = ngx_pool_cleanup_add(s->pool, 0);
    actor = PQgetisnull(res, row, 2)
            ? NULL
            : fedi_pstrz(s->pool, (u_char *) PQgetvalue(res, row, 2),
                         PQgetlength(res, row, 2));

    if (cln == NULL) {
        json_decref(s->act);
        s->act = NULL;
        fedi_ifetch_prepared(s, NULL, "out of memory", 1);
        return;
    }

    cln->handler = fedi_ifetch_cleanup;
    cln->data = s->act;

    if (s->act == NULL || actor == NULL) {
        /* the inbox stored nothing else: no object to trust */
        fedi_ifetch_prepared(s, NULL, "no activity with an actor", 0);
        return;
    }

    env.pool = s->pool;
    env.log = ngx_cycle->log;
    env.resolver = fedi_if.resolver;
    env.resolver_timeout = fedi_if.resolver_timeout;

    fedi_inbox_object_in(&env, s->act, actor, fedi_ifetch_prepared, s);
}


static void
fedi_ifetch_cleanup(void *data)
{
    json_decref(data);
}


/* the object prepared, or why not: recorded */
static void
fedi_ifetch_prepared(void *data, char *object, const char *why,
    ngx_uint_t retry)
{
    fedi_ifetch_slot_t  *s = data;

    if (fedi_db() == NULL || !fedi_if.on) {
        fedi_ifetch_free(s);         /* the lease brings it back */
        return;
    }

    s->object = object;
    s->why = why;
    s->retry = object == NULL && retry;

    if (why) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "fedi: inbox activity %s: %s%s", s->id, why,
                      s->retry ? ", to try again" : "");
    }

    ngx_memzero(&s->op, sizeof(fedi_pg_op_t));

    if (s->retry) {
        s->op.stmt = FEDI_SQL_INBOX_FETCH_RETRY;
        s->op.values[2] = FEDI_IFETCH_ATTEMPTS;

    } else {
        s->op.stmt = FEDI_SQL_INBOX_FETCH_DONE;
        s->op.values[2] = why;
    }

    s->op.nparams = 3;
    s->op.values[0] = s->id;
    s->op.values[1] = s->retry ? why : object;
    s->op.handler = fedi_ifetch_recorded;
    s->op.data = s;
    s->op.log = ngx_cycle->log;

    fedi_pg_exec(fedi_db(), &s->op);
}


static void
fedi_ifetch_recorded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    ngx_int_t            secs;
    ngx_msec_t           delay;
    fedi_ifetch_slot_t  *s = op->data;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        /* the lease brings the activity back */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "fedi: recording the object of inbox activity %s "
                      "failed: %s", s->id,
                      res ? PQresultErrorMessage(res) : "no connection");

    } else if (s->retry && !PQgetisnull(res, 0, 0)) {
        /* the next attempt is due before the heartbeat: look then */
        secs = ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                        PQgetlength(res, 0, 0));
        delay = (ngx_msec_t) secs * 1000 + 10;

        if (secs != NGX_ERROR && delay < FEDI_IFETCH_INTERVAL
            && fedi_if.on
            && (!fedi_if.timer.timer_set
                || (ngx_msec_int_t) (ngx_current_msec + delay
                                     - fedi_if.timer.timer.key) < 0))
        {
            ngx_add_timer(&fedi_if.timer, delay);
        }
    }

    fedi_ifetch_free(s);
    fedi_inbox_fetch_wake();
}


static void
fedi_ifetch_free(fedi_ifetch_slot_t *s)
{
    if (s->pool) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
    }

    s->act = NULL;
    s->object = NULL;
    s->why = NULL;
    s->busy = 0;
}
