/*
 * Copyright (C) ngx_fedi authors
 *
 * The ActivityPub inbox (POST /inbox, /users/:name/inbox): the HTTP
 * Signature checked (fedi_httpsig: draft-cavage or RFC 9421, the digest,
 * the time window, what must be covered) with the signer's key, found by
 * its keyId among known accounts or fetched with the actor (once more
 * when a verification fails, for a rotated key), parsed keys cached per
 * worker; the signer must be the activity's actor.  Then the activity is
 * stored once by its id and 202 answered; the workers process it in the
 * background (fedi_inbox_run).  What cannot be verified gets 401 at once,
 * never a 202 and a silent drop, so a sender can try its other scheme.
 */

#include "fedi.h"
#include "fedi_httpsig.h"
#include "ap_resolve.h"
#include "ap_inbox_object.h"


#define FEDI_INBOX_MAX_BODY     (1024 * 1024)
#define FEDI_INBOX_MAX_HEADERS  64


typedef struct {
    fedi_httpsig_t          *sig;
    fedi_httpsig_request_t   hr;
    fedi_httpsig_header_t    headers[FEDI_INBOX_MAX_HEADERS];
    u_char                  *body;
    size_t                   body_len;
    char                    *body_z;
    char                    *key_id;
    char                    *actor;          /* the activity's */
    char                    *activity_id;
    char                    *account_id;     /* the signer's */
    json_t                  *act;            /* parsed, ours */
    unsigned                 fetched:1;
} fedi_inbox_t;


static void ap_inbox(fedi_req_t *rq);
static void fedi_inbox_key(fedi_req_t *rq, PGresult *res);
static void fedi_inbox_fetched(fedi_req_t *rq, ngx_int_t found);
static void fedi_inbox_prepared(fedi_req_t *rq, char *object);
static void fedi_inbox_stored(fedi_req_t *rq, PGresult *res);
static void fedi_inbox_refuse(fedi_req_t *rq, const char *why);
static void fedi_inbox_cleanup(void *data);


const fedi_route_t  fedi_routes_inbox[] = {
    { POST, "/inbox", ap_inbox, NULL, 0 },
    { POST, "/users/:name/inbox", ap_inbox, NULL, 0 },
    { 0, NULL, NULL, NULL, 0 }
};


/* parsed keys by keyId, per worker */
static fedi_httpsig_cache_t  *fedi_inbox_keys;


static void
ap_inbox(fedi_req_t *rq)
{
    int                  rc;
    size_t               n;
    json_t              *act, *actor, *id;
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    fedi_inbox_t        *in;
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r = rq->r;

    in = ngx_pcalloc(r->pool, sizeof(fedi_inbox_t));
    if (in == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    in->sig = ngx_palloc(r->pool, sizeof(fedi_httpsig_t));
    if (in->sig == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = in;

    if (r->request_body == NULL || r->request_body->bufs == NULL
        || fedi_http_body(r, &in->body, &in->body_len) != NGX_OK
        || in->body_len == 0)
    {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST, "An activity is expected");
        return;
    }

    if (in->body_len > FEDI_INBOX_MAX_BODY) {
        fedi_send_error(rq, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                        "The activity is too large");
        return;
    }

    /* the request as the signature saw it: our own name, never Host */
    in->hr.method.data = (char *) r->method_name.data;
    in->hr.method.len = r->method_name.len;
    in->hr.scheme.data = rq->mcf->https ? "https" : "http";
    in->hr.scheme.len = rq->mcf->https ? 5 : 4;
    in->hr.authority.data = (char *) rq->mcf->domain.data;
    in->hr.authority.len = rq->mcf->domain.len;
    in->hr.target.data = (char *) r->unparsed_uri.data;
    in->hr.target.len = r->unparsed_uri.len;
    in->hr.body = in->body;
    in->hr.body_len = in->body_len;

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (n == FEDI_INBOX_MAX_HEADERS) {
                fedi_inbox_refuse(rq, "too many headers");
                return;
            }

            in->headers[n].name.data = (char *) h[i].key.data;
            in->headers[n].name.len = h[i].key.len;
            in->headers[n].value.data = (char *) h[i].value.data;
            in->headers[n].value.len = h[i].value.len;
            n++;
        }
    }

    in->hr.headers = in->headers;
    in->hr.nheaders = n;

    rc = fedi_httpsig_parse(&in->hr, in->sig);
    if (rc == FEDI_HTTPSIG_OK) {
        rc = fedi_httpsig_check(in->sig, &in->hr, ngx_time());
    }

    if (rc != FEDI_HTTPSIG_OK) {
        fedi_inbox_refuse(rq, fedi_httpsig_strerror(rc));
        return;
    }

    /* the activity: an object with an actor (its id must be the signer) */
    act = json_loadb((char *) in->body, in->body_len,
                     JSON_REJECT_DUPLICATES, NULL);
    actor = json_object_get(act, "actor");
    if (json_is_object(actor)) {
        actor = json_object_get(actor, "id");
    }
    id = json_object_get(act, "id");

    if (!json_is_object(act) || !json_is_string(actor)
        || (id && !json_is_string(id)))
    {
        json_decref(act);
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST,
                        "An activity with an actor is expected");
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        json_decref(act);
        fedi_send_internal_error(rq);
        return;
    }

    cln->handler = fedi_inbox_cleanup;
    cln->data = act;
    in->act = act;

    in->actor = fedi_pstrz(r->pool, (u_char *) json_string_value(actor),
                           json_string_length(actor));
    in->activity_id = id ? fedi_pstrz(r->pool,
                                      (u_char *) json_string_value(id),
                                      json_string_length(id))
                         : NULL;

    in->key_id = fedi_pstrz(r->pool, (u_char *) in->sig->key_id.data,
                            in->sig->key_id.len);
    in->body_z = fedi_pstrz(r->pool, in->body, in->body_len);

    if (in->actor == NULL || in->key_id == NULL || in->body_z == NULL
        || (id && in->activity_id == NULL))
    {
        fedi_send_internal_error(rq);
        return;
    }

    /* PostgreSQL's jsonb holds no NUL, escaped or not */
    if (ngx_strlen(in->body_z) != in->body_len
        || ngx_strstr(in->body_z, "\\u0000"))
    {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST, "A NUL in the activity");
        return;
    }

    fedi_query(rq, FEDI_SQL_INBOX_KEY, fedi_inbox_key, 1, in->key_id);
}


/* the signer's account and key (id, uri, PEM), or none yet */
static void
fedi_inbox_key(fedi_req_t *rq, PGresult *res)
{
    int            rc;
    char          *hash, *url;
    EVP_PKEY      *key;
    fedi_inbox_t  *in = rq->data;

    if (PQntuples(res) != 1) {
        if (in->fetched) {
            fedi_inbox_refuse(rq, "the key is not its actor's");
            return;
        }

        /* the actor is the keyId without its fragment */
        url = fedi_pstrz(rq->r->pool, (u_char *) in->key_id,
                         ngx_strlen(in->key_id));
        if (url == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        hash = ngx_strchr(url, '#');
        if (hash) {
            *hash = '\0';
        }

        in->fetched = 1;
        fedi_resolve_url(rq, url, fedi_inbox_fetched);
        return;
    }

    if (fedi_inbox_keys == NULL) {
        fedi_inbox_keys = fedi_httpsig_cache_create(4096, 86400);
        if (fedi_inbox_keys == NULL) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    key = in->fetched ? NULL
                      : fedi_httpsig_cache_get(fedi_inbox_keys, in->key_id,
                                               ngx_strlen(in->key_id),
                                               ngx_time());

    if (key == NULL) {
        key = fedi_httpsig_pubkey_parse(PQgetvalue(res, 0, 2),
                                        PQgetlength(res, 0, 2), &rc);
        if (key == NULL) {
            fedi_inbox_refuse(rq, fedi_httpsig_strerror(rc));
            return;
        }

        rc = fedi_httpsig_cache_put(fedi_inbox_keys, in->key_id,
                                    ngx_strlen(in->key_id), key, ngx_time());
        EVP_PKEY_free(key);

        if (rc != 0) {
            fedi_send_internal_error(rq);
            return;
        }

        key = fedi_httpsig_cache_get(fedi_inbox_keys, in->key_id,
                                     ngx_strlen(in->key_id), ngx_time());
        if (key == NULL) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    rc = fedi_httpsig_verify(in->sig, &in->hr, key);

    if (rc == FEDI_HTTPSIG_EVERIFY && !in->fetched) {
        /* a rotated key: the actor once more */
        fedi_httpsig_cache_remove(fedi_inbox_keys, in->key_id,
                                  ngx_strlen(in->key_id));
        in->fetched = 1;
        fedi_resolve_url(rq, PQgetvalue(res, 0, 1), fedi_inbox_fetched);
        return;
    }

    if (rc != FEDI_HTTPSIG_OK) {
        fedi_inbox_refuse(rq, fedi_httpsig_strerror(rc));
        return;
    }

    /* the key's owner is the activity's actor */
    if (ngx_strcmp(PQgetvalue(res, 0, 1), in->actor) != 0) {
        fedi_inbox_refuse(rq, "the signer is not the activity's actor");
        return;
    }

    in->account_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                                PQgetlength(res, 0, 0));
    if (in->account_id == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    /* the object made trustworthy (origin rules, sanitized HTML) */
    fedi_inbox_object(rq, in->act, in->actor, fedi_inbox_prepared);
}


static void
fedi_inbox_prepared(fedi_req_t *rq, char *object)
{
    fedi_inbox_t  *in = rq->data;

    fedi_query(rq, FEDI_SQL_INBOX_STORE, fedi_inbox_stored, 4,
               in->activity_id, in->account_id, in->body_z, object);
}


static void
fedi_inbox_cleanup(void *data)
{
    json_decref(data);
}


static void
fedi_inbox_fetched(fedi_req_t *rq, ngx_int_t found)
{
    fedi_inbox_t  *in = rq->data;

    if (!found) {
        fedi_inbox_refuse(rq, "the signer's actor cannot be fetched");
        return;
    }

    fedi_query(rq, FEDI_SQL_INBOX_KEY, fedi_inbox_key, 1, in->key_id);
}


static void
fedi_inbox_stored(fedi_req_t *rq, PGresult *res)
{
    fedi_send_bytes(rq, NGX_HTTP_ACCEPTED, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}


static void
fedi_inbox_refuse(fedi_req_t *rq, const char *why)
{
    fedi_inbox_t  *in = rq->data;

    ngx_log_error(NGX_LOG_INFO, rq->r->connection->log, 0,
                  "fedi: inbox: refused (keyId \"%s\"): %s",
                  (in && in->key_id) ? in->key_id : "", why);

    fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED, why);
}
