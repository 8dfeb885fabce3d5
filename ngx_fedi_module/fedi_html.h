/*
 * Copyright (C) ngx_fedi authors
 *
 * HTML output: escaping for pages we render, written through the
 * chunked writer of fedi_json.h.  Pure C.
 */

#ifndef _FEDI_HTML_H_INCLUDED_
#define _FEDI_HTML_H_INCLUDED_


#include <stddef.h>

#include "fedi_json.h"


/* trusted markup, as it is */
void fedi_html_cstr(fedi_json_t *h, const char *s);

/* text: & < > " ' escaped; safe in element content and quoted attributes */
void fedi_html_escape(fedi_json_t *h, const char *s);
void fedi_html_escape_n(fedi_json_t *h, const char *s, size_t n);

/*
 * Plain text as Mastodon renders it: paragraphs at blank lines, <br /> at
 * single line breaks, http(s) URLs as links with Mastodon's "invisible"
 * and "ellipsis" spans.  Everything else is escaped.
 */
void fedi_text_to_html(fedi_json_t *h, const char *s, size_t n);

/*
 * A status as Mastodon formats it: fedi_text_to_html() plus @mentions
 * (linked when mention() knows the account) and #hashtags (linked to
 * base/tags/name and reported to tag()).
 */
typedef struct {
    const char   *base_url;
    /* the profile URL of user[@domain], or NULL to leave it as text */
    const char   *(*mention)(void *data, const char *user, size_t ulen,
                             const char *domain, size_t dlen);
    void          (*tag)(void *data, const char *name, size_t len);
    void         *data;
} fedi_text_ctx_t;

void fedi_text_format(fedi_json_t *h, const char *s, size_t n,
    fedi_text_ctx_t *ctx);

/* the mentions of a text, for looking them up first */
void fedi_text_mentions(const char *s, size_t n,
    void (*found)(void *data, const char *user, size_t ulen,
                  const char *domain, size_t dlen), void *data);

/* length as Mastodon counts it: characters, a URL is 23, @u@domain is @u */
size_t fedi_text_length(const char *s, size_t n);

/* a URL at s (http:// or https://): its length, or 0 */
size_t fedi_url_len(const char *s, size_t n);


#endif /* _FEDI_HTML_H_INCLUDED_ */
