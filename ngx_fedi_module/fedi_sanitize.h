/*
 * Copyright (C) ngx_fedi authors
 *
 * Remote HTML reduced to what Mastodon lets through, with a real HTML5
 * parser (gumbo).  Pure C: no nginx types, so it is unit-tested and
 * fuzzed on its own, and safe on the thread pool.
 */

#ifndef _FEDI_SANITIZE_H_INCLUDED_
#define _FEDI_SANITIZE_H_INCLUDED_


#include <stddef.h>


/* more tags than this and the markup is dropped, the text kept: the
 * parser's work and its tree's depth stay bounded */
#define FEDI_SANITIZE_MAX_TAGS  10000


/*
 * html (len bytes, UTF-8) as Mastodon's allow-list keeps it: p, br, span,
 * a, del, s, pre, blockquote, code, b, strong, u, i, em, ul, ol, li, ruby,
 * rt, rp; links http(s) only, with rel="nofollow noopener noreferrer" and
 * target="_blank"; classes of a and span only microformats (h-, p-, u-,
 * dt-, e-) and mention, hashtag, ellipsis, invisible, and translate="no";
 * headings become paragraphs of strong text; script, style and the like
 * go with their content; any other element goes, its content stays.
 *
 * Returns a NUL-terminated string to free(), or NULL when out of memory.
 */
char *fedi_sanitize_html(const char *html, size_t len);


#endif /* _FEDI_SANITIZE_H_INCLUDED_ */
