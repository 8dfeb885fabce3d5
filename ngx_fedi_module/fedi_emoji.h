/*
 * Copyright (C) ngx_fedi authors
 *
 * Custom emojis: the CustomEmoji entity from the arrays FEDI_EMOJIS_OF
 * selects (fedi_sql_cols.h), their Emoji tags in ActivityPub documents,
 * and whether a reaction's name is a unicode emoji.
 */

#ifndef _FEDI_EMOJI_H_INCLUDED_
#define _FEDI_EMOJI_H_INCLUDED_


/* "emojis": [CustomEmoji, ...] from a FEDI_EMOJIS_OF column (NULL: []) */
void fedi_emojis_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);

/* a CustomEmoji from the columns shortcode, file, url, static url,
 * visible_in_picker, category starting at col */
void fedi_emoji_render_cols(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col);

/* the emoji's URL under key: its file under fedi_media_url, else its
 * remote URL */
void fedi_emoji_kurl(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file, const char *url);

/* the Emoji tags of a FEDI_EMOJIS_OF column, as elements of the array
 * open in j */
void fedi_emoji_tags(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int col);

/* a single emoji of Unicode (with its modifiers, joiners, variation
 * selectors, keycaps, flags) */
ngx_uint_t fedi_emoji_unicode(const u_char *s, size_t n);


#endif /* _FEDI_EMOJI_H_INCLUDED_ */
