/*
 * Copyright (C) ngx_fedi authors
 *
 * Every SQL statement of the module, one table.  Pure C: fedictl links it
 * too, to prepare every statement against the schema (`fedictl db check`),
 * so a typo fails the build's tests rather than a request.
 */

#ifndef _FEDI_SQL_H_INCLUDED_
#define _FEDI_SQL_H_INCLUDED_


typedef struct {
    const char  *name;      /* prepared statement name */
    const char  *sql;
    int          nparams;
} fedi_sql_stmt_t;


typedef enum {
#define FEDI_SQL(id, nparams, sql)  FEDI_SQL_##id,
#include "fedi_sql_table.h"
#undef FEDI_SQL
    FEDI_SQL_N
} fedi_sql_id_e;


extern const fedi_sql_stmt_t  fedi_sql_stmts[FEDI_SQL_N];


#endif /* _FEDI_SQL_H_INCLUDED_ */
