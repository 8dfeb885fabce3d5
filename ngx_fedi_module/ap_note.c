/*
 * Copyright (C) ngx_fedi authors
 *
 * Statuses as ActivityPub objects: a Note (a Question for a poll) at
 * /users/NAME/statuses/ID and /@NAME/ID, with an HTML page on the same
 * URLs, and the outbox of Create activities.  Only public and unlisted
 * statuses are served here; the rest travel by delivery.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "ap.h"
#include "fedi_emoji.h"


#define FEDI_AP_OUTBOX_PAGE  20


typedef struct {
    char         *name;
    char         *max_id;
    char         *min_id;
    ngx_uint_t    page;
} ap_outbox_t;


static void ap_status_loaded(fedi_req_t *rq, PGresult *res);
static void ap_status_uri(fedi_req_t *rq, PGresult *res, int row,
    u_char *buf, size_t size);
static void ap_post_page(fedi_req_t *rq, PGresult *res);
static void ap_note_poll(fedi_json_t *j, PGresult *res, int row);
static void ap_replies_first(fedi_json_t *j, PGresult *res, int row,
    const char *uri, ngx_uint_t context);
static void ap_replies_status(fedi_req_t *rq, PGresult *res);
static void ap_replies_others(fedi_req_t *rq, PGresult *res);
static ngx_uint_t ap_language_valid(const char *lang);
static void ap_kpg_raw(fedi_json_t *j, const char *key, PGresult *res,
    int row, int col);
static void ap_outbox_loaded(fedi_req_t *rq, PGresult *res);
static void ap_featured_loaded(fedi_req_t *rq, PGresult *res);
static void ap_create(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row);
static void ap_note_tags(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row);


/* what Mastodon's NoteSerializer puts in @context */
/* the Note's JSON-LD context; an activity that embeds one carries it */
const char  fedi_ap_note_context[] =
    "[\"" FEDI_AP_AS "\",{"
    "\"ostatus\":\"http://ostatus.org#\","
    "\"atomUri\":\"ostatus:atomUri\","
    "\"inReplyToAtomUri\":\"ostatus:inReplyToAtomUri\","
    "\"conversation\":\"ostatus:conversation\","
    "\"sensitive\":\"as:sensitive\","
    "\"toot\":\"http://joinmastodon.org/ns#\","
    "\"votersCount\":\"toot:votersCount\","
    "\"blurhash\":\"toot:blurhash\","
    "\"focalPoint\":{\"@container\":\"@list\",\"@id\":\"toot:focalPoint\"},"
    "\"Hashtag\":\"as:Hashtag\","
    "\"Emoji\":\"toot:Emoji\""
    "}]";


void
fedi_ap_status(fedi_req_t *rq)
{
    char  *name, *id, *base;

    if (fedi_ap_target(rq, &name, &id, &base) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_STATUS, ap_status_loaded, 3, name, id, base);
}


static void
ap_status_loaded(fedi_req_t *rq, PGresult *res)
{
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (!fedi_ap_wanted(rq)) {
        ap_post_page(rq, res);
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_ap_note(rq, j, res, 0, 1);
    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/* the status's id, NUL-terminated */
static void
ap_status_uri(fedi_req_t *rq, PGresult *res, int row, u_char *buf,
    size_t size)
{
    u_char  *p;

    p = ngx_snprintf(buf, size - 1, "%V/users/%s/statuses/%s",
                     &rq->mcf->base_url, PQgetvalue(res, row, N_USERNAME),
                     PQgetvalue(res, row, N_ID));
    *p = '\0';
}


void
fedi_ap_note(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    ngx_uint_t context)
{
    u_char       uri[512];
    const char  *lang;

    ap_status_uri(rq, res, row, uri, sizeof(uri));

    fedi_json_obj_open(j);

    if (context) {
        fedi_json_kraw(j, "@context", (u_char *) fedi_ap_note_context,
                       sizeof(fedi_ap_note_context) - 1);
    }

    fedi_json_kcstr(j, "id", (char *) uri);
    fedi_json_kcstr(j, "type", PQgetisnull(res, row, N_POLL_OPTIONS)
                               ? "Note" : "Question");

    if (PQgetlength(res, row, N_SPOILER) == 0) {
        fedi_json_knull(j, "summary");

    } else {
        fedi_json_kcstr(j, "summary", PQgetvalue(res, row, N_SPOILER));
    }

    fedi_json_kcstr(j, "inReplyTo", fedi_pg_val(res, row, N_IN_REPLY_TO));
    fedi_json_kcstr(j, "published", PQgetvalue(res, row, N_PUBLISHED));

    if (!PQgetisnull(res, row, N_UPDATED)) {
        fedi_json_kcstr(j, "updated", PQgetvalue(res, row, N_UPDATED));
    }

    fedi_ap_kurl(j, "url", "%V/@%s/%s", &rq->mcf->base_url,
                 PQgetvalue(res, row, N_USERNAME), PQgetvalue(res, row, N_ID));
    fedi_ap_kurl(j, "attributedTo", "%V/users/%s", &rq->mcf->base_url,
                 PQgetvalue(res, row, N_USERNAME));
    ap_kpg_raw(j, "to", res, row, N_TO);
    ap_kpg_raw(j, "cc", res, row, N_CC);
    fedi_json_kbool(j, "sensitive", fedi_pg_bool(res, row, N_SENSITIVE));
    fedi_json_kcstr(j, "atomUri", (char *) uri);
    fedi_json_kcstr(j, "inReplyToAtomUri",
                    fedi_pg_val(res, row, N_IN_REPLY_TO));
    fedi_json_kcstr(j, "content", PQgetvalue(res, row, N_CONTENT));

    lang = fedi_pg_val(res, row, N_LANGUAGE);
    if (ap_language_valid(lang)) {
        fedi_json_key(j, "contentMap");
        fedi_json_obj_open(j);
        fedi_json_kcstr(j, lang, PQgetvalue(res, row, N_CONTENT));
        fedi_json_obj_close(j);
    }

    fedi_media_documents(rq, j, res, row, N_MEDIA);

    ap_note_tags(rq, j, res, row);

    if (!PQgetisnull(res, row, N_POLL_OPTIONS)) {
        ap_note_poll(j, res, row);
    }

    /* replies: the author's own on the first page, as Mastodon's */
    fedi_json_key(j, "replies");
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "id", "%s/replies", uri);
    fedi_json_kcstr(j, "type", "Collection");
    fedi_json_key(j, "first");
    ap_replies_first(j, res, row, (char *) uri, 0);
    fedi_json_obj_close(j);

    fedi_json_obj_close(j);
}


/* Mention and Hashtag tags (built by the statement), then Emoji */
static void
ap_note_tags(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row)
{
    int  n;

    if (PQgetisnull(res, row, N_EMOJIS)) {
        ap_kpg_raw(j, "tag", res, row, N_TAG);
        return;
    }

    fedi_json_key(j, "tag");
    fedi_json_arr_open(j);

    /* the statement's array without its brackets: its elements */
    n = PQgetlength(res, row, N_TAG);
    if (n > 2) {
        fedi_json_raw(j, (u_char *) PQgetvalue(res, row, N_TAG) + 1, n - 2);
    }

    fedi_emoji_tags(rq, j, res, row, N_EMOJIS);
    fedi_json_arr_close(j);
}


/* the first page of replies: the author's own, then a link to others' */
static void
ap_replies_first(fedi_json_t *j, PGresult *res, int row, const char *uri,
    ngx_uint_t context)
{
    fedi_json_obj_open(j);

    if (context) {
        fedi_json_kcstr(j, "@context", FEDI_AP_AS);
        fedi_ap_kurl(j, "id", "%s/replies?page=true", uri);
    }

    fedi_json_kcstr(j, "type", "CollectionPage");
    fedi_ap_kurl(j, "next", "%s/replies?only_other_accounts=true&page=true",
                 uri);
    fedi_ap_kurl(j, "partOf", "%s/replies", uri);
    ap_kpg_raw(j, "items", res, row, N_SELF_REPLIES);
    fedi_json_obj_close(j);
}


/*
 * /users/NAME/statuses/ID/replies: the Collection, its first page (the
 * author's own replies), or with only_other_accounts the replies of
 * others, 40 a page linked by min_id.
 */
void
fedi_ap_replies(fedi_req_t *rq)
{
    char  *name, *id, *base, *min_id;

    if (fedi_ap_target(rq, &name, &id, &base) != NGX_OK) {
        return;
    }

    if (!fedi_param_bool(rq->params, "page", 0)
        || !fedi_param_bool(rq->params, "only_other_accounts", 0))
    {
        fedi_query(rq, FEDI_SQL_AP_STATUS, ap_replies_status, 3, name, id,
                   base);
        return;
    }

    min_id = (char *) fedi_param_str(rq->params, "min_id");
    if (min_id && fedi_is_id(min_id) != NGX_OK) {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST, "Invalid page bound");
        return;
    }

    rq->data = min_id;

    fedi_query(rq, FEDI_SQL_AP_REPLIES, ap_replies_others, 5, name, id, base,
               min_id, "41");
}


static void
ap_replies_status(fedi_req_t *rq, PGresult *res)
{
    u_char        uri[512];
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    ap_status_uri(rq, res, 0, uri, sizeof(uri));

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (fedi_param_bool(rq->params, "page", 0)) {
        ap_replies_first(j, res, 0, (char *) uri, 1);
        fedi_ap_send(rq, j, FEDI_AP_TYPE);
        return;
    }

    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "@context", FEDI_AP_AS);
    fedi_ap_kurl(j, "id", "%s/replies", uri);
    fedi_json_kcstr(j, "type", "Collection");
    fedi_json_key(j, "first");
    ap_replies_first(j, res, 0, (char *) uri, 0);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


static void
ap_replies_others(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    u_char        id[512], *p;
    fedi_json_t  *j;

    n = PQntuples(res);

    if (n == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    if (PQgetisnull(res, 0, 0)) {
        n = 0;
    }

    p = ngx_snprintf(id, sizeof(id) - 1, "%V/users/%s/statuses/%V/replies",
                     &rq->mcf->base_url, PQgetvalue(res, 0, 2), &rq->args[1]);
    *p = '\0';

    j = fedi_ap_doc_open(rq);
    if (j == NULL) {
        return;
    }

    if (rq->data) {
        fedi_ap_kurl(j, "id", "%s?min_id=%s&only_other_accounts=true"
                     "&page=true", id, (char *) rq->data);

    } else {
        fedi_ap_kurl(j, "id", "%s?only_other_accounts=true&page=true", id);
    }

    fedi_json_kcstr(j, "type", "CollectionPage");

    if (n > 40) {
        n = 40;
        fedi_ap_kurl(j, "next", "%s?min_id=%s&only_other_accounts=true"
                     "&page=true", id, PQgetvalue(res, n - 1, 1));
    }

    fedi_json_kcstr(j, "partOf", (char *) id);
    fedi_json_key(j, "items");
    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        fedi_json_cstr(j, PQgetvalue(res, i, 0));
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


static void
ap_note_poll(fedi_json_t *j, PGresult *res, int row)
{
    const char  *end;

    end = fedi_pg_val(res, row, N_POLL_END);

    if (end) {
        fedi_json_kcstr(j, "endTime", end);

        if (fedi_pg_bool(res, row, N_POLL_CLOSED)) {
            fedi_json_kcstr(j, "closed", end);
        }
    }

    fedi_json_kint(j, "votersCount", fedi_pg_int(res, row, N_POLL_VOTERS));
    ap_kpg_raw(j, fedi_pg_bool(res, row, N_POLL_MULTIPLE) ? "anyOf" : "oneOf",
               res, row, N_POLL_OPTIONS);
}


/* a BCP 47 tag: it becomes a JSON key, which the writer does not escape */
static ngx_uint_t
ap_language_valid(const char *lang)
{
    const char  *p;

    if (lang == NULL || lang[0] == '\0') {
        return 0;
    }

    for (p = lang; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static void
ap_kpg_raw(fedi_json_t *j, const char *key, PGresult *res, int row, int col)
{
    fedi_json_kraw(j, key, (u_char *) PQgetvalue(res, row, col),
                   PQgetlength(res, row, col));
}


static void
ap_post_page(fedi_req_t *rq, PGresult *res)
{
    u_char          url[512], uri[512], *p;
    fedi_json_t    *h;
    fedi_ap_page_t  pg;

    p = ngx_snprintf(url, sizeof(url) - 1, "%V/@%s/%s", &rq->mcf->base_url,
                     PQgetvalue(res, 0, N_USERNAME), PQgetvalue(res, 0, N_ID));
    *p = '\0';

    ap_status_uri(rq, res, 0, uri, sizeof(uri));

    pg.og_type = "article";
    pg.display_name = PQgetvalue(res, 0, N_DISPLAY_NAME);
    pg.username = PQgetvalue(res, 0, N_USERNAME);
    pg.url = (char *) url;
    pg.alternate = (char *) uri;

    /* behind a content warning, only the warning */
    pg.description = PQgetvalue(res, 0, N_SPOILER);
    if (pg.description[0] == '\0') {
        pg.description = PQgetvalue(res, 0, N_TEXT);
    }

    h = fedi_ap_html_open(rq, &pg);
    if (h == NULL) {
        return;
    }

    fedi_html_cstr(h, "<article class=\"h-entry\">\n<p class=\"p-author\">");
    fedi_html_escape(h, pg.display_name);
    fedi_html_cstr(h, "</p>\n");

    if (PQgetlength(res, 0, N_SPOILER)) {
        fedi_html_cstr(h, "<p class=\"p-summary\">");
        fedi_html_escape(h, PQgetvalue(res, 0, N_SPOILER));
        fedi_html_cstr(h, "</p>\n");
    }

    /* our own HTML, made from the text when the status was posted */
    fedi_html_cstr(h, "<div class=\"e-content\">");
    fedi_html_cstr(h, PQgetvalue(res, 0, N_CONTENT));
    fedi_html_cstr(h, "</div>\n<time class=\"dt-published\">");
    fedi_html_escape(h, PQgetvalue(res, 0, N_PUBLISHED));
    fedi_html_cstr(h, "</time>\n</article>\n");

    fedi_ap_html_close(h);
    fedi_ap_send(rq, h, FEDI_HTML_TYPE);
}


/*
 * The outbox: the OrderedCollection, or with ?page=true a page of Create
 * activities, newest first, linked by max_id (next) and min_id (prev)
 * as Mastodon's.
 */
void
fedi_ap_outbox(fedi_req_t *rq)
{
    char         *base, *limit;
    ap_outbox_t  *ob;

    ob = ngx_pcalloc(rq->r->pool, sizeof(ap_outbox_t));
    if (ob == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (fedi_ap_target(rq, &ob->name, NULL, &base) != NGX_OK) {
        return;
    }

    ob->max_id = (char *) fedi_param_str(rq->params, "max_id");
    ob->min_id = (char *) fedi_param_str(rq->params, "min_id");
    ob->page = fedi_param_bool(rq->params, "page", 0)
               || ob->max_id || ob->min_id;

    if ((ob->max_id && fedi_is_id(ob->max_id) != NGX_OK)
        || (ob->min_id && fedi_is_id(ob->min_id) != NGX_OK))
    {
        fedi_send_error(rq, NGX_HTTP_BAD_REQUEST, "Invalid page bound");
        return;
    }

    limit = ob->page ? "21" : "0";
    rq->data = ob;

    fedi_query(rq, FEDI_SQL_AP_OUTBOX, ap_outbox_loaded, 5, ob->name, base,
               ob->max_id, ob->min_id, limit);
}


static void
ap_outbox_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n, first, last;
    u_char        id[512], *p;
    ap_outbox_t  *ob;
    fedi_json_t  *j;

    ob = rq->data;
    n = PQntuples(res);

    if (n == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    p = ngx_snprintf(id, sizeof(id) - 1, "%V/users/%s/outbox",
                     &rq->mcf->base_url, PQgetvalue(res, 0, N_USERNAME));
    *p = '\0';

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    fedi_json_obj_open(j);

    if (!ob->page) {
        fedi_json_kcstr(j, "@context", FEDI_AP_AS);
        fedi_json_kcstr(j, "id", (char *) id);
        fedi_json_kcstr(j, "type", "OrderedCollection");
        fedi_json_kint(j, "totalItems",
                       fedi_pg_int(res, 0, FEDI_AP_NOTE_NCOLS));
        fedi_ap_kurl(j, "first", "%s?page=true", id);
        fedi_ap_kurl(j, "last", "%s?min_id=0&page=true", id);
        fedi_json_obj_close(j);
        fedi_ap_send(rq, j, FEDI_AP_TYPE);
        return;
    }

    if (PQgetisnull(res, 0, N_ID)) {
        n = 0;
    }

    /* one more than a page was asked for: it says there is a next one */
    first = 0;
    last = n - 1;

    if (n > FEDI_AP_OUTBOX_PAGE) {
        if (ob->min_id) {
            first = n - FEDI_AP_OUTBOX_PAGE;     /* the oldest ones */

        } else {
            last = FEDI_AP_OUTBOX_PAGE - 1;
        }
    }

    fedi_json_kraw(j, "@context", (u_char *) fedi_ap_note_context,
                   sizeof(fedi_ap_note_context) - 1);

    if (ob->max_id) {
        fedi_ap_kurl(j, "id", "%s?max_id=%s&page=true", id, ob->max_id);

    } else if (ob->min_id) {
        fedi_ap_kurl(j, "id", "%s?min_id=%s&page=true", id, ob->min_id);

    } else {
        fedi_ap_kurl(j, "id", "%s?page=true", id);
    }

    fedi_json_kcstr(j, "type", "OrderedCollectionPage");

    if (n > 0 && (n > FEDI_AP_OUTBOX_PAGE || ob->min_id)) {
        fedi_ap_kurl(j, "next", "%s?max_id=%s&page=true", id,
                     PQgetvalue(res, last, N_ID));
    }

    if (n > 0) {
        fedi_ap_kurl(j, "prev", "%s?min_id=%s&page=true", id,
                     PQgetvalue(res, first, N_ID));
    }

    fedi_json_kcstr(j, "partOf", (char *) id);
    fedi_json_key(j, "orderedItems");
    fedi_json_arr_open(j);

    for (i = first; n > 0 && i <= last; i++) {
        ap_create(rq, j, res, i);
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/* the pinned statuses, as Mastodon's featured collection: all at once */
void
fedi_ap_featured(fedi_req_t *rq)
{
    char  *name, *base;

    if (fedi_ap_target(rq, &name, NULL, &base) != NGX_OK) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_FEATURED, ap_featured_loaded, 2, name, base);
}


static void
ap_featured_loaded(fedi_req_t *rq, PGresult *res)
{
    int           i, n;
    fedi_json_t  *j;

    n = PQntuples(res);

    if (n == 0) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    j = fedi_json_new(rq);
    if (j == NULL) {
        fedi_send_internal_error(rq);
        return;
    }

    if (PQgetisnull(res, 0, N_ID)) {
        n = 0;
    }

    fedi_json_obj_open(j);
    fedi_json_kraw(j, "@context", (u_char *) fedi_ap_note_context,
                   sizeof(fedi_ap_note_context) - 1);
    fedi_ap_kurl(j, "id", "%V/users/%s/collections/featured",
                 &rq->mcf->base_url, PQgetvalue(res, 0, N_USERNAME));
    fedi_json_kcstr(j, "type", "OrderedCollection");
    fedi_json_kint(j, "totalItems", n);
    fedi_json_key(j, "orderedItems");
    fedi_json_arr_open(j);

    for (i = 0; i < n; i++) {
        fedi_ap_note(rq, j, res, i, 0);
    }

    fedi_json_arr_close(j);
    fedi_json_obj_close(j);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/* a status as the Create activity that delivered it */
static void
ap_create(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row)
{
    fedi_json_obj_open(j);
    fedi_ap_kurl(j, "id", "%V/users/%s/statuses/%s/activity",
                 &rq->mcf->base_url, PQgetvalue(res, row, N_USERNAME),
                 PQgetvalue(res, row, N_ID));
    fedi_json_kcstr(j, "type", "Create");
    fedi_ap_kurl(j, "actor", "%V/users/%s", &rq->mcf->base_url,
                 PQgetvalue(res, row, N_USERNAME));
    fedi_json_kcstr(j, "published", PQgetvalue(res, row, N_PUBLISHED));
    ap_kpg_raw(j, "to", res, row, N_TO);
    ap_kpg_raw(j, "cc", res, row, N_CC);
    fedi_json_key(j, "object");
    fedi_ap_note(rq, j, res, row, 0);
    fedi_json_obj_close(j);
}
