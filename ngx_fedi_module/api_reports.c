/*
 * Copyright (C) ngx_fedi authors
 *
 * POST /api/v1/reports: a user reports an account (and statuses of it) to
 * the moderators, as Mastodon's ReportService; a remote account's report
 * is forwarded, when asked, as a Flag from the instance actor
 * (sql/0033_reports_move.sql queues it).  The operator reads and resolves
 * reports with `fedictl reports`.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_addr.h"
#include "fedi_account.h"


#define FEDI_REPORT_MAX_IDS  256

/* the columns of FEDI_SQL_REPORT */
#define R_ID          0
#define R_TAKEN       1
#define R_TAKEN_AT    2
#define R_CATEGORY    3
#define R_COMMENT     4
#define R_FORWARDED   5
#define R_CREATED     6
#define R_STATUSES    7
#define R_RULES       8
#define R_ACCOUNT     9


static void api_report_create(fedi_req_t *rq);
static char *fedi_report_ids(fedi_req_t *rq, const char *key,
    ngx_int_t *bad);
static char *fedi_report_domains(fedi_req_t *rq);
static void fedi_report_created(fedi_req_t *rq, PGresult *res);
static void fedi_report_loaded(fedi_req_t *rq, PGresult *res);


const fedi_route_t  fedi_routes_reports[] = {
    { POST, "/api/v1/reports", api_report_create, "write:reports",
      CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


static void
api_report_create(fedi_req_t *rq)
{
    char        *statuses, *rules, *domains;
    ngx_int_t    bad_status, bad_rule;
    const char  *account, *comment, *category;

    account = fedi_param_str(rq->params, "account_id");

    if (account == NULL || fedi_is_id(account) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    statuses = fedi_report_ids(rq, "status_ids", &bad_status);
    rules = fedi_report_ids(rq, "rule_ids", &bad_rule);
    domains = fedi_report_domains(rq);

    if (statuses == NULL || rules == NULL || domains == NULL) {
        return;
    }

    /* Status.find of an id that cannot be one; a rule that cannot be */
    if (bad_status) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (bad_rule) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Rule ids does not reference"
                        " valid rules");
        return;
    }

    comment = fedi_param_str(rq->params, "comment");
    category = fedi_param_str(rq->params, "category");

    fedi_query(rq, FEDI_SQL_REPORT_CREATE, fedi_report_created, 8,
               rq->token->account_id, account, statuses,
               comment ? comment : "", category,
               ngx_strcmp(rules, "{}") == 0 ? NULL : rules,
               fedi_param_bool(rq->params, "forward", 0) ? "true" : "false",
               *domains ? domains : NULL);
}


/* a list of ids as a PostgreSQL array ("{}" when none); *bad: one of
 * them is no id.  NULL when answered already. */
static char *
fedi_report_ids(fedi_req_t *rq, const char *key, ngx_int_t *bad)
{
    u_char       *p, *lit;
    size_t        n, i;
    const char   *ids[FEDI_REPORT_MAX_IDS + 1];

    *bad = 0;

    n = fedi_param_strs(rq->params, key, ids, FEDI_REPORT_MAX_IDS + 1);
    if (n > FEDI_REPORT_MAX_IDS) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: too many ids");
        return NULL;
    }

    lit = ngx_pnalloc(rq->r->pool, 3 + n * 21);
    if (lit == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    p = lit;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (fedi_is_id(ids[i]) != NGX_OK) {
            *bad = 1;
            continue;
        }

        p = ngx_sprintf(p, "%s%s", p - lit > 1 ? "," : "", ids[i]);
    }

    *p++ = '}';
    *p = '\0';

    return (char *) lit;
}


/*
 * forward_to_domains[], normalized as Mastodon's TagManager does (IDN in
 * ASCII, lower case, no trailing dot; what is no host name left out):
 * a PostgreSQL array, or "" when not given (the target's domain then).
 * An empty list given forwards nowhere.
 */
static char *
fedi_report_domains(fedi_req_t *rq)
{
    u_char      *p, *lit;
    char         d[300];
    size_t       n, i, k;
    const char  *in[FEDI_REPORT_MAX_IDS];

    if (json_object_get(rq->params, "forward_to_domains") == NULL
        && json_object_get(rq->params, "forward_to_domains[]") == NULL)
    {
        return "";
    }

    n = fedi_param_strs(rq->params, "forward_to_domains", in,
                        FEDI_REPORT_MAX_IDS);

    lit = ngx_pnalloc(rq->r->pool, 3 + n * sizeof(d));
    if (lit == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    p = lit;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (fedi_domain_normalize(in[i], ngx_strlen(in[i]), d, sizeof(d))
            != 0)
        {
            continue;
        }

        /* a host name only: nothing an array literal would read */
        k = strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789.-");
        if (d[0] == '\0' || d[k] != '\0') {
            continue;
        }

        p = ngx_sprintf(p, "%s%s", p - lit > 1 ? "," : "", d);
    }

    *p++ = '}';
    *p = '\0';

    return (char *) lit;
}


static void
fedi_report_created(fedi_req_t *rq, PGresult *res)
{
    char        *id;
    ngx_int_t    code;
    const char  *result;

    if (PQntuples(res) != 1) {
        fedi_send_internal_error(rq);
        return;
    }

    code = fedi_pg_int(res, 0, 0);
    result = fedi_pg_val(res, 0, 1);

    if (code != NGX_HTTP_OK) {
        fedi_send_error(rq, code, result);
        return;
    }

    id = fedi_pstrz(rq->r->pool, (u_char *) result, ngx_strlen(result));
    if (id == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_REPORT, fedi_report_loaded, 2, id,
               rq->token->account_id);
}


/* the Report entity (REST::ReportSerializer) */
static void
fedi_report_loaded(fedi_req_t *rq, PGresult *res)
{
    const char   *rules;
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, 0, R_ID));
    fedi_json_kbool(j, "action_taken", fedi_pg_bool(res, 0, R_TAKEN));
    fedi_json_kcstr(j, "action_taken_at", fedi_pg_val(res, 0, R_TAKEN_AT));
    fedi_json_kcstr(j, "category", PQgetvalue(res, 0, R_CATEGORY));
    fedi_json_kcstr(j, "comment", PQgetvalue(res, 0, R_COMMENT));
    fedi_json_kbool(j, "forwarded", fedi_pg_bool(res, 0, R_FORWARDED));
    fedi_json_kcstr(j, "created_at", PQgetvalue(res, 0, R_CREATED));
    fedi_json_kraw(j, "status_ids", (u_char *) PQgetvalue(res, 0, R_STATUSES),
                   PQgetlength(res, 0, R_STATUSES));

    rules = fedi_pg_val(res, 0, R_RULES);
    if (rules) {
        fedi_json_kraw(j, "rule_ids", (u_char *) rules, ngx_strlen(rules));
    } else {
        fedi_json_knull(j, "rule_ids");
    }

    fedi_json_key(j, "target_account");
    fedi_account_render(rq, j, res, 0, R_ACCOUNT);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
