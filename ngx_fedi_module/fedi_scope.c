/*
 * Copyright (C) ngx_fedi authors
 */


#include <string.h>

#include "fedi_scope.h"


static int fedi_scope_has(const char *list, const char *s, size_t len);


static const char  *fedi_scopes[] = {
    "read", "write", "follow", "push", "profile",
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites",
    "read:filters", "read:follows", "read:lists", "read:mutes",
    "read:notifications", "read:search", "read:statuses",
    "write:accounts", "write:blocks", "write:bookmarks",
    "write:conversations", "write:favourites", "write:filters",
    "write:follows", "write:lists", "write:media", "write:mutes",
    "write:notifications", "write:reports", "write:statuses",
    "admin:read", "admin:write",
    "admin:read:accounts", "admin:read:reports", "admin:read:domain_allows",
    "admin:read:domain_blocks", "admin:read:ip_blocks",
    "admin:read:email_domain_blocks", "admin:read:canonical_email_blocks",
    "admin:write:accounts", "admin:write:reports",
    "admin:write:domain_allows", "admin:write:domain_blocks",
    "admin:write:ip_blocks", "admin:write:email_domain_blocks",
    "admin:write:canonical_email_blocks",
    NULL
};


/* what the deprecated "follow" scope still grants */
static const char  *fedi_scope_follow[] = {
    "read:follows", "write:follows", "read:blocks", "write:blocks",
    "read:mutes", "write:mutes", NULL
};


int
fedi_scope_valid(const char *name, size_t len)
{
    const char  **s;

    for (s = fedi_scopes; *s; s++) {
        if (strlen(*s) == len && memcmp(*s, name, len) == 0) {
            return 1;
        }
    }

    return 0;
}


int
fedi_scopes_valid(const char *list)
{
    size_t       n, count;
    const char  *p;

    count = 0;
    p = list;

    while (*p) {
        while (*p == ' ') {
            p++;
        }

        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }

        if (!fedi_scope_valid(p, n)) {
            return 0;
        }

        count++;
        p += n;
    }

    return count > 0;
}


static int
fedi_scope_has(const char *list, const char *s, size_t len)
{
    size_t       n;
    const char  *p;

    p = list;

    while (*p) {
        while (*p == ' ') {
            p++;
        }

        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }

        if (n == len && memcmp(p, s, n) == 0) {
            return 1;
        }

        p += n;
    }

    return 0;
}


int
fedi_scope_allows(const char *granted, const char *required)
{
    size_t        n, k;
    const char   *p, *colon, **f;

    p = required;

    while (*p) {
        while (*p == ' ') {
            p++;
        }

        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }

        if (fedi_scope_has(granted, p, n)) {
            return 1;
        }

        /* the parent: everything before the last ':' */
        colon = NULL;

        for (k = 0; k < n; k++) {
            if (p[k] == ':') {
                colon = p + k;
            }
        }

        if (colon && fedi_scope_has(granted, p, colon - p)) {
            return 1;
        }

        if (fedi_scope_has(granted, "follow", 6)) {
            for (f = fedi_scope_follow; *f; f++) {
                if (strlen(*f) == n && memcmp(*f, p, n) == 0) {
                    return 1;
                }
            }
        }

        p += n;
    }

    return 0;
}


int
fedi_scopes_subset(const char *requested, const char *allowed)
{
    size_t       n;
    const char  *p;

    p = requested;

    while (*p) {
        while (*p == ' ') {
            p++;
        }

        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }

        if (!fedi_scope_has(allowed, p, n)) {
            return 0;
        }

        p += n;
    }

    return 1;
}
