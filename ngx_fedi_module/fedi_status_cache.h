/*
 * Copyright (C) ngx_fedi authors
 *
 * The rendered-status cache (fedi_status_cache.c).
 */

#ifndef _FEDI_STATUS_CACHE_H_INCLUDED_
#define _FEDI_STATUS_CACHE_H_INCLUDED_


ngx_int_t fedi_status_cache_init(ngx_cycle_t *cycle, size_t max);
ngx_uint_t fedi_status_cache_on(fedi_req_t *rq);

/* the callback of a timeline's light statement; rq->data its page */
void fedi_status_cache_loaded(fedi_req_t *rq, PGresult *res);

/* the light statement, or its _LIGHT_BY_ID twin for a viewer whose
 * marks filled their ranges lately */
fedi_sql_id_e fedi_status_cache_stmt(fedi_req_t *rq, fedi_sql_id_e light);

/* a timeline: its light statement when the cache serves the request */
#define fedi_timeline_stmt(rq, pg, id)                                       \
    (fedi_status_cache_on(rq)                                                \
     ? fedi_status_cache_stmt(rq, fedi_page_stmt(pg, id##_LIGHT))            \
     : fedi_page_stmt(pg, id))

#define fedi_timeline_done(rq, full)                                         \
    (fedi_status_cache_on(rq) ? fedi_status_cache_loaded : (full))


#endif /* _FEDI_STATUS_CACHE_H_INCLUDED_ */
