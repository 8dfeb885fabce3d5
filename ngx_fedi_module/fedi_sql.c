/*
 * Copyright (C) ngx_fedi authors
 */


#include "fedi_sql.h"


const fedi_sql_stmt_t  fedi_sql_stmts[FEDI_SQL_N] = {
#define FEDI_SQL(id, nparams, sql)  { #id, sql, nparams },
#include "fedi_sql_table.h"
#undef FEDI_SQL
};
