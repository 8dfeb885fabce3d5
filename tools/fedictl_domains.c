/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl domains block|unblock|list: instance-level domain blocks (see
 * sql/0012_domain_blocks.sql for what each severity does).  Blocking libpq
 * is fine here: this is not nginx.
 */


#include <stdio.h>
#include <string.h>
#include <ctype.h>
#include <libpq-fe.h>

#include "fedictl.h"
#include "fedi_addr.h"


/*
 * A host name (no port) as it is stored, *d pointed at it: IDN to ASCII,
 * lower case, no trailing dot (fedi_domain_normalize).  The ASCII form
 * may be longer than the argument, hence a buffer of its own.
 */
int
fedictl_domain_valid(char **d)
{
    static char  buf[300];

    if (fedi_domain_normalize(*d, strlen(*d), buf, sizeof(buf)) != 0
        || strchr(buf, ':') != NULL)
    {
        return 0;
    }

    *d = buf;

    return 1;
}


int
fedictl_domains_block(PGconn *db, int argc, char **argv)
{
    PGresult    *res;
    const char  *v[6], *severity;

    if (argc < 1 || argv[0][0] == '-' || !fedictl_domain_valid(&argv[0])) {
        fprintf(stderr, "fedictl: domains block DOMAIN: a host name, "
                        "like example.com\n");
        return FEDICTL_USAGE;
    }

    severity = fedictl_opt(argc, argv, "--severity");
    if (severity == NULL) {
        severity = "suspend";
    }

    if (strcmp(severity, "suspend") != 0 && strcmp(severity, "silence") != 0
        && strcmp(severity, "noop") != 0)
    {
        fprintf(stderr, "fedictl: --severity is suspend, silence or noop\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];
    v[1] = severity;
    v[2] = fedictl_flag(argc, argv, "--reject-media") ? "true" : "false";
    v[3] = fedictl_flag(argc, argv, "--reject-reports") ? "true" : "false";
    v[4] = fedictl_opt(argc, argv, "--comment");
    v[5] = fedictl_opt(argc, argv, "--private-comment");

    res = fedictl_exec(db, "SELECT fedi_domain_block_set($1, $2,"
                           " $3::boolean, $4::boolean, $5, $6),"
                           " (SELECT count(*) FROM accounts a"
                           "  WHERE a.domain IS NOT NULL"
                           "  AND fedi_domain_under(a.domain, $1))",
                       6, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    printf("%s: %s (%s), %s known accounts\n", argv[0],
           PQgetvalue(res, 0, 0), severity, PQgetvalue(res, 0, 1));
    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_domains_unblock(PGconn *db, int argc, char **argv)
{
    int          found;
    PGresult    *res;
    const char  *v[1];

    if (argc != 1 || !fedictl_domain_valid(&argv[0])) {
        fprintf(stderr, "fedictl: domains unblock DOMAIN\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    res = fedictl_exec(db, "SELECT fedi_domain_unblock($1)", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    found = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);

    if (!found) {
        fprintf(stderr, "fedictl: %s is not blocked\n", argv[0]);
        return FEDICTL_FAILED;
    }

    printf("%s: unblocked\n", argv[0]);

    return FEDICTL_OK;
}


int
fedictl_domains_list(PGconn *db, int argc, char **argv)
{
    int        i;
    PGresult  *res;

    res = fedictl_exec(db, "SELECT domain, severity,"
                           " CASE WHEN reject_media THEN ' reject-media'"
                           " ELSE '' END || CASE WHEN reject_reports"
                           " THEN ' reject-reports' ELSE '' END,"
                           " public_comment FROM domain_blocks"
                           " ORDER BY domain", 0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    for (i = 0; i < PQntuples(res); i++) {
        printf("%s\t%s%s\t%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3));
    }

    PQclear(res);

    return FEDICTL_OK;
}
