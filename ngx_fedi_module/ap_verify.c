/*
 * Copyright (C) ngx_fedi authors
 *
 * HTTP Signatures on requests to us (see ap_verify.h).  What cannot be
 * verified gets 401 at once, so a sender can try its other scheme.
 */

#include "fedi.h"
#include "ap_verify.h"
#include "ap_resolve.h"


static void fedi_verify_found(fedi_req_t *rq, PGresult *res);
static void fedi_verify_fetched(fedi_req_t *rq, ngx_int_t found);
static void fedi_verify_fetch(fedi_req_t *rq, fedi_verify_t *v,
    const char *url);
static void fedi_verify_got(fedi_req_t *rq, fedi_verify_t *v);
static ngx_uint_t fedi_verify_may_refetch(const char *key_id, size_t len);


/*
 * A key that fails to verify is fetched again (a rotated key), but once a
 * minute at most: forged requests naming someone else's key must not make
 * us hammer that server.  Per worker, by a hash of the keyId.
 */
#define FEDI_VERIFY_REFETCH_SLOTS     1024
#define FEDI_VERIFY_REFETCH_INTERVAL  60


typedef struct {
    uint32_t    hash;
    time_t      when;
} fedi_verify_refetch_t;


/* parsed keys by keyId, per worker */
static fedi_httpsig_cache_t   *fedi_verify_keys;
static fedi_verify_refetch_t   fedi_verify_refetched[FEDI_VERIFY_REFETCH_SLOTS];


const char *
fedi_verify_check(fedi_req_t *rq, fedi_verify_t *v, u_char *body,
    size_t len)
{
    int                  rc;
    size_t               n;
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r = rq->r;

    v->hr.method.data = (char *) r->method_name.data;
    v->hr.method.len = r->method_name.len;
    v->hr.scheme.data = rq->mcf->https ? "https" : "http";
    v->hr.scheme.len = rq->mcf->https ? 5 : 4;
    v->hr.authority.data = (char *) rq->mcf->domain.data;
    v->hr.authority.len = rq->mcf->domain.len;
    v->hr.target.data = (char *) r->unparsed_uri.data;
    v->hr.target.len = r->unparsed_uri.len;
    v->hr.body = body;
    v->hr.body_len = len;

    n = 0;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            if (n == FEDI_VERIFY_MAX_HEADERS) {
                return "too many headers";
            }

            v->headers[n].name.data = (char *) h[i].key.data;
            v->headers[n].name.len = h[i].key.len;
            v->headers[n].value.data = (char *) h[i].value.data;
            v->headers[n].value.len = h[i].value.len;
            n++;
        }
    }

    v->hr.headers = v->headers;
    v->hr.nheaders = n;

    rc = fedi_httpsig_parse(&v->hr, &v->sig);
    if (rc == FEDI_HTTPSIG_OK) {
        rc = fedi_httpsig_check(&v->sig, &v->hr, ngx_time());
    }

    if (rc != FEDI_HTTPSIG_OK) {
        return fedi_httpsig_strerror(rc);
    }

    v->key_id = fedi_pstrz(r->pool, (u_char *) v->sig.key_id.data,
                           v->sig.key_id.len);

    return v->key_id ? NULL : "out of memory";
}


void
fedi_verify_key(fedi_req_t *rq, fedi_verify_t *v, fedi_verified_pt done)
{
    v->done = done;
    v->saved = rq->data;
    rq->data = v;

    fedi_query(rq, FEDI_SQL_INBOX_KEY, fedi_verify_found, 1, v->key_id);
}


/* the signer's account and key (id, uri, PEM), or none yet */
static void
fedi_verify_found(fedi_req_t *rq, PGresult *res)
{
    int             rc;
    char           *hash, *url;
    size_t          klen;
    EVP_PKEY       *key;
    fedi_verify_t  *v = rq->data;

    klen = ngx_strlen(v->key_id);

    if (PQntuples(res) != 1) {
        if (v->fetched) {
            fedi_verify_refuse(rq, v, "the key is not its actor's");
            return;
        }

        /* the actor is the keyId without its fragment */
        url = fedi_pstrz(rq->r->pool, (u_char *) v->key_id, klen);
        if (url == NULL) {
            fedi_send_internal_error(rq);
            return;
        }

        hash = ngx_strchr(url, '#');
        if (hash) {
            *hash = '\0';
        }

        fedi_verify_fetch(rq, v, url);
        return;
    }

    if (fedi_verify_keys == NULL) {
        fedi_verify_keys = fedi_httpsig_cache_create(4096, 86400);
        if (fedi_verify_keys == NULL) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    key = v->fetched ? NULL
                     : fedi_httpsig_cache_get(fedi_verify_keys, v->key_id,
                                              klen, ngx_time());

    if (key == NULL) {
        key = fedi_httpsig_pubkey_parse(PQgetvalue(res, 0, 2),
                                        PQgetlength(res, 0, 2), &rc);
        if (key == NULL) {
            fedi_verify_refuse(rq, v, fedi_httpsig_strerror(rc));
            return;
        }

        rc = fedi_httpsig_cache_put(fedi_verify_keys, v->key_id, klen, key,
                                    ngx_time());
        EVP_PKEY_free(key);

        if (rc != 0) {
            fedi_send_internal_error(rq);
            return;
        }

        key = fedi_httpsig_cache_get(fedi_verify_keys, v->key_id, klen,
                                     ngx_time());
        if (key == NULL) {
            fedi_send_internal_error(rq);
            return;
        }
    }

    rc = fedi_httpsig_verify(&v->sig, &v->hr, key);

    if (rc == FEDI_HTTPSIG_EVERIFY && !v->fetched
        && fedi_verify_may_refetch(v->key_id, klen))
    {
        /* a rotated key: the actor once more */
        fedi_httpsig_cache_remove(fedi_verify_keys, v->key_id, klen);
        fedi_verify_fetch(rq, v, PQgetvalue(res, 0, 1));
        return;
    }

    if (rc != FEDI_HTTPSIG_OK) {
        fedi_verify_refuse(rq, v, fedi_httpsig_strerror(rc));
        return;
    }

    v->account_id = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 0),
                               PQgetlength(res, 0, 0));
    v->owner = fedi_pstrz(rq->r->pool, (u_char *) PQgetvalue(res, 0, 1),
                          PQgetlength(res, 0, 1));
    if (v->account_id == NULL || v->owner == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    rq->data = v->saved;
    v->done(rq, v);
}


static ngx_uint_t
fedi_verify_may_refetch(const char *key_id, size_t len)
{
    uint32_t                hash;
    fedi_verify_refetch_t  *slot;

    hash = ngx_crc32_short((u_char *) key_id, len);
    slot = &fedi_verify_refetched[hash % FEDI_VERIFY_REFETCH_SLOTS];

    if (slot->hash == hash
        && ngx_time() - slot->when < FEDI_VERIFY_REFETCH_INTERVAL)
    {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "fedi: the key \"%*s\" failed again within a minute:"
                      " its actor is not fetched again", len, key_id);
        return 0;
    }

    slot->hash = hash;
    slot->when = ngx_time();

    return 1;
}


static void
fedi_verify_fetch(fedi_req_t *rq, fedi_verify_t *v, const char *url)
{
    v->fetched = 1;
    fedi_resolve_url(rq, url, fedi_verify_fetched);
}


static void
fedi_verify_fetched(fedi_req_t *rq, ngx_int_t found)
{
    fedi_verify_t  *v = rq->data;

    if (!found) {
        fedi_verify_refuse(rq, v, "the signer's actor cannot be fetched");
        return;
    }

    fedi_query(rq, FEDI_SQL_INBOX_KEY, fedi_verify_found, 1, v->key_id);
}


void
fedi_verify_get(fedi_req_t *rq)
{
    const char     *why;
    fedi_verify_t  *v;

    v = ngx_pcalloc(rq->r->pool, sizeof(fedi_verify_t));
    if (v == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    why = fedi_verify_check(rq, v, NULL, 0);
    if (why) {
        fedi_verify_refuse(rq, v, why);
        return;
    }

    fedi_verify_key(rq, v, fedi_verify_got);
}


static void
fedi_verify_got(fedi_req_t *rq, fedi_verify_t *v)
{
    rq->signed_by = 1;
    rq->route->handler(rq);
}


void
fedi_verify_refuse(fedi_req_t *rq, fedi_verify_t *v, const char *why)
{
    ngx_log_error(NGX_LOG_INFO, rq->r->connection->log, 0,
                  "fedi: signature refused (keyId \"%s\"): %s",
                  (v && v->key_id) ? v->key_id : "", why);

    fedi_send_error(rq, NGX_HTTP_UNAUTHORIZED, why);
}
