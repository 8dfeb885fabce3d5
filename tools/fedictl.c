/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl: the operator's tool.  Run from the checkout it talks to the
 * embedded instance (var/, or FEDI_VAR); --db CONNINFO or FEDI_DB points
 * it elsewhere.  Blocking libpq is fine here: this is not nginx.
 *
 * This file finds the database and dispatches a command (a row of
 * fedictl_commands) to its group's file: fedictl_db.c, fedictl_accounts.c.
 * Exit codes: 0 done, 1 failed, 2 usage.
 */


#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "fedictl.h"


typedef int (*fedictl_handler_pt)(PGconn *db, int argc, char **argv);

typedef struct {
    const char          *group;
    const char          *command;   /* NULL: the group takes the arguments */
    int                  args;      /* the most that may follow; -1: any */
    fedictl_handler_pt   handler;
} fedictl_command_t;


static void fedictl_usage(FILE *f);
static const fedictl_command_t *fedictl_command(int argc, char **argv);
static char *fedictl_top(void);
static int fedictl_embedded(const char *top, char *conninfo, size_t size);
static PGconn *fedictl_connect(const char *conninfo, int embedded);


static const fedictl_command_t  fedictl_commands[] = {
    { "db", "migrate", 0, fedictl_db_migrate },
    { "db", "status", 0, fedictl_db_status },
    { "db", "check", 0, fedictl_db_check },
    { "accounts", "create", -1, fedictl_accounts_create },
    { "accounts", "modify", -1, fedictl_accounts_modify },
    { "accounts", "alias", -1, fedictl_accounts_alias },
    { "accounts", "move", -1, fedictl_accounts_move },
    { "accounts", "rotate-key", 1, fedictl_accounts_rotate_key },
    { "settings", NULL, -1, fedictl_settings },
    { "domains", "block", -1, fedictl_domains_block },
    { "domains", "unblock", 1, fedictl_domains_unblock },
    { "domains", "list", 0, fedictl_domains_list },
    { "media", "remove", -1, fedictl_media_remove },
    { "deliveries", "status", 0, fedictl_deliveries_status },
    { "deliveries", "retry", 1, fedictl_deliveries_retry },
    { "reports", "list", 1, fedictl_reports_list },
    { "reports", "show", 1, fedictl_reports_show },
    { "reports", "resolve", 1, fedictl_reports_resolve },
    { "emoji", "add", -1, fedictl_emoji_add },
    { "emoji", "remove", -1, fedictl_emoji_remove },
    { "emoji", "list", 0, fedictl_emoji_list },
    { "announcements", "add", -1, fedictl_announcements_add },
    { "announcements", "remove", 1, fedictl_announcements_remove },
    { "announcements", "list", 0, fedictl_announcements_list },
    { NULL, NULL, 0, NULL }
};


const char  *fedictl_sql_dir;


int
main(int argc, char **argv)
{
    int                       rc, embedded;
    char                     *top, conninfo[PATH_MAX + 128];
    char                      sql_dir[PATH_MAX];
    PGconn                   *db;
    const char               *db_opt, *sql_opt;
    const fedictl_command_t  *cmd;

    db_opt = NULL;
    sql_opt = NULL;

    argv++;
    argc--;

    while (argc > 0 && argv[0][0] == '-') {

        if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
            fedictl_usage(stdout);
            return FEDICTL_OK;
        }

        if (strcmp(argv[0], "--db") != 0 && strcmp(argv[0], "--sql") != 0) {
            fprintf(stderr, "fedictl: unknown option %s;"
                    " see fedictl help\n", argv[0]);
            return FEDICTL_USAGE;
        }

        if (argc < 2) {
            fprintf(stderr, "fedictl: %s needs a value\n", argv[0]);
            return FEDICTL_USAGE;
        }

        if (strcmp(argv[0], "--db") == 0) {
            db_opt = argv[1];

        } else {
            sql_opt = argv[1];
        }

        argv += 2;
        argc -= 2;
    }

    if (argc == 0) {
        fedictl_usage(stderr);
        return FEDICTL_USAGE;
    }

    if (strcmp(argv[0], "help") == 0) {
        fedictl_usage(stdout);
        return FEDICTL_OK;
    }

    cmd = fedictl_command(argc, argv);
    if (cmd == NULL) {
        return FEDICTL_USAGE;
    }

    top = fedictl_top();

    if (sql_opt == NULL && top == NULL) {
        fprintf(stderr, "fedictl: cannot find the checkout; use --sql\n");
        return FEDICTL_FAILED;
    }

    snprintf(sql_dir, sizeof(sql_dir), "%s%s", sql_opt ? sql_opt : top,
             sql_opt ? "" : "/sql");
    fedictl_sql_dir = sql_dir;

    embedded = 0;

    if (db_opt == NULL) {
        db_opt = getenv("FEDI_DB");
    }

    if (db_opt == NULL) {
        if (fedictl_embedded(top, conninfo, sizeof(conninfo)) != 0) {
            free(top);
            return FEDICTL_FAILED;
        }

        db_opt = conninfo;
        embedded = 1;
    }

    free(top);

    db = fedictl_connect(db_opt, embedded);
    if (db == NULL) {
        return FEDICTL_FAILED;
    }

    argc -= cmd->command ? 2 : 1;
    argv += cmd->command ? 2 : 1;

    rc = cmd->handler(db, argc, argv);

    PQfinish(db);

    return rc;
}


static void
fedictl_usage(FILE *f)
{
    fprintf(f,
        "usage: fedictl [--db CONNINFO] [--sql DIR] COMMAND\n"
        "\n"
        "  db migrate                 apply the pending migrations\n"
        "  db status                  applied and pending migrations\n"
        "                             (exit 1 when some are pending)\n"
        "  db check                   prepare every statement of the module\n"
        "                             against the schema (TAP)\n"
        "  accounts create NAME --email E [--password P] [--confirmed]\n"
        "                  [--approve] [--role Owner|Admin|Moderator]\n"
        "  accounts modify NAME [--confirm] [--approve] [--disable]\n"
        "                  [--enable] [--role R] [--reset-password]\n"
        "                  [--email E]\n"
        "  accounts alias NAME ACCOUNT [--remove]\n"
        "                             ACCOUNT (user@domain, an actor's URL\n"
        "                             or a local name) in NAME's alsoKnownAs\n"
        "  accounts move NAME ACCOUNT NAME moves to ACCOUNT (which names it\n"
        "                             in alsoKnownAs): Move to its followers\n"
        "  accounts rotate-key NAME   a new key pair, its actor's Update sent\n"
        "                  (alias, move: [--resolve H:P:A] [--cacert FILE]\n"
        "                  as curl's, to fetch a remote ACCOUNT)\n"
        "  settings registrations [open|approved|closed]\n"
        "  domains block DOMAIN [--severity suspend|silence|noop]\n"
        "                  [--reject-media] [--reject-reports]\n"
        "                  [--comment PUBLIC] [--private-comment TEXT]\n"
        "  domains unblock DOMAIN\n"
        "  domains list               the blocks, one a line\n"
        "  media remove --root DIR [--days N]\n"
        "               [--s3-endpoint URL --s3-bucket NAME [--s3-region R]]\n"
        "                             uploads never attached, older than\n"
        "                             N days (1), and their files; cached\n"
        "                             remote media older than that back\n"
        "                             to remote URLs (S3 keys from\n"
        "                             FEDI_S3_ACCESS_KEY, _SECRET_KEY)\n"
        "  deliveries status          the outgoing queue: depth, oldest,\n"
        "                             failing and unavailable domains\n"
        "  deliveries retry DOMAIN    send DOMAIN's deliveries now, and\n"
        "                             make it available again\n"
        "  reports list [--all]       open reports (--all: resolved too)\n"
        "  reports show ID            one, with its comment and statuses\n"
        "  reports resolve ID         mark it resolved\n"
        "  emoji add SHORTCODE FILE --root DIR [--category C]\n"
        "                             a custom emoji: a PNG, GIF or WebP\n"
        "                             of 256 KB at most, stored under DIR\n"
        "                             (fedi_media_root; or FEDI_MEDIA_ROOT)\n"
        "  emoji remove SHORTCODE [--root DIR]\n"
        "  emoji list                 the local emojis, one a line\n"
        "  announcements add TEXT [--starts TIME --ends TIME] [--all-day]\n"
        "                             published at once, to every user\n"
        "  announcements remove ID\n"
        "  announcements list         id, published, span, text\n"
        "  help                       this text\n"
        "\n"
        "The database: --db CONNINFO, else FEDI_DB, else the embedded\n"
        "instance of this checkout (FEDI_VAR, default var/): \"host=VAR/pg/run\n"
        "dbname=fedi user=fedi\".  The migrations: --sql DIR, else sql/ of\n"
        "this checkout.  Exit codes: 0 done, 1 failed, 2 usage.\n");
}


static const fedictl_command_t *
fedictl_command(int argc, char **argv)
{
    int                       rest;
    const fedictl_command_t  *cmd;

    for (cmd = fedictl_commands; cmd->group; cmd++) {

        if (strcmp(cmd->group, argv[0]) != 0) {
            continue;
        }

        if (cmd->command
            && (argc < 2 || strcmp(cmd->command, argv[1]) != 0))
        {
            continue;
        }

        rest = argc - (cmd->command ? 2 : 1);

        if (cmd->args >= 0 && rest > cmd->args) {
            fprintf(stderr, "fedictl: %s %s takes no arguments;"
                    " see fedictl help\n", cmd->group, cmd->command);
            return NULL;
        }

        return cmd;
    }

    fprintf(stderr, "fedictl: unknown command %s%s%s; see fedictl help\n",
            argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");

    return NULL;
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

    p = strrchr(buf, '/');                  /* .../build/fedictl */
    if (p == NULL) {
        return NULL;
    }

    *p = '\0';

    p = strrchr(buf, '/');                  /* .../build */
    if (p == NULL) {
        return NULL;
    }

    *p = '\0';

    return strdup(buf[0] ? buf : "/");
}


/*
 * The embedded instance of tools/run.sh: PostgreSQL in VAR/pg, its socket
 * in VAR/pg/run, its port (the socket file's name) in VAR/pg/port.
 */

static int
fedictl_embedded(const char *top, char *conninfo, size_t size)
{
    int          port;
    char         var[PATH_MAX], path[PATH_MAX + 16];
    FILE        *f;
    const char  *env;

    env = getenv("FEDI_VAR");

    if (env == NULL && top == NULL) {
        fprintf(stderr, "fedictl: cannot find the checkout;"
                " use --db, FEDI_DB or FEDI_VAR\n");
        return -1;
    }

    if (env) {
        snprintf(var, sizeof(var), "%s", env);

    } else {
        snprintf(var, sizeof(var), "%s/var", top);
    }

    port = 0;

    snprintf(path, sizeof(path), "%s/pg/port", var);

    f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%d", &port) != 1) {
            port = 0;
        }

        fclose(f);
    }

    if (port > 0) {
        snprintf(conninfo, size, "host=%s/pg/run port=%d dbname=fedi"
                 " user=fedi", var, port);

    } else {
        snprintf(conninfo, size, "host=%s/pg/run dbname=fedi user=fedi", var);
    }

    return 0;
}


static PGconn *
fedictl_connect(const char *conninfo, int embedded)
{
    PGconn  *db;

    db = PQconnectdb(conninfo);

    if (PQstatus(db) != CONNECTION_OK) {
        /* a conninfo given by the operator may carry a password */
        fprintf(stderr, "fedictl: cannot connect to %s: %s",
                embedded ? conninfo : "the database", PQerrorMessage(db));

        if (embedded) {
            fprintf(stderr, "fedictl: is the embedded instance running"
                    " (make run)?  Or give --db CONNINFO.\n");
        }

        PQfinish(db);
        return NULL;
    }

    PQclear(PQexec(db, "SET client_min_messages = warning"));

    return db;
}
