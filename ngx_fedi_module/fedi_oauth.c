/*
 * Copyright (C) ngx_fedi authors
 *
 * OAuth 2 as Mastodon (Doorkeeper) does it: applications, the sign-in and
 * consent pages of /oauth/authorize (plain HTML forms, no JavaScript,
 * CSRF double-submit cookie), codes with PKCE, the token endpoint's three
 * grants, revocation, discovery and userinfo.
 *
 * Codes, tokens and sessions are random 256-bit strings; only their
 * SHA-256 digests reach the database.  Passwords are checked with bcrypt
 * on the thread pool; failures are counted per address and per account.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ctype.h>

#include "fedi.h"
#include "fedi_html.h"
#include "fedi_crypto.h"
#include "fedi_scope.h"
#include "fedi_account.h"


#define FEDI_LOGIN_MAX_PER_IP       25       /* per 5 minutes */
#define FEDI_LOGIN_MAX_PER_ACCOUNT  25       /* per hour */

#define FEDI_OOB  "urn:ietf:wg:oauth:2.0:oob"


/* what one /oauth/authorize or /oauth/token request carries along */
typedef struct {
    const char      *client_id;
    const char      *client_secret;
    const char      *redirect_uri;
    const char      *response_type;
    const char      *scope;
    const char      *state;
    const char      *code_challenge;
    const char      *code_challenge_method;
    const char      *lang;
    const char      *grant_type;
    const char      *code;
    const char      *code_verifier;
    const char      *username;
    const char      *password;
    const char      *csrf;
    const char      *action;

    /* the application */
    const char      *app_id;
    const char      *app_name;
    const char      *app_redirects;
    const char      *app_scopes;
    const char      *app_secret;

    /* the signed-in user */
    const char      *user_id;
    const char      *username_shown;

    /* bcrypt on the thread pool */
    const char      *hash;
    ngx_uint_t       password_ok;

    char             token[FEDI_TOKEN_LEN + 1];
    char             digest[FEDI_SHA256_HEX_LEN + 1];
    char             session[FEDI_TOKEN_LEN + 1];
    char             session_digest[FEDI_SHA256_HEX_LEN + 1];
    char             code_digest[FEDI_SHA256_HEX_LEN + 1];
    const char      *error;
    unsigned         force_login:1;
    unsigned         token_endpoint:1;
} fedi_oauth_t;


static void api_apps_create(fedi_req_t *rq);
static void fedi_apps_created(fedi_req_t *rq, PGresult *res);
static void api_apps_verify(fedi_req_t *rq);
static void fedi_apps_verified(fedi_req_t *rq, PGresult *res);
static void fedi_app_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    ngx_uint_t credentials);
static ngx_int_t fedi_redirect_uri_valid(const char *uri, size_t len);
static ngx_int_t fedi_redirect_uri_allowed(const char *uri, const char *list);

static fedi_oauth_t *fedi_oauth_params(fedi_req_t *rq);
static void oauth_authorize_get(fedi_req_t *rq);
static void oauth_authorize_post(fedi_req_t *rq);
static void fedi_authorize_app(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_session(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_login(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_checked(fedi_req_t *rq, void *data);
static void fedi_authorize_failed(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_signed_in(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_granted(fedi_req_t *rq, PGresult *res);
static void fedi_authorize_redirect_error(fedi_req_t *rq, const char *error,
    const char *description);
static void fedi_page_login(fedi_req_t *rq, ngx_uint_t status);
static void fedi_page_consent(fedi_req_t *rq);
static void fedi_page_message(fedi_req_t *rq, ngx_uint_t status,
    const char *title, const char *message, const char *code);
static void fedi_page_hidden(fedi_json_t *h, const char *name,
    const char *value);
static void fedi_page_start(fedi_json_t *h, const char *title);
static void fedi_page_oauth_fields(fedi_json_t *h, fedi_oauth_t *o,
    const char *csrf);
static const char *fedi_csrf_token(fedi_req_t *rq);
static void fedi_page_send(fedi_req_t *rq, ngx_uint_t status, fedi_json_t *h);
static ngx_int_t fedi_csrf_ok(fedi_req_t *rq, fedi_oauth_t *o);
static ngx_int_t fedi_set_cookie(fedi_req_t *rq, const char *name,
    const char *value, ngx_uint_t max_age);

static void oauth_token(fedi_req_t *rq);
static void fedi_token_app(fedi_req_t *rq, PGresult *res);
static void fedi_token_grant(fedi_req_t *rq, PGresult *res);
static void fedi_token_login(fedi_req_t *rq, PGresult *res);
static void fedi_token_checked(fedi_req_t *rq, void *data);
static void fedi_token_failed(fedi_req_t *rq, PGresult *res);
static void fedi_token_issued(fedi_req_t *rq, PGresult *res);
static void fedi_oauth_error(fedi_req_t *rq, ngx_uint_t status,
    const char *error, const char *description);
static void fedi_oauth_invalid_grant(fedi_req_t *rq);
static void fedi_oauth_invalid_client(fedi_req_t *rq);
static void fedi_client_credentials(fedi_req_t *rq, fedi_oauth_t *o);

static void oauth_revoke(fedi_req_t *rq);
static void fedi_revoke_app(fedi_req_t *rq, PGresult *res);
static void fedi_revoke_done(fedi_req_t *rq, PGresult *res);
static void oauth_server_metadata(fedi_req_t *rq);
static void oauth_userinfo(fedi_req_t *rq);
static void fedi_userinfo_loaded(fedi_req_t *rq, PGresult *res);

static void fedi_password_work(void *data);
static char *fedi_client_address(fedi_req_t *rq);
static char *fedi_cookie(fedi_req_t *rq, const char *name);


const fedi_route_t  fedi_routes_oauth[] = {
    { POST, "/api/v1/apps", api_apps_create, NULL, CORS },
    { GET, "/api/v1/apps/verify_credentials", api_apps_verify, NULL,
      CORS|TOKEN },
    { GET, "/oauth/authorize", oauth_authorize_get, NULL, 0 },
    { POST, "/oauth/authorize", oauth_authorize_post, NULL, 0 },
    { POST, "/oauth/token", oauth_token, NULL, CORS },
    { POST, "/oauth/revoke", oauth_revoke, NULL, CORS },
    { GET, "/.well-known/oauth-authorization-server", oauth_server_metadata,
      NULL, CORS },
    { GET|POST, "/oauth/userinfo", oauth_userinfo, "profile", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* a bcrypt hash to burn the same time for unknown accounts */
static const char  *fedi_dummy_hash =
    "$2b$10$V3DP9M56mLJiqe16qea1IeQxsW9bxeuu9Wb4yjckZKKE1ykA3sV8i";


/* POST /api/v1/apps */

static void
api_apps_create(fedi_req_t *rq)
{
    size_t       n;
    u_char      *p, *q, *list, *end;
    json_t      *v, *e;
    size_t       i;
    const char  *name, *website, *scopes, *s;
    char         client_id[FEDI_TOKEN_LEN + 1];
    char         secret[FEDI_TOKEN_LEN + 1];
    char        *cid, *csec;

    name = fedi_param_str(rq->params, "client_name");
    if (name == NULL || name[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Application name can't be blank");
        return;
    }

    if (ngx_strlen(name) > 60) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Application name is too long "
                        "(maximum is 60 characters)");
        return;
    }

    website = fedi_param_str(rq->params, "website");
    if (website && website[0] == '\0') {
        website = NULL;
    }

    scopes = fedi_param_str(rq->params, "scopes");
    if (scopes == NULL || scopes[0] == '\0') {
        scopes = "read";
    }

    if (!fedi_scopes_valid(scopes)) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Scopes must be a valid scope");
        return;
    }

    /* redirect_uris: a string (one per line) or an array of strings */
    v = json_object_get(rq->params, "redirect_uris");
    if (v == NULL) {
        v = json_object_get(rq->params, "redirect_uris[]");
    }

    n = 0;

    if (json_is_string(v)) {
        n = json_string_length(v);

    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (!json_is_string(e)) {
                v = NULL;
                break;
            }

            n += json_string_length(e) + 1;
        }

    } else {
        v = NULL;
    }

    if (v == NULL || n == 0) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Redirect URI can't be blank");
        return;
    }

    list = ngx_pnalloc(rq->r->pool, n + 1);
    if (list == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = list;

    if (json_is_string(v)) {
        p = ngx_cpymem(p, json_string_value(v), json_string_length(v));

    } else {
        json_array_foreach(v, i, e) {
            if (p != list) {
                *p++ = '\n';
            }

            p = ngx_cpymem(p, json_string_value(e), json_string_length(e));
        }
    }

    *p = '\0';
    end = p;

    /* normalize: trim each line, drop empty ones, validate each */
    q = list;

    for (p = list; p < end; /* void */) {
        s = (char *) p;

        while (p < end && *p != '\n') {
            p++;
        }

        n = p - (u_char *) s;

        while (n && (s[0] == ' ' || s[0] == '\r' || s[0] == '\t')) {
            s++;
            n--;
        }

        while (n && (s[n - 1] == ' ' || s[n - 1] == '\r'
                     || s[n - 1] == '\t'))
        {
            n--;
        }

        if (n) {
            if (fedi_redirect_uri_valid(s, n) != NGX_OK) {
                fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                                "Validation failed: Redirect URI must be an "
                                "absolute URI.");
                return;
            }

            if (q != list) {
                *q++ = '\n';
            }

            q = ngx_movemem(q, s, n);
        }

        if (p < end) {
            p++;
        }
    }

    *q = '\0';

    if (q == list) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Redirect URI can't be blank");
        return;
    }

    if (fedi_random_token(client_id, sizeof(client_id), FEDI_TOKEN_BYTES)
        != 0
        || fedi_random_token(secret, sizeof(secret), FEDI_TOKEN_BYTES) != 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    cid = fedi_pstrz(rq->r->pool, (u_char *) client_id, FEDI_TOKEN_LEN);
    csec = fedi_pstrz(rq->r->pool, (u_char *) secret, FEDI_TOKEN_LEN);
    if (cid == NULL || csec == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = cid;

    fedi_query(rq, FEDI_SQL_APP_CREATE, fedi_apps_created, 7,
               name, website, (char *) list, scopes, cid, csec,
               rq->token && rq->token->has_user ? rq->token->user_id : NULL);
}


static void
fedi_apps_created(fedi_req_t *rq, PGresult *res)
{
    fedi_query(rq, FEDI_SQL_APP_BY_CLIENT, fedi_apps_verified, 1, rq->data);
    rq->data = (void *) 1;      /* with credentials */
}


static void
api_apps_verify(fedi_req_t *rq)
{
    rq->data = NULL;
    fedi_query(rq, FEDI_SQL_APP_BY_ID, fedi_apps_verified, 1,
               rq->token->app_id);
}


static void
fedi_apps_verified(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED,
                        "The access token is invalid");
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_app_render(rq, j, res, rq->data != NULL);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
fedi_app_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    ngx_uint_t credentials)
{
    const char  *p, *s, *list;

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "id", PQgetvalue(res, 0, 0));
    fedi_json_kcstr(j, "name", PQgetvalue(res, 0, 1));
    fedi_json_kcstr(j, "website", fedi_pg_val(res, 0, 2));

    fedi_json_key(j, "scopes");
    fedi_json_arr_open(j);

    for (p = PQgetvalue(res, 0, 4); *p; /* void */) {
        s = p;

        while (*p && *p != ' ') {
            p++;
        }

        if (p > s) {
            fedi_json_str(j, (u_char *) s, p - s);
        }

        while (*p == ' ') {
            p++;
        }
    }

    fedi_json_arr_close(j);

    list = PQgetvalue(res, 0, 3);
    fedi_json_kcstr(j, "redirect_uri", list);

    fedi_json_key(j, "redirect_uris");
    fedi_json_arr_open(j);

    for (p = list; *p; /* void */) {
        s = p;

        while (*p && *p != '\n') {
            p++;
        }

        fedi_json_str(j, (u_char *) s, p - s);

        if (*p) {
            p++;
        }
    }

    fedi_json_arr_close(j);

    fedi_json_kcstr(j, "vapid_key", "");

    if (credentials) {
        fedi_json_kcstr(j, "client_id", PQgetvalue(res, 0, 5));
        fedi_json_kcstr(j, "client_secret", PQgetvalue(res, 0, 6));
        fedi_json_kint(j, "client_secret_expires_at", 0);
    }

    fedi_json_obj_close(j);
}


static ngx_int_t
fedi_redirect_uri_valid(const char *uri, size_t len)
{
    size_t  i;

    if (len == sizeof(FEDI_OOB) - 1 && ngx_strncmp(uri, FEDI_OOB, len) == 0) {
        return NGX_OK;
    }

    /* scheme ":" ... ; custom schemes (com.example.app:/cb) are fine */
    for (i = 0; i < len; i++) {
        if (uri[i] == ':') {
            break;
        }

        if (!(isalnum((unsigned char) uri[i])
              || (i > 0 && (uri[i] == '+' || uri[i] == '-'
                            || uri[i] == '.'))))
        {
            return NGX_DECLINED;
        }
    }

    if (i == 0 || i == len || i + 1 == len) {
        return NGX_DECLINED;
    }

    if ((i == 10 && ngx_strncasecmp((u_char *) uri, (u_char *) "javascript",
                                    10) == 0)
        || (i == 4 && ngx_strncasecmp((u_char *) uri, (u_char *) "data", 4)
                      == 0)
        || (i == 8 && ngx_strncasecmp((u_char *) uri, (u_char *) "vbscript",
                                      8) == 0))
    {
        return NGX_DECLINED;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) uri[i] <= ' ' || uri[i] == '<' || uri[i] == '>'
            || uri[i] == '"')
        {
            return NGX_DECLINED;
        }
    }

    /* http(s) needs an authority */
    if ((ngx_strncasecmp((u_char *) uri, (u_char *) "http://", 7) == 0
         && len > 7)
        || (ngx_strncasecmp((u_char *) uri, (u_char *) "https://", 8) == 0
            && len > 8))
    {
        return NGX_OK;
    }

    if (ngx_strncasecmp((u_char *) uri, (u_char *) "http:", 5) == 0
        || ngx_strncasecmp((u_char *) uri, (u_char *) "https:", 6) == 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* exact match against one of the app's URIs */
static ngx_int_t
fedi_redirect_uri_allowed(const char *uri, const char *list)
{
    size_t       n, len;
    const char  *p, *s;

    len = ngx_strlen(uri);

    for (p = list; *p; /* void */) {
        s = p;

        while (*p && *p != '\n') {
            p++;
        }

        n = p - s;

        if (n == len && ngx_strncmp(s, uri, n) == 0) {
            return NGX_OK;
        }

        if (*p) {
            p++;
        }
    }

    return NGX_DECLINED;
}


/* /oauth/authorize */

static fedi_oauth_t *
fedi_oauth_params(fedi_req_t *rq)
{
    fedi_oauth_t  *o;

    o = ngx_pcalloc(rq->r->pool, sizeof(fedi_oauth_t));
    if (o == NULL) {
        return NULL;
    }

    o->client_id = fedi_param_str(rq->params, "client_id");
    o->client_secret = fedi_param_str(rq->params, "client_secret");
    o->redirect_uri = fedi_param_str(rq->params, "redirect_uri");
    o->response_type = fedi_param_str(rq->params, "response_type");
    o->scope = fedi_param_str(rq->params, "scope");
    o->state = fedi_param_str(rq->params, "state");
    o->code_challenge = fedi_param_str(rq->params, "code_challenge");
    o->code_challenge_method = fedi_param_str(rq->params,
                                              "code_challenge_method");
    o->lang = fedi_param_str(rq->params, "lang");
    o->grant_type = fedi_param_str(rq->params, "grant_type");
    o->code = fedi_param_str(rq->params, "code");
    o->code_verifier = fedi_param_str(rq->params, "code_verifier");
    o->username = fedi_param_str(rq->params, "username");
    o->password = fedi_param_str(rq->params, "password");
    o->csrf = fedi_param_str(rq->params, "authenticity_token");
    o->action = fedi_param_str(rq->params, "action");
    o->force_login = fedi_param_bool(rq->params, "force_login", 0);

    if (o->scope && o->scope[0] == '\0') {
        o->scope = NULL;
    }

    if (o->code_challenge && o->code_challenge[0] == '\0') {
        o->code_challenge = NULL;
    }

    if (o->state && o->state[0] == '\0') {
        o->state = NULL;
    }

    rq->data = o;

    return o;
}


static void
oauth_authorize_get(fedi_req_t *rq)
{
    fedi_oauth_t  *o;

    o = fedi_oauth_params(rq);
    if (o == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (o->client_id == NULL) {
        fedi_page_message(rq, NGX_HTTP_BAD_REQUEST, "Authorization error",
                          "The request is missing a required parameter: "
                          "client_id.", NULL);
        return;
    }

    fedi_query(rq, FEDI_SQL_APP_BY_CLIENT, fedi_authorize_app, 1,
               o->client_id);
}


static void
oauth_authorize_post(fedi_req_t *rq)
{
    fedi_oauth_t  *o;

    o = fedi_oauth_params(rq);
    if (o == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (fedi_csrf_ok(rq, o) != NGX_OK) {
        fedi_page_message(rq, NGX_HTTP_FORBIDDEN, "Authorization error",
                          "The form expired or did not come from this site. "
                          "Go back and try again.", NULL);
        return;
    }

    if (o->client_id == NULL) {
        fedi_page_message(rq, NGX_HTTP_BAD_REQUEST, "Authorization error",
                          "The request is missing a required parameter: "
                          "client_id.", NULL);
        return;
    }

    fedi_query(rq, FEDI_SQL_APP_BY_CLIENT, fedi_authorize_app, 1,
               o->client_id);
}


static void
fedi_authorize_app(fedi_req_t *rq, PGresult *res)
{
    char          *sid;
    fedi_oauth_t  *o;

    o = rq->data;

    if (PQntuples(res) != 1) {
        fedi_page_message(rq, NGX_HTTP_UNAUTHORIZED, "Authorization error",
                          "Client authentication failed due to unknown "
                          "client, no client authentication included, or "
                          "unsupported authentication method.", NULL);
        return;
    }

    o->app_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                           PQgetlength(res, 0, 0));
    o->app_name = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 1),
                             PQgetlength(res, 0, 1));
    o->app_redirects = fedi_pstrz(rq->r->pool,
                                  (u_char *) PQgetvalue(res, 0, 3),
                                  PQgetlength(res, 0, 3));
    o->app_scopes = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 4),
                               PQgetlength(res, 0, 4));

    if (o->app_id == NULL || o->app_name == NULL || o->app_redirects == NULL
        || o->app_scopes == NULL)
    {
        fedi_send_internal_error(rq);
        return;
    }

    /* never redirect to a URI the app did not register */
    if (o->redirect_uri == NULL
        || fedi_redirect_uri_allowed(o->redirect_uri, o->app_redirects)
           != NGX_OK)
    {
        fedi_page_message(rq, NGX_HTTP_BAD_REQUEST, "Authorization error",
                          "The redirect uri included is not valid.", NULL);
        return;
    }

    if (o->response_type == NULL || ngx_strcmp(o->response_type, "code") != 0)
    {
        fedi_authorize_redirect_error(rq, "unsupported_response_type",
                          "The authorization server does not support this "
                          "response type.");
        return;
    }

    if (o->scope == NULL) {
        o->scope = "read";
    }

    if (!fedi_scopes_valid(o->scope)
        || !fedi_scopes_subset(o->scope, o->app_scopes))
    {
        fedi_authorize_redirect_error(rq, "invalid_scope",
                          "The requested scope is invalid, unknown, or "
                          "malformed.");
        return;
    }

    if (o->code_challenge
        && (o->code_challenge_method == NULL
            || ngx_strcmp(o->code_challenge_method, "S256") != 0))
    {
        fedi_authorize_redirect_error(rq, "invalid_request",
                          "Code challenge method must be S256.");
        return;
    }

    if (rq->r->method == NGX_HTTP_POST && o->action
        && ngx_strcmp(o->action, "sign_in") == 0)
    {
        if (o->username == NULL || o->password == NULL) {
            o->error = "Invalid email or password.";
            fedi_page_login(rq, NGX_HTTP_UNAUTHORIZED);
            return;
        }

        fedi_query(rq, FEDI_SQL_LOGIN_LOOKUP, fedi_authorize_login, 2,
                   fedi_client_address(rq), o->username);
        return;
    }

    sid = fedi_cookie(rq, "_fedi_session");

    if (sid == NULL || (o->force_login && rq->r->method == NGX_HTTP_GET)) {
        fedi_page_login(rq, NGX_HTTP_OK);
        return;
    }

    fedi_sha256_hex((u_char *) sid, ngx_strlen(sid), o->session_digest);

    fedi_query(rq, FEDI_SQL_SESSION_USER, fedi_authorize_session, 1,
               o->session_digest);
}


static void
fedi_authorize_session(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;

    o = rq->data;

    if (PQntuples(res) != 1) {
        fedi_page_login(rq, NGX_HTTP_OK);
        return;
    }

    o->user_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                            PQgetlength(res, 0, 0));
    o->username_shown = fedi_pstrz(rq->r->pool,
                                   (u_char *) PQgetvalue(res, 0, 1),
                                   PQgetlength(res, 0, 1));

    if (rq->r->method == NGX_HTTP_GET || o->action == NULL) {
        fedi_page_consent(rq);
        return;
    }

    if (ngx_strcmp(o->action, "deny") == 0) {
        fedi_authorize_redirect_error(rq, "access_denied",
                          "The resource owner or authorization server denied "
                          "the request.");
        return;
    }

    if (ngx_strcmp(o->action, "authorize") != 0) {
        fedi_page_consent(rq);
        return;
    }

    if (fedi_random_token(o->token, sizeof(o->token), FEDI_TOKEN_BYTES) != 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex((u_char *) o->token, FEDI_TOKEN_LEN, o->code_digest);

    fedi_query(rq, FEDI_SQL_GRANT_CREATE, fedi_authorize_granted, 7,
               o->code_digest, o->app_id, o->user_id, o->redirect_uri,
               o->scope, o->code_challenge,
               o->code_challenge ? o->code_challenge_method : NULL);
}


static void
fedi_authorize_login(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;

    o = rq->data;

    if (fedi_pg_int(res, 0, 0) >= FEDI_LOGIN_MAX_PER_IP
        || fedi_pg_int(res, 0, 1) >= FEDI_LOGIN_MAX_PER_ACCOUNT)
    {
        o->error = "Too many failed attempts. Try again later.";
        fedi_page_login(rq, NGX_HTTP_TOO_MANY_REQUESTS);
        return;
    }

    o->user_id = fedi_pg_val(res, 0, 2);

    if (o->user_id) {
        o->user_id = fedi_pstrz(rq->r->pool, (u_char *) o->user_id,
                                ngx_strlen(o->user_id));
        o->hash = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 3),
                             PQgetlength(res, 0, 3));
        o->username_shown = fedi_pstrz(rq->r->pool,
                                       (u_char *) PQgetvalue(res, 0, 7),
                                       PQgetlength(res, 0, 7));

        if (!fedi_pg_bool(res, 0, 4)) {
            o->error = "You have to confirm your email address before "
                       "continuing.";

        } else if (!fedi_pg_bool(res, 0, 5)) {
            o->error = "Your account is pending review by our staff.";

        } else if (fedi_pg_bool(res, 0, 6)) {
            o->error = "Your account is disabled.";
        }

    } else {
        o->hash = fedi_dummy_hash;
    }

    fedi_thread_run(rq, fedi_password_work, fedi_authorize_checked, o);
}


static void
fedi_password_work(void *data)
{
    fedi_oauth_t  *o = data;

    o->password_ok = fedi_password_verify(o->password, o->hash);
}


static void
fedi_authorize_checked(fedi_req_t *rq, void *data)
{
    fedi_oauth_t  *o = data;

    if (!o->password_ok || o->user_id == NULL) {
        fedi_query(rq, FEDI_SQL_LOGIN_FAILED, fedi_authorize_failed, 2,
                   fedi_client_address(rq), o->username);
        return;
    }

    if (o->error) {
        fedi_page_login(rq, NGX_HTTP_FORBIDDEN);
        return;
    }

    if (fedi_random_token(o->session, sizeof(o->session), FEDI_TOKEN_BYTES)
        != 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex((u_char *) o->session, FEDI_TOKEN_LEN, o->session_digest);

    fedi_query(rq, FEDI_SQL_LOGIN_OK, fedi_authorize_signed_in, 2,
               o->user_id, o->session_digest);
}


static void
fedi_authorize_failed(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;

    o = rq->data;
    o->error = "Invalid email or password.";

    fedi_page_login(rq, NGX_HTTP_UNAUTHORIZED);
}


static void
fedi_authorize_signed_in(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;

    o = rq->data;

    if (fedi_set_cookie(rq, "_fedi_session", o->session, 86400) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_page_consent(rq);
}


static void
fedi_authorize_granted(fedi_req_t *rq, PGresult *res)
{
    u_char             *url, *p;
    size_t              len;
    ngx_str_t           state, code;
    fedi_oauth_t       *o;
    ngx_table_elt_t    *h;

    o = rq->data;

    if (ngx_strcmp(o->redirect_uri, FEDI_OOB) == 0) {
        fedi_page_message(rq, NGX_HTTP_OK, "Authorization code",
                          "Copy this authorization code and paste it into "
                          "the application.", o->token);
        return;
    }

    code.data = (u_char *) o->token;
    code.len = FEDI_TOKEN_LEN;

    state.len = 0;
    state.data = NULL;

    if (o->state) {
        state.len = ngx_strlen(o->state);
        state.data = ngx_pnalloc(rq->r->pool,
                                 state.len + 2 * ngx_escape_uri(NULL,
                                     (u_char *) o->state, state.len,
                                     NGX_ESCAPE_ARGS));
        if (state.data == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        p = (u_char *) ngx_escape_uri(state.data, (u_char *) o->state,
                                      state.len, NGX_ESCAPE_ARGS);
        state.len = p - state.data;
    }

    len = ngx_strlen(o->redirect_uri) + sizeof("?code=&state=") + code.len
          + state.len;

    url = ngx_pnalloc(rq->r->pool, len);
    if (url == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = ngx_sprintf(url, "%s%s%s%V", o->redirect_uri,
                    ngx_strchr(o->redirect_uri, '?') ? "&code=" : "?code=",
                    "", &code);

    if (o->state) {
        p = ngx_sprintf(p, "&state=%V", &state);
    }

    h = ngx_list_push(&rq->r->headers_out.headers);
    if (h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = url;
    h->value.len = p - url;
    rq->r->headers_out.location = h;

    fedi_send_bytes(rq, NGX_HTTP_MOVED_TEMPORARILY, "text/html", NULL, 0);
}


static void
fedi_authorize_redirect_error(fedi_req_t *rq, const char *error,
    const char *description)
{
    u_char           *url, *p, *d, *s;
    size_t            len, dlen, slen;
    fedi_oauth_t     *o;
    ngx_table_elt_t  *h;

    o = rq->data;

    if (ngx_strcmp(o->redirect_uri, FEDI_OOB) == 0) {
        fedi_page_message(rq, NGX_HTTP_BAD_REQUEST, "Authorization error",
                          description, NULL);
        return;
    }

    dlen = ngx_strlen(description);
    slen = o->state ? ngx_strlen(o->state) : 0;

    len = ngx_strlen(o->redirect_uri) + ngx_strlen(error) + 3 * dlen
          + 3 * slen + sizeof("?error=&error_description=&state=");

    url = ngx_pnalloc(rq->r->pool, len);
    if (url == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = ngx_sprintf(url, "%s%serror=%s&error_description=", o->redirect_uri,
                    ngx_strchr(o->redirect_uri, '?') ? "&" : "?", error);

    d = p;
    p = (u_char *) ngx_escape_uri(p, (u_char *) description, dlen,
                                  NGX_ESCAPE_ARGS);

    /* spaces as '+' (form encoding) */
    for (s = d; s < p; s++) {
        if (*s == ' ') {
            *s = '+';
        }
    }

    if (o->state) {
        p = ngx_cpymem(p, "&state=", 7);
        p = (u_char *) ngx_escape_uri(p, (u_char *) o->state, slen,
                                      NGX_ESCAPE_ARGS);
    }

    h = ngx_list_push(&rq->r->headers_out.headers);
    if (h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value.data = url;
    h->value.len = p - url;
    rq->r->headers_out.location = h;

    fedi_send_bytes(rq, NGX_HTTP_MOVED_TEMPORARILY, "text/html", NULL, 0);
}


/* the pages */

static void
fedi_page_start(fedi_json_t *h, const char *title)
{
    fedi_html_cstr(h, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
                      "<meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width,"
                      " initial-scale=1\"><title>");
    fedi_html_escape(h, title);
    fedi_html_cstr(h, "</title><style>"
        "body{font-family:system-ui,sans-serif;background:#191b22;"
        "color:#d9e1e8;display:flex;justify-content:center;margin:0}"
        "main{max-width:24rem;width:100%;padding:2rem 1rem}"
        "h1{font-size:1.4rem}label{display:block;margin:.8rem 0 .3rem}"
        "input[type=text],input[type=email],input[type=password]{width:100%;"
        "box-sizing:border-box;padding:.6rem;border-radius:4px;border:0}"
        "button{margin-top:1rem;padding:.6rem 1.2rem;border:0;"
        "border-radius:4px;background:#6364ff;color:#fff;font-size:1rem}"
        "button.deny{background:#444}.error{color:#ff6b6b}"
        "code{display:block;padding:1rem;background:#282c37;"
        "word-break:break-all}li{margin:.2rem 0}"
        "</style></head><body><main><h1>");
    fedi_html_escape(h, title);
    fedi_html_cstr(h, "</h1>\n");
}


static void
fedi_page_hidden(fedi_json_t *h, const char *name, const char *value)
{
    if (value == NULL) {
        return;
    }

    fedi_html_cstr(h, "<input type=\"hidden\" name=\"");
    fedi_html_cstr(h, name);
    fedi_html_cstr(h, "\" value=\"");
    fedi_html_escape(h, value);
    fedi_html_cstr(h, "\">\n");
}


static void
fedi_page_oauth_fields(fedi_json_t *h, fedi_oauth_t *o, const char *csrf)
{
    fedi_page_hidden(h, "authenticity_token", csrf);
    fedi_page_hidden(h, "client_id", o->client_id);
    fedi_page_hidden(h, "redirect_uri", o->redirect_uri);
    fedi_page_hidden(h, "response_type", o->response_type);
    fedi_page_hidden(h, "scope", o->scope);
    fedi_page_hidden(h, "state", o->state);
    fedi_page_hidden(h, "code_challenge", o->code_challenge);
    fedi_page_hidden(h, "code_challenge_method", o->code_challenge_method);
    fedi_page_hidden(h, "lang", o->lang);
}


/* the CSRF token of this browser: the cookie's, or a new one */
static const char *
fedi_csrf_token(fedi_req_t *rq)
{
    char  *t;

    t = fedi_cookie(rq, "_fedi_csrf");
    if (t && ngx_strlen(t) == FEDI_TOKEN_LEN) {
        return t;
    }

    t = ngx_pnalloc(rq->r->pool, FEDI_TOKEN_LEN + 1);
    if (t == NULL
        || fedi_random_token(t, FEDI_TOKEN_LEN + 1, FEDI_TOKEN_BYTES) != 0
        || fedi_set_cookie(rq, "_fedi_csrf", t, 0) != NGX_OK)
    {
        return NULL;
    }

    return t;
}


static ngx_int_t
fedi_csrf_ok(fedi_req_t *rq, fedi_oauth_t *o)
{
    char  *c;

    c = fedi_cookie(rq, "_fedi_csrf");

    if (c == NULL || o->csrf == NULL || ngx_strlen(c) != FEDI_TOKEN_LEN) {
        return NGX_DECLINED;
    }

    return fedi_ct_equal(c, ngx_strlen(c), o->csrf, ngx_strlen(o->csrf))
           ? NGX_OK : NGX_DECLINED;
}


static void
fedi_page_login(fedi_req_t *rq, ngx_uint_t status)
{
    const char    *csrf;
    fedi_json_t   *h;
    fedi_oauth_t  *o;

    o = rq->data;

    csrf = fedi_csrf_token(rq);
    h = fedi_json_new(rq);
    if (csrf == NULL || h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_page_start(h, "Sign in");
    fedi_html_cstr(h, "<p>Sign in to continue to <strong>");
    fedi_html_escape(h, o->app_name);
    fedi_html_cstr(h, "</strong> on ");
    fedi_html_escape(h, (char *) rq->mcf->domain.data);
    fedi_html_cstr(h, ".</p>\n");

    if (o->error) {
        fedi_html_cstr(h, "<p class=\"error\" role=\"alert\">");
        fedi_html_escape(h, o->error);
        fedi_html_cstr(h, "</p>\n");
    }

    fedi_html_cstr(h, "<form method=\"post\" action=\"/oauth/authorize\">\n");
    fedi_page_oauth_fields(h, o, csrf);
    fedi_page_hidden(h, "action", "sign_in");
    fedi_html_cstr(h, "<label for=\"username\">E-mail address or username"
                      "</label><input type=\"text\" id=\"username\" "
                      "name=\"username\" autocomplete=\"username\" "
                      "required value=\"");

    if (o->username) {
        fedi_html_escape(h, o->username);
    }

    fedi_html_cstr(h, "\">\n<label for=\"password\">Password</label>"
                      "<input type=\"password\" id=\"password\" "
                      "name=\"password\" autocomplete=\"current-password\" "
                      "required>\n<button type=\"submit\">Sign in</button>"
                      "\n</form>\n");

    fedi_page_send(rq, status, h);
}


static void
fedi_page_consent(fedi_req_t *rq)
{
    u_char        *p;
    const char    *csrf, *s;
    fedi_json_t   *h;
    fedi_oauth_t  *o;

    o = rq->data;

    csrf = fedi_csrf_token(rq);
    h = fedi_json_new(rq);
    if (csrf == NULL || h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_page_start(h, "Authorization required");
    fedi_html_cstr(h, "<p><strong>");
    fedi_html_escape(h, o->app_name);
    fedi_html_cstr(h, "</strong> would like to access your account <strong>"
                      "@");
    fedi_html_escape(h, o->username_shown ? o->username_shown : "");
    fedi_html_cstr(h, "</strong>. It asks for:</p>\n<ul>");

    for (s = o->scope; *s; /* void */) {
        p = (u_char *) s;

        while (*s && *s != ' ') {
            s++;
        }

        if (s > (char *) p) {
            fedi_html_cstr(h, "<li>");
            fedi_html_escape_n(h, (char *) p, s - (char *) p);
            fedi_html_cstr(h, "</li>");
        }

        while (*s == ' ') {
            s++;
        }
    }

    fedi_html_cstr(h, "</ul>\n<form method=\"post\" "
                      "action=\"/oauth/authorize\">\n");
    fedi_page_oauth_fields(h, o, csrf);
    fedi_html_cstr(h, "<button type=\"submit\" name=\"action\" "
                      "value=\"authorize\">Authorize</button>\n"
                      "<button type=\"submit\" name=\"action\" "
                      "value=\"deny\" class=\"deny\">Deny</button>\n"
                      "</form>\n");

    fedi_page_send(rq, NGX_HTTP_OK, h);
}


static void
fedi_page_message(fedi_req_t *rq, ngx_uint_t status, const char *title,
    const char *message, const char *code)
{
    fedi_json_t  *h;

    h = fedi_json_new(rq);
    if (h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_page_start(h, title);
    fedi_html_cstr(h, "<p>");
    fedi_html_escape(h, message);
    fedi_html_cstr(h, "</p>\n");

    if (code) {
        fedi_html_cstr(h, "<code id=\"code\">");
        fedi_html_escape(h, code);
        fedi_html_cstr(h, "</code>\n");
    }

    fedi_page_send(rq, status, h);
}


static void
fedi_page_send(fedi_req_t *rq, ngx_uint_t status, fedi_json_t *h)
{
    ngx_str_t  v;

    fedi_html_cstr(h, "</main></body></html>\n");

    /* the pages must never be framed or cached */
    ngx_str_set(&v, "DENY");
    (void) fedi_add_header(rq, "X-Frame-Options", &v);
    ngx_str_set(&v, "no-store");
    (void) fedi_add_header(rq, "Cache-Control", &v);
    ngx_str_set(&v, "default-src 'none'; style-src 'unsafe-inline'; "
                    "form-action 'self' *; frame-ancestors 'none'");
    (void) fedi_add_header(rq, "Content-Security-Policy", &v);

    fedi_send_chunks(rq, status, "text/html; charset=utf-8", h);
}


static ngx_int_t
fedi_set_cookie(fedi_req_t *rq, const char *name, const char *value,
    ngx_uint_t max_age)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   v;

    len = ngx_strlen(name) + ngx_strlen(value)
          + sizeof("=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=")
          + NGX_INT_T_LEN;

    p = ngx_pnalloc(rq->r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v.data = p;
    p = ngx_sprintf(p, "%s=%s; Path=/; HttpOnly; SameSite=Lax", name, value);

    if (rq->mcf->https) {
        p = ngx_cpymem(p, "; Secure", 8);
    }

    if (max_age) {
        p = ngx_sprintf(p, "; Max-Age=%ui", max_age);
    }

    v.len = p - v.data;

    return fedi_add_header(rq, "Set-Cookie", &v);
}


static char *
fedi_cookie(fedi_req_t *rq, const char *name)
{
    ngx_str_t  n, v;

    n.data = (u_char *) name;
    n.len = ngx_strlen(name);

    if (ngx_http_parse_multi_header_lines(&rq->r->headers_in.cookies, &n, &v)
        == NGX_DECLINED)
    {
        return NULL;
    }

    return fedi_pstrz(rq->r->pool, v.data, v.len);
}


static char *
fedi_client_address(fedi_req_t *rq)
{
    ngx_str_t  *a;

    a = &rq->r->connection->addr_text;

    return fedi_pstrz(rq->r->pool, a->data, a->len);
}


/* POST /oauth/token */

static void
oauth_token(fedi_req_t *rq)
{
    u_char           *p;
    ngx_str_t         in, out;
    fedi_oauth_t     *o;
    ngx_table_elt_t  *h;

    o = fedi_oauth_params(rq);
    if (o == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    o->token_endpoint = 1;

    /* HTTP Basic client credentials win over the body's */
    h = rq->r->headers_in.authorization;

    if (h && h->value.len > 6
        && ngx_strncasecmp(h->value.data, (u_char *) "Basic ", 6) == 0)
    {
        in.data = h->value.data + 6;
        in.len = h->value.len - 6;

        out.data = ngx_pnalloc(rq->r->pool, ngx_base64_decoded_length(in.len)
                                           + 1);
        if (out.data == NULL || ngx_decode_base64(&out, &in) != NGX_OK) {
            fedi_oauth_invalid_client(rq);
            return;
        }

        out.data[out.len] = '\0';
        p = (u_char *) ngx_strchr(out.data, ':');

        if (p) {
            *p = '\0';
            o->client_id = (char *) out.data;
            o->client_secret = (char *) p + 1;
        }
    }

    if (o->grant_type == NULL) {
        fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "invalid_request",
                         "The request is missing a required parameter: "
                         "grant_type.");
        return;
    }

    if (ngx_strcmp(o->grant_type, "authorization_code") != 0
        && ngx_strcmp(o->grant_type, "password") != 0
        && ngx_strcmp(o->grant_type, "client_credentials") != 0)
    {
        fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "unsupported_grant_type",
                         "The authorization grant type is not supported by "
                         "the authorization server.");
        return;
    }

    if (o->client_id == NULL) {
        fedi_oauth_invalid_client(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_APP_BY_CLIENT, fedi_token_app, 1, o->client_id);
}


static void
fedi_token_app(fedi_req_t *rq, PGresult *res)
{
    const char    *secret;
    fedi_oauth_t  *o;

    o = rq->data;

    if (PQntuples(res) != 1) {
        fedi_oauth_invalid_client(rq);
        return;
    }

    secret = PQgetvalue(res, 0, 6);

    /* a public client may leave out the secret for a PKCE code exchange */
    if (o->client_secret
        ? !fedi_ct_equal(secret, ngx_strlen(secret), o->client_secret,
                         ngx_strlen(o->client_secret))
        : !(ngx_strcmp(o->grant_type, "authorization_code") == 0
            && o->code_verifier))
    {
        fedi_oauth_invalid_client(rq);
        return;
    }

    o->app_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                           PQgetlength(res, 0, 0));
    o->app_scopes = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 4),
                               PQgetlength(res, 0, 4));

    if (o->app_id == NULL || o->app_scopes == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (fedi_random_token(o->token, sizeof(o->token), FEDI_TOKEN_BYTES) != 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex((u_char *) o->token, FEDI_TOKEN_LEN, o->digest);

    if (ngx_strcmp(o->grant_type, "authorization_code") == 0) {
        if (o->code == NULL) {
            fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "invalid_request",
                             "The request is missing a required parameter: "
                             "code.");
            return;
        }

        fedi_sha256_hex((u_char *) o->code, ngx_strlen(o->code),
                        o->code_digest);

        fedi_query(rq, FEDI_SQL_GRANT_LOOKUP, fedi_token_grant, 1,
                   o->code_digest);
        return;
    }

    if (o->scope == NULL) {
        o->scope = "read";
    }

    if (!fedi_scopes_valid(o->scope)
        || !fedi_scopes_subset(o->scope, o->app_scopes))
    {
        fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "invalid_scope",
                         "The requested scope is invalid, unknown, or "
                         "malformed.");
        return;
    }

    if (ngx_strcmp(o->grant_type, "client_credentials") == 0) {
        fedi_client_credentials(rq, o);
        return;
    }

    /* password */
    if (o->username == NULL || o->password == NULL) {
        fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "invalid_request",
                         "The request is missing a required parameter: "
                         "username and password.");
        return;
    }

    fedi_query(rq, FEDI_SQL_LOGIN_LOOKUP, fedi_token_login, 2,
               fedi_client_address(rq), o->username);
}


static void
fedi_client_credentials(fedi_req_t *rq, fedi_oauth_t *o)
{
    fedi_query(rq, FEDI_SQL_TOKEN_CREATE, fedi_token_issued, 4,
               o->digest, o->app_id, NULL, o->scope);
}


static void
fedi_token_grant(fedi_req_t *rq, PGresult *res)
{
    const char    *v;
    fedi_oauth_t  *o;

    o = rq->data;

    if (PQntuples(res) != 1
        || ngx_strcmp(PQgetvalue(res, 0, 0), o->client_id) != 0
        || fedi_pg_bool(res, 0, 6) || fedi_pg_bool(res, 0, 7))
    {
        fedi_oauth_invalid_grant(rq);
        return;
    }

    if (o->redirect_uri == NULL
        || ngx_strcmp(o->redirect_uri, PQgetvalue(res, 0, 2)) != 0)
    {
        fedi_oauth_invalid_grant(rq);
        return;
    }

    v = fedi_pg_val(res, 0, 4);

    if (v) {
        if (o->code_verifier == NULL || !fedi_pkce_s256(o->code_verifier, v))
        {
            fedi_oauth_invalid_grant(rq);
            return;
        }

    } else if (o->client_secret == NULL) {
        fedi_oauth_invalid_client(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_GRANT_EXCHANGE, fedi_token_issued, 2,
               o->code_digest, o->digest);
}


static void
fedi_token_login(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;

    o = rq->data;

    if (fedi_pg_int(res, 0, 0) >= FEDI_LOGIN_MAX_PER_IP
        || fedi_pg_int(res, 0, 1) >= FEDI_LOGIN_MAX_PER_ACCOUNT)
    {
        fedi_oauth_error(rq, NGX_HTTP_TOO_MANY_REQUESTS, "invalid_grant",
                         "Too many failed attempts. Try again later.");
        return;
    }

    o->user_id = fedi_pg_val(res, 0, 2);

    if (o->user_id) {
        o->user_id = fedi_pstrz(rq->r->pool, (u_char *) o->user_id,
                                ngx_strlen(o->user_id));
        o->hash = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 3),
                             PQgetlength(res, 0, 3));

        if (!fedi_pg_bool(res, 0, 4) || !fedi_pg_bool(res, 0, 5)
            || fedi_pg_bool(res, 0, 6))
        {
            /* Doorkeeper refuses inactive users like a wrong password */
            o->error = "inactive";
        }

    } else {
        o->hash = fedi_dummy_hash;
    }

    fedi_thread_run(rq, fedi_password_work, fedi_token_checked, o);
}


static void
fedi_token_checked(fedi_req_t *rq, void *data)
{
    fedi_oauth_t  *o = data;

    if (!o->password_ok || o->user_id == NULL) {
        fedi_query(rq, FEDI_SQL_LOGIN_FAILED, fedi_token_failed, 2,
                   fedi_client_address(rq), o->username);
        return;
    }

    if (o->error) {
        fedi_oauth_invalid_grant(rq);
        return;
    }

    fedi_query(rq, FEDI_SQL_TOKEN_CREATE, fedi_token_issued, 4,
               o->digest, o->app_id, o->user_id, o->scope);
}


static void
fedi_token_failed(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_invalid_grant(rq);
}


static void
fedi_token_issued(fedi_req_t *rq, PGresult *res)
{
    ngx_str_t      v;
    fedi_json_t   *j;
    fedi_oauth_t  *o;

    o = rq->data;

    if (PQntuples(res) != 1) {
        /* the code was used or expired between lookup and exchange */
        fedi_oauth_invalid_grant(rq);
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "access_token", o->token);
    fedi_json_kcstr(j, "token_type", "Bearer");
    fedi_json_kcstr(j, "scope", PQgetvalue(res, 0, 0));
    fedi_json_kint(j, "created_at", fedi_pg_int(res, 0, 1));
    fedi_json_obj_close(j);

    ngx_str_set(&v, "no-store");
    (void) fedi_add_header(rq, "Cache-Control", &v);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
fedi_oauth_error(fedi_req_t *rq, ngx_uint_t status, const char *error,
    const char *description)
{
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "error", error);
    fedi_json_kcstr(j, "error_description", description);
    fedi_json_obj_close(j);

    fedi_send_json(rq, status, j);
}


/* Doorkeeper's words for the two errors clients meet most */

static void
fedi_oauth_invalid_grant(fedi_req_t *rq)
{
    fedi_oauth_error(rq, NGX_HTTP_BAD_REQUEST, "invalid_grant",
                     "The provided authorization grant is invalid, expired, "
                     "revoked, does not match the redirection URI used in "
                     "the authorization request, or was issued to another "
                     "client.");
}


static void
fedi_oauth_invalid_client(fedi_req_t *rq)
{
    fedi_oauth_error(rq, NGX_HTTP_UNAUTHORIZED, "invalid_client",
                     "Client authentication failed due to unknown client, "
                     "no client authentication included, or unsupported "
                     "authentication method.");
}


/* POST /oauth/revoke: always 200, as RFC 7009 wants */

static void
oauth_revoke(fedi_req_t *rq)
{
    fedi_oauth_t  *o;

    o = fedi_oauth_params(rq);
    if (o == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    o->code = fedi_param_str(rq->params, "token");

    if (o->client_id == NULL || o->code == NULL) {
        fedi_oauth_error(rq, NGX_HTTP_FORBIDDEN, "unauthorized_client",
                         "You are not authorized to revoke this token");
        return;
    }

    fedi_query(rq, FEDI_SQL_APP_BY_CLIENT, fedi_revoke_app, 1, o->client_id);
}


static void
fedi_revoke_app(fedi_req_t *rq, PGresult *res)
{
    const char    *secret;
    fedi_oauth_t  *o;

    o = rq->data;

    secret = PQntuples(res) == 1 ? PQgetvalue(res, 0, 6) : NULL;

    if (secret == NULL || o->client_secret == NULL
        || !fedi_ct_equal(secret, ngx_strlen(secret), o->client_secret,
                          ngx_strlen(o->client_secret)))
    {
        fedi_oauth_error(rq, NGX_HTTP_FORBIDDEN, "unauthorized_client",
                         "You are not authorized to revoke this token");
        return;
    }

    o->app_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                           PQgetlength(res, 0, 0));
    if (o->app_id == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex((u_char *) o->code, ngx_strlen(o->code), o->digest);

    /* this worker forgets it now; the others when NOTIFY reaches them */
    fedi_query(rq, FEDI_SQL_TOKEN_REVOKE, fedi_revoke_done, 2, o->digest,
               o->app_id);
}


static void
fedi_revoke_done(fedi_req_t *rq, PGresult *res)
{
    fedi_oauth_t  *o;
    u_char         what[6 + FEDI_SHA256_HEX_LEN + 1];

    o = rq->data;

    ngx_sprintf(what, "token:%s%Z", o->digest);
    fedi_auth_invalidate((char *) what);

    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}


/* GET /.well-known/oauth-authorization-server (RFC 8414) */

static void
oauth_server_metadata(fedi_req_t *rq)
{
    u_char       buf[512], *p;
    fedi_json_t  *j;
    ngx_str_t    *base;

    static const char  *endpoints[][2] = {
        { "authorization_endpoint", "/oauth/authorize" },
        { "token_endpoint", "/oauth/token" },
        { "revocation_endpoint", "/oauth/revoke" },
        { "userinfo_endpoint", "/oauth/userinfo" },
        { "app_registration_endpoint", "/api/v1/apps" },
        { NULL, NULL }
    };

    static const char  *scopes =
        "read write follow push profile read:accounts read:blocks "
        "read:bookmarks read:favourites read:filters read:follows read:lists "
        "read:mutes read:notifications read:search read:statuses "
        "write:accounts write:blocks write:bookmarks write:conversations "
        "write:favourites write:filters write:follows write:lists "
        "write:media write:mutes write:notifications write:reports "
        "write:statuses admin:read admin:write";

    const char  *s, *e;
    ngx_uint_t   i;

    base = &rq->mcf->base_url;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kstr(j, "issuer", base->data, base->len);
    fedi_json_kcstr(j, "service_documentation",
                    "https://docs.joinmastodon.org/");

    for (i = 0; endpoints[i][0]; i++) {
        p = ngx_snprintf(buf, sizeof(buf), "%V%s", base, endpoints[i][1]);
        fedi_json_kstr(j, endpoints[i][0], buf, p - buf);
    }

    fedi_json_key(j, "scopes_supported");
    fedi_json_arr_open(j);

    for (s = scopes; *s; s = *e ? e + 1 : e) {
        e = s;

        while (*e && *e != ' ') {
            e++;
        }

        fedi_json_str(j, (u_char *) s, e - s);
    }

    fedi_json_arr_close(j);

    fedi_json_key(j, "response_types_supported");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "code");
    fedi_json_arr_close(j);

    fedi_json_key(j, "response_modes_supported");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "query");
    fedi_json_arr_close(j);

    fedi_json_key(j, "code_challenge_methods_supported");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "S256");
    fedi_json_arr_close(j);

    fedi_json_key(j, "grant_types_supported");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "authorization_code");
    fedi_json_cstr(j, "password");
    fedi_json_cstr(j, "client_credentials");
    fedi_json_arr_close(j);

    fedi_json_key(j, "token_endpoint_auth_methods_supported");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, "client_secret_basic");
    fedi_json_cstr(j, "client_secret_post");
    fedi_json_arr_close(j);

    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET|POST /oauth/userinfo (OpenID Connect shape, "profile" scope) */

static void
oauth_userinfo(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_ACCOUNT_BY_ID, fedi_userinfo_loaded, 1,
               rq->token->account_id);
}


static void
fedi_userinfo_loaded(fedi_req_t *rq, PGresult *res)
{
    u_char        buf[1024], *p;
    fedi_json_t  *j;
    const char   *username, *display;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    username = PQgetvalue(res, 0, 1);
    display = PQgetvalue(res, 0, 3);

    fedi_json_obj_open(j);
    fedi_json_kstr(j, "iss", rq->mcf->base_url.data, rq->mcf->base_url.len);
    p = ngx_snprintf(buf, sizeof(buf), "%V/users/%s", &rq->mcf->base_url,
                     username);
    fedi_json_kstr(j, "sub", buf, p - buf);
    fedi_json_kcstr(j, "name", display[0] ? display : username);
    fedi_json_kcstr(j, "preferred_username", username);
    p = ngx_snprintf(buf, sizeof(buf), "%V/@%s", &rq->mcf->base_url,
                     username);
    fedi_json_kstr(j, "profile", buf, p - buf);
    fedi_account_media_url(rq, j, "picture", fedi_pg_val(res, 0, 20),
                           fedi_pg_val(res, 0, 21), "avatar.png");
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
