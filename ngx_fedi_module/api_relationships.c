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
static ngx_int_t fedi_follow_languages(fedi_req_t *rq);
static void fedi_followed(fedi_req_t *rq, PGresult *res);
static void api_endorse(fedi_req_t *rq);
static void fedi_endorsed(fedi_req_t *rq, PGresult *res);
static void api_endorsements(fedi_req_t *rq);
static void api_domain_blocks(fedi_req_t *rq);
static void api_domain_block(fedi_req_t *rq);
static void fedi_domain_blocked(fedi_req_t *rq, PGresult *res);


typedef struct {
    char        *target;
    char        *languages;     /* '{en,de}', or NULL: not given */
} fedi_follow_t;


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
    { POST, "/api/v1/accounts/:id/pin", api_endorse, "write:accounts",
      CORS|USER },
    { POST, "/api/v1/accounts/:id/unpin", api_endorse, "write:accounts",
      CORS|USER },
    { GET, "/api/v1/endorsements", api_endorsements, "read:accounts",
      CORS|USER },
    { GET, "/api/v1/domain_blocks", api_domain_blocks, "read:blocks",
      CORS|USER },
    { POST|DELETE, "/api/v1/domain_blocks", api_domain_block,
      "write:blocks", CORS|USER },
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

    if (fedi_follow_languages(rq) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_FOLLOW, fedi_followed, 4, rq->token->account_id,
               ((fedi_follow_t *) rq->data)->target, reblogs, notify);
}


/*
 * languages[]: the languages wanted from the account ('{en,de}' in
 * ps->languages, or NULL when not given); 422 for what is not a code
 */
static ngx_int_t
fedi_follow_languages(fedi_req_t *rq)
{
    u_char           *p;
    size_t            n, i;
    const char       *l[16];
    fedi_follow_t    *fo;

    fo = ngx_pcalloc(rq->r->pool, sizeof(fedi_follow_t));
    if (fo == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    fo->target = rq->data;
    rq->data = fo;

    if (json_object_get(rq->params, "languages") == NULL) {
        return NGX_OK;
    }

    n = fedi_param_strs(rq->params, "languages", l, 16);

    p = ngx_pnalloc(rq->r->pool, 3 + 17 * n);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    fo->languages = (char *) p;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (l[i][0] == '\0' || ngx_strlen(l[i]) > 16
            || l[i][strspn(l[i], "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ-")] != '\0')
        {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Languages are invalid");
            return NGX_ERROR;
        }

        p = ngx_sprintf(p, "%s%s", i ? "," : "", l[i]);
    }

    *p++ = '}';
    *p = '\0';

    return NGX_OK;
}


static void
fedi_followed(fedi_req_t *rq, PGresult *res)
{
    fedi_follow_t  *fo = rq->data;

    rq->data = fo->target;

    if (PQntuples(res) != 1 || fo->languages == NULL) {
        fedi_acted(rq, res);
        return;
    }

    fedi_query(rq, FEDI_SQL_FOLLOW_LANGUAGES, fedi_acted, 3,
               rq->token->account_id, fo->target, fo->languages);
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

    j = fedi_json_one(rq, res);
    if (j == NULL) {
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

    pg = fedi_page_new(rq, 40, 80);
    if (pg == NULL) {
        return;
    }
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
    int           i, n, domains;
    fedi_json_t  *j;

    domains = (rq->route->handler == api_domain_blocks);

    if (domains) {
        ((fedi_page_t *) rq->data)->cursor = 1;    /* domain, cursor */
    }

    j = fedi_json_new(rq);
    if (j == NULL || fedi_page_link(rq, res, rq->data) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (domains) {
            fedi_json_cstr(j, PQgetvalue(res, i, 0));
            continue;
        }

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


/* POST /api/v1/accounts/:id/pin and /unpin: endorse an account one
 * follows (featured on one's profile), or not */

static void
api_endorse(fedi_req_t *rq)
{
    ngx_str_t  *uri = &rq->r->uri;

    if (fedi_target(rq)) {
        fedi_query(rq, FEDI_SQL_ENDORSE, fedi_endorsed, 3,
                   rq->token->account_id, rq->data,
                   ngx_strncmp(uri->data + uri->len - 4, "/pin", 4) == 0
                   ? "true" : "false");
    }
}


static void
fedi_endorsed(fedi_req_t *rq, PGresult *res)
{
    const char  *v;

    v = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(v, "not_following") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: You must be following this "
                        "account to endorse it");
        return;
    }

    if (ngx_strcmp(v, "ok") != 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_acted(rq, res);
}


static void
api_endorsements(fedi_req_t *rq)
{
    fedi_accounts_list(rq, FEDI_SQL_ENDORSEMENTS_LIST, NULL);
}


/* GET /api/v1/domain_blocks: the domains, as strings (see
 * fedi_accounts_listed) */

static void
api_domain_blocks(fedi_req_t *rq)
{
    fedi_accounts_list(rq, FEDI_SQL_USER_DOMAIN_BLOCKS_LIST, NULL);
}


/* POST and DELETE /api/v1/domain_blocks (domain=): an empty object */

static void
api_domain_block(fedi_req_t *rq)
{
    const char  *domain;

    domain = fedi_param_str(rq->params, "domain");
    if (domain == NULL || domain[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Domain can't be blank");
        return;
    }

    fedi_query(rq, FEDI_SQL_USER_DOMAIN_BLOCK, fedi_domain_blocked, 3,
               rq->token->account_id, domain,
               rq->r->method == NGX_HTTP_POST ? "true" : "false");
}


static void
fedi_domain_blocked(fedi_req_t *rq, PGresult *res)
{
    if (ngx_strcmp(PQgetvalue(res, 0, 0), "ok") != 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Domain is not a domain name");
        return;
    }

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}
