/*
 * Copyright (C) ngx_fedi authors
 *
 * Mastodon's API rate limit: N requests per 5 minutes per token (per
 * address without one), shared by all workers through a small shared
 * memory zone of fixed slots.  A slot is a key digest, a window and a
 * count; a collision restarts the window of the newcomer, which can only
 * make the limit more lenient, never stricter.  Answers carry
 * X-RateLimit-Limit, -Remaining and -Reset; over the limit is 429.
 * Media uploads have a limit of their own too, per account.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"


#define FEDI_RL_SLOTS    16384
#define FEDI_RL_WINDOW   300         /* seconds */
#define FEDI_RL_MEDIA_WINDOW  1800   /* seconds, of media uploads */


typedef struct {
    uint64_t        key;
    uint32_t        window;          /* start, seconds since the epoch */
    uint32_t        count;
} fedi_rl_slot_t;


typedef struct {
    fedi_rl_slot_t  slots[FEDI_RL_SLOTS];
} fedi_rl_shm_t;


static ngx_int_t fedi_ratelimit_init_zone(ngx_shm_zone_t *zone, void *data);
static void fedi_rl_count(u_char *src, size_t len, uint32_t period,
    uint32_t *count, uint32_t *window);
static void fedi_rl_headers(fedi_req_t *rq, uint32_t limit, uint32_t count,
    uint32_t reset);


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
    u_char              *src;
    size_t               len;
    uint32_t             window, count, limit;
    ngx_http_request_t  *r;

    limit = (uint32_t) rq->mcf->rate_limit;

    if (limit == 0 || fedi_rl_zone == NULL || fedi_rl_zone->data == NULL) {
        return NGX_OK;
    }

    r = rq->r;

    /* the token digest, or the client address */
    if (rq->token) {
        src = (u_char *) rq->token->digest;
        len = ngx_strlen(rq->token->digest);

    } else {
        src = r->connection->addr_text.data;
        len = r->connection->addr_text.len;
    }

    fedi_rl_count(src, len, FEDI_RL_WINDOW, &count, &window);
    fedi_rl_headers(rq, limit, count, window + FEDI_RL_WINDOW);

    return count > limit ? NGX_DECLINED : NGX_OK;
}


/*
 * Mastodon's throttle_media: POST /api/v1|v2/media, N per 30 minutes per
 * account.  Over it, NGX_DECLINED, and the X-RateLimit headers are this
 * limit's (as Rack::Attack's throttled responder says) instead of the
 * API's.
 */
ngx_int_t
fedi_ratelimit_media(fedi_req_t *rq)
{
    u_char            key[NGX_INT64_LEN + sizeof("media:")], *p;
    uint32_t          window, count, limit;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    limit = (uint32_t) rq->mcf->media_rate_limit;

    if (limit == 0 || rq->token == NULL || fedi_rl_zone == NULL
        || fedi_rl_zone->data == NULL)
    {
        return NGX_OK;
    }

    p = ngx_sprintf(key, "media:%s", rq->token->account_id);

    fedi_rl_count(key, p - key, FEDI_RL_MEDIA_WINDOW, &count, &window);

    if (count <= limit) {
        return NGX_OK;
    }

    /* the API limit's headers are hidden, this one's said */
    part = &rq->r->headers_out.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len > sizeof("X-RateLimit-") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "X-RateLimit-",
                               sizeof("X-RateLimit-") - 1) == 0)
        {
            h[i].hash = 0;
        }
    }

    fedi_rl_headers(rq, limit, count, window + FEDI_RL_MEDIA_WINDOW);

    return NGX_DECLINED;
}


/* a hit on the slot of key (FNV-1a) in a window of period seconds */
static void
fedi_rl_count(u_char *src, size_t len, uint32_t period, uint32_t *count,
    uint32_t *window)
{
    uint64_t          key;
    uint32_t          now;
    ngx_uint_t        i;
    fedi_rl_shm_t    *sh;
    fedi_rl_slot_t   *s;
    ngx_slab_pool_t  *shpool;

    sh = fedi_rl_zone->data;
    shpool = (ngx_slab_pool_t *) fedi_rl_zone->shm.addr;

    key = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        key = (key ^ src[i]) * 1099511628211ULL;
    }

    key |= 1;   /* never 0, the empty slot */

    now = (uint32_t) ngx_time();
    s = &sh->slots[key % FEDI_RL_SLOTS];

    ngx_shmtx_lock(&shpool->mutex);

    if (s->key != key || now - s->window >= period) {
        s->key = key;
        s->window = now - now % period;
        s->count = 0;
    }

    *count = ++s->count;
    *window = s->window;

    ngx_shmtx_unlock(&shpool->mutex);
}


/* X-RateLimit-Limit, -Remaining and -Reset (a time, ISO 8601) */
static void
fedi_rl_headers(fedi_req_t *rq, uint32_t limit, uint32_t count,
    uint32_t reset)
{
    u_char     *p;
    ngx_tm_t    tm;
    ngx_str_t   v;

    p = ngx_pnalloc(rq->r->pool,
                    2 * NGX_INT_T_LEN + sizeof("2000-01-01T00:00:00.000Z"));
    if (p == NULL) {
        return;
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
    ngx_gmtime(reset, &tm);
    v.len = ngx_sprintf(p, "%4d-%02d-%02dT%02d:%02d:%02d.000Z",
                        tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                        tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec)
            - p;
    (void) fedi_add_header(rq, "X-RateLimit-Reset", &v);
}
