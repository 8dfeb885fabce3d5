/*
 * Copyright (C) ngx_fedi authors
 *
 * /api/v2/filters (filters, their keywords and statuses) and the v1 view
 * of them, one filter per keyword, as Mastodon 4.  Every route is one
 * statement (sql_filters.h); the writes are SQL functions that check the
 * parameters as Mastodon's models do (sql/0031_filters.sql) and answer
 * 422 or 404 by raising "filter:<status>:<message>".  Another account's
 * filter is not found.  Applying filters to statuses: fedi_filters.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


/* what a route's statement takes after the owner ($1) */
#define FEDI_FA_NONE      0     /* $2 NULL: all of them */
#define FEDI_FA_ID        1     /* $2 the path's id */
#define FEDI_FA_NEW       2     /* $2 the parameters, $3 NULL */
#define FEDI_FA_EDIT      3     /* $2 the parameters, $3 the path's id */
#define FEDI_FA_KW_NEW    4     /* $2 the parameters, $3 the id, $4 NULL */
#define FEDI_FA_KW_EDIT   5     /* $2 the parameters, $3 NULL, $4 the id */
#define FEDI_FA_STATUS    6     /* $2 the path's id, $3 status_id */

/* and how its answer is made */
#define FEDI_FR_ONE       0     /* the JSON of one row, else 404 */
#define FEDI_FR_LIST      1     /* an array of the rows' JSON */
#define FEDI_FR_SAVE      2     /* an id, shown by the show statement, or
                                   the function's error */
#define FEDI_FR_GONE      3     /* {} when a row went, else 404 */


typedef struct {
    fedi_sql_id_e   stmt;
    ngx_uint_t      args;
    ngx_uint_t      answer;
    fedi_sql_id_e   show;          /* FEDI_FR_SAVE: ($1, the id) */
} fedi_filter_op_t;


static void api_filters(fedi_req_t *rq);
static void api_filter_create(fedi_req_t *rq);
static void api_filter_get(fedi_req_t *rq);
static void api_filter_update(fedi_req_t *rq);
static void api_filter_delete(fedi_req_t *rq);
static void api_filter_keywords(fedi_req_t *rq);
static void api_filter_keyword_create(fedi_req_t *rq);
static void api_filter_keyword_get(fedi_req_t *rq);
static void api_filter_keyword_update(fedi_req_t *rq);
static void api_filter_keyword_delete(fedi_req_t *rq);
static void api_filter_statuses(fedi_req_t *rq);
static void api_filter_status_add(fedi_req_t *rq);
static void api_filter_status_get(fedi_req_t *rq);
static void api_filter_status_delete(fedi_req_t *rq);
static void api_filters_v1(fedi_req_t *rq);
static void api_filter_v1_create(fedi_req_t *rq);
static void api_filter_v1_get(fedi_req_t *rq);
static void api_filter_v1_update(fedi_req_t *rq);

static void fedi_filter_run(fedi_req_t *rq, const fedi_filter_op_t *op);
static char *fedi_filter_params(fedi_req_t *rq);
static void fedi_filter_done(fedi_req_t *rq, PGresult *res);


/* what a write's answer is made with */
static const fedi_filter_op_t  fedi_filter_show = {
    FEDI_SQL_FILTERS_LIST, FEDI_FA_ID, FEDI_FR_ONE, FEDI_SQL_FILTERS_LIST
};


#define READ   "read:filters"
#define WRITE  "write:filters"

const fedi_route_t  fedi_routes_filters[] = {
    /* before /api/v2/filters/:id/..., which they would not match anyway */
    { GET, "/api/v2/filters/keywords/:id", api_filter_keyword_get, READ,
      CORS|USER },
    { PUT|PATCH, "/api/v2/filters/keywords/:id", api_filter_keyword_update,
      WRITE, CORS|USER },
    { DELETE, "/api/v2/filters/keywords/:id", api_filter_keyword_delete,
      WRITE, CORS|USER },
    { GET, "/api/v2/filters/statuses/:id", api_filter_status_get, READ,
      CORS|USER },
    { DELETE, "/api/v2/filters/statuses/:id", api_filter_status_delete,
      WRITE, CORS|USER },
    { GET, "/api/v2/filters/:id/keywords", api_filter_keywords, READ,
      CORS|USER },
    { POST, "/api/v2/filters/:id/keywords", api_filter_keyword_create,
      WRITE, CORS|USER },
    { GET, "/api/v2/filters/:id/statuses", api_filter_statuses, READ,
      CORS|USER },
    { POST, "/api/v2/filters/:id/statuses", api_filter_status_add, WRITE,
      CORS|USER },
    { GET, "/api/v2/filters", api_filters, READ, CORS|USER },
    { POST, "/api/v2/filters", api_filter_create, WRITE, CORS|USER },
    { GET, "/api/v2/filters/:id", api_filter_get, READ, CORS|USER },
    { PUT|PATCH, "/api/v2/filters/:id", api_filter_update, WRITE,
      CORS|USER },
    { DELETE, "/api/v2/filters/:id", api_filter_delete, WRITE, CORS|USER },

    { GET, "/api/v1/filters", api_filters_v1, READ, CORS|USER },
    { POST, "/api/v1/filters", api_filter_v1_create, WRITE, CORS|USER },
    { GET, "/api/v1/filters/:id", api_filter_v1_get, READ, CORS|USER },
    { PUT|PATCH, "/api/v1/filters/:id", api_filter_v1_update, WRITE,
      CORS|USER },
    /* v1 deletes the keyword alone, as Mastodon 4 */
    { DELETE, "/api/v1/filters/:id", api_filter_keyword_delete, WRITE,
      CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};

#undef READ
#undef WRITE


#define FEDI_FILTER_OP(name, stmt, args, answer, show)                       \
    static void                                                              \
    name(fedi_req_t *rq)                                                     \
    {                                                                        \
        static const fedi_filter_op_t  op = {                                \
            FEDI_SQL_##stmt, FEDI_FA_##args, FEDI_FR_##answer,               \
            FEDI_SQL_##show                                                  \
        };                                                                   \
                                                                             \
        fedi_filter_run(rq, &op);                                            \
    }

FEDI_FILTER_OP(api_filters, FILTERS_LIST, NONE, LIST, FILTERS_LIST)
FEDI_FILTER_OP(api_filter_create, FILTER_SAVE, NEW, SAVE, FILTERS_LIST)
FEDI_FILTER_OP(api_filter_get, FILTERS_LIST, ID, ONE, FILTERS_LIST)
FEDI_FILTER_OP(api_filter_update, FILTER_SAVE, EDIT, SAVE, FILTERS_LIST)
FEDI_FILTER_OP(api_filter_delete, FILTER_DELETE, ID, GONE, FILTERS_LIST)
FEDI_FILTER_OP(api_filter_keywords, FILTER_KEYWORDS, ID, ONE,
               FILTER_KEYWORDS)
FEDI_FILTER_OP(api_filter_keyword_create, FILTER_KEYWORD_SAVE, KW_NEW, SAVE,
               FILTER_KEYWORD_GET)
FEDI_FILTER_OP(api_filter_keyword_get, FILTER_KEYWORD_GET, ID, ONE,
               FILTER_KEYWORD_GET)
FEDI_FILTER_OP(api_filter_keyword_update, FILTER_KEYWORD_SAVE, KW_EDIT,
               SAVE, FILTER_KEYWORD_GET)
FEDI_FILTER_OP(api_filter_keyword_delete, FILTER_KEYWORD_DELETE, ID, GONE,
               FILTER_KEYWORD_GET)
FEDI_FILTER_OP(api_filter_statuses, FILTER_STATUSES, ID, ONE,
               FILTER_STATUSES)
FEDI_FILTER_OP(api_filter_status_add, FILTER_STATUS_ADD, STATUS, SAVE,
               FILTER_STATUS_GET)
FEDI_FILTER_OP(api_filter_status_get, FILTER_STATUS_GET, ID, ONE,
               FILTER_STATUS_GET)
FEDI_FILTER_OP(api_filter_status_delete, FILTER_STATUS_DELETE, ID, GONE,
               FILTER_STATUS_GET)
FEDI_FILTER_OP(api_filters_v1, FILTERS_V1_LIST, NONE, LIST, FILTERS_V1_LIST)
FEDI_FILTER_OP(api_filter_v1_create, FILTER_V1_SAVE, NEW, SAVE,
               FILTERS_V1_LIST)
FEDI_FILTER_OP(api_filter_v1_get, FILTERS_V1_LIST, ID, ONE, FILTERS_V1_LIST)
FEDI_FILTER_OP(api_filter_v1_update, FILTER_V1_SAVE, EDIT, SAVE,
               FILTERS_V1_LIST)


static void
fedi_filter_run(fedi_req_t *rq, const fedi_filter_op_t *op)
{
    char        *id, *params;
    const char  *acc;

    acc = rq->token->account_id;
    id = NULL;
    params = NULL;

    if (rq->nargs) {
        id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
        if (id == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        if (fedi_is_id(id) != NGX_OK) {
            fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
            return;
        }
    }

    if (op->answer == FEDI_FR_SAVE) {
        params = fedi_filter_params(rq);
        if (params == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        /* the functions' refusals come back to fedi_filter_done */
        rq->pg_errors = 1;
    }

    rq->data = (void *) op;

    switch (op->args) {

    case FEDI_FA_NONE:
        fedi_query(rq, op->stmt, fedi_filter_done, 2, acc, NULL);
        break;

    case FEDI_FA_ID:
        fedi_query(rq, op->stmt, fedi_filter_done, 2, acc, id);
        break;

    case FEDI_FA_NEW:
        fedi_query(rq, op->stmt, fedi_filter_done, 3, acc, params, NULL);
        break;

    case FEDI_FA_EDIT:
        fedi_query(rq, op->stmt, fedi_filter_done, 3, acc, params, id);
        break;

    case FEDI_FA_KW_NEW:
        fedi_query(rq, op->stmt, fedi_filter_done, 4, acc, params, id, NULL);
        break;

    case FEDI_FA_KW_EDIT:
        fedi_query(rq, op->stmt, fedi_filter_done, 4, acc, params, NULL, id);
        break;

    default: /* FEDI_FA_STATUS */
        rq->pg_errors = 1;
        fedi_query(rq, op->stmt, fedi_filter_done, 3, acc, id,
                   fedi_param_str(rq->params, "status_id"));
        break;
    }
}


/* the parameters as Rails decoded them, for the SQL functions */
static char *
fedi_filter_params(fedi_req_t *rq)
{
    char  *s, *copy;

    if (rq->params == NULL) {
        return "{}";
    }

    s = json_dumps(rq->params, JSON_COMPACT);
    if (s == NULL) {
        return NULL;
    }

    copy = fedi_pstrz(rq->r->pool, (u_char *) s, ngx_strlen(s));
    free(s);

    return copy;
}


static void
fedi_filter_done(fedi_req_t *rq, PGresult *res)
{
    int                      i, n;
    char                    *msg;
    ngx_uint_t               status;
    fedi_json_t             *j;
    const fedi_filter_op_t  *op;

    op = rq->data;
    rq->pg_errors = 0;

    if (PQresultStatus(res) != PGRES_TUPLES_OK
        && PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        if (msg && ngx_strncmp(msg, "filter:", 7) == 0
            && ngx_strlen(msg) > 11 && msg[11 - 1] == ':')
        {
            status = ngx_atoi((u_char *) msg + 7, 3);

            if (status == NGX_HTTP_NOT_FOUND
                || status == NGX_HTTP_UNPROCESSABLE_ENTITY)
            {
                fedi_send_error(rq, status, msg + 11);
                return;
            }
        }

        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "fedi: %s failed: %s", fedi_sql_stmts[op->stmt].name,
                      PQresultErrorMessage(res));
        fedi_send_internal_error(rq);
        return;
    }

    if (op->answer == FEDI_FR_SAVE) {
        /* the saved thing, as its GET shows it */
        if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            fedi_send_internal_error(rq);
            return;
        }

        rq->data = (void *) &fedi_filter_show;
        fedi_query(rq, op->show, fedi_filter_done, 2,
                   rq->token->account_id,
                   fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                              PQgetlength(res, 0, 0)));
        return;
    }

    if (op->answer == FEDI_FR_GONE) {
        if (ngx_strcmp(PQcmdTuples(res), "0") == 0) {
            fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
            return;
        }

        fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                        (u_char *) "{}", 2);
        return;
    }

    if (op->answer == FEDI_FR_LIST) {
        j = fedi_json_new(rq);
        if (j == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        n = PQntuples(res);

        fedi_json_arr_open(j);

        for (i = 0; i < n; i++) {
            fedi_json_raw(j, (u_char *) PQgetvalue(res, i, 0),
                          PQgetlength(res, i, 0));
        }

        fedi_json_arr_close(j);
        fedi_send_json(rq, NGX_HTTP_OK, j);
        return;
    }

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_json_raw(j, (u_char *) PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0));
    fedi_send_json(rq, NGX_HTTP_OK, j);
}
