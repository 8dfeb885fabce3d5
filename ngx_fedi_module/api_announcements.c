/*
 * Copyright (C) ngx_fedi authors
 *
 * Announcements, as Mastodon's: the published ones for a user (read:
 * dismissed), dismissing, and reactions (a unicode emoji or a local
 * custom emoji's shortcode, eight different ones at most).  The operator
 * adds them with `fedictl announcements`; the streaming API tells users
 * through fedi_announcement_render() too.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_emoji.h"
#include "fedi_html.h"
#include "fedi_announcement.h"
#include "ap.h"


/* the columns of FEDI_ANNOUNCEMENT_COLS */
enum {
    AN_ID = 0, AN_TEXT, AN_STARTS, AN_ENDS, AN_ALL_DAY, AN_PUBLISHED,
    AN_UPDATED, AN_READ, AN_REACTIONS, AN_EMOJIS, AN_MENTIONS
};


typedef struct {
    ngx_pool_t   *pool;
    json_t       *mentions;
    ngx_array_t   tags;          /* of ngx_str_t, lower case */
    u_char        url[1024];
} fedi_an_ctx_t;


static void api_announcements(fedi_req_t *rq);
static void fedi_announcements_loaded(fedi_req_t *rq, PGresult *res);
static void api_announcement_dismiss(fedi_req_t *rq);
static void fedi_announcement_dismissed(fedi_req_t *rq, PGresult *res);
static void api_announcement_react(fedi_req_t *rq);
static void fedi_announcement_reacted(fedi_req_t *rq, PGresult *res);
static void api_announcement_unreact(fedi_req_t *rq);
static void fedi_announcement_unreacted(fedi_req_t *rq, PGresult *res);
static ngx_int_t fedi_announcement_reaction(fedi_req_t *rq, char **id,
    char **name);
static void fedi_announcement_content(fedi_req_t *rq, ngx_pool_t *pool,
    fedi_json_t *j, PGresult *res, int row, fedi_an_ctx_t *ctx);
static const char *fedi_an_mention(void *data, const char *user,
    size_t ulen, const char *domain, size_t dlen);
static void fedi_an_tag(void *data, const char *name, size_t len);
static void *fedi_an_alloc(void *ctx, size_t size);
static ngx_uint_t fedi_utf8_valid(u_char *p, size_t n);


const fedi_route_t  fedi_routes_announcements[] = {
    { GET, "/api/v1/announcements", api_announcements, NULL, CORS|USER },
    { POST, "/api/v1/announcements/:id/dismiss", api_announcement_dismiss,
      "write:accounts", CORS|USER },
    { PUT, "/api/v1/announcements/:id/reactions/:name",
      api_announcement_react, "write:favourites", CORS|USER },
    { DELETE, "/api/v1/announcements/:id/reactions/:name",
      api_announcement_unreact, "write:favourites", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


static void
api_announcements(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_ANNOUNCEMENTS, fedi_announcements_loaded, 2,
               rq->token->account_id,
               fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                          rq->mcf->base_url.len));
}


static void
fedi_announcements_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        fedi_announcement_render(rq, rq->r->pool, j, res, i, 1);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/*
 * The Announcement entity; viewer: with "read" and each reaction's "me"
 * (the streaming API's payload, for everyone, has neither).  pool holds
 * what rendering the content needs for a while.
 */
void
fedi_announcement_render(fedi_req_t *rq, ngx_pool_t *pool, fedi_json_t *j,
    PGresult *res, int row, ngx_uint_t viewer)
{
    size_t          i;
    json_t         *list, *a;
    ngx_str_t      *tag;
    ngx_uint_t      k;
    fedi_an_ctx_t   ctx;

    ngx_memzero(&ctx, sizeof(fedi_an_ctx_t));
    ctx.pool = pool;

    if (ngx_array_init(&ctx.tags, pool, 4, sizeof(ngx_str_t)) != NGX_OK) {
        j->error = 1;
        return;
    }

    if (!PQgetisnull(res, row, AN_MENTIONS)) {
        ctx.mentions = json_loadb(PQgetvalue(res, row, AN_MENTIONS),
                                  PQgetlength(res, row, AN_MENTIONS), 0,
                                  NULL);
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, row, AN_ID));
    fedi_announcement_content(rq, pool, j, res, row, &ctx);
    fedi_json_kcstr(j, "starts_at", fedi_pg_val(res, row, AN_STARTS));
    fedi_json_kcstr(j, "ends_at", fedi_pg_val(res, row, AN_ENDS));
    fedi_json_kbool(j, "all_day", fedi_pg_bool(res, row, AN_ALL_DAY));
    fedi_json_kcstr(j, "published_at", fedi_pg_val(res, row, AN_PUBLISHED));
    fedi_json_kcstr(j, "updated_at", PQgetvalue(res, row, AN_UPDATED));

    if (viewer) {
        fedi_json_kbool(j, "read", fedi_pg_bool(res, row, AN_READ));
    }

    fedi_json_key(j, "mentions");
    fedi_json_arr_open(j);

    json_array_foreach(ctx.mentions, i, a) {
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "id", json_string_value(json_object_get(a, "id")));
        fedi_json_kcstr(j, "username",
                        json_string_value(json_object_get(a, "username")));
        fedi_json_kcstr(j, "url",
                        json_string_value(json_object_get(a, "url")));
        fedi_json_kcstr(j, "acct",
                        json_string_value(json_object_get(a, "acct")));
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    json_decref(ctx.mentions);

    /* links to statuses here are not looked up yet */
    fedi_json_key(j, "statuses");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);

    fedi_json_key(j, "tags");
    fedi_json_arr_open(j);

    tag = ctx.tags.elts;

    for (k = 0; k < ctx.tags.nelts; k++) {
        fedi_json_obj_open(j);
        fedi_json_kstr(j, "name", tag[k].data, tag[k].len);
        fedi_ap_kurl(j, "url", "%V/tags/%V", &rq->mcf->base_url, &tag[k]);
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    fedi_emojis_render(rq, j, res, row, AN_EMOJIS);

    fedi_json_key(j, "reactions");
    fedi_json_arr_open(j);

    if (!PQgetisnull(res, row, AN_REACTIONS)) {
        list = json_loadb(PQgetvalue(res, row, AN_REACTIONS),
                          PQgetlength(res, row, AN_REACTIONS), 0, NULL);

        json_array_foreach(list, i, a) {
            fedi_json_obj_open(j);
            fedi_json_kcstr(j, "name",
                            json_string_value(json_array_get(a, 0)));
            fedi_json_kint(j, "count",
                           json_integer_value(json_array_get(a, 1)));

            if (viewer) {
                fedi_json_kbool(j, "me", json_is_true(json_array_get(a, 2)));
            }

            if (json_is_string(json_array_get(a, 3))
                || json_is_string(json_array_get(a, 4)))
            {
                fedi_emoji_kurl(rq, j, "url",
                                json_string_value(json_array_get(a, 3)),
                                json_string_value(json_array_get(a, 4)));
                fedi_emoji_kurl(rq, j, "static_url",
                                json_string_value(json_array_get(a, 3)),
                                json_string_value(json_array_get(a, 5)));
            }

            fedi_json_obj_close(j);
        }

        json_decref(list);
    }

    fedi_json_arr_close(j);

    fedi_json_obj_close(j);
}


/* the payload of announcement.reaction: a row of ANNOUNCEMENT_REACTION */
void
fedi_announcement_reaction_render(fedi_req_t *rq, fedi_json_t *j,
    PGresult *res, int row, const char *announcement)
{
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "name", PQgetvalue(res, row, 0));
    fedi_json_kint(j, "count", fedi_pg_int(res, row, 1));

    if (!PQgetisnull(res, row, 2) || !PQgetisnull(res, row, 3)) {
        fedi_emoji_kurl(rq, j, "url", fedi_pg_val(res, row, 2),
                        fedi_pg_val(res, row, 3));
        fedi_emoji_kurl(rq, j, "static_url", fedi_pg_val(res, row, 2),
                        fedi_pg_val(res, row, 4));
    }

    fedi_json_kcstr(j, "announcement_id", announcement);
    fedi_json_obj_close(j);
}


/* content: the text as Mastodon's linkify makes it HTML */
static void
fedi_announcement_content(fedi_req_t *rq, ngx_pool_t *pool, fedi_json_t *j,
    PGresult *res, int row, fedi_an_ctx_t *ctx)
{
    long              n;
    u_char           *p;
    fedi_json_t       h;
    fedi_text_ctx_t   tc;

    fedi_json_init(&h, fedi_an_alloc, pool);

    tc.base_url = fedi_pstrz(pool, rq->mcf->base_url.data,
                             rq->mcf->base_url.len);
    tc.mention = fedi_an_mention;
    tc.tag = fedi_an_tag;
    tc.data = ctx;

    if (tc.base_url == NULL) {
        j->error = 1;
        return;
    }

    fedi_text_format(&h, PQgetvalue(res, row, AN_TEXT),
                     PQgetlength(res, row, AN_TEXT), &tc);

    p = ngx_pnalloc(pool, h.size + 1);
    if (p == NULL || h.error) {
        j->error = 1;
        return;
    }

    n = fedi_json_flatten(&h, p, h.size + 1);
    if (n < 0) {
        j->error = 1;
        return;
    }

    fedi_json_kstr(j, "content", p, n);
}


/* a mention's profile URL, when the statement found the account */
static const char *
fedi_an_mention(void *data, const char *user, size_t ulen,
    const char *domain, size_t dlen)
{
    fedi_an_ctx_t  *ctx = data;

    u_char      *p;
    size_t       i;
    json_t      *a;
    const char  *acct, *url;

    p = ngx_snprintf(ctx->url, sizeof(ctx->url) - 1, "%*s", ulen, user);
    if (dlen) {
        p = ngx_snprintf(p, ctx->url + sizeof(ctx->url) - 1 - p, "@%*s",
                         dlen, domain);
    }

    *p = '\0';

    json_array_foreach(ctx->mentions, i, a) {
        acct = json_string_value(json_object_get(a, "acct"));
        url = json_string_value(json_object_get(a, "url"));

        if (acct == NULL || url == NULL) {
            continue;
        }

        /* user@here is the local user */
        if (ngx_strcasecmp((u_char *) acct, ctx->url) == 0
            || (dlen && ngx_strchr(acct, '@') == NULL
                && ngx_strlen(acct) == ulen
                && ngx_strncasecmp((u_char *) acct, (u_char *) user, ulen)
                   == 0))
        {
            return url;
        }
    }

    return NULL;
}


static void
fedi_an_tag(void *data, const char *name, size_t len)
{
    fedi_an_ctx_t  *ctx = data;

    u_char      *p;
    ngx_str_t   *t;
    ngx_uint_t   i;

    t = ctx->tags.elts;

    for (i = 0; i < ctx->tags.nelts; i++) {
        if (t[i].len == len
            && ngx_strncasecmp(t[i].data, (u_char *) name, len) == 0)
        {
            return;
        }
    }

    p = ngx_pnalloc(ctx->pool, len);
    t = ngx_array_push(&ctx->tags);
    if (p == NULL || t == NULL) {
        return;
    }

    ngx_strlow(p, (u_char *) name, len);
    t->data = p;
    t->len = len;
}


static ngx_uint_t
fedi_utf8_valid(u_char *p, size_t n)
{
    u_char  *end;

    for (end = p + n; p < end; /* void */) {
        if (*p < 0x80) {
            p++;

        } else if (ngx_utf8_decode(&p, end - p) > 0x10FFFF) {
            return 0;
        }
    }

    return 1;
}


static void *
fedi_an_alloc(void *ctx, size_t size)
{
    return ngx_palloc((ngx_pool_t *) ctx, size);
}


static void
api_announcement_dismiss(fedi_req_t *rq)
{
    char  *id;

    id = fedi_path_id(rq, 0);
    if (id == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_ANNOUNCEMENT_DISMISS, fedi_announcement_dismissed,
               2, rq->token->account_id, id);
}


static void
fedi_announcement_dismissed(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}


/*
 * The path's announcement id and reaction name (percent-decoded);
 * NGX_DECLINED after answering 404 or 500
 */
static ngx_int_t
fedi_announcement_reaction(fedi_req_t *rq, char **id, char **name)
{
    u_char  *p, *dst, *src;

    *id = fedi_path_id(rq, 0);
    if (*id == NULL) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(rq->r->pool, rq->args[1].len + 1);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return NGX_DECLINED;
    }

    dst = p;
    src = rq->args[1].data;
    ngx_unescape_uri(&dst, &src, rq->args[1].len, NGX_UNESCAPE_URI);
    *dst = '\0';

    if (dst == p || ngx_strlen(p) != (size_t) (dst - p)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NGX_DECLINED;
    }

    /* what is no UTF-8 names no emoji (nor may it reach PostgreSQL) */
    if (!fedi_utf8_valid(p, dst - p)) {
        if (rq->r->method == NGX_HTTP_PUT) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Name is not a recognized"
                            " emoji");
        } else {
            fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        }

        return NGX_DECLINED;
    }

    *name = (char *) p;

    return NGX_OK;
}


static void
api_announcement_react(fedi_req_t *rq)
{
    char  *id, *name;

    if (fedi_announcement_reaction(rq, &id, &name) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_ANNOUNCEMENT_REACT, fedi_announcement_reacted, 4,
               rq->token->account_id, id, name,
               fedi_emoji_unicode((u_char *) name, ngx_strlen(name))
               ? "t" : "f");
}


/* Mastodon's answers: its validation errors, and 'Duplicate record' */
static void
fedi_announcement_reacted(fedi_req_t *rq, PGresult *res)
{
    const char  *outcome;

    outcome = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(outcome, "ok") == 0) {
        fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                        (u_char *) "{}", 2);

    } else if (ngx_strcmp(outcome, "not_found") == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");

    } else if (ngx_strcmp(outcome, "unrecognized") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Name is not a recognized emoji");

    } else if (ngx_strcmp(outcome, "limit") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Limit of different "
                        "reactions reached");

    } else {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Duplicate record");
    }
}


static void
api_announcement_unreact(fedi_req_t *rq)
{
    char  *id, *name;

    if (fedi_announcement_reaction(rq, &id, &name) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_ANNOUNCEMENT_UNREACT, fedi_announcement_unreacted,
               3, rq->token->account_id, id, name);
}


static void
fedi_announcement_unreacted(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}
