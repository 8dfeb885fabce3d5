/*
 * Copyright (C) ngx_fedi authors
 *
 * Lists, as Mastodon's: /api/v1/lists (the List entity), their members
 * (/api/v1/lists/:id/accounts), the lists holding an account
 * (/api/v1/accounts/:id/lists) and a list's timeline
 * (/api/v1/timelines/list/:id).  Another user's list is not found.  The
 * list feeds are filled on write, from the home feed's fan-out
 * (sql/0030_lists.sql); the list stream is fedi_stream.c's.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_status.h"
#include "fedi_status_cache.h"


#define FEDI_LIST_TITLE_MAX     256         /* characters */


/* the List entity's columns (FEDI_LIST_COLS) */
enum { L_ID = 0, L_TITLE, L_POLICY, L_EXCLUSIVE };


typedef struct {
    const char  *id;
    const char  *title;
    const char  *policy;
    const char  *exclusive;
} fedi_list_form_t;


static void api_lists(fedi_req_t *rq);
static void fedi_lists_loaded(fedi_req_t *rq, PGresult *res);
static void api_list_get(fedi_req_t *rq);
static void api_list_create(fedi_req_t *rq);
static void fedi_list_created(fedi_req_t *rq, PGresult *res);
static void api_list_update(fedi_req_t *rq);
static void fedi_list_loaded(fedi_req_t *rq, PGresult *res);
static void api_list_delete(fedi_req_t *rq);
static void fedi_list_deleted(fedi_req_t *rq, PGresult *res);
static ngx_int_t fedi_list_form(fedi_req_t *rq, fedi_list_form_t *f,
    ngx_uint_t create);
static void api_list_accounts(fedi_req_t *rq);
static void fedi_list_accounts_loaded(fedi_req_t *rq, PGresult *res);
static void api_list_accounts_change(fedi_req_t *rq);
static void fedi_list_accounts_added(fedi_req_t *rq, PGresult *res);
static void api_account_lists(fedi_req_t *rq);
static void api_timeline_list(fedi_req_t *rq);
static void fedi_timeline_list_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_timeline_list_empty(fedi_req_t *rq, PGresult *res);
static char *fedi_list_arg(fedi_req_t *rq);
static void fedi_list_query(fedi_req_t *rq, fedi_sql_id_e stmt,
    fedi_result_pt next);
static void fedi_list_render(fedi_json_t *j, PGresult *res, int row);
static void fedi_list_empty_answer(fedi_req_t *rq);


const fedi_route_t  fedi_routes_lists[] = {
    { GET, "/api/v1/lists", api_lists, "read:lists", CORS|USER },
    { POST, "/api/v1/lists", api_list_create, "write:lists", CORS|USER },
    { GET, "/api/v1/lists/:id", api_list_get, "read:lists", CORS|USER },
    { PUT, "/api/v1/lists/:id", api_list_update, "write:lists", CORS|USER },
    { DELETE, "/api/v1/lists/:id", api_list_delete, "write:lists",
      CORS|USER },
    { GET, "/api/v1/lists/:id/accounts", api_list_accounts, "read:lists",
      CORS|USER },
    { POST, "/api/v1/lists/:id/accounts", api_list_accounts_change,
      "write:lists", CORS|USER },
    { DELETE, "/api/v1/lists/:id/accounts", api_list_accounts_change,
      "write:lists", CORS|USER },
    { GET, "/api/v1/accounts/:id/lists", api_account_lists, "read:lists",
      CORS|USER },
    { GET, "/api/v1/timelines/list/:id", api_timeline_list, "read:lists",
      CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* GET /api/v1/lists */

static void
api_lists(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_LISTS, fedi_lists_loaded, 1,
               rq->token->account_id);
}


/* GET /api/v1/lists/:id */

static void
api_list_get(fedi_req_t *rq)
{
    fedi_list_query(rq, FEDI_SQL_LIST_GET, fedi_list_loaded);
}


/* POST /api/v1/lists: title, replies_policy ("list"), exclusive (false) */

static void
api_list_create(fedi_req_t *rq)
{
    fedi_list_form_t  f;

    if (fedi_list_form(rq, &f, 1) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_LIST_CREATE, fedi_list_created, 4,
               rq->token->account_id, f.title, f.policy, f.exclusive);
}


static void
fedi_list_created(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: You have reached the maximum "
                        "number of lists");
        return;
    }

    fedi_list_loaded(rq, res);
}


/* PUT /api/v1/lists/:id: what is given changes */

static void
api_list_update(fedi_req_t *rq)
{
    fedi_list_form_t  f;

    if (fedi_list_form(rq, &f, 0) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_LIST_UPDATE, fedi_list_loaded, 5,
               rq->token->account_id, f.id, f.title, f.policy, f.exclusive);
}


static void
fedi_list_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_list_render(j, res, 0);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* DELETE /api/v1/lists/:id */

static void
api_list_delete(fedi_req_t *rq)
{
    fedi_list_query(rq, FEDI_SQL_LIST_DELETE, fedi_list_deleted);
}


static void
fedi_list_deleted(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_list_empty_answer(rq);
}


/*
 * The parameters of a create (all of them, with Mastodon's defaults) or
 * an update (NULL: unchanged), checked as Mastodon's model does: a 422
 * answered and NGX_DECLINED when they do not hold
 */
static ngx_int_t
fedi_list_form(fedi_req_t *rq, fedi_list_form_t *f, ngx_uint_t create)
{
    int          b;
    size_t       n;
    const char  *p;
    u_char       buf[128];

    ngx_memzero(f, sizeof(fedi_list_form_t));

    if (!create) {
        f->id = fedi_list_arg(rq);
        if (f->id == NULL) {
            return NGX_DECLINED;
        }
    }

    f->title = fedi_param_str(rq->params, "title");

    if (f->title != NULL || create) {
        /* blank: nothing but white space, as Rails' presence */
        for (p = f->title; p && *p; p++) {
            if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'
                && *p != '\f' && *p != '\v')
            {
                break;
            }
        }

        if (p == NULL || *p == '\0') {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Title can't be blank");
            return NGX_DECLINED;
        }

        /* characters, not bytes: the continuation bytes are not counted */
        for (n = 0, p = f->title; *p; p++) {
            n += ((*p & 0xc0) != 0x80);
        }

        if (n > FEDI_LIST_TITLE_MAX) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Title is too long "
                            "(maximum is 256 characters)");
            return NGX_DECLINED;
        }
    }

    f->policy = fedi_param_str(rq->params, "replies_policy");

    if (f->policy != NULL && f->policy[0] == '\0') {
        f->policy = NULL;
    }

    if (f->policy == NULL) {
        f->policy = create ? "list" : NULL;

    } else if (ngx_strcmp(f->policy, "list") != 0
               && ngx_strcmp(f->policy, "followed") != 0
               && ngx_strcmp(f->policy, "none") != 0)
    {
        /* Rails' enum: an ArgumentError, which Mastodon answers 422 */
        ngx_snprintf(buf, sizeof(buf), "'%*s' is not a valid replies_policy%Z",
                     (size_t) ngx_min(ngx_strlen(f->policy), 64),
                     f->policy);
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY, (char *) buf);
        return NGX_DECLINED;
    }

    b = fedi_param_bool(rq->params, "exclusive", -1);
    f->exclusive = (b == 1) ? "true"
                   : (b == 0 || create) ? "false" : NULL;

    return NGX_OK;
}


/* GET /api/v1/lists/:id/accounts: limit=0 is all of them, unpaged */

static void
api_list_accounts(fedi_req_t *rq)
{
    char         *id;
    const char   *limit;
    fedi_page_t  *pg;

    id = fedi_list_arg(rq);
    if (id == NULL) {
        return;
    }

    pg = fedi_page_new(rq, 40, 80);
    if (pg == NULL) {
        return;
    }

    pg->cursor = 0;     /* the account's id */

    limit = fedi_param_str(rq->params, "limit");

    if (limit && ngx_strcmp(limit, "0") == 0) {
        rq->data = NULL;
    }

    fedi_query(rq, FEDI_SQL_LIST_ACCOUNTS, fedi_list_accounts_loaded, 6,
               rq->token->account_id, id, pg->bound[0], pg->bound[1],
               pg->bound[2], rq->data ? pg->limit_str : NULL);
}


static void
fedi_list_accounts_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    n = PQntuples(res);

    if (n == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    /* an empty list: its one row without an account */
    if (n == 1 && PQgetisnull(res, 0, 0)) {
        n = 0;
    }

    j = fedi_json_new(rq);
    if (j == NULL
        || (n && rq->data && fedi_page_link(rq, res, rq->data) != NGX_OK))
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        fedi_account_render(rq, j, res, i, 0);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/*
 * POST /api/v1/lists/:id/accounts: account_ids[] join, all or none;
 * DELETE: they leave (what is not on the list is ignored), answered as a
 * delete: 404 when the list is not the viewer's
 */

static void
api_list_accounts_change(fedi_req_t *rq)
{
    char  *id, *ids;

    id = fedi_list_arg(rq);
    if (id == NULL) {
        return;
    }

    ids = fedi_id_array(rq, "account_ids", 1);
    if (ids == NULL) {
        return;
    }

    if (rq->r->method == NGX_HTTP_POST) {
        fedi_query(rq, FEDI_SQL_LIST_ACCOUNTS_ADD, fedi_list_accounts_added,
                   3, rq->token->account_id, id, ids);

    } else {
        fedi_query(rq, FEDI_SQL_LIST_ACCOUNTS_REMOVE, fedi_list_deleted, 3,
                   rq->token->account_id, id, ids);
    }
}


static void
fedi_list_accounts_added(fedi_req_t *rq, PGresult *res)
{
    const char  *v;

    v = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(v, "ok") == 0) {
        fedi_list_empty_answer(rq);

    } else if (ngx_strcmp(v, "not_followed") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Account must be a followed "
                        "account");

    } else if (ngx_strcmp(v, "taken") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Account has already been taken");

    } else {
        /* no such list, or no such account */
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
    }
}


/* GET /api/v1/accounts/:id/lists: the viewer's lists that hold it */

static void
api_account_lists(fedi_req_t *rq)
{
    fedi_list_query(rq, FEDI_SQL_ACCOUNT_LISTS, fedi_lists_loaded);
}


/* GET /api/v1/timelines/list/:id: paged as the home timeline */

static void
api_timeline_list(fedi_req_t *rq)
{
    char         *id;
    fedi_page_t  *pg;

    id = fedi_list_arg(rq);
    if (id == NULL) {
        return;
    }

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    fedi_query(rq, fedi_timeline_stmt(rq, pg, FEDI_SQL_TIMELINE_LIST),
               fedi_timeline_list_loaded, 7,
               rq->token->account_id, fedi_base(rq), pg->bound[0],
               pg->bound[1], pg->bound[2], pg->limit_str, id);
}


static void
fedi_timeline_list_loaded(fedi_req_t *rq, PGresult *res)
{
    const char  *id;

    if (PQntuples(res) > 0) {
        if (fedi_status_cache_on(rq)) {
            fedi_status_cache_loaded(rq, res);

        } else {
            fedi_statuses_send(rq, res, rq->data);
        }

        return;
    }

    /* nothing: an empty page of the viewer's list, or not their list */
    id = rq->op.values[6];

    fedi_query(rq, FEDI_SQL_LIST_GET, fedi_timeline_list_empty, 2,
               rq->token->account_id, id);
}


static void
fedi_timeline_list_empty(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "[]", 2);
}


/* the list's or account's id in the path, or NULL after answering 404 */
static char *
fedi_list_arg(fedi_req_t *rq)
{
    char  *id;

    id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
    if (id == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    if (fedi_is_id(id) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NULL;
    }

    return id;
}


/* a statement of the viewer ($1) and the id in the path ($2) */
static void
fedi_list_query(fedi_req_t *rq, fedi_sql_id_e stmt, fedi_result_pt next)
{
    char  *id;

    id = fedi_list_arg(rq);
    if (id == NULL) {
        return;
    }

    fedi_query(rq, stmt, next, 2, rq->token->account_id, id);
}


static void
fedi_list_render(fedi_json_t *j, PGresult *res, int row)
{
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, row, L_ID));
    fedi_json_kcstr(j, "title", PQgetvalue(res, row, L_TITLE));
    fedi_json_kcstr(j, "replies_policy", PQgetvalue(res, row, L_POLICY));
    fedi_json_kbool(j, "exclusive", fedi_pg_bool(res, row, L_EXCLUSIVE));
    fedi_json_obj_close(j);
}


/* an array of lists; a row with a NULL id (ACCOUNT_LISTS) is none, and
 * no row at all there means no such account */
static void
fedi_lists_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    n = PQntuples(res);

    if (n == 0 && rq->route->handler == api_account_lists) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (!PQgetisnull(res, i, L_ID)) {
            fedi_list_render(j, res, i);
        }
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
fedi_list_empty_answer(fedi_req_t *rq)
{
    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}
