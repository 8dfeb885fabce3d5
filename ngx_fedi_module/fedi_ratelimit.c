/*
 * Copyright (C) ngx_fedi authors
 *
 * Mastodon's API rate limit: N requests per 5 minutes per token (per
 * address without one), shared by all workers through a small shared
 * memory zone of fixed slots.  A slot is a key digest, a window and a
 * count; a collision restarts the window of the newcomer, which can only
 * make the limit more lenient, never stricter.  Answers carry
 * X-RateLimit-Limit, -Remaining and -Reset; over the limit is 429.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


#define FEDI_RL_SLOTS    16384
#define FEDI_RL_WINDOW   300         /* seconds */


typedef struct {
    uint64_t        key;
    uint32_t        window;          /* start, seconds since the epoch */
    uint32_t        count;
} fedi_rl_slot_t;


typedef struct {
    fedi_rl_slot_t  slots[FEDI_RL_SLOTS];
} fedi_rl_shm_t;


static ngx_int_t fedi_ratelimit_init_zone(ngx_shm_zone_t *zone, void *data);


static ngx_shm_zone_t  *fedi_rl_zone;


ngx_int_t
fedi_ratelimit_conf(ngx_conf_t *cf)
{
    ngx_str_t  name = ngx_string("fedi_ratelimit");

    /* the slots plus the slab pool's own pages */
    fedi_rl_zone = ngx_shared_memory_add(cf, &name,
                                         ngx_align(sizeof(fedi_rl_shm_t),
                                                   ngx_pagesize)
                                         + 16 * ngx_pagesize,
                                         &ngx_http_fedi_module);
    if (fedi_rl_zone == NULL) {
        return NGX_ERROR;
    }

    fedi_rl_zone->init = fedi_ratelimit_init_zone;

    return NGX_OK;
}


static ngx_int_t
fedi_ratelimit_init_zone(ngx_shm_zone_t *zone, void *data)
{
    fedi_rl_shm_t    *sh;
    ngx_slab_pool_t  *shpool;

    if (data) {
        /* a reload keeps the counts */
        zone->data = data;
        return NGX_OK;
    }

    /* nginx keeps a slab pool at the start of every zone: use it */
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(fedi_rl_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    zone->data = sh;

    return NGX_OK;
}


/*
 * Counts this request; adds the headers.  NGX_OK, or NGX_DECLINED when
 * over the limit (the caller answers 429).
 */
ngx_int_t
fedi_ratelimit(fedi_req_t *rq)
{
    u_char               *p, *src;
    size_t                len;
    uint64_t              key;
    uint32_t              now, window, count, limit;
    ngx_uint_t            i;
    ngx_str_t             v;
    fedi_rl_shm_t        *sh;
    fedi_rl_slot_t       *s;
    ngx_slab_pool_t      *shpool;
    ngx_http_request_t   *r;

    limit = (uint32_t) rq->mcf->rate_limit;

    if (limit == 0 || fedi_rl_zone == NULL || fedi_rl_zone->data == NULL) {
        return NGX_OK;
    }

    sh = fedi_rl_zone->data;
    shpool = (ngx_slab_pool_t *) fedi_rl_zone->shm.addr;
    r = rq->r;

    /* FNV-1a of the token digest, or of the client address */
    if (rq->token) {
        src = (u_char *) rq->token->digest;
        len = ngx_strlen(rq->token->digest);

    } else {
        src = r->connection->addr_text.data;
        len = r->connection->addr_text.len;
    }

    key = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        key = (key ^ src[i]) * 1099511628211ULL;
    }

    key |= 1;   /* never 0, the empty slot */

    now = (uint32_t) ngx_time();
    s = &sh->slots[key % FEDI_RL_SLOTS];

    ngx_shmtx_lock(&shpool->mutex);

    if (s->key != key || now - s->window >= FEDI_RL_WINDOW) {
        s->key = key;
        s->window = now - now % FEDI_RL_WINDOW;
        s->count = 0;
    }

    count = ++s->count;
    window = s->window;

    ngx_shmtx_unlock(&shpool->mutex);

    p = ngx_pnalloc(r->pool, 2 * NGX_INT_T_LEN + sizeof("2000-01-01T00:00:00.000Z"));
    if (p == NULL) {
        return NGX_OK;
    }

    v.data = p;
    v.len = ngx_sprintf(p, "%uD", limit) - p;
    (void) fedi_add_header(rq, "X-RateLimit-Limit", &v);

    p += v.len;
    v.data = p;
    v.len = ngx_sprintf(p, "%uD", count > limit ? 0 : limit - count) - p;
    (void) fedi_add_header(rq, "X-RateLimit-Remaining", &v);

    p += v.len;
    v.data = p;
    {
        ngx_tm_t  tm;

        ngx_gmtime(window + FEDI_RL_WINDOW, &tm);
        v.len = ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02d.000Z",
                            tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                            tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec)
                - p;
    }
    (void) fedi_add_header(rq, "X-RateLimit-Reset", &v);

    return count > limit ? NGX_DECLINED : NGX_OK;
}
