/*
 * Copyright (C) ngx_fedi authors
 *
 * Following, blocks, mutes, follow requests, private notes, removing a
 * follower, and
 * the lists of accounts they make (blocks, mutes, follow requests,
 * followers, following), paged by the relation's own id.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_status.h"


/* the account lists: the account, mute_expires_at, the cursor */
#define L_EXPIRES  (FEDI_ACCOUNT_NCOLS)
#define L_CURSOR   (FEDI_ACCOUNT_NCOLS + 1)


static void api_follow(fedi_req_t *rq);
static void api_unfollow(fedi_req_t *rq);
static void api_block(fedi_req_t *rq);
static void api_unblock(fedi_req_t *rq);
static void api_mute(fedi_req_t *rq);
static void api_unmute(fedi_req_t *rq);
static void api_note(fedi_req_t *rq);
static void api_remove_from_followers(fedi_req_t *rq);
static void api_follow_request_authorize(fedi_req_t *rq);
static void api_follow_request_reject(fedi_req_t *rq);
static void fedi_follow_request_done(fedi_req_t *rq, PGresult *res);
static void fedi_acted(fedi_req_t *rq, PGresult *res);
static void fedi_relationship_send(fedi_req_t *rq, PGresult *res);
static void api_blocks(fedi_req_t *rq);
static void api_mutes(fedi_req_t *rq);
static void api_follow_requests(fedi_req_t *rq);
static void api_followers(fedi_req_t *rq);
static void api_favourited_by(fedi_req_t *rq);
static void api_reblogged_by(fedi_req_t *rq);
static void api_following(fedi_req_t *rq);
static void fedi_accounts_list(fedi_req_t *rq, fedi_sql_id_e stmt,
    const char *second);
static void fedi_accounts_listed(fedi_req_t *rq, PGresult *res);
static char *fedi_target(fedi_req_t *rq);


const fedi_route_t  fedi_routes_relationships[] = {
    { POST, "/api/v1/accounts/:id/follow", api_follow, "write:follows",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/unfollow", api_unfollow, "write:follows",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/block", api_block, "write:blocks",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/unblock", api_unblock, "write:blocks",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/mute", api_mute, "write:mutes",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/unmute", api_unmute, "write:mutes",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/note", api_note, "write:accounts",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/remove_from_followers",
      api_remove_from_followers, "write:follows", CORS|USER },
    { GET, "/api/v1/accounts/:id/followers", api_followers, NULL, CORS },
    { GET, "/api/v1/accounts/:id/following", api_following, NULL, CORS },
    { GET, "/api/v1/statuses/:id/favourited_by", api_favourited_by, NULL,
      CORS },
    { GET, "/api/v1/statuses/:id/reblogged_by", api_reblogged_by, NULL,
      CORS },
    { GET, "/api/v1/blocks", api_blocks, "read:blocks", CORS|USER },
    { GET, "/api/v1/mutes", api_mutes, "read:mutes", CORS|USER },
    { GET, "/api/v1/follow_requests", api_follow_requests, "read:follows",
      CORS|USER },
    { POST, "/api/v1/follow_requests/:id/authorize",
      api_follow_request_authorize, "write:follows", CORS|USER },
    { POST, "/api/v1/follow_requests/:id/reject",
      api_follow_request_reject, "write:follows", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* the :id of the path, if it is an id; 404 otherwise (answered here) */
static char *
fedi_target(fedi_req_t *rq)
{
    size_t  k;

    if (rq->args[0].len == 0 || rq->args[0].len > 19) {
        goto bad;
    }

    for (k = 0; k < rq->args[0].len; k++) {
        if (rq->args[0].data[k] < '0' || rq->args[0].data[k] > '9') {
            goto bad;
        }
    }

    rq->data = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
    if (rq->data == NULL) {
        fedi_send_internal_error(rq);
    }

    return rq->data;

bad:

    fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
    return NULL;
}


/* local accounts: at once, or a request when locked; idempotent */
static void
api_follow(fedi_req_t *rq)
{
    int          b;
    const char  *reblogs, *notify;

    if (fedi_target(rq) == NULL) {
        return;
    }

    b = fedi_param_bool(rq->params, "reblogs", -1);
    reblogs = b < 0 ? NULL : (b ? "true" : "false");
    b = fedi_param_bool(rq->params, "notify", -1);
    notify = b < 0 ? NULL : (b ? "true" : "false");

    fedi_query(rq, FEDI_SQL_FOLLOW, fedi_acted, 4, rq->token->account_id,
               rq->data, reblogs, notify);
}


static void
api_unfollow(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_UNFOLLOW, fedi_acted, 2,
                   rq->token->account_id, rq->data);
    }
}


static void
api_block(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_BLOCK, fedi_acted, 3, rq->token->account_id,
                   rq->data, "true");
    }
}


static void
api_unblock(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_BLOCK, fedi_acted, 3, rq->token->account_id,
                   rq->data, "false");
    }
}


static void
api_mute(fedi_req_t *rq)
{
    char     *dur;
    int64_t   d;

    if (fedi_target(rq) == NULL) {
        return;
    }

    d = fedi_param_int(rq->params, "duration", 0, 0, 10 * 365 * 86400);

    dur = ngx_pnalloc(rq->r->pool, NGX_INT64_LEN + 1);
    if (dur == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_sprintf((u_char *) dur, "%L%Z", d);

    fedi_query(rq, FEDI_SQL_MUTE, fedi_acted, 5, rq->token->account_id,
               rq->data, "true",
               fedi_param_bool(rq->params, "notifications", 1)
               ? "true" : "false", dur);
}


static void
api_unmute(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_MUTE, fedi_acted, 5, rq->token->account_id,
                   rq->data, "false", NULL, NULL);
    }
}


static void
api_note(fedi_req_t *rq)
{
    const char  *comment;

    if (fedi_target(rq) == NULL) {
        return;
    }

    comment = fedi_param_str(rq->params, "comment");
    if (comment == NULL) {
        comment = "";
    }

    if (ngx_strlen(comment) > 2000) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Comment is too long");
        return;
    }

    fedi_query(rq, FEDI_SQL_NOTE, fedi_acted, 3, rq->token->account_id,
               rq->data, comment);
}


static void
api_remove_from_followers(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_REMOVE_FOLLOWER, fedi_acted, 2,
                   rq->token->account_id, rq->data);
    }
}


static void
api_follow_request_authorize(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_FOLLOW_REQUEST, fedi_follow_request_done, 3,
                   rq->token->account_id, rq->data, "true");
    }
}


static void
api_follow_request_reject(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_FOLLOW_REQUEST, fedi_follow_request_done, 3,
                   rq->token->account_id, rq->data, "false");
    }
}


static void
fedi_follow_request_done(fedi_req_t *rq, PGresult *res)
{
    if (!fedi_pg_bool(res, 0, 0)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_acted(rq, res);
}


/* after an action on the account in rq->data: its Relationship */
static void
fedi_acted(fedi_req_t *rq, PGresult *res)
{
    u_char  *ids;

    if (PQntuples(res) != 1) {
        /* no such account, oneself, or (for now) a remote one */
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    ids = ngx_pnalloc(rq->r->pool, ngx_strlen(rq->data) + 3);
    if (ids == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_sprintf(ids, "{%s}%Z", (char *) rq->data);

    fedi_query(rq, FEDI_SQL_RELATIONSHIPS, fedi_relationship_send, 2,
               rq->token->account_id, (char *) ids);
}


static void
fedi_relationship_send(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_relationship_render(j, res, 0, 0);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* lists of accounts */

static void
api_blocks(fedi_req_t *rq)
{
    fedi_accounts_list(rq, FEDI_SQL_BLOCKS_LIST, NULL);
}


static void
api_mutes(fedi_req_t *rq)
{
    fedi_accounts_list(rq, FEDI_SQL_MUTES_LIST, NULL);
}


static void
api_follow_requests(fedi_req_t *rq)
{
    fedi_accounts_list(rq, FEDI_SQL_FOLLOW_REQUESTS_LIST, NULL);
}


static void
api_followers(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_accounts_list(rq, FEDI_SQL_FOLLOWERS_LIST, rq->data);
    }
}


static void
api_following(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_accounts_list(rq, FEDI_SQL_FOLLOWING_LIST, rq->data);
    }
}


static void
api_favourited_by(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_accounts_list(rq, FEDI_SQL_FAVOURITED_BY, rq->data);
    }
}


static void
api_reblogged_by(fedi_req_t *rq)
{
    if (fedi_target(rq)) {
        fedi_accounts_list(rq, FEDI_SQL_REBLOGGED_BY, rq->data);
    }
}


/* second: the account whose list it is ($2), or NULL: the viewer's */
static void
fedi_accounts_list(fedi_req_t *rq, fedi_sql_id_e stmt, const char *second)
{
    fedi_page_t  *pg;

    pg = ngx_pcalloc(rq->r->pool, sizeof(fedi_page_t));
    if (pg == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = pg;
    fedi_page_params(rq, pg, 40, 80);
    pg->cursor = L_CURSOR;

    fedi_query(rq, stmt, fedi_accounts_listed, 6,
               (rq->token && rq->token->has_user) ? rq->token->account_id
                                                  : NULL,
               second, pg->bound[0], pg->bound[1], pg->bound[2],
               pg->limit_str);
}


static void
fedi_accounts_listed(fedi_req_t *rq, PGresult *res)
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
        fedi_json_obj_open(j);
        fedi_account_fields(rq, j, res, i, 0);

        if (rq->route->handler == api_mutes) {
            fedi_json_kcstr(j, "mute_expires_at",
                            fedi_pg_val(res, i, L_EXPIRES));
        }

        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
