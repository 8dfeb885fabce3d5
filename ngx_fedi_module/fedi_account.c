/*
 * Copyright (C) ngx_fedi authors
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_emoji.h"


enum {
    A_ID = 0, A_USERNAME, A_DOMAIN, A_DISPLAY_NAME, A_NOTE, A_URL, A_URI,
    A_LOCKED, A_BOT, A_GROUP, A_DISCOVERABLE, A_INDEXABLE,
    A_HIDE_COLLECTIONS, A_MEMORIAL, A_CREATED_AT, A_LAST_STATUS_AT,
    A_FOLLOWERS, A_FOLLOWING, A_STATUSES, A_FIELDS, A_AVATAR_FILE,
    A_AVATAR_REMOTE, A_HEADER_FILE, A_HEADER_REMOTE, A_SUSPENDED,
    A_SILENCED, A_MOVED, A_EMOJIS
};


static void fedi_kpg(fedi_json_t *j, const char *key, PGresult *res,
    int row, int col);
static void fedi_kpg_bool_or_null(fedi_json_t *j, const char *key,
    PGresult *res, int row, int col);
static void fedi_account_moved(fedi_req_t *rq, fedi_json_t *j,
    const char *cols);


static void
fedi_kpg(fedi_json_t *j, const char *key, PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        fedi_json_knull(j, key);
        return;
    }

    fedi_json_kstr(j, key, (u_char *) PQgetvalue(res, row, col),
                   PQgetlength(res, row, col));
}


static void
fedi_kpg_bool_or_null(fedi_json_t *j, const char *key, PGresult *res,
    int row, int col)
{
    if (PQgetisnull(res, row, col)) {
        fedi_json_knull(j, key);
        return;
    }

    fedi_json_kbool(j, key, fedi_pg_bool(res, row, col));
}


void
fedi_account_acct(fedi_json_t *j, PGresult *res, int row, int col)
{
    u_char       buf[512], *p;
    const char  *domain;

    domain = fedi_pg_val(res, row, col + A_DOMAIN);

    if (domain == NULL) {
        fedi_json_str(j, (u_char *) PQgetvalue(res, row, col + A_USERNAME),
                      PQgetlength(res, row, col + A_USERNAME));
        return;
    }

    p = ngx_snprintf(buf, sizeof(buf), "%s@%s",
                     PQgetvalue(res, row, col + A_USERNAME), domain);
    fedi_json_str(j, buf, p - buf);
}


void
fedi_account_media_url(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file, const char *remote, const char *missing)
{
    u_char  buf[1024], *p;

    if (file && file[0]) {
        p = ngx_snprintf(buf, sizeof(buf), "%V/%s",
                         &rq->mcf->media_url, file);

    } else if (remote && remote[0]) {
        fedi_json_kcstr(j, key, remote);
        return;

    } else {
        p = ngx_snprintf(buf, sizeof(buf), "%V/fedi-static/%s",
                         &rq->mcf->base_url, missing);
    }

    fedi_json_kstr(j, key, buf, p - buf);
}


void
fedi_account_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int col)
{
    fedi_json_obj_open(j);
    fedi_account_fields(rq, j, res, row, col);
    fedi_json_obj_close(j);
}


void
fedi_account_fields(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int col)
{
    u_char      buf[1024], *p;
    ngx_uint_t  local;

    local = PQgetisnull(res, row, col + A_DOMAIN);

    fedi_kpg(j, "id", res, row, col + A_ID);
    fedi_kpg(j, "username", res, row, col + A_USERNAME);
    fedi_json_key(j, "acct");
    fedi_account_acct(j, res, row, col);
    fedi_kpg(j, "display_name", res, row, col + A_DISPLAY_NAME);
    fedi_json_kbool(j, "locked", fedi_pg_bool(res, row, col + A_LOCKED));
    fedi_json_kbool(j, "bot", fedi_pg_bool(res, row, col + A_BOT));
    fedi_kpg_bool_or_null(j, "discoverable", res, row, col + A_DISCOVERABLE);
    fedi_json_kbool(j, "indexable",
                    fedi_pg_bool(res, row, col + A_INDEXABLE));
    fedi_json_kbool(j, "group", fedi_pg_bool(res, row, col + A_GROUP));
    fedi_kpg(j, "created_at", res, row, col + A_CREATED_AT);
    fedi_kpg(j, "note", res, row, col + A_NOTE);

    if (local) {
        p = ngx_snprintf(buf, sizeof(buf), "%V/@%s", &rq->mcf->base_url,
                         PQgetvalue(res, row, col + A_USERNAME));
        fedi_json_kstr(j, "url", buf, p - buf);

        p = ngx_snprintf(buf, sizeof(buf), "%V/users/%s", &rq->mcf->base_url,
                         PQgetvalue(res, row, col + A_USERNAME));
        fedi_json_kstr(j, "uri", buf, p - buf);

    } else {
        fedi_kpg(j, "url", res, row, col + A_URL);
        fedi_kpg(j, "uri", res, row, col + A_URI);
    }

    fedi_account_media_url(rq, j, "avatar",
                           fedi_pg_val(res, row, col + A_AVATAR_FILE),
                           fedi_pg_val(res, row, col + A_AVATAR_REMOTE),
                           "avatar.png");
    fedi_account_media_url(rq, j, "avatar_static",
                           fedi_pg_val(res, row, col + A_AVATAR_FILE),
                           fedi_pg_val(res, row, col + A_AVATAR_REMOTE),
                           "avatar.png");
    fedi_account_media_url(rq, j, "header",
                           fedi_pg_val(res, row, col + A_HEADER_FILE),
                           fedi_pg_val(res, row, col + A_HEADER_REMOTE),
                           "header.png");
    fedi_account_media_url(rq, j, "header_static",
                           fedi_pg_val(res, row, col + A_HEADER_FILE),
                           fedi_pg_val(res, row, col + A_HEADER_REMOTE),
                           "header.png");

    fedi_json_kint(j, "followers_count",
                   fedi_pg_int(res, row, col + A_FOLLOWERS));
    fedi_json_kint(j, "following_count",
                   fedi_pg_int(res, row, col + A_FOLLOWING));
    fedi_json_kint(j, "statuses_count",
                   fedi_pg_int(res, row, col + A_STATUSES));
    fedi_kpg(j, "last_status_at", res, row, col + A_LAST_STATUS_AT);
    fedi_kpg_bool_or_null(j, "hide_collections", res, row,
                          col + A_HIDE_COLLECTIONS);

    if (local) {
        fedi_json_kbool(j, "noindex", 0);
    }

    fedi_emojis_render(rq, j, res, row, col + A_EMOJIS);

    fedi_json_key(j, "roles");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);

    fedi_json_kraw(j, "fields", (u_char *) PQgetvalue(res, row, col + A_FIELDS),
                   PQgetlength(res, row, col + A_FIELDS));

    if (fedi_pg_bool(res, row, col + A_MEMORIAL)) {
        fedi_json_kbool(j, "memorial", 1);
    }

    if (fedi_pg_bool(res, row, col + A_SUSPENDED)) {
        fedi_json_kbool(j, "suspended", 1);
    }

    if (fedi_pg_bool(res, row, col + A_SILENCED)) {
        fedi_json_kbool(j, "limited", 1);
    }

    /* as Mastodon, only when it moved, and not within "moved" itself */
    if (!PQgetisnull(res, row, col + A_MOVED)) {
        fedi_account_moved(rq, j, PQgetvalue(res, row, col + A_MOVED));
    }
}


/*
 * "moved": the account's columns come as a JSON array (see
 * FEDI_ACCOUNT_MOVED_COLS), made a result of one row in PostgreSQL's
 * text format so that the one serializer renders it
 */
static void
fedi_account_moved(fedi_req_t *rq, fedi_json_t *j, const char *cols)
{
    int                 i;
    char                num[32];
    json_t             *a, *v;
    PGresult           *res;
    const char         *s;
    PGresAttDesc        attrs[FEDI_ACCOUNT_NCOLS];

    a = json_loads(cols, 0, NULL);

    if (!json_is_array(a) || json_array_size(a) != A_MOVED) {
        json_decref(a);
        return;
    }

    res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (res == NULL) {
        json_decref(a);
        return;
    }

    ngx_memzero(attrs, sizeof(attrs));

    for (i = 0; i < FEDI_ACCOUNT_NCOLS; i++) {
        attrs[i].name = (char *) "c";
        attrs[i].typlen = -1;
    }

    if (!PQsetResultAttrs(res, FEDI_ACCOUNT_NCOLS, attrs)) {
        goto done;
    }

    for (i = 0; i < FEDI_ACCOUNT_NCOLS; i++) {
        v = json_array_get(a, i);       /* the last: none */

        switch (v ? json_typeof(v) : JSON_NULL) {
        case JSON_STRING:
            s = json_string_value(v);
            break;
        case JSON_TRUE:
            s = "t";
            break;
        case JSON_FALSE:
            s = "f";
            break;
        case JSON_INTEGER:
            ngx_sprintf((u_char *) num, "%L%Z",
                        (int64_t) json_integer_value(v));
            s = num;
            break;
        default:
            s = NULL;       /* null, and this account's own "moved" */
        }

        if (!PQsetvalue(res, 0, i, (char *) s, s ? (int) ngx_strlen(s) : -1)) {
            goto done;
        }
    }

    fedi_json_key(j, "moved");
    fedi_account_render(rq, j, res, 0, 0);

done:

    PQclear(res);
    json_decref(a);
}


void
fedi_relationship_render(fedi_json_t *j, PGresult *res, int row, int col)
{
    static const char  *keys[] = {
        "following", "showing_reblogs", "notifying", "followed_by",
        "blocking", "blocked_by", "muting", "muting_notifications",
        "requested", "requested_by", "domain_blocking", "endorsed"
    };

    int  i;

    fedi_json_obj_open(j);
    fedi_kpg(j, "id", res, row, col);

    for (i = 0; i < 12; i++) {
        fedi_json_kbool(j, keys[i], fedi_pg_bool(res, row, col + 1 + i));
    }

    fedi_kpg(j, "note", res, row, col + 13);
    fedi_kpg(j, "muting_expires_at", res, row, col + 14);

    if (PQgetisnull(res, row, col + 15)) {
        fedi_json_knull(j, "languages");

    } else {
        fedi_json_kraw(j, "languages",
                       (u_char *) PQgetvalue(res, row, col + 15),
                       PQgetlength(res, row, col + 15));
    }

    fedi_json_obj_close(j);
}
