/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl: the operator's tool.  Run from the checkout it talks to the
 * embedded instance (var/, or FEDI_VAR); --db CONNINFO or FEDI_DB points
 * it elsewhere.  Blocking libpq is fine here: this is not nginx.
 *
 *   fedictl db migrate         apply sql/NNNN_*.sql not yet applied
 *   fedictl db status          applied and pending migrations
 *   fedictl db check           PREPARE every statement of the module (TAP)
 *   fedictl accounts create NAME --email E [--password P] [--confirmed]
 *                               [--approve] [--role Owner|Admin|Moderator]
 *   fedictl accounts modify NAME [--confirm] [--approve] [--disable]
 *                               [--enable] [--role R] [--reset-password]
 *   fedictl settings registrations [open|approved|closed]
 */


#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "fedi_sql.h"
#include "fedictl.h"


#define FEDICTL_MAX_MIGRATIONS  1000


static void fedictl_usage(FILE *f);
static char *fedictl_top(void);
static PGconn *fedictl_connect(const char *conninfo);
static int fedictl_db(PGconn *db, const char *sqldir, int argc, char **argv);
static int fedictl_migrations(const char *dir, char **names, int max);
static int fedictl_cmp(const void *a, const void *b);
static char *fedictl_slurp(const char *path);
static int fedictl_ok(PGconn *db, PGresult *res);
static int fedictl_db_check(PGconn *db);


static void
fedictl_usage(FILE *f)
{
    fprintf(f,
        "usage: fedictl [--db CONNINFO] [--sql DIR] COMMAND\n"
        "\n"
        "  db migrate                 apply the pending sql/ migrations\n"
        "  db status                  list applied and pending migrations\n"
        "  db check                   prepare every statement of the module\n"
        "  accounts create NAME --email E [--password P] [--confirmed]\n"
        "                  [--approve] [--role Owner|Admin|Moderator]\n"
        "  accounts modify NAME [--confirm] [--approve] [--disable]\n"
        "                  [--enable] [--role R] [--reset-password]\n"
        "                  [--email E]\n"
        "  settings registrations [open|approved|closed]\n"
        "\n"
        "The database: --db, else FEDI_DB, else the embedded instance of\n"
        "this checkout (FEDI_VAR, default var/).\n");
}


/* the checkout: the directory above build/ where this binary lives */
static char *
fedictl_top(void)
{
    char     buf[PATH_MAX], *p;
    ssize_t  n;

    n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) {
        return NULL;
    }

    buf[n] = '\0';

    p = strrchr(buf, '/');
    if (p == NULL) {
        return NULL;
    }

    *p = '\0';                              /* .../build */

    p = strrchr(buf, '/');
    if (p == NULL) {
        return NULL;
    }

    *p = '\0';                              /* the checkout */

    return strdup(buf);
}


static PGconn *
fedictl_connect(const char *conninfo)
{
    PGconn  *db;

    db = PQconnectdb(conninfo);

    if (PQstatus(db) != CONNECTION_OK) {
        fprintf(stderr, "fedictl: cannot connect (%s): %s", conninfo,
                PQerrorMessage(db));
        PQfinish(db);
        return NULL;
    }

    PQclear(PQexec(db, "SET client_min_messages = warning"));

    return db;
}


static int
fedictl_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static int
fedictl_migrations(const char *dir, char **names, int max)
{
    int             n;
    DIR            *d;
    size_t          len;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "fedictl: %s: %s\n", dir, strerror(errno));
        return -1;
    }

    n = 0;

    while ((e = readdir(d)) != NULL && n < max) {
        len = strlen(e->d_name);

        if (len > 9 && strspn(e->d_name, "0123456789") == 4
            && e->d_name[4] == '_'
            && strcmp(e->d_name + len - 4, ".sql") == 0)
        {
            names[n++] = strdup(e->d_name);
        }
    }

    closedir(d);

    qsort(names, n, sizeof(char *), fedictl_cmp);

    return n;
}


static char *
fedictl_slurp(const char *path)
{
    long   n;
    char  *buf;
    FILE  *f;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "fedictl: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);

    buf = malloc(n + 1);
    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        fclose(f);
        free(buf);
        return NULL;
    }

    buf[n] = '\0';
    fclose(f);

    return buf;
}


static int
fedictl_ok(PGconn *db, PGresult *res)
{
    ExecStatusType  st;

    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return 0;
    }

    PQclear(res);

    return 1;
}


static int
fedictl_db(PGconn *db, const char *sqldir, int argc, char **argv)
{
    int          i, n, pending, applied;
    char        *names[FEDICTL_MAX_MIGRATIONS], path[PATH_MAX + 300];
    char         version[8];
    char        *sql;
    const char  *v[1];
    PGresult    *res;

    if (argc < 1) {
        fedictl_usage(stderr);
        return 2;
    }

    if (strcmp(argv[0], "check") == 0) {
        return fedictl_db_check(db);
    }

    if (strcmp(argv[0], "migrate") != 0 && strcmp(argv[0], "status") != 0) {
        fedictl_usage(stderr);
        return 2;
    }

    n = fedictl_migrations(sqldir, names, FEDICTL_MAX_MIGRATIONS);
    if (n < 0) {
        return 1;
    }

    if (!fedictl_ok(db, PQexec(db,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())")))
    {
        return 1;
    }

    /* two migrators never run at once */
    if (!fedictl_ok(db, PQexec(db, "SELECT pg_advisory_lock(7426001)"))) {
        return 1;
    }

    pending = 0;
    applied = 0;

    for (i = 0; i < n; i++) {
        memcpy(version, names[i], 4);
        version[4] = '\0';
        v[0] = version;

        res = PQexecParams(db, "SELECT applied_at FROM schema_migrations"
                           " WHERE version = $1", 1, NULL, v, NULL, NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            fedictl_ok(db, res);
            return 1;
        }

        if (PQntuples(res) == 1) {
            if (strcmp(argv[0], "status") == 0) {
                printf("applied  %s  (%s)\n", names[i], PQgetvalue(res, 0, 0));
            }

            PQclear(res);
            continue;
        }

        PQclear(res);

        if (strcmp(argv[0], "status") == 0) {
            printf("pending  %s\n", names[i]);
            pending++;
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", sqldir, names[i]);

        sql = fedictl_slurp(path);
        if (sql == NULL) {
            return 1;
        }

        /* the file and its record in one transaction */
        if (!fedictl_ok(db, PQexec(db, "BEGIN"))) {
            free(sql);
            return 1;
        }

        res = PQexec(db, sql);
        free(sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK
            && PQresultStatus(res) != PGRES_TUPLES_OK)
        {
            fprintf(stderr, "fedictl: %s failed: %s", names[i],
                    PQresultErrorMessage(res));
            PQclear(res);
            PQclear(PQexec(db, "ROLLBACK"));
            return 1;
        }

        PQclear(res);

        res = PQexecParams(db, "INSERT INTO schema_migrations (version)"
                           " VALUES ($1)", 1, NULL, v, NULL, NULL, 0);

        if (!fedictl_ok(db, res) || !fedictl_ok(db, PQexec(db, "COMMIT"))) {
            PQclear(PQexec(db, "ROLLBACK"));
            return 1;
        }

        printf("applied  %s\n", names[i]);
        applied++;
    }

    PQclear(PQexec(db, "SELECT pg_advisory_unlock(7426001)"));

    if (strcmp(argv[0], "status") == 0) {
        printf("%d pending\n", pending);
        return pending ? 1 : 0;
    }

    if (applied == 0) {
        printf("the schema is up to date\n");
    }

    return 0;
}


/* every statement of the module against this schema, as TAP */
static int
fedictl_db_check(PGconn *db)
{
    int        i, failed;
    char       name[96], sql[128];
    PGresult  *res;

    failed = 0;
    printf("1..%d\n", FEDI_SQL_N);

    for (i = 0; i < FEDI_SQL_N; i++) {
        snprintf(name, sizeof(name), "fedictl_check_%s",
                 fedi_sql_stmts[i].name);

        res = PQprepare(db, name, fedi_sql_stmts[i].sql,
                        fedi_sql_stmts[i].nparams, NULL);

        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            printf("ok %d - %s\n", i + 1, fedi_sql_stmts[i].name);

        } else {
            failed++;
            printf("not ok %d - %s\n# %s", i + 1, fedi_sql_stmts[i].name,
                   PQresultErrorMessage(res));
        }

        PQclear(res);

        snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);
        PQclear(PQexec(db, sql));
    }

    return failed ? 1 : 0;
}


int
main(int argc, char **argv)
{
    int          rc;
    char        *top, conninfo[PATH_MAX + 128], sqldir[PATH_MAX];
    const char  *db_opt, *sql_opt, *var;
    PGconn      *db;

    db_opt = NULL;
    sql_opt = NULL;

    argv++;
    argc--;

    while (argc >= 2 && argv[0][0] == '-') {
        if (strcmp(argv[0], "--db") == 0) {
            db_opt = argv[1];

        } else if (strcmp(argv[0], "--sql") == 0) {
            sql_opt = argv[1];

        } else {
            break;
        }

        argv += 2;
        argc -= 2;
    }

    if (argc < 1 || strcmp(argv[0], "help") == 0
        || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)
    {
        fedictl_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }

    top = fedictl_top();

    if (db_opt == NULL) {
        db_opt = getenv("FEDI_DB");
    }

    if (db_opt == NULL) {
        var = getenv("FEDI_VAR");

        if (var) {
            snprintf(conninfo, sizeof(conninfo),
                     "host=%s/pg/run dbname=fedi user=fedi", var);

        } else {
            snprintf(conninfo, sizeof(conninfo),
                     "host=%s/var/pg/run dbname=fedi user=fedi",
                     top ? top : ".");
        }

        db_opt = conninfo;
    }

    if (sql_opt) {
        snprintf(sqldir, sizeof(sqldir), "%s", sql_opt);

    } else {
        snprintf(sqldir, sizeof(sqldir), "%s/sql", top ? top : ".");
    }

    if (strcmp(argv[0], "db") != 0 && strcmp(argv[0], "accounts") != 0
        && strcmp(argv[0], "settings") != 0)
    {
        fedictl_usage(stderr);
        return 2;
    }

    db = fedictl_connect(db_opt);
    if (db == NULL) {
        return 1;
    }

    if (strcmp(argv[0], "db") == 0) {
        rc = fedictl_db(db, sqldir, argc - 1, argv + 1);

    } else if (strcmp(argv[0], "settings") == 0) {
        rc = fedictl_settings(db, argc - 1, argv + 1);

    } else if (argc >= 2 && strcmp(argv[1], "create") == 0) {
        rc = fedictl_accounts_create(db, argc - 2, argv + 2);

    } else if (argc >= 2 && strcmp(argv[1], "modify") == 0) {
        rc = fedictl_accounts_modify(db, argc - 2, argv + 2);

    } else {
        fedictl_usage(stderr);
        rc = 2;
    }

    PQfinish(db);

    return rc;
}
