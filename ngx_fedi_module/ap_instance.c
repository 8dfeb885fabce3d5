/*
 * Copyright (C) ngx_fedi authors
 *
 * The instance actor, https://DOMAIN/actor, as Mastodon serves it: an
 * Application whose key signs the server's own fetches.  It is served
 * unsigned even with fedi_authorized_fetch on (a server verifying our
 * signed fetch must be able to fetch this key without signing first), and
 * WebFinger knows it as acct:DOMAIN@DOMAIN.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap.h"


static void ap_instance_actor_loaded(fedi_req_t *rq, PGresult *res);


void
fedi_ap_instance_actor(fedi_req_t *rq)
{
    fedi_query(rq, FEDI_SQL_INSTANCE_ACTOR, ap_instance_actor_loaded, 0);
}


static void
ap_instance_actor_loaded(fedi_req_t *rq, PGresult *res)
{
    ngx_str_t    *base, *domain;
    fedi_json_t  *j;

    j = fedi_json_one(rq, res);
    if (j == NULL) {
        return;
    }

    base = &rq->mcf->base_url;
    domain = &rq->mcf->domain;

    fedi_json_obj_open(j);
    fedi_json_key(j, "@context");
    fedi_json_arr_open(j);
    fedi_json_cstr(j, FEDI_AP_AS);
    fedi_json_cstr(j, "https://w3id.org/security/v1");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "manuallyApprovesFollowers",
                    "as:manuallyApprovesFollowers");
    fedi_json_obj_close(j);
    fedi_json_arr_close(j);

    fedi_ap_kurl(j, "id", "%V/actor", base);
    fedi_json_kcstr(j, "type", "Application");
    fedi_ap_kurl(j, "preferredUsername", "%V", domain);
    fedi_ap_kurl(j, "name", "%V", domain);
    fedi_ap_kurl(j, "inbox", "%V/actor/inbox", base);
    fedi_ap_kurl(j, "outbox", "%V/actor/outbox", base);
    fedi_ap_kurl(j, "url", "%V/about/more?instance_actor=true", base);
    fedi_json_kbool(j, "manuallyApprovesFollowers", 1);

    fedi_json_key(j, "publicKey");
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "id", "%V/actor#main-key", base);
    fedi_ap_kurl(j, "owner", "%V/actor", base);
    fedi_json_kcstr(j, "publicKeyPem", PQgetvalue(res, 0, 0));
    fedi_json_obj_close(j);

    fedi_json_key(j, "endpoints");
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "sharedInbox", "%V/inbox", base);
    fedi_json_obj_close(j);

    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/* it posts nothing */
void
fedi_ap_instance_outbox(fedi_req_t *rq)
{
    fedi_json_t  *j;

    j = fedi_ap_doc_open(rq);
    if (j == NULL) {
        return;
    }

    fedi_ap_kurl(j, "id", "%V/actor/outbox", &rq->mcf->base_url);
    fedi_json_kcstr(j, "type", "OrderedCollection");
    fedi_json_kint(j, "totalItems", 0);
    fedi_json_key(j, "orderedItems");
    fedi_json_arr_open(j);
    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}
