/*
 * Copyright (C) ngx_fedi authors
 *
 * Background work of the workers, with no request behind it: for now the
 * home-feed fan-out of statuses by accounts with many followers.  Jobs
 * live in PostgreSQL (fanout_jobs); a NOTIFY wakes every worker of every
 * node, FOR UPDATE SKIP LOCKED shares the jobs out, and a timer catches
 * what a lost NOTIFY left behind.  One run at a time per worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "fedi.h"


#define FEDI_JOBS_BATCH     20
#define FEDI_JOBS_INTERVAL  10000       /* ms, the fallback */
#define FEDI_JOBS_RETRY     50          /* ms, when another runner is busy */


static void fedi_jobs_timer_handler(ngx_event_t *ev);
static void fedi_jobs_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);


static fedi_pg_op_t   fedi_jobs_op;
static ngx_event_t    fedi_jobs_timer;
static ngx_uint_t     fedi_jobs_busy;
static ngx_uint_t     fedi_jobs_again;
static char           fedi_jobs_batch[NGX_INT_T_LEN + 1];


ngx_int_t
fedi_jobs_init(ngx_cycle_t *cycle)
{
    ngx_sprintf((u_char *) fedi_jobs_batch, "%d%Z", FEDI_JOBS_BATCH);

    fedi_jobs_timer.handler = fedi_jobs_timer_handler;
    fedi_jobs_timer.log = cycle->log;
    fedi_jobs_timer.data = NULL;
    fedi_jobs_timer.cancelable = 1;

    ngx_add_timer(&fedi_jobs_timer, FEDI_JOBS_INTERVAL);

    return NGX_OK;
}


/* a NOTIFY fedi_fanout, the timer, or a full batch: run the jobs */
void
fedi_jobs_kick(void)
{
    if (fedi_db() == NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    if (fedi_jobs_busy) {
        fedi_jobs_again = 1;
        return;
    }

    ngx_memzero(&fedi_jobs_op, sizeof(fedi_pg_op_t));

    fedi_jobs_op.stmt = FEDI_SQL_FANOUT_RUN;
    fedi_jobs_op.nparams = 1;
    fedi_jobs_op.values[0] = fedi_jobs_batch;
    fedi_jobs_op.handler = fedi_jobs_done;

    fedi_jobs_busy = 1;
    fedi_jobs_again = 0;

    fedi_pg_exec(fedi_db(), &fedi_jobs_op);
}


static void
fedi_jobs_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_jobs_busy = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "fedi: fan-out failed: %s",
                          PQresultErrorMessage(res));
        }

        return;
    }

    /*
     * -1: another runner (of this node or another) holds the fan-out; it
     * may finish before seeing the jobs that woke us, so look again soon
     */
    if (PQgetlength(res, 0, 0) > 0 && PQgetvalue(res, 0, 0)[0] == '-') {
        ngx_add_timer(&fedi_jobs_timer, FEDI_JOBS_RETRY);
        return;
    }

    /* a full batch may have left more behind */
    if (fedi_jobs_again
        || ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                    PQgetlength(res, 0, 0)) >= FEDI_JOBS_BATCH)
    {
        fedi_jobs_kick();
    }
}


static void
fedi_jobs_timer_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    fedi_jobs_kick();
    ngx_add_timer(ev, FEDI_JOBS_INTERVAL);
}


void
fedi_jobs_exit(ngx_cycle_t *cycle)
{
    if (fedi_jobs_timer.timer_set) {
        ngx_del_timer(&fedi_jobs_timer);
    }
}
