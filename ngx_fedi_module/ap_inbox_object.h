/*
 * Copyright (C) ngx_fedi authors
 */

#ifndef _AP_INBOX_OBJECT_H_INCLUDED_
#define _AP_INBOX_OBJECT_H_INCLUDED_


#include "fedi.h"


/* object: the activity's object made trustworthy and sanitized (JSON, in
 * the request's pool), or NULL: none, or none to trust, or (later) one
 * that must come from its origin while fetch was 0; rq->data is the
 * caller's again */
typedef void (*fedi_inbox_object_pt)(fedi_req_t *rq, char *object,
    ngx_uint_t later);

void fedi_inbox_object(fedi_req_t *rq, json_t *act, const char *actor,
    ngx_uint_t fetch, fedi_inbox_object_pt done);

/* the same with no request behind it (background work), fetching: object
 * (in env's pool) or NULL with why (NULL: nothing to trust, no rule
 * broken) and retry (a failure that may pass: the network, the origin's
 * 5xx, our own) */
typedef void (*fedi_inbox_object_in_pt)(void *data, char *object,
    const char *why, ngx_uint_t retry);

void fedi_inbox_object_in(fedi_fetch_env_t *env, json_t *act,
    const char *actor, fedi_inbox_object_in_pt done, void *data);

/* whether two https URLs are on one host (lower case, no trailing dot,
 * no port; ASCII names only) */
ngx_int_t fedi_same_host(const char *a, const char *b);


#endif /* _AP_INBOX_OBJECT_H_INCLUDED_ */
