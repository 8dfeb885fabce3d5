/*
 * Copyright (C) ngx_fedi authors
 *
 * The Account entity: one column list, one serializer, for local and
 * remote accounts alike.  A statement that returns accounts selects
 * FEDI_ACCOUNT_COLS (FEDI_ACCOUNT_NCOLS columns) from "accounts a" and
 * hands the first column's index to fedi_account_render().
 */

#ifndef _FEDI_ACCOUNT_H_INCLUDED_
#define _FEDI_ACCOUNT_H_INCLUDED_


#include "fedi_sql_cols.h"


void fedi_account_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);

/* the fields of an Account, without the enclosing braces */
void fedi_account_fields(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);

/* "user" or "user@domain" */
void fedi_account_acct(fedi_json_t *j, PGresult *res, int row, int col);

/* avatar/header URL: the stored file, the remote URL or the default */
void fedi_account_media_url(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file, const char *remote, const char *missing);

/* a Relationship from the columns of FEDI_SQL_RELATIONSHIPS */
void fedi_accounts_loaded(fedi_req_t *rq, PGresult *res);
void fedi_relationship_render(fedi_json_t *j, PGresult *res, int row,
    int col);


#endif /* _FEDI_ACCOUNT_H_INCLUDED_ */
