/*
 * OAuth scopes: what a token's scopes allow, as Mastodon decides it.
 */

#include <stdio.h>
#include <string.h>

#include "fedi_scope.h"


#include "tap.h"


int
main(void)
{
    ok(fedi_scope_allows("read", "read:statuses"), "read grants read:statuses");
    ok(fedi_scope_allows("read:statuses", "read:statuses"),
       "a granular scope grants itself");
    ok(!fedi_scope_allows("read:accounts", "read:statuses"),
       "read:accounts does not grant read:statuses");
    ok(!fedi_scope_allows("write", "read:statuses"),
       "write does not grant reading");
    ok(!fedi_scope_allows("read", "write:statuses"),
       "read does not grant writing");
    ok(fedi_scope_allows("profile", "read:accounts profile"),
       "profile satisfies verify_credentials' alternatives");
    ok(!fedi_scope_allows("profile", "read:statuses"),
       "profile grants nothing else");
    ok(fedi_scope_allows("follow", "write:follows"),
       "the deprecated follow grants write:follows");
    ok(fedi_scope_allows("follow", "read:blocks"),
       "the deprecated follow grants read:blocks");
    ok(!fedi_scope_allows("follow", "write:statuses"),
       "follow does not grant posting");
    ok(fedi_scope_allows("admin:read", "admin:read:accounts"),
       "admin:read grants admin:read:accounts");
    ok(!fedi_scope_allows("read", "admin:read:accounts"),
       "read does not grant admin scopes");
    ok(!fedi_scope_allows("readx", "read:statuses"),
       "a prefix of a scope name is not the scope");
    ok(!fedi_scope_allows("", "read"), "nothing grants nothing");
    ok(fedi_scope_allows("write  read", "read:lists"),
       "extra spaces are tolerated");

    ok(fedi_scopes_valid("read write follow push"), "the classic scopes");
    ok(fedi_scopes_valid("read:statuses write:media"), "granular scopes");
    ok(!fedi_scopes_valid("read bogus"), "an unknown scope");
    ok(!fedi_scopes_valid(""), "no scope at all");
    ok(!fedi_scopes_valid("read:"), "an empty granular scope");

    ok(fedi_scopes_subset("read", "read write"), "read within read write");
    ok(!fedi_scopes_subset("read write", "read"), "write not within read");
    ok(!fedi_scopes_subset("read:statuses", "read"),
       "subset is exact: read:statuses is not listed by the app");

    return done();
}
