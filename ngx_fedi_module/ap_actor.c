/*
 * Copyright (C) ngx_fedi authors
 *
 * The actor of each local account, its followers and following
 * collections, and what every ActivityPub document shares: content
 * negotiation between ActivityPub JSON and an HTML page on one URL, and
 * the headers that let a CDN hold public documents.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap.h"
#include "fedi_emoji.h"


#define FEDI_AP_FOLLOWS_PAGE  12        /* Mastodon's page of follows */


/* the columns of FEDI_SQL_AP_ACCOUNT */
enum {
    P_USERNAME = 0, P_DISPLAY_NAME, P_NOTE, P_TYPE, P_LOCKED,
    P_DISCOVERABLE, P_INDEXABLE, P_MEMORIAL, P_PUBLISHED, P_FIELDS,
    P_AVATAR, P_HEADER, P_PUBLIC_KEY, P_ALSO_KNOWN_AS, P_MOVED_TO,
    P_HIDE, P_FOLLOWERS, P_FOLLOWING, P_STATUSES, P_NOTE_SOURCE, P_EMOJIS
};


static void ap_actor(fedi_req_t *rq);
static void ap_actor_loaded(fedi_req_t *rq, PGresult *res);
static void ap_actor_image(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file);
static void ap_profile_page(fedi_req_t *rq, PGresult *res,
    const char *actor);
static void ap_featured_tags(fedi_req_t *rq);
static void ap_featured_tags_loaded(fedi_req_t *rq, PGresult *res);
static void ap_followers(fedi_req_t *rq);
static void ap_following(fedi_req_t *rq);
static void ap_follows(fedi_req_t *rq, fedi_sql_id_e stmt);
static void ap_follows_loaded(fedi_req_t *rq, PGresult *res);


const fedi_route_t  fedi_routes_ap[] = {
    { GET, "/.well-known/webfinger", fedi_ap_webfinger, NULL, CORS },
    { GET, "/actor", fedi_ap_instance_actor, NULL, CORS },
    { GET, "/actor/outbox", fedi_ap_instance_outbox, NULL, CORS },
    { GET, "/users/:name", ap_actor, NULL, CORS|SIGNED },
    { GET, "/@:name", ap_actor, NULL, CORS|SIGNED },
    { GET, "/users/:name/outbox", fedi_ap_outbox, NULL, CORS|SIGNED },
    { GET, "/users/:name/followers", ap_followers, NULL, CORS|SIGNED },
    { GET, "/users/:name/following", ap_following, NULL, CORS|SIGNED },
    { GET, "/users/:name/collections/featured", fedi_ap_featured, NULL,
      CORS|SIGNED },
    { GET, "/users/:name/collections/tags", ap_featured_tags, NULL,
      CORS|SIGNED },
    { GET, "/users/:name/statuses/:id", fedi_ap_status, NULL, CORS|SIGNED },
    { GET, "/users/:name/statuses/:id/replies", fedi_ap_replies, NULL,
      CORS|SIGNED },
    { GET, "/@:name/:id", fedi_ap_status, NULL, CORS|SIGNED },
    { 0, NULL, NULL, NULL, 0 }
};


/*
 * What Mastodon's ActorSerializer puts in @context: the terms its actors
 * use beyond ActivityStreams and security/v1.
 */
static const char  fedi_ap_actor_context[] =
    "[\"" FEDI_AP_AS "\",\"https://w3id.org/security/v1\",{"
    "\"manuallyApprovesFollowers\":\"as:manuallyApprovesFollowers\","
    "\"toot\":\"http://joinmastodon.org/ns#\","
    "\"featured\":{\"@id\":\"toot:featured\",\"@type\":\"@id\"},"
    "\"featuredTags\":{\"@id\":\"toot:featuredTags\",\"@type\":\"@id\"},"
    "\"alsoKnownAs\":{\"@id\":\"as:alsoKnownAs\",\"@type\":\"@id\"},"
    "\"movedTo\":{\"@id\":\"as:movedTo\",\"@type\":\"@id\"},"
    "\"schema\":\"http://schema.org#\","
    "\"PropertyValue\":\"schema:PropertyValue\","
    "\"value\":\"schema:value\","
    "\"discoverable\":\"toot:discoverable\","
    "\"suspended\":\"toot:suspended\","
    "\"memorial\":\"toot:memorial\","
    "\"indexable\":\"toot:indexable\","
    "\"focalPoint\":{\"@container\":\"@list\",\"@id\":\"toot:focalPoint\"},"
    "\"Emoji\":\"toot:Emoji\""
    "}]";


ngx_uint_t
fedi_ap_wanted(fedi_req_t *rq)
{
    static const char  *types[] = {
        "application/activity+json", "application/ld+json",
        "application/json", NULL
    };

    ngx_uint_t        i;
    const char      **t;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &rq->r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != sizeof("Accept") - 1
            || ngx_strncasecmp(h[i].key.data, (u_char *) "Accept",
                               sizeof("Accept") - 1) != 0)
        {
            continue;
        }

        /*
         * application/ld+json is JSON-LD (the ActivityStreams profile);
         * Mastodon answers application/json the same way
         */
        for (t = types; *t; t++) {
            if (ngx_strlcasestrn(h[i].value.data,
                                 h[i].value.data + h[i].value.len,
                                 (u_char *) *t, ngx_strlen(*t) - 1))
            {
                return 1;
            }
        }
    }

    return 0;
}


void
fedi_ap_send(fedi_req_t *rq, fedi_json_t *j, const char *type)
{
    static ngx_str_t  vary = ngx_string("Accept");
    static ngx_str_t  cache = ngx_string("max-age=180, public");
    static ngx_str_t  vary_signed = ngx_string("Accept, Signature");
    static ngx_str_t  cache_signed = ngx_string("max-age=180, private");

    /* what a signed request sees is its signer's: no shared cache */
    if (fedi_add_header(rq, "Vary", rq->signed_by ? &vary_signed : &vary)
           != NGX_OK
        || fedi_add_header(rq, "Cache-Control",
                           rq->signed_by ? &cache_signed : &cache)
           != NGX_OK)
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_send_chunks(rq, NGX_HTTP_OK, type, j);
}


fedi_json_t *
fedi_ap_doc_open(fedi_req_t *rq)
{
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "@context", FEDI_AP_AS);

    return j;
}


void
fedi_ap_kurl(fedi_json_t *j, const char *key, const char *fmt, ...)
{
    u_char   buf[1024], *p;
    va_list  args;

    va_start(args, fmt);
    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);
    va_end(args);

    if (key) {
        fedi_json_kstr(j, key, buf, p - buf);

    } else {
        fedi_json_str(j, buf, p - buf);
    }
}


char *
fedi_ap_arg(fedi_req_t *rq, ngx_uint_t n, ngx_uint_t digits)
{
    u_char     *p, *end;
    ngx_str_t  *a;

    a = &rq->args[n];

    if (n >= rq->nargs || a->len == 0 || a->len > (digits ? 19 : 64)) {
        return NULL;
    }

    end = a->data + a->len;

    for (p = a->data; p < end; p++) {
        if (!(*p >= '0' && *p <= '9')
            && (digits
                || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                     || *p == '_')))
        {
            return NULL;
        }
    }

    return fedi_pstrz(rq->r->pool, a->data, a->len);
}


ngx_int_t
fedi_ap_target(fedi_req_t *rq, char **name, char **id, char **base)
{
    *name = fedi_ap_arg(rq, 0, 0);

    if (id) {
        *id = fedi_ap_arg(rq, 1, 1);
    }

    if (*name == NULL || (id && *id == NULL)) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return NGX_DECLINED;
    }

    *base = fedi_pstrz(rq->r->pool, rq->mcf->base_url.data,
                       rq->mcf->base_url.len);
    if (*base == NULL) {
        fedi_send_internal_error(rq);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static void
ap_actor(fedi_req_t *rq)
{
    char  *name, *base;

    if (fedi_ap_target(rq, &name, NULL, &base) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_ACCOUNT, ap_actor_loaded, 2, name, base);
}


static void
ap_actor_loaded(fedi_req_t *rq, PGresult *res)
{
    u_char        actor[512], *p;
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    p = ngx_snprintf(actor, sizeof(actor) - 1, "%V/users/%s",
                     &rq->mcf->base_url, PQgetvalue(res, 0, P_USERNAME));
    *p = '\0';

    if (!fedi_ap_wanted(rq)) {
        ap_profile_page(rq, res, (char *) actor);
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_ap_actor_render(rq, j, res, (char *) actor);
    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


void
fedi_ap_actor_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    const char *actor)
{
    const char  *type, *moved;

    type = PQgetvalue(res, 0, P_TYPE);

    fedi_json_obj_open(j);
    fedi_json_kraw(j, "@context", (u_char *) fedi_ap_actor_context,
                   sizeof(fedi_ap_actor_context) - 1);
    fedi_json_kcstr(j, "id", actor);
    fedi_json_kcstr(j, "type", ngx_strcmp(type, "Service") == 0 ? "Service"
                               : ngx_strcmp(type, "Group") == 0 ? "Group"
                               : "Person");
    fedi_ap_kurl(j, "following", "%s/following", actor);
    fedi_ap_kurl(j, "followers", "%s/followers", actor);
    fedi_ap_kurl(j, "inbox", "%s/inbox", actor);
    fedi_ap_kurl(j, "outbox", "%s/outbox", actor);
    fedi_ap_kurl(j, "featured", "%s/collections/featured", actor);
    fedi_ap_kurl(j, "featuredTags", "%s/collections/tags", actor);
    fedi_json_kcstr(j, "preferredUsername", PQgetvalue(res, 0, P_USERNAME));
    fedi_json_kcstr(j, "name", PQgetvalue(res, 0, P_DISPLAY_NAME));
    fedi_json_kcstr(j, "summary", PQgetvalue(res, 0, P_NOTE));
    fedi_ap_kurl(j, "url", "%V/@%s", &rq->mcf->base_url,
                 PQgetvalue(res, 0, P_USERNAME));
    fedi_json_kbool(j, "manuallyApprovesFollowers",
                    fedi_pg_bool(res, 0, P_LOCKED));
    fedi_json_kbool(j, "discoverable", fedi_pg_bool(res, 0, P_DISCOVERABLE));
    fedi_json_kbool(j, "indexable", fedi_pg_bool(res, 0, P_INDEXABLE));
    fedi_json_kcstr(j, "published", PQgetvalue(res, 0, P_PUBLISHED));
    fedi_json_kbool(j, "memorial", fedi_pg_bool(res, 0, P_MEMORIAL));

    fedi_json_key(j, "publicKey");
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "id", "%s#main-key", actor);
    fedi_json_kcstr(j, "owner", actor);
    fedi_json_kcstr(j, "publicKeyPem", PQgetvalue(res, 0, P_PUBLIC_KEY));
    fedi_json_obj_close(j);

    fedi_json_key(j, "tag");
    fedi_json_arr_open(j);
    fedi_emoji_tags(rq, j, res, 0, P_EMOJIS);
    fedi_json_arr_close(j);

    fedi_json_kraw(j, "attachment", (u_char *) PQgetvalue(res, 0, P_FIELDS),
                   PQgetlength(res, 0, P_FIELDS));

    fedi_json_key(j, "endpoints");
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "sharedInbox", "%V/inbox", &rq->mcf->base_url);
    fedi_json_obj_close(j);

    if (PQgetlength(res, 0, P_ALSO_KNOWN_AS) > 2) {
        fedi_json_kraw(j, "alsoKnownAs",
                       (u_char *) PQgetvalue(res, 0, P_ALSO_KNOWN_AS),
                       PQgetlength(res, 0, P_ALSO_KNOWN_AS));
    }

    moved = fedi_pg_val(res, 0, P_MOVED_TO);
    if (moved) {
        fedi_json_kcstr(j, "movedTo", moved);
    }

    ap_actor_image(rq, j, "icon", fedi_pg_val(res, 0, P_AVATAR));
    ap_actor_image(rq, j, "image", fedi_pg_val(res, 0, P_HEADER));

    fedi_json_obj_close(j);
}


/* avatar and header as Mastodon's Image: only when one is set */
static void
ap_actor_image(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file)
{
    size_t       n;
    const char  *type, *ext;

    if (file == NULL || file[0] == '\0') {
        return;
    }

    n = ngx_strlen(file);
    ext = (const char *) ngx_strlchr((u_char *) file, (u_char *) file + n,
                                     '.');
    while (ext && ngx_strchr(ext + 1, '.')) {
        ext = ngx_strchr(ext + 1, '.');
    }

    type = "image/jpeg";

    if (ext) {
        if (ngx_strcasecmp((u_char *) ext, (u_char *) ".png") == 0) {
            type = "image/png";

        } else if (ngx_strcasecmp((u_char *) ext, (u_char *) ".gif") == 0) {
            type = "image/gif";

        } else if (ngx_strcasecmp((u_char *) ext, (u_char *) ".webp") == 0) {
            type = "image/webp";

        } else if (ngx_strcasecmp((u_char *) ext, (u_char *) ".avif") == 0) {
            type = "image/avif";
        }
    }

    fedi_json_key(j, key);
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "type", "Image");
    fedi_json_kcstr(j, "mediaType", type);
    fedi_ap_kurl(j, "url", "%V/system/%s", &rq->mcf->base_url, file);
    fedi_json_obj_close(j);
}


static void
ap_profile_page(fedi_req_t *rq, PGresult *res, const char *actor)
{
    u_char          url[512], *p;
    fedi_json_t    *h;
    fedi_ap_page_t  pg;

    p = ngx_snprintf(url, sizeof(url) - 1, "%V/@%s", &rq->mcf->base_url,
                     PQgetvalue(res, 0, P_USERNAME));
    *p = '\0';

    pg.og_type = "profile";
    pg.display_name = PQgetvalue(res, 0, P_DISPLAY_NAME);
    pg.username = PQgetvalue(res, 0, P_USERNAME);
    pg.description = PQgetvalue(res, 0, P_NOTE_SOURCE);
    pg.url = (char *) url;
    pg.alternate = actor;

    h = fedi_ap_html_open(rq, &pg);
    if (h == NULL) {
        return;
    }

    fedi_html_cstr(h, "<div class=\"h-card\"><h1 class=\"p-name\">");
    fedi_html_escape(h, pg.display_name);
    fedi_html_cstr(h, "</h1>\n<p class=\"p-nickname\">@");
    fedi_html_escape(h, PQgetvalue(res, 0, P_USERNAME));
    fedi_html_cstr(h, "@");
    fedi_html_escape_n(h, (char *) rq->mcf->domain.data,
                       rq->mcf->domain.len);
    fedi_html_cstr(h, "</p>\n<div class=\"p-note\">");
    /* our own HTML, made from the text when the profile was saved */
    fedi_html_cstr(h, PQgetvalue(res, 0, P_NOTE));
    fedi_html_cstr(h, "</div></div>\n");

    fedi_ap_html_close(h);
    fedi_ap_send(rq, h, FEDI_HTML_TYPE);
}


fedi_json_t *
fedi_ap_html_open(fedi_req_t *rq, fedi_ap_page_t *pg)
{
    u_char        title[1024], *p;
    ngx_uint_t    i;
    fedi_json_t  *h;
    const char   *meta[][2] = {
        { "og:type", pg->og_type },
        { "og:title", (char *) title },
        { "og:description", pg->description },
        { "og:url", pg->url },
        { "og:site_name", NULL }
    };

    h = fedi_json_new(rq);
    if (h == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    if (pg->display_name[0] == '\0') {
        pg->display_name = pg->username;
    }

    p = ngx_snprintf(title, sizeof(title) - 1, "%s (@%s@%V)",
                     pg->display_name, pg->username, &rq->mcf->domain);
    *p = '\0';

    fedi_html_cstr(h, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                      "\n<title>");
    fedi_html_escape(h, (char *) title);
    fedi_html_cstr(h, "</title>\n<meta name=\"description\" content=\"");
    fedi_html_escape(h, pg->description);
    fedi_html_cstr(h, "\">\n");

    for (i = 0; i < sizeof(meta) / sizeof(meta[0]); i++) {
        fedi_html_cstr(h, "<meta property=\"");
        fedi_html_cstr(h, meta[i][0]);
        fedi_html_cstr(h, "\" content=\"");

        if (meta[i][1]) {
            fedi_html_escape(h, meta[i][1]);

        } else {
            fedi_html_escape_n(h, (char *) rq->mcf->title.data,
                               rq->mcf->title.len);
        }

        fedi_html_cstr(h, "\">\n");
    }

    fedi_html_cstr(h, "<link rel=\"canonical\" href=\"");
    fedi_html_escape(h, pg->url);
    fedi_html_cstr(h, "\">\n<link rel=\"alternate\" "
                      "type=\"application/activity+json\" href=\"");
    fedi_html_escape(h, pg->alternate);
    fedi_html_cstr(h, "\">\n</head>\n<body>\n");

    return h;
}


void
fedi_ap_html_close(fedi_json_t *h)
{
    fedi_html_cstr(h, "</body></html>\n");
}


/* featured hashtags: none can be featured yet, so an empty Collection */
static void
ap_featured_tags(fedi_req_t *rq)
{
    char  *name, *base;

    if (fedi_ap_target(rq, &name, NULL, &base) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_ACCOUNT, ap_featured_tags_loaded, 2, name,
               base);
}


static void
ap_featured_tags_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "@context", FEDI_AP_AS);
    fedi_ap_kurl(j, "id", "%V/users/%s/collections/tags", &rq->mcf->base_url,
                 PQgetvalue(res, 0, P_USERNAME));
    fedi_json_kcstr(j, "type", "Collection");
    fedi_json_kint(j, "totalItems", 0);
    fedi_json_key(j, "items");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/*
 * Followers and following: the OrderedCollection (totalItems and first),
 * or with ?page=N an OrderedCollectionPage of actor URIs; only the total
 * when the account hides its collections, as Mastodon.
 */
static void
ap_followers(fedi_req_t *rq)
{
    ap_follows(rq, FEDI_SQL_AP_FOLLOWERS);
}


static void
ap_following(fedi_req_t *rq)
{
    ap_follows(rq, FEDI_SQL_AP_FOLLOWING);
}


static void
ap_follows(fedi_req_t *rq, fedi_sql_id_e stmt)
{
    char     *name, *base, *limit, *offset;
    int64_t   page;

    if (fedi_ap_target(rq, &name, NULL, &base) != NGX_OK) {
        return;
    }

    page = fedi_param_int(rq->params, "page", 0, 0, 1000000);

    limit = ngx_pnalloc(rq->r->pool, NGX_INT64_LEN + 1);
    offset = ngx_pnalloc(rq->r->pool, NGX_INT64_LEN + 1);
    if (limit == NULL || offset == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    /* one more than a page: whether there is a next one */
    *ngx_sprintf((u_char *) limit, "%d",
                 page ? FEDI_AP_FOLLOWS_PAGE + 1 : 0) = '\0';
    *ngx_sprintf((u_char *) offset, "%L",
                 page ? (page - 1) * FEDI_AP_FOLLOWS_PAGE : 0) = '\0';

    rq->data = (void *) (uintptr_t) page;

    fedi_query(rq, stmt, ap_follows_loaded, 4, name, base, limit, offset);
}


static void
ap_follows_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    u_char        id[512], *p;
    int64_t       page;
    const char   *what;
    fedi_json_t  *j;

    n = PQntuples(res);
    if (n == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    page = (int64_t) (uintptr_t) rq->data;
    what = (rq->op.stmt == FEDI_SQL_AP_FOLLOWERS) ? "followers"
                                                  : "following";

    p = ngx_snprintf(id, sizeof(id) - 1, "%V/users/%V/%s",
                     &rq->mcf->base_url, &rq->args[0], what);
    *p = '\0';

    j = fedi_ap_doc_open(rq);
    if (j == NULL) {
        return;
    }

    if (page == 0 || fedi_pg_bool(res, 0, 0)) {
        fedi_json_kcstr(j, "id", (char *) id);
        fedi_json_kcstr(j, "type", "OrderedCollection");
        fedi_json_kint(j, "totalItems", fedi_pg_int(res, 0, 1));

        if (!fedi_pg_bool(res, 0, 0)) {
            fedi_ap_kurl(j, "first", "%s?page=1", id);
        }

        fedi_json_obj_close(j);
        fedi_ap_send(rq, j, FEDI_AP_TYPE);
        return;
    }

    fedi_ap_kurl(j, "id", "%s?page=%L", id, page);
    fedi_json_kcstr(j, "type", "OrderedCollectionPage");
    fedi_json_kint(j, "totalItems", fedi_pg_int(res, 0, 1));

    if (n > FEDI_AP_FOLLOWS_PAGE) {
        fedi_ap_kurl(j, "next", "%s?page=%L", id, page + 1);
        n = FEDI_AP_FOLLOWS_PAGE;
    }

    if (page > 1) {
        fedi_ap_kurl(j, "prev", "%s?page=%L", id, page - 1);
    }

    fedi_json_kcstr(j, "partOf", (char *) id);
    fedi_json_key(j, "orderedItems");
    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        if (!PQgetisnull(res, i, 2)) {
            fedi_json_cstr(j, PQgetvalue(res, i, 2));
        }
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}
