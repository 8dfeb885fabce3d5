/*
 * Copyright (C) ngx_fedi authors
 *
 * Per-worker pool of non-blocking libpq connections.
 *
 * Read events are registered level-triggered: PQconsumeInput() does not
 * drain the socket, and with edge-triggered epoll a result larger than
 * libpq's input buffer would stall.  The write event is registered only
 * while PQflush() has output pending.  libpq owns the socket: our
 * ngx_connection_t is released without closing the descriptor.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "fedi_pg.h"


#define FEDI_PG_BACKOFF_MIN   100
#define FEDI_PG_BACKOFF_MAX   5000
#define FEDI_PG_DEPTH         16        /* most ops pipelined on one */


typedef enum {
    FEDI_PG_DOWN = 0,
    FEDI_PG_CONNECTING,
    FEDI_PG_PREPARING,
    FEDI_PG_IDLE,
    FEDI_PG_BUSY
} fedi_pg_state_e;


struct fedi_pg_conn_s {
    fedi_pg_pool_t      *pool;
    PGconn              *pg;
    ngx_connection_t    *c;
    fedi_pg_op_t        *ops[FEDI_PG_DEPTH];   /* in flight, a ring */
    ngx_uint_t           head;
    ngx_uint_t           n;
    PGresult            *res;       /* the head op's last result */
    ngx_event_t          timer;     /* reconnect backoff or query timeout */
    ngx_msec_t           backoff;
    ngx_uint_t           uses;
    ngx_uint_t           nulls;     /* consecutive NULL results */
    fedi_pg_state_e      state;
    unsigned             writing:1;
    unsigned             listener:1;
    unsigned             unflushed:1;
    unsigned             slow:1;    /* a slow op is the last in flight */
};


struct fedi_pg_pool_s {
    fedi_pg_conf_t       conf;
    ngx_log_t           *log;
    fedi_pg_conn_t      *conns;
    ngx_queue_t          waiting;
    ngx_uint_t           nwaiting;
    fedi_pg_conn_t      *listener;
    const char          *listen;
    fedi_pg_notify_pt    notify;
    ngx_event_t          flush;     /* posted: one write per connection */
    unsigned             destroyed:1;
};


static void fedi_pg_connect(fedi_pg_conn_t *pc);
static void fedi_pg_connect_poll(fedi_pg_conn_t *pc);
static ngx_int_t fedi_pg_wrap(fedi_pg_conn_t *pc);
static void fedi_pg_unwrap(fedi_pg_conn_t *pc);
static void fedi_pg_want_write(fedi_pg_conn_t *pc, ngx_uint_t on);
static void fedi_pg_event_handler(ngx_event_t *ev);
static void fedi_pg_timer_handler(ngx_event_t *ev);
static void fedi_pg_prepare(fedi_pg_conn_t *pc);
static void fedi_pg_init_conn(fedi_pg_pool_t *pool, fedi_pg_conn_t *pc);
static void fedi_pg_io(fedi_pg_conn_t *pc);
static void fedi_pg_idle(fedi_pg_conn_t *pc);
static ngx_int_t fedi_pg_flush(fedi_pg_conn_t *pc);
static void fedi_pg_send(fedi_pg_conn_t *pc, fedi_pg_op_t *op);
static void fedi_pg_complete(fedi_pg_conn_t *pc);
static void fedi_pg_ready(fedi_pg_conn_t *pc);
static void fedi_pg_fill(fedi_pg_conn_t *pc);
static void fedi_pg_run(fedi_pg_pool_t *pool, fedi_pg_op_t *op);
static fedi_pg_conn_t *fedi_pg_pick(fedi_pg_pool_t *pool);
static void fedi_pg_flush_handler(ngx_event_t *ev);
static void fedi_pg_broken(fedi_pg_conn_t *pc, const char *what);
static void fedi_pg_close(fedi_pg_conn_t *pc);
static void fedi_pg_fail_op(fedi_pg_op_t *op, ngx_int_t rc);
static void fedi_pg_op_wait_handler(ngx_event_t *ev);
static void fedi_pg_fail_waiting(fedi_pg_pool_t *pool);


fedi_pg_pool_t *
fedi_pg_pool_create(ngx_cycle_t *cycle, fedi_pg_conf_t *conf)
{
    ngx_uint_t       i;
    fedi_pg_pool_t  *pool;
    fedi_pg_conn_t  *pc;

    pool = ngx_pcalloc(cycle->pool, sizeof(fedi_pg_pool_t));
    if (pool == NULL) {
        return NULL;
    }

    pool->conf = *conf;
    pool->log = cycle->log;
    ngx_queue_init(&pool->waiting);

    pool->flush.handler = fedi_pg_flush_handler;
    pool->flush.data = pool;
    pool->flush.log = cycle->log;

    pool->conns = ngx_pcalloc(cycle->pool,
                              conf->size * sizeof(fedi_pg_conn_t));
    if (pool->conns == NULL) {
        return NULL;
    }

    for (i = 0; i < conf->size; i++) {
        pc = &pool->conns[i];
        fedi_pg_init_conn(pool, pc);
        fedi_pg_connect(pc);
    }

    return pool;
}


static void
fedi_pg_init_conn(fedi_pg_pool_t *pool, fedi_pg_conn_t *pc)
{
    pc->pool = pool;
    pc->timer.handler = fedi_pg_timer_handler;
    pc->timer.data = pc;
    pc->timer.log = pool->log;
}


ngx_int_t
fedi_pg_listen(fedi_pg_pool_t *pool, const char *listen,
    fedi_pg_notify_pt notify)
{
    fedi_pg_conn_t  *pc;

    pc = ngx_pcalloc(ngx_cycle->pool, sizeof(fedi_pg_conn_t));
    if (pc == NULL) {
        return NGX_ERROR;
    }

    fedi_pg_init_conn(pool, pc);
    pc->listener = 1;

    pool->listener = pc;
    pool->listen = listen;
    pool->notify = notify;

    fedi_pg_connect(pc);

    return NGX_OK;
}


void
fedi_pg_pool_destroy(fedi_pg_pool_t *pool)
{
    ngx_uint_t  i;

    if (pool == NULL || pool->destroyed) {
        return;
    }

    pool->destroyed = 1;

    if (pool->flush.posted) {
        ngx_delete_posted_event(&pool->flush);
    }

    if (pool->listener) {
        if (pool->listener->timer.timer_set) {
            ngx_del_timer(&pool->listener->timer);
        }

        fedi_pg_close(pool->listener);
    }

    for (i = 0; i < pool->conf.size; i++) {
        if (pool->conns[i].timer.timer_set) {
            ngx_del_timer(&pool->conns[i].timer);
        }

        fedi_pg_close(&pool->conns[i]);
    }
}


ngx_uint_t
fedi_pg_healthy(fedi_pg_pool_t *pool)
{
    ngx_uint_t  i, n;

    n = 0;

    for (i = 0; i < pool->conf.size; i++) {
        if (pool->conns[i].state != FEDI_PG_DOWN) {
            n++;
        }
    }

    return n;
}


void
fedi_pg_exec(fedi_pg_pool_t *pool, fedi_pg_op_t *op)
{
    op->slow = 0;
    fedi_pg_run(pool, op);
}


/* background work: nothing is pipelined behind it (fedi_pg_takes()) */
void
fedi_pg_exec_slow(fedi_pg_pool_t *pool, fedi_pg_op_t *op)
{
    op->slow = 1;
    fedi_pg_run(pool, op);
}


static void
fedi_pg_run(fedi_pg_pool_t *pool, fedi_pg_op_t *op)
{
    fedi_pg_conn_t  *pc;

    op->pool = pool;
    op->conn = NULL;
    op->queued = 0;
    op->cancelled = 0;

    if (op->log == NULL) {
        op->log = pool->log;
    }

    if (pool->destroyed || fedi_pg_healthy(pool) == 0) {
        fedi_pg_fail_op(op, NGX_ERROR);
        return;
    }

    pc = fedi_pg_pick(pool);

    if (pc) {
        fedi_pg_send(pc, op);
        return;
    }

    if (pool->nwaiting >= pool->conf.queue_max) {
        ngx_log_error(NGX_LOG_WARN, op->log, 0,
                      "fedi: database queue full (%ui waiting)",
                      pool->nwaiting);
        fedi_pg_fail_op(op, NGX_DECLINED);
        return;
    }

    ngx_queue_insert_tail(&pool->waiting, &op->queue);
    pool->nwaiting++;
    op->queued = 1;

    op->wait.handler = fedi_pg_op_wait_handler;
    op->wait.data = op;
    op->wait.log = op->log;
    op->rc = NGX_DECLINED;
    ngx_add_timer(&op->wait, pool->conf.queue_timeout);
}


void
fedi_pg_cancel(fedi_pg_op_t *op)
{
    ngx_uint_t  i;

    op->cancelled = 1;

    if (op->queued) {
        ngx_queue_remove(&op->queue);
        op->pool->nwaiting--;
        op->queued = 0;
    }

    if (op->wait.timer_set) {
        ngx_del_timer(&op->wait);
    }

    if (op->wait.posted) {
        ngx_delete_posted_event(&op->wait);
    }

    if (op->conn) {
        /* the connection drains the result and discards it */
        for (i = 0; i < op->conn->n; i++) {
            if (op->conn->ops[(op->conn->head + i) % FEDI_PG_DEPTH] == op) {
                op->conn->ops[(op->conn->head + i) % FEDI_PG_DEPTH] = NULL;
            }
        }

        op->conn = NULL;
    }
}


/*
 * Whether a connection takes one more op: an idle one does; a busy one
 * below the pipeline depth does, unless a slow op (background work, a
 * batch that may run for a tenth of a second) is in flight on it: a
 * request pipelined behind that would wait for all of it.
 */
static ngx_uint_t
fedi_pg_takes(fedi_pg_conn_t *pc)
{
    if (pc->state == FEDI_PG_IDLE) {
        return 1;
    }

    return pc->state == FEDI_PG_BUSY && pc->n < pc->pool->conf.pipeline
           && !pc->slow;
}


/*
 * An idle connection, else the busy one with the fewest ops in flight
 * while below the pipeline depth: PostgreSQL reads several queries in
 * one go, which costs it less per query than one round trip each.
 */
static fedi_pg_conn_t *
fedi_pg_pick(fedi_pg_pool_t *pool)
{
    ngx_uint_t       i;
    fedi_pg_conn_t  *pc, *best;

    best = NULL;

    /* a connection whose write is still to come takes one more for free */
    for (i = 0; i < pool->conf.size; i++) {
        pc = &pool->conns[i];

        if (pc->unflushed && pc->state == FEDI_PG_BUSY
            && fedi_pg_takes(pc))
        {
            return pc;
        }
    }

    for (i = 0; i < pool->conf.size; i++) {
        pc = &pool->conns[i];

        if (pc->state == FEDI_PG_IDLE) {
            return pc;
        }

        if (fedi_pg_takes(pc) && (best == NULL || pc->n < best->n)) {
            best = pc;
        }
    }

    return best;
}


static void
fedi_pg_fail_op(fedi_pg_op_t *op, ngx_int_t rc)
{
    /* never call the handler re-entrantly: post it */

    op->rc = rc;
    op->wait.handler = fedi_pg_op_wait_handler;
    op->wait.data = op;
    op->wait.log = op->log;

    if (op->wait.timer_set) {
        ngx_del_timer(&op->wait);
    }

    ngx_post_event(&op->wait, &ngx_posted_events);
}


static void
fedi_pg_op_wait_handler(ngx_event_t *ev)
{
    fedi_pg_op_t  *op;

    op = ev->data;

    if (op->queued) {
        /* queue timeout */
        ngx_queue_remove(&op->queue);
        op->pool->nwaiting--;
        op->queued = 0;

        ngx_log_error(NGX_LOG_WARN, op->log, 0,
                      "fedi: timed out waiting for a database connection");
    }

    if (op->cancelled) {
        return;
    }

    op->handler(op, NULL, op->rc);
}


static void
fedi_pg_fail_waiting(fedi_pg_pool_t *pool)
{
    ngx_queue_t   *q;
    fedi_pg_op_t  *op;

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);
        pool->nwaiting--;

        op = ngx_queue_data(q, fedi_pg_op_t, queue);
        op->queued = 0;
        fedi_pg_fail_op(op, NGX_ERROR);
    }
}


static void
fedi_pg_connect(fedi_pg_conn_t *pc)
{
    fedi_pg_pool_t  *pool;

    pool = pc->pool;

    pc->pg = PQconnectStart((char *) pool->conf.conninfo.data);

    if (pc->pg == NULL) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "fedi: PQconnectStart() failed: out of memory");
        fedi_pg_broken(pc, NULL);
        return;
    }

    if (PQstatus(pc->pg) == CONNECTION_BAD
        || PQsetnonblocking(pc->pg, 1) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "fedi: database connection failed: %s",
                      PQerrorMessage(pc->pg));
        fedi_pg_broken(pc, NULL);
        return;
    }

    pc->state = FEDI_PG_CONNECTING;

    if (fedi_pg_wrap(pc) != NGX_OK) {
        fedi_pg_broken(pc, "registering the socket");
        return;
    }

    /* libpq: start as if PQconnectPoll() had returned POLLING_WRITING */
    fedi_pg_want_write(pc, 1);
}


static ngx_int_t
fedi_pg_wrap(fedi_pg_conn_t *pc)
{
    int                fd;
    ngx_connection_t  *c;

    fd = PQsocket(pc->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, pc->pool->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->data = pc;
    c->read->handler = fedi_pg_event_handler;
    c->write->handler = fedi_pg_event_handler;
    c->read->log = pc->pool->log;
    c->write->log = pc->pool->log;
    c->log = pc->pool->log;

    pc->c = c;
    pc->writing = 0;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        pc->c = NULL;
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
fedi_pg_unwrap(fedi_pg_conn_t *pc)
{
    ngx_uint_t         flags;
    ngx_connection_t  *c;

    c = pc->c;
    if (c == NULL) {
        return;
    }

    /*
     * libpq closes its socket when a connection fails or breaks; the
     * kernel then dropped it from epoll already, and asking epoll again
     * would fail (or hit a new descriptor with the same number)
     */
    flags = (pc->pg == NULL || PQsocket(pc->pg) != c->fd) ? NGX_CLOSE_EVENT
                                                          : 0;

    pc->c = NULL;

    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, flags);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, flags);
    }

    /* the descriptor belongs to libpq: release the slot, keep the fd */
    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);
}


static void
fedi_pg_want_write(fedi_pg_conn_t *pc, ngx_uint_t on)
{
    if (pc->c == NULL || pc->writing == on) {
        return;
    }

    if (on) {
        if (ngx_add_event(pc->c->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT)
            == NGX_OK)
        {
            pc->writing = 1;
        }

    } else {
        ngx_del_event(pc->c->write, NGX_WRITE_EVENT, 0);
        pc->writing = 0;
    }
}


static void
fedi_pg_event_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c;
    fedi_pg_conn_t    *pc;

    c = ev->data;
    pc = c->data;

    switch (pc->state) {

    case FEDI_PG_CONNECTING:
        fedi_pg_connect_poll(pc);
        break;

    case FEDI_PG_PREPARING:
    case FEDI_PG_BUSY:
        fedi_pg_io(pc);
        break;

    case FEDI_PG_IDLE:
        fedi_pg_idle(pc);
        break;

    default:
        break;
    }
}


static void
fedi_pg_connect_poll(fedi_pg_conn_t *pc)
{
    PostgresPollingStatusType  st;

    st = PQconnectPoll(pc->pg);

    /* libpq may open a new socket while connecting (multi-host, SSL) */
    if (pc->c && PQsocket(pc->pg) != pc->c->fd) {
        fedi_pg_unwrap(pc);

        if (fedi_pg_wrap(pc) != NGX_OK) {
            fedi_pg_broken(pc, "registering the socket");
            return;
        }
    }

    switch (st) {

    case PGRES_POLLING_READING:
        fedi_pg_want_write(pc, 0);
        return;

    case PGRES_POLLING_WRITING:
        fedi_pg_want_write(pc, 1);
        return;

    case PGRES_POLLING_OK:
        fedi_pg_want_write(pc, 0);
        fedi_pg_prepare(pc);
        return;

    default:
        ngx_log_error(NGX_LOG_ERR, pc->pool->log, 0,
                      "fedi: database connection failed: %s",
                      PQerrorMessage(pc->pg));
        fedi_pg_broken(pc, NULL);
        return;
    }
}


static void
fedi_pg_prepare(fedi_pg_conn_t *pc)
{
    ngx_uint_t  i;

    if (pc->listener) {
        if (PQsendQuery(pc->pg, pc->pool->listen) == 0) {
            fedi_pg_broken(pc, "sending LISTEN");
            return;
        }

        pc->state = FEDI_PG_PREPARING;
        (void) fedi_pg_flush(pc);
        return;
    }

    /* every statement in one pipelined round trip */

    if (PQenterPipelineMode(pc->pg) == 0) {
        fedi_pg_broken(pc, "entering pipeline mode");
        return;
    }

    for (i = 0; i < FEDI_SQL_N; i++) {
        if (PQsendPrepare(pc->pg, fedi_sql_stmts[i].name,
                          fedi_sql_stmts[i].sql, fedi_sql_stmts[i].nparams,
                          NULL)
            == 0)
        {
            fedi_pg_broken(pc, "sending statements");
            return;
        }
    }

    /*
     * No JIT compilation for this session: every statement here is a
     * short one, and an estimate swollen by a subquery per row that never
     * runs (a moved account, a status's emojis) can cross jit_above_cost
     * and spend hundreds of milliseconds compiling a query that takes one
     */
    if (PQsendQueryParams(pc->pg, "SET jit = off", 0, NULL, NULL, NULL,
                          NULL, 0)
        == 0)
    {
        fedi_pg_broken(pc, "sending statements");
        return;
    }

    if (PQpipelineSync(pc->pg) == 0) {
        fedi_pg_broken(pc, "sending statements");
        return;
    }

    pc->state = FEDI_PG_PREPARING;
    pc->uses = 0;
    pc->nulls = 0;

    if (fedi_pg_flush(pc) != NGX_OK) {
        return;
    }
}


static ngx_int_t
fedi_pg_flush(fedi_pg_conn_t *pc)
{
    int  rc;

    rc = PQflush(pc->pg);

    if (rc < 0) {
        fedi_pg_broken(pc, "sending");
        return NGX_ERROR;
    }

    fedi_pg_want_write(pc, rc == 1);

    return NGX_OK;
}


static void
fedi_pg_io(fedi_pg_conn_t *pc)
{
    ngx_uint_t      n;
    PGresult       *res;
    ExecStatusType  st;

    if (pc->writing && fedi_pg_flush(pc) != NGX_OK) {
        return;
    }

    if (PQconsumeInput(pc->pg) == 0) {
        fedi_pg_broken(pc, "reading");
        return;
    }

    while (!PQisBusy(pc->pg)) {

        if (pc->state == FEDI_PG_BUSY) {

            if (pc->n == 0) {
                break;
            }

            /* per op: its result(s), a NULL, then its sync point */
            res = PQgetResult(pc->pg);

            if (res == NULL) {
                if (++pc->nulls > 1) {
                    break;
                }

                continue;
            }

            pc->nulls = 0;

            if (PQresultStatus(res) == PGRES_PIPELINE_SYNC) {
                PQclear(res);
                fedi_pg_complete(pc);

                if (pc->state != FEDI_PG_BUSY) {
                    return;
                }

                continue;
            }

            if (pc->res) {
                PQclear(pc->res);
            }

            pc->res = res;
            continue;
        }

        res = PQgetResult(pc->pg);

        if (pc->listener) {
            if (res == NULL) {
                fedi_pg_ready(pc);
                return;
            }

            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                ngx_log_error(NGX_LOG_ALERT, pc->pool->log, 0,
                              "fedi: LISTEN failed: %s",
                              PQresultErrorMessage(res));
            }

            PQclear(res);
            continue;
        }

        /* FEDI_PG_PREPARING: one result and a NULL per statement */

        if (res == NULL) {
            if (++pc->nulls > 1) {
                break;
            }

            continue;
        }

        pc->nulls = 0;
        st = PQresultStatus(res);

        if (st == PGRES_PIPELINE_SYNC) {
            /* the connection stays in pipeline mode from now on */
            PQclear(res);
            fedi_pg_ready(pc);
            return;
        }

        if (st != PGRES_COMMAND_OK) {
            n = pc->uses < FEDI_SQL_N ? pc->uses : 0;
            ngx_log_error(NGX_LOG_ALERT, pc->pool->log, 0,
                          "fedi: preparing statement %s failed: %s",
                          pc->uses < FEDI_SQL_N ? fedi_sql_stmts[n].name
                                                : "SET jit",
                          PQresultErrorMessage(res));
        }

        pc->uses++;     /* counts statements while preparing */
        PQclear(res);
    }
}


static void
fedi_pg_ready(fedi_pg_conn_t *pc)
{
    pc->state = FEDI_PG_IDLE;
    pc->uses = 0;
    pc->backoff = 0;
    pc->head = 0;
    pc->n = 0;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (pc->listener) {
        /* whatever was said while we were away is lost: say so */
        pc->pool->notify(NULL, NULL);
        return;
    }

    fedi_pg_fill(pc);
}


/* waiting ops onto this connection, up to the pipeline depth */
static void
fedi_pg_fill(fedi_pg_conn_t *pc)
{
    ngx_queue_t     *q;
    fedi_pg_op_t    *op;
    fedi_pg_pool_t  *pool;

    pool = pc->pool;

    while (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        op = ngx_queue_data(q, fedi_pg_op_t, queue);

        if (!fedi_pg_takes(pc)) {
            break;
        }

        ngx_queue_remove(q);
        pool->nwaiting--;
        op->queued = 0;

        if (op->wait.timer_set) {
            ngx_del_timer(&op->wait);
        }

        fedi_pg_send(pc, op);
    }
}


static void
fedi_pg_send(fedi_pg_conn_t *pc, fedi_pg_op_t *op)
{
    const fedi_sql_stmt_t  *st;

    st = &fedi_sql_stmts[op->stmt];

    /* each op has its own sync point: an error aborts only that op */
    if (PQsendQueryPrepared(pc->pg, st->name, op->nparams, op->values,
                            NULL, NULL, 0)
        == 0
        || PQpipelineSync(pc->pg) == 0)
    {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "fedi: sending %s failed: %s",
                      st->name, PQerrorMessage(pc->pg));
        fedi_pg_fail_op(op, NGX_ERROR);
        fedi_pg_broken(pc, NULL);
        return;
    }

    pc->ops[(pc->head + pc->n) % FEDI_PG_DEPTH] = op;
    pc->n++;
    pc->state = FEDI_PG_BUSY;
    pc->slow = op->slow;    /* it is the last in flight now */
    op->conn = pc;

    if (pc->n == 1) {
        pc->nulls = 0;
        pc->timer.handler = fedi_pg_timer_handler;
        pc->timer.cancelable = 0;
        ngx_add_timer(&pc->timer, pc->pool->conf.query_timeout);
    }

    /*
     * Written once the events of this loop iteration are handled: the
     * queries of every request that arrived together go out in one write,
     * which wakes the PostgreSQL backend once.
     */
    pc->unflushed = 1;

    if (!pc->pool->flush.posted) {
        ngx_post_event(&pc->pool->flush, &ngx_posted_events);
    }
}


static void
fedi_pg_flush_handler(ngx_event_t *ev)
{
    ngx_uint_t       i;
    fedi_pg_conn_t  *pc;
    fedi_pg_pool_t  *pool;

    pool = ev->data;

    for (i = 0; i < pool->conf.size; i++) {
        pc = &pool->conns[i];

        if (pc->unflushed && pc->pg) {
            pc->unflushed = 0;
            (void) fedi_pg_flush(pc);
        }
    }
}


static void
fedi_pg_complete(fedi_pg_conn_t *pc)
{
    PGresult      *res;
    fedi_pg_op_t  *op;

    op = pc->ops[pc->head];
    pc->ops[pc->head] = NULL;
    pc->head = (pc->head + 1) % FEDI_PG_DEPTH;
    pc->n--;

    if (pc->n == 0) {
        pc->slow = 0;
    }

    res = pc->res;
    pc->res = NULL;
    pc->uses++;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (pc->n) {
        /* the next op's turn: its own timeout */
        ngx_add_timer(&pc->timer, pc->pool->conf.query_timeout);

    } else if (pc->uses >= pc->pool->conf.max_uses) {
        /* libpq's input buffer only grows: start afresh now and then */
        fedi_pg_close(pc);
        fedi_pg_connect(pc);

    } else {
        pc->state = FEDI_PG_IDLE;
    }

    if (op && !op->cancelled) {
        op->conn = NULL;
        op->handler(op, res, NGX_OK);
    }

    if (res) {
        PQclear(res);
    }

    fedi_pg_fill(pc);
}


static void
fedi_pg_idle(fedi_pg_conn_t *pc)
{
    PGnotify  *n;

    if (PQconsumeInput(pc->pg) == 0) {
        fedi_pg_broken(pc, "idle connection closed");
        return;
    }

    while ((n = PQnotifies(pc->pg)) != NULL) {
        if (pc->listener) {
            pc->pool->notify(n->relname, n->extra);
        }

        PQfreemem(n);
    }
}


static void
fedi_pg_timer_handler(ngx_event_t *ev)
{
    fedi_pg_conn_t  *pc;

    pc = ev->data;

    if (pc->state == FEDI_PG_DOWN) {
        if (ngx_exiting || ngx_terminate || pc->pool->destroyed) {
            return;
        }

        fedi_pg_connect(pc);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, pc->pool->log, 0,
                  "fedi: database query timed out");
    fedi_pg_broken(pc, NULL);
}


static void
fedi_pg_broken(fedi_pg_conn_t *pc, const char *what)
{
    ngx_uint_t       i;
    fedi_pg_op_t    *op;
    fedi_pg_pool_t  *pool;

    pool = pc->pool;

    if (what) {
        ngx_log_error(NGX_LOG_ERR, pool->log, 0,
                      "fedi: database connection broken while %s: %s",
                      what, pc->pg ? PQerrorMessage(pc->pg) : "");
    }

    for (i = 0; i < pc->n; i++) {
        op = pc->ops[(pc->head + i) % FEDI_PG_DEPTH];
        pc->ops[(pc->head + i) % FEDI_PG_DEPTH] = NULL;

        if (op && !op->cancelled) {
            op->conn = NULL;
            fedi_pg_fail_op(op, NGX_ERROR);
        }
    }

    pc->n = 0;
    pc->head = 0;

    fedi_pg_close(pc);

    if (!pc->listener && fedi_pg_healthy(pool) == 0) {
        fedi_pg_fail_waiting(pool);
    }

    if (pool->destroyed || ngx_exiting || ngx_terminate) {
        return;
    }

    pc->backoff = pc->backoff ? ngx_min(pc->backoff * 2, FEDI_PG_BACKOFF_MAX)
                              : FEDI_PG_BACKOFF_MIN;

    pc->timer.handler = fedi_pg_timer_handler;
    pc->timer.cancelable = 1;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    ngx_add_timer(&pc->timer, pc->backoff + ngx_random() % 50);
}


static void
fedi_pg_close(fedi_pg_conn_t *pc)
{
    pc->slow = 0;

    if (pc->timer.timer_set && pc->state != FEDI_PG_DOWN) {
        ngx_del_timer(&pc->timer);
    }

    fedi_pg_unwrap(pc);

    pc->unflushed = 0;

    if (pc->res) {
        PQclear(pc->res);
        pc->res = NULL;
    }

    if (pc->pg) {
        PQfinish(pc->pg);
        pc->pg = NULL;
    }

    for ( /* void */ ; pc->n; pc->n--) {
        if (pc->ops[pc->head]) {
            pc->ops[pc->head]->conn = NULL;
            pc->ops[pc->head] = NULL;
        }

        pc->head = (pc->head + 1) % FEDI_PG_DEPTH;
    }

    pc->head = 0;
    pc->state = FEDI_PG_DOWN;
}
