/*
 * Copyright (C) ngx_fedi authors
 *
 * Background work of the workers, with no request behind it: the
 * home-feed fan-out of statuses by accounts with many followers, the
 * notifications of polls that ended, and the activities the inbox
 * stored.  Jobs live in PostgreSQL
 * (fanout_jobs, polls); a NOTIFY wakes every worker of every node for the
 * fan-out, FOR UPDATE SKIP LOCKED shares the work out, and a timer
 * catches what a lost NOTIFY left behind and looks for ended polls.  One
 * run of each at a time per worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "fedi.h"


#define FEDI_JOBS_BATCH     20
#define FEDI_JOBS_INTERVAL  10000       /* ms, the fallback */
#define FEDI_JOBS_RETRY     50          /* ms, when another runner is busy */


/* one kind of background work: a statement run again while it finds a
 * full batch */
typedef struct {
    fedi_sql_id_e    stmt;
    const char      *what;
    const char      *arg;           /* a second parameter, or NULL */
    fedi_pg_op_t     op;
    ngx_uint_t       busy;
    ngx_uint_t       again;         /* woken while running: once more */
} fedi_job_t;


static void fedi_jobs_timer_handler(ngx_event_t *ev);
static void fedi_jobs_retry_handler(ngx_event_t *ev);
static void fedi_job_run(fedi_job_t *jb);
static void fedi_job_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);


static fedi_job_t     fedi_job_fanout;
static fedi_job_t     fedi_job_polls;
static fedi_job_t     fedi_job_inbox;
static ngx_event_t    fedi_jobs_timer;
static ngx_event_t    fedi_jobs_retry;      /* one job's look again */
static char           fedi_jobs_batch[NGX_INT_T_LEN + 1];


ngx_int_t
fedi_jobs_init(ngx_cycle_t *cycle)
{
    ngx_http_fedi_main_conf_t  *mcf;

    ngx_sprintf((u_char *) fedi_jobs_batch, "%d%Z", FEDI_JOBS_BATCH);

    fedi_job_fanout.stmt = FEDI_SQL_FANOUT_RUN;
    fedi_job_fanout.what = "fan-out";
    fedi_job_polls.stmt = FEDI_SQL_POLLS_ENDED;
    fedi_job_polls.what = "poll notifications";
    fedi_job_inbox.stmt = FEDI_SQL_INBOX_RUN;
    fedi_job_inbox.what = "inbox processing";

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);
    fedi_job_inbox.arg = fedi_pstrz(cycle->pool, mcf->base_url.data,
                                    mcf->base_url.len);
    if (fedi_job_inbox.arg == NULL) {
        return NGX_ERROR;
    }

    fedi_jobs_timer.handler = fedi_jobs_timer_handler;
    fedi_jobs_timer.log = cycle->log;
    fedi_jobs_timer.data = NULL;
    fedi_jobs_timer.cancelable = 1;

    ngx_add_timer(&fedi_jobs_timer, FEDI_JOBS_INTERVAL);

    fedi_jobs_retry.handler = fedi_jobs_retry_handler;
    fedi_jobs_retry.log = cycle->log;
    fedi_jobs_retry.data = NULL;
    fedi_jobs_retry.cancelable = 1;

    return NGX_OK;
}


/* a NOTIFY fedi_fanout, the timer, or a full batch: run the fan-out */
void
fedi_jobs_kick(void)
{
    fedi_job_run(&fedi_job_fanout);
}


/* a NOTIFY fedi_inbox: activities to process */
void
fedi_jobs_inbox(void)
{
    fedi_job_run(&fedi_job_inbox);
}


static void
fedi_job_run(fedi_job_t *jb)
{
    if (fedi_db() == NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    if (jb->busy) {
        jb->again = 1;
        return;
    }

    ngx_memzero(&jb->op, sizeof(fedi_pg_op_t));

    jb->op.stmt = jb->stmt;
    jb->op.nparams = jb->arg ? 2 : 1;
    jb->op.values[0] = fedi_jobs_batch;
    jb->op.values[1] = jb->arg;
    jb->op.handler = fedi_job_done;
    jb->op.data = jb;

    jb->busy = 1;
    jb->again = 0;

    /* a batch: requests go to other connections meanwhile */
    fedi_pg_exec_slow(fedi_db(), &jb->op);
}


static void
fedi_job_done(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_job_t  *jb = op->data;

    jb->busy = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "fedi: %s failed: %s", jb->what,
                          PQresultErrorMessage(res));
        }

        return;
    }

    /*
     * -1: another runner (of this node or another) holds the work; it
     * may finish before seeing the jobs that woke us, so look again soon
     */
    if (PQgetlength(res, 0, 0) > 0 && PQgetvalue(res, 0, 0)[0] == '-') {
        fedi_jobs_retry.data = jb;

        if (!fedi_jobs_retry.timer_set) {
            ngx_add_timer(&fedi_jobs_retry, FEDI_JOBS_RETRY);
        }

        return;
    }

    /* a full batch may have left more behind */
    if (jb->again
        || ngx_atoi((u_char *) PQgetvalue(res, 0, 0),
                    PQgetlength(res, 0, 0)) >= FEDI_JOBS_BATCH)
    {
        fedi_job_run(jb);
    }
}


static void
fedi_jobs_timer_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate) {
        return;
    }

    fedi_job_run(&fedi_job_fanout);
    fedi_job_run(&fedi_job_polls);
    fedi_job_run(&fedi_job_inbox);
    ngx_add_timer(ev, FEDI_JOBS_INTERVAL);
}


/*
 * Only the job that found its work held (the fan-out): the whole round
 * of the fallback timer every 50 ms, while another worker fans out,
 * looked for ended polls twenty times a second
 */
static void
fedi_jobs_retry_handler(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ev->data == NULL) {
        return;
    }

    fedi_job_run(ev->data);
}


void
fedi_jobs_exit(ngx_cycle_t *cycle)
{
    if (fedi_jobs_retry.timer_set) {
        ngx_del_timer(&fedi_jobs_retry);
    }

    if (fedi_jobs_timer.timer_set) {
        ngx_del_timer(&fedi_jobs_timer);
    }
}
