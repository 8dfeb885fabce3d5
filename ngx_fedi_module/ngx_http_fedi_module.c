/*
 * Copyright (C) ngx_fedi authors
 *
 * Directives, configuration and the per-worker start and stop.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_status_cache.h"


static void *ngx_http_fedi_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_fedi_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_fedi_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_fedi_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_fedi(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_fedi_db(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_fedi_init_process(ngx_cycle_t *cycle);
static void ngx_http_fedi_exit_process(ngx_cycle_t *cycle);
static void ngx_http_fedi_notify(const char *channel, const char *payload);


/* the worker's database pool: one per process, made in init_process */
static fedi_pg_pool_t  *fedi_pool;


static ngx_command_t  ngx_http_fedi_commands[] = {

    { ngx_string("fedi"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_fedi,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("fedi_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_fedi_db,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("fedi_db_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, db.size),
      NULL },

    { ngx_string("fedi_db_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, db.queue_max),
      NULL },

    { ngx_string("fedi_db_pipeline"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, db.pipeline),
      NULL },

    { ngx_string("fedi_db_queue_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, db.queue_timeout),
      NULL },

    { ngx_string("fedi_db_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, db.query_timeout),
      NULL },

    { ngx_string("fedi_outbound_allow"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      fedi_fetch_allow,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, fetch),
      NULL },

    { ngx_string("fedi_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, fetch.trusted),
      NULL },

    { ngx_string("fedi_authorized_fetch"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, authorized_fetch),
      NULL },

    { ngx_string("fedi_fetch_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, fetch.timeout),
      NULL },

    { ngx_string("fedi_domain"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, domain),
      NULL },

    { ngx_string("fedi_https"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, https),
      NULL },

    { ngx_string("fedi_title"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, title),
      NULL },

    { ngx_string("fedi_description"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, description),
      NULL },

    { ngx_string("fedi_contact_email"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, contact_email),
      NULL },

    { ngx_string("fedi_max_characters"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, max_characters),
      NULL },

    { ngx_string("fedi_max_media_attachments"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, max_media_attachments),
      NULL },

    { ngx_string("fedi_image_size_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, image_size_limit),
      NULL },

    { ngx_string("fedi_video_size_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, video_size_limit),
      NULL },

    { ngx_string("fedi_media_root"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_root),
      NULL },

    { ngx_string("fedi_media_url"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_url),
      NULL },

    { ngx_string("fedi_media_wait"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_wait),
      NULL },

    { ngx_string("fedi_media_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_cache),
      NULL },

    { ngx_string("fedi_media_cache_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_cache_max_size),
      NULL },

    { ngx_string("fedi_status_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, status_cache_size),
      NULL },

    { ngx_string("fedi_media_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, media_rate_limit),
      NULL },

    { ngx_string("fedi_media_s3_endpoint"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, s3_endpoint),
      NULL },

    { ngx_string("fedi_media_s3_bucket"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, s3_bucket),
      NULL },

    { ngx_string("fedi_media_s3_region"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, s3_region),
      NULL },

    { ngx_string("fedi_media_s3_access_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, s3_access_key),
      NULL },

    { ngx_string("fedi_media_s3_secret_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, s3_secret_key),
      NULL },

    { ngx_string("fedi_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, rate_limit),
      NULL },

    { ngx_string("fedi_smtp"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, smtp),
      NULL },

    { ngx_string("fedi_smtp_from"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, smtp_from),
      NULL },

    { ngx_string("fedi_stream_buffer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, stream_buffer),
      NULL },

    { ngx_string("fedi_instance_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_fedi_main_conf_t, instance_cache),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_fedi_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_fedi_create_main_conf,        /* create main configuration */
    ngx_http_fedi_init_main_conf,          /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_fedi_create_loc_conf,         /* create location configuration */
    ngx_http_fedi_merge_loc_conf           /* merge location configuration */
};


ngx_module_t  ngx_http_fedi_module = {
    NGX_MODULE_V1,
    &ngx_http_fedi_module_ctx,             /* module context */
    ngx_http_fedi_commands,                /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_fedi_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_fedi_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


fedi_pg_pool_t *
fedi_db(void)
{
    return fedi_pool;
}


static void *
ngx_http_fedi_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_fedi_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_fedi_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->db.conninfo = { 0, NULL };
     *     mcf->domain = { 0, NULL };
     *     mcf->title = { 0, NULL };
     *     mcf->description = { 0, NULL };
     *     mcf->contact_email = { 0, NULL };
     *     mcf->base_url = { 0, NULL };
     *     mcf->configured = 0;
     */

    mcf->db.size = NGX_CONF_UNSET_UINT;
    mcf->db.queue_max = NGX_CONF_UNSET_UINT;
    mcf->db.queue_timeout = NGX_CONF_UNSET_MSEC;
    mcf->db.pipeline = NGX_CONF_UNSET_UINT;
    mcf->db.query_timeout = NGX_CONF_UNSET_MSEC;
    mcf->https = NGX_CONF_UNSET;
    mcf->max_characters = NGX_CONF_UNSET_UINT;
    mcf->max_media_attachments = NGX_CONF_UNSET_UINT;
    mcf->image_size_limit = NGX_CONF_UNSET_SIZE;
    mcf->video_size_limit = NGX_CONF_UNSET_SIZE;
    mcf->instance_cache = NGX_CONF_UNSET_MSEC;
    mcf->stream_buffer = NGX_CONF_UNSET_SIZE;
    mcf->media_wait = NGX_CONF_UNSET_MSEC;
    mcf->media_cache = NGX_CONF_UNSET;
    mcf->media_cache_max_size = NGX_CONF_UNSET_SIZE;
    mcf->status_cache_size = NGX_CONF_UNSET_SIZE;
    mcf->rate_limit = NGX_CONF_UNSET_UINT;
    mcf->media_rate_limit = NGX_CONF_UNSET_UINT;
    mcf->authorized_fetch = NGX_CONF_UNSET;
    mcf->fetch.timeout = NGX_CONF_UNSET_MSEC;
    mcf->fetch.max_body = NGX_CONF_UNSET_SIZE;

    return mcf;
}


static char *
ngx_http_fedi_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_fedi_main_conf_t  *mcf = conf;

    u_char  *p;

    ngx_conf_init_uint_value(mcf->db.size, 4);
    ngx_conf_init_uint_value(mcf->db.queue_max, 512);
    ngx_conf_init_msec_value(mcf->db.queue_timeout, 5000);
    ngx_conf_init_msec_value(mcf->db.query_timeout, 30000);
    ngx_conf_init_uint_value(mcf->db.pipeline, 8);
    /*
     * A fresh connection prepares every statement again, its backend
     * loads its caches and plans its first runs: tens of milliseconds of
     * a core.  After 10,000 ops that was one reconnect every few seconds
     * of a busy worker; after 1,000,000, about one an hour.
     */
    mcf->db.max_uses = 1000000;

    if (mcf->db.pipeline == 0 || mcf->db.pipeline > 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_db_pipeline\" must be 1 to 16");
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(mcf->https, 1);
    ngx_conf_init_uint_value(mcf->max_characters, 500);
    ngx_conf_init_uint_value(mcf->max_media_attachments, 4);
    ngx_conf_init_size_value(mcf->image_size_limit, 16 * 1024 * 1024);
    ngx_conf_init_size_value(mcf->video_size_limit, 99 * 1024 * 1024);
    ngx_conf_init_msec_value(mcf->instance_cache, 30000);
    ngx_conf_init_size_value(mcf->stream_buffer, 1024 * 1024);
    ngx_conf_init_size_value(mcf->status_cache_size, 32 * 1024 * 1024);
    ngx_conf_init_uint_value(mcf->rate_limit, 300);
    ngx_conf_init_uint_value(mcf->media_rate_limit, 30);
    ngx_conf_init_value(mcf->authorized_fetch, 0);
    mcf->max_poll_options = 4;
    mcf->max_poll_option_chars = 50;

    if (fedi_thread_pool_add(cf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if ((mcf->rate_limit || mcf->media_rate_limit)
        && fedi_ratelimit_conf(cf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (mcf->db.size == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_db_pool\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    if (mcf->domain.len == 0) {
        ngx_str_set(&mcf->domain, "localhost");
    }

    if (mcf->title.len == 0) {
        mcf->title = mcf->domain;
    }

    if (mcf->smtp_from.len == 0) {
        /* notifications@ the domain without its port */
        p = ngx_strlchr(mcf->domain.data, mcf->domain.data + mcf->domain.len,
                        ':');
        mcf->smtp_from.len = sizeof("notifications@") - 1
                             + (p ? (size_t) (p - mcf->domain.data)
                                  : mcf->domain.len);
        mcf->smtp_from.data = ngx_pnalloc(cf->pool, mcf->smtp_from.len + 1);
        if (mcf->smtp_from.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(mcf->smtp_from.data, "notifications@%*s%Z",
                    mcf->smtp_from.len - (sizeof("notifications@") - 1),
                    mcf->domain.data);
    }

    mcf->base_url.len = (mcf->https ? sizeof("https://") : sizeof("http://"))
                        - 1 + mcf->domain.len;
    mcf->base_url.data = ngx_pnalloc(cf->pool, mcf->base_url.len);
    if (mcf->base_url.data == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_sprintf(mcf->base_url.data, "%s%V",
                    mcf->https ? "https://" : "http://", &mcf->domain);
    (void) p;

    if (fedi_fetch_conf_init(cf, &mcf->fetch, &mcf->base_url) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* media: served by nginx under base_url/system unless told otherwise */
    ngx_conf_init_msec_value(mcf->media_wait, 5000);
    ngx_conf_init_value(mcf->media_cache, 0);
    ngx_conf_init_size_value(mcf->media_cache_max_size, 16 * 1024 * 1024);

    if (mcf->media_cache && mcf->media_root.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_media_cache on\" needs \"fedi_media_root\"");
        return NGX_CONF_ERROR;
    }

    if (mcf->s3_endpoint.len
        && (mcf->s3_bucket.len == 0 || mcf->s3_access_key.len == 0
            || mcf->s3_secret_key.len == 0 || mcf->media_root.len == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"fedi_media_s3_endpoint\" needs "
                           "\"fedi_media_s3_bucket\", "
                           "\"fedi_media_s3_access_key\", "
                           "\"fedi_media_s3_secret_key\" and "
                           "\"fedi_media_root\" (where files are "
                           "processed)");
        return NGX_CONF_ERROR;
    }

    while (mcf->s3_endpoint.len
           && mcf->s3_endpoint.data[mcf->s3_endpoint.len - 1] == '/')
    {
        mcf->s3_endpoint.data[--mcf->s3_endpoint.len] = '\0';
    }

    if (mcf->s3_region.len == 0) {
        ngx_str_set(&mcf->s3_region, "us-east-1");
    }

    if (mcf->media_url.len == 0 && mcf->s3_endpoint.len) {
        /* the bucket, path-style, unless a CDN is named */
        mcf->media_url.len = mcf->s3_endpoint.len + 1 + mcf->s3_bucket.len;
        mcf->media_url.data = ngx_pnalloc(cf->pool, mcf->media_url.len);
        if (mcf->media_url.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(mcf->media_url.data, "%V/%V", &mcf->s3_endpoint,
                    &mcf->s3_bucket);
    }

    if (mcf->media_url.len == 0) {
        mcf->media_url.len = mcf->base_url.len + sizeof("/system") - 1;
        mcf->media_url.data = ngx_pnalloc(cf->pool, mcf->media_url.len);
        if (mcf->media_url.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_sprintf(mcf->media_url.data, "%V/system", &mcf->base_url);
    }

    while (mcf->media_url.len && mcf->media_url.data[mcf->media_url.len - 1]
                                 == '/')
    {
        mcf->media_url.len--;
    }

    while (mcf->media_root.len > 1
           && mcf->media_root.data[mcf->media_root.len - 1] == '/')
    {
        mcf->media_root.data[--mcf->media_root.len] = '\0';
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_fedi_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_fedi_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_fedi_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_fedi_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_fedi_loc_conf_t *prev = parent;
    ngx_http_fedi_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_fedi(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_fedi_loc_conf_t *flcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (flcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    flcf->enable = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = fedi_http_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_fedi_db(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_fedi_main_conf_t *mcf = conf;

    ngx_str_t  *value;

    if (mcf->db.conninfo.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* ngx_conf_t strings are NUL-terminated, as libpq wants */
    mcf->db.conninfo = value[1];
    mcf->configured = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_fedi_init_process(ngx_cycle_t *cycle)
{
    ngx_http_fedi_main_conf_t  *mcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);
    if (mcf == NULL || !mcf->configured) {
        return NGX_OK;
    }

    if (fedi_auth_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fedi_status_cache_init(cycle, mcf->status_cache_size) != NGX_OK) {
        return NGX_ERROR;
    }

    if (mcf->smtp.len && fedi_mail_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    fedi_pool = fedi_pg_pool_create(cycle, &mcf->db);
    if (fedi_pool == NULL) {
        return NGX_ERROR;
    }

    if (fedi_stream_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fedi_pg_listen(fedi_pool, "LISTEN fedi_cache; LISTEN fedi_fanout;"
                                    " LISTEN fedi_inbox; LISTEN fedi_stream;"
                                    " LISTEN fedi_media_cache",
                       ngx_http_fedi_notify)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (fedi_media_storage_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fedi_media_cache_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (fedi_inbox_fetch_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return fedi_jobs_init(cycle);
}


static void
ngx_http_fedi_notify(const char *channel, const char *payload)
{
    if (channel == NULL) {
        /* (re)connected: whatever we cached may be stale, and jobs may
         * have been announced meanwhile */
        fedi_auth_invalidate(NULL);
        fedi_instance_invalidate();
        fedi_jobs_kick();
        fedi_jobs_inbox();
        fedi_fetch_key_load();
        fedi_stream_wake();
        fedi_media_cache_wake();
        fedi_inbox_fetch_wake();
        return;
    }

    if (ngx_strcmp(channel, "fedi_media_cache") == 0) {
        fedi_media_cache_wake();
        return;
    }

    if (ngx_strcmp(channel, "fedi_stream") == 0) {
        fedi_stream_wake();
        return;
    }

    if (ngx_strcmp(channel, "fedi_fanout") == 0) {
        fedi_jobs_kick();
        return;
    }

    if (ngx_strcmp(channel, "fedi_inbox") == 0) {
        if (ngx_strcmp(payload, "fetch") == 0) {
            fedi_inbox_fetch_wake();    /* an object to fetch */
            return;
        }

        fedi_jobs_inbox();
        return;
    }

    if (ngx_strcmp(channel, "fedi_cache") != 0) {
        return;
    }

    if (ngx_strcmp(payload, "instance") == 0) {
        fedi_instance_invalidate();
        return;
    }

    fedi_auth_invalidate(payload);
    fedi_stream_revoke(payload);
}


static void
ngx_http_fedi_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_fedi_main_conf_t  *mcf;

    fedi_jobs_exit(cycle);
    fedi_media_cache_exit(cycle);
    fedi_inbox_fetch_exit(cycle);
    fedi_stream_exit(cycle);
    fedi_pg_pool_destroy(fedi_pool);
    fedi_pool = NULL;

    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_fedi_module);

    if (mcf && mcf->smtp.len
        && (ngx_process == NGX_PROCESS_WORKER
            || ngx_process == NGX_PROCESS_SINGLE))
    {
        fedi_mail_exit(cycle);
    }
}
