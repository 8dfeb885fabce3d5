/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl reports list|show|resolve: the reports users made here (POST
 * /api/v1/reports) and remote servers sent (Flag), for the operator; see
 * sql/0033_reports_move.sql.  Blocking libpq is fine here: this is not
 * nginx.
 */


#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>

#include "fedictl.h"


/* "user" or "user@domain" of accounts a */
#define FEDICTL_ACCT(a)  a ".username || coalesce('@' || " a ".domain, '')"


static int
fedictl_report_id(int argc, char **argv, const char *what)
{
    if (argc != 1 || argv[0][0] == '\0'
        || strspn(argv[0], "0123456789") != strlen(argv[0])
        || strlen(argv[0]) > 18)
    {
        fprintf(stderr, "fedictl: reports %s ID\n", what);
        return 0;
    }

    return 1;
}


int
fedictl_reports_list(PGconn *db, int argc, char **argv)
{
    int          i, n, all;
    PGresult    *res;
    const char  *v[1];

    all = fedictl_flag(argc, argv, "--all");

    if (argc != all) {
        fprintf(stderr, "fedictl: reports list [--all]\n");
        return FEDICTL_USAGE;
    }

    v[0] = all ? "t" : "f";

    res = fedictl_exec(db, "SELECT r.id,"
                           " to_char(r.created_at AT TIME ZONE 'UTC',"
                           "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                           " " FEDICTL_ACCT("s") ", " FEDICTL_ACCT("t") ","
                           " r.category, cardinality(r.status_ids),"
                           " CASE WHEN r.action_taken_at IS NULL"
                           "  THEN 'open' ELSE 'resolved' END"
                           " FROM reports r"
                           " JOIN accounts s ON s.id = r.account_id"
                           " JOIN accounts t ON t.id = r.target_account_id"
                           " WHERE $1::boolean OR r.action_taken_at IS NULL"
                           " ORDER BY r.id", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    n = PQntuples(res);

    for (i = 0; i < n; i++) {
        printf("%s\t%s\t%s\t%s\t%s\t%s statuses\t%s\n",
               PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
               PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
               PQgetvalue(res, i, 6));
    }

    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_reports_show(PGconn *db, int argc, char **argv)
{
    int          i, n;
    PGresult    *res;
    const char  *v[1];

    if (!fedictl_report_id(argc, argv, "show")) {
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    res = fedictl_exec(db, "SELECT r.id, " FEDICTL_ACCT("s") ","
                           " " FEDICTL_ACCT("t") ", r.category,"
                           " to_char(r.created_at AT TIME ZONE 'UTC',"
                           "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                           " coalesce(to_char(r.action_taken_at AT TIME ZONE"
                           "  'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'),"
                           " CASE WHEN r.forwarded THEN 'yes' ELSE 'no' END,"
                           " coalesce(r.uri, '-'),"
                           " coalesce((SELECT string_agg(x.text, '; ')"
                           "   FROM rules x WHERE x.id = ANY (r.rule_ids)),"
                           "  '-'),"
                           " r.comment"
                           " FROM reports r"
                           " JOIN accounts s ON s.id = r.account_id"
                           " JOIN accounts t ON t.id = r.target_account_id"
                           " WHERE r.id = $1::bigint", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: no report %s\n", argv[0]);
        PQclear(res);
        return FEDICTL_FAILED;
    }

    printf("report: %s\nby: %s\nagainst: %s\ncategory: %s\ncreated: %s\n"
           "resolved: %s\nforwarded: %s\nuri: %s\nrules: %s\ncomment: %s\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
           PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3),
           PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
           PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7),
           PQgetvalue(res, 0, 8), PQgetvalue(res, 0, 9));
    PQclear(res);

    /* the statuses, as they are now (a deleted one says so) */
    res = fedictl_exec(db, "SELECT s.id, coalesce(s.uri, '(local)'),"
                           " CASE WHEN s.deleted_at IS NOT NULL"
                           "  THEN '(deleted) ' ELSE '' END"
                           "  || left(regexp_replace(coalesce(nullif(s.text,"
                           "  ''), s.content), '\\s+', ' ', 'g'), 200)"
                           " FROM reports r JOIN statuses s"
                           "  ON s.id = ANY (r.status_ids)"
                           " WHERE r.id = $1::bigint ORDER BY s.id", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    n = PQntuples(res);
    printf("statuses: %d\n", n);

    for (i = 0; i < n; i++) {
        printf("  %s %s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2));
    }

    PQclear(res);

    return FEDICTL_OK;
}


int
fedictl_reports_resolve(PGconn *db, int argc, char **argv)
{
    PGresult    *res;
    const char  *v[1];

    if (!fedictl_report_id(argc, argv, "resolve")) {
        return FEDICTL_USAGE;
    }

    v[0] = argv[0];

    res = fedictl_exec(db, "UPDATE reports SET action_taken_at ="
                           " coalesce(action_taken_at, now()),"
                           " updated_at = now()"
                           " WHERE id = $1::bigint RETURNING id", 1, v);
    if (res == NULL) {
        return FEDICTL_FAILED;
    }

    if (PQntuples(res) != 1) {
        fprintf(stderr, "fedictl: no report %s\n", argv[0]);
        PQclear(res);
        return FEDICTL_FAILED;
    }

    printf("report %s resolved\n", argv[0]);
    PQclear(res);

    return FEDICTL_OK;
}
