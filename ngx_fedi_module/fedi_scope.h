/*
 * Copyright (C) ngx_fedi authors
 *
 * OAuth scopes as Mastodon defines them.  Pure C, unit-tested.
 */

#ifndef _FEDI_SCOPE_H_INCLUDED_
#define _FEDI_SCOPE_H_INCLUDED_


#include <stddef.h>


/* 1 when name (len bytes) is a scope Mastodon knows */
int fedi_scope_valid(const char *name, size_t len);

/* 1 when every scope of the space-separated list is valid (and >= 1) */
int fedi_scopes_valid(const char *list);

/*
 * 1 when the granted list satisfies one of the space-separated required
 * alternatives: "read:statuses" is granted by itself or by "read",
 * "admin:read:accounts" by "admin:read", and the deprecated "follow"
 * grants reading and writing follows, blocks and mutes.
 */
int fedi_scope_allows(const char *granted, const char *required);

/* 1 when every scope of requested is in allowed (as a set, exactly) */
int fedi_scopes_subset(const char *requested, const char *allowed);


#endif /* _FEDI_SCOPE_H_INCLUDED_ */
