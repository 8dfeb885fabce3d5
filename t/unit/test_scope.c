/*
 * OAuth scopes: what a token's scopes allow, as Mastodon decides it.
 */

#include <stdio.h>
#include <string.h>

#include "fedi_scope.h"


static int  n, failed;

#define OK(cond, name)                                                       \
    do {                                                                     \
        n++;                                                                 \
        if (cond) {                                                          \
            printf("ok %d - %s\n", n, name);                                 \
        } else {                                                             \
            failed++;                                                        \
            printf("not ok %d - %s\n", n, name);                             \
        }                                                                    \
    } while (0)


int
main(void)
{
    OK(fedi_scope_allows("read", "read:statuses"), "read grants read:statuses");
    OK(fedi_scope_allows("read:statuses", "read:statuses"),
       "a granular scope grants itself");
    OK(!fedi_scope_allows("read:accounts", "read:statuses"),
       "read:accounts does not grant read:statuses");
    OK(!fedi_scope_allows("write", "read:statuses"),
       "write does not grant reading");
    OK(!fedi_scope_allows("read", "write:statuses"),
       "read does not grant writing");
    OK(fedi_scope_allows("profile", "read:accounts profile"),
       "profile satisfies verify_credentials' alternatives");
    OK(!fedi_scope_allows("profile", "read:statuses"),
       "profile grants nothing else");
    OK(fedi_scope_allows("follow", "write:follows"),
       "the deprecated follow grants write:follows");
    OK(fedi_scope_allows("follow", "read:blocks"),
       "the deprecated follow grants read:blocks");
    OK(!fedi_scope_allows("follow", "write:statuses"),
       "follow does not grant posting");
    OK(fedi_scope_allows("admin:read", "admin:read:accounts"),
       "admin:read grants admin:read:accounts");
    OK(!fedi_scope_allows("read", "admin:read:accounts"),
       "read does not grant admin scopes");
    OK(!fedi_scope_allows("readx", "read:statuses"),
       "a prefix of a scope name is not the scope");
    OK(!fedi_scope_allows("", "read"), "nothing grants nothing");
    OK(fedi_scope_allows("write  read", "read:lists"),
       "extra spaces are tolerated");

    OK(fedi_scopes_valid("read write follow push"), "the classic scopes");
    OK(fedi_scopes_valid("read:statuses write:media"), "granular scopes");
    OK(!fedi_scopes_valid("read bogus"), "an unknown scope");
    OK(!fedi_scopes_valid(""), "no scope at all");
    OK(!fedi_scopes_valid("read:"), "an empty granular scope");

    OK(fedi_scopes_subset("read", "read write"), "read within read write");
    OK(!fedi_scopes_subset("read write", "read"), "write not within read");
    OK(!fedi_scopes_subset("read:statuses", "read"),
       "subset is exact: read:statuses is not listed by the app");

    printf("1..%d\n", n);

    return failed ? 1 : 0;
}
