/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl deliveries status|retry: the queue of outgoing activities (see
 * sql/0017_deliveries.sql).  Blocking libpq is fine here: this is not
 * nginx.
 */


#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>

#include "fedictl.h"


int
fedictl_deliveries_status(PGconn *db, int argc, char **argv)
{
    int        i, n;
    PGresult  *res;

    res = fedictl_exec(db, "SELECT count(*),"
                           " count(*) FILTER (WHERE locked_until > now()),"
                           " count(*) FILTER (WHERE attempts > 0"
                           "  AND (locked_until IS NULL"
                           "       OR locked_until < now())),"
                           " coalesce(to_char(min(created_at) AT TIME ZONE"
                           "  'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'),"
                           " coalesce(extract(epoch FROM now()"
                           "  - min(created_at))::bigint::text, '-')"
                           " FROM deliveries", 0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    printf("queued: %s\nin flight: %s\nwaiting to retry: %s\n"
           "oldest: %s (%s s)\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
           PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
           PQgetvalue(res, 0, 4));
    PQclear(res);

    res = fedictl_exec(db, "SELECT g.domain,"
                           " CASE WHEN g.unavailable THEN 'unavailable'"
                           " ELSE 'failing' END,"
                           " cardinality(g.failure_days),"
                           " (SELECT count(*) FROM deliveries d"
                           "   WHERE d.domain = g.domain),"
                           " coalesce(g.last_error, '')"
                           " FROM delivery_domains g"
                           " ORDER BY g.unavailable DESC,"
                           " cardinality(g.failure_days) DESC, g.domain",
                       0, NULL);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    n = PQntuples(res);
    printf("failing domains: %d\n", n);

    for (i = 0; i < n; i++) {
        printf("  %s %s, failed on %s days, %s queued%s%s\n",
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetlength(res, i, 4) ? ": " : "", PQgetvalue(res, i, 4));
    }

    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_deliveries_retry(PGconn *db, int argc, char **argv)
{
    PGresult    *res;
    const char  *v[1];

    if (argc != 1 || !fedictl_domain_valid(&argv[0])) {
        fprintf(stderr, "fedictl: deliveries retry DOMAIN\n");
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    /* one statement, one transaction; the NOTIFY wakes the processes */
    res = fedictl_exec(db, "WITH g AS (DELETE FROM delivery_domains"
                           "  WHERE domain = $1 RETURNING unavailable),"
                           " d AS (UPDATE deliveries SET next_attempt_at = now()"
                           "  WHERE domain = $1 AND (locked_until IS NULL"
                           "   OR locked_until < now()) RETURNING 1)"
                           " SELECT (SELECT count(*) FROM d),"
                           " coalesce((SELECT bool_or(unavailable) FROM g),"
                           "  false), pg_notify('fedi_deliver', '')",
                       1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    printf("%s: %s deliveries due now%s\n", argv[0], PQgetvalue(res, 0, 0),
           strcmp(PQgetvalue(res, 0, 1), "t") == 0
           ? ", available again" : "");
    PQclear(res);

    return FEDICTL_OK;
}
