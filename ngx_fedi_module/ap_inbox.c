/*
 * Copyright (C) ngx_fedi authors
 *
 * The ActivityPub inbox (POST /inbox, /users/:name/inbox): the HTTP
 * Signature checked and verified (ap_verify.c: draft-cavage or RFC 9421,
 * the digest, the time window, what must be covered, the signer's key);
 * the signer must be the activity's actor.  Then the activity is
 * stored once by its id and 202 answered; the workers process it in the
 * background (fedi_inbox_run).  Its object is prepared before only when
 * that needs no network (embedded from the actor's own host); one that
 * must come from its origin is stored pending and fetched in the
 * background (ap_inbox_fetch.c), so a slow origin never holds the POST.
 * What cannot be verified gets 401 at once, never a 202 and a silent
 * drop, so a sender can try its other scheme.
 */

#include "fedi.h"
#include "ap_verify.h"
#include "ap_inbox_object.h"


#define FEDI_INBOX_MAX_BODY     (1024 * 1024)


typedef struct {
    fedi_verify_t            v;
    u_char                  *body;
    size_t                   body_len;
    char                    *body_z;
    char                    *actor;          /* the activity's */
    char                    *activity_id;
    json_t                  *act;            /* parsed, ours */
} fedi_inbox_t;


static void ap_inbox(fedi_req_t *rq);
static void fedi_inbox_verified(fedi_req_t *rq, fedi_verify_t *v);
static void fedi_inbox_prepared(fedi_req_t *rq, char *object,
    ngx_uint_t later);
static void fedi_inbox_stored(fedi_req_t *rq, PGresult *res);
static void fedi_inbox_cleanup(void *data);


const fedi_route_t  fedi_routes_inbox[] = {
    { POST, "/inbox", ap_inbox, NULL, 0 },
    { POST, "/users/:name/inbox", ap_inbox, NULL, 0 },
    { POST, "/actor/inbox", ap_inbox, NULL, 0 },
    { 0, NULL, NULL, NULL, 0 }
};


static void
ap_inbox(fedi_req_t *rq)
{
    json_t              *act, *actor, *id;
    const char          *why;
    fedi_inbox_t        *in;
    ngx_pool_cleanup_t  *cln;
    ngx_http_request_t  *r = rq->r;

    in = ngx_pcalloc(r->pool, sizeof(fedi_inbox_t));
    if (in == NULL) {
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

    why = fedi_verify_check(rq, &in->v, in->body, in->body_len);
    if (why) {
        fedi_verify_refuse(rq, &in->v, why);
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

    in->body_z = fedi_pstrz(r->pool, in->body, in->body_len);

    if (in->actor == NULL || in->body_z == NULL
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

    fedi_verify_key(rq, &in->v, fedi_inbox_verified);
}


static void
fedi_inbox_verified(fedi_req_t *rq, fedi_verify_t *v)
{
    fedi_inbox_t  *in = rq->data;

    /* the key's owner is the activity's actor */
    if (ngx_strcmp(v->owner, in->actor) != 0) {
        fedi_verify_refuse(rq, v, "the signer is not the activity's actor");
        return;
    }

    /* the object made trustworthy (origin rules, sanitized HTML) */
    fedi_inbox_object(rq, in->act, in->actor, 0, fedi_inbox_prepared);
}


static void
fedi_inbox_prepared(fedi_req_t *rq, char *object, ngx_uint_t later)
{
    fedi_inbox_t  *in = rq->data;

    if (later) {
        fedi_query(rq, FEDI_SQL_INBOX_STORE_PENDING, fedi_inbox_stored, 3,
                   in->activity_id, in->v.account_id, in->body_z);
        return;
    }

    fedi_query(rq, FEDI_SQL_INBOX_STORE, fedi_inbox_stored, 4,
               in->activity_id, in->v.account_id, in->body_z, object);
}


static void
fedi_inbox_cleanup(void *data)
{
    json_decref(data);
}


static void
fedi_inbox_stored(fedi_req_t *rq, PGresult *res)
{
    fedi_send_bytes(rq, NGX_HTTP_ACCEPTED, "application/json; charset=utf-8",
                    (u_char *) "{}", 2);
}
