/*
 * Copyright (C) ngx_fedi authors
 */

#ifndef _AP_RESOLVE_H_INCLUDED_
#define _AP_RESOLVE_H_INCLUDED_


#include "fedi.h"


/* found: the account is stored now (or was updated); rq->data is the
 * caller's again */
typedef void (*fedi_resolved_pt)(fedi_req_t *rq, ngx_int_t found);

void fedi_resolve_acct(fedi_req_t *rq, const char *user, const char *domain,
    fedi_resolved_pt done);
void fedi_resolve_url(fedi_req_t *rq, const char *url, fedi_resolved_pt done);

/* the same with no request behind it (background work) */
typedef void (*fedi_resolved_in_pt)(void *data, ngx_int_t found);

void fedi_resolve_url_in(fedi_fetch_env_t *env, const char *url,
    fedi_resolved_in_pt done, void *data);

/*
 * The domain of a handle as it is stored (fedi_domain_normalize: IDN to
 * ASCII, lower case, no trailing dot) in *out, or NULL when it is ours.
 * NGX_DECLINED: not a domain; NGX_ERROR: out of memory.
 */
ngx_int_t fedi_resolve_domain(fedi_req_t *rq, const char *in, char **out);

/* id is a URL on the scheme, host and port of url (an https URL) */
ngx_uint_t fedi_same_origin(const char *id, ngx_str_t *url);

/* a content type (its parameters cut) that is ActivityPub's */
ngx_int_t fedi_is_ap_type(const char *type);


#endif /* _AP_RESOLVE_H_INCLUDED_ */
