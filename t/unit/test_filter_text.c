/*
 * What filters match against: a status's HTML made plain as Mastodon's
 * PlainTextFormatter does, and keywords as PCRE2 literals.
 */

#include <stdio.h>
#include <string.h>

#include "fedi_filter_text.h"


#include "tap.h"


static const char *
plain(const char *html)
{
    size_t                n;
    unsigned char        *end;
    static unsigned char  buf[1024];

    n = strlen(html);
    /* the text must fit in as many bytes as the HTML */
    end = fedi_filter_plain(buf, (const unsigned char *) html, n);

    if ((size_t) (end - buf) > n) {
        return "(longer than the HTML)";
    }

    *end = '\0';
    return (const char *) buf;
}


static const char *
literal(const char *kw)
{
    unsigned char        *end;
    static unsigned char  buf[256];

    end = fedi_filter_literal(buf, (const unsigned char *) kw, strlen(kw));
    *end = '\0';
    return (const char *) buf;
}


int
main(void)
{
    is_str(plain("<p>a</p><p>b</p>"), "a\nb",
           "paragraphs: a line break after each, the last one chomped");
    is_str(plain("<p>one<br>two<br />three<br/>four</p>"),
           "one\ntwo\nthree\nfour", "<br> in its forms");
    is_str(plain("a<br><br>b"), "a\nb", "a run of breaks is one");
    is_str(plain("<p>x <a href=\"https://e.test/\" rel=\"nofollow\">"
                 "<span class=\"invisible\">https://</span>"
                 "<span>e.test/</span></a></p>"), "x https://e.test/",
           "tags go, their text stays");
    is_str(plain("<bR>x</P>"), "\nx", "tags in any case");
    is_str(plain("<broken"), "", "an unclosed tag");
    is_str(plain("<b>bold</b><bread>"), "bold", "<b> and <bread> no breaks");
    is_str(plain("a &amp; b &lt;3 &gt; &quot;q&quot; &apos;s"),
           "a & b <3 > \"q\" 's", "named entities");
    is_str(plain("caf&#233; &#xE9; &#X1F600;"), "café é 😀",
           "numeric entities, to UTF-8");
    is_str(plain("&nbsp;"), "\xc2\xa0", "&nbsp; is U+00A0");
    is_str(plain("a &bogus; &amp b &#; &#x; &#xD800; &#1114112; &"),
           "a &bogus; &amp b &#; &#x; &#xD800; &#1114112; &",
           "what is no entity stays");
    is_str(plain("日本<br>語"), "日本\n語", "UTF-8 passes");

    is_str(literal("cats"), "cats", "letters and digits as they are");
    is_str(literal("a.b c*(d)|e\\"), "a\\.b\\ c\\*\\(d\\)\\|e\\\\",
           "everything else ASCII escaped");
    is_str(literal("café 日本"), "café\\ 日本", "other characters as they are");

    return done();
}
