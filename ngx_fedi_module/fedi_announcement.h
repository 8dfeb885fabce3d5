/*
 * Copyright (C) ngx_fedi authors
 *
 * The Announcement entity and the payload of announcement.reaction, for
 * the API (api_announcements.c) and the streaming API (fedi_stream.c).
 */

#ifndef _FEDI_ANNOUNCEMENT_H_INCLUDED_
#define _FEDI_ANNOUNCEMENT_H_INCLUDED_


/* a row of FEDI_ANNOUNCEMENT_COLS; viewer: with read and me */
void fedi_announcement_render(fedi_req_t *rq, ngx_pool_t *pool,
    fedi_json_t *j, PGresult *res, int row, ngx_uint_t viewer);

/* a row of ANNOUNCEMENT_REACTION, with the announcement's id */
void fedi_announcement_reaction_render(fedi_req_t *rq, fedi_json_t *j,
    PGresult *res, int row, const char *announcement);


#endif /* _FEDI_ANNOUNCEMENT_H_INCLUDED_ */
