/*
 * Copyright (C) ngx_fedi authors
 *
 * WebFinger (RFC 7033) for local accounts, as Mastodon answers it: the
 * resource is acct:user@domain (or user@domain) or the actor's or
 * profile's URL; the answer links the actor, the profile page and the
 * remote-follow template.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap.h"


static void ap_webfinger_resource(fedi_req_t *rq, const char *resource);
static void ap_webfinger_loaded(fedi_req_t *rq, PGresult *res);
static ngx_uint_t ap_webfinger_is_instance(fedi_req_t *rq, const char *s);
static void ap_webfinger_instance(fedi_req_t *rq);
static void ap_webfinger_send(fedi_req_t *rq, fedi_json_t *j);
static void ap_webfinger_link(fedi_json_t *j, const char *rel,
    const char *type, const char *key, const char *fmt, ...);


void
fedi_ap_webfinger(fedi_req_t *rq)
{
    char        *user, *base;
    const char  *resource;

    resource = fedi_param_str(rq->params, "resource");
    if (resource == NULL || resource[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "The resource parameter is missing");
        return;
    }

    if (ap_webfinger_is_instance(rq, resource)) {
        ap_webfinger_instance(rq);
        return;
    }

    ap_webfinger_resource(rq, resource);

    if (fedi_ap_target(rq, &user, NULL, &base) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_ACCOUNT, ap_webfinger_loaded, 2, user, base);
}


/* the local username a resource names, as the path's rq->args[0] */
static void
ap_webfinger_resource(fedi_req_t *rq, const char *resource)
{
    size_t       n, blen;
    u_char      *at, *end;
    const char  *s;

    s = resource;
    n = ngx_strlen(s);
    blen = rq->mcf->base_url.len;

    if (n > blen && ngx_strncasecmp((u_char *) s, rq->mcf->base_url.data,
                                    blen) == 0)
    {
        /* the actor's URL or the profile's */
        s += blen;

        if (ngx_strncmp(s, "/users/", 7) == 0) {
            s += 7;

        } else if (ngx_strncmp(s, "/@", 2) == 0) {
            s += 2;

        } else {
            return;
        }

        n = ngx_strlen(s);

    } else {
        if (n > 5 && ngx_strncasecmp((u_char *) s, (u_char *) "acct:", 5)
                     == 0)
        {
            s += 5;
            n -= 5;
        }

        if (n && s[0] == '@') {
            s++;
            n--;
        }

        end = (u_char *) s + n;
        at = ngx_strlchr((u_char *) s, end, '@');

        if (at == NULL
            || (size_t) (end - at - 1) != rq->mcf->domain.len
            || ngx_strncasecmp(at + 1, rq->mcf->domain.data,
                               rq->mcf->domain.len) != 0)
        {
            return;
        }

        n = at - (u_char *) s;
    }

    rq->args[0].data = (u_char *) s;
    rq->args[0].len = n;
    rq->nargs = 1;
}


static void
ap_webfinger_loaded(fedi_req_t *rq, PGresult *res)
{
    const char   *name;
    fedi_json_t  *j;
    ngx_str_t    *base;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    name = PQgetvalue(res, 0, 0);
    base = &rq->mcf->base_url;

    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "subject", "acct:%s@%V", name, &rq->mcf->domain);

    fedi_json_key(j, "aliases");
    fedi_json_arr_open(j);
    fedi_ap_kurl(j, NULL, "%V/@%s", base, name);
    fedi_ap_kurl(j, NULL, "%V/users/%s", base, name);
    fedi_json_arr_close(j);

    fedi_json_key(j, "links");
    fedi_json_arr_open(j);
    ap_webfinger_link(j, "http://webfinger.net/rel/profile-page",
                      "text/html", "href", "%V/@%s", base, name);
    ap_webfinger_link(j, "self", "application/activity+json", "href",
                      "%V/users/%s", base, name);
    ap_webfinger_link(j, "http://ostatus.org/schema/1.0/subscribe", NULL,
                      "template", "%V/authorize_interaction?uri={uri}", base);
    fedi_json_arr_close(j);

    fedi_json_obj_close(j);

    ap_webfinger_send(rq, j);
}


static void
ap_webfinger_send(fedi_req_t *rq, fedi_json_t *j)
{
    static ngx_str_t  cache = ngx_string("max-age=259200, public");

    if (fedi_add_header(rq, "Cache-Control", &cache) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_send_chunks(rq, NGX_HTTP_OK, "application/jrd+json; charset=utf-8",
                     j);
}


/* acct:DOMAIN@DOMAIN (with or without acct: or @), or its actor's URL */
static ngx_uint_t
ap_webfinger_is_instance(fedi_req_t *rq, const char *s)
{
    size_t      n, d;
    ngx_str_t  *base, *domain;

    base = &rq->mcf->base_url;
    domain = &rq->mcf->domain;
    n = ngx_strlen(s);
    d = domain->len;

    if (n == base->len + 6
        && ngx_strncasecmp((u_char *) s, base->data, base->len) == 0
        && ngx_strcmp(s + base->len, "/actor") == 0)
    {
        return 1;
    }

    if (n > 5 && ngx_strncasecmp((u_char *) s, (u_char *) "acct:", 5) == 0) {
        s += 5;
        n -= 5;
    }

    if (n && s[0] == '@') {
        s++;
        n--;
    }

    return n == 2 * d + 1 && s[d] == '@'
           && ngx_strncasecmp((u_char *) s, domain->data, d) == 0
           && ngx_strncasecmp((u_char *) s + d + 1, domain->data, d) == 0;
}


static void
ap_webfinger_instance(fedi_req_t *rq)
{
    ngx_str_t    *base, *domain;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    base = &rq->mcf->base_url;
    domain = &rq->mcf->domain;

    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "subject", "acct:%V@%V", domain, domain);

    fedi_json_key(j, "aliases");
    fedi_json_arr_open(j);
    fedi_ap_kurl(j, NULL, "%V/actor", base);
    fedi_json_arr_close(j);

    fedi_json_key(j, "links");
    fedi_json_arr_open(j);
    ap_webfinger_link(j, "http://webfinger.net/rel/profile-page",
                      "text/html", "href",
                      "%V/about/more?instance_actor=true", base);
    ap_webfinger_link(j, "self", "application/activity+json", "href",
                      "%V/actor", base);
    fedi_json_arr_close(j);

    fedi_json_obj_close(j);

    ap_webfinger_send(rq, j);
}


static void
ap_webfinger_link(fedi_json_t *j, const char *rel, const char *type,
    const char *key, const char *fmt, ...)
{
    u_char   buf[1024], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "rel", rel);

    if (type) {
        fedi_json_kcstr(j, "type", type);
    }

    fedi_json_kstr(j, key, buf, p - buf);
    fedi_json_obj_close(j);
}
