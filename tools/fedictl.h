/*
 * Copyright (C) ngx_fedi authors
 *
 * fedictl: the operator's tool, in the spirit of Mastodon's tootctl.
 */

#ifndef _FEDICTL_H_INCLUDED_
#define _FEDICTL_H_INCLUDED_


#include <libpq-fe.h>


int fedictl_accounts_create(PGconn *db, int argc, char **argv);
int fedictl_accounts_modify(PGconn *db, int argc, char **argv);
int fedictl_settings(PGconn *db, int argc, char **argv);


#endif /* _FEDICTL_H_INCLUDED_ */
