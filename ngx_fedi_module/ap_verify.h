/*
 * Copyright (C) ngx_fedi authors
 *
 * An HTTP Signature on a request to us, checked and verified with the
 * signer's key: found by its keyId among known accounts, or fetched with
 * the actor (once more when a verification fails, for a rotated key);
 * parsed keys cached per worker.  The inbox's POSTs, and GETs of our
 * documents when fedi_authorized_fetch is on.
 */

#ifndef _AP_VERIFY_H_INCLUDED_
#define _AP_VERIFY_H_INCLUDED_


#include "fedi_httpsig.h"


#define FEDI_VERIFY_MAX_HEADERS  64


typedef struct fedi_verify_s  fedi_verify_t;

/* verified: v->account_id and v->owner are the signer's */
typedef void (*fedi_verified_pt)(fedi_req_t *rq, fedi_verify_t *v);

struct fedi_verify_s {
    fedi_httpsig_t           sig;
    fedi_httpsig_request_t   hr;
    fedi_httpsig_header_t    headers[FEDI_VERIFY_MAX_HEADERS];
    char                    *key_id;
    char                    *account_id;     /* the signer's account */
    char                    *owner;          /* the key owner's actor id */
    fedi_verified_pt         done;
    void                    *saved;          /* the caller's rq->data */
    unsigned                 fetched:1;
};


/*
 * The request as its signature saw it (our own name, never Host) with
 * body (NULL for a GET), parsed and checked against the policy: NULL, or
 * why not, for a 401.
 */
const char *fedi_verify_check(fedi_req_t *rq, fedi_verify_t *v,
    u_char *body, size_t len);

/* the signature verified with its key: done(), or 401 answered */
void fedi_verify_key(fedi_req_t *rq, fedi_verify_t *v, fedi_verified_pt done);

/*
 * fedi_authorized_fetch: a GET for ActivityPub of a FEDI_ROUTE_SIGNED
 * route runs its handler once its signature is verified (rq->signed_by)
 */
void fedi_verify_get(fedi_req_t *rq);

/* 401 with why, logged with the keyId */
void fedi_verify_refuse(fedi_req_t *rq, fedi_verify_t *v, const char *why);


#endif /* _AP_VERIFY_H_INCLUDED_ */
