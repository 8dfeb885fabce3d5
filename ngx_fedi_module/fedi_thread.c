/*
 * Copyright (C) ngx_fedi authors
 *
 * CPU-heavy work (bcrypt, key generation) on nginx's thread pool.  While a
 * task runs the request is blocked (r->main->blocked), as nginx does for
 * its own thread I/O, so it cannot be freed under the thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


typedef struct {
    fedi_req_t      *rq;
    fedi_work_pt     work;
    fedi_after_pt    after;
    void            *data;
} fedi_task_t;


static void fedi_thread_work(void *data, ngx_log_t *log);
static void fedi_thread_done(ngx_event_t *ev);


static ngx_str_t  fedi_thread_pool_name = ngx_string("default");


ngx_int_t
fedi_thread_pool_add(ngx_conf_t *cf)
{
    return ngx_thread_pool_add(cf, &fedi_thread_pool_name) ? NGX_OK
                                                           : NGX_ERROR;
}


void
fedi_thread_run(fedi_req_t *rq, fedi_work_pt work, fedi_after_pt after,
    void *data)
{
    fedi_task_t         *t;
    ngx_thread_task_t   *task;
    ngx_thread_pool_t   *tp;
    ngx_http_request_t  *r;

    r = rq->r;

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle,
                             &fedi_thread_pool_name);
    if (tp == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "fedi: thread pool \"%V\" not found",
                      &fedi_thread_pool_name);
        fedi_send_internal_error(rq);
        return;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(fedi_task_t));
    if (task == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    t = task->ctx;
    t->rq = rq;
    t->work = work;
    t->after = after;
    t->data = data;

    task->handler = fedi_thread_work;
    task->event.handler = fedi_thread_done;
    task->event.data = t;

    r->main->blocked++;
    r->read_event_handler = ngx_http_block_reading;

    if (ngx_thread_task_post(tp, task) != NGX_OK) {
        r->main->blocked--;
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "The server is too busy, try again later");
        return;
    }
}


static void
fedi_thread_work(void *data, ngx_log_t *log)
{
    fedi_task_t  *t = data;

    t->work(t->data);
}


static void
fedi_thread_done(ngx_event_t *ev)
{
    fedi_task_t         *t;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    t = ev->data;
    r = t->rq->r;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->main->blocked--;
    r->read_event_handler = ngx_http_test_reading;

    t->after(t->rq, t->data);

    ngx_http_run_posted_requests(c);
}
