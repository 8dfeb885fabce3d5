/*
 * Copyright (C) ngx_fedi authors
 *
 * The Status entity, from the columns of FEDI_STATUS_COLS; and the
 * pagination every timeline shares: max_id / since_id / min_id / limit in,
 * Link headers out, as Mastodon.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_status.h"
#include "fedi_filters.h"
#include "fedi_emoji.h"


enum {
    S_ID = 0, S_CREATED_AT, S_REPLY_ID, S_REPLY_ACCOUNT, S_SENSITIVE,
    S_SPOILER, S_VISIBILITY, S_LANGUAGE, S_URI, S_URL, S_REPLIES, S_REBLOGS,
    S_FAVOURITES, S_EDITED_AT, S_CONTENT, S_APP_NAME, S_APP_WEBSITE,
    S_MENTIONS, S_TAGS, S_FAVOURITED, S_BOOKMARKED, S_REBLOGGED, S_PINNED,
    S_POLL, S_MUTED, S_MEDIA, S_EMOJIS
};


static void fedi_kval(fedi_json_t *j, const char *key, PGresult *res,
    int row, int col);


static void
fedi_kval(fedi_json_t *j, const char *key, PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        fedi_json_knull(j, key);
        return;
    }

    fedi_json_kstr(j, key, (u_char *) PQgetvalue(res, row, col),
                   PQgetlength(res, row, col));
}


static void fedi_status_render_one(fedi_req_t *rq, fedi_json_t *j,
    PGresult *res, int row, int c, int text_col, ngx_uint_t outer);


void
fedi_status_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row)
{
    fedi_status_render_at(rq, j, res, row, 0, -1);
}


void
fedi_status_render_text(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int text_col)
{
    fedi_status_render_at(rq, j, res, row, 0, text_col);
}


/*
 * The status whose columns start at c; with text_col >= 0, also "text":
 * the source, as DELETE answers it
 */
void
fedi_status_render_at(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c, int text_col)
{
    fedi_status_render_one(rq, j, res, row, c, text_col, 1);
}


/*
 * The members no viewer changes, from the block at c: what the status
 * cache (fedi_status_cache.c) keeps, after "{"
 */
void
fedi_status_render_fixed(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c)
{
    fedi_kval(j, "id", res, row, c + S_ID);
    fedi_kval(j, "created_at", res, row, c + S_CREATED_AT);
    fedi_kval(j, "in_reply_to_id", res, row, c + S_REPLY_ID);
    fedi_kval(j, "in_reply_to_account_id", res, row, c + S_REPLY_ACCOUNT);
    fedi_json_kbool(j, "sensitive", fedi_pg_bool(res, row, c + S_SENSITIVE));
    fedi_kval(j, "spoiler_text", res, row, c + S_SPOILER);
    fedi_kval(j, "visibility", res, row, c + S_VISIBILITY);
    fedi_kval(j, "language", res, row, c + S_LANGUAGE);
    fedi_kval(j, "uri", res, row, c + S_URI);
    fedi_kval(j, "url", res, row, c + S_URL);
    fedi_json_kint(j, "replies_count", fedi_pg_int(res, row, c + S_REPLIES));
    fedi_json_kint(j, "reblogs_count", fedi_pg_int(res, row, c + S_REBLOGS));
    fedi_json_kint(j, "favourites_count",
                   fedi_pg_int(res, row, c + S_FAVOURITES));
    fedi_kval(j, "edited_at", res, row, c + S_EDITED_AT);
    fedi_kval(j, "content", res, row, c + S_CONTENT);

    if (PQgetisnull(res, row, c + S_APP_NAME)) {
        fedi_json_knull(j, "application");

    } else {
        fedi_json_key(j, "application");
        fedi_json_obj_open(j);
        fedi_kval(j, "name", res, row, c + S_APP_NAME);
        fedi_kval(j, "website", res, row, c + S_APP_WEBSITE);
        fedi_json_obj_close(j);
    }

    fedi_json_key(j, "account");
    fedi_account_render(rq, j, res, row, c + FEDI_STATUS_NCOLS);

    fedi_media_render_list(rq, j, res, row, c + S_MEDIA);

    fedi_json_kraw(j, "mentions", (u_char *) PQgetvalue(res, row, c + S_MENTIONS),
                   PQgetlength(res, row, c + S_MENTIONS));
    fedi_json_kraw(j, "tags", (u_char *) PQgetvalue(res, row, c + S_TAGS),
                   PQgetlength(res, row, c + S_TAGS));

    fedi_emojis_render(rq, j, res, row, c + S_EMOJIS);

    fedi_json_knull(j, "card");
}


/*
 * The viewer's marks, from the columns FEDI_STATUS_MARKS_OF gives at m,
 * as members ("\"favourited\":false,...") in the request's pool: the
 * full render and the cache's add them alike.  Only for a user: empty
 * otherwise.  (The poll, at m + 4, is the caller's.)
 */
ngx_int_t
fedi_status_marks(fedi_req_t *rq, PGresult *res, int row, int m,
    ngx_str_t *out)
{
    u_char  *p;
    size_t   len;

    out->len = 0;
    out->data = NULL;

    if (rq->token == NULL || !rq->token->has_user) {
        return NGX_OK;
    }

#define FEDI_TF(col)  (fedi_pg_bool(res, row, col) ? "true" : "false")

    len = sizeof("\"favourited\":false,\"reblogged\":false,"
                 "\"muted\":false,\"bookmarked\":false,\"pinned\":false");

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = p;
    p = ngx_sprintf(p, "\"favourited\":%s,\"reblogged\":%s,"
                    "\"muted\":%s,\"bookmarked\":%s,\"pinned\":%s",
                    FEDI_TF(m), FEDI_TF(m + 2), FEDI_TF(m + 5),
                    FEDI_TF(m + 1), FEDI_TF(m + 3));
    out->len = p - out->data;

#undef FEDI_TF

    return NGX_OK;
}


/* a boost carries the boosted status, rendered from the next block */
static void
fedi_status_render_one(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c, int text_col, ngx_uint_t outer)
{
    ngx_str_t  marks;

    fedi_json_obj_open(j);

    if (text_col >= 0) {
        fedi_kval(j, "text", res, row, text_col);
    }

    fedi_status_render_fixed(rq, j, res, row, c);

    if (fedi_status_marks(rq, res, row, c + S_FAVOURITED, &marks)
        != NGX_OK)
    {
        j->error = 1;
        return;
    }

    if (marks.len) {
        fedi_json_members(j, marks.data, marks.len);
    }

    if (PQgetisnull(res, row, c + S_POLL)) {
        fedi_json_knull(j, "poll");

    } else {
        fedi_json_kraw(j, "poll", (u_char *) PQgetvalue(res, row, c + S_POLL),
                       PQgetlength(res, row, c + S_POLL));
    }

    /* the matches of the outer status: a boost and its boosted share them */
    fedi_json_key(j, "filtered");
    fedi_filters_render(rq, j, res, row, outer ? c : c - FEDI_STATUS_BLOCK);

    if (outer && !PQgetisnull(res, row, c + FEDI_STATUS_BLOCK)) {
        fedi_json_key(j, "reblog");
        fedi_status_render_one(rq, j, res, row, c + FEDI_STATUS_BLOCK, -1, 0);

    } else {
        fedi_json_knull(j, "reblog");
    }

    fedi_json_obj_close(j);
}


/*
 * A page of a list: its bounds from the parameters, as strings for the
 * statement, and its limit (def when not given, max at most); the handler's
 * state (rq->data) from now on.  NULL after answering 500.
 */
fedi_page_t *
fedi_page_new(fedi_req_t *rq, ngx_uint_t def, ngx_uint_t max)
{
    static const char  *keys[3] = { "max_id", "since_id", "min_id" };

    ngx_uint_t    i;
    const char   *v, *p;
    fedi_page_t  *pg;

    pg = ngx_pcalloc(rq->r->pool, sizeof(fedi_page_t));
    if (pg == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    rq->data = pg;

    for (i = 0; i < 3; i++) {
        v = fedi_param_str(rq->params, keys[i]);
        pg->bound[i] = NULL;

        if (v == NULL || v[0] == '\0') {
            continue;
        }

        for (p = v; *p >= '0' && *p <= '9'; p++) { /* void */ }

        /* Mastodon ignores a cursor that is not an id */
        if (*p == '\0' && p - v <= 19) {
            pg->bound[i] = v;
        }
    }

    pg->limit = (ngx_uint_t) fedi_param_int(rq->params, "limit", def, 1, max);
    ngx_sprintf((u_char *) pg->limit_str, "%ui%Z", pg->limit);

    return pg;
}


/*
 * Link: <...?max_id=LAST>; rel="next", <...?min_id=FIRST>; rel="prev"
 * from the ids of the first and last rows, when there are rows.
 */
ngx_int_t
fedi_page_link(fedi_req_t *rq, PGresult *res, fedi_page_t *pg)
{
    int         n;
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    n = PQntuples(res);
    if (n == 0) {
        return NGX_OK;
    }

    len = 2 * (rq->mcf->base_url.len + rq->r->uri.len) + 128
          + PQgetlength(res, 0, pg->cursor)
          + PQgetlength(res, n - 1, pg->cursor);

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    p = ngx_snprintf(p, len, "<%V%V?limit=%s&max_id=%s>; rel=\"next\", "
                     "<%V%V?limit=%s&min_id=%s>; rel=\"prev\"",
                     &rq->mcf->base_url, &rq->r->uri, pg->limit_str,
                     PQgetvalue(res, n - 1, pg->cursor),
                     &rq->mcf->base_url, &rq->r->uri, pg->limit_str,
                     PQgetvalue(res, 0, pg->cursor));
    v.len = p - v.data;

    return fedi_add_header(rq, "Link", &v);
}


/* an array of statuses with the Link header: every timeline's answer */
void
fedi_statuses_send(fedi_req_t *rq, PGresult *res, fedi_page_t *pg)
{
    int           i, n;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL || (pg && fedi_page_link(rq, res, pg) != NGX_OK)) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (rq->filters && fedi_filters_hide(rq, res, i, 0)) {
            continue;
        }

        fedi_status_render(rq, j, res, i);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
