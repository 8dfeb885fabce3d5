/*
 * Text to HTML as Mastodon renders it, and escaping.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_html.h"


static int  n, failed;

/* every chunk the writer takes, to free after each case */
static void   *chunks[64];
static size_t  nchunks;


static void *
test_alloc(void *ctx, size_t size)
{
    void  *p;

    p = malloc(size);

    if (p && nchunks < 64) {
        chunks[nchunks++] = p;
    }

    return p;
}


static void
is(const char *in, const char *want, const char *name)
{
    char         out[4096];
    long         len;
    fedi_json_t  h;

    fedi_json_init(&h, test_alloc, NULL);
    fedi_text_to_html(&h, in, strlen(in));
    len = fedi_json_flatten(&h, (unsigned char *) out, sizeof(out) - 1);
    out[len < 0 ? 0 : len] = '\0';

    while (nchunks) {
        free(chunks[--nchunks]);
    }

    n++;

    if (strcmp(out, want) == 0) {
        printf("ok %d - %s\n", n, name);

    } else {
        failed++;
        printf("not ok %d - %s\n#   got:  %s\n#   want: %s\n", n, name, out,
               want);
    }
}


int
main(void)
{
    is("hello", "<p>hello</p>", "one paragraph");
    is("a\nb", "<p>a<br />b</p>", "a line break");
    is("a\n\nb", "<p>a</p><p>b</p>", "two paragraphs");
    is("a\r\n\r\nb", "<p>a</p><p>b</p>", "CRLF paragraphs");
    is("\n\na\n\n", "<p>a</p>", "blank lines around are dropped");
    is("", "", "empty text, no paragraph");
    is("<script>&\"'", "<p>&lt;script&gt;&amp;&quot;&#39;</p>",
       "markup is escaped");
    is("see https://example.com/x.",
       "<p>see <a href=\"https://example.com/x\" target=\"_blank\" "
       "rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">"
       "https://</span><span class=\"\">example.com/x</span></a>.</p>",
       "a URL becomes a link without its trailing period");
    is("https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
       "<p><a href=\"https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""
       " target=\"_blank\" rel=\"nofollow noopener\" translate=\"no\">"
       "<span class=\"invisible\">https://</span><span class=\"ellipsis\">"
       "example.com/aaaaaaaaaaaaaaaaaa</span><span class=\"invisible\">"
       "aaaaaaaaaaaaaaaaaa</span></a></p>",
       "a long URL is shortened with Mastodon's ellipsis span");
    is("(https://example.com/a_(b))",
       "<p>(<a href=\"https://example.com/a_(b)\" target=\"_blank\" "
       "rel=\"nofollow noopener\" translate=\"no\"><span class=\"invisible\">"
       "https://</span><span class=\"\">example.com/a_(b)</span></a>)</p>",
       "balanced parentheses stay in the URL, the closing one outside not");
    is("https://x.test/\"><img>",
       "<p><a href=\"https://x.test/\" target=\"_blank\" rel=\"nofollow "
       "noopener\" translate=\"no\"><span class=\"invisible\">https://</span>"
       "<span class=\"\">x.test/</span></a>&quot;&gt;&lt;img&gt;</p>",
       "a quote ends a URL and is escaped");
    is("javascript:alert(1)", "<p>javascript:alert(1)</p>",
       "only http(s) is linked");
    is("xhttps://a.test", "<p>xhttps://a.test</p>",
       "a URL must start a word");

    printf("1..%d\n", n);

    return failed ? 1 : 0;
}
