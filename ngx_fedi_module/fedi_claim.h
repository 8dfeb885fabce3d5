/*
 * Copyright (C) ngx_fedi authors
 *
 * Claiming background work from PostgreSQL into a worker's slots: a
 * statement ($1 how many, $2 the lease, $3 an extra parameter or none)
 * that takes rows FOR UPDATE SKIP LOCKED with a lease, so each goes to
 * one worker of one node; one claim at a time per kind of work, asked
 * again when woken meanwhile or when a full batch may have left more.
 * Used by the remote media cache and the inbox's background fetcher.
 */

#ifndef _FEDI_CLAIM_H_INCLUDED_
#define _FEDI_CLAIM_H_INCLUDED_


#include "fedi.h"


typedef struct fedi_claim_s  fedi_claim_t;

/* the slots free now */
typedef ngx_uint_t (*fedi_claim_free_pt)(void);

/* a claimed row into a free slot */
typedef void (*fedi_claim_start_pt)(PGresult *res, int row);


struct fedi_claim_s {
    /* set by the owner */
    fedi_sql_id_e        stmt;
    const char          *what;          /* for the log */
    const char          *lease;         /* seconds */
    const char          *extra;         /* $3, or NULL */
    fedi_claim_free_pt   free;
    fedi_claim_start_pt  start;

    /* private */
    fedi_pg_op_t         op;
    ngx_uint_t           asked;
    char                 nfree[NGX_INT_T_LEN + 1];
    unsigned             claiming:1;
    unsigned             again:1;
};


/* as many rows as slots are free (none: once one is freed and this is
 * called again) */
void fedi_claim(fedi_claim_t *cl);


#endif /* _FEDI_CLAIM_H_INCLUDED_ */
