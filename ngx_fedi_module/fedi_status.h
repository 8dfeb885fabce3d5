/*
 * Copyright (C) ngx_fedi authors
 *
 * The Status entity and the pagination of timelines.
 */

#ifndef _FEDI_STATUS_H_INCLUDED_
#define _FEDI_STATUS_H_INCLUDED_


typedef struct {
    const char   *bound[3];        /* max_id, since_id, min_id, or NULL */
    ngx_uint_t    limit;
    char          limit_str[NGX_INT_T_LEN + 1];
    int           cursor;          /* the column Link's ids come from */
} fedi_page_t;


/* a paged statement, or its _MIN twin (oldest first) when min_id is set */
#define fedi_page_stmt(pg, id)                                               \
    ((pg)->bound[2] ? (fedi_sql_id_e) ((id) + 1) : (id))


/* the viewer's marks among FEDI_STATUS_COLS (fedi_status.c's S_*) */
#define FEDI_STATUS_COL_FAVOURITED  19
#define FEDI_STATUS_COL_BOOKMARKED  20
#define FEDI_STATUS_COL_REBLOGGED   21
#define FEDI_STATUS_COL_PINNED      22
#define FEDI_STATUS_COL_MUTED       24
#define FEDI_STATUS_COL_MEDIA       25      /* NULL: no attachments */


void fedi_status_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row);
void fedi_status_render_text(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int text_col);
void fedi_status_render_at(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c, int text_col);
void fedi_status_render_fixed(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int c);
ngx_int_t fedi_status_marks(fedi_req_t *rq, PGresult *res, int row, int m,
    ngx_str_t *out);
fedi_page_t *fedi_page_new(fedi_req_t *rq, ngx_uint_t def, ngx_uint_t max);
ngx_int_t fedi_page_link(fedi_req_t *rq, PGresult *res, fedi_page_t *pg);
void fedi_statuses_send(fedi_req_t *rq, PGresult *res, fedi_page_t *pg);

/* api_notifications.c, api_statuses.c: for the streaming API too */
void fedi_notification_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row);
int fedi_conversation_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int i);


#endif /* _FEDI_STATUS_H_INCLUDED_ */
