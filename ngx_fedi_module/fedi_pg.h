/*
 * Copyright (C) ngx_fedi authors
 *
 * Per-worker pool of non-blocking libpq connections on nginx's event loop.
 * Statements from fedi_sql.h are prepared once per connection (one
 * pipelined round trip after connecting).  An op's handler is always
 * called later from an event, never from inside fedi_pg_exec().
 */

#ifndef _FEDI_PG_H_INCLUDED_
#define _FEDI_PG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <libpq-fe.h>

#include "fedi_sql.h"


#define FEDI_PG_MAX_PARAMS  20


typedef struct fedi_pg_pool_s  fedi_pg_pool_t;
typedef struct fedi_pg_conn_s  fedi_pg_conn_t;
typedef struct fedi_pg_op_s    fedi_pg_op_t;

/*
 * rc: NGX_OK with res (the last result; PGRES_TUPLES_OK / COMMAND_OK or a
 * PostgreSQL error), NGX_DECLINED when the queue is full or timed out,
 * NGX_ERROR when the database is unreachable or the connection broke.
 * res is cleared by the pool after the handler returns.
 */
typedef void (*fedi_pg_handler_pt)(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);


struct fedi_pg_op_s {
    ngx_queue_t          queue;
    fedi_pg_pool_t      *pool;
    fedi_pg_conn_t      *conn;
    fedi_sql_id_e        stmt;
    int                  nparams;
    const char          *values[FEDI_PG_MAX_PARAMS];
    int                  lengths[FEDI_PG_MAX_PARAMS];
    fedi_pg_handler_pt   handler;
    void                *data;
    ngx_log_t           *log;
    ngx_event_t          wait;      /* queue timeout, or deferred failure */
    ngx_int_t            rc;
    unsigned             queued:1;
    unsigned             cancelled:1;
    unsigned             slow:1;    /* fedi_pg_exec_slow(): nothing waits
                                       behind it on its connection */
};


/*
 * A LISTEN notification; channel NULL means the listening connection was
 * (re)established and anything may have been missed.
 */
typedef void (*fedi_pg_notify_pt)(const char *channel, const char *payload);


typedef struct {
    ngx_str_t            conninfo;
    ngx_uint_t           size;
    ngx_uint_t           queue_max;
    ngx_msec_t           queue_timeout;
    ngx_msec_t           query_timeout;
    ngx_uint_t           max_uses;  /* recycle a connection after N ops */
    ngx_uint_t           pipeline;  /* ops in flight on one connection */
} fedi_pg_conf_t;


fedi_pg_pool_t *fedi_pg_pool_create(ngx_cycle_t *cycle, fedi_pg_conf_t *conf);
void fedi_pg_pool_destroy(fedi_pg_pool_t *pool);

/* op must outlive the call until its handler runs or fedi_pg_cancel() */
void fedi_pg_exec(fedi_pg_pool_t *pool, fedi_pg_op_t *op);
void fedi_pg_exec_slow(fedi_pg_pool_t *pool, fedi_pg_op_t *op);

/* the handler will not be called; safe in any state */
void fedi_pg_cancel(fedi_pg_op_t *op);

/* one more connection that LISTENs ("LISTEN a; LISTEN b") */
ngx_int_t fedi_pg_listen(fedi_pg_pool_t *pool, const char *listen,
    fedi_pg_notify_pt notify);

/* connections able to run a query now or soon */
ngx_uint_t fedi_pg_healthy(fedi_pg_pool_t *pool);


#endif /* _FEDI_PG_H_INCLUDED_ */
