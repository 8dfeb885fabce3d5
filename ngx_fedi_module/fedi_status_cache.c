/*
 * Copyright (C) ngx_fedi authors
 *
 * The rendered-status cache: the part of a Status entity that is the same
 * for every viewer (its text, counts, author, attachments, mentions, tags,
 * emojis; fedi_status_render_fixed()), kept rendered in each worker,
 * keyed by the status id and its version.
 *
 * A timeline first runs its light statement (the _LIGHT twin of its
 * FEDI_SQL_TIMELINE): the same page, visibility and all, but for each
 * status only its id, its version and the viewer's marks (favourited,
 * bookmarked, reblogged, pinned, muted, whether it has a poll).  The
 * polls of the page, if any, come from one STATUS_POLLS query for the
 * viewer.  What the cache holds at that version is used as it is; the
 * rest comes from one STATUS_FILL query by id, is rendered, and enters
 * the cache.  The light statement takes the viewer's marks from the
 * page's id range; when a range holds too many of them it says so, and
 * its _LIGHT_BY_ID twin looks them up by id instead (and serves that
 * viewer's next pages for a while: fedi_status_cache_stmt()).
 *
 * The version is the row versions (xmin) of the status and of its author:
 * an edit, a new count, a new display name or avatar each make a new one.
 * What a status shows from other rows is made to touch its row when it
 * changes (sql/0040: media attachments, custom emojis); what is left (an
 * application renamed, a mentioned account renamed, the account a moved
 * author moved to) is bounded by FEDI_SC_TTL.
 *
 * Viewers with filters are served by the full statement: their matches
 * read the statuses' columns (fedi_filters.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_status.h"
#include "fedi_status_cache.h"


#define FEDI_SC_TTL       60        /* seconds an entry is trusted at most */
#define FEDI_SC_BUCKETS   16384
#define FEDI_SC_VER_LEN   24        /* two xids and a dot */
#define FEDI_SC_MAX_ENTRY (64 * 1024)
#define FEDI_SC_DENSE     256       /* viewers and timelines remembered */
#define FEDI_SC_DENSE_TTL 60        /* seconds */


/* the light statement's columns (FEDI_STATUS_LIGHT_COLS) */
enum {
    L_ID = 0, L_VER, L_RID, L_RVER, L_MARKS, L_RMARKS = L_MARKS + 6,
    L_FULL = L_RMARKS + 6
};


typedef struct fedi_sc_entry_s  fedi_sc_entry_t;

struct fedi_sc_entry_s {
    ngx_queue_t         lru;
    fedi_sc_entry_t    *next;           /* in its bucket */
    int64_t             id;
    void               *conf;           /* base URL and media URL's */
    time_t              born;
    size_t              len;
    u_char              ver[FEDI_SC_VER_LEN];
    u_char              data[1];        /* "{" and the fixed members */
};


/* one status of the page: the row's own, or the boosted one */
typedef struct {
    int64_t             id;
    u_char              ver[FEDI_SC_VER_LEN];
    ngx_str_t           marks;          /* the viewer's, as members */
    ngx_str_t           poll;           /* its JSON, or data NULL */
    ngx_str_t           fixed;          /* found, or data NULL */
    unsigned            owned:1;        /* fixed is in the pool */
    unsigned            has_poll:1;
} fedi_sc_status_t;


typedef struct {
    fedi_sc_status_t    s[2];           /* the status, the boosted one */
    unsigned            boost:1;
    unsigned            gone:1;
} fedi_sc_row_t;


/* the statuses of a row: one, or two for a boost */
#define FEDI_SC_N(row)  ((ngx_uint_t) ((row)->boost ? 2 : 1))


typedef struct {
    fedi_sc_row_t      *rows;
    ngx_uint_t          n;
} fedi_sc_page_t;


/*
 * The viewers (and timelines) whose marks filled a range lately: a heavy
 * favouriter's list, a page spanning days.  Their pages go to the
 * _LIGHT_BY_ID twin directly for FEDI_SC_DENSE_TTL rather than running
 * the light statement in vain first.  One slot per hash: a collision
 * costs one of them a light statement run in vain, or the twin (never a
 * wrong answer: the twin is exact).
 */
typedef struct {
    ngx_uint_t          key;
    time_t              until;
} fedi_sc_dense_t;

static fedi_sc_dense_t  fedi_sc_dense[FEDI_SC_DENSE];

/* the _LIGHT_BY_ID(_MIN) twin of a _LIGHT(_MIN) statement, two on
 * (FEDI_SQL_TIMELINE) */
#define fedi_sc_by_id(light)  ((fedi_sql_id_e) ((light) + 2))


static struct {
    fedi_sc_entry_t   **buckets;
    ngx_queue_t         lru;            /* most recently used first */
    size_t              size;
    size_t              max;
} fedi_sc;


static fedi_sc_entry_t *fedi_sc_find(int64_t id, void *conf);
static void fedi_sc_drop(fedi_sc_entry_t *e);
static void fedi_sc_put(fedi_req_t *rq, int64_t id, const u_char *ver,
    ngx_str_t *data);
static ngx_int_t fedi_sc_lookup(fedi_req_t *rq, fedi_sc_page_t *sp);
static char *fedi_sc_ids(fedi_req_t *rq, fedi_sc_page_t *sp,
    ngx_uint_t polls, ngx_uint_t n);
static void fedi_sc_polls(fedi_req_t *rq, PGresult *res);
static void fedi_sc_filled(fedi_req_t *rq, PGresult *res);
static void fedi_sc_send(fedi_req_t *rq, fedi_sc_page_t *sp);


ngx_int_t
fedi_status_cache_init(ngx_cycle_t *cycle, size_t max)
{
    fedi_sc.max = max;
    fedi_sc.size = 0;
    ngx_queue_init(&fedi_sc.lru);

    if (max == 0) {
        fedi_sc.buckets = NULL;
        return NGX_OK;
    }

    fedi_sc.buckets = ngx_calloc(FEDI_SC_BUCKETS * sizeof(fedi_sc_entry_t *),
                                 cycle->log);
    if (fedi_sc.buckets == NULL) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the viewer's and statement's slot, and their key in it */
static fedi_sc_dense_t *
fedi_sc_dense_slot(fedi_req_t *rq, fedi_sql_id_e light, ngx_uint_t *key)
{
    char  *viewer;

    viewer = fedi_viewer(rq);
    *key = viewer ? ngx_hash_key((u_char *) viewer, ngx_strlen(viewer)) : 0;
    *key = *key * 31 + light;

    return &fedi_sc_dense[*key % FEDI_SC_DENSE];
}


fedi_sql_id_e
fedi_status_cache_stmt(fedi_req_t *rq, fedi_sql_id_e light)
{
    ngx_uint_t        key;
    fedi_sc_dense_t  *d;

    d = fedi_sc_dense_slot(rq, light, &key);

    return (d->key == key && d->until > ngx_time()) ? fedi_sc_by_id(light)
                                                    : light;
}


/* the light statement serves this request: a cache, and no filters */
ngx_uint_t
fedi_status_cache_on(fedi_req_t *rq)
{
    return fedi_sc.buckets != NULL && rq->filters == NULL;
}


static ngx_uint_t
fedi_sc_hash(int64_t id)
{
    uint64_t  h = (uint64_t) id;

    /* ids are time-ordered: their low bits are a sequence, mix them */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;

    return (ngx_uint_t) (h & (FEDI_SC_BUCKETS - 1));
}


static fedi_sc_entry_t *
fedi_sc_find(int64_t id, void *conf)
{
    fedi_sc_entry_t  *e;

    for (e = fedi_sc.buckets[fedi_sc_hash(id)]; e; e = e->next) {
        if (e->id == id && e->conf == conf) {
            return e;
        }
    }

    return NULL;
}


static void
fedi_sc_drop(fedi_sc_entry_t *e)
{
    fedi_sc_entry_t  **pe;

    for (pe = &fedi_sc.buckets[fedi_sc_hash(e->id)]; *pe; pe = &(*pe)->next)
    {
        if (*pe == e) {
            *pe = e->next;
            break;
        }
    }

    ngx_queue_remove(&e->lru);
    fedi_sc.size -= sizeof(fedi_sc_entry_t) + e->len;
    ngx_free(e);
}


static void
fedi_sc_put(fedi_req_t *rq, int64_t id, const u_char *ver, ngx_str_t *data)
{
    size_t            need;
    ngx_uint_t        b;
    ngx_queue_t      *q;
    fedi_sc_entry_t  *e;

    if (fedi_sc.buckets == NULL || data->len > FEDI_SC_MAX_ENTRY) {
        return;
    }

    e = fedi_sc_find(id, rq->mcf);
    if (e) {
        fedi_sc_drop(e);
    }

    need = sizeof(fedi_sc_entry_t) + data->len;

    while (fedi_sc.size + need > fedi_sc.max && !ngx_queue_empty(&fedi_sc.lru))
    {
        q = ngx_queue_last(&fedi_sc.lru);
        fedi_sc_drop(ngx_queue_data(q, fedi_sc_entry_t, lru));
    }

    if (need > fedi_sc.max) {
        return;
    }

    e = ngx_alloc(need, rq->r->connection->log);
    if (e == NULL) {
        return;
    }

    e->id = id;
    e->conf = rq->mcf;
    e->born = ngx_time();
    e->len = data->len;
    ngx_memcpy(e->ver, ver, FEDI_SC_VER_LEN);
    ngx_memcpy(e->data, data->data, data->len);

    b = fedi_sc_hash(id);
    e->next = fedi_sc.buckets[b];
    fedi_sc.buckets[b] = e;
    ngx_queue_insert_head(&fedi_sc.lru, &e->lru);
    fedi_sc.size += need;
}


/* a version as the entries keep it: NUL-padded, cut to its size */
static void
fedi_sc_ver(u_char *dst, PGresult *res, int row, int col)
{
    size_t  len;

    ngx_memzero(dst, FEDI_SC_VER_LEN);

    len = PQgetlength(res, row, col);
    ngx_memcpy(dst, PQgetvalue(res, row, col),
               ngx_min(len, FEDI_SC_VER_LEN - 1));
}


/*
 * The answer of a light statement (rq->data: the page): the Link header
 * while the rows are here, the viewer's marks taken, then what the cache
 * lacks filled
 */
void
fedi_status_cache_loaded(fedi_req_t *rq, PGresult *res)
{
    int               i, k, n;
    char             *ids;
    ngx_uint_t        polls, key;
    fedi_page_t      *pg;
    fedi_sc_dense_t  *d;
    fedi_sc_page_t   *sp;
    fedi_sc_status_t *st;

    pg = rq->data;
    polls = 0;

    /*
     * A mark's id range held more than 64 of its rows, and its array was
     * cut there: the same page again with every mark looked up by id,
     * from the twin two statements on (FEDI_SQL_TIMELINE); and the
     * viewer's next pages of this timeline from the twin directly
     */
    if (PQntuples(res) > 0 && fedi_pg_bool(res, 0, L_FULL)) {
        d = fedi_sc_dense_slot(rq, rq->op.stmt, &key);
        d->key = key;
        d->until = ngx_time() + FEDI_SC_DENSE_TTL;

        fedi_query_again(rq, fedi_sc_by_id(rq->op.stmt));
        return;
    }

    if (fedi_page_link(rq, res, pg) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    n = PQntuples(res);

    sp = ngx_pcalloc(rq->r->pool, sizeof(fedi_sc_page_t));
    if (sp == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    sp->rows = ngx_pcalloc(rq->r->pool, (n ? n : 1) * sizeof(fedi_sc_row_t));
    if (sp->rows == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    sp->n = n;
    rq->data = sp;

    for (i = 0; i < n; i++) {
        sp->rows[i].boost = !PQgetisnull(res, i, L_RID);

        for (k = 0; k < (int) FEDI_SC_N(&sp->rows[i]); k++) {
            st = &sp->rows[i].s[k];
            st->id = fedi_pg_int(res, i, k ? L_RID : L_ID);
            fedi_sc_ver(st->ver, res, i, k ? L_RVER : L_VER);

            if (fedi_status_marks(rq, res, i, k ? L_RMARKS : L_MARKS,
                                  &st->marks)
                != NGX_OK)
            {
                fedi_send_internal_error(rq);
                return;
            }

            st->has_poll = fedi_pg_bool(res, i,
                                        (k ? L_RMARKS : L_MARKS) + 4);
            polls += st->has_poll;
        }
    }

    if (polls) {
        ids = fedi_sc_ids(rq, sp, 1, polls);
        if (ids == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        fedi_query(rq, FEDI_SQL_STATUS_POLLS, fedi_sc_polls, 2,
                   fedi_viewer(rq), ids);
        return;
    }

    if (fedi_sc_lookup(rq, sp) == NGX_OK) {
        fedi_sc_send(rq, sp);
    }
}


/* the page's polls, as the viewer sees them; then the statuses */
static void
fedi_sc_polls(fedi_req_t *rq, PGresult *res)
{
    int                row;
    int64_t            id;
    ngx_str_t          poll;
    ngx_uint_t         i, k;
    fedi_sc_page_t    *sp;
    fedi_sc_status_t  *st;

    sp = rq->data;

    for (row = 0; row < PQntuples(res); row++) {
        id = fedi_pg_int(res, row, 0);
        poll.len = PQgetlength(res, row, 1);
        poll.data = ngx_pnalloc(rq->r->pool, poll.len);
        if (poll.data == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        ngx_memcpy(poll.data, PQgetvalue(res, row, 1), poll.len);

        for (i = 0; i < sp->n; i++) {
            for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
                st = &sp->rows[i].s[k];

                if (st->id == id) {
                    st->poll = poll;
                }
            }
        }
    }

    if (fedi_sc_lookup(rq, sp) == NGX_OK) {
        fedi_sc_send(rq, sp);
    }
}


/*
 * "{1,2,...}": the ids of the page's statuses that have a poll (polls),
 * or that the cache lacks (the others); n of them
 */
static char *
fedi_sc_ids(fedi_req_t *rq, fedi_sc_page_t *sp, ngx_uint_t polls,
    ngx_uint_t n)
{
    u_char            *ids, *p;
    ngx_uint_t         i, k;
    fedi_sc_status_t  *st;

    ids = ngx_pnalloc(rq->r->pool, n * (NGX_INT64_LEN + 1) + 3);
    if (ids == NULL) {
        return NULL;
    }

    p = ids;
    *p++ = '{';

    for (i = 0; i < sp->n; i++) {
        for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
            st = &sp->rows[i].s[k];

            if (polls ? st->has_poll : st->fixed.data == NULL) {
                p = ngx_sprintf(p, "%L,", st->id);
            }
        }
    }

    p[-1] = '}';
    *p = '\0';

    return (char *) ids;
}


/*
 * The page's statuses found in the cache; NGX_OK when all are, else a
 * fill asked for the others (NGX_AGAIN), or an error answered.  While
 * the fill runs, other requests may replace what this one found: so
 * then what it found is copied into its pool first.
 */
static ngx_int_t
fedi_sc_lookup(fedi_req_t *rq, fedi_sc_page_t *sp)
{
    char              *base, *ids;
    ngx_uint_t         i, k, missing;
    fedi_sc_entry_t   *e;
    fedi_sc_status_t  *st;

    missing = 0;

    for (i = 0; i < sp->n; i++) {
        for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
            st = &sp->rows[i].s[k];

            if (st->fixed.data) {
                continue;
            }

            e = fedi_sc.buckets ? fedi_sc_find(st->id, rq->mcf) : NULL;

            if (e && (ngx_memcmp(e->ver, st->ver, FEDI_SC_VER_LEN) != 0
                      || ngx_time() - e->born > FEDI_SC_TTL))
            {
                fedi_sc_drop(e);
                e = NULL;
            }

            if (e == NULL) {
                missing++;
                continue;
            }

            ngx_queue_remove(&e->lru);
            ngx_queue_insert_head(&fedi_sc.lru, &e->lru);

            st->fixed.data = e->data;
            st->fixed.len = e->len;
        }
    }

    if (missing == 0) {
        return NGX_OK;
    }

    /* the cache's bytes may be gone by the fill's answer: copied */
    for (i = 0; i < sp->n; i++) {
        for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
            st = &sp->rows[i].s[k];

            if (st->fixed.data && !st->owned) {
                st->fixed.data = ngx_pstrdup(rq->r->pool, &st->fixed);
                if (st->fixed.data == NULL) {
                    fedi_send_internal_error(rq);
                    return NGX_ERROR;
                }

                st->owned = 1;
            }
        }
    }

    ids = fedi_sc_ids(rq, sp, 0, missing);
    if (ids == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    base = fedi_base(rq);
    if (base == NULL) {
        fedi_send_internal_error(rq);
        return NGX_ERROR;
    }

    fedi_query(rq, FEDI_SQL_STATUS_FILL, fedi_sc_filled, 3,
               NULL, base, ids);

    return NGX_AGAIN;
}


/*
 * The missing statuses, each rendered once into the pool for this page
 * and into the cache for the next ones.  A status gone from the
 * database since the page was read leaves its row out.
 */
static void
fedi_sc_filled(fedi_req_t *rq, PGresult *res)
{
    int                row, n;
    int64_t            id;
    u_char             ver[FEDI_SC_VER_LEN];
    ngx_str_t          fixed;
    ngx_uint_t         i, k;
    fedi_json_t       *j;
    fedi_sc_page_t    *sp;
    fedi_sc_status_t  *st;

    sp = rq->data;
    n = PQntuples(res);

    for (row = 0; row < n; row++) {
        j = fedi_json_new(rq);
        if (j == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        fedi_json_obj_open(j);
        fedi_status_render_fixed(rq, j, res, row, 0);

        fixed.data = ngx_pnalloc(rq->r->pool, j->size);
        if (fixed.data == NULL
            || fedi_json_flatten(j, fixed.data, j->size) != (long) j->size)
        {
            fedi_send_internal_error(rq);
            return;
        }

        fixed.len = j->size;

        id = fedi_pg_int(res, row, 0);
        fedi_sc_ver(ver, res, row, FEDI_STATUS_BLOCK);

        for (i = 0; i < sp->n; i++) {
            for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
                st = &sp->rows[i].s[k];

                if (st->id == id && st->fixed.data == NULL) {
                    st->fixed = fixed;
                    st->owned = 1;
                }
            }
        }

        fedi_sc_put(rq, id, ver, &fixed);
    }

    /* asked and not found: gone, and its row with it */
    for (i = 0; i < sp->n; i++) {
        for (k = 0; k < FEDI_SC_N(&sp->rows[i]); k++) {
            if (sp->rows[i].s[k].fixed.data == NULL) {
                sp->rows[i].gone = 1;
            }
        }
    }

    fedi_sc_send(rq, sp);
}


/* the page: each status from its fixed members and the viewer's marks */
static void
fedi_sc_send(fedi_req_t *rq, fedi_sc_page_t *sp)
{
    ngx_uint_t         i, k;
    fedi_json_t       *j;
    fedi_sc_row_t     *row;
    fedi_sc_status_t  *st;

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_arr_open(j);

    for (i = 0; i < sp->n; i++) {
        row = &sp->rows[i];

        if (row->gone) {
            continue;
        }

        for (k = 0; k < FEDI_SC_N(row); k++) {
            st = &row->s[k];

            if (k) {
                fedi_json_key(j, "reblog");
            }

            fedi_json_obj_resume(j, st->fixed.data, st->fixed.len);

            if (st->marks.len) {
                fedi_json_members(j, st->marks.data, st->marks.len);
            }

            if (st->poll.data) {
                fedi_json_kraw(j, "poll", st->poll.data, st->poll.len);

            } else {
                fedi_json_knull(j, "poll");
            }

            /* no filters here (fedi_status_cache_on()) */
            fedi_json_key(j, "filtered");
            fedi_json_arr_open(j);
            fedi_json_arr_close(j);

            if (k || !row->boost) {
                fedi_json_knull(j, "reblog");
                fedi_json_obj_close(j);
            }
        }

        if (row->boost) {
            fedi_json_obj_close(j);
        }
    }

    fedi_json_arr_close(j);

    fedi_send_json(rq, NGX_HTTP_OK, j);
}
