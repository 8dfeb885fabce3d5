/*
 * Remote HTML sanitized: whatever comes, every tag that comes out is one
 * of the allow-list's with allowed attributes only, and links are http(s);
 * no crash, no leak.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fedi_sanitize.h"


static const char  *tags[] = { "p", "br", "span", "a", "del", "s", "pre",
    "blockquote", "code", "b", "strong", "u", "i", "em", "ul", "ol", "li",
    "ruby", "rt", "rp", NULL };

static const char  *attrs[] = { "href", "rel", "target", "class", "start",
    "reversed", "value", "translate", NULL };


static int
listed(const char **list, const char *s, size_t n)
{
    for ( ; *list; list++) {
        if (strlen(*list) == n && memcmp(*list, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
check(const char *p)
{
    size_t  n;

    while ((p = strchr(p, '<')) != NULL) {
        p++;
        p += (*p == '/');
        n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");

        if (!listed(tags, p, n)) {
            abort();
        }

        p += n;

        /* attributes up to '>': name="value" or a bare name */
        for ( ;; ) {
            p += strspn(p, " ");

            if (*p == '>') {
                break;
            }

            if (p[0] == '/' && p[1] == '>') {
                p++;
                break;
            }

            n = strspn(p, "abcdefghijklmnopqrstuvwxyz");
            if (n == 0 || !listed(attrs, p, n)) {
                abort();
            }

            if (n == 4 && memcmp(p, "href", 4) == 0
                && strncasecmp(p + 4, "=\"http://", 9) != 0
                && strncasecmp(p + 4, "=\"https://", 10) != 0)
            {
                abort();
            }

            p += n;

            if (*p == '=') {
                if (p[1] != '"') {
                    abort();
                }

                p = strchr(p + 2, '"');
                if (p == NULL) {
                    abort();
                }

                p++;
            }
        }
    }
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char  *out;

    out = fedi_sanitize_html((const char *) data, size);

    if (out) {
        check(out);
    }

    free(out);

    return 0;
}
