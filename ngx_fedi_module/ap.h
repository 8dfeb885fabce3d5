/*
 * Copyright (C) ngx_fedi authors
 *
 * ActivityPub documents of local accounts and statuses, shared by
 * ap_actor.c, ap_note.c and ap_webfinger.c: content negotiation, the
 * answer's headers, absolute URLs, the Note serializer and the HTML
 * pages served on the same URLs.
 */

#ifndef _AP_H_INCLUDED_
#define _AP_H_INCLUDED_


#include "fedi_html.h"


#define FEDI_AP_TYPE    "application/activity+json; charset=utf-8"
#define FEDI_HTML_TYPE  "text/html; charset=utf-8"
#define FEDI_AP_AS      "https://www.w3.org/ns/activitystreams"


/* the columns of FEDI_AP_NOTE_COLS */
enum {
    N_ID = 0, N_PUBLISHED, N_UPDATED, N_LANGUAGE, N_SPOILER, N_SENSITIVE,
    N_CONTENT, N_IN_REPLY_TO, N_TO, N_CC, N_TAG, N_POLL_MULTIPLE,
    N_POLL_END, N_POLL_CLOSED, N_POLL_VOTERS, N_POLL_OPTIONS, N_USERNAME,
    N_TEXT, N_DISPLAY_NAME, N_SELF_REPLIES, N_MEDIA, N_EMOJIS
};


/* handlers of fedi_routes_ap owned by ap_webfinger.c and ap_note.c */
void fedi_ap_webfinger(fedi_req_t *rq);
void fedi_ap_status(fedi_req_t *rq);
void fedi_ap_outbox(fedi_req_t *rq);
void fedi_ap_featured(fedi_req_t *rq);
void fedi_ap_replies(fedi_req_t *rq);

/* ap_instance.c: the instance actor and its outbox */
void fedi_ap_instance_actor(fedi_req_t *rq);
void fedi_ap_instance_outbox(fedi_req_t *rq);

/* the Accept header asks for ActivityPub JSON */
ngx_uint_t fedi_ap_wanted(fedi_req_t *rq);

/*
 * A document's JSON writer with its object opened and the plain
 * ActivityStreams @context written; NULL after answering 500.
 */
fedi_json_t *fedi_ap_doc_open(fedi_req_t *rq);

/* a public document: Vary, Cache-Control, then the bytes */
void fedi_ap_send(fedi_req_t *rq, fedi_json_t *j, const char *type);

/* fmt (ngx_sprintf's) printed as a string value, key NULL in arrays */
void fedi_ap_kurl(fedi_json_t *j, const char *key, const char *fmt, ...);

/* a username or id from the path, NUL-terminated, or NULL if malformed */
char *fedi_ap_arg(fedi_req_t *rq, ngx_uint_t n, ngx_uint_t digits);

/*
 * The local username of the path (rq->args[0]), with id the status id
 * (rq->args[1]), and the base URL as strings for a statement;
 * NGX_DECLINED after answering 404 or 500.
 */
ngx_int_t fedi_ap_target(fedi_req_t *rq, char **name, char **id,
    char **base);

/* the actor document of a row of AP_ACCOUNT (also sent in an Update) */
void fedi_ap_actor_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    const char *actor);

/* the @context of a Note, and of an activity that embeds one */
extern const char  fedi_ap_note_context[];

/* the Note (or Question) of row; context: with its own @context */
void fedi_ap_note(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    ngx_uint_t context);

/* what the head of an HTML page says; title: "name (@user@domain)" */
typedef struct {
    const char   *og_type;
    const char   *display_name;     /* may be empty: then the username */
    const char   *username;
    const char   *description;
    const char   *url;              /* the canonical URL, base + path */
    const char   *alternate;        /* the ActivityPub id */
} fedi_ap_page_t;

/*
 * An HTML page up to <body>, every value escaped; display_name is then
 * the name to show.  NULL after answering 500.
 */
fedi_json_t *fedi_ap_html_open(fedi_req_t *rq, fedi_ap_page_t *pg);
void fedi_ap_html_close(fedi_json_t *h);


#endif /* _AP_H_INCLUDED_ */
