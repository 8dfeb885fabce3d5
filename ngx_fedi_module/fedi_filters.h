/*
 * Copyright (C) ngx_fedi authors
 *
 * The viewer's filters applied to the statuses rendered for them: the
 * "filtered" FilterResults of a Status, and the statuses a "hide" filter
 * drops where it applies.  Only viewers that have filters pay anything.
 */

#ifndef _FEDI_FILTERS_H_INCLUDED_
#define _FEDI_FILTERS_H_INCLUDED_


/* where statuses are shown: Mastodon's filter contexts */
#define FEDI_FILTER_HOME           0x01
#define FEDI_FILTER_NOTIFICATIONS  0x02
#define FEDI_FILTER_PUBLIC         0x04
#define FEDI_FILTER_THREAD         0x08
#define FEDI_FILTER_ACCOUNT        0x10


typedef struct fedi_filters_s  fedi_filters_t;


/* fedi_auth.c: the handler runs once the viewer's filters are loaded */
ngx_uint_t fedi_filters_wanted(fedi_req_t *rq);
void fedi_filters_load(fedi_req_t *rq);

/* fedi_stream.c: a stream's filters, from a FILTERS_ACTIVE result */
ngx_int_t fedi_filters_replace(fedi_req_t *rq, PGresult *res);
void fedi_filters_context(fedi_req_t *rq, ngx_uint_t context);

/*
 * The status whose columns start at c (FEDI_STATUS_COLS, c the outer
 * block): its "filtered" array, and whether a hide filter of the current
 * context matches it.  Both are cheap no-ops without filters.
 */
void fedi_filters_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c);
ngx_uint_t fedi_filters_hide(fedi_req_t *rq, PGresult *res, int row, int c);


#endif /* _FEDI_FILTERS_H_INCLUDED_ */
