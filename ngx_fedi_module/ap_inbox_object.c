/*
 * Copyright (C) ngx_fedi authors
 *
 * The object of an inbound activity, made trustworthy before the
 * activity is stored (the origin rules, which are security):
 *
 *   - Create and Update: an embedded object is taken only when its id is
 *     on the actor's host (hosts compared lower case, without a trailing
 *     dot or a port; ASCII only, so an IDN must come as punycode);
 *     otherwise, or when given by reference, it is fetched from its
 *     origin, and the document must have ActivityPub's content type and
 *     the id it was finally fetched at.  Its attributedTo must be the
 *     actor.  An Update of an actor must be of the actor itself.
 *   - Announce of a status we do not hold: fetched the same way, its
 *     author (on the object's host) resolved.
 *   - Move: the actor's own; its target actor fetched from its origin.
 *
 * Then its HTML (content, contentMap) is sanitized with gumbo on the
 * thread pool: parsing is CPU work.  What fails a rule is stored without
 * an object, so processing drops it (and says why in its outcome).
 *
 * The same rules run for a request (search resolving a URL; the inbox,
 * which never fetches: an object that must come from its origin is left
 * to the background, ap_inbox_fetch.c) or with no request at all (that
 * background fetcher): then its own pool, log, statements and thread
 * task, and a failure says whether it may pass when tried again.
 */

#include <ngx_thread_pool.h>

#include "fedi.h"
#include "fedi_sanitize.h"
#include "ap_resolve.h"
#include "ap_inbox_object.h"


typedef struct fedi_iobj_s  fedi_iobj_t;

typedef void (*fedi_iobj_next_pt)(fedi_iobj_t *io, PGresult *res);


struct fedi_iobj_s {
    fedi_req_t              *rq;            /* NULL: in the background */
    ngx_pool_t              *pool;
    ngx_log_t               *log;
    ngx_http_fedi_main_conf_t  *mcf;
    void                    *saved;         /* the caller's rq->data */
    fedi_inbox_object_pt     done;
    fedi_inbox_object_in_pt  done_in;       /* in the background */
    void                    *data;
    fedi_fetch_env_t         env;           /* in the background */
    fedi_pg_op_t             op;            /* in the background */
    fedi_iobj_next_pt        next;
    const char              *why;           /* no object: the rule broken */
    json_t                  *act;
    json_t                  *obj;           /* ours: a reference held */
    const char              *actor;
    const char              *type;
    const char              *author;        /* of an Announce's object */
    const char              *base;          /* our base URL */
    char                    *out;           /* the object, malloc()ed */
    unsigned                 announce:1;
    unsigned                 again:1;       /* fetched once more by id */
    unsigned                 move:1;
    unsigned                 oom:1;
    unsigned                 may_fetch:1;
    unsigned                 later:1;       /* left to the background */
    unsigned                 retry:1;       /* a failure that may pass */
};


static void fedi_iobj_start(fedi_iobj_t *io);
static void fedi_iobj_query(fedi_iobj_t *io, fedi_sql_id_e stmt,
    fedi_iobj_next_pt next, int nparams, const char *a, const char *b);
static void fedi_iobj_result(fedi_req_t *rq, PGresult *res);
static void fedi_iobj_result_in(fedi_pg_op_t *op, PGresult *res,
    ngx_int_t rc);
static void fedi_iobj_fetch(fedi_iobj_t *io, const char *url);
static const char *fedi_iobj_unfetched(fedi_iobj_t *io, fedi_fetch_t *f);
static void fedi_iobj_fetched(fedi_fetch_t *f);
static void fedi_iobj_check(fedi_iobj_t *io);
static void fedi_iobj_known(fedi_iobj_t *io, PGresult *res);
static void fedi_iobj_author(fedi_iobj_t *io, PGresult *res);
static void fedi_iobj_resolved(fedi_req_t *rq, ngx_int_t found);
static void fedi_iobj_resolved_in(void *data, ngx_int_t found);
static void fedi_iobj_sanitize(fedi_iobj_t *io);
static void fedi_iobj_work(void *data);
static void fedi_iobj_task(void *data, ngx_log_t *log);
static void fedi_iobj_task_done(ngx_event_t *ev);
static void fedi_iobj_after(fedi_req_t *rq, void *data);
static void fedi_iobj_prepared(fedi_iobj_t *io);
static void fedi_iobj_fail(fedi_iobj_t *io, const char *why);
static void fedi_iobj_end(fedi_iobj_t *io, const char *why);
static void fedi_iobj_finish(fedi_iobj_t *io, char *object);


static void
fedi_iobj_cleanup(void *data)
{
    fedi_iobj_t  *io = data;

    if (io->obj) {
        json_decref(io->obj);
    }

    free(io->out);
}


/* the id of an object given by value or by reference, or NULL */
static const char *
fedi_iobj_id(json_t *v)
{
    if (json_is_object(v)) {
        v = json_object_get(v, "id");
    }

    return json_string_value(v);
}


/* the first of attributedTo (a string, an object or an array of them) */
static const char *
fedi_iobj_attributed(json_t *obj)
{
    json_t  *a;

    a = json_object_get(obj, "attributedTo");

    if (json_is_array(a)) {
        a = json_array_get(a, 0);
    }

    return fedi_iobj_id(a);
}


/* whether two https URLs have the same host (see above) */
ngx_int_t
fedi_same_host(const char *a, const char *b)
{
    size_t       la, lb;
    const char  *p;

    if (a == NULL || b == NULL
        || ngx_strncmp(a, "https://", 8) != 0
        || ngx_strncmp(b, "https://", 8) != 0)
    {
        return 0;
    }

    a += 8;
    b += 8;
    la = strcspn(a, "/?#:");
    lb = strcspn(b, "/?#:");

    for (p = a; p < a + la; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
        {
            return 0;           /* userinfo, IDN, anything odd */
        }
    }

    if (la && a[la - 1] == '.') {
        la--;
    }

    if (lb && b[lb - 1] == '.') {
        lb--;
    }

    return la > 0 && la == lb && ngx_strncasecmp((u_char *) a, (u_char *) b,
                                                 la) == 0;
}


static ngx_int_t
fedi_iobj_is(const char *type, const char **list)
{
    for ( ; type && *list; list++) {
        if (ngx_strcmp(type, *list) == 0) {
            return 1;
        }
    }

    return 0;
}


static const char  *fedi_note_types[] = { "Note", "Question", "Article",
                                          "Page", NULL };
static const char  *fedi_actor_types[] = { "Person", "Service", "Group",
                                           "Organization", "Application",
                                           NULL };


static fedi_iobj_t *
fedi_iobj_new(ngx_pool_t *pool, json_t *act, const char *actor)
{
    fedi_iobj_t         *io;
    ngx_pool_cleanup_t  *cln;

    io = ngx_pcalloc(pool, sizeof(fedi_iobj_t));
    cln = ngx_pool_cleanup_add(pool, 0);
    if (io == NULL || cln == NULL) {
        return NULL;
    }

    cln->handler = fedi_iobj_cleanup;
    cln->data = io;

    io->pool = pool;
    io->act = act;
    io->actor = actor;

    return io;
}


void
fedi_inbox_object(fedi_req_t *rq, json_t *act, const char *actor,
    ngx_uint_t fetch, fedi_inbox_object_pt done)
{
    fedi_iobj_t  *io;

    io = fedi_iobj_new(rq->r->pool, act, actor);
    if (io == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    io->rq = rq;
    io->log = rq->r->connection->log;
    io->mcf = rq->mcf;
    io->saved = rq->data;
    io->done = done;
    io->may_fetch = fetch;

    fedi_iobj_start(io);
}


void
fedi_inbox_object_in(fedi_fetch_env_t *env, json_t *act, const char *actor,
    fedi_inbox_object_in_pt done, void *data)
{
    fedi_iobj_t  *io;

    io = fedi_iobj_new(env->pool, act, actor);
    if (io == NULL) {
        done(data, NULL, "out of memory", 1);
        return;
    }

    io->env = *env;
    io->log = env->log;
    io->mcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                                  ngx_http_fedi_module);
    io->done_in = done;
    io->data = data;
    io->may_fetch = 1;

    fedi_iobj_start(io);
}


static void
fedi_iobj_start(fedi_iobj_t *io)
{
    char        *base;
    json_t      *obj;
    const char  *id, *otype, *target, *actor;

    actor = io->actor;
    io->type = json_string_value(json_object_get(io->act, "type"));

    obj = json_object_get(io->act, "object");
    id = fedi_iobj_id(obj);
    otype = json_string_value(json_object_get(obj, "type"));

    if (io->type == NULL || id == NULL) {
        fedi_iobj_end(io, NULL);
        return;
    }

    if (ngx_strcmp(io->type, "Create") == 0
        || ngx_strcmp(io->type, "Update") == 0)
    {
        if (json_is_object(obj)
            && fedi_iobj_is(otype, fedi_actor_types))
        {
            /* a profile: the actor's own, or nothing */
            if (ngx_strcmp(io->type, "Update") != 0
                || ngx_strcmp(id, actor) != 0)
            {
                fedi_iobj_end(io, "an Update of another actor");
                return;
            }

            io->obj = json_incref(obj);
            fedi_iobj_sanitize(io);
            return;
        }

        if (json_is_object(obj) && fedi_same_host(id, actor)) {
            io->obj = json_incref(obj);
            fedi_iobj_check(io);
            return;
        }

        /* by reference, or from another host: from its origin */
        fedi_iobj_fetch(io, id);
        return;
    }

    if (ngx_strcmp(io->type, "Move") == 0) {
        /* the actor's own account moves: its target from its origin */
        target = fedi_iobj_id(json_object_get(io->act, "target"));

        if (ngx_strcmp(id, actor) != 0 || target == NULL) {
            fedi_iobj_end(io, "a Move of another actor, or to nowhere");
            return;
        }

        io->move = 1;
        fedi_iobj_fetch(io, target);
        return;
    }

    if (ngx_strcmp(io->type, "Announce") == 0) {
        base = fedi_pstrz(io->pool, io->mcf->base_url.data,
                          io->mcf->base_url.len);
        if (base == NULL) {
            fedi_iobj_fail(io, "out of memory");
            return;
        }

        io->announce = 1;
        io->base = base;
        fedi_iobj_query(io, FEDI_SQL_INBOX_STATUS_KNOWN, fedi_iobj_known, 2,
                        id, base);
        return;
    }

    fedi_iobj_end(io, NULL);
}


/* a statement through the request (its errors answered), or on its own */
static void
fedi_iobj_query(fedi_iobj_t *io, fedi_sql_id_e stmt, fedi_iobj_next_pt next,
    int nparams, const char *a, const char *b)
{
    io->next = next;

    if (io->rq) {
        io->rq->data = io;
        fedi_query(io->rq, stmt, fedi_iobj_result, nparams, a, b);
        return;
    }

    if (fedi_db() == NULL) {
        fedi_iobj_fail(io, "no database");
        return;
    }

    ngx_memzero(&io->op, sizeof(fedi_pg_op_t));
    io->op.stmt = stmt;
    io->op.nparams = nparams;
    io->op.values[0] = a;
    io->op.values[1] = b;
    io->op.handler = fedi_iobj_result_in;
    io->op.data = io;
    io->op.log = io->log;

    fedi_pg_exec(fedi_db(), &io->op);
}


static void
fedi_iobj_result(fedi_req_t *rq, PGresult *res)
{
    fedi_iobj_t  *io = rq->data;

    io->next(io, res);
}


static void
fedi_iobj_result_in(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    fedi_iobj_t  *io = op->data;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        fedi_iobj_fail(io, "the database failed");
        return;
    }

    io->next(io, res);
}


static void
fedi_iobj_known(fedi_iobj_t *io, PGresult *res)
{
    /* held, or ours (never fetched from ourselves) */
    if ((PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
        || fedi_same_host(fedi_iobj_id(json_object_get(io->act, "object")),
                          io->base))
    {
        fedi_iobj_end(io, NULL);
        return;
    }

    fedi_iobj_fetch(io, fedi_iobj_id(json_object_get(io->act, "object")));
}


static void
fedi_iobj_fetch(fedi_iobj_t *io, const char *url)
{
    ngx_str_t      u;
    fedi_fetch_t  *f;

    if (!io->may_fetch) {
        io->later = 1;
        fedi_iobj_finish(io, NULL);
        return;
    }

    u.len = ngx_strlen(url);
    u.data = (u_char *) fedi_pstrz(io->pool, (u_char *) url, u.len);
    if (u.data == NULL) {
        fedi_iobj_fail(io, "out of memory");
        return;
    }

    f = io->rq ? fedi_fetch_create(io->rq->r, &io->mcf->fetch, &u)
               : fedi_fetch_create_in(io->pool, io->log, &io->mcf->fetch,
                                      io->env.resolver,
                                      io->env.resolver_timeout, &u);
    if (f == NULL) {
        fedi_iobj_fail(io, "out of memory");
        return;
    }

    f->done = fedi_iobj_fetched;
    f->data = io;

    fedi_fetch_start(f);
}


/* from a fetch's event: the request's posted work runs after */
/* why a fetch brought nothing, with what the fetch or the origin said */
static const char *
fedi_iobj_unfetched(fedi_iobj_t *io, fedi_fetch_t *f)
{
    u_char      *p, *last;
    const char  *why = "the object cannot be fetched from its origin";

    p = ngx_pnalloc(io->pool, 128);
    if (p == NULL) {
        return why;
    }

    last = f->rc != NGX_OK ? ngx_snprintf(p, 127, "%s: %s", why, f->error)
                           : ngx_snprintf(p, 127, "%s: HTTP %ui", why,
                                          f->status);
    *last = '\0';

    return (const char *) p;
}


static void
fedi_iobj_fetched(fedi_fetch_t *f)
{
    char              *type, *semi;
    json_t            *doc;
    const char        *id;
    fedi_iobj_t       *io = f->data;
    ngx_connection_t  *c;

    c = io->rq ? io->rq->r->connection : NULL;

    if (f->rc != NGX_OK || f->status != 200) {
        /* the network or the origin's trouble may pass */
        io->retry = f->rc == NGX_OK
                    ? f->status >= 500 || f->status == 408
                      || f->status == 429
                    : !fedi_fetch_refused(f);
        fedi_iobj_end(io, fedi_iobj_unfetched(io, f));
        goto done;
    }

    type = fedi_pstrz(io->pool, f->content_type.data,
                      f->content_type.len);
    if (type == NULL) {
        fedi_iobj_fail(io, "out of memory");
        goto done;
    }

    semi = ngx_strchr(type, ';');
    if (semi && ngx_strncmp(type, "application/activity+json", 25) == 0) {
        *semi = '\0';
    }

    if (!fedi_is_ap_type(type)) {
        fedi_iobj_end(io, "the object's origin answers no ActivityPub type");
        goto done;
    }

    doc = json_loadb((char *) f->body.data, f->body.len,
                     JSON_REJECT_DUPLICATES, NULL);
    id = json_string_value(json_object_get(doc, "id"));

    /*
     * a page's URL (https://host/@name/ID) may serve the document whose
     * id is another URL of the same host: as Mastodon does, that id is
     * fetched once, and there the document must be its own
     */
    if (json_is_object(doc) && id && !io->again
        && fedi_same_origin(id, &f->final_url)
        && !(ngx_strlen(id) == f->final_url.len
             && ngx_strncmp(id, f->final_url.data, f->final_url.len) == 0))
    {
        io->again = 1;
        fedi_iobj_fetch(io, id);
        json_decref(doc);
        goto done;
    }

    if (!json_is_object(doc) || id == NULL
        || ngx_strlen(id) != f->final_url.len
        || ngx_strncmp(id, f->final_url.data, f->final_url.len) != 0
        || json_object_get(doc, "@graph")
        || json_object_get(doc, "@included")
        || json_object_get(doc, "@reverse"))
    {
        json_decref(doc);
        fedi_iobj_end(io, "the fetched object's id is not its URL");
        goto done;
    }

    io->obj = doc;
    fedi_iobj_check(io);

done:

    if (c) {
        ngx_http_run_posted_requests(c);
    }
}


/* a Note of the actor's (Create, Update), or of an author we know on
 * its own host (Announce) */
static void
fedi_iobj_check(fedi_iobj_t *io)
{
    const char  *type, *author, *id;

    type = json_string_value(json_object_get(io->obj, "type"));
    author = fedi_iobj_attributed(io->obj);
    id = fedi_iobj_id(io->obj);

    if (io->move) {
        if (!fedi_iobj_is(type, fedi_actor_types)) {
            fedi_iobj_end(io, "the target of a Move is no actor");
            return;
        }

        fedi_iobj_sanitize(io);
        return;
    }

    if (!fedi_iobj_is(type, fedi_note_types)) {
        fedi_iobj_end(io, NULL);        /* stored, ignored */
        return;
    }

    if (!io->announce) {
        if (author == NULL || ngx_strcmp(author, io->actor) != 0) {
            fedi_iobj_end(io, "attributedTo is not the actor");
            return;
        }

        fedi_iobj_sanitize(io);
        return;
    }

    if (!fedi_same_host(author, id)) {
        fedi_iobj_end(io, "the boosted object's author is on another host");
        return;
    }

    io->author = author;
    fedi_iobj_query(io, FEDI_SQL_ACCOUNT_BY_URI, fedi_iobj_author, 1, author,
                    NULL);
}


static void
fedi_iobj_author(fedi_iobj_t *io, PGresult *res)
{
    if (PQntuples(res) == 1) {
        fedi_iobj_sanitize(io);
        return;
    }

    if (io->rq) {
        io->rq->data = io;
        fedi_resolve_url(io->rq, io->author, fedi_iobj_resolved);
        return;
    }

    fedi_resolve_url_in(&io->env, io->author, fedi_iobj_resolved_in, io);
}


static void
fedi_iobj_resolved(fedi_req_t *rq, ngx_int_t found)
{
    fedi_iobj_resolved_in(rq->data, found);
}


static void
fedi_iobj_resolved_in(void *data, ngx_int_t found)
{
    fedi_iobj_t  *io = data;

    if (!found) {
        fedi_iobj_end(io, "the boosted object's author cannot be resolved");
        return;
    }

    fedi_iobj_sanitize(io);
}


static void
fedi_iobj_sanitize(fedi_iobj_t *io)
{
    ngx_thread_task_t  *task;
    ngx_thread_pool_t  *tp;

    static ngx_str_t  name = ngx_string("default");

    if (io->rq) {
        fedi_thread_run(io->rq, fedi_iobj_work, fedi_iobj_after, io);
        return;
    }

    tp = ngx_thread_pool_get((ngx_cycle_t *) ngx_cycle, &name);
    task = ngx_thread_task_alloc(io->pool, 0);
    if (tp == NULL || task == NULL) {
        fedi_iobj_fail(io, "no thread pool");
        return;
    }

    task->ctx = io;
    task->handler = fedi_iobj_task;
    task->event.handler = fedi_iobj_task_done;
    task->event.data = io;
    task->event.log = io->log;

    if (ngx_thread_task_post(tp, task) != NGX_OK) {
        fedi_iobj_fail(io, "the thread pool is full");
        return;
    }
}


/* on the thread pool: nothing else touches the object meanwhile */
static void
fedi_iobj_work(void *data)
{
    char         *clean;
    json_t       *map, *v, *content;
    const char   *key;
    fedi_iobj_t  *io = data;

    content = json_object_get(io->obj, "content");

    if (json_is_string(content)) {
        clean = fedi_sanitize_html(json_string_value(content),
                                   json_string_length(content));
        if (clean == NULL
            || json_object_set_new(io->obj, "content",
                                   json_string(clean)) != 0)
        {
            io->oom = 1;
        }

        free(clean);

    } else if (content) {
        json_object_del(io->obj, "content");
    }

    map = json_object_get(io->obj, "contentMap");

    if (json_is_object(map)) {
        json_object_foreach(map, key, v) {
            if (!json_is_string(v)) {
                json_object_set_new(map, key, json_string(""));
                continue;
            }

            clean = fedi_sanitize_html(json_string_value(v),
                                       json_string_length(v));
            if (clean == NULL
                || json_object_set_new(map, key, json_string(clean)) != 0)
            {
                io->oom = 1;
            }

            free(clean);
        }

    } else if (map) {
        json_object_del(io->obj, "contentMap");
    }

    io->out = json_dumps(io->obj, JSON_COMPACT);
}


static void
fedi_iobj_task(void *data, ngx_log_t *log)
{
    fedi_iobj_work(data);
}


static void
fedi_iobj_task_done(ngx_event_t *ev)
{
    fedi_iobj_prepared(ev->data);
}


static void
fedi_iobj_after(fedi_req_t *rq, void *data)
{
    fedi_iobj_prepared(data);
}


static void
fedi_iobj_prepared(fedi_iobj_t *io)
{
    char  *out;

    if (io->oom || io->out == NULL) {
        fedi_iobj_fail(io, "out of memory");
        return;
    }

    out = fedi_pstrz(io->pool, (u_char *) io->out, ngx_strlen(io->out));
    if (out == NULL) {
        fedi_iobj_fail(io, "out of memory");
        return;
    }

    fedi_iobj_finish(io, out);
}


/* our own trouble: a request answers 500, the background tries again */
static void
fedi_iobj_fail(fedi_iobj_t *io, const char *why)
{
    if (io->rq) {
        io->rq->data = io->saved;
        fedi_send_internal_error(io->rq);
        return;
    }

    io->retry = 1;
    io->why = why;
    fedi_iobj_finish(io, NULL);
}


/* no object to store (why: a rule it broke, logged) */
static void
fedi_iobj_end(fedi_iobj_t *io, const char *why)
{
    if (why) {
        ngx_log_error(NGX_LOG_INFO, io->log, 0,
                      "fedi: inbox: the object of %s is dropped: %s",
                      io->type ? io->type : "an activity", why);
    }

    io->why = why;
    fedi_iobj_finish(io, NULL);
}


static void
fedi_iobj_finish(fedi_iobj_t *io, char *object)
{
    if (io->rq) {
        io->rq->data = io->saved;
        io->done(io->rq, object, io->later);
        return;
    }

    io->done_in(io->data, object, io->why, io->retry);
}
