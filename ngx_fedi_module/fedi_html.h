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

/* a URL at s (http:// or https://): its length, or 0 */
size_t fedi_url_len(const char *s, size_t n);


#endif /* _FEDI_HTML_H_INCLUDED_ */
