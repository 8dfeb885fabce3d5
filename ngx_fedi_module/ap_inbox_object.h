/*
 * Copyright (C) ngx_fedi authors
 */

#ifndef _AP_INBOX_OBJECT_H_INCLUDED_
#define _AP_INBOX_OBJECT_H_INCLUDED_


#include "fedi.h"


/* object: the activity's object made trustworthy and sanitized (JSON, in
 * the request's pool), or NULL: none, or none to trust; rq->data is the
 * caller's again */
typedef void (*fedi_inbox_object_pt)(fedi_req_t *rq, char *object);

void fedi_inbox_object(fedi_req_t *rq, json_t *act, const char *actor,
    fedi_inbox_object_pt done);

/* whether two https URLs are on one host (lower case, no trailing dot,
 * no port; ASCII names only) */
ngx_int_t fedi_same_host(const char *a, const char *b);


#endif /* _AP_INBOX_OBJECT_H_INCLUDED_ */
