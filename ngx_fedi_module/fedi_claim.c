/*
 * Copyright (C) ngx_fedi authors
 *
 * Claiming background work into a worker's slots (fedi_claim.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "fedi.h"
#include "fedi_claim.h"


static void fedi_claimed(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc);


void
fedi_claim(fedi_claim_t *cl)
{
    ngx_uint_t  n;

    if (cl->claiming) {
        cl->again = 1;
        return;
    }

    n = cl->free();

    if (n == 0) {
        cl->again = 1;          /* a slot freed claims again */
        return;
    }

    cl->asked = n;
    ngx_sprintf((u_char *) cl->nfree, "%ui%Z", n);

    ngx_memzero(&cl->op, sizeof(fedi_pg_op_t));
    cl->op.stmt = cl->stmt;
    cl->op.nparams = cl->extra ? 3 : 2;
    cl->op.values[0] = cl->nfree;
    cl->op.values[1] = cl->lease;
    cl->op.values[2] = cl->extra;
    cl->op.handler = fedi_claimed;
    cl->op.data = cl;
    cl->op.log = ngx_cycle->log;

    cl->claiming = 1;
    cl->again = 0;

    fedi_pg_exec(fedi_db(), &cl->op);
}


static void
fedi_claimed(fedi_pg_op_t *op, PGresult *res, ngx_int_t rc)
{
    int            row, n;
    fedi_claim_t  *cl = op->data;

    cl->claiming = 0;

    if (rc != NGX_OK || res == NULL
        || PQresultStatus(res) != PGRES_TUPLES_OK)
    {
        if (res) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "fedi: claiming %s failed: %s", cl->what,
                          PQresultErrorMessage(res));
        }

        return;
    }

    n = PQntuples(res);

    /* never more rows than were asked for, so a slot is free for each */
    for (row = 0; row < n && cl->free() > 0; row++) {
        cl->start(res, row);
    }

    /* woken meanwhile, or a full batch that may have left more */
    if (cl->again || (n > 0 && (ngx_uint_t) n >= cl->asked)) {
        fedi_claim(cl);
    }
}
