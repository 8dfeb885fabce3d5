/*
 * Copyright (C) ngx_fedi authors
 *
 * What every handler file of the module shares: the configuration, the
 * per-request context, the route table's shape and the helpers to query
 * PostgreSQL and answer.
 */

#ifndef _FEDI_H_INCLUDED_
#define _FEDI_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "fedi_pg.h"
#include "fedi_sql.h"
#include "fedi_json.h"
#include "fedi_params.h"
#include "fedi_fetch.h"


#define FEDI_VERSION         "0.1.0"
#define FEDI_MASTODON_COMPAT "4.3.0"
#define FEDI_SOURCE_URL      "https://github.com/ngx-fedi/ngx_fedi"

#define FEDI_MAX_ARGS        4

#define NGX_HTTP_UNPROCESSABLE_ENTITY  422
#define NGX_HTTP_TOO_MANY_REQUESTS     429

/* users' roles, as numbers for comparisons */
#define FEDI_ROLE_USER       0
#define FEDI_ROLE_MODERATOR  1
#define FEDI_ROLE_ADMIN      2
#define FEDI_ROLE_OWNER      3


typedef struct {
    fedi_pg_conf_t       db;
    ngx_str_t            domain;
    ngx_flag_t           https;
    ngx_str_t            base_url;     /* "https://" + domain */
    ngx_str_t            title;
    ngx_str_t            description;
    ngx_str_t            contact_email;
    ngx_uint_t           max_characters;
    ngx_uint_t           max_media_attachments;
    ngx_uint_t           max_poll_options;
    ngx_uint_t           max_poll_option_chars;
    size_t               image_size_limit;
    size_t               video_size_limit;
    ngx_msec_t           instance_cache;
    size_t               stream_buffer; /* unsent output of a stream */
    ngx_uint_t           rate_limit;   /* per 5 minutes; 0: off */
    ngx_uint_t           media_rate_limit;  /* uploads per 30 minutes */
    ngx_str_t            smtp;         /* smtp://host:port, or none */
    ngx_str_t            smtp_from;
    fedi_fetch_conf_t    fetch;        /* outbound fetches */
    ngx_flag_t           authorized_fetch;
    ngx_str_t            media_root;   /* uploads' directory, or none */
    ngx_str_t            media_url;    /* its URL prefix */
    ngx_msec_t           media_wait;   /* v2: 202 after this much */
    ngx_flag_t           media_cache;  /* remote media fetched, kept */
    size_t               media_cache_max_size;
    size_t               status_cache_size;  /* per worker; 0: none */
    ngx_str_t            s3_endpoint;  /* media in S3, or none */
    ngx_str_t            s3_bucket;
    ngx_str_t            s3_region;
    ngx_str_t            s3_access_key;
    ngx_str_t            s3_secret_key;
    ngx_uint_t           configured;   /* fedi_db seen */
} ngx_http_fedi_main_conf_t;


typedef struct {
    ngx_flag_t           enable;
} ngx_http_fedi_loc_conf_t;


typedef struct fedi_req_s  fedi_req_t;

typedef void (*fedi_handler_pt)(fedi_req_t *rq);
typedef void (*fedi_work_pt)(void *data);
typedef void (*fedi_after_pt)(fedi_req_t *rq, void *data);
typedef void (*fedi_result_pt)(fedi_req_t *rq, PGresult *res);


/* route flags */
#define FEDI_ROUTE_CORS       0x01     /* Access-Control-Allow-Origin: * */
#define FEDI_ROUTE_TOKEN      0x02     /* a bearer token is required */
#define FEDI_ROUTE_USER       0x04     /* ... belonging to a user */
#define FEDI_ROUTE_SIGNED     0x08     /* fedi_authorized_fetch on: an HTTP
                                          Signature for ActivityPub */
#define FEDI_ROUTE_STREAM     0x10     /* the token may also come as
                                          access_token or the WebSocket
                                          subprotocol */
#define FEDI_ROUTE_UPLOAD     0x20     /* multipart stays in its file */


typedef struct {
    ngx_uint_t           methods;      /* NGX_HTTP_GET | ... */
    const char          *pattern;      /* "/api/v1/accounts/:id" */
    fedi_handler_pt      handler;
    const char          *scope;        /* required OAuth scope or NULL */
    ngx_uint_t           flags;
} fedi_route_t;


/* the request's bearer token, as fedi_auth found it */
typedef struct {
    char                 digest[65];
    char                 token_id[24];
    char                 user_id[24];
    char                 account_id[24];
    char                 app_id[24];
    char                 scopes[512];
    ngx_uint_t           role;
    unsigned             has_user:1;
    unsigned             confirmed:1;
    unsigned             approved:1;
    unsigned             disabled:1;
    unsigned             suspended:1;
    unsigned             invalid:1;
    unsigned             has_filters:1; /* fedi_filters.c */
} fedi_token_t;


struct fedi_req_s {
    ngx_http_request_t         *r;
    ngx_http_fedi_main_conf_t  *mcf;
    const fedi_route_t         *route;
    ngx_str_t                   args[FEDI_MAX_ARGS];
    ngx_uint_t                  nargs;
    json_t                     *params;
    fedi_token_t               *token;      /* NULL: anonymous */
    fedi_pg_op_t                op;
    fedi_result_pt              next;
    void                       *data;       /* the handler's own state */
    u_char                     *body;       /* a body read back from its */
    size_t                      body_len;   /* temporary file, or NULL */
    unsigned                    signed_by:1; /* a verified signature */
    void                       *media;      /* fedi_media.c's uploads */
    void                       *filters;    /* the viewer's, or NULL:
                                               fedi_filters.c */
    unsigned                    in_query:1;
    unsigned                    pg_errors:1; /* next() sees SQL errors */
    unsigned                    finalized:1;
};


extern ngx_module_t  ngx_http_fedi_module;


/* ngx_http_fedi_module.c */
fedi_pg_pool_t *fedi_db(void);

/* fedi_router.c */
const fedi_route_t *fedi_route_find(ngx_str_t *path, ngx_uint_t method,
    ngx_str_t *args, ngx_uint_t *nargs, ngx_uint_t *allowed);
ngx_uint_t fedi_route_cors(ngx_str_t *path);

/* fedi_http.c: the request's life */
ngx_int_t fedi_http_handler(ngx_http_request_t *r);
void fedi_query(fedi_req_t *rq, fedi_sql_id_e stmt, fedi_result_pt next,
    int nparams, ...);
void fedi_query_again(fedi_req_t *rq, fedi_sql_id_e stmt);
fedi_json_t *fedi_json_new(fedi_req_t *rq);
fedi_json_t *fedi_json_one(fedi_req_t *rq, PGresult *res);
void fedi_send_json(fedi_req_t *rq, ngx_uint_t status, fedi_json_t *j);
void fedi_send_chunks(fedi_req_t *rq, ngx_uint_t status, const char *type,
    fedi_json_t *j);
void fedi_send_bytes(fedi_req_t *rq, ngx_uint_t status, const char *type,
    u_char *data, size_t len);
void fedi_send_error(fedi_req_t *rq, ngx_uint_t status, const char *msg);
void fedi_send_internal_error(fedi_req_t *rq);
ngx_int_t fedi_add_header(fedi_req_t *rq, const char *name, ngx_str_t *value);
char *fedi_pstrz(ngx_pool_t *pool, const u_char *s, size_t len);
char *fedi_path_id(fedi_req_t *rq, ngx_uint_t n);
ngx_int_t fedi_http_body(ngx_http_request_t *r, u_char **body, size_t *len);
ngx_table_elt_t *fedi_header(ngx_http_request_t *r, const char *name);

/* result helpers: NULL for SQL NULL */
const char *fedi_pg_val(PGresult *res, int row, int col);
ngx_int_t fedi_pg_len(PGresult *res, int row, int col);
ngx_flag_t fedi_pg_bool(PGresult *res, int row, int col);
int64_t fedi_pg_int(PGresult *res, int row, int col);

/* api_statuses.c: a statement's viewer ($1) and base URL ($2) */
char *fedi_viewer(fedi_req_t *rq);
char *fedi_base(fedi_req_t *rq);

/* api_accounts.c: a decimal id of 1 to 19 digits */
ngx_int_t fedi_is_id(const char *s);
char *fedi_id_array(fedi_req_t *rq, const char *key, ngx_uint_t strict);

/* fedi_auth.c */
ngx_int_t fedi_auth_init(ngx_cycle_t *cycle);
void fedi_auth(fedi_req_t *rq);
void fedi_auth_invalidate(const char *what);

/* fedi_jobs.c */
ngx_int_t fedi_jobs_init(ngx_cycle_t *cycle);
void fedi_jobs_kick(void);
void fedi_jobs_inbox(void);
void fedi_jobs_exit(ngx_cycle_t *cycle);

/* fedi_stream.c */
ngx_int_t fedi_stream_init(ngx_cycle_t *cycle);
void fedi_stream_exit(ngx_cycle_t *cycle);
void fedi_stream_wake(void);
void fedi_stream_revoke(const char *what);
ngx_int_t fedi_stream_token(fedi_req_t *rq, u_char **p, size_t *n);

/* fedi_mail.c */
ngx_int_t fedi_mail_init(ngx_cycle_t *cycle);
void fedi_mail_exit(ngx_cycle_t *cycle);
ngx_int_t fedi_mail_send(ngx_http_fedi_main_conf_t *mcf, const char *to,
    const char *subject, const char *body);

/* fedi_ratelimit.c */
ngx_int_t fedi_ratelimit_conf(ngx_conf_t *cf);
ngx_int_t fedi_ratelimit(fedi_req_t *rq);
ngx_int_t fedi_ratelimit_media(fedi_req_t *rq);

/* api_instance.c */
void fedi_instance_invalidate(void);

/* fedi_media.c */
ngx_uint_t fedi_media_upload(fedi_req_t *rq);
void fedi_media_render_list(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);
void fedi_media_unlink_list(fedi_req_t *rq, PGresult *res, int row, int col);
void fedi_media_credentials(fedi_req_t *rq);
const char *fedi_media_image(fedi_req_t *rq, ngx_uint_t header);
void fedi_media_images_replaced(fedi_req_t *rq, PGresult *res, int col);
ngx_int_t fedi_media_ids(fedi_req_t *rq, char **ids);
ngx_int_t fedi_media_pg_error(fedi_req_t *rq, PGresult *res);
void fedi_media_documents(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);
void fedi_media_remove(const char *root, const char *path);
ngx_int_t fedi_media_storage_init(ngx_cycle_t *cycle);

/* fedi_media_cache.c */
ngx_int_t fedi_media_cache_init(ngx_cycle_t *cycle);
void fedi_media_cache_wake(void);
void fedi_media_cache_exit(ngx_cycle_t *cycle);

/* ap_inbox_fetch.c */
ngx_int_t fedi_inbox_fetch_init(ngx_cycle_t *cycle);
void fedi_inbox_fetch_wake(void);
void fedi_inbox_fetch_exit(ngx_cycle_t *cycle);

/* api_accounts.c */
void fedi_update_credentials(fedi_req_t *rq);

/* fedi_thread.c */
ngx_int_t fedi_thread_pool_add(ngx_conf_t *cf);
void fedi_thread_run(fedi_req_t *rq, fedi_work_pt work, fedi_after_pt after,
    void *data);

/* route tables, one per area of the API, ended by a NULL pattern */
extern const fedi_route_t  fedi_routes_instance[];
extern const fedi_route_t  fedi_routes_oauth[];
extern const fedi_route_t  fedi_routes_accounts[];
extern const fedi_route_t  fedi_routes_statuses[];
extern const fedi_route_t  fedi_routes_notifications[];
extern const fedi_route_t  fedi_routes_relationships[];
extern const fedi_route_t  fedi_routes_search[];
extern const fedi_route_t  fedi_routes_inbox[];
extern const fedi_route_t  fedi_routes_ap[];
extern const fedi_route_t  fedi_routes_streaming[];
extern const fedi_route_t  fedi_routes_media[];
extern const fedi_route_t  fedi_routes_lists[];
extern const fedi_route_t  fedi_routes_reports[];
extern const fedi_route_t  fedi_routes_filters[];
extern const fedi_route_t  fedi_routes_announcements[];
extern const fedi_route_t  fedi_routes_emojis[];


#define GET     NGX_HTTP_GET
#define POST    NGX_HTTP_POST
#define PUT     NGX_HTTP_PUT
#define PATCH   NGX_HTTP_PATCH
#define DELETE  NGX_HTTP_DELETE
#define CORS    FEDI_ROUTE_CORS
#define SIGNED  FEDI_ROUTE_SIGNED
#define TOKEN   FEDI_ROUTE_TOKEN
#define USER    FEDI_ROUTE_USER
#define UPLOAD  FEDI_ROUTE_UPLOAD


#endif /* _FEDI_H_INCLUDED_ */
