/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl: the operator's tool, in the spirit of Mastodon's tootctl.
 * fedictl.c finds the database and dispatches; one file per command group.
 */

#ifndef _FEDICTL_H_INCLUDED_
#define _FEDICTL_H_INCLUDED_


#include <libpq-fe.h>


/* exit codes */
#define FEDICTL_OK       0
#define FEDICTL_FAILED   1
#define FEDICTL_USAGE    2


/* the migrations' directory: --sql DIR, else sql/ of the checkout */
extern const char  *fedictl_sql_dir;


int fedictl_db_migrate(PGconn *db, int argc, char **argv);
int fedictl_db_status(PGconn *db, int argc, char **argv);
int fedictl_db_check(PGconn *db, int argc, char **argv);

int fedictl_accounts_create(PGconn *db, int argc, char **argv);
int fedictl_accounts_modify(PGconn *db, int argc, char **argv);
int fedictl_settings(PGconn *db, int argc, char **argv);
int fedictl_accounts_alias(PGconn *db, int argc, char **argv);
int fedictl_accounts_move(PGconn *db, int argc, char **argv);
int fedictl_accounts_rotate_key(PGconn *db, int argc, char **argv);

int fedictl_domains_block(PGconn *db, int argc, char **argv);
int fedictl_domains_unblock(PGconn *db, int argc, char **argv);
int fedictl_domains_list(PGconn *db, int argc, char **argv);
int fedictl_domain_valid(char **d);

int fedictl_deliveries_status(PGconn *db, int argc, char **argv);
int fedictl_deliveries_retry(PGconn *db, int argc, char **argv);

int fedictl_media_remove(PGconn *db, int argc, char **argv);

int fedictl_reports_list(PGconn *db, int argc, char **argv);
int fedictl_reports_show(PGconn *db, int argc, char **argv);
int fedictl_reports_resolve(PGconn *db, int argc, char **argv);
int fedictl_emoji_add(PGconn *db, int argc, char **argv);
int fedictl_emoji_remove(PGconn *db, int argc, char **argv);
int fedictl_emoji_list(PGconn *db, int argc, char **argv);
int fedictl_announcements_add(PGconn *db, int argc, char **argv);
int fedictl_announcements_remove(PGconn *db, int argc, char **argv);
int fedictl_announcements_list(PGconn *db, int argc, char **argv);

/* --name VALUE and --flag among the arguments; a statement's result, or
 * NULL after printing the error */
const char *fedictl_opt(int argc, char **argv, const char *name);
int fedictl_flag(int argc, char **argv, const char *name);
PGresult *fedictl_exec(PGconn *db, const char *sql, int n,
    const char **values);


#endif /* _FEDICTL_H_INCLUDED_ */
