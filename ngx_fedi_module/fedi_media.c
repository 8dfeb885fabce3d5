/*
 * Copyright (C) ngx_fedi authors
 *
 * Media: uploads (POST /api/v1/media, /api/v2/media; pictures by
 * fedi_media_proc.c, video and audio by fedi_media_av.c), their state
 * (GET, PUT, DELETE /api/v1/media/:id), avatars and headers
 * (update_credentials, DELETE /api/v1/profile/avatar|header), and the
 * MediaAttachment entity.
 *
 * An upload stays in nginx's request-body temporary file.  On the thread
 * pool the file is mapped (read by the page, never copied whole into
 * memory), the multipart body parsed in place, each file part's type
 * found from its bytes and checked against the caps (fedi_media_probe).
 * Then the row is written, and processing runs on the thread pool too
 * (fedi_media_process).  A v2 upload answers 202 if processing takes
 * longer than fedi_media_wait; the job then finishes on its own (its
 * memory is its own, not the request's, and the mapping outlives the
 * temporary file) and records the outcome in the row.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include <math.h>
#include <sys/mman.h>
#include <curl/curl.h>

#include "fedi.h"
#include "fedi_media_proc.h"


#define FEDI_MEDIA_PARTS          2
#define FEDI_MEDIA_DESCRIPTION    1500
#define FEDI_MEDIA_PROFILE_LIMIT  (2 * 1024 * 1024)


typedef struct {
    const char          *name;          /* the form field */
    fedi_media_kind_e    kind;
    size_t               offset;
    size_t               len;
    ngx_uint_t           found;
} fedi_media_part_t;


typedef struct {
    fedi_req_t          *rq;            /* NULL once detached */
    ngx_pool_cleanup_t  *cln;
    ngx_fd_t             fd;
    off_t                body_start;
    off_t                body_end;
    char                *ctype;         /* the multipart Content-Type */
    u_char              *map;
    size_t               map_len;
    json_t              *params;        /* the text parts */
    fedi_media_part_t    parts[FEDI_MEDIA_PARTS];
    ngx_uint_t           nparts;
    size_t               limit;         /* bytes a file may have */
    size_t               image_limit;   /* ... when it is a picture */
    fedi_media_proc_t    proc[FEDI_MEDIA_PARTS];
    ngx_uint_t           status;        /* of a refusal */
    char                 err[256];
    char                 root[1024];
    char                 id[24];        /* the row, once written */
    char                 meta[512];
    char                 size[24];
    ngx_thread_task_t    task;
    ngx_event_t          timer;
    fedi_pg_op_t         op;            /* a detached job's last word */
    unsigned             v2:1;
    unsigned             put:1;         /* PUT /api/v1/media/:id */
    unsigned             running:1;
    unsigned             failed:1;
} fedi_media_job_t;


/* what update_credentials stores (fedi_media_image) */
typedef struct {
    const char          *avatar;        /* a stored path, "" to remove */
    const char          *header;
    const char          *root;
    ngx_uint_t           kept;          /* in the account now */
} fedi_media_profile_t;


/* a file to remove, on the thread pool: root, NUL, the stored path */
typedef struct {
    ngx_thread_task_t    task;
    char                 path[1200];
} fedi_media_rm_t;


static void api_media_create_v1(fedi_req_t *rq);
static void api_media_create_v2(fedi_req_t *rq);
static void fedi_media_create(fedi_req_t *rq, ngx_uint_t v2);
static fedi_media_job_t *fedi_media_job(fedi_req_t *rq);
static void fedi_media_job_cleanup(void *data);
static void fedi_media_job_free(fedi_media_job_t *job);
static void fedi_media_parse(void *data);
static void fedi_media_part_found(void *ctx, const char *name,
    const char *filename, const char *type, size_t offset, size_t len);
static void fedi_media_parsed(fedi_req_t *rq, void *data);
static ngx_int_t fedi_media_focus(fedi_req_t *rq, char **x, char **y);
static void fedi_media_created(fedi_req_t *rq, PGresult *res);
static void fedi_media_start(fedi_media_job_t *job);
static void fedi_media_work(void *data, ngx_log_t *log);
static void fedi_media_worked(ngx_event_t *ev);
static void fedi_media_waited(ngx_event_t *ev);
static void fedi_media_detach(fedi_media_job_t *job);
static void fedi_media_meta(fedi_media_job_t *job);
static void fedi_media_saved(fedi_req_t *rq, PGresult *res);
static void fedi_media_dropped(fedi_req_t *rq, PGresult *res);
static void fedi_media_recorded(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void api_media_get(fedi_req_t *rq);
static void api_media_update(fedi_req_t *rq);
static void fedi_media_update(fedi_req_t *rq, const char *thumbnail);
static void fedi_media_thumbnail_done(fedi_req_t *rq, void *data);
static void fedi_media_updated(fedi_req_t *rq, PGresult *res);
static void fedi_media_job_unlink(fedi_media_job_t *job);
static const char *fedi_media_mime_of(const char *path);
static const char *fedi_media_job_error(fedi_media_job_t *job);
static void api_media_delete(fedi_req_t *rq);
static void fedi_media_deleted(fedi_req_t *rq, PGresult *res);
static void fedi_media_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_media_send(fedi_req_t *rq, PGresult *res,
    ngx_uint_t status);
static void fedi_media_render(fedi_req_t *rq, fedi_json_t *j, json_t *a);
static void fedi_media_url(fedi_req_t *rq, fedi_json_t *j, const char *key,
    json_t *path);
static void fedi_media_credentials_parsed(fedi_req_t *rq, void *data);
static void fedi_media_profile_work(void *data);
static void fedi_media_profile_done(fedi_req_t *rq, void *data);
static void api_profile_avatar_delete(fedi_req_t *rq);
static void api_profile_header_delete(fedi_req_t *rq);
static char *fedi_media_arg_id(fedi_req_t *rq);
static size_t fedi_media_chars(const char *s);
static const char *fedi_media_nonempty(const char *s);
static void fedi_media_remove_work(void *data, ngx_log_t *log);
static void fedi_media_removed(ngx_event_t *ev);
static void fedi_media_profile_cleanup(void *data);


const fedi_route_t  fedi_routes_media[] = {
    { POST, "/api/v1/media", api_media_create_v1, "write:media",
      CORS|USER|UPLOAD },
    { POST, "/api/v2/media", api_media_create_v2, "write:media",
      CORS|USER|UPLOAD },
    { GET, "/api/v1/media/:id", api_media_get, "write:media", CORS|USER },
    { PUT, "/api/v1/media/:id", api_media_update, "write:media",
      CORS|USER|UPLOAD },
    { DELETE, "/api/v1/media/:id", api_media_delete, "write:media",
      CORS|USER },
    { DELETE, "/api/v1/profile/avatar", api_profile_avatar_delete,
      "write:accounts", CORS|USER },
    { DELETE, "/api/v1/profile/header", api_profile_header_delete,
      "write:accounts", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* an upload whose multipart body is still in its file (fedi_http.c) */
ngx_uint_t
fedi_media_upload(fedi_req_t *rq)
{
    ngx_http_request_t  *r = rq->r;

    return (rq->route->flags & FEDI_ROUTE_UPLOAD)
           && r->request_body_in_file_only
           && r->request_body && r->request_body->temp_file
           && r->request_body->bufs;
}


/* POST /api/v1/media and /api/v2/media */

static void
api_media_create_v1(fedi_req_t *rq)
{
    fedi_media_create(rq, 0);
}


static void
api_media_create_v2(fedi_req_t *rq)
{
    fedi_media_create(rq, 1);
}


static void
fedi_media_create(fedi_req_t *rq, ngx_uint_t v2)
{
    fedi_media_job_t  *job;

    if (fedi_ratelimit_media(rq) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_TOO_MANY_REQUESTS, "Too many requests");
        return;
    }

    if (rq->mcf->media_root.len == 0) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "Media uploads are not configured");
        return;
    }

    if (!fedi_media_upload(rq)) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: File can't be blank");
        return;
    }

    job = fedi_media_job(rq);
    if (job == NULL) {
        return;
    }

    job->v2 = v2;
    job->image_limit = rq->mcf->image_size_limit;
    job->limit = ngx_max(rq->mcf->image_size_limit,
                         rq->mcf->video_size_limit);
    job->parts[0].name = "file";
    job->parts[0].kind = FEDI_MEDIA_ATTACHMENT;
    job->parts[1].name = "thumbnail";
    job->parts[1].kind = FEDI_MEDIA_THUMBNAIL;
    job->nparts = 2;

    fedi_thread_run(rq, fedi_media_parse, fedi_media_parsed, job);
}


/*
 * The job of an upload: its own memory, so that it may outlive the
 * request; the request's pool frees it unless it runs (then it is
 * detached and frees itself)
 */
static fedi_media_job_t *
fedi_media_job(fedi_req_t *rq)
{
    fedi_media_job_t         *job;
    ngx_http_request_t       *r;
    ngx_http_request_body_t  *rb;

    r = rq->r;
    rb = r->request_body;

    job = ngx_calloc(sizeof(fedi_media_job_t), r->connection->log);
    if (job == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    job->cln = ngx_pool_cleanup_add(r->pool, 0);
    if (job->cln == NULL) {
        ngx_free(job);
        fedi_send_internal_error(rq);
        return NULL;
    }

    job->cln->handler = fedi_media_job_cleanup;
    job->cln->data = job;

    job->rq = rq;
    job->fd = rb->temp_file->file.fd;
    job->body_start = rb->bufs->buf->file_pos;
    job->body_end = rb->temp_file->file.offset;
    job->ctype = fedi_pstrz(r->pool, r->headers_in.content_type->value.data,
                            r->headers_in.content_type->value.len);

    ngx_cpystrn((u_char *) job->root, rq->mcf->media_root.data,
                ngx_min(sizeof(job->root), rq->mcf->media_root.len + 1));

    job->params = json_object();

    if (job->ctype == NULL || job->params == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    rq->data = job;

    return job;
}


static void
fedi_media_job_cleanup(void *data)
{
    fedi_media_job_t  *job = data;

    job->cln = NULL;

    if (job->running) {
        fedi_media_detach(job);
        return;
    }

    fedi_media_job_free(job);
}


static void
fedi_media_detach(fedi_media_job_t *job)
{
    if (job->rq) {
        job->rq->data = NULL;
        job->rq = NULL;
    }

    if (job->cln) {
        job->cln->handler = NULL;
        job->cln = NULL;
    }

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }
}


static void
fedi_media_job_free(fedi_media_job_t *job)
{
    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    if (job->map) {
        munmap(job->map, job->map_len);
    }

    if (job->params) {
        json_decref(job->params);
    }

    ngx_free(job);
}


/*
 * On the thread pool: the body mapped from its file, its parts found, the
 * files' types and sizes checked.  The request is blocked meanwhile; no
 * pool memory is allocated here.
 */
static void
fedi_media_parse(void *data)
{
    fedi_media_job_t  *job = data;

    char                err[256];
    size_t              len;
    ngx_uint_t          i;
    fedi_media_part_t  *pt;
    fedi_media_proc_t  *mp;

    len = (size_t) (job->body_end - job->body_start);
    job->status = NGX_HTTP_UNPROCESSABLE_ENTITY;

    if (len == 0) {
        ngx_cpystrn((u_char *) job->err,
                    (u_char *) "Validation failed: File can't be blank",
                    sizeof(job->err));
        return;
    }

    /* the whole file from 0, so the offset is page-aligned */
    job->map_len = (size_t) job->body_end;
    job->map = mmap(NULL, job->map_len, PROT_READ, MAP_PRIVATE, job->fd, 0);

    if (job->map == MAP_FAILED) {
        job->map = NULL;
        job->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_cpystrn((u_char *) job->err, (u_char *) "Internal server error",
                    sizeof(job->err));
        return;
    }

    (void) madvise(job->map, job->map_len, MADV_SEQUENTIAL);

    if (fedi_params_multipart(job->params, (u_char *) job->ctype,
                              ngx_strlen(job->ctype),
                              job->map + job->body_start, len,
                              fedi_media_part_found, job, err, sizeof(err))
        != 0)
    {
        ngx_cpystrn((u_char *) job->err, (u_char *) err, sizeof(job->err));
        return;
    }

    for (i = 0; i < job->nparts; i++) {
        pt = &job->parts[i];
        mp = &job->proc[i];

        if (!pt->found) {
            continue;
        }

        if (pt->len > job->limit) {
            ngx_snprintf((u_char *) job->err, sizeof(job->err),
                         "Validation failed: File file size must be less "
                         "than %uz MB%Z", job->limit / (1024 * 1024));
            return;
        }

        mp->data = job->map + job->body_start + pt->offset;
        mp->len = pt->len;
        mp->root = job->root;
        mp->kind = pt->kind;

        if (fedi_media_probe(mp) != 0
            || (pt->kind == FEDI_MEDIA_THUMBNAIL && mp->av))
        {
            if (pt->kind == FEDI_MEDIA_THUMBNAIL) {
                /* a picture only, as Mastodon's IMAGE_MIME_TYPES */
                ngx_cpystrn((u_char *) job->err, (u_char *)
                            "Validation failed: Thumbnail content type is "
                            "invalid", sizeof(job->err));
                return;
            }

            ngx_cpystrn((u_char *) job->err, (u_char *) mp->err,
                        sizeof(job->err));
            return;
        }

        /* pictures (a GIF too) have their own, smaller limit */
        if (job->image_limit && (!mp->av || ngx_strcmp(mp->type, "gifv") == 0)
            && pt->len > job->image_limit)
        {
            ngx_snprintf((u_char *) job->err, sizeof(job->err),
                         "Validation failed: File file size must be less "
                         "than %uz MB%Z", job->image_limit / (1024 * 1024));
            return;
        }
    }

    job->status = 0;
}


/* a file part: the first of each expected name counts, its name, the
 * client's type and the file name are never trusted nor kept */
static void
fedi_media_part_found(void *ctx, const char *name, const char *filename,
    const char *type, size_t offset, size_t len)
{
    fedi_media_job_t  *job = ctx;

    ngx_uint_t  i;

    for (i = 0; i < job->nparts; i++) {
        if (!job->parts[i].found && ngx_strcmp(job->parts[i].name, name) == 0)
        {
            job->parts[i].found = 1;
            job->parts[i].offset = offset;
            job->parts[i].len = len;
            return;
        }
    }
}


static void
fedi_media_parsed(fedi_req_t *rq, void *data)
{
    fedi_media_job_t  *job = data;

    char        *fx, *fy;
    const char  *desc, *type;

    if (job->status) {
        fedi_send_error(rq, job->status, job->err);
        return;
    }

    /* the body's fields, under the query's (which win, as in Rails) */
    if (json_object_update_missing(rq->params, job->params) != 0) {
        fedi_send_internal_error(rq);
        return;
    }

    if (!job->parts[0].found) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: File can't be blank");
        return;
    }

    desc = fedi_param_str(rq->params, "description");

    if (desc && fedi_media_chars(desc) > FEDI_MEDIA_DESCRIPTION) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Description is too long "
                        "(maximum is 1500 characters)");
        return;
    }

    if (fedi_media_focus(rq, &fx, &fy) != NGX_OK) {
        return;
    }

    ngx_sprintf((u_char *) job->size, "%uz%Z", job->parts[0].len);
    type = job->proc[0].type;

    fedi_query(rq, FEDI_SQL_MEDIA_CREATE, fedi_media_created, 7,
               rq->token->account_id, type, job->proc[0].out_mime, desc,
               fx, fy, job->size);
}


/* focus=x,y: each in -1..1; anything else is no focus */
static ngx_int_t
fedi_media_focus(fedi_req_t *rq, char **x, char **y)
{
    char        *end;
    double       fx, fy;
    const char  *v;

    *x = NULL;
    *y = NULL;

    v = fedi_param_str(rq->params, "focus");
    if (v == NULL || v[0] == '\0') {
        return NGX_OK;
    }

    fx = strtod(v, &end);
    if (*end != ',') {
        return NGX_OK;
    }

    fy = strtod(end + 1, &end);
    if (*end != '\0' || !(fx >= -1 && fx <= 1) || !(fy >= -1 && fy <= 1)) {
        return NGX_OK;
    }

    *x = ngx_pnalloc(rq->r->pool, 32);
    *y = ngx_pnalloc(rq->r->pool, 32);
    if (*x == NULL || *y == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    ngx_snprintf((u_char *) *x, 32, "%.2f%Z", fx);
    ngx_snprintf((u_char *) *y, 32, "%.2f%Z", fy);

    /* ngx_snprintf's %f does not print the sign of -0.x */
    if (fx < 0 && fx > -1) {
        ngx_snprintf((u_char *) *x, 32, "-%.2f%Z", -fx);
    }

    if (fy < 0 && fy > -1) {
        ngx_snprintf((u_char *) *y, 32, "-%.2f%Z", -fy);
    }

    return NGX_OK;
}


static void
fedi_media_created(fedi_req_t *rq, PGresult *res)
{
    fedi_media_job_t  *job = rq->data;

    if (job == NULL || PQntuples(res) != 1) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_cpystrn((u_char *) job->id, (u_char *) PQgetvalue(res, 0, 0),
                sizeof(job->id));

    fedi_media_start(job);
}


/* processing on the thread pool, the request not blocked: a v2 upload
 * answers 202 when it takes longer than fedi_media_wait */
static void
fedi_media_start(fedi_media_job_t *job)
{
    fedi_req_t         *rq;
    ngx_thread_pool_t  *tp;

    static ngx_str_t  name = ngx_string("default");

    rq = job->rq;

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle, &name);
    if (tp == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    job->task.ctx = job;
    job->task.handler = fedi_media_work;
    job->task.event.handler = fedi_media_worked;
    job->task.event.data = job;
    job->task.event.log = ngx_cycle->log;

    if (ngx_thread_task_post(tp, &job->task) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "The server is too busy, try again later");
        return;
    }

    job->running = 1;

    if (job->v2) {
        job->timer.handler = fedi_media_waited;
        job->timer.data = job;
        job->timer.log = ngx_cycle->log;

        if (rq->mcf->media_wait == 0) {
            /* fedi_media_wait 0: always in the background */
            fedi_media_waited(&job->timer);
            return;
        }

        ngx_add_timer(&job->timer, rq->mcf->media_wait);
    }
}


static void
fedi_media_work(void *data, ngx_log_t *log)
{
    fedi_media_job_t  *job = data;

    ngx_uint_t  i;

    for (i = 0; i < job->nparts; i++) {
        if (job->parts[i].found && fedi_media_process(&job->proc[i]) != 0) {
            job->failed = 1;

            for ( /* void */ ; i > 0; i--) {
                fedi_media_unlink(job->root, job->proc[i - 1].path);
                fedi_media_unlink(job->root, job->proc[i - 1].preview);
            }

            return;
        }
    }
}


static void
fedi_media_worked(ngx_event_t *ev)
{
    fedi_media_job_t  *job = ev->data;

    fedi_req_t        *rq;
    ngx_connection_t  *c;

    job->running = 0;
    rq = job->rq;

    if (!job->failed) {
        fedi_media_meta(job);
    }

    if (rq == NULL) {
        /* answered already (202, or the client left): the row tells */
        if (fedi_db() == NULL || ngx_exiting || ngx_terminate) {
            fedi_media_job_unlink(job);
            fedi_media_job_free(job);
            return;
        }

        ngx_memzero(&job->op, sizeof(fedi_pg_op_t));
        job->op.handler = fedi_media_recorded;
        job->op.data = job;
        job->op.log = ngx_cycle->log;
        job->op.values[0] = job->id;

        if (job->failed) {
            job->op.stmt = FEDI_SQL_MEDIA_FAIL;
            job->op.nparams = 1;

        } else {
            job->op.stmt = FEDI_SQL_MEDIA_DONE;
            job->op.nparams = 9;
            job->op.values[1] = job->proc[0].path;
            job->op.values[2] = fedi_media_nonempty(job->proc[0].preview);
            job->op.values[3] = job->meta;
            job->op.values[4] = fedi_media_nonempty(job->proc[0].blurhash);
            job->op.values[5] = job->proc[0].out_mime;
            job->op.values[6] = job->size;
            job->op.values[7] = job->proc[0].type;
            job->op.values[8] = fedi_media_nonempty(job->proc[1].path);
        }

        fedi_pg_exec(fedi_db(), &job->op);
        return;
    }

    if (job->timer.timer_set) {
        ngx_del_timer(&job->timer);
    }

    c = rq->r->connection;
    ngx_http_set_log_request(c->log, rq->r);

    if (job->failed) {
        fedi_query(rq, FEDI_SQL_MEDIA_DROP, fedi_media_dropped, 1, job->id);

    } else {
        fedi_query(rq, FEDI_SQL_MEDIA_DONE, fedi_media_saved, 9, job->id,
                   job->proc[0].path, fedi_media_nonempty(job->proc[0].preview),
                   job->meta, fedi_media_nonempty(job->proc[0].blurhash),
                   job->proc[0].out_mime, job->size, job->proc[0].type,
                   fedi_media_nonempty(job->proc[1].path));
    }

    ngx_http_run_posted_requests(c);
}


/* fedi_media_wait passed: 202, the job goes on alone */
static void
fedi_media_waited(ngx_event_t *ev)
{
    fedi_media_job_t  *job = ev->data;

    fedi_req_t        *rq;
    ngx_connection_t  *c;

    rq = job->rq;
    if (rq == NULL) {
        return;
    }

    fedi_media_detach(job);

    c = rq->r->connection;
    ngx_http_set_log_request(c->log, rq->r);

    fedi_query(rq, FEDI_SQL_MEDIA_GET, fedi_media_loaded, 2,
               rq->token->account_id, job->id);

    ngx_http_run_posted_requests(c);
}


/* Mastodon's meta: original and small, width, height, "WxH", aspect */
static void
fedi_media_meta(fedi_media_job_t *job)
{
    fedi_media_meta_of(&job->proc[0], job->meta, sizeof(job->meta),
                       job->size);
}


/* the meta (a JSON object) and the size (a number) of a processed file */
void
fedi_media_meta_of(fedi_media_proc_t *mp, char *meta, size_t len,
    char *size)
{
    ngx_sprintf((u_char *) size, "%L%Z", (int64_t) mp->size);

    if (mp->meta[0]) {
        /* video and audio: fedi_media_av.c wrote it */
        ngx_cpystrn((u_char *) meta, (u_char *) mp->meta, len);
        return;
    }

    ngx_snprintf((u_char *) meta, len,
                 "{\"original\":{\"width\":%d,\"height\":%d,"
                 "\"size\":\"%dx%d\",\"aspect\":%.6f},"
                 "\"small\":{\"width\":%d,\"height\":%d,"
                 "\"size\":\"%dx%d\",\"aspect\":%.6f}}%Z",
                 mp->width, mp->height, mp->width, mp->height,
                 mp->height ? (double) mp->width / mp->height : 0.0,
                 mp->swidth, mp->sheight, mp->swidth, mp->sheight,
                 mp->sheight ? (double) mp->swidth / mp->sheight : 0.0);
}


static void
fedi_media_saved(fedi_req_t *rq, PGresult *res)
{
    fedi_media_job_t  *job = rq->data;

    if (PQntuples(res) != 1 && job) {
        /* deleted meanwhile */
        fedi_media_job_unlink(job);
    }

    fedi_media_send(rq, res, NGX_HTTP_OK);
}


static void
fedi_media_dropped(fedi_req_t *rq, PGresult *res)
{
    fedi_media_job_t  *job = rq->data;

    if (job && (job->proc[0].internal || job->proc[1].internal)) {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "fedi: media in \"%s\": %s", job->root,
                      fedi_media_job_error(job));
        fedi_send_internal_error(rq);
        return;
    }

    fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                    job ? fedi_media_job_error(job)
                        : "Validation failed: File could not be processed");
}


static void
fedi_media_recorded(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_media_job_t  *job = op->data;

    if (rc != NGX_OK || res == NULL
        || (PQresultStatus(res) != PGRES_TUPLES_OK
            && PQresultStatus(res) != PGRES_COMMAND_OK))
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "fedi: recording media %s failed: %s", job->id,
                      res ? PQresultErrorMessage(res) : "no connection");

    } else if (!job->failed && PQntuples(res) == 0) {
        fedi_media_job_unlink(job);
    }

    fedi_media_job_free(job);
}


/* GET /api/v1/media/:id: 206 while processing, 200 when done */

static void
api_media_get(fedi_req_t *rq)
{
    char  *id;

    id = fedi_media_arg_id(rq);
    if (id == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_MEDIA_GET, fedi_media_loaded, 2,
               rq->token->account_id, id);
}


/* PUT /api/v1/media/:id: description and focus */

static void
api_media_update(fedi_req_t *rq)
{
    fedi_media_job_t  *job;

    if (fedi_media_arg_id(rq) == NULL) {
        return;
    }

    if (!fedi_media_upload(rq)) {
        fedi_media_update(rq, NULL);
        return;
    }

    /* a multipart body: its fields, and a new thumbnail */
    job = fedi_media_job(rq);
    if (job == NULL) {
        return;
    }

    if (rq->mcf->media_root.len == 0) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "Media uploads are not configured");
        return;
    }

    job->put = 1;
    job->limit = rq->mcf->image_size_limit;
    job->parts[0].name = "thumbnail";
    job->parts[0].kind = FEDI_MEDIA_THUMBNAIL;
    job->nparts = 1;

    fedi_thread_run(rq, fedi_media_parse, fedi_media_credentials_parsed, job);
}


static void
fedi_media_update(fedi_req_t *rq, const char *thumbnail)
{
    char        *fx, *fy;
    const char  *desc;

    desc = fedi_param_str(rq->params, "description");

    if (desc && fedi_media_chars(desc) > FEDI_MEDIA_DESCRIPTION) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Description is too long "
                        "(maximum is 1500 characters)");
        return;
    }

    if (fedi_media_focus(rq, &fx, &fy) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_MEDIA_UPDATE, fedi_media_updated, 6,
               rq->token->account_id, fedi_media_arg_id(rq), desc, fx, fy,
               thumbnail);
}


/* PUT with a thumbnail: processed, then the row updated with it */
static void
fedi_media_thumbnail_done(fedi_req_t *rq, void *data)
{
    fedi_media_job_t  *job = data;

    if (job->failed) {
        fedi_send_error(rq, job->proc[0].internal
                            ? NGX_HTTP_INTERNAL_SERVER_ERROR
                            : NGX_HTTP_UNPROCESSABLE_ENTITY,
                        job->proc[0].internal ? "Internal server error"
                                              : fedi_media_job_error(job));
        return;
    }

    fedi_media_update(rq, job->proc[0].path);
}


/* the thumbnail replaced goes; a new one no row took too */
static void
fedi_media_updated(fedi_req_t *rq, PGresult *res)
{
    fedi_media_job_t  *job = rq->data;

    if (job && job->put && job->parts[0].found) {
        if (PQntuples(res) == 1) {
            fedi_media_remove((char *) rq->mcf->media_root.data,
                              fedi_pg_val(res, 0, 3));

        } else {
            fedi_media_job_unlink(job);
        }
    }

    fedi_media_loaded(rq, res);
}


/* DELETE /api/v1/media/:id: one not attached, and its files */

static void
api_media_delete(fedi_req_t *rq)
{
    char  *id;

    id = fedi_media_arg_id(rq);
    if (id == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_MEDIA_DELETE, fedi_media_deleted, 2,
               rq->token->account_id, id);
}


static void
fedi_media_deleted(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    if (rq->mcf->media_root.len) {
        fedi_media_remove((char *) rq->mcf->media_root.data,
                          fedi_pg_val(res, 0, 0));
        fedi_media_remove((char *) rq->mcf->media_root.data,
                          fedi_pg_val(res, 0, 1));
        fedi_media_remove((char *) rq->mcf->media_root.data,
                          fedi_pg_val(res, 0, 2));
    }

    fedi_json_obj_open(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
fedi_media_loaded(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (fedi_pg_bool(res, 0, 2)) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Error processing thumbnail for uploaded media");
        return;
    }

    if (fedi_pg_bool(res, 0, 1)) {
        fedi_media_send(rq, res, NGX_HTTP_OK);
        return;
    }

    /* still processing: the upload's own answer says 202, GET 206 */
    fedi_media_send(rq, res, rq->r->method == NGX_HTTP_POST
                             ? NGX_HTTP_ACCEPTED : NGX_HTTP_PARTIAL_CONTENT);
}


static void
fedi_media_send(fedi_req_t *rq, PGresult *res, ngx_uint_t status)
{
    json_t       *a;
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    a = json_loadb(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        fedi_send_internal_error(rq);
        return;
    }

    fedi_media_render(rq, j, a);
    json_decref(a);

    fedi_send_json(rq, status, j);
}


/* the media_attachments of a status: the JSON array of FEDI_MEDIA_JSON
 * arrays in res (NULL: none) */
void
fedi_media_render_list(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col)
{
    size_t   i;
    json_t  *list, *a;

    fedi_json_key(j, "media_attachments");
    fedi_json_arr_open(j);

    if (!PQgetisnull(res, row, col)) {
        list = json_loadb(PQgetvalue(res, row, col),
                          PQgetlength(res, row, col), 0, NULL);

        json_array_foreach(list, i, a) {
            if (json_is_array(a)) {
                fedi_media_render(rq, j, a);
            }
        }

        json_decref(list);
    }

    fedi_json_arr_close(j);
}


/*
 * The MediaAttachment entity, from a FEDI_MEDIA_JSON array: ours by our
 * URLs (none until processed), a remote one by its remote URL
 */
static void
fedi_media_render(fedi_req_t *rq, fedi_json_t *j, json_t *a)
{
    char        *s;
    json_t      *meta, *focus, *remote;
    ngx_uint_t   processed;

    processed = json_is_true(json_array_get(a, 10));
    remote = json_array_get(a, 4);

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", json_string_value(json_array_get(a, 0)));
    fedi_json_kcstr(j, "type", json_string_value(json_array_get(a, 1)));

    if (processed && json_is_string(json_array_get(a, 2))) {
        fedi_media_url(rq, j, "url", json_array_get(a, 2));

        /* a custom thumbnail is the preview, as Mastodon shows it */
        fedi_media_url(rq, j, "preview_url",
                       json_is_string(json_array_get(a, 12))
                       ? json_array_get(a, 12) : json_array_get(a, 3));

    } else if (json_is_string(remote)) {
        fedi_json_kcstr(j, "url", json_string_value(remote));
        fedi_json_kcstr(j, "preview_url", json_string_value(remote));

    } else {
        fedi_json_knull(j, "url");
        fedi_json_knull(j, "preview_url");
    }

    if (json_is_string(remote)) {
        fedi_json_kcstr(j, "remote_url", json_string_value(remote));

    } else {
        fedi_json_knull(j, "remote_url");
    }

    fedi_json_knull(j, "preview_remote_url");
    fedi_json_knull(j, "text_url");

    meta = json_deep_copy(json_array_get(a, 7));
    if (!json_is_object(meta)) {
        json_decref(meta);
        meta = json_object();
    }

    if (json_is_number(json_array_get(a, 8))
        && json_is_number(json_array_get(a, 9)))
    {
        focus = json_pack("{s:f,s:f}",
                  "x", round(json_number_value(json_array_get(a, 8)) * 100)
                       / 100,
                  "y", round(json_number_value(json_array_get(a, 9)) * 100)
                       / 100);
        json_object_set_new(meta, "focus", focus);
    }

    s = json_dumps(meta, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(meta);

    if (s) {
        fedi_json_kraw(j, "meta", (u_char *) s, ngx_strlen(s));
        free(s);

    } else {
        fedi_json_knull(j, "meta");
    }

    /* json_string_value() of a null is NULL, written as null */
    fedi_json_kcstr(j, "description",
                    json_string_value(json_array_get(a, 5)));
    fedi_json_kcstr(j, "blurhash", json_string_value(json_array_get(a, 6)));

    fedi_json_obj_close(j);
}


static void
fedi_media_url(fedi_req_t *rq, fedi_json_t *j, const char *key,
    json_t *path)
{
    u_char  buf[1024], *p;

    if (!json_is_string(path)) {
        fedi_json_knull(j, key);
        return;
    }

    p = ngx_snprintf(buf, sizeof(buf), "%V/%s", &rq->mcf->media_url,
                     json_string_value(path));

    fedi_json_kstr(j, key, buf, p - buf);
}


/*
 * The attachment of a Note: each as a Document, the way Mastodon sends
 * it (mediaType, url, name, blurhash, focalPoint, width, height), from
 * the FEDI_MEDIA_JSON arrays in res
 */
void
fedi_media_documents(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col)
{
    size_t   i;
    json_t  *list, *a, *v, *orig;

    fedi_json_key(j, "attachment");
    fedi_json_arr_open(j);

    list = PQgetisnull(res, row, col)
           ? NULL : json_loadb(PQgetvalue(res, row, col),
                               PQgetlength(res, row, col), 0, NULL);

    json_array_foreach(list, i, a) {
        if (!json_is_array(a) || !json_is_true(json_array_get(a, 10))) {
            continue;
        }

        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "type", "Document");

        v = json_array_get(a, 11);
        fedi_json_kcstr(j, "mediaType",
                        json_is_string(v) ? json_string_value(v)
                                          : "application/octet-stream");

        if (json_is_string(json_array_get(a, 2))) {
            fedi_media_url(rq, j, "url", json_array_get(a, 2));

        } else {
            fedi_json_kcstr(j, "url",
                            json_string_value(json_array_get(a, 4)));
        }

        fedi_json_kcstr(j, "name", json_string_value(json_array_get(a, 5)));

        v = json_array_get(a, 6);
        if (json_is_string(v)) {
            fedi_json_kcstr(j, "blurhash", json_string_value(v));
        }

        /* a custom thumbnail: the icon, as Mastodon sends it */
        v = json_array_get(a, 12);
        if (json_is_string(v)) {
            fedi_json_key(j, "icon");
            fedi_json_obj_open(j);
            fedi_json_kcstr(j, "type", "Image");
            fedi_json_kcstr(j, "mediaType",
                            fedi_media_mime_of(json_string_value(v)));
            fedi_media_url(rq, j, "url", v);
            fedi_json_obj_close(j);
        }

        if (json_is_number(json_array_get(a, 8))
            && json_is_number(json_array_get(a, 9)))
        {
            fedi_json_key(j, "focalPoint");
            fedi_json_arr_open(j);
            fedi_json_double(j, round(json_number_value(json_array_get(a, 8))
                                    * 100) / 100);
            fedi_json_double(j, round(json_number_value(json_array_get(a, 9))
                                    * 100) / 100);
            fedi_json_arr_close(j);
        }

        orig = json_object_get(json_array_get(a, 7), "original");
        v = json_object_get(orig, "width");

        if (json_is_integer(v)) {
            fedi_json_kint(j, "width", json_integer_value(v));
        }

        v = json_object_get(orig, "height");

        if (json_is_integer(v)) {
            fedi_json_kint(j, "height", json_integer_value(v));
        }

        fedi_json_obj_close(j);
    }

    json_decref(list);

    fedi_json_arr_close(j);
}


/* files a statement gives back in a text[] column: removed from disk */
void
fedi_media_unlink_list(fedi_req_t *rq, PGresult *res, int row, int col)
{
    u_char      *p, *s, *e;
    const char  *v;

    v = fedi_pg_val(res, row, col);
    if (v == NULL || rq->mcf->media_root.len == 0) {
        return;
    }

    /* {a/b/c.jpg,d/e/f.png}: our names need no quoting */
    p = (u_char *) fedi_pstrz(rq->r->pool, (u_char *) v, ngx_strlen(v));
    if (p == NULL || *p != '{') {
        return;
    }

    for (s = p + 1; *s && *s != '}'; s = e + 1) {
        for (e = s; *e && *e != ',' && *e != '}'; e++) { /* void */ }

        if (*e == '\0') {
            break;
        }

        if (*e == '}') {
            *e = '\0';
            fedi_media_remove((char *) rq->mcf->media_root.data, (char *) s);
            break;
        }

        *e = '\0';
        fedi_media_remove((char *) rq->mcf->media_root.data, (char *) s);
    }
}


/* media_ids[] of a status: a bigint[] literal in *ids (NULL: none given);
 * answers 422 itself for more than the instance takes */
ngx_int_t
fedi_media_ids(fedi_req_t *rq, char **ids)
{
    u_char      *p;
    size_t       n, i;
    const char  *v[8];

    *ids = NULL;

    n = fedi_param_strs(rq->params, "media_ids", v, 8);

    if (n == 0) {
        /* given, and empty: an edit takes every attachment away */
        if (json_is_array(json_object_get(rq->params, "media_ids"))
            || json_is_array(json_object_get(rq->params, "media_ids[]")))
        {
            *ids = "{}";
        }

        return NGX_OK;
    }

    if (n > rq->mcf->max_media_attachments) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Media attachments are limited "
                        "to 4");
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(rq->r->pool, 3 + n * 21);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    *ids = (char *) p;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (fedi_is_id(v[i]) != NGX_OK) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Media attachments are "
                            "invalid or still being processed");
            return NGX_DECLINED;
        }

        p = ngx_sprintf(p, "%s%s", i ? "," : "", v[i]);
    }

    *p++ = '}';
    *p = '\0';

    return NGX_OK;
}


/*
 * The answer to a statement run with rq->pg_errors: fedi_media_attach()
 * refuses with "media:<message>", a 422; any other failure is a 500.
 * NGX_OK when it did not fail.
 */
ngx_int_t
fedi_media_pg_error(fedi_req_t *rq, PGresult *res)
{
    char            *msg;
    ExecStatusType   st;

    rq->pg_errors = 0;
    st = PQresultStatus(res);

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        return NGX_OK;
    }

    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (msg && ngx_strncmp(msg, "media:", 6) == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY, msg + 6);
        return NGX_DECLINED;
    }

    ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                  "fedi: posting with media failed: %s",
                  PQresultErrorMessage(res));
    fedi_send_internal_error(rq);

    return NGX_DECLINED;
}


/*
 * PATCH /api/v1/accounts/update_credentials: avatar and header from a
 * multipart body are processed first (on the thread pool), then the
 * account is updated with them in the one statement of the other fields
 */

void
fedi_media_credentials(fedi_req_t *rq)
{
    fedi_media_job_t  *job;

    if (!fedi_media_upload(rq)) {
        fedi_update_credentials(rq);
        return;
    }

    /* clients send every update_credentials as multipart (masto.js) */
    job = fedi_media_job(rq);
    if (job == NULL) {
        return;
    }

    job->limit = FEDI_MEDIA_PROFILE_LIMIT;
    job->parts[0].name = "avatar";
    job->parts[0].kind = FEDI_MEDIA_AVATAR;
    job->parts[1].name = "header";
    job->parts[1].kind = FEDI_MEDIA_HEADER;
    job->nparts = 2;

    fedi_thread_run(rq, fedi_media_parse, fedi_media_credentials_parsed, job);
}


static void
fedi_media_credentials_parsed(fedi_req_t *rq, void *data)
{
    fedi_media_job_t  *job = data;

    if (job->status) {
        fedi_send_error(rq, job->status, job->err);
        return;
    }

    if (json_object_update_missing(rq->params, job->params) != 0) {
        fedi_send_internal_error(rq);
        return;
    }

    if (job->put) {
        /* PUT /api/v1/media/:id */
        if (!job->parts[0].found) {
            fedi_media_update(rq, NULL);
            return;
        }

        fedi_thread_run(rq, fedi_media_profile_work,
                        fedi_media_thumbnail_done, job);
        return;
    }

    if (!job->parts[0].found && !job->parts[1].found) {
        fedi_update_credentials(rq);
        return;
    }

    if (rq->mcf->media_root.len == 0) {
        fedi_send_error(rq, NGX_HTTP_SERVICE_UNAVAILABLE,
                        "Media uploads are not configured");
        return;
    }

    fedi_thread_run(rq, fedi_media_profile_work, fedi_media_profile_done,
                    job);
}


static void
fedi_media_profile_work(void *data)
{
    fedi_media_work(data, NULL);
}


static void
fedi_media_profile_done(fedi_req_t *rq, void *data)
{
    fedi_media_job_t  *job = data;

    ngx_pool_cleanup_t    *cln;
    fedi_media_profile_t  *pf;

    if (job->failed) {
        if (job->proc[0].internal || job->proc[1].internal) {
            ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                          "fedi: media in \"%s\": %s", job->root,
                          fedi_media_job_error(job));
            fedi_send_internal_error(rq);
            return;
        }

        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        fedi_media_job_error(job));
        return;
    }

    pf = ngx_pcalloc(rq->r->pool, sizeof(fedi_media_profile_t));
    if (pf == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    pf->avatar = job->parts[0].found ? job->proc[0].path : NULL;
    pf->header = job->parts[1].found ? job->proc[1].path : NULL;

    /* the job is freed with the request; the paths live in the pool */
    if (pf->avatar) {
        pf->avatar = fedi_pstrz(rq->r->pool, (u_char *) pf->avatar,
                                ngx_strlen(pf->avatar));
    }

    if (pf->header) {
        pf->header = fedi_pstrz(rq->r->pool, (u_char *) pf->header,
                                ngx_strlen(pf->header));
    }

    pf->root = job->root[0] ? (char *) rq->mcf->media_root.data : NULL;

    cln = ngx_pool_cleanup_add(rq->r->pool, 0);
    if (cln == NULL) {
        fedi_media_profile_cleanup(pf);
        fedi_send_internal_error(rq);
        return;
    }

    cln->handler = fedi_media_profile_cleanup;
    cln->data = pf;

    rq->media = pf;

    fedi_update_credentials(rq);
}


/* the avatar (header 0) or header (1) update_credentials stores: a path,
 * "" to remove it, NULL to keep it */
const char *
fedi_media_image(fedi_req_t *rq, ngx_uint_t header)
{
    fedi_media_profile_t  *pf = rq->media;

    if (pf == NULL) {
        return NULL;
    }

    return header ? pf->header : pf->avatar;
}


/*
 * After update_credentials: the files the account no longer uses (the
 * old avatar and header in res at col and col + 1, when replaced) are
 * removed; a replacement that did not happen (no row) is removed too
 */
void
fedi_media_images_replaced(fedi_req_t *rq, PGresult *res, int col)
{
    int          i;
    const char  *now[2], *old;

    if (rq->mcf->media_root.len == 0) {
        return;
    }

    now[0] = fedi_media_image(rq, 0);
    now[1] = fedi_media_image(rq, 1);

    if (rq->media && PQntuples(res) == 1) {
        ((fedi_media_profile_t *) rq->media)->kept = 1;
    }

    for (i = 0; i < 2; i++) {
        if (now[i] == NULL) {
            continue;
        }

        old = PQntuples(res) == 1 && PQnfields(res) > col + i
              ? fedi_pg_val(res, 0, col + i) : NULL;

        if (old && ngx_strcmp(old, now[i]) != 0) {
            fedi_media_remove((char *) rq->mcf->media_root.data, old);
        }
    }
}


/* DELETE /api/v1/profile/avatar and /header */

static void
api_profile_avatar_delete(fedi_req_t *rq)
{
    fedi_media_profile_t  *pf;

    pf = ngx_pcalloc(rq->r->pool, sizeof(fedi_media_profile_t));
    if (pf == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    pf->avatar = "";
    rq->media = pf;

    fedi_update_credentials(rq);
}


static void
api_profile_header_delete(fedi_req_t *rq)
{
    fedi_media_profile_t  *pf;

    pf = ngx_pcalloc(rq->r->pool, sizeof(fedi_media_profile_t));
    if (pf == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    pf->header = "";
    rq->media = pf;

    fedi_update_credentials(rq);
}


static char *
fedi_media_arg_id(fedi_req_t *rq)
{
    char  *id;

    id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);

    if (id == NULL || fedi_is_id(id) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NULL;
    }

    return id;
}


static size_t
fedi_media_chars(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        n += ((u_char) *s & 0xc0) != 0x80;
    }

    return n;
}


/*
 * S3-compatible storage, when configured: the threads that process and
 * remove files find it in fedi_media_s3 (fedi_media_s3.c), set here once
 * per worker before any of them runs
 */
ngx_int_t
fedi_media_storage_init(ngx_cycle_t *cycle)
{
    ngx_http_fedi_main_conf_t  *mcf;

    static fedi_media_s3_t  s3;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);

    if (mcf->s3_endpoint.len == 0) {
        fedi_media_s3 = NULL;
        return NGX_OK;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return NGX_ERROR;
    }

    /* directive arguments are NUL-terminated */
    s3.endpoint = (const char *) mcf->s3_endpoint.data;
    s3.bucket = (const char *) mcf->s3_bucket.data;
    s3.region = (const char *) mcf->s3_region.data;
    s3.access_key = (const char *) mcf->s3_access_key.data;
    s3.secret_key = (const char *) mcf->s3_secret_key.data;

    fedi_media_s3 = &s3;

    return NGX_OK;
}


/* a stored file removed on the thread pool: unlink() waits for the disk */

void
fedi_media_remove(const char *root, const char *path)
{
    fedi_media_rm_t    *rm;
    ngx_thread_pool_t  *tp;

    static ngx_str_t  name = ngx_string("default");

    if (path == NULL || path[0] == '\0' || root == NULL || root[0] == '\0') {
        return;
    }

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle, &name);

    rm = ngx_calloc(sizeof(fedi_media_rm_t), ngx_cycle->log);
    if (tp == NULL || rm == NULL) {
        ngx_free(rm);
        return;
    }

    ngx_snprintf((u_char *) rm->path, sizeof(rm->path) - 1, "%s%Z", root);
    rm->task.ctx = rm;
    rm->task.handler = fedi_media_remove_work;
    rm->task.event.handler = fedi_media_removed;
    rm->task.event.data = rm;
    rm->task.event.log = ngx_cycle->log;

    /* root, then the relative path after its NUL */
    ngx_cpystrn((u_char *) rm->path + ngx_strlen(rm->path) + 1,
                (u_char *) path,
                sizeof(rm->path) - ngx_strlen(rm->path) - 1);

    if (ngx_thread_task_post(tp, &rm->task) != NGX_OK) {
        ngx_free(rm);
    }
}


static void
fedi_media_remove_work(void *data, ngx_log_t *log)
{
    fedi_media_rm_t  *rm = data;

    fedi_media_unlink(rm->path, rm->path + ngx_strlen(rm->path) + 1);
}


static void
fedi_media_removed(ngx_event_t *ev)
{
    ngx_free(ev->data);
}


/* files stored for update_credentials that it did not keep (it refused
 * the other fields, or failed) go when the request does */
static void
fedi_media_profile_cleanup(void *data)
{
    fedi_media_profile_t  *pf = data;

    if (!pf->kept) {
        fedi_media_remove(pf->root, pf->avatar);
        fedi_media_remove(pf->root, pf->header);
    }
}


/* "" is none (NULL): an audio file has no preview nor blurhash */
static const char *
fedi_media_nonempty(const char *s)
{
    return (s && s[0]) ? s : NULL;
}


/* the type of a stored picture, by the extension we gave it */
static const char *
fedi_media_mime_of(const char *path)
{
    const char  *dot;

    dot = strrchr(path, '.');

    if (dot && ngx_strcmp(dot, ".png") == 0) {
        return "image/png";
    }

    if (dot && ngx_strcmp(dot, ".webp") == 0) {
        return "image/webp";
    }

    return "image/jpeg";
}


/* the files of an upload's parts, removed */
static void
fedi_media_job_unlink(fedi_media_job_t *job)
{
    ngx_uint_t  i;

    for (i = 0; i < job->nparts; i++) {
        fedi_media_remove(job->root, job->proc[i].path);
        fedi_media_remove(job->root, job->proc[i].preview);
    }
}


/* why an upload was refused: the first part that says */
static const char *
fedi_media_job_error(fedi_media_job_t *job)
{
    ngx_uint_t  i;

    for (i = 0; i < job->nparts; i++) {
        if (job->proc[i].err[0]) {
            return job->proc[i].err;
        }
    }

    return FEDI_MEDIA_UNPROCESSABLE;
}
