/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl db: the schema.  Migrations are sql/NNNN_name.sql, applied in
 * order, each in one transaction with its row in schema_migrations
 * (version = NNNN, as tools/pg.sh records it before fedictl is built).
 * A migration therefore must not contain BEGIN/COMMIT of its own.
 * `db check` prepares every statement of the module's table
 * (fedi_sql_table.h) against the schema, so a statement that no longer
 * matches the schema fails the tests rather than a request.
 */


#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "fedi_sql.h"
#include "fedi_crypto.h"
#include "fedictl.h"


/* the pg_advisory_lock key: two migrators never run at once */
#define FEDICTL_DB_LOCK         "7426001"
#define FEDICTL_DB_MAX          1000
#define FEDICTL_DB_VERSION_LEN  4


typedef struct {
    char  *file[FEDICTL_DB_MAX];            /* sorted NNNN_name.sql */
    int    n;
} fedictl_db_files_t;


static int fedictl_db_files(fedictl_db_files_t *files);
static int fedictl_db_file_cmp(const void *a, const void *b);
static void fedictl_db_files_free(fedictl_db_files_t *files);
static void fedictl_db_version(const char *file, char *version);
static int fedictl_db_applied(PGconn *db, const char *version, char *when,
    size_t size);
static int fedictl_db_apply(PGconn *db, const char *file, const char *version);
static char *fedictl_db_read(const char *path);
static int fedictl_db_exec(PGconn *db, const char *sql);
static void fedictl_db_diag(const char *text);
static int fedictl_db_instance_key(PGconn *db);


int
fedictl_db_migrate(PGconn *db, int argc, char **argv)
{
    int                 i, rc, applied;
    char                version[FEDICTL_DB_VERSION_LEN + 1];
    fedictl_db_files_t  files;

    if (fedictl_db_files(&files) != 0) {
        return FEDICTL_FAILED;
    }

    /*
     * The lock comes first: CREATE TABLE IF NOT EXISTS itself races with
     * a concurrent one (a unique violation in pg_type).
     */

    if (fedictl_db_exec(db, "SELECT pg_advisory_lock(" FEDICTL_DB_LOCK ")")
        != 0
        || fedictl_db_exec(db,
               "CREATE TABLE IF NOT EXISTS schema_migrations ("
               " version text PRIMARY KEY,"
               " applied_at timestamptz NOT NULL DEFAULT now())")
           != 0)
    {
        fedictl_db_files_free(&files);
        return FEDICTL_FAILED;
    }

    rc = FEDICTL_OK;
    applied = 0;

    for (i = 0; i < files.n; i++) {
        fedictl_db_version(files.file[i], version);

        switch (fedictl_db_applied(db, version, NULL, 0)) {

        case 0:
            break;

        case 1:
            continue;

        default:
            rc = FEDICTL_FAILED;
            goto done;
        }

        if (fedictl_db_apply(db, files.file[i], version) != 0) {
            rc = FEDICTL_FAILED;
            goto done;
        }

        printf("applied  %s\n", files.file[i]);
        fflush(stdout);
        applied++;
    }

    if (applied == 0) {
        printf("the schema is up to date (%d migrations)\n", files.n);
    }

    if (fedictl_db_instance_key(db) != 0) {
        rc = FEDICTL_FAILED;
    }

done:

    (void) fedictl_db_exec(db,
                           "SELECT pg_advisory_unlock(" FEDICTL_DB_LOCK ")");
    fedictl_db_files_free(&files);

    return rc;
}


int
fedictl_db_status(PGconn *db, int argc, char **argv)
{
    int                 i, rc, pending, have_table;
    char                version[FEDICTL_DB_VERSION_LEN + 1], when[64];
    PGresult           *res;
    fedictl_db_files_t  files;

    if (fedictl_db_files(&files) != 0) {
        return FEDICTL_FAILED;
    }

    /* status only reads: no schema_migrations yet means all pending */

    res = PQexec(db, "SELECT to_regclass('schema_migrations') IS NOT NULL");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        fedictl_db_files_free(&files);
        return FEDICTL_FAILED;
    }

    have_table = (strcmp(PQgetvalue(res, 0, 0), "t") == 0);
    PQclear(res);

    rc = FEDICTL_OK;
    pending = 0;

    for (i = 0; i < files.n; i++) {
        fedictl_db_version(files.file[i], version);

        switch (have_table
                ? fedictl_db_applied(db, version, when, sizeof(when)) : 0)
        {
        case 0:
            printf("pending  %s\n", files.file[i]);
            pending++;
            break;

        case 1:
            printf("applied  %s  %s\n", files.file[i], when);
            break;

        default:
            rc = FEDICTL_FAILED;
            goto done;
        }
    }

    printf("%d applied, %d pending\n", files.n - pending, pending);

    if (pending) {
        rc = FEDICTL_FAILED;
    }

done:

    fedictl_db_files_free(&files);

    return rc;
}


/* TAP, so that prove can run it and a failure names the statement */

int
fedictl_db_check(PGconn *db, int argc, char **argv)
{
    int                     i, failed, nparams;
    char                    name[32], sql[64], diag[128];
    PGresult               *res;
    const fedi_sql_stmt_t  *st;

    failed = 0;

    printf("1..%d\n", FEDI_SQL_N);

    for (i = 0; i < FEDI_SQL_N; i++) {
        st = &fedi_sql_stmts[i];

        /* short and lower case: DEALLOCATE takes an SQL identifier */
        snprintf(name, sizeof(name), "fedictl_check_%d", i);

        res = PQprepare(db, name, st->sql, st->nparams, NULL);

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            printf("not ok %d - %s\n", i + 1, st->name);
            fedictl_db_diag(PQresultErrorMessage(res));
            PQclear(res);
            failed++;
            continue;
        }

        PQclear(res);

        /*
         * Without parameter types PostgreSQL counts the parameters from
         * the text; the module binds the table's count, and a difference
         * fails every execution.
         */

        res = PQdescribePrepared(db, name);

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            printf("not ok %d - %s\n", i + 1, st->name);
            fedictl_db_diag(PQresultErrorMessage(res));
            failed++;

        } else if ((nparams = PQnparams(res)) != st->nparams) {
            printf("not ok %d - %s\n", i + 1, st->name);
            snprintf(diag, sizeof(diag), "the table says %d parameters,"
                     " the statement uses %d", st->nparams, nparams);
            fedictl_db_diag(diag);
            failed++;

        } else {
            printf("ok %d - %s\n", i + 1, st->name);
        }

        PQclear(res);

        snprintf(sql, sizeof(sql), "DEALLOCATE %s", name);

        if (fedictl_db_exec(db, sql) != 0) {
            return FEDICTL_FAILED;
        }
    }

    if (failed) {
        printf("# %d of %d statements do not prepare against the schema\n",
               failed, FEDI_SQL_N);
        return FEDICTL_FAILED;
    }

    return FEDICTL_OK;
}


static int
fedictl_db_files(fedictl_db_files_t *files)
{
    DIR            *dir;
    size_t          len;
    struct dirent  *e;

    files->n = 0;

    dir = opendir(fedictl_sql_dir);
    if (dir == NULL) {
        fprintf(stderr, "fedictl: the migrations' directory %s: %s\n",
                fedictl_sql_dir, strerror(errno));
        return -1;
    }

    while ((e = readdir(dir)) != NULL) {
        len = strlen(e->d_name);

        if (len <= FEDICTL_DB_VERSION_LEN + 5
            || strspn(e->d_name, "0123456789") != FEDICTL_DB_VERSION_LEN
            || e->d_name[FEDICTL_DB_VERSION_LEN] != '_'
            || strcmp(e->d_name + len - 4, ".sql") != 0)
        {
            continue;
        }

        if (files->n == FEDICTL_DB_MAX) {
            fprintf(stderr, "fedictl: more than %d migrations in %s\n",
                    FEDICTL_DB_MAX, fedictl_sql_dir);
            closedir(dir);
            fedictl_db_files_free(files);
            return -1;
        }

        files->file[files->n] = strdup(e->d_name);
        if (files->file[files->n] == NULL) {
            fprintf(stderr, "fedictl: out of memory\n");
            closedir(dir);
            fedictl_db_files_free(files);
            return -1;
        }

        files->n++;
    }

    closedir(dir);

    qsort(files->file, files->n, sizeof(char *), fedictl_db_file_cmp);

    return 0;
}


static int
fedictl_db_file_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static void
fedictl_db_files_free(fedictl_db_files_t *files)
{
    while (files->n) {
        free(files->file[--files->n]);
    }
}


static void
fedictl_db_version(const char *file, char *version)
{
    memcpy(version, file, FEDICTL_DB_VERSION_LEN);
    version[FEDICTL_DB_VERSION_LEN] = '\0';
}


/* 1 applied (its time in "when" if given), 0 not, -1 error */

static int
fedictl_db_applied(PGconn *db, const char *version, char *when, size_t size)
{
    int          rc;
    PGresult    *res;
    const char  *values[1];

    values[0] = version;

    res = PQexecParams(db, "SELECT applied_at FROM schema_migrations"
                       " WHERE version = $1", 1, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    rc = PQntuples(res) ? 1 : 0;

    if (rc && when) {
        snprintf(when, size, "%s", PQgetvalue(res, 0, 0));
    }

    PQclear(res);

    return rc;
}


/* the file and its row in schema_migrations: both or neither */

static int
fedictl_db_apply(PGconn *db, const char *file, const char *version)
{
    char            path[PATH_MAX], *sql;
    PGresult       *res;
    const char     *values[1];
    ExecStatusType  st;

    snprintf(path, sizeof(path), "%s/%s", fedictl_sql_dir, file);

    sql = fedictl_db_read(path);
    if (sql == NULL) {
        return -1;
    }

    if (fedictl_db_exec(db, "BEGIN") != 0) {
        free(sql);
        return -1;
    }

    res = PQexec(db, sql);
    free(sql);

    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK
        && st != PGRES_EMPTY_QUERY)
    {
        fprintf(stderr, "fedictl: %s failed, nothing of it applied:\n%s",
                file, PQresultErrorMessage(res));
        PQclear(res);
        (void) fedictl_db_exec(db, "ROLLBACK");
        return -1;
    }

    PQclear(res);

    values[0] = version;

    res = PQexecParams(db, "INSERT INTO schema_migrations (version)"
                       " VALUES ($1)", 1, NULL, values, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "fedictl: %s: recording it failed: %s", file,
                PQresultErrorMessage(res));
        PQclear(res);
        (void) fedictl_db_exec(db, "ROLLBACK");
        return -1;
    }

    PQclear(res);

    if (fedictl_db_exec(db, "COMMIT") != 0) {
        return -1;
    }

    return 0;
}


static char *
fedictl_db_read(const char *path)
{
    long   n;
    char  *buf;
    FILE  *f;

    f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "fedictl: %s: %s\n", path, strerror(errno));
        return NULL;
    }

    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
        fprintf(stderr, "fedictl: %s: %s\n", path, strerror(errno));
        fclose(f);
        return NULL;
    }

    rewind(f);

    buf = malloc(n + 1);

    if (buf == NULL || fread(buf, 1, n, f) != (size_t) n) {
        fprintf(stderr, "fedictl: %s: cannot read it\n", path);
        fclose(f);
        free(buf);
        return NULL;
    }

    buf[n] = '\0';
    fclose(f);

    return buf;
}


static int
fedictl_db_exec(PGconn *db, const char *sql)
{
    PGresult        *res;
    ExecStatusType   st;

    res = PQexec(db, sql);
    st = PQresultStatus(res);

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "fedictl: %s: %s", sql, PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    PQclear(res);

    return 0;
}


/* a PostgreSQL message spans lines (LINE 1: ..., the caret): each a comment */

static void
fedictl_db_diag(const char *text)
{
    size_t  len;

    while (*text) {
        len = strcspn(text, "\n");
        printf("# %.*s\n", (int) len, text);
        text += len;

        if (*text == '\n') {
            text++;
        }
    }
}


/* the instance actor's key pair, made once (under the migration lock) */
static int
fedictl_db_instance_key(PGconn *db)
{
    int          rc;
    char        *priv, *pub;
    PGresult    *res;
    const char  *v[2];

    res = PQexec(db, "SELECT to_regclass('instance_actor') IS NOT NULL"
                     " AND NOT EXISTS (SELECT 1 FROM instance_actor)");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    rc = strcmp(PQgetvalue(res, 0, 0), "t");
    PQclear(res);

    if (rc != 0) {
        return 0;
    }

    if (fedi_rsa_generate(&priv, &pub) != 0) {
        fprintf(stderr, "fedictl: making the instance actor's keys failed\n");
        return -1;
    }

    v[0] = priv;
    v[1] = pub;

    res = PQexecParams(db, "INSERT INTO instance_actor (private_key,"
                       " public_key) VALUES ($1, $2)", 2, NULL, v, NULL,
                       NULL, 0);
    free(priv);
    free(pub);

    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "fedictl: %s", PQresultErrorMessage(res));
        PQclear(res);
        return -1;
    }

    PQclear(res);
    printf("made     the instance actor's key pair\n");

    return 0;
}
