/*
 * Copyright (C) ngx_fedi authors
 *
 * Statuses and timelines: posting (text to Mastodon's HTML with
 * links, local mentions and hashtags), reading and deleting a status, the
 * home, public, hashtag and account timelines with Mastodon's
 * pagination.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap_resolve.h"
#include "fedi_html.h"
#include "fedi_account.h"
#include "fedi_status.h"
#include "fedi_status_cache.h"
#include "fedi_filters.h"


#define FEDI_MAX_MENTIONS  32


typedef struct {
    const char      *text;
    const char      *spoiler;
    const char      *visibility;
    const char      *language;
    const char      *reply;
    ngx_uint_t       sensitive;
    /* the accounts mentioned: user, and domain for remote ones (empty
     * for local); then their ids once looked up */
    ngx_str_t        users[FEDI_MAX_MENTIONS];
    ngx_str_t        domains[FEDI_MAX_MENTIONS];
    u_char           tried[FEDI_MAX_MENTIONS];   /* resolved remotely */
    ngx_uint_t       nusers;
    ngx_uint_t       resolutions;
    char            *handles;      /* text[] literal: user or user@domain */
    PGresult        *found;
    fedi_json_t     *tags;
    ngx_uint_t       ntags;
    ngx_str_t        url;          /* scratch for mention URLs */
    fedi_page_t      page;
    char            *id;
    char            *edit;         /* the status being edited, or NULL */
    char            *poll_options; /* text[] literal, or NULL */
    char            *poll_expires;
    const char      *poll_multiple;
    const char      *poll_hide;
    char            *media;        /* bigint[] literal, or NULL */
} fedi_post_t;


static void api_status_post(fedi_req_t *rq);
static void api_status_edit(fedi_req_t *rq);
static void fedi_status_edited(fedi_req_t *rq, PGresult *res);
static void api_status_history(fedi_req_t *rq);
static void fedi_history_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_source(fedi_req_t *rq);
static void fedi_source_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_pin(fedi_req_t *rq);
static void api_status_unpin(fedi_req_t *rq);
static void fedi_pinned(fedi_req_t *rq, PGresult *res);
static void api_statuses_many(fedi_req_t *rq);
static void fedi_post_mention_found(void *data, const char *user,
    size_t ulen, const char *domain, size_t dlen);
static void fedi_post_lookup(fedi_req_t *rq);
static void fedi_post_looked_up(fedi_req_t *rq, PGresult *res);
static ngx_int_t fedi_post_resolve_next(fedi_req_t *rq, PGresult *res);
static void fedi_post_mention_resolved(fedi_req_t *rq, ngx_int_t found);
static const char *fedi_post_mention_url(void *data, const char *user,
    size_t ulen, const char *domain, size_t dlen);
static void fedi_post_tag(void *data, const char *name, size_t len);
static void fedi_post_done(fedi_req_t *rq, PGresult *res);
static char *fedi_idempotency_key(fedi_req_t *rq);
static ngx_int_t fedi_post_poll(fedi_req_t *rq, fedi_post_t *ps);
static void api_poll_get(fedi_req_t *rq);
static void api_poll_vote(fedi_req_t *rq);
static void fedi_poll_voted(fedi_req_t *rq, PGresult *res);
static void fedi_poll_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_get(fedi_req_t *rq);
static void fedi_status_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_delete(fedi_req_t *rq);
static void fedi_status_deleted(fedi_req_t *rq, PGresult *res);
static void api_timeline_home(fedi_req_t *rq);
static void api_timeline_public(fedi_req_t *rq);
static void api_account_statuses(fedi_req_t *rq);
static void api_timeline_tag(fedi_req_t *rq);
static void api_conversations(fedi_req_t *rq);
static void fedi_conversations_loaded(fedi_req_t *rq, PGresult *res);
static void api_conversation_read(fedi_req_t *rq);
static void api_conversation_delete(fedi_req_t *rq);
static void fedi_conversation_mark(fedi_req_t *rq, const char *remove);
static void fedi_conversation_marked(fedi_req_t *rq, PGresult *res);
static void fedi_conversation_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_mute(fedi_req_t *rq);
static void api_status_unmute(fedi_req_t *rq);
static char *fedi_tag_array(fedi_req_t *rq, const char *key);
static void fedi_timeline_loaded(fedi_req_t *rq, PGresult *res);
static void api_status_favourite(fedi_req_t *rq);
static void api_status_unfavourite(fedi_req_t *rq);
static void api_status_bookmark(fedi_req_t *rq);
static void api_status_unbookmark(fedi_req_t *rq);
static void fedi_status_toggle(fedi_req_t *rq, fedi_sql_id_e stmt,
    const char *on);
static void fedi_status_toggled(fedi_req_t *rq, PGresult *res);
static void api_status_reblog(fedi_req_t *rq);
static void api_status_unreblog(fedi_req_t *rq);
static void fedi_reblogged(fedi_req_t *rq, PGresult *res);
static void api_favourites(fedi_req_t *rq);
static void api_bookmarks(fedi_req_t *rq);
static void fedi_own_list(fedi_req_t *rq, fedi_sql_id_e stmt);
static void api_status_context(fedi_req_t *rq);
static void fedi_context_status(fedi_req_t *rq, PGresult *res);
static void fedi_context_loaded(fedi_req_t *rq, PGresult *res);
static char *fedi_arg_id(fedi_req_t *rq, ngx_uint_t i);
static size_t ngx_http_fedi_unescape(char *s);
static ngx_int_t fedi_is_local_domain(fedi_req_t *rq, const char *domain,
    size_t dlen);


const fedi_route_t  fedi_routes_statuses[] = {
    { POST, "/api/v1/statuses", api_status_post, "write:statuses",
      CORS|USER },
    { GET, "/api/v1/statuses", api_statuses_many, NULL, CORS },
    { GET, "/api/v1/polls/:id", api_poll_get, NULL, CORS },
    { POST, "/api/v1/polls/:id/votes", api_poll_vote, "write:statuses",
      CORS|USER },
    { GET, "/api/v1/statuses/:id", api_status_get, NULL, CORS },
    { PUT, "/api/v1/statuses/:id", api_status_edit, "write:statuses",
      CORS|USER },
    { GET, "/api/v1/statuses/:id/history", api_status_history, NULL, CORS },
    { GET, "/api/v1/statuses/:id/source", api_status_source,
      "read:statuses", CORS|USER },
    { POST, "/api/v1/statuses/:id/pin", api_status_pin, "write:accounts",
      CORS|USER },
    { POST, "/api/v1/statuses/:id/unpin", api_status_unpin,
      "write:accounts", CORS|USER },
    { DELETE, "/api/v1/statuses/:id", api_status_delete, "write:statuses",
      CORS|USER },
    { GET, "/api/v1/statuses/:id/context", api_status_context, NULL, CORS },
    { POST, "/api/v1/statuses/:id/favourite", api_status_favourite,
      "write:favourites", CORS|USER },
    { POST, "/api/v1/statuses/:id/unfavourite", api_status_unfavourite,
      "write:favourites", CORS|USER },
    { POST, "/api/v1/statuses/:id/reblog", api_status_reblog,
      "write:statuses", CORS|USER },
    { POST, "/api/v1/statuses/:id/unreblog", api_status_unreblog,
      "write:statuses", CORS|USER },
    { POST, "/api/v1/statuses/:id/bookmark", api_status_bookmark,
      "write:bookmarks", CORS|USER },
    { POST, "/api/v1/statuses/:id/unbookmark", api_status_unbookmark,
      "write:bookmarks", CORS|USER },
    { POST, "/api/v1/statuses/:id/mute", api_status_mute, "write:mutes",
      CORS|USER },
    { POST, "/api/v1/statuses/:id/unmute", api_status_unmute, "write:mutes",
      CORS|USER },
    { GET, "/api/v1/conversations", api_conversations, "read:statuses",
      CORS|USER },
    { POST, "/api/v1/conversations/:id/read", api_conversation_read,
      "write:conversations", CORS|USER },
    { DELETE, "/api/v1/conversations/:id", api_conversation_delete,
      "write:conversations", CORS|USER },
    { GET, "/api/v1/favourites", api_favourites, "read:favourites",
      CORS|USER },
    { GET, "/api/v1/bookmarks", api_bookmarks, "read:bookmarks", CORS|USER },
    { GET, "/api/v1/timelines/home", api_timeline_home, "read:statuses",
      CORS|USER },
    { GET, "/api/v1/timelines/public", api_timeline_public, NULL, CORS },
    { GET, "/api/v1/timelines/tag/:hashtag", api_timeline_tag, NULL, CORS },
    { GET, "/api/v1/accounts/:id/statuses", api_account_statuses, NULL,
      CORS },
    { 0, NULL, NULL, NULL, 0 }
};


/* decodes %XX in place; the new length */
static size_t
ngx_http_fedi_unescape(char *s)
{
    u_char  *dst, *src;

    dst = (u_char *) s;
    src = (u_char *) s;

    ngx_unescape_uri(&dst, &src, ngx_strlen(s), NGX_UNESCAPE_URI);

    return dst - (u_char *) s;
}


/* the instance's base URL, NUL-terminated, for a statement's $2 */
char *
fedi_base(fedi_req_t *rq)
{
    return fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                      rq->mcf->base_url.len);
}


/* the viewing account's id for a statement's $1, or NULL */
char *
fedi_viewer(fedi_req_t *rq)
{
    return (rq->token && rq->token->has_user) ? rq->token->account_id : NULL;
}


/* path argument i as an id, or NULL (the caller answers 404) */
static char *
fedi_arg_id(fedi_req_t *rq, ngx_uint_t i)
{
    size_t  k;

    if (rq->args[i].len == 0 || rq->args[i].len > 19) {
        return NULL;
    }

    for (k = 0; k < rq->args[i].len; k++) {
        if (rq->args[i].data[k] < '0' || rq->args[i].data[k] > '9') {
            return NULL;
        }
    }

    return fedi_pstrz(rq->r->pool, rq->args[i].data, rq->args[i].len);
}


static ngx_int_t
fedi_is_local_domain(fedi_req_t *rq, const char *domain, size_t dlen)
{
    return domain == NULL
           || (dlen == rq->mcf->domain.len
               && ngx_strncasecmp((u_char *) domain, rq->mcf->domain.data,
                                  dlen) == 0);
}


/* POST /api/v1/statuses */

static void
api_status_edit(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    rq->data = id;
    api_status_post(rq);
}


/* POST /api/v1/statuses, and PUT .../:id (rq->data the id) */
static void
api_status_post(fedi_req_t *rq)
{
    u_char       *p;
    size_t        i, len;
    fedi_post_t  *ps;

    ps = ngx_pcalloc(rq->r->pool, sizeof(fedi_post_t));
    if (ps == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ps->edit = rq->data;
    rq->data = ps;

    ps->text = fedi_param_str(rq->params, "status");
    ps->spoiler = fedi_param_str(rq->params, "spoiler_text");
    ps->visibility = fedi_param_str(rq->params, "visibility");
    ps->language = fedi_param_str(rq->params, "language");
    ps->reply = fedi_param_str(rq->params, "in_reply_to_id");
    ps->sensitive = fedi_param_bool(rq->params, "sensitive", 0);

    if (fedi_media_ids(rq, &ps->media) != NGX_OK) {
        return;
    }

    if (ps->text == NULL && ps->media && ps->media[1] != '}') {
        ps->text = "";                  /* media alone make a status */

    } else if (ps->text == NULL || ps->text[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Text can't be blank");
        return;
    }

    if (ps->spoiler == NULL) {
        ps->spoiler = "";
    }

    if (!ps->edit && fedi_post_poll(rq, ps) != NGX_OK) {
        return;
    }

    if (fedi_text_length(ps->text, ngx_strlen(ps->text))
        + fedi_text_length(ps->spoiler, ngx_strlen(ps->spoiler))
        > rq->mcf->max_characters)
    {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Text character limit of "
                        "the instance exceeded");
        return;
    }

    if (ps->visibility == NULL || ps->visibility[0] == '\0') {
        ps->visibility = "public";

    } else if (ngx_strcmp(ps->visibility, "public") != 0
               && ngx_strcmp(ps->visibility, "unlisted") != 0
               && ngx_strcmp(ps->visibility, "private") != 0
               && ngx_strcmp(ps->visibility, "direct") != 0)
    {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Visibility is not included in "
                        "the list");
        return;
    }

    /* not a language tag: none, as Mastodon ignores what it does not know
     * (the tag is a JSON key in contentMap, so nothing else gets through) */
    if (ps->language && (ps->language[0] == '\0'
                         || ngx_strlen(ps->language) > 16
                         || ps->language[strspn(ps->language,
                                "abcdefghijklmnopqrstuvwxyz"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")]
                            != '\0'))
    {
        ps->language = NULL;
    }

    if (ps->reply) {
        for (p = (u_char *) ps->reply; *p >= '0' && *p <= '9'; p++) {
            /* void */
        }

        if (*p != '\0' || p == (u_char *) ps->reply) {
            ps->reply = NULL;
        }
    }

    fedi_text_mentions(ps->text, ngx_strlen(ps->text),
                       fedi_post_mention_found, rq);

    /* '{"a","b@example.com"}': names and domains are letters, digits,
     * dots, dashes and underscores */
    len = 3;

    for (i = 0; i < ps->nusers; i++) {
        len += ps->users[i].len + ps->domains[i].len + 4;
    }

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ps->handles = (char *) p;
    *p++ = '{';

    for (i = 0; i < ps->nusers; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';
        p = ngx_cpymem(p, ps->users[i].data, ps->users[i].len);

        if (ps->domains[i].len) {
            *p++ = '@';
            p = ngx_cpymem(p, ps->domains[i].data, ps->domains[i].len);
        }

        *p++ = '"';
    }

    *p++ = '}';
    *p = '\0';

    fedi_post_lookup(rq);
}


static void
fedi_post_lookup(fedi_req_t *rq)
{
    fedi_post_t  *ps = rq->data;

    fedi_query(rq, FEDI_SQL_MENTION_LOOKUP, fedi_post_looked_up, 2,
               ps->handles, fedi_base(rq));
}


/* whether row i of a MENTION_LOOKUP result is user@domain (local: "") */
static ngx_int_t
fedi_post_is(PGresult *res, int i, ngx_str_t *user, ngx_str_t *domain)
{
    return (size_t) PQgetlength(res, i, 1) == user->len
           && (size_t) PQgetlength(res, i, 2) == domain->len
           && ngx_strncasecmp((u_char *) PQgetvalue(res, i, 1), user->data,
                              user->len) == 0
           && ngx_strncasecmp((u_char *) PQgetvalue(res, i, 2),
                              domain->data, domain->len) == 0;
}


/*
 * A remote account mentioned but not known yet is resolved through
 * WebFinger first, as Mastodon does (three at most a post, so a post
 * cannot wait on many slow servers); then the lookup runs again.
 */
static ngx_int_t
fedi_post_resolve_next(fedi_req_t *rq, PGresult *res)
{
    int           k;
    ngx_uint_t    i;
    fedi_post_t  *ps = rq->data;

    for (i = 0; i < ps->nusers && ps->resolutions < 3; i++) {
        if (ps->domains[i].len == 0 || ps->tried[i]) {
            continue;
        }

        for (k = 0; k < PQntuples(res); k++) {
            if (fedi_post_is(res, k, &ps->users[i], &ps->domains[i])) {
                break;
            }
        }

        if (k < PQntuples(res)) {
            continue;
        }

        ps->tried[i] = 1;
        ps->resolutions++;

        fedi_resolve_acct(rq,
            fedi_pstrz(rq->r->pool, ps->users[i].data, ps->users[i].len),
            fedi_pstrz(rq->r->pool, ps->domains[i].data, ps->domains[i].len),
            fedi_post_mention_resolved);
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static void
fedi_post_mention_resolved(fedi_req_t *rq, ngx_int_t found)
{
    fedi_post_lookup(rq);
}


static void
fedi_post_mention_found(void *data, const char *user, size_t ulen,
    const char *domain, size_t dlen)
{
    fedi_req_t   *rq = data;
    fedi_post_t  *ps = rq->data;

    if (ps->nusers == FEDI_MAX_MENTIONS) {
        return;
    }

    ps->users[ps->nusers].data = (u_char *) user;
    ps->users[ps->nusers].len = ulen;

    if (fedi_is_local_domain(rq, domain, dlen)) {
        ngx_str_null(&ps->domains[ps->nusers]);

    } else {
        ps->domains[ps->nusers].data = (u_char *) domain;
        ps->domains[ps->nusers].len = dlen;
    }

    ps->nusers++;
}


static const char *
fedi_post_mention_url(void *data, const char *user, size_t ulen,
    const char *domain, size_t dlen)
{
    fedi_req_t   *rq = data;
    fedi_post_t  *ps = rq->data;

    int        i;
    ngx_str_t  u, d;

    u.data = (u_char *) user;
    u.len = ulen;

    if (fedi_is_local_domain(rq, domain, dlen)) {
        ngx_str_null(&d);

    } else {
        d.data = (u_char *) domain;
        d.len = dlen;
    }

    for (i = 0; i < PQntuples(ps->found); i++) {
        if (fedi_post_is(ps->found, i, &u, &d)) {
            return fedi_pstrz(rq->r->pool,
                              (u_char *) PQgetvalue(ps->found, i, 3),
                              PQgetlength(ps->found, i, 3));
        }
    }

    return NULL;
}


static void
fedi_post_tag(void *data, const char *name, size_t len)
{
    fedi_req_t   *rq = data;
    fedi_post_t  *ps = rq->data;

    /* a text[] literal: each name quoted, quotes and backslashes escaped */
    if (ps->ntags++) {
        fedi_json_write(ps->tags, (u_char *) ",", 1);
    }

    fedi_json_write(ps->tags, (u_char *) "\"", 1);

    for ( /* void */ ; len; len--, name++) {
        if (*name == '"' || *name == '\\') {
            fedi_json_write(ps->tags, (u_char *) "\\", 1);
        }

        fedi_json_write(ps->tags, (u_char *) name, 1);
    }

    fedi_json_write(ps->tags, (u_char *) "\"", 1);
}


static void
fedi_post_looked_up(fedi_req_t *rq, PGresult *res)
{
    int               i;
    u_char           *p;
    char             *content, *mentions, *tags;
    fedi_json_t      *h;
    fedi_post_t      *ps;
    fedi_text_ctx_t   ctx;

    ps = rq->data;

    if (fedi_post_resolve_next(rq, res) == NGX_OK) {
        return;
    }

    ps->found = res;

    h = fedi_json_new(rq);
    ps->tags = fedi_json_new(rq);
    if (h == NULL || ps->tags == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_write(ps->tags, (u_char *) "{", 1);

    ctx.base_url = (char *) fedi_base(rq);
    ctx.mention = fedi_post_mention_url;
    ctx.tag = fedi_post_tag;
    ctx.data = rq;

    fedi_text_format(h, ps->text, ngx_strlen(ps->text), &ctx);
    fedi_json_write(ps->tags, (u_char *) "}", 1);

    content = ngx_pnalloc(rq->r->pool, h->size + 1);
    tags = ngx_pnalloc(rq->r->pool, ps->tags->size + 1);
    mentions = ngx_pnalloc(rq->r->pool, 3 + PQntuples(res) * 21);

    if (content == NULL || tags == NULL || mentions == NULL
        || fedi_json_flatten(h, (u_char *) content, h->size) < 0
        || fedi_json_flatten(ps->tags, (u_char *) tags, ps->tags->size) < 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    content[h->size] = '\0';
    tags[ps->tags->size] = '\0';

    p = (u_char *) mentions;
    *p++ = '{';

    for (i = 0; i < PQntuples(res); i++) {
        p = ngx_sprintf(p, "%s%s", i ? "," : "", PQgetvalue(res, i, 0));
    }

    *p++ = '}';
    *p = '\0';

    ps->found = NULL;   /* res is cleared when this returns */

    /* attachments that cannot be attached fail the statement: 422 */
    rq->pg_errors = (ps->media != NULL);

    if (ps->edit && ps->media) {
        fedi_query(rq, FEDI_SQL_STATUS_EDIT_MEDIA, fedi_status_edited, 10,
                   rq->token->account_id, ps->edit, ps->text, content,
                   ps->spoiler, ps->sensitive ? "true" : "false",
                   ps->language, mentions, tags, ps->media);
        return;
    }

    if (ps->edit) {
        fedi_query(rq, FEDI_SQL_STATUS_EDIT, fedi_status_edited, 9,
                   rq->token->account_id, ps->edit, ps->text, content,
                   ps->spoiler, ps->sensitive ? "true" : "false",
                   ps->language, mentions, tags);
        return;
    }

    if (ps->media) {
        fedi_query(rq, FEDI_SQL_STATUS_POST_MEDIA, fedi_post_done, 17,
                   rq->token->account_id, ps->text, content, ps->spoiler,
                   ps->sensitive ? "true" : "false", ps->visibility,
                   ps->language, ps->reply, rq->token->app_id, mentions,
                   tags, fedi_idempotency_key(rq), ps->poll_options,
                   ps->poll_expires, ps->poll_multiple, ps->poll_hide,
                   ps->media);
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_POST, fedi_post_done, 16,
               rq->token->account_id, ps->text, content, ps->spoiler,
               ps->sensitive ? "true" : "false", ps->visibility,
               ps->language, ps->reply, rq->token->app_id, mentions, tags,
               fedi_idempotency_key(rq), ps->poll_options, ps->poll_expires,
               ps->poll_multiple, ps->poll_hide);
}


/*
 * poll[options][], poll[expires_in], poll[multiple], poll[hide_totals]:
 * checked as Mastodon checks them; answers 422 itself
 */
static ngx_int_t
fedi_post_poll(fedi_req_t *rq, fedi_post_t *ps)
{
    u_char      *p;
    size_t       n, i, k, len, chars;
    json_t      *poll;
    int64_t      expires;
    const char  *o[16], *c;

    poll = json_object_get(rq->params, "poll");
    if (!json_is_object(poll)) {
        return NGX_OK;
    }

    n = fedi_param_strs(poll, "options", o, 16);

    if (n < 2 || n > rq->mcf->max_poll_options) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Poll must have between 2 and 4 "
                        "options");
        return NGX_DECLINED;
    }

    len = 3;

    for (i = 0; i < n; i++) {
        for (chars = 0, c = o[i]; *c; c++) {
            chars += ((u_char) *c & 0xc0) != 0x80;
        }

        if (chars == 0 || chars > rq->mcf->max_poll_option_chars) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Poll options must be 1 to 50 "
                            "characters");
            return NGX_DECLINED;
        }

        for (k = 0; k < i; k++) {
            if (ngx_strcmp(o[k], o[i]) == 0) {
                fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                "Validation failed: Poll options must be "
                                "unique");
                return NGX_DECLINED;
            }
        }

        len += 2 * ngx_strlen(o[i]) + 3;
    }

    expires = fedi_param_int(poll, "expires_in", -1, -1, INT32_MAX);

    if (expires < 300 || expires > 2629746) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Poll duration must be between 5 "
                        "minutes and 1 month");
        return NGX_DECLINED;
    }

    /* a text[] literal: each option quoted, " and \\ escaped */
    p = ngx_pnalloc(rq->r->pool, len);
    ps->poll_expires = ngx_pnalloc(rq->r->pool, NGX_INT64_LEN + 1);
    if (p == NULL || ps->poll_expires == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    ps->poll_options = (char *) p;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';

        for (c = o[i]; *c; c++) {
            if (*c == '"' || *c == '\\') {
                *p++ = '\\';
            }

            *p++ = *c;
        }

        *p++ = '"';
    }

    *p++ = '}';
    *p = '\0';

    ngx_sprintf((u_char *) ps->poll_expires, "%L%Z", expires);
    ps->poll_multiple = fedi_param_bool(poll, "multiple", 0) ? "true"
                                                             : "false";
    ps->poll_hide = fedi_param_bool(poll, "hide_totals", 0) ? "true"
                                                            : "false";

    return NGX_OK;
}


/* GET /api/v1/polls/:id and POST .../votes */

static void
api_poll_get(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_POLL_GET, fedi_poll_loaded, 2, fedi_viewer(rq),
               id);
}


static void
api_poll_vote(fedi_req_t *rq)
{
    u_char      *p, *out;
    size_t       n, i;
    const char  *choices[16];

    rq->data = fedi_arg_id(rq, 0);
    if (rq->data == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    n = fedi_param_strs(rq->params, "choices", choices, 16);

    out = ngx_pnalloc(rq->r->pool, 3 + 12 * n);
    if (out == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (choices[i][0] == '\0'
            || choices[i][strspn(choices[i], "0123456789")] != '\0'
            || ngx_strlen(choices[i]) > 9)
        {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: The choices are invalid");
            return;
        }

        p = ngx_sprintf(p, "%s%s", i ? "," : "", choices[i]);
    }

    *p++ = '}';
    *p = '\0';

    fedi_query(rq, FEDI_SQL_POLL_VOTE, fedi_poll_voted, 3,
               rq->token->account_id, rq->data, (char *) out);
}


static void
fedi_poll_voted(fedi_req_t *rq, PGresult *res)
{
    const char  *v;

    v = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(v, "not_found") == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (ngx_strcmp(v, "ok") != 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        ngx_strcmp(v, "expired") == 0
                        ? "Validation failed: The poll has already ended"
                        : ngx_strcmp(v, "voted") == 0
                        ? "Validation failed: You have already voted on "
                          "this poll"
                        : ngx_strcmp(v, "own") == 0
                        ? "Validation failed: You cannot vote in your own "
                          "poll"
                        : "Validation failed: The choices are invalid");
        return;
    }

    fedi_query(rq, FEDI_SQL_POLL_GET, fedi_poll_loaded, 2, fedi_viewer(rq),
               (char *) rq->data);
}


static void
fedi_poll_loaded(fedi_req_t *rq, PGresult *res)
{
    u_char  *p;
    size_t   len;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    len = PQgetlength(res, 0, 0);

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_memcpy(p, PQgetvalue(res, 0, 0), len);

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8", p,
                    len);
}


/* the Idempotency-Key header, NUL-terminated, or NULL */
static char *
fedi_idempotency_key(fedi_req_t *rq)
{
    ngx_table_elt_t  *h;

    h = fedi_header(rq->r, "Idempotency-Key");

    if (h == NULL || h->value.len == 0 || h->value.len > 256) {
        return NULL;
    }

    return fedi_pstrz(rq->r->pool, h->value.data, h->value.len);
}


static void
fedi_post_done(fedi_req_t *rq, PGresult *res)
{
    fedi_post_t  *ps = rq->data;

    if (fedi_media_pg_error(rq, res) != NGX_OK) {
        return;
    }

    ps->id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                        PQgetlength(res, 0, 0));
    if (ps->id == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), ps->id);
}


static void
fedi_status_edited(fedi_req_t *rq, PGresult *res)
{
    fedi_post_t  *ps = rq->data;

    if (fedi_media_pg_error(rq, res) != NGX_OK) {
        return;
    }

    if (!fedi_pg_bool(res, 0, 0)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), ps->edit);
}


/* GET /api/v1/statuses/:id/history: StatusEdit, oldest first */

static void
api_status_history(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_HISTORY, fedi_history_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), id);
}


static void
fedi_history_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    n = PQntuples(res);

    if (n == 0) {
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
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "content", PQgetvalue(res, i, 0));
        fedi_json_kcstr(j, "spoiler_text", PQgetvalue(res, i, 1));
        fedi_json_kbool(j, "sensitive", fedi_pg_bool(res, i, 2));
        fedi_json_kcstr(j, "created_at", PQgetvalue(res, i, 3));
        fedi_json_key(j, "account");
        fedi_account_render(rq, j, res, i, 4);
        fedi_json_key(j, "media_attachments");
        fedi_json_arr_open(j);
        fedi_json_arr_close(j);
        fedi_json_key(j, "emojis");
        fedi_json_arr_open(j);
        fedi_json_arr_close(j);
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET /api/v1/statuses/:id/source (one's own) */

static void
api_status_source(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_SOURCE, fedi_source_loaded, 2,
               rq->token->account_id, id);
}


static void
fedi_source_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, 0, 0));
    fedi_json_kcstr(j, "text", PQgetvalue(res, 0, 1));
    fedi_json_kcstr(j, "spoiler_text", PQgetvalue(res, 0, 2));
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* POST /api/v1/statuses/:id/pin and /unpin */

static void
api_status_pin(fedi_req_t *rq)
{
    rq->data = fedi_arg_id(rq, 0);

    if (rq->data == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_PIN, fedi_pinned, 3, rq->token->account_id,
               rq->data, "true");
}


static void
api_status_unpin(fedi_req_t *rq)
{
    rq->data = fedi_arg_id(rq, 0);

    if (rq->data == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_PIN, fedi_pinned, 3, rq->token->account_id,
               rq->data, "false");
}


static void
fedi_pinned(fedi_req_t *rq, PGresult *res)
{
    const char  *v;

    v = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(v, "not_found") == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (ngx_strcmp(v, "not_allowed") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Only your own public and unlisted "
                        "posts can be pinned");
        return;
    }

    if (ngx_strcmp(v, "limit") == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: You have already pinned the "
                        "maximum number of posts");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), (char *) rq->data);
}


/* GET /api/v1/statuses?id[]=: those that exist and may be seen */

static void
api_statuses_many(fedi_req_t *rq)
{
    u_char      *p, *out;
    size_t       n, i, k, len;
    const char  *ids[40];

    n = fedi_param_strs(rq->params, "id", ids, 40);

    len = 3;

    for (i = 0; i < n; i++) {
        len += ngx_strlen(ids[i]) + 1;
    }

    out = ngx_pnalloc(rq->r->pool, len);
    if (out == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        for (k = 0; ids[i][k] >= '0' && ids[i][k] <= '9'; k++) { /* void */ }

        if (k == 0 || ids[i][k] != '\0' || k > 19) {
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, ids[i], k);
    }

    *p++ = '}';
    *p = '\0';

    rq->data = NULL;

    fedi_query(rq, FEDI_SQL_STATUSES_BY_IDS, fedi_timeline_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), (char *) out);
}


/* GET and DELETE /api/v1/statuses/:id */

static void
api_status_get(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), id);
}


static void
fedi_status_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    /* what the viewer may not see does not exist: 404, never 403 */
    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_status_render(rq, j, res, 0);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_status_delete(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_DELETE, fedi_status_deleted, 4,
               rq->token->account_id, fedi_base(rq), id,
               fedi_param_bool(rq->params, "delete_media", 0) ? "true"
                                                              : "false");
}


static void
fedi_status_deleted(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;
    int           col;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    /* the Status plus its source text, for delete-and-redraft */
    col = FEDI_STATUS_ALL;

    fedi_media_unlink_list(rq, res, 0, col + 2);

    fedi_status_render_text(rq, j, res, 0, col);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* favourite, bookmark and their undoing: the status as it is now */

static void
api_status_favourite(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_FAVOURITE, "true");
}


static void
api_status_unfavourite(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_FAVOURITE, "false");
}


static void
api_status_bookmark(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_BOOKMARK, "true");
}


static void
api_status_unbookmark(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_BOOKMARK, "false");
}


/* a muted thread notifies the account no more */

static void
api_status_mute(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_MUTE_CONVERSATION, "true");
}


static void
api_status_unmute(fedi_req_t *rq)
{
    fedi_status_toggle(rq, FEDI_SQL_MUTE_CONVERSATION, "false");
}


static void
fedi_status_toggle(fedi_req_t *rq, fedi_sql_id_e stmt, const char *on)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    rq->data = id;

    fedi_query(rq, stmt, fedi_status_toggled, 3, rq->token->account_id, id,
               on);
}


static void
fedi_status_toggled(fedi_req_t *rq, PGresult *res)
{
    if (!fedi_pg_bool(res, 0, 0)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), (char *) rq->data);
}


/* POST /api/v1/statuses/:id/reblog and /unreblog */

static void
api_status_reblog(fedi_req_t *rq)
{
    char        *id;
    const char  *vis;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    vis = fedi_param_str(rq->params, "visibility");

    if (vis && ngx_strcmp(vis, "public") != 0
        && ngx_strcmp(vis, "unlisted") != 0
        && ngx_strcmp(vis, "private") != 0)
    {
        vis = NULL;
    }

    fedi_query(rq, FEDI_SQL_REBLOG, fedi_reblogged, 4, rq->token->account_id,
               id, vis, "true");
}


static void
api_status_unreblog(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_REBLOG, fedi_reblogged, 4, rq->token->account_id,
               id, NULL, "false");
}


static void
fedi_reblogged(fedi_req_t *rq, PGresult *res)
{
    const char  *v;

    v = fedi_pg_val(res, 0, 0);

    if (v == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (v[0] == '-') {
        fedi_send_error(rq, NGX_HTTP_FORBIDDEN, "This action is not allowed");
        return;
    }

    rq->data = fedi_pstrz(rq->r->pool, (u_char *) v, ngx_strlen(v));

    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_status_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), (char *) rq->data);
}


/* GET /api/v1/favourites and /bookmarks, paged by their own ids */

static void
api_favourites(fedi_req_t *rq)
{
    fedi_own_list(rq, FEDI_SQL_FAVOURITES);
}


static void
api_bookmarks(fedi_req_t *rq)
{
    fedi_own_list(rq, FEDI_SQL_BOOKMARKS);
}


static void
fedi_own_list(fedi_req_t *rq, fedi_sql_id_e stmt)
{
    fedi_page_t  *pg;

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }
    pg->cursor = FEDI_STATUS_ALL;

    fedi_query(rq, fedi_page_stmt(pg, stmt), fedi_timeline_loaded, 6,
               rq->token->account_id,
               fedi_base(rq), pg->bound[0], pg->bound[1], pg->bound[2],
               pg->limit_str);
}


/* GET /api/v1/conversations: direct threads, their last status and the
 * other participants */

static void
api_conversations(fedi_req_t *rq)
{
    fedi_page_t  *pg;

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_CONVERSATIONS, fedi_conversations_loaded, 7,
               rq->token->account_id, fedi_base(rq), pg->bound[0],
               pg->bound[1], pg->bound[2], pg->limit_str, NULL);
}


static void
fedi_conversations_loaded(fedi_req_t *rq, PGresult *res)
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

    for (i = 0; i < n; /* void */) {
        i = fedi_conversation_render(rq, j, res, i);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* the Conversation whose rows start at i; the row after them */
int
fedi_conversation_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int i)
{
    int  k, n, pa, cid;

    pa = FEDI_STATUS_ALL;
    cid = FEDI_STATUS_ALL + FEDI_ACCOUNT_NCOLS;
    n = PQntuples(res);

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, i, cid));
    fedi_json_kbool(j, "unread", fedi_pg_bool(res, i, cid + 1));

    fedi_json_key(j, "accounts");
    fedi_json_arr_open(j);

    /* the rows of one conversation follow each other */
    for (k = i; k < n && ngx_strcmp(PQgetvalue(res, k, cid),
                                    PQgetvalue(res, i, cid)) == 0;
         k++)
    {
        if (!PQgetisnull(res, k, pa)) {
            fedi_account_render(rq, j, res, k, pa);
        }
    }

    fedi_json_arr_close(j);

    fedi_json_key(j, "last_status");
    fedi_status_render(rq, j, res, i);
    fedi_json_obj_close(j);

    return k;
}


/* POST /api/v1/conversations/:id/read, DELETE /api/v1/conversations/:id */

static void
api_conversation_read(fedi_req_t *rq)
{
    fedi_conversation_mark(rq, "false");
}


static void
api_conversation_delete(fedi_req_t *rq)
{
    fedi_conversation_mark(rq, "true");
}


static void
fedi_conversation_mark(fedi_req_t *rq, const char *remove)
{
    rq->data = fedi_arg_id(rq, 0);

    if (rq->data == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_CONVERSATION_MARK, fedi_conversation_marked, 3,
               rq->token->account_id, (char *) rq->data, remove);
}


static void
fedi_conversation_marked(fedi_req_t *rq, PGresult *res)
{
    if (!fedi_pg_bool(res, 0, 0)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (rq->r->method == NGX_HTTP_DELETE) {
        fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                        (u_char *) "{}", 2);
        return;
    }

    fedi_query(rq, FEDI_SQL_CONVERSATIONS, fedi_conversation_loaded, 7,
               rq->token->account_id, fedi_base(rq), NULL, NULL, NULL, "1",
               (char *) rq->data);
}


static void
fedi_conversation_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    if (PQntuples(res) == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_conversation_render(rq, j, res, 0);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET /api/v1/statuses/:id/context */

static void
api_status_context(fedi_req_t *rq)
{
    char  *id;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    rq->data = id;

    /* the status itself must be visible first */
    fedi_query(rq, FEDI_SQL_STATUS_GET, fedi_context_status, 3,
               fedi_viewer(rq), fedi_base(rq), id);
}


static void
fedi_context_status(fedi_req_t *rq, PGresult *res)
{
    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_CONTEXT, fedi_context_loaded, 3,
               fedi_viewer(rq), fedi_base(rq), (char *) rq->data);
}


static void
fedi_context_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n, col;
    char          which;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);
    col = FEDI_STATUS_ALL;

    fedi_json_obj_open(j);

    for (which = 'a'; which <= 'd'; which += 'd' - 'a') {
        fedi_json_key(j, which == 'a' ? "ancestors" : "descendants");
        fedi_json_arr_open(j);

        for (i = 0; i < n; i++) {
            if (PQgetvalue(res, i, col)[0] == which
                && !(rq->filters && fedi_filters_hide(rq, res, i, 0)))
            {
                fedi_status_render(rq, j, res, i);
            }
        }

        fedi_json_arr_close(j);
    }

    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* timelines */

static void
api_timeline_home(fedi_req_t *rq)
{
    fedi_page_t  *pg;

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    fedi_query(rq, fedi_timeline_stmt(rq, pg, FEDI_SQL_TIMELINE_HOME),
               fedi_timeline_done(rq, fedi_timeline_loaded), 6,
               rq->token->account_id, fedi_base(rq), pg->bound[0],
               pg->bound[1], pg->bound[2], pg->limit_str);
}


static void
api_timeline_public(fedi_req_t *rq)
{
    fedi_page_t  *pg;

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    fedi_query(rq, fedi_timeline_stmt(rq, pg, FEDI_SQL_TIMELINE_PUBLIC),
               fedi_timeline_done(rq, fedi_timeline_loaded), 9,
               fedi_viewer(rq), fedi_base(rq), pg->bound[0], pg->bound[1],
               pg->bound[2], pg->limit_str,
               fedi_param_bool(rq->params, "local", 0) ? "true" : "false",
               fedi_param_bool(rq->params, "remote", 0) ? "true" : "false",
               fedi_param_bool(rq->params, "only_media", 0)
               ? "true" : "false");
}


/* '{"a","b"}' from any[]-style parameters (4 names at most, quoted) */
static char *
fedi_tag_array(fedi_req_t *rq, const char *key)
{
    u_char      *out, *p;
    size_t       n, i, len;
    const char  *t[4], *c;

    n = fedi_param_strs(rq->params, key, t, 4);

    len = 3;

    for (i = 0; i < n; i++) {
        len += 2 * ngx_strlen(t[i]) + 3;
    }

    out = ngx_pnalloc(rq->r->pool, len);
    if (out == NULL) {
        return NULL;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        *p++ = '"';

        for (c = t[i]; *c; c++) {
            if (*c == '"' || *c == '\\') {
                *p++ = '\\';
            }

            *p++ = *c;
        }

        *p++ = '"';
    }

    *p++ = '}';
    *p = '\0';

    return (char *) out;
}


/* GET /api/v1/timelines/tag/:hashtag (any[], all[], none[], local) */
static void
api_timeline_tag(fedi_req_t *rq)
{
    char         *tag, *any, *all, *none;
    fedi_page_t  *pg;

    tag = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);
    any = fedi_tag_array(rq, "any");
    all = fedi_tag_array(rq, "all");
    none = fedi_tag_array(rq, "none");

    if (tag == NULL || any == NULL || all == NULL || none == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    /* the path segment arrives percent-encoded */
    tag[ngx_http_fedi_unescape(tag)] = '\0';

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    fedi_query(rq, fedi_timeline_stmt(rq, pg, FEDI_SQL_TIMELINE_TAG),
               fedi_timeline_done(rq, fedi_timeline_loaded), 12,
               fedi_viewer(rq), fedi_base(rq), pg->bound[0], pg->bound[1],
               pg->bound[2], pg->limit_str, tag, any, all, none,
               fedi_param_bool(rq->params, "local", 0) ? "true" : "false",
               fedi_param_bool(rq->params, "remote", 0) ? "true" : "false",
               fedi_param_bool(rq->params, "only_media", 0)
               ? "true" : "false");
}


static void
api_account_statuses(fedi_req_t *rq)
{
    char         *id;
    const char   *tag;
    fedi_page_t  *pg;

    id = fedi_arg_id(rq, 0);
    if (id == NULL) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    pg = fedi_page_new(rq, 20, 40);
    if (pg == NULL) {
        return;
    }

    tag = fedi_param_str(rq->params, "tagged");
    if (tag && tag[0] == '#') {
        tag++;
    }

    fedi_query(rq, fedi_timeline_stmt(rq, pg, FEDI_SQL_ACCOUNT_STATUSES),
               fedi_timeline_done(rq, fedi_timeline_loaded), 12,
               fedi_viewer(rq), fedi_base(rq), pg->bound[0], pg->bound[1],
               pg->bound[2], pg->limit_str, id,
               fedi_param_bool(rq->params, "exclude_replies", 0)
               ? "true" : "false",
               fedi_param_bool(rq->params, "pinned", 0) ? "true" : "false",
               fedi_param_bool(rq->params, "exclude_reblogs", 0)
               ? "true" : "false",
               (tag && tag[0]) ? tag : NULL,
               fedi_param_bool(rq->params, "only_media", 0)
               ? "true" : "false");
}


static void
fedi_timeline_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_statuses_send(rq, res, rq->data);
}
