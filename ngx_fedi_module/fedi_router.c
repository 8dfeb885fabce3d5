/*
 * Copyright (C) ngx_fedi authors
 *
 * The route table: method, path pattern, handler, required OAuth scope.
 * A pattern segment ":name" matches one non-empty path segment and is
 * handed to the handler in rq->args, in order.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


static ngx_int_t fedi_route_match(const char *pattern, ngx_str_t *path,
    ngx_str_t *args, ngx_uint_t *nargs);


/* each area of the API owns its table, in its own file */
static const fedi_route_t  *fedi_route_tables[] = {
    fedi_routes_instance,
    fedi_routes_oauth,
    fedi_routes_accounts,
    fedi_routes_statuses,
    fedi_routes_notifications,
    fedi_routes_relationships,
    fedi_routes_search,
    fedi_routes_inbox,
    fedi_routes_ap,
    fedi_routes_streaming,
    fedi_routes_media,
    fedi_routes_lists,
    fedi_routes_reports,
    fedi_routes_filters,
    fedi_routes_announcements,
    fedi_routes_emojis,
    NULL
};


const fedi_route_t *
fedi_route_find(ngx_str_t *path, ngx_uint_t method, ngx_str_t *args,
    ngx_uint_t *nargs, ngx_uint_t *allowed)
{
    ngx_uint_t            n;
    const fedi_route_t   *rt, **t;

    *allowed = 0;

    for (t = fedi_route_tables; *t; t++) {
        for (rt = *t; rt->pattern; rt++) {
            n = 0;

            if (fedi_route_match(rt->pattern, path, args, &n) != NGX_OK) {
                continue;
            }

            *allowed |= rt->methods;

            if (rt->methods & method) {
                *nargs = n;
                return rt;
            }
        }
    }

    return NULL;
}


static ngx_int_t
fedi_route_match(const char *pattern, ngx_str_t *path, ngx_str_t *args,
    ngx_uint_t *nargs)
{
    u_char      *p, *end, *seg;
    const char  *s;

    p = path->data;
    end = path->data + path->len;
    s = pattern;

    while (*s) {

        if (*s == ':') {
            /* a parameter: up to the next '/' of the path */
            seg = p;

            while (p < end && *p != '/') {
                p++;
            }

            if (p == seg || *nargs >= FEDI_MAX_ARGS) {
                return NGX_DECLINED;
            }

            args[*nargs].data = seg;
            args[*nargs].len = p - seg;
            (*nargs)++;

            while (*s && *s != '/') {
                s++;
            }

            continue;
        }

        if (p == end || *p != (u_char) *s) {
            return NGX_DECLINED;
        }

        p++;
        s++;
    }

    /* a trailing slash is tolerated, as by Rails */
    if (p < end && !(p + 1 == end && *p == '/')) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* CORS as Mastodon's rack-cors configuration sets it */
ngx_uint_t
fedi_route_cors(ngx_str_t *path)
{
    static const char  *prefixes[] = {
        "/api/", "/oauth/token", "/oauth/revoke", "/.well-known/",
        "/nodeinfo/", "/users/", "/@", NULL
    };

    size_t        n;
    const char  **pr;

    for (pr = prefixes; *pr; pr++) {
        n = ngx_strlen(*pr);

        if (path->len >= n && ngx_strncmp(path->data, *pr, n) == 0) {
            return 1;
        }
    }

    return 0;
}
