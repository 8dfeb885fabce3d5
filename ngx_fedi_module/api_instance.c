/*
 * Copyright (C) ngx_fedi authors
 *
 * The instance documents: /api/v1/instance, /api/v2/instance, NodeInfo,
 * host-meta, peers, rules, custom emojis, /health.
 *
 * The instance and NodeInfo documents are asked for by every client at
 * start and by every crawler: they are rendered from one query into a
 * per-worker cache that lives fedi_instance_cache.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_emoji.h"


typedef enum {
    FEDI_DOC_V1 = 0,
    FEDI_DOC_V2,
    FEDI_DOC_NODEINFO20,
    FEDI_DOC_NODEINFO21,
    FEDI_DOC_N
} fedi_doc_e;


typedef struct {
    ngx_pool_t   *pool;
    ngx_msec_t    expires;
    ngx_str_t     doc[FEDI_DOC_N];
} fedi_instance_cache_t;


/* the columns of FEDI_SQL_INSTANCE */
enum {
    COL_REG_MODE = 0, COL_USERS, COL_STATUSES, COL_DOMAINS, COL_RULES,
    COL_TITLE, COL_DESCRIPTION, COL_EMAIL, COL_ACTIVE_MONTH,
    COL_ACTIVE_HALFYEAR, COL_OWNER_EMAIL
};


typedef struct {
    ngx_http_fedi_main_conf_t  *mcf;
    PGresult                   *res;
    const char                 *title;
    const char                 *description;
    const char                 *email;
    ngx_uint_t                  reg_open;
    ngx_uint_t                  reg_approval;
    u_char                      streaming[256];
} fedi_instance_t;


static void api_health(fedi_req_t *rq);
static void api_instance_v1(fedi_req_t *rq);
static void api_instance_v2(fedi_req_t *rq);
static void api_instance_peers(fedi_req_t *rq);
static void api_instance_rules(fedi_req_t *rq);
static void api_custom_emojis(fedi_req_t *rq);
static void api_nodeinfo_wellknown(fedi_req_t *rq);
static void api_nodeinfo(fedi_req_t *rq);
static void api_host_meta(fedi_req_t *rq);
static void fedi_instance_send(fedi_req_t *rq, fedi_doc_e which);
static void fedi_instance_loaded(fedi_req_t *rq, PGresult *res);
static ngx_int_t fedi_instance_render(fedi_instance_t *in, fedi_doc_e which,
    ngx_pool_t *pool, ngx_str_t *out);
static void fedi_instance_v1(fedi_instance_t *in, fedi_json_t *j);
static void fedi_instance_v2(fedi_instance_t *in, fedi_json_t *j);
static void fedi_instance_nodeinfo(fedi_instance_t *in, fedi_json_t *j,
    const char *version);
static void fedi_instance_limits(fedi_instance_t *in, fedi_json_t *j,
    ngx_uint_t v2);
static void fedi_kurl(fedi_json_t *j, const char *key,
    ngx_http_fedi_main_conf_t *mcf, const char *path);
static void *fedi_instance_alloc(void *ctx, size_t size);
static void fedi_peers_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_rules_loaded(fedi_req_t *rq, PGresult *res);
static void fedi_emojis_loaded(fedi_req_t *rq, PGresult *res);


const fedi_route_t  fedi_routes_instance[] = {
    { GET, "/health", api_health, NULL, 0 },
    { GET, "/api/v1/instance", api_instance_v1, NULL, CORS },
    { GET, "/api/v2/instance", api_instance_v2, NULL, CORS },
    { GET, "/api/v1/instance/peers", api_instance_peers, NULL, CORS },
    { GET, "/api/v1/instance/rules", api_instance_rules, NULL, CORS },
    { GET, "/api/v1/custom_emojis", api_custom_emojis, NULL, CORS },
    { GET, "/.well-known/nodeinfo", api_nodeinfo_wellknown, NULL, CORS },
    { GET, "/nodeinfo/:version", api_nodeinfo, NULL, CORS },
    { GET, "/.well-known/host-meta", api_host_meta, NULL, CORS },
    { 0, NULL, NULL, NULL, 0 }
};


static fedi_instance_cache_t  fedi_instance_cache;


/* what fedi_media_proc.c takes (video and audio through ffmpeg; HEIC and
 * AVIF wait for a libvips with libheif, which Debian's has not): clients
 * offer their users only these */
static const char  *fedi_mime_types[] = {
    "image/jpeg", "image/png", "image/gif", "image/webp",
    "video/mp4", "video/quicktime", "video/webm", "video/ogg",
    "audio/mpeg", "audio/mp3", "audio/ogg", "audio/wav", "audio/x-wav",
    "audio/flac", "audio/mp4", "audio/x-m4a", "audio/aac", NULL
};


void
fedi_instance_invalidate(void)
{
    /* the documents stay valid for responses in flight: they are copied */
    fedi_instance_cache.expires = ngx_current_msec;
}


static void
api_health(fedi_req_t *rq)
{
    fedi_send_bytes(rq, NGX_HTTP_OK, "text/plain; charset=utf-8",
                    (u_char *) "OK", 2);
}


static void
api_instance_v1(fedi_req_t *rq)
{
    fedi_instance_send(rq, FEDI_DOC_V1);
}


static void
api_instance_v2(fedi_req_t *rq)
{
    fedi_instance_send(rq, FEDI_DOC_V2);
}


static void
api_nodeinfo(fedi_req_t *rq)
{
    if (rq->args[0].len == 3 && ngx_strncmp(rq->args[0].data, "2.0", 3) == 0)
    {
        fedi_instance_send(rq, FEDI_DOC_NODEINFO20);
        return;
    }

    if (rq->args[0].len == 3 && ngx_strncmp(rq->args[0].data, "2.1", 3) == 0)
    {
        fedi_instance_send(rq, FEDI_DOC_NODEINFO21);
        return;
    }

    fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
}


static void
fedi_instance_send(fedi_req_t *rq, fedi_doc_e which)
{
    u_char     *p;
    ngx_str_t  *doc;

    if (fedi_instance_cache.pool
        && (ngx_msec_int_t) (fedi_instance_cache.expires - ngx_current_msec)
           > 0)
    {
        doc = &fedi_instance_cache.doc[which];

        /* the cache may be replaced while this response is still queued */
        p = ngx_pnalloc(rq->r->pool, doc->len);
        if (p == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        ngx_memcpy(p, doc->data, doc->len);
        fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                        p, doc->len);
        return;
    }

    rq->data = (void *) (uintptr_t) which;
    fedi_query(rq, FEDI_SQL_INSTANCE, fedi_instance_loaded, 0);
}


static void
fedi_instance_loaded(fedi_req_t *rq, PGresult *res)
{
    ngx_uint_t                  i;
    ngx_pool_t                 *pool;
    const char                 *mode;
    fedi_instance_t             in;
    ngx_http_fedi_main_conf_t  *mcf;

    mcf = rq->mcf;

    if (PQntuples(res) != 1) {
        fedi_send_internal_error(rq);
        return;
    }

    ngx_memzero(&in, sizeof(fedi_instance_t));
    in.mcf = mcf;
    in.res = res;

    in.title = fedi_pg_val(res, 0, COL_TITLE);
    if (in.title == NULL || in.title[0] == '\0') {
        in.title = (const char *) mcf->title.data;
    }

    in.description = fedi_pg_val(res, 0, COL_DESCRIPTION);
    if (in.description == NULL) {
        in.description = mcf->description.len
                         ? (const char *) mcf->description.data : "";
    }

    /* the setting, else the directive, else the owner's address */
    in.email = fedi_pg_val(res, 0, COL_EMAIL);
    if (in.email == NULL || in.email[0] == '\0') {
        in.email = mcf->contact_email.len
                   ? (const char *) mcf->contact_email.data
                   : fedi_pg_val(res, 0, COL_OWNER_EMAIL);
    }

    if (in.email == NULL) {
        in.email = "";
    }

    mode = fedi_pg_val(res, 0, COL_REG_MODE);
    if (mode == NULL) {
        mode = "open";
    }

    in.reg_open = ngx_strcmp(mode, "closed") != 0
                  && ngx_strcmp(mode, "none") != 0;
    in.reg_approval = ngx_strcmp(mode, "approved") == 0;

    ngx_sprintf(in.streaming, "%s%V%Z", mcf->https ? "wss://" : "ws://",
                &mcf->domain);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    for (i = 0; i < FEDI_DOC_N; i++) {
        if (fedi_instance_render(&in, i, pool, &fedi_instance_cache.doc[i])
            != NGX_OK)
        {
            ngx_destroy_pool(pool);
            ngx_memzero(&fedi_instance_cache, sizeof(fedi_instance_cache_t));
            fedi_send_internal_error(rq);
            return;
        }
    }

    if (fedi_instance_cache.pool) {
        ngx_destroy_pool(fedi_instance_cache.pool);
    }

    fedi_instance_cache.pool = pool;
    fedi_instance_cache.expires = ngx_current_msec + mcf->instance_cache;

    fedi_instance_send(rq, (fedi_doc_e) (uintptr_t) rq->data);
}


static ngx_int_t
fedi_instance_render(fedi_instance_t *in, fedi_doc_e which, ngx_pool_t *pool,
    ngx_str_t *out)
{
    long          n;
    fedi_json_t   j;

    fedi_json_init(&j, fedi_instance_alloc, pool);

    switch (which) {
    case FEDI_DOC_V1:
        fedi_instance_v1(in, &j);
        break;
    case FEDI_DOC_V2:
        fedi_instance_v2(in, &j);
        break;
    case FEDI_DOC_NODEINFO20:
        fedi_instance_nodeinfo(in, &j, "2.0");
        break;
    default:
        fedi_instance_nodeinfo(in, &j, "2.1");
        break;
    }

    if (j.error) {
        return NGX_ERROR;
    }

    out->data = ngx_pnalloc(pool, j.size);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    n = fedi_json_flatten(&j, out->data, j.size);
    if (n < 0) {
        return NGX_ERROR;
    }

    out->len = n;

    return NGX_OK;
}


static void *
fedi_instance_alloc(void *ctx, size_t size)
{
    return ngx_palloc((ngx_pool_t *) ctx, size);
}


static void
fedi_kurl(fedi_json_t *j, const char *key, ngx_http_fedi_main_conf_t *mcf,
    const char *path)
{
    u_char  buf[512], *p;

    p = ngx_snprintf(buf, sizeof(buf), "%V%s", &mcf->base_url, path);
    fedi_json_kstr(j, key, buf, p - buf);
}


static void
fedi_instance_v1(fedi_instance_t *in, fedi_json_t *j)
{
    ngx_http_fedi_main_conf_t  *mcf = in->mcf;

    PGresult  *res = in->res;

    fedi_json_obj_open(j);
    fedi_json_kstr(j, "uri", mcf->domain.data, mcf->domain.len);
    fedi_json_kcstr(j, "title", in->title);
    fedi_json_kcstr(j, "short_description", in->description);
    fedi_json_kcstr(j, "description", in->description);
    fedi_json_kcstr(j, "email", in->email);
    fedi_json_kcstr(j, "version", FEDI_MASTODON_COMPAT
                                  " (compatible; ngx_fedi " FEDI_VERSION ")");

    fedi_json_key(j, "urls");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "streaming_api", (char *) in->streaming);
    fedi_json_obj_close(j);

    fedi_json_key(j, "stats");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "user_count", fedi_pg_int(res, 0, COL_USERS));
    fedi_json_kint(j, "status_count", fedi_pg_int(res, 0, COL_STATUSES));
    fedi_json_kint(j, "domain_count", fedi_pg_int(res, 0, COL_DOMAINS));
    fedi_json_obj_close(j);

    fedi_kurl(j, "thumbnail", mcf, "/fedi-static/thumbnail.png");

    fedi_json_key(j, "languages");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "en");
    fedi_json_arr_close(j);

    fedi_json_kbool(j, "registrations", in->reg_open);
    fedi_json_kbool(j, "approval_required", in->reg_approval);
    fedi_json_kbool(j, "invites_enabled", 0);

    fedi_json_key(j, "configuration");
    fedi_instance_limits(in, j, 0);

    fedi_json_knull(j, "contact_account");
    fedi_json_kraw(j, "rules", (u_char *) PQgetvalue(res, 0, COL_RULES),
                   PQgetlength(res, 0, COL_RULES));
    fedi_json_obj_close(j);
}


static void
fedi_instance_v2(fedi_instance_t *in, fedi_json_t *j)
{
    ngx_http_fedi_main_conf_t  *mcf = in->mcf;

    PGresult  *res = in->res;

    fedi_json_obj_open(j);
    fedi_json_kstr(j, "domain", mcf->domain.data, mcf->domain.len);
    fedi_json_kcstr(j, "title", in->title);
    fedi_json_kcstr(j, "version", FEDI_MASTODON_COMPAT
                                  " (compatible; ngx_fedi " FEDI_VERSION ")");
    fedi_json_kcstr(j, "source_url", FEDI_SOURCE_URL);
    fedi_json_kcstr(j, "description", in->description);

    fedi_json_key(j, "usage");
    fedi_json_obj_open(j);
    fedi_json_key(j, "users");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "active_month", fedi_pg_int(res, 0, COL_ACTIVE_MONTH));
    fedi_json_obj_close(j);
    fedi_json_obj_close(j);

    fedi_json_key(j, "thumbnail");
    fedi_json_obj_open(j);
    fedi_kurl(j, "url", mcf, "/fedi-static/thumbnail.png");
    fedi_json_obj_close(j);

    fedi_json_key(j, "icon");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);

    fedi_json_key(j, "languages");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "en");
    fedi_json_arr_close(j);

    fedi_json_key(j, "configuration");
    fedi_instance_limits(in, j, 1);

    fedi_json_key(j, "registrations");
    fedi_json_obj_open(j);
    fedi_json_kbool(j, "enabled", in->reg_open);
    fedi_json_kbool(j, "approval_required", in->reg_approval);
    fedi_json_kbool(j, "reason_required", in->reg_approval);
    fedi_json_knull(j, "message");
    fedi_json_knull(j, "url");
    fedi_json_knull(j, "min_age");
    fedi_json_obj_close(j);

    fedi_json_key(j, "api_versions");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "mastodon", 2);
    fedi_json_obj_close(j);

    fedi_json_key(j, "contact");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "email", in->email);
    fedi_json_knull(j, "account");
    fedi_json_obj_close(j);

    fedi_json_kraw(j, "rules", (u_char *) PQgetvalue(res, 0, COL_RULES),
                   PQgetlength(res, 0, COL_RULES));
    fedi_json_obj_close(j);
}


static void
fedi_instance_limits(fedi_instance_t *in, fedi_json_t *j, ngx_uint_t v2)
{
    const char                **t;
    ngx_http_fedi_main_conf_t  *mcf = in->mcf;

    fedi_json_obj_open(j);

    if (v2) {
        fedi_json_key(j, "urls");
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "streaming", (char *) in->streaming);
        fedi_json_knull(j, "status");
        fedi_kurl(j, "about", mcf, "/about");
        fedi_json_knull(j, "privacy_policy");
        fedi_json_knull(j, "terms_of_service");
        fedi_json_obj_close(j);

        fedi_json_key(j, "vapid");
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "public_key", "");
        fedi_json_obj_close(j);
    }

    fedi_json_key(j, "accounts");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "max_featured_tags", 10);

    if (v2) {
        fedi_json_kint(j, "max_pinned_statuses", 5);
        fedi_json_kint(j, "max_profile_fields", 4);
        fedi_json_kint(j, "max_display_name_length", 30);
        fedi_json_kint(j, "max_note_length", 500);
        fedi_json_kint(j, "profile_field_name_limit", 255);
        fedi_json_kint(j, "profile_field_value_limit", 255);
    }

    fedi_json_obj_close(j);

    fedi_json_key(j, "statuses");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "max_characters", mcf->max_characters);
    fedi_json_kint(j, "max_media_attachments", mcf->max_media_attachments);
    fedi_json_kint(j, "characters_reserved_per_url", 23);
    fedi_json_obj_close(j);

    fedi_json_key(j, "media_attachments");
    fedi_json_obj_open(j);
    fedi_json_key(j, "supported_mime_types");
    fedi_json_arr_open(j);

    for (t = fedi_mime_types; *t; t++) {
        fedi_json_cstr(j, *t);
    }

    fedi_json_arr_close(j);

    if (v2) {
        fedi_json_kint(j, "description_limit", 1500);
    }

    fedi_json_kint(j, "image_size_limit", mcf->image_size_limit);
    fedi_json_kint(j, "image_matrix_limit", 33177600);
    fedi_json_kint(j, "video_size_limit", mcf->video_size_limit);
    fedi_json_kint(j, "video_frame_rate_limit", 120);
    fedi_json_kint(j, "video_matrix_limit", 8294400);
    fedi_json_obj_close(j);

    fedi_json_key(j, "polls");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "max_options", mcf->max_poll_options);
    fedi_json_kint(j, "max_characters_per_option",
                   mcf->max_poll_option_chars);
    fedi_json_kint(j, "min_expiration", 300);
    fedi_json_kint(j, "max_expiration", 2629746);
    fedi_json_obj_close(j);

    if (v2) {
        fedi_json_key(j, "translation");
        fedi_json_obj_open(j);
        fedi_json_kbool(j, "enabled", 0);
        fedi_json_obj_close(j);
    }

    fedi_json_obj_close(j);
}


static void
fedi_instance_nodeinfo(fedi_instance_t *in, fedi_json_t *j,
    const char *version)
{
    PGresult  *res = in->res;

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "version", version);

    /*
     * Clients gate features on software.name being "mastodon" (Phanpy,
     * megalodon's detector); we say who we really are in metadata.
     */
    fedi_json_key(j, "software");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "name", "mastodon");
    fedi_json_kcstr(j, "version",
                    FEDI_MASTODON_COMPAT "+ngx-fedi." FEDI_VERSION);

    if (version[2] == '1') {
        fedi_json_kcstr(j, "repository", FEDI_SOURCE_URL);
        fedi_json_kcstr(j, "homepage", FEDI_SOURCE_URL);
    }

    fedi_json_obj_close(j);

    fedi_json_key(j, "protocols");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "activitypub");
    fedi_json_arr_close(j);

    fedi_json_key(j, "services");
    fedi_json_obj_open(j);
    fedi_json_key(j, "outbound");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);
    fedi_json_key(j, "inbound");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_json_key(j, "usage");
    fedi_json_obj_open(j);
    fedi_json_key(j, "users");
    fedi_json_obj_open(j);
    fedi_json_kint(j, "total", fedi_pg_int(res, 0, COL_USERS));
    fedi_json_kint(j, "activeMonth", fedi_pg_int(res, 0, COL_ACTIVE_MONTH));
    fedi_json_kint(j, "activeHalfyear",
                   fedi_pg_int(res, 0, COL_ACTIVE_HALFYEAR));
    fedi_json_obj_close(j);
    fedi_json_kint(j, "localPosts", fedi_pg_int(res, 0, COL_STATUSES));
    fedi_json_obj_close(j);

    fedi_json_kbool(j, "openRegistrations", in->reg_open);

    fedi_json_key(j, "metadata");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "nodeName", in->title);
    fedi_json_kcstr(j, "nodeDescription", in->description);
    fedi_json_key(j, "software");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "name", "ngx_fedi");
    fedi_json_kcstr(j, "version", FEDI_VERSION);
    fedi_json_obj_close(j);
    fedi_json_key(j, "upstream");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "name", "mastodon");
    fedi_json_kcstr(j, "version", FEDI_MASTODON_COMPAT);
    fedi_json_obj_close(j);
    fedi_json_obj_close(j);

    fedi_json_obj_close(j);
}


static void
api_nodeinfo_wellknown(fedi_req_t *rq)
{
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_key(j, "links");
    fedi_json_arr_open(j);

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "rel", "http://nodeinfo.diaspora.software/ns/schema/2.0");
    fedi_kurl(j, "href", rq->mcf, "/nodeinfo/2.0");
    fedi_json_obj_close(j);

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "rel", "http://nodeinfo.diaspora.software/ns/schema/2.1");
    fedi_kurl(j, "href", rq->mcf, "/nodeinfo/2.1");
    fedi_json_obj_close(j);

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_host_meta(fedi_req_t *rq)
{
    u_char  *p, *last;
    size_t   len;

    len = 256 + rq->mcf->base_url.len;

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    last = ngx_snprintf(p, len,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">"
                        "\n  <Link rel=\"lrdd\" template=\"%V/.well-known/"
                        "webfinger?resource={uri}\"/>\n</XRD>\n",
                        &rq->mcf->base_url);

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/xrd+xml; charset=utf-8",
                    p, last - p);
}


static void
api_instance_peers(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_INSTANCE_PEERS, fedi_peers_loaded, 0);
}


static void
fedi_peers_loaded(fedi_req_t *rq, PGresult *res)
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
        fedi_json_str(j, (u_char *) PQgetvalue(res, i, 0),
                      PQgetlength(res, i, 0));
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_instance_rules(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_INSTANCE_RULES, fedi_rules_loaded, 0);
}


static void
fedi_rules_loaded(fedi_req_t *rq, PGresult *res)
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
        fedi_json_obj_open(j);
        fedi_json_kstr(j, "id", (u_char *) PQgetvalue(res, i, 0),
                       PQgetlength(res, i, 0));
        fedi_json_kstr(j, "text", (u_char *) PQgetvalue(res, i, 1),
                       PQgetlength(res, i, 1));
        fedi_json_kstr(j, "hint", (u_char *) PQgetvalue(res, i, 2),
                       PQgetlength(res, i, 2));
        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_custom_emojis(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_CUSTOM_EMOJIS, fedi_emojis_loaded, 0);
}


static void
fedi_emojis_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    static ngx_str_t  cache = ngx_string("max-age=180, public");

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        fedi_emoji_render_cols(rq, j, res, i, 0);
    }

    fedi_json_arr_close(j);

    /* public, as Mastodon's: a cache may hold it three minutes */
    if (fedi_add_header(rq, "Cache-Control", &cache) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
