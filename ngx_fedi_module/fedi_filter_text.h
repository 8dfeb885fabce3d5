/*
 * Copyright (C) ngx_fedi authors
 *
 * What filters match against, pure C: a status's HTML made plain text as
 * Mastodon's PlainTextFormatter does, and a keyword as a literal of a
 * PCRE2 pattern.  Unit-tested (t/unit/test_filter_text.c).
 */

#ifndef _FEDI_FILTER_TEXT_H_INCLUDED_
#define _FEDI_FILTER_TEXT_H_INCLUDED_


#include <stddef.h>


/*
 * A line break after each run of <br> and </p>, tags dropped, entities
 * decoded (&amp; &lt; &gt; &quot; &apos; &nbsp; and numeric ones), one
 * final line break dropped.  dst has len bytes at least: the text is
 * never longer than the HTML.  Returns the end of the text.
 */
unsigned char *fedi_filter_plain(unsigned char *dst,
    const unsigned char *html, size_t len);

/* every ASCII character but letters and digits escaped: 2 * len bytes at
 * most.  Returns the end. */
unsigned char *fedi_filter_literal(unsigned char *dst,
    const unsigned char *kw, size_t len);


#endif /* _FEDI_FILTER_TEXT_H_INCLUDED_ */
