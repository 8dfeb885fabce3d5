/*
 * Remote HTML sanitized to Mastodon's allow-list.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedi_sanitize.h"


static int  n, failed;


static void
is(const char *in, const char *want, const char *name)
{
    char  *out;

    out = fedi_sanitize_html(in, strlen(in));
    n++;

    if (out && strcmp(out, want) == 0) {
        printf("ok %d - %s\n", n, name);

    } else {
        failed++;
        printf("not ok %d - %s\n#   got:  %s\n#   want: %s\n", n, name,
               out ? out : "(null)", want);
    }

    free(out);
}


int
main(void)
{
    char    *big, *out;
    size_t   i;

    is("<p>hello <b>world</b></p>", "<p>hello <b>world</b></p>",
       "allowed elements stay");
    is("<p>a<br>b</p>", "<p>a<br />b</p>", "a line break");
    is("<script>alert(1)</script><p>x</p>", "<p>x</p>",
       "a script goes with its content");
    is("<p onclick=\"x()\" style=\"color:red\">x</p>", "<p>x</p>",
       "attributes of p go");
    is("<a href=\"https://ex.test/a?b=1&amp;c=2\" onclick=\"x\">l</a>",
       "<a href=\"https://ex.test/a?b=1&amp;c=2\" "
       "rel=\"nofollow noopener noreferrer\" target=\"_blank\">l</a>",
       "a link keeps its href, gets rel and target");
    is("<a href=\"javascript:alert(1)\">x</a>", "<span>x</span>",
       "a javascript: link becomes a span");
    is("<a href=\" javascript:alert(1)\">x</a>", "<span>x</span>",
       "with a space in front too");
    is("<span class=\"h-card foo mention\"><a href=\"https://ex.test/@u\" "
       "class=\"u-url mention evil\">@<span>u</span></a></span>",
       "<span class=\"h-card mention\"><a href=\"https://ex.test/@u\" "
       "rel=\"nofollow noopener noreferrer\" target=\"_blank\" "
       "class=\"u-url mention\">@<span>u</span></a></span>",
       "classes: microformats and Mastodon's own only");
    is("<a href=\"https://ex.test/\" translate=\"no\"><span translate=\"yes\">"
       "x</span></a>",
       "<a href=\"https://ex.test/\" rel=\"nofollow noopener noreferrer\" "
       "target=\"_blank\" translate=\"no\"><span>x</span></a>",
       "translate=\"no\" only");
    is("<div><img src=x onerror=alert(1)>text</div>", "text",
       "unknown elements go, their text stays");
    is("<h1>Title</h1><p>x</p>", "<p><strong>Title</strong></p><p>x</p>",
       "a heading becomes a strong paragraph");
    is("<p>&lt;script&gt; &amp; \"q\"</p>",
       "<p>&lt;script&gt; &amp; &quot;q&quot;</p>", "text stays escaped");
    is("<svg><script>alert(1)</script></svg><p>y</p>", "<p>y</p>",
       "svg goes whole");
    is("<style>p{}</style><title>t</title>z", "z", "style and title go");
    is("<ol start=\"3\" reversed><li value=\"x\">a</li></ol>",
       "<ol start=\"3\" reversed><li>a</li></ol>", "list attributes checked");
    is("<p>unclosed <b>bold", "<p>unclosed <b>bold</b></p>",
       "unclosed elements are closed");
    is("<!-- c --><p>x</p>", "<p>x</p>", "comments go");
    is("", "", "empty");

    /* deep nesting: no recursion, tags beyond the depth limit dropped */
    big = malloc(9000 * 6 + 1);
    for (i = 0; i < 9000; i++) {
        memcpy(big + i * 6, "<span>", 6);
    }
    big[9000 * 6] = '\0';
    out = fedi_sanitize_html(big, strlen(big));
    n++;
    printf("%s %d - 9000 nested spans: at most 100 kept\n",
           out && strlen(out) <= 100 * 13 ? "ok" : "not ok", n);
    failed += !(out && strlen(out) <= 100 * 13);
    free(out);
    free(big);

    /* too many tags: text only, never parsed */
    big = malloc(20001 * 3 + 1);
    for (i = 0; i < 20001; i++) {
        memcpy(big + i * 3, "<b>", 3);
    }
    memcpy(big + 20000 * 3, "x&y", 3);
    big[20001 * 3] = '\0';
    out = fedi_sanitize_html(big, strlen(big));
    n++;
    printf("%s %d - 20000 tags: the text only\n",
           out && strcmp(out, "<p>x&amp;y</p>") == 0 ? "ok" : "not ok", n);
    failed += !(out && strcmp(out, "<p>x&amp;y</p>") == 0);
    free(out);
    free(big);

    printf("1..%d\n", n);

    return failed ? 1 : 0;
}
