/*
 * Copyright (C) ngx_fedi authors
 *
 * Mail to users (address confirmation) through the SMTP server that
 * fedi_smtp names, with libcurl, on nginx's thread pool: the SMTP
 * conversation blocks a pool thread, never the event loop, and the
 * request that asked for the mail has already been answered.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <curl/curl.h>

#include "fedi.h"


typedef struct {
    ngx_pool_t      *pool;
    ngx_log_t       *log;
    char            *url;
    char            *from;
    char            *to;
    u_char          *message;
    size_t           len;
    size_t           sent;
    CURLcode         rc;
    char             error[CURL_ERROR_SIZE];
} fedi_mail_t;


static void fedi_mail_work(void *data, ngx_log_t *log);
static void fedi_mail_done(ngx_event_t *ev);
static size_t fedi_mail_read(char *buf, size_t size, size_t n, void *data);


static ngx_str_t  fedi_mail_pool_name = ngx_string("default");


ngx_int_t
fedi_mail_init(ngx_cycle_t *cycle)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? NGX_OK
                                                             : NGX_ERROR;
}


void
fedi_mail_exit(ngx_cycle_t *cycle)
{
    curl_global_cleanup();
}


/*
 * Queues a plain-text mail.  The caller has checked that "to" is one
 * address without line breaks (it goes into the headers).
 */
ngx_int_t
fedi_mail_send(ngx_http_fedi_main_conf_t *mcf, const char *to,
    const char *subject, const char *body)
{
    u_char             *p;
    size_t              len;
    ngx_pool_t         *pool;
    fedi_mail_t        *m;
    ngx_thread_pool_t  *tp;
    ngx_thread_task_t  *task;

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle, &fedi_mail_pool_name);
    if (tp == NULL) {
        return NGX_ERROR;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    task = ngx_thread_task_alloc(pool, sizeof(fedi_mail_t));
    if (task == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    m = task->ctx;
    m->pool = pool;
    m->log = ngx_cycle->log;
    m->url = fedi_pstrz(pool, mcf->smtp.data, mcf->smtp.len);
    m->from = fedi_pstrz(pool, mcf->smtp_from.data, mcf->smtp_from.len);
    m->to = fedi_pstrz(pool, (u_char *) to, ngx_strlen(to));

    len = sizeof("From: <>\r\nTo: <>\r\nSubject: \r\nDate: \r\n"
                 "MIME-Version: 1.0\r\n"
                 "Content-Type: text/plain; charset=utf-8\r\n"
                 "Content-Transfer-Encoding: 8bit\r\n\r\n")
          + mcf->smtp_from.len + ngx_strlen(to) + ngx_strlen(subject)
          + sizeof("Mon, 28 Sep 1970 06:00:00 GMT") + ngx_strlen(body) * 2
          + 16;

    m->message = ngx_pnalloc(pool, len);

    if (m->url == NULL || m->from == NULL || m->to == NULL
        || m->message == NULL)
    {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    p = ngx_sprintf(m->message,
                    "From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %V\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n",
                    m->from, m->to, subject, &ngx_cached_http_time);

    /* lines end in CRLF on the wire */
    for ( /* void */ ; *body; body++) {
        if (*body == '\n') {
            *p++ = '\r';
        }

        *p++ = *body;
    }

    m->len = p - m->message;

    task->handler = fedi_mail_work;
    task->event.handler = fedi_mail_done;
    task->event.data = m;

    if (ngx_thread_task_post(tp, task) != NGX_OK) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static size_t
fedi_mail_read(char *buf, size_t size, size_t n, void *data)
{
    fedi_mail_t  *m = data;

    size_t  len;

    len = ngx_min(size * n, m->len - m->sent);
    ngx_memcpy(buf, m->message + m->sent, len);
    m->sent += len;

    return len;
}


/* in a pool thread */
static void
fedi_mail_work(void *data, ngx_log_t *log)
{
    fedi_mail_t  *m = data;

    CURL               *c;
    struct curl_slist  *rcpt;

    m->rc = CURLE_FAILED_INIT;

    c = curl_easy_init();
    if (c == NULL) {
        return;
    }

    rcpt = curl_slist_append(NULL, m->to);

    curl_easy_setopt(c, CURLOPT_URL, m->url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, fedi_mail_read);
    curl_easy_setopt(c, CURLOPT_READDATA, m);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long) CURLUSESSL_TRY);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->error);

    m->rc = curl_easy_perform(c);

    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
}


/* back on the event loop */
static void
fedi_mail_done(ngx_event_t *ev)
{
    fedi_mail_t  *m = ev->data;

    if (m->rc == CURLE_OK) {
        ngx_log_error(NGX_LOG_INFO, m->log, 0,
                      "fedi: mail to <%s> sent", m->to);

    } else {
        ngx_log_error(NGX_LOG_ERR, m->log, 0,
                      "fedi: mail to <%s> through %s failed: %s",
                      m->to, m->url,
                      m->error[0] ? m->error : curl_easy_strerror(m->rc));
    }

    ngx_destroy_pool(m->pool);
}
