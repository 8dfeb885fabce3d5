/*
 * Copyright (C) ngx_fedi authors
 *
 * Notifications: v1 (list with types[], exclude_types[], account_id; one;
 * clear; dismiss; unread_count) and v2's grouped form, which clients use
 * with a 4.3 server: favourites, boosts and follows of the same target
 * fold into one group.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_status.h"
#include "fedi_filters.h"


/* the columns of FEDI_NOTIFICATION_COLS */
#define N_ID       (FEDI_ACCOUNT_NCOLS)
#define N_TYPE     (FEDI_ACCOUNT_NCOLS + 1)
#define N_CREATED  (FEDI_ACCOUNT_NCOLS + 2)
#define N_STATUS   (FEDI_ACCOUNT_NCOLS + 3)

#define FEDI_GROUP_MAX    80
#define FEDI_GROUP_SAMPLE 8


typedef struct {
    char          key[64];
    int           first;          /* the newest row */
    int           last;           /* the oldest row */
    ngx_uint_t    count;
    int           sample[FEDI_GROUP_SAMPLE];
    ngx_uint_t    nsample;
} fedi_group_t;


static void api_notifications(fedi_req_t *rq);
static void api_notifications_v2(fedi_req_t *rq);
static void fedi_notifications_query(fedi_req_t *rq, fedi_result_pt next);
static void fedi_notifications_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_notifications_grouped(fedi_req_t *rq, PGresult *res);
static void fedi_group_key(PGresult *res, int row, char *key, size_t len);
static void api_notification_get(fedi_req_t *rq);
static void fedi_notification_loaded(fedi_req_t *rq, PGresult *res);
static void api_notifications_clear(fedi_req_t *rq);
static void api_notification_dismiss(fedi_req_t *rq);
static void fedi_notifications_cleared(fedi_req_t *rq, PGresult *res);
static void api_notifications_unread(fedi_req_t *rq);
static void api_notification_group_accounts(fedi_req_t *rq);
static void fedi_notifications_counted(fedi_req_t *rq, PGresult *res);
static char *fedi_types_array(fedi_req_t *rq, const char *key);


const fedi_route_t  fedi_routes_notifications[] = {
    { GET, "/api/v1/notifications", api_notifications,
      "read:notifications", CORS|USER },
    { GET, "/api/v1/notifications/unread_count", api_notifications_unread,
      "read:notifications", CORS|USER },
    { POST, "/api/v1/notifications/clear", api_notifications_clear,
      "write:notifications", CORS|USER },
    { GET, "/api/v1/notifications/:id", api_notification_get,
      "read:notifications", CORS|USER },
    { POST, "/api/v1/notifications/:id/dismiss", api_notification_dismiss,
      "write:notifications", CORS|USER },
    { GET, "/api/v2/notifications", api_notifications_v2,
      "read:notifications", CORS|USER },
    { GET, "/api/v2/notifications/unread_count", api_notifications_unread,
      "read:notifications", CORS|USER },
    { GET, "/api/v2/notifications/:group_key/accounts",
      api_notification_group_accounts, "read:notifications", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* '{mention,favourite}' from types[] (known names only) */
static char *
fedi_types_array(fedi_req_t *rq, const char *key)
{
    u_char      *out, *p;
    size_t       n, i;
    const char  *t[16], **k;

    static const char  *known[] = {
        "mention", "status", "reblog", "follow", "follow_request",
        "favourite", "poll", "update", "admin.sign_up", "admin.report",
        NULL
    };

    n = fedi_param_strs(rq->params, key, t, 16);

    out = ngx_pnalloc(rq->r->pool, 16 * 16 + 3);
    if (out == NULL) {
        return NULL;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        for (k = known; *k; k++) {
            if (ngx_strcmp(*k, t[i]) == 0) {
                break;
            }
        }

        if (*k == NULL) {
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, *k, ngx_strlen(*k));
    }

    *p++ = '}';
    *p = '\0';

    return (char *) out;
}


static void
api_notifications(fedi_req_t *rq)
{
    fedi_notifications_query(rq, fedi_notifications_loaded);
}


static void
api_notifications_v2(fedi_req_t *rq)
{
    fedi_notifications_query(rq, fedi_notifications_grouped);
}


static void
fedi_notifications_query(fedi_req_t *rq, fedi_result_pt next)
{
    char         *types, *exclude, *base;
    const char   *from, *p;
    fedi_page_t  *pg;

    types = fedi_types_array(rq, "types");
    exclude = fedi_types_array(rq, "exclude_types");
    base = fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                      rq->mcf->base_url.len);

    if (types == NULL || exclude == NULL || base == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    pg = fedi_page_new(rq, 40, 80);
    if (pg == NULL) {
        return;
    }
    pg->cursor = N_ID;

    from = fedi_param_str(rq->params, "account_id");

    if (from) {
        for (p = from; *p >= '0' && *p <= '9'; p++) { /* void */ }

        if (*p != '\0' || p == from) {
            from = NULL;
        }
    }

    fedi_query(rq, fedi_page_stmt(pg, FEDI_SQL_NOTIFICATIONS), next, 9,
               rq->token->account_id,
               base, pg->bound[0], pg->bound[1], pg->bound[2], pg->limit_str,
               types, exclude, from);
}


static void
fedi_group_key(PGresult *res, int row, char *key, size_t len)
{
    const char  *type;

    type = PQgetvalue(res, row, N_TYPE);

    if (ngx_strcmp(type, "favourite") == 0
        || ngx_strcmp(type, "reblog") == 0)
    {
        ngx_snprintf((u_char *) key, len, "%s-%s%Z", type,
                     PQgetvalue(res, row, N_STATUS));

    } else if (ngx_strcmp(type, "follow") == 0) {
        ngx_snprintf((u_char *) key, len, "follow%Z");

    } else {
        ngx_snprintf((u_char *) key, len, "ungrouped-%s%Z",
                     PQgetvalue(res, row, N_ID));
    }
}


void
fedi_notification_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row)
{
    char  key[64];

    fedi_group_key(res, row, key, sizeof(key));

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, row, N_ID));
    fedi_json_kcstr(j, "type", PQgetvalue(res, row, N_TYPE));
    fedi_json_kcstr(j, "created_at", PQgetvalue(res, row, N_CREATED));
    fedi_json_kcstr(j, "group_key", key);
    fedi_json_key(j, "account");
    fedi_account_render(rq, j, res, row, 0);

    if (!PQgetisnull(res, row, N_STATUS)) {
        fedi_json_key(j, "status");
        fedi_status_render_at(rq, j, res, row, N_STATUS, -1);
    }

    fedi_json_obj_close(j);
}


static void
fedi_notifications_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL || fedi_page_link(rq, res, rq->data) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (rq->filters && fedi_filters_hide(rq, res, i, N_STATUS)) {
            continue;
        }

        fedi_notification_render(rq, j, res, i);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* v2: the page's notifications folded into groups, accounts and
 * statuses once each */
static void
fedi_notifications_grouped(fedi_req_t *rq, PGresult *res)
{
    int            i, k, n;
    char           key[64];
    ngx_uint_t     g, ngroups, s;
    fedi_json_t   *j;
    fedi_group_t  *groups, *gr;

    n = PQntuples(res);

    groups = ngx_pcalloc(rq->r->pool, FEDI_GROUP_MAX * sizeof(fedi_group_t));
    j = fedi_json_new(rq);

    if (groups == NULL || j == NULL
        || fedi_page_link(rq, res, rq->data) != NGX_OK)
    {
        fedi_send_internal_error(rq);
        return;
    }

    ngroups = 0;

    for (i = 0; i < n; i++) {
        /* about a status a "hide" filter drops: not there at all */
        if (rq->filters && fedi_filters_hide(rq, res, i, N_STATUS)) {
            continue;
        }

        fedi_group_key(res, i, key, sizeof(key));

        for (g = 0; g < ngroups; g++) {
            if (ngx_strcmp(groups[g].key, key) == 0) {
                break;
            }
        }

        if (g == ngroups) {
            if (ngroups == FEDI_GROUP_MAX) {
                continue;
            }

            ngx_cpystrn((u_char *) groups[g].key, (u_char *) key,
                        sizeof(groups[g].key));
            groups[g].first = i;
            ngroups++;
        }

        gr = &groups[g];
        gr->last = i;
        gr->count++;

        for (s = 0; s < gr->nsample; s++) {
            if (ngx_strcmp(PQgetvalue(res, gr->sample[s], 0),
                           PQgetvalue(res, i, 0)) == 0)
            {
                break;
            }
        }

        if (s == gr->nsample && gr->nsample < FEDI_GROUP_SAMPLE) {
            gr->sample[gr->nsample++] = i;
        }
    }

    fedi_json_obj_open(j);

    /* each account once */
    fedi_json_key(j, "accounts");
    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        for (k = 0; k < i; k++) {
            if (ngx_strcmp(PQgetvalue(res, k, 0), PQgetvalue(res, i, 0))
                == 0)
            {
                break;
            }
        }

        if (k == i) {
            fedi_account_render(rq, j, res, i, 0);
        }
    }

    fedi_json_arr_close(j);

    /* each status once */
    fedi_json_key(j, "statuses");
    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (PQgetisnull(res, i, N_STATUS)
            || (rq->filters && fedi_filters_hide(rq, res, i, N_STATUS)))
        {
            continue;
        }

        for (k = 0; k < i; k++) {
            if (!PQgetisnull(res, k, N_STATUS)
                && ngx_strcmp(PQgetvalue(res, k, N_STATUS),
                              PQgetvalue(res, i, N_STATUS)) == 0)
            {
                break;
            }
        }

        if (k == i) {
            fedi_status_render_at(rq, j, res, i, N_STATUS, -1);
        }
    }

    fedi_json_arr_close(j);

    fedi_json_key(j, "notification_groups");
    fedi_json_arr_open(j);

    for (g = 0; g < ngroups; g++) {
        gr = &groups[g];

        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "group_key", gr->key);
        fedi_json_kint(j, "notifications_count", gr->count);
        fedi_json_kcstr(j, "type", PQgetvalue(res, gr->first, N_TYPE));
        fedi_json_kint(j, "most_recent_notification_id",
                       fedi_pg_int(res, gr->first, N_ID));
        fedi_json_kcstr(j, "page_min_id", PQgetvalue(res, gr->last, N_ID));
        fedi_json_kcstr(j, "page_max_id", PQgetvalue(res, gr->first, N_ID));
        fedi_json_kcstr(j, "latest_page_notification_at",
                        PQgetvalue(res, gr->first, N_CREATED));

        fedi_json_key(j, "sample_account_ids");
        fedi_json_arr_open(j);

        for (s = 0; s < gr->nsample; s++) {
            fedi_json_cstr(j, PQgetvalue(res, gr->sample[s], 0));
        }

        fedi_json_arr_close(j);

        fedi_json_kcstr(j, "status_id",
                        fedi_pg_val(res, gr->first, N_STATUS));
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_notification_get(fedi_req_t *rq)
{
    char  *id, *base;

    id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
    base = fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                      rq->mcf->base_url.len);

    if (id == NULL || base == NULL || id[strspn(id, "0123456789")] != '\0'
        || id[0] == '\0' || ngx_strlen(id) > 19)
    {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_NOTIFICATION_GET, fedi_notification_loaded, 3,
               rq->token->account_id, base, id);
}


static void
fedi_notification_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_notification_render(rq, j, res, 0);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_notifications_clear(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_NOTIFICATIONS_CLEAR, fedi_notifications_cleared,
               2, rq->token->account_id, NULL);
}


static void
api_notification_dismiss(fedi_req_t *rq)
{
    char  *id;

    id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);

    if (id == NULL || id[strspn(id, "0123456789")] != '\0' || id[0] == '\0'
        || ngx_strlen(id) > 19)
    {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_NOTIFICATIONS_CLEAR, fedi_notifications_cleared,
               2, rq->token->account_id, id);
}


static void
fedi_notifications_cleared(fedi_req_t *rq, PGresult *res)
{
    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}


static void
api_notifications_unread(fedi_req_t *rq)
{
    int64_t  limit;
    char    *l;

    limit = fedi_param_int(rq->params, "limit", 100, 1, 1000);

    l = ngx_pnalloc(rq->r->pool, NGX_INT64_LEN + 1);
    if (l == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_sprintf((u_char *) l, "%L%Z", limit);

    fedi_query(rq, FEDI_SQL_NOTIFICATIONS_UNREAD, fedi_notifications_counted,
               2, rq->token->account_id, l);
}


static void
fedi_notifications_counted(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kint(j, "count", fedi_pg_int(res, 0, 0));
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET /api/v2/notifications/:group_key/accounts */

static void
api_notification_group_accounts(fedi_req_t *rq)
{
    char  *key;

    key = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
    if (key == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_NOTIFICATION_GROUP_ACCOUNTS,
               fedi_accounts_loaded, 2, rq->token->account_id, key);
}
