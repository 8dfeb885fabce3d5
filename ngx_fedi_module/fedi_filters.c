/*
 * Copyright (C) ngx_fedi authors
 *
 * Filters applied to statuses, as Mastodon 4's CustomFilter does: a
 * filter matches a status when one of its keywords is found in the
 * status's searchable text (content warning, text, poll options, media
 * descriptions; of the boosted status for a boost) or when it lists the
 * status (or the boosted one).  Keywords are escaped and joined into one
 * case-insensitive Unicode regular expression per filter; a whole-word
 * keyword gets \b on a side only where it begins or ends with a word
 * character, as Mastodon's CustomFilterKeyword#to_regex.
 *
 * Every status rendered for a viewer carries the FilterResults of all the
 * viewer's matching filters, whatever their context, as Mastodon's REST
 * API and streaming server do: clients pick the filters of the place they
 * show a status in (they keep statuses across places).  Where the place
 * is known (fedi_filter_routes, the stream), a matching "hide" filter of
 * that context drops the status on the server.
 *
 * Cost: a token says whether its account has filters (AUTH_TOKEN, cached
 * per worker, dropped when they change); only then are they loaded, one
 * statement, for the routes that render statuses.  Without filters the
 * renderer checks one pointer.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "fedi.h"
#include "fedi_status.h"
#include "fedi_filters.h"
#include "fedi_filter_text.h"


/* among FEDI_STATUS_COLS: fedi_status.c's S_* */
#define FEDI_FCOL_ID        0
#define FEDI_FCOL_SPOILER   5
#define FEDI_FCOL_CONTENT   14
#define FEDI_FCOL_POLL      23
#define FEDI_FCOL_MEDIA     25

/* FILTERS_ACTIVE's columns */
#define FEDI_FA_JSON        0
#define FEDI_FA_CONTEXT     1
#define FEDI_FA_HIDE        2
#define FEDI_FA_EXPIRES     3
#define FEDI_FA_KEYWORDS    4
#define FEDI_FA_STATUSES    5


typedef struct {
    ngx_str_t              json;        /* the Filter of a FilterResult */
    ngx_uint_t             contexts;
    ngx_uint_t             hide;
    time_t                 expires;     /* 0: never */
    pcre2_code            *re;          /* NULL: no keywords */
    int64_t               *statuses;
    ngx_uint_t             nstatuses;
} fedi_filter_t;


struct fedi_filters_s {
    ngx_pool_t            *pool;        /* the set's own */
    ngx_pool_cleanup_t    *cln;         /* in the request's pool */
    fedi_filter_t         *filter;
    ngx_uint_t             n;
    ngx_uint_t             context;     /* where statuses are shown now */
    pcre2_general_context *gc;
    pcre2_match_data      *md;
    void                  *matches;     /* fedi_filter_match_t [n] */
    u_char                *text;        /* the searchable text, reused */
    size_t                 text_size;
};


/* one filter's match of one status */
typedef struct {
    fedi_filter_t         *filter;
    PCRE2_SIZE             start;
    PCRE2_SIZE             end;
    int64_t                ids[2];
    ngx_uint_t             nids;
    unsigned               keyword:1;
} fedi_filter_match_t;


static void fedi_filters_loaded(fedi_req_t *rq, PGresult *res);
static ngx_uint_t fedi_filters_route_context(fedi_req_t *rq);
static ngx_int_t fedi_filter_parse(fedi_filters_t *fs, fedi_filter_t *f,
    PGresult *res, int row, ngx_log_t *log);
static ngx_uint_t fedi_filter_contexts(const char *s);
static pcre2_code *fedi_filter_compile(fedi_filters_t *fs, json_t *kws,
    ngx_log_t *log);
static ngx_uint_t fedi_filter_wordy(const u_char *kw, size_t len,
    ngx_uint_t at_end);
static ngx_uint_t fedi_filters_match(fedi_filters_t *fs, PGresult *res,
    int row, int c, fedi_filter_match_t *m);
static ngx_int_t fedi_filters_text(fedi_filters_t *fs, PGresult *res,
    int row, int p, size_t *len);
static void fedi_filters_free(fedi_filters_t *fs);
static void fedi_filters_cleanup(void *data);
static void fedi_filters_text_free(void *data);
static void *fedi_filters_pcre_alloc(PCRE2_SIZE size, void *data);
static void fedi_filters_pcre_free(void *p, void *data);


/* the routes whose statuses are shown in a filter context */
static const struct {
    const char  *pattern;
    ngx_uint_t   context;
} fedi_filter_routes[] = {
    { "/api/v1/timelines/home", FEDI_FILTER_HOME },
    { "/api/v1/timelines/list/:id", FEDI_FILTER_HOME },
    { "/api/v1/timelines/public", FEDI_FILTER_PUBLIC },
    { "/api/v1/timelines/tag/:hashtag", FEDI_FILTER_PUBLIC },
    { "/api/v1/statuses/:id/context", FEDI_FILTER_THREAD },
    { "/api/v1/accounts/:id/statuses", FEDI_FILTER_ACCOUNT },
    { "/api/v1/notifications", FEDI_FILTER_NOTIFICATIONS },
    { "/api/v1/notifications/:id", FEDI_FILTER_NOTIFICATIONS },
    { "/api/v2/notifications", FEDI_FILTER_NOTIFICATIONS },
    { NULL, 0 }
};

/* the routes that render statuses at all (patterns' beginnings) */
static const char  *fedi_filter_prefixes[] = {
    "/api/v1/timelines/", "/api/v1/statuses", "/api/v1/notifications",
    "/api/v2/notifications", "/api/v1/accounts/:id/statuses",
    "/api/v1/favourites", "/api/v1/bookmarks", "/api/v2/search",
    "/api/v1/conversations", "/api/v1/trends/statuses",
    "/api/v1/streaming", NULL
};

static const struct {
    const char  *name;
    ngx_uint_t   bit;
} fedi_filter_context_names[] = {
    { "home", FEDI_FILTER_HOME },
    { "notifications", FEDI_FILTER_NOTIFICATIONS },
    { "public", FEDI_FILTER_PUBLIC },
    { "thread", FEDI_FILTER_THREAD },
    { "account", FEDI_FILTER_ACCOUNT },
    { NULL, 0 }
};


ngx_uint_t
fedi_filters_wanted(fedi_req_t *rq)
{
    const char  **p;

    for (p = fedi_filter_prefixes; *p; p++) {
        if (ngx_strncmp(rq->route->pattern, *p, ngx_strlen(*p)) == 0) {
            return 1;
        }
    }

    return 0;
}


void
fedi_filters_load(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_FILTERS_ACTIVE, fedi_filters_loaded, 1,
               rq->token->account_id);
}


static void
fedi_filters_loaded(fedi_req_t *rq, PGresult *res)
{
    if (fedi_filters_replace(rq, res) != NGX_OK) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_filters_context(rq, fedi_filters_route_context(rq));

    rq->route->handler(rq);
}


static ngx_uint_t
fedi_filters_route_context(fedi_req_t *rq)
{
    ngx_uint_t  i;

    for (i = 0; fedi_filter_routes[i].pattern; i++) {
        if (ngx_strcmp(rq->route->pattern, fedi_filter_routes[i].pattern)
            == 0)
        {
            return fedi_filter_routes[i].context;
        }
    }

    return 0;
}


void
fedi_filters_context(fedi_req_t *rq, ngx_uint_t context)
{
    fedi_filters_t  *fs;

    fs = rq->filters;

    if (fs) {
        fs->context = context;
    }
}


/*
 * The request's filters become those of res (FILTERS_ACTIVE); none at
 * all leaves rq->filters NULL, the renderer's fast path.  The set lives
 * in its own pool, so a stream replaces it without growing.
 */
ngx_int_t
fedi_filters_replace(fedi_req_t *rq, PGresult *res)
{
    int                  i, n;
    ngx_uint_t           context;
    ngx_pool_t          *pool;
    fedi_filters_t      *fs, *old;
    ngx_pool_cleanup_t  *cln;

    old = rq->filters;
    context = old ? old->context : 0;
    n = PQntuples(res);

    if (n == 0) {
        fedi_filters_free(old);
        rq->filters = NULL;
        return NGX_OK;
    }

    pool = ngx_create_pool(4096, rq->r->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    fs = ngx_pcalloc(pool, sizeof(fedi_filters_t));
    cln = ngx_pool_cleanup_add(pool, 0);
    if (fs == NULL || cln == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    fs->pool = pool;
    fs->context = context;
    cln->handler = fedi_filters_text_free;
    cln->data = fs;

    fs->gc = pcre2_general_context_create(fedi_filters_pcre_alloc,
                                          fedi_filters_pcre_free, pool);
    fs->filter = ngx_pcalloc(pool, n * sizeof(fedi_filter_t));
    if (fs->gc == NULL || fs->filter == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    fs->md = pcre2_match_data_create(1, fs->gc);
    fs->matches = ngx_palloc(pool, n * sizeof(fedi_filter_match_t));
    if (fs->md == NULL || fs->matches == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (fedi_filter_parse(fs, &fs->filter[fs->n], res, i,
                              rq->r->connection->log)
            == NGX_OK)
        {
            fs->n++;
        }
    }

    /* the set goes with the request, or with the next replacement */
    fs->cln = ngx_pool_cleanup_add(rq->r->pool, 0);
    if (fs->cln == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    fs->cln->handler = fedi_filters_cleanup;
    fs->cln->data = fs;

    fedi_filters_free(old);
    rq->filters = fs;

    return NGX_OK;
}


static ngx_int_t
fedi_filter_parse(fedi_filters_t *fs, fedi_filter_t *f, PGresult *res,
    int row, ngx_log_t *log)
{
    size_t        len;
    json_t       *kws;
    ngx_uint_t    k;
    const char   *s;
    json_error_t  err;

    len = PQgetlength(res, row, FEDI_FA_JSON);
    f->json.data = ngx_pnalloc(fs->pool, len);
    if (f->json.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(f->json.data, PQgetvalue(res, row, FEDI_FA_JSON), len);
    f->json.len = len;

    f->contexts = fedi_filter_contexts(PQgetvalue(res, row, FEDI_FA_CONTEXT));
    f->hide = fedi_pg_bool(res, row, FEDI_FA_HIDE);
    f->expires = PQgetisnull(res, row, FEDI_FA_EXPIRES)
                 ? 0 : (time_t) fedi_pg_int(res, row, FEDI_FA_EXPIRES);

    if (!PQgetisnull(res, row, FEDI_FA_KEYWORDS)) {
        kws = json_loads(PQgetvalue(res, row, FEDI_FA_KEYWORDS), 0, &err);

        if (kws) {
            f->re = fedi_filter_compile(fs, kws, log);
            json_decref(kws);
        }
    }

    if (!PQgetisnull(res, row, FEDI_FA_STATUSES)) {
        /* '{1,2,3}' */
        s = PQgetvalue(res, row, FEDI_FA_STATUSES);
        len = ngx_strlen(s);

        f->statuses = ngx_palloc(fs->pool, (len / 2 + 1) * sizeof(int64_t));
        if (f->statuses == NULL) {
            return NGX_ERROR;
        }

        k = 0;

        while (*s) {
            if (*s >= '0' && *s <= '9') {
                f->statuses[k++] = strtoll(s, (char **) &s, 10);
                continue;
            }

            s++;
        }

        f->nstatuses = k;
    }

    return (f->re || f->nstatuses) ? NGX_OK : NGX_DECLINED;
}


/* '{home,public}' */
static ngx_uint_t
fedi_filter_contexts(const char *s)
{
    size_t      n;
    ngx_uint_t  bits, i;

    bits = 0;

    while (*s) {
        if (*s == '{' || *s == ',' || *s == '}' || *s == '"') {
            s++;
            continue;
        }

        for (n = 0; s[n] && s[n] != ',' && s[n] != '}' && s[n] != '"'; n++) {
            /* void */
        }

        for (i = 0; fedi_filter_context_names[i].name; i++) {
            if (ngx_strlen(fedi_filter_context_names[i].name) == n
                && ngx_strncmp(s, fedi_filter_context_names[i].name, n) == 0)
            {
                bits |= fedi_filter_context_names[i].bit;
            }
        }

        s += n;
    }

    return bits;
}


/* [[keyword, whole_word], ...]: one alternation, caseless and Unicode */
static pcre2_code *
fedi_filter_compile(fedi_filters_t *fs, json_t *kws, ngx_log_t *log)
{
    int                     rc;
    u_char                 *pat, *p;
    size_t                  size, len;
    json_t                 *kw;
    ngx_uint_t              k;
    pcre2_code             *re;
    const u_char           *s;
    PCRE2_SIZE              off;
    PCRE2_UCHAR             msg[128];
    pcre2_compile_context  *cc;

    size = 1;

    json_array_foreach(kws, k, kw) {
        size += 2 * json_string_length(json_array_get(kw, 0)) + 16;
    }

    pat = ngx_pnalloc(fs->pool, size);
    if (pat == NULL) {
        return NULL;
    }

    p = pat;

    json_array_foreach(kws, k, kw) {
        s = (const u_char *) json_string_value(json_array_get(kw, 0));
        len = json_string_length(json_array_get(kw, 0));

        if (s == NULL || len == 0) {
            continue;
        }

        if (p != pat) {
            *p++ = '|';
        }

        p = ngx_cpymem(p, "(?:", 3);

        if (json_is_true(json_array_get(kw, 1))
            && fedi_filter_wordy(s, len, 0))
        {
            p = ngx_cpymem(p, "\\b", 2);
        }

        p = fedi_filter_literal(p, s, len);

        if (json_is_true(json_array_get(kw, 1))
            && fedi_filter_wordy(s, len, 1))
        {
            p = ngx_cpymem(p, "\\b", 2);
        }

        *p++ = ')';
    }

    if (p == pat) {
        return NULL;
    }

    cc = pcre2_compile_context_create(fs->gc);
    if (cc == NULL) {
        return NULL;
    }

    re = pcre2_compile(pat, p - pat, PCRE2_UTF|PCRE2_UCP|PCRE2_CASELESS,
                       &rc, &off, cc);

    if (re == NULL) {
        pcre2_get_error_message(rc, msg, sizeof(msg));
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "fedi: a filter's keywords do not compile: %s", msg);
    }

    return re;
}


/*
 * Whether a keyword begins (at_end: ends) with a word character: Ruby's
 * [[:word:]], letters, marks, digits and connectors of any script
 */
static ngx_uint_t
fedi_filter_wordy(const u_char *kw, size_t len, ngx_uint_t at_end)
{
    int                  rc, err;
    PCRE2_SIZE           off;
    pcre2_match_data    *md;

    static pcre2_code  *first, *last;

    if (first == NULL) {
        first = pcre2_compile((PCRE2_SPTR) "\\A[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]",
                              PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off,
                              NULL);
        last = pcre2_compile((PCRE2_SPTR) "[\\p{L}\\p{M}\\p{Nd}\\p{Pc}]\\z",
                             PCRE2_ZERO_TERMINATED, PCRE2_UTF, &err, &off,
                             NULL);

        if (first == NULL || last == NULL) {
            return 0;
        }
    }

    md = pcre2_match_data_create(1, NULL);
    if (md == NULL) {
        return 0;
    }

    rc = pcre2_match(at_end ? last : first, kw, len, 0, 0, md, NULL);
    pcre2_match_data_free(md);

    return rc > 0;
}


void
fedi_filters_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int c)
{
    u_char               buf[NGX_INT64_LEN];
    ngx_uint_t           i, k, n;
    fedi_filters_t      *fs;
    fedi_filter_match_t *m;

    fs = rq->filters;

    fedi_json_arr_open(j);

    if (fs == NULL) {
        fedi_json_arr_close(j);
        return;
    }

    m = fs->matches;
    n = fedi_filters_match(fs, res, row, c, m);

    for (i = 0; i < n; i++) {
        fedi_json_obj_open(j);
        fedi_json_kraw(j, "filter", m[i].filter->json.data,
                       m[i].filter->json.len);

        if (m[i].keyword) {
            fedi_json_key(j, "keyword_matches");
            fedi_json_arr_open(j);
            fedi_json_str(j, fs->text + m[i].start, m[i].end - m[i].start);
            fedi_json_arr_close(j);

        } else {
            fedi_json_knull(j, "keyword_matches");
        }

        if (m[i].filter->nstatuses) {
            fedi_json_key(j, "status_matches");
            fedi_json_arr_open(j);

            for (k = 0; k < m[i].nids; k++) {
                fedi_json_str(j, buf, ngx_sprintf(buf, "%L", m[i].ids[k])
                                      - buf);
            }

            fedi_json_arr_close(j);

        } else {
            fedi_json_knull(j, "status_matches");
        }

        fedi_json_obj_close(j);
    }

    fedi_json_arr_close(j);
}


ngx_uint_t
fedi_filters_hide(fedi_req_t *rq, PGresult *res, int row, int c)
{
    ngx_uint_t           i, n;
    fedi_filters_t      *fs;
    fedi_filter_match_t *m;

    fs = rq->filters;

    if (fs == NULL || fs->context == 0) {
        return 0;
    }

    for (i = 0; i < fs->n; i++) {
        if (fs->filter[i].hide && (fs->filter[i].contexts & fs->context)) {
            break;
        }
    }

    if (i == fs->n) {
        return 0;
    }

    m = fs->matches;
    n = fedi_filters_match(fs, res, row, c, m);

    for (i = 0; i < n; i++) {
        if (m[i].filter->hide && (m[i].filter->contexts & fs->context)) {
            return 1;
        }
    }

    return 0;
}


/*
 * The filters matching the status at c (a boost: by the boosted status's
 * text, by either's id), unexpired now
 */
static ngx_uint_t
fedi_filters_match(fedi_filters_t *fs, PGresult *res, int row, int c,
    fedi_filter_match_t *m)
{
    int             p, rc;
    size_t          len;
    time_t          now;
    int64_t         ids[2];
    ngx_uint_t      i, k, n, nids, have_text;
    PCRE2_SIZE     *ov;
    fedi_filter_t  *f;

    if (PQgetisnull(res, row, c + FEDI_FCOL_ID)) {
        return 0;
    }

    p = c;
    nids = 0;
    ids[1] = 0;
    ids[nids++] = fedi_pg_int(res, row, c + FEDI_FCOL_ID);

    if (!PQgetisnull(res, row, c + FEDI_STATUS_BLOCK + FEDI_FCOL_ID)) {
        p = c + FEDI_STATUS_BLOCK;
        ids[nids++] = fedi_pg_int(res, row, p + FEDI_FCOL_ID);
    }

    now = ngx_time();
    have_text = 0;
    len = 0;
    n = 0;

    for (i = 0; i < fs->n; i++) {
        f = &fs->filter[i];

        if (f->expires && f->expires <= now) {
            continue;
        }

        m[n].filter = f;
        m[n].nids = 0;
        m[n].keyword = 0;

        for (k = 0; k < f->nstatuses; k++) {
            if (f->statuses[k] == ids[0]
                || (nids > 1 && f->statuses[k] == ids[1]))
            {
                m[n].ids[m[n].nids++] = f->statuses[k];

                if (m[n].nids == 2) {
                    break;
                }
            }
        }

        if (f->re) {
            if (!have_text) {
                if (fedi_filters_text(fs, res, row, p, &len) != NGX_OK) {
                    return n;
                }

                have_text = 1;
            }

            rc = pcre2_match(f->re, fs->text, len, 0, 0, fs->md, NULL);

            if (rc > 0) {
                ov = pcre2_get_ovector_pointer(fs->md);
                m[n].start = ov[0];
                m[n].end = ov[1];
                m[n].keyword = 1;
            }
        }

        if (m[n].keyword || m[n].nids) {
            n++;
        }
    }

    return n;
}


/*
 * Mastodon's Status#searchable_text: the content warning, the text, the
 * poll's options and the media descriptions, "\n\n" between them; the
 * text is the HTML made plain (a line break after <br> and </p>, tags
 * dropped, entities decoded)
 */
static ngx_int_t
fedi_filters_text(fedi_filters_t *fs, PGresult *res, int row, int p,
    size_t *len)
{
    u_char        *t;
    size_t         need, i, k;
    json_t        *poll, *media, *v, *d;
    json_error_t   err;

    poll = NULL;
    media = NULL;

    if (!PQgetisnull(res, row, p + FEDI_FCOL_POLL)) {
        poll = json_loadb(PQgetvalue(res, row, p + FEDI_FCOL_POLL),
                          PQgetlength(res, row, p + FEDI_FCOL_POLL), 0, &err);
    }

    if (!PQgetisnull(res, row, p + FEDI_FCOL_MEDIA)) {
        media = json_loadb(PQgetvalue(res, row, p + FEDI_FCOL_MEDIA),
                           PQgetlength(res, row, p + FEDI_FCOL_MEDIA), 0,
                           &err);
    }

    need = PQgetlength(res, row, p + FEDI_FCOL_SPOILER)
           + PQgetlength(res, row, p + FEDI_FCOL_CONTENT)
           + PQgetlength(res, row, p + FEDI_FCOL_POLL)
           + PQgetlength(res, row, p + FEDI_FCOL_MEDIA) + 16;

    if (need > fs->text_size) {
        ngx_free(fs->text);
        fs->text_size = ngx_max(need, 4096);
        fs->text = ngx_alloc(fs->text_size, ngx_cycle->log);

        if (fs->text == NULL) {
            fs->text_size = 0;
            json_decref(poll);
            json_decref(media);
            return NGX_ERROR;
        }
    }

    t = ngx_cpymem(fs->text, PQgetvalue(res, row, p + FEDI_FCOL_SPOILER),
                   PQgetlength(res, row, p + FEDI_FCOL_SPOILER));
    *t++ = '\n';
    *t++ = '\n';
    t = fedi_filter_plain(t,
                           (u_char *) PQgetvalue(res, row,
                                                 p + FEDI_FCOL_CONTENT),
                           PQgetlength(res, row, p + FEDI_FCOL_CONTENT));

    v = json_object_get(poll, "options");

    if (json_is_array(v)) {
        *t++ = '\n';
        *t++ = '\n';

        json_array_foreach(v, i, d) {
            if (i) {
                *t++ = '\n';
                *t++ = '\n';
            }

            d = json_object_get(d, "title");
            t = ngx_cpymem(t, json_string_value(d), json_string_length(d));
        }
    }

    *t++ = '\n';
    *t++ = '\n';
    k = 0;

    json_array_foreach(media, i, v) {
        if (k++) {
            *t++ = '\n';
            *t++ = '\n';
        }

        d = json_array_get(v, 5);

        if (json_is_string(d)) {
            t = ngx_cpymem(t, json_string_value(d), json_string_length(d));
        }
    }

    json_decref(poll);
    json_decref(media);

    *len = t - fs->text;

    return NGX_OK;
}


static void
fedi_filters_free(fedi_filters_t *fs)
{
    if (fs == NULL) {
        return;
    }

    fs->cln->handler = NULL;
    ngx_destroy_pool(fs->pool);
}


/* the request ends: its current set goes */
static void
fedi_filters_cleanup(void *data)
{
    fedi_filters_t  *fs = data;

    ngx_destroy_pool(fs->pool);
}


static void
fedi_filters_text_free(void *data)
{
    fedi_filters_t  *fs = data;

    ngx_free(fs->text);
    fs->text = NULL;
}


static void *
fedi_filters_pcre_alloc(PCRE2_SIZE size, void *data)
{
    return ngx_palloc((ngx_pool_t *) data, size);
}


/* memory goes with the set's pool */
static void
fedi_filters_pcre_free(void *p, void *data)
{
}
