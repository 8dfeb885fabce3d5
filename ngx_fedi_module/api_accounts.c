/*
 * Copyright (C) ngx_fedi authors
 *
 * /api/v1/accounts and what clients call about the signed-in user at
 * start: sign-up, verify_credentials, update_credentials, lookups,
 * relationships, preferences, markers, and the lists that later issues
 * fill (lists, follow requests, announcements, trends,
 * suggestions), answered empty in the right shape until then.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ctype.h>

#include "fedi.h"
#include "fedi_html.h"
#include "fedi_crypto.h"
#include "fedi_account.h"
#include "ap_resolve.h"


#define FEDI_MAX_FIELDS         4
#define FEDI_MAX_DISPLAY_NAME   30
#define FEDI_MAX_NOTE           500
#define FEDI_MAX_FIELD_LEN      255


typedef struct {
    const char      *username;
    const char      *email;
    const char      *password;
    const char      *locale;
    const char      *reason;
    ngx_uint_t       approval;
    char             hash[FEDI_HASH_LEN];
    char            *private_pem;
    char            *public_pem;
    ngx_int_t        failed;
    char             token[FEDI_TOKEN_LEN + 1];
    char             digest[FEDI_SHA256_HEX_LEN + 1];
    char             confirm[FEDI_TOKEN_LEN + 1];
    char             confirm_digest[FEDI_SHA256_HEX_LEN + 1];
} fedi_signup_t;


static void api_accounts_create(fedi_req_t *rq);
static void fedi_signup_mode(fedi_req_t *rq, PGresult *res);
static void fedi_signup_work(void *data);
static void fedi_signup_crypted(fedi_req_t *rq, void *data);
static void fedi_signup_done(fedi_req_t *rq, PGresult *res);
static void fedi_validation_error(fedi_req_t *rq, const char *field,
    const char *code, const char *message);
static void fedi_signup_mail(fedi_req_t *rq, fedi_signup_t *su);
static void auth_confirmation(fedi_req_t *rq);
static void fedi_confirmed(fedi_req_t *rq, PGresult *res);

static void api_verify_credentials(fedi_req_t *rq);
static void fedi_credentials_loaded(fedi_req_t *rq, PGresult *res);
static void api_update_credentials(fedi_req_t *rq);
static void fedi_credentials_updated(fedi_req_t *rq, PGresult *res);
static char *fedi_fields_json(fedi_req_t *rq, json_t *attrs, ngx_uint_t html,
    const char **err);

static void api_account_get(fedi_req_t *rq);
typedef struct {
    const char  *user;
    const char  *domain;
} fedi_handle_t;

static void api_account_lookup(fedi_req_t *rq);
static void fedi_account_lookup_remote(fedi_req_t *rq, PGresult *res);
static void fedi_account_resolved(fedi_req_t *rq, ngx_int_t found);
static void api_account_search(fedi_req_t *rq);
static void fedi_account_loaded(fedi_req_t *rq, PGresult *res);
static void api_relationships(fedi_req_t *rq);
static void fedi_relationships_loaded(fedi_req_t *rq, PGresult *res);
static void api_preferences(fedi_req_t *rq);
static void fedi_preferences_loaded(fedi_req_t *rq, PGresult *res);
static void api_markers_get(fedi_req_t *rq);
static void api_markers_set(fedi_req_t *rq);
static void fedi_markers_loaded(fedi_req_t *rq, PGresult *res);
static void api_empty_list(fedi_req_t *rq);
static size_t fedi_utf8_chars(const char *s);


const fedi_route_t  fedi_routes_accounts[] = {
    { POST, "/api/v1/accounts", api_accounts_create, "write:accounts",
      CORS|TOKEN },
    { GET, "/api/v1/accounts/verify_credentials", api_verify_credentials,
      "read:accounts profile", CORS|USER },
    { PATCH, "/api/v1/accounts/update_credentials", fedi_media_credentials,
      "write:accounts", CORS|USER|UPLOAD },
    { GET, "/api/v1/accounts/relationships", api_relationships,
      "read:follows", CORS|USER },
    { GET, "/api/v1/accounts/lookup", api_account_lookup, NULL, CORS },
    { GET, "/api/v1/accounts/search", api_account_search, "read:accounts",
      CORS|USER },
    { GET, "/api/v1/accounts/:id", api_account_get, NULL, CORS },
    { GET, "/api/v1/preferences", api_preferences, "read:accounts",
      CORS|USER },
    { GET, "/api/v1/markers", api_markers_get, "read:statuses", CORS|USER },
    { POST, "/api/v1/markers", api_markers_set, "write:statuses",
      CORS|USER },

    { GET, "/auth/confirmation", auth_confirmation, NULL, 0 },

    /* empty until the issue that builds each */
    { GET, "/api/v1/followed_tags", api_empty_list, "read:follows",
      CORS|USER },
    { GET, "/api/v1/trends", api_empty_list, NULL, CORS },
    { GET, "/api/v1/trends/tags", api_empty_list, NULL, CORS },
    { GET, "/api/v1/trends/statuses", api_empty_list, NULL, CORS },
    { GET, "/api/v1/trends/links", api_empty_list, NULL, CORS },
    { GET, "/api/v1/suggestions", api_empty_list, "read", CORS|USER },
    { GET, "/api/v2/suggestions", api_empty_list, "read", CORS|USER },
    { 0, NULL, NULL, NULL, 0 }
};


/* POST /api/v1/accounts */

static void
api_accounts_create(fedi_req_t *rq)
{
    const char     *s;
    size_t          n;
    fedi_signup_t  *su;

    su = ngx_pcalloc(rq->r->pool, sizeof(fedi_signup_t));
    if (su == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = su;

    su->username = fedi_param_str(rq->params, "username");
    su->email = fedi_param_str(rq->params, "email");
    su->password = fedi_param_str(rq->params, "password");
    su->locale = fedi_param_str(rq->params, "locale");
    su->reason = fedi_param_str(rq->params, "reason");

    if (su->username == NULL || su->username[0] == '\0') {
        fedi_validation_error(rq, "username", "ERR_BLANK", "can't be blank");
        return;
    }

    n = ngx_strlen(su->username);

    for (s = su->username; *s; s++) {
        if (!(isalnum((unsigned char) *s) || *s == '_')) {
            fedi_validation_error(rq, "username", "ERR_INVALID",
                                  "must contain only letters, numbers and "
                                  "underscores");
            return;
        }
    }

    if (n > 30) {
        fedi_validation_error(rq, "username", "ERR_TOO_LONG",
                              "is too long (maximum is 30 characters)");
        return;
    }

    if (su->email == NULL || su->email[0] == '\0') {
        fedi_validation_error(rq, "email", "ERR_BLANK", "can't be blank");
        return;
    }

    s = ngx_strchr(su->email, '@');

    if (s == NULL || s == su->email || ngx_strchr(s + 1, '@')
        || s[1] == '\0' || ngx_strlen(su->email) > 254
        || strpbrk(su->email, " <>\r\n\t,;\"()\\") != NULL)
    {
        fedi_validation_error(rq, "email", "ERR_INVALID", "is invalid");
        return;
    }

    if (su->password == NULL || su->password[0] == '\0') {
        fedi_validation_error(rq, "password", "ERR_BLANK", "can't be blank");
        return;
    }

    n = ngx_strlen(su->password);

    if (n < 8) {
        fedi_validation_error(rq, "password", "ERR_TOO_SHORT",
                              "is too short (minimum is 8 characters)");
        return;
    }

    if (n > 72) {
        fedi_validation_error(rq, "password", "ERR_TOO_LONG",
                              "is too long (maximum is 72 characters)");
        return;
    }

    if (!fedi_param_bool(rq->params, "agreement", 0)) {
        fedi_validation_error(rq, "agreement", "ERR_ACCEPTED",
                              "must be accepted");
        return;
    }

    if (su->locale && (ngx_strlen(su->locale) > 16
                       || su->locale[0] == '\0'))
    {
        su->locale = NULL;
    }

    fedi_query(rq, FEDI_SQL_REGISTRATIONS_MODE, fedi_signup_mode, 0);
}


static void
fedi_validation_error(fedi_req_t *rq, const char *field, const char *code,
    const char *message)
{
    u_char        buf[512], *p;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = ngx_snprintf(buf, sizeof(buf), "Validation failed: %c%s %s",
                     ngx_toupper(field[0]), field + 1, message);

    fedi_json_obj_open(j);
    fedi_json_kstr(j, "error", buf, p - buf);
    fedi_json_key(j, "details");
    fedi_json_obj_open(j);
    fedi_json_key(j, field);
    fedi_json_arr_open(j);
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "error", code);
    fedi_json_kcstr(j, "description", message);
    fedi_json_obj_close(j);
    fedi_json_arr_close(j);
    fedi_json_obj_close(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_UNPROCESSABLE_ENTITY, j);
}


static void
fedi_signup_mode(fedi_req_t *rq, PGresult *res)
{
    const char     *mode;
    fedi_signup_t  *su;

    su = rq->data;
    mode = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(mode, "closed") == 0 || ngx_strcmp(mode, "none") == 0) {
        fedi_send_error(rq, NGX_HTTP_FORBIDDEN,
                        "You don't have permission to view this page.");
        return;
    }

    su->approval = ngx_strcmp(mode, "approved") == 0;

    fedi_thread_run(rq, fedi_signup_work, fedi_signup_crypted, su);
}


/* on the thread pool: bcrypt and the account's RSA key pair */
static void
fedi_signup_work(void *data)
{
    fedi_signup_t  *su = data;

    su->failed = fedi_password_hash(su->password, su->hash) != 0
                 || fedi_rsa_generate(&su->private_pem, &su->public_pem)
                    != 0;
}


static void
fedi_signup_crypted(fedi_req_t *rq, void *data)
{
    fedi_signup_t  *su = data;

    char        *priv, *pub, *ip;
    ngx_str_t   *a;

    priv = NULL;
    pub = NULL;

    if (su->private_pem) {
        priv = fedi_pstrz(rq->r->pool, (u_char *) su->private_pem,
                          ngx_strlen(su->private_pem));
        free(su->private_pem);
    }

    if (su->public_pem) {
        pub = fedi_pstrz(rq->r->pool, (u_char *) su->public_pem,
                         ngx_strlen(su->public_pem));
        free(su->public_pem);
    }

    if (su->failed || priv == NULL || pub == NULL
        || fedi_random_token(su->token, sizeof(su->token), FEDI_TOKEN_BYTES)
           != 0)
    {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_sha256_hex((u_char *) su->token, FEDI_TOKEN_LEN, su->digest);

    a = &rq->r->connection->addr_text;
    ip = fedi_pstrz(rq->r->pool, a->data, a->len);

    if (rq->mcf->smtp.len) {
        /* the address is confirmed by the link we mail */
        if (fedi_random_token(su->confirm, sizeof(su->confirm),
                              FEDI_TOKEN_BYTES)
            != 0)
        {
            fedi_send_internal_error(rq);
            return;
        }

        fedi_sha256_hex((u_char *) su->confirm, FEDI_TOKEN_LEN,
                        su->confirm_digest);

    } else {
        ngx_log_error(NGX_LOG_NOTICE, rq->r->connection->log, 0,
                      "fedi: no SMTP server configured, sign-up of \"%s\" "
                      "confirmed at once", su->username);
    }

    fedi_query(rq, FEDI_SQL_SIGNUP, fedi_signup_done, 15,
               su->username, su->email, su->hash, su->locale, su->reason,
               ip, rq->mcf->smtp.len ? "false" : "true",
               su->approval ? "false" : "true", NULL, priv, pub,
               su->digest, rq->token->app_id, rq->token->scopes,
               rq->mcf->smtp.len ? su->confirm_digest : NULL);
}


static void
fedi_signup_done(fedi_req_t *rq, PGresult *res)
{
    const char     *v;
    fedi_json_t    *j;
    fedi_signup_t  *su;

    su = rq->data;
    v = PQgetvalue(res, 0, 0);

    if (ngx_strcmp(v, "username_taken") == 0) {
        fedi_validation_error(rq, "username", "ERR_TAKEN",
                              "has already been taken");
        return;
    }

    if (ngx_strcmp(v, "email_taken") == 0) {
        fedi_validation_error(rq, "email", "ERR_TAKEN",
                              "has already been taken");
        return;
    }

    if (rq->mcf->smtp.len) {
        fedi_signup_mail(rq, su);
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "access_token", su->token);
    fedi_json_kcstr(j, "token_type", "Bearer");
    fedi_json_kcstr(j, "scope", rq->token->scopes);
    fedi_json_kint(j, "created_at", ngx_time());
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
fedi_signup_mail(fedi_req_t *rq, fedi_signup_t *su)
{
    u_char  *body, *subject, *p;
    size_t   len;

    len = 512 + 2 * rq->mcf->domain.len + rq->mcf->base_url.len
          + ngx_strlen(su->username) + FEDI_TOKEN_LEN;

    body = ngx_pnalloc(rq->r->pool, len);
    subject = ngx_pnalloc(rq->r->pool, 64 + rq->mcf->domain.len);
    if (body == NULL || subject == NULL) {
        return;
    }

    ngx_sprintf(subject, "Confirm your e-mail address on %V%Z",
                &rq->mcf->domain);

    p = ngx_snprintf(body, len - 1,
                     "Welcome to %V, @%s!\n\n"
                     "To finish signing up, confirm your e-mail address by "
                     "opening this link:\n\n"
                     "%V/auth/confirmation?confirmation_token=%s\n\n"
                     "If you did not sign up, ignore this message.\n",
                     &rq->mcf->domain, su->username, &rq->mcf->base_url,
                     su->confirm);
    *p = '\0';

    if (fedi_mail_send(rq->mcf, su->email, (char *) subject, (char *) body)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, rq->r->connection->log, 0,
                      "fedi: could not queue the confirmation mail to <%s>",
                      su->email);
    }
}


/* GET /auth/confirmation?confirmation_token=... (the link in the mail) */

static void
auth_confirmation(fedi_req_t *rq)
{
    const char  *t;
    char         digest[FEDI_SHA256_HEX_LEN + 1];

    t = fedi_param_str(rq->params, "confirmation_token");

    if (t == NULL || ngx_strlen(t) != FEDI_TOKEN_LEN) {
        fedi_send_bytes(rq, NGX_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                        (u_char *) "This confirmation link is not valid.\n",
                        37);
        return;
    }

    fedi_sha256_hex((u_char *) t, FEDI_TOKEN_LEN, digest);

    rq->data = fedi_pstrz(rq->r->pool, (u_char *) digest,
                          FEDI_SHA256_HEX_LEN);

    fedi_query(rq, FEDI_SQL_CONFIRM_EMAIL, fedi_confirmed, 1, rq->data);
}


static void
fedi_confirmed(fedi_req_t *rq, PGresult *res)
{
    u_char  what[32];

    if (PQntuples(res) != 1) {
        fedi_send_bytes(rq, NGX_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
                        (u_char *) "This confirmation link is not valid.\n",
                        37);
        return;
    }

    /* this worker forgets the unconfirmed state now, the others by NOTIFY */
    ngx_sprintf(what, "user:%s%Z", PQgetvalue(res, 0, 0));
    fedi_auth_invalidate((char *) what);

    fedi_send_bytes(rq, NGX_HTTP_OK, "text/plain; charset=utf-8",
                    (u_char *) "Your e-mail address is confirmed. You can "
                    "sign in now.\n", 55);
}


/* GET /api/v1/accounts/verify_credentials */

static void
api_verify_credentials(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_ACCOUNT_CREDENTIALS, fedi_credentials_loaded, 1,
               rq->token->account_id);
}


static void
fedi_credentials_loaded(fedi_req_t *rq, PGresult *res)
{
    int           c;
    const char   *role;
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    c = FEDI_ACCOUNT_NCOLS;

    fedi_json_obj_open(j);
    fedi_account_fields(rq, j, res, 0, 0);

    fedi_json_key(j, "source");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "privacy", PQgetvalue(res, 0, c + 2));
    fedi_json_kbool(j, "sensitive", fedi_pg_bool(res, 0, c + 3));
    fedi_json_kcstr(j, "language", fedi_pg_val(res, 0, c + 4));
    fedi_json_kcstr(j, "note", PQgetvalue(res, 0, c));
    fedi_json_kraw(j, "fields", (u_char *) PQgetvalue(res, 0, c + 1),
                   PQgetlength(res, 0, c + 1));
    fedi_json_kint(j, "follow_requests_count", fedi_pg_int(res, 0, c + 6));
    fedi_json_kbool(j, "hide_collections", fedi_pg_bool(res, 0, 12));
    fedi_json_kbool(j, "discoverable", fedi_pg_bool(res, 0, 10));
    fedi_json_kbool(j, "indexable", fedi_pg_bool(res, 0, 11));
    fedi_json_obj_close(j);

    /* Mastodon's built-in roles: everyone (-99), Moderator 1, Admin 2,
     * Owner 3, with their permission bit sets */
    role = PQgetvalue(res, 0, c + 5);

    fedi_json_key(j, "role");
    fedi_json_obj_open(j);

    if (ngx_strcmp(role, "Owner") == 0) {
        fedi_json_kcstr(j, "id", "3");
        fedi_json_kcstr(j, "name", "Owner");
        fedi_json_kcstr(j, "permissions", "1");
        fedi_json_kcstr(j, "color", "");
        fedi_json_kbool(j, "highlighted", 1);

    } else if (ngx_strcmp(role, "Admin") == 0) {
        fedi_json_kcstr(j, "id", "2");
        fedi_json_kcstr(j, "name", "Admin");
        fedi_json_kcstr(j, "permissions", "983036");
        fedi_json_kcstr(j, "color", "");
        fedi_json_kbool(j, "highlighted", 1);

    } else if (ngx_strcmp(role, "Moderator") == 0) {
        fedi_json_kcstr(j, "id", "1");
        fedi_json_kcstr(j, "name", "Moderator");
        fedi_json_kcstr(j, "permissions", "1308");
        fedi_json_kcstr(j, "color", "");
        fedi_json_kbool(j, "highlighted", 1);

    } else {
        fedi_json_kcstr(j, "id", "-99");
        fedi_json_kcstr(j, "name", "");
        fedi_json_kcstr(j, "permissions", "65536");
        fedi_json_kcstr(j, "color", "");
        fedi_json_kbool(j, "highlighted", 0);
    }

    fedi_json_obj_close(j);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* PATCH /api/v1/accounts/update_credentials, once fedi_media_credentials()
 * has stored the avatar and header a multipart body brings */

void
fedi_update_credentials(fedi_req_t *rq)
{
    api_update_credentials(rq);
}


static void
api_update_credentials(fedi_req_t *rq)
{
    json_t       *src, *attrs;
    const char   *display, *note, *privacy, *language, *err;
    char         *note_html, *fields, *fields_src;
    fedi_json_t  *h;
    int           b;
    const char   *flags[5];
    const char   *sensitive;

    static const char  *flag_keys[5] = {
        "locked", "bot", "discoverable", "indexable", "hide_collections"
    };

    ngx_uint_t    i;

    display = fedi_param_str(rq->params, "display_name");
    if (display && fedi_utf8_chars(display) > FEDI_MAX_DISPLAY_NAME) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Display name is too long "
                        "(maximum is 30 characters)");
        return;
    }

    note = fedi_param_str(rq->params, "note");
    note_html = NULL;

    if (note) {
        if (fedi_utf8_chars(note) > FEDI_MAX_NOTE) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Note is too long "
                            "(maximum is 500 characters)");
            return;
        }

        h = fedi_json_new(rq);
        if (h == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        fedi_text_to_html(h, note, ngx_strlen(note));

        note_html = ngx_pnalloc(rq->r->pool, h->size + 1);
        if (note_html == NULL || h->error
            || fedi_json_flatten(h, (u_char *) note_html, h->size) < 0)
        {
            fedi_send_internal_error(rq);
            return;
        }

        note_html[h->size] = '\0';
    }

    for (i = 0; i < 5; i++) {
        b = fedi_param_bool(rq->params, flag_keys[i], -1);
        flags[i] = (b < 0) ? NULL : (b ? "true" : "false");
    }

    fields = NULL;
    fields_src = NULL;

    attrs = json_object_get(rq->params, "fields_attributes");

    if (attrs) {
        err = NULL;
        fields = fedi_fields_json(rq, attrs, 1, &err);
        fields_src = fedi_fields_json(rq, attrs, 0, &err);

        if (err) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY, err);
            return;
        }

        if (fields == NULL || fields_src == NULL) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    privacy = NULL;
    sensitive = NULL;
    language = NULL;

    src = json_object_get(rq->params, "source");

    if (json_is_object(src)) {
        privacy = fedi_param_str(src, "privacy");

        if (privacy && ngx_strcmp(privacy, "public") != 0
            && ngx_strcmp(privacy, "unlisted") != 0
            && ngx_strcmp(privacy, "private") != 0
            && ngx_strcmp(privacy, "direct") != 0)
        {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Default privacy is not "
                            "included in the list");
            return;
        }

        b = fedi_param_bool(src, "sensitive", -1);
        sensitive = (b < 0) ? NULL : (b ? "true" : "false");

        language = fedi_param_str(src, "language");
        if (language && ngx_strlen(language) > 16) {
            fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                            "Validation failed: Default language is not "
                            "a valid language");
            return;
        }
    }

    fedi_query(rq, FEDI_SQL_ACCOUNT_UPDATE, fedi_credentials_updated, 16,
               rq->token->account_id, display, note_html, note,
               flags[0], flags[1], flags[2], flags[3], flags[4],
               fields, fields_src, privacy, sensitive, language,
               fedi_media_image(rq, 0), fedi_media_image(rq, 1));
}


static void
fedi_credentials_updated(fedi_req_t *rq, PGresult *res)
{
    u_char  what[32];

    fedi_media_images_replaced(rq, res, 1);

    ngx_sprintf(what, "account:%s%Z", rq->token->account_id);
    fedi_auth_invalidate((char *) what);

    fedi_query(rq, FEDI_SQL_ACCOUNT_CREDENTIALS, fedi_credentials_loaded, 1,
               rq->token->account_id);
}


/*
 * fields_attributes as Rails sends it: {"0": {"name", "value"}, ...} or
 * an array of {"name", "value"}; rendered to [{name, value, verified_at}]
 * (value as HTML) or to the typed [{name, value}] of source.fields.
 */
static char *
fedi_fields_json(fedi_req_t *rq, json_t *attrs, ngx_uint_t html,
    const char **err)
{
    char         *out, key[24];
    u_char       *v;
    size_t        i, n, count;
    json_t       *f;
    const char   *name, *value;
    fedi_json_t  *j, *h;

    j = fedi_json_new(rq);
    if (j == NULL) {
        return NULL;
    }

    n = json_is_array(attrs) ? json_array_size(attrs)
        : json_is_object(attrs) ? json_object_size(attrs) : 0;

    count = 0;

    fedi_json_arr_open(j);

    for (i = 0; i < n && i < 16; i++) {
        if (json_is_array(attrs)) {
            f = json_array_get(attrs, i);

        } else {
            ngx_sprintf((u_char *) key, "%uz%Z", i);
            f = json_object_get(attrs, key);
        }

        if (!json_is_object(f)) {
            continue;
        }

        name = fedi_param_str(f, "name");
        value = fedi_param_str(f, "value");

        if ((name == NULL || name[0] == '\0')
            && (value == NULL || value[0] == '\0'))
        {
            continue;
        }

        if (name == NULL) {
            name = "";
        }

        if (value == NULL) {
            value = "";
        }

        if (++count > FEDI_MAX_FIELDS
            || fedi_utf8_chars(name) > FEDI_MAX_FIELD_LEN
            || fedi_utf8_chars(value) > FEDI_MAX_FIELD_LEN)
        {
            *err = "Validation failed: Fields is too long";
            return NULL;
        }

        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "name", name);

        if (html) {
            h = fedi_json_new(rq);
            if (h == NULL) {
                return NULL;
            }

            fedi_text_to_html(h, value, ngx_strlen(value));

            v = ngx_pnalloc(rq->r->pool, h->size + 1);
            if (v == NULL || fedi_json_flatten(h, v, h->size) < 0) {
                return NULL;
            }

            /* a field holds one line: no paragraph */
            if (h->size >= 7 && ngx_strncmp(v, "<p>", 3) == 0) {
                fedi_json_kstr(j, "value", v + 3, h->size - 7);

            } else {
                fedi_json_kstr(j, "value", v, h->size);
            }

            fedi_json_knull(j, "verified_at");

        } else {
            fedi_json_kcstr(j, "value", value);
        }

        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);

    if (j->error) {
        return NULL;
    }

    out = ngx_pnalloc(rq->r->pool, j->size + 1);
    if (out == NULL || fedi_json_flatten(j, (u_char *) out, j->size) < 0) {
        return NULL;
    }

    out[j->size] = '\0';

    return out;
}


/* GET /api/v1/accounts/:id, /lookup, /search */

static void
api_account_get(fedi_req_t *rq)
{
    char  *id;

    id = fedi_pstrz(rq->r->pool, rq->args[0].data, rq->args[0].len);

    if (id == NULL || fedi_is_id(id) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_ACCOUNT_BY_ID, fedi_account_loaded, 1, id);
}


static void
api_account_lookup(fedi_req_t *rq)
{
    char           *user, *at, *domain;
    const char     *acct;
    fedi_handle_t  *h;

    acct = fedi_param_str(rq->params, "acct");
    if (acct == NULL || acct[0] == '\0') {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (acct[0] == '@') {
        acct++;
    }

    user = fedi_pstrz(rq->r->pool, (u_char *) acct, ngx_strlen(acct));
    if (user == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    domain = NULL;
    at = ngx_strchr(user, '@');

    if (at) {
        *at = '\0';

        /* stored and compared normalized; our own domain means local */
        switch (fedi_resolve_domain(rq, at + 1, &domain)) {

        case NGX_OK:
            break;

        case NGX_DECLINED:
            fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
            return;

        default:
            fedi_send_internal_error(rq);
            return;
        }
    }

    if (domain == NULL) {
        fedi_query(rq, FEDI_SQL_ACCOUNT_LOOKUP, fedi_account_loaded, 2, user,
                   NULL);
        return;
    }

    /* a remote handle: known already, or resolved through WebFinger */
    h = ngx_palloc(rq->r->pool, sizeof(fedi_handle_t));
    if (h == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    h->user = user;
    h->domain = domain;
    rq->data = h;

    fedi_query(rq, FEDI_SQL_ACCOUNT_LOOKUP, fedi_account_lookup_remote, 2,
               user, domain);
}


static void
fedi_account_lookup_remote(fedi_req_t *rq, PGresult *res)
{
    fedi_handle_t  *h = rq->data;

    if (PQntuples(res) == 1) {
        fedi_account_loaded(rq, res);
        return;
    }

    fedi_resolve_acct(rq, h->user, h->domain, fedi_account_resolved);
}


static void
fedi_account_resolved(fedi_req_t *rq, ngx_int_t found)
{
    fedi_handle_t  *h = rq->data;

    if (!found) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    fedi_query(rq, FEDI_SQL_ACCOUNT_LOOKUP, fedi_account_loaded, 2,
               h->user, h->domain);
}


static void
fedi_account_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_account_render(rq, j, res, 0, 0);
    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_account_search(fedi_req_t *rq)
{
    u_char      *p, *q;
    char        *like;
    const char  *s;
    int64_t      limit, offset;
    char         lbuf[NGX_INT64_LEN + 1], obuf[NGX_INT64_LEN + 1];

    s = fedi_param_str(rq->params, "q");
    if (s == NULL || s[0] == '\0') {
        api_empty_list(rq);
        return;
    }

    if (s[0] == '@') {
        s++;
    }

    /* LIKE metacharacters are literal here */
    like = ngx_pnalloc(rq->r->pool, 2 * ngx_strlen(s) + 1);
    if (like == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    for (p = (u_char *) s, q = (u_char *) like; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') {
            *q++ = '\\';
        }

        *q++ = *p;
    }

    *q = '\0';

    limit = fedi_param_int(rq->params, "limit", 40, 1, 80);
    offset = fedi_param_int(rq->params, "offset", 0, 0, 10000);

    ngx_sprintf((u_char *) lbuf, "%L%Z", limit);
    ngx_sprintf((u_char *) obuf, "%L%Z", offset);

    rq->data = fedi_pstrz(rq->r->pool, (u_char *) lbuf, ngx_strlen(lbuf));

    fedi_query(rq, FEDI_SQL_ACCOUNT_SEARCH, fedi_accounts_loaded, 3, like,
               rq->data, fedi_pstrz(rq->r->pool, (u_char *) obuf,
                                    ngx_strlen(obuf)));
}


/* an array of the Accounts of a result (any statement of
 * FEDI_ACCOUNT_COLS first) */
void
fedi_accounts_loaded(fedi_req_t *rq, PGresult *res)
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
        fedi_account_render(rq, j, res, i, 0);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET /api/v1/accounts/relationships?id[]=... */

static void
api_relationships(fedi_req_t *rq)
{
    char  *ids;

    ids = fedi_id_array(rq, "id", 0);
    if (ids == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_RELATIONSHIPS, fedi_relationships_loaded, 2,
               rq->token->account_id, ids);
}


static void
fedi_relationships_loaded(fedi_req_t *rq, PGresult *res)
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
        fedi_relationship_render(j, res, i, 0);
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/*
 * key[] (or key=) as a PostgreSQL array of ids, '{1,2,3}', 80 at most;
 * NULL after answering.
 * What is not an id is ignored (relationships), or with strict, answered
 * 404 as Account.find does, and more than 80 is 422.
 */
char *
fedi_id_array(fedi_req_t *rq, const char *key, ngx_uint_t strict)
{
    u_char      *p, *out;
    size_t       n, i, len;
    const char  *ids[81];

    n = fedi_param_strs(rq->params, key, ids, 81);

    if (n > 80 && strict) {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Too many accounts");
        return NULL;
    }

    n = ngx_min(n, 80);
    len = 3;

    for (i = 0; i < n; i++) {
        if (fedi_is_id(ids[i]) != NGX_OK) {
            if (strict) {
                fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
                return NULL;
            }

            /* Mastodon ignores what is not an id */
            ids[i] = NULL;
            continue;
        }

        len += ngx_strlen(ids[i]) + 1;
    }

    out = ngx_pnalloc(rq->r->pool, len);
    if (out == NULL) {
        fedi_send_internal_error(rq);
        return NULL;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (ids[i] == NULL) {
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, ids[i], ngx_strlen(ids[i]));
    }

    *p++ = '}';
    *p = '\0';

    return (char *) out;
}


/* a snowflake id as a decimal string */
ngx_int_t
fedi_is_id(const char *s)
{
    size_t  n;

    n = 0;

    while (s[n] >= '0' && s[n] <= '9') {
        n++;
    }

    return (n > 0 && n <= 19 && s[n] == '\0') ? NGX_OK : NGX_DECLINED;
}


static size_t
fedi_utf8_chars(const char *s)
{
    size_t  n;

    for (n = 0; *s; s++) {
        if (((unsigned char) *s & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


/* GET /api/v1/preferences */

static void
api_preferences(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_PREFERENCES, fedi_preferences_loaded, 1,
               rq->token->account_id);
}


static void
fedi_preferences_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "posting:default:visibility", PQgetvalue(res, 0, 0));
    fedi_json_kbool(j, "posting:default:sensitive", fedi_pg_bool(res, 0, 1));
    fedi_json_kcstr(j, "posting:default:language", fedi_pg_val(res, 0, 2));
    fedi_json_kcstr(j, "reading:expand:media", "default");
    fedi_json_kbool(j, "reading:expand:spoilers", 0);
    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


/* GET and POST /api/v1/markers */

static void
api_markers_get(fedi_req_t *rq)
{
    u_char      *p, *out;
    size_t       n, i;
    const char  *t[4];

    n = fedi_param_strs(rq->params, "timeline", t, 4);

    if (n == 0) {
        fedi_query(rq, FEDI_SQL_MARKERS_GET, fedi_markers_loaded, 2,
                   rq->token->account_id, NULL);
        return;
    }

    out = ngx_pnalloc(rq->r->pool, sizeof("{home,notifications}") * 4);
    if (out == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    p = out;
    *p++ = '{';

    for (i = 0; i < n; i++) {
        if (ngx_strcmp(t[i], "home") != 0
            && ngx_strcmp(t[i], "notifications") != 0)
        {
            continue;
        }

        if (p[-1] != '{') {
            *p++ = ',';
        }

        p = ngx_cpymem(p, t[i], ngx_strlen(t[i]));
    }

    *p++ = '}';
    *p = '\0';

    fedi_query(rq, FEDI_SQL_MARKERS_GET, fedi_markers_loaded, 2,
               rq->token->account_id, (char *) out);
}


static void
api_markers_set(fedi_req_t *rq)
{
    json_t      *v;
    const char  *home, *notes;

    home = NULL;
    notes = NULL;

    v = json_object_get(rq->params, "home");
    if (json_is_object(v)) {
        home = fedi_param_str(v, "last_read_id");
    }

    v = json_object_get(rq->params, "notifications");
    if (json_is_object(v)) {
        notes = fedi_param_str(v, "last_read_id");
    }

    if ((home && fedi_is_id(home) != NGX_OK)
        || (notes && fedi_is_id(notes) != NGX_OK))
    {
        fedi_send_error(rq, NGX_HTTP_UNPROCESSABLE_ENTITY,
                        "Validation failed: Last read id is invalid");
        return;
    }

    fedi_query(rq, FEDI_SQL_MARKERS_SET, fedi_markers_loaded, 3,
               rq->token->account_id, home, notes);
}


static void
fedi_markers_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    fedi_json_obj_open(j);

    for (i = 0; i < n; i++) {
        fedi_json_key(j, PQgetvalue(res, i, 0));
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, "last_read_id", PQgetvalue(res, i, 1));
        fedi_json_kint(j, "version", fedi_pg_int(res, i, 2));
        fedi_json_kcstr(j, "updated_at", PQgetvalue(res, i, 3));
        fedi_json_obj_close(j);
    }

    fedi_json_obj_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}


static void
api_empty_list(fedi_req_t *rq)
{
    fedi_send_bytes(rq, NGX_HTTP_OK, "application/json; charset=utf-8",
                    (u_char *) "[]", 2);
}
