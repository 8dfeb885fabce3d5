/*
 * Copyright (C) ngx_fedi authors
 */


#include <ctype.h>
#include <string.h>

#include "fedi_html.h"


void
fedi_html_cstr(fedi_json_t *h, const char *s)
{
    fedi_json_write(h, (const unsigned char *) s, strlen(s));
}


void
fedi_html_escape(fedi_json_t *h, const char *s)
{
    fedi_html_escape_n(h, s, strlen(s));
}


void
fedi_html_escape_n(fedi_json_t *h, const char *s, size_t n)
{
    size_t       i, start;
    const char  *rep;

    start = 0;

    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            continue;
        }

        fedi_json_write(h, (const unsigned char *) s + start, i - start);
        fedi_json_write(h, (const unsigned char *) rep, strlen(rep));
        start = i + 1;
    }

    fedi_json_write(h, (const unsigned char *) s + start, n - start);
}


size_t
fedi_url_len(const char *s, size_t n)
{
    size_t  i, start, depth;

    if (n > 8 && strncmp(s, "https://", 8) == 0) {
        start = 8;

    } else if (n > 7 && strncmp(s, "http://", 7) == 0) {
        start = 7;

    } else {
        return 0;
    }

    depth = 0;

    for (i = start; i < n; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c <= ' ' || c == '<' || c == '>' || c == '"' || c == '\'') {
            break;
        }

        if (c == '(') {
            depth++;

        } else if (c == ')') {
            if (depth == 0) {
                break;
            }

            depth--;
        }
    }

    /* trailing punctuation is not part of the URL */
    while (i > start && strchr(".,:;!?", s[i - 1])) {
        i--;
    }

    return i > start ? i : 0;
}


static void
fedi_html_link(fedi_json_t *h, const char *s, size_t n)
{
    size_t  scheme, rest;

    scheme = (s[4] == 's') ? 8 : 7;

    fedi_html_cstr(h, "<a href=\"");
    fedi_html_escape_n(h, s, n);
    fedi_html_cstr(h, "\" target=\"_blank\" rel=\"nofollow noopener\" "
                      "translate=\"no\"><span class=\"invisible\">");
    fedi_html_escape_n(h, s, scheme);
    fedi_html_cstr(h, "</span>");

    rest = n - scheme;

    if (rest > 30) {
        fedi_html_cstr(h, "<span class=\"ellipsis\">");
        fedi_html_escape_n(h, s + scheme, 30);
        fedi_html_cstr(h, "</span><span class=\"invisible\">");
        fedi_html_escape_n(h, s + scheme + 30, rest - 30);
        fedi_html_cstr(h, "</span>");

    } else {
        fedi_html_cstr(h, "<span class=\"\">");
        fedi_html_escape_n(h, s + scheme, rest);
        fedi_html_cstr(h, "</span>");
    }

    fedi_html_cstr(h, "</a>");
}


void
fedi_text_to_html(fedi_json_t *h, const char *s, size_t n)
{
    fedi_text_format(h, s, n, NULL);
}


static int
fedi_word(unsigned char c)
{
    /* \w, with every non-ASCII byte taken as a letter */
    return isalnum(c) || c == '_' || c >= 0x80;
}


/* "@user" or "@user@domain" at s[0] == '@': the whole length, or 0 */
static size_t
fedi_mention_at(const char *s, size_t n, size_t *ulen, const char **domain,
    size_t *dlen)
{
    size_t  i, d;

    for (i = 1; i < n && (isalnum((unsigned char) s[i]) || s[i] == '_');
         i++)
    {
        /* void */
    }

    if (i == 1) {
        return 0;
    }

    *ulen = i - 1;
    *domain = NULL;
    *dlen = 0;

    if (i + 1 < n && s[i] == '@' && fedi_word((unsigned char) s[i + 1])) {
        d = i + 1;

        for (i = d; i < n && (fedi_word((unsigned char) s[i]) || s[i] == '.'
                              || s[i] == '-');
             i++)
        {
            /* void */
        }

        while (i > d && (s[i - 1] == '.' || s[i - 1] == '-')) {
            i--;
        }

        *domain = s + d;
        *dlen = i - d;
    }

    return i;
}


/* "#tag" at s[0] == '#': the length, or 0; a tag has a non-digit */
static size_t
fedi_hashtag_at(const char *s, size_t n)
{
    size_t  i, alpha;

    alpha = 0;

    for (i = 1; i < n && fedi_word((unsigned char) s[i]); i++) {
        if (!isdigit((unsigned char) s[i])) {
            alpha = 1;
        }
    }

    return (alpha && i > 1) ? i : 0;
}


void
fedi_text_mentions(const char *s, size_t n,
    void (*found)(void *data, const char *user, size_t ulen,
                  const char *domain, size_t dlen), void *data)
{
    size_t       i, len, ulen, dlen;
    const char  *domain;

    for (i = 0; i < n; i++) {
        if (s[i] == '@' && (i == 0 || !(fedi_word((unsigned char) s[i - 1])
                                        || s[i - 1] == '/'))
            && (len = fedi_mention_at(s + i, n - i, &ulen, &domain, &dlen)))
        {
            found(data, s + i + 1, ulen, domain, dlen);
            i += len - 1;
        }
    }
}


size_t
fedi_text_length(const char *s, size_t n)
{
    size_t       i, count, len, ulen, dlen;
    const char  *domain;

    count = 0;

    for (i = 0; i < n; /* void */) {
        if (s[i] == 'h' && (i == 0 || !isalnum((unsigned char) s[i - 1]))
            && (len = fedi_url_len(s + i, n - i)) > 0)
        {
            count += 23;
            i += len;
            continue;
        }

        if (s[i] == '@' && (i == 0 || !fedi_word((unsigned char) s[i - 1]))
            && (len = fedi_mention_at(s + i, n - i, &ulen, &domain, &dlen)))
        {
            count += 1 + ulen;
            i += len;
            continue;
        }

        if (((unsigned char) s[i] & 0xc0) != 0x80) {
            count++;
        }

        i++;
    }

    return count;
}


void
fedi_text_format(fedi_json_t *h, const char *s, size_t n,
    fedi_text_ctx_t *ctx)
{
    size_t       i, start, len, ulen, dlen;
    const char  *url, *domain;

    /* leading and trailing blank lines are dropped, as Mastodon does */
    while (n && (s[0] == '\n' || s[0] == '\r')) {
        s++;
        n--;
    }

    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) {
        n--;
    }

    if (n == 0) {
        return;
    }

    fedi_html_cstr(h, "<p>");

    start = 0;

    for (i = 0; i < n; /* void */) {

        if (s[i] == '\r') {
            fedi_html_escape_n(h, s + start, i - start);
            i++;
            start = i;
            continue;
        }

        if (s[i] == '\n') {
            fedi_html_escape_n(h, s + start, i - start);

            if (i + 1 < n && (s[i + 1] == '\n'
                              || (s[i + 1] == '\r' && i + 2 < n
                                  && s[i + 2] == '\n')))
            {
                while (i < n && (s[i] == '\n' || s[i] == '\r')) {
                    i++;
                }

                fedi_html_cstr(h, "</p><p>");

            } else {
                i++;
                fedi_html_cstr(h, "<br />");
            }

            start = i;
            continue;
        }

        if ((s[i] == 'h') && (i == 0 || !isalnum((unsigned char) s[i - 1]))
            && (len = fedi_url_len(s + i, n - i)) > 0)
        {
            fedi_html_escape_n(h, s + start, i - start);
            fedi_html_link(h, s + i, len);
            i += len;
            start = i;
            continue;
        }

        if (ctx && s[i] == '@'
            && (i == 0 || !(fedi_word((unsigned char) s[i - 1])
                            || s[i - 1] == '/'))
            && (len = fedi_mention_at(s + i, n - i, &ulen, &domain, &dlen))
            && (url = ctx->mention(ctx->data, s + i + 1, ulen, domain, dlen)))
        {
            fedi_html_escape_n(h, s + start, i - start);
            fedi_html_cstr(h, "<span class=\"h-card\" translate=\"no\">"
                              "<a href=\"");
            fedi_html_escape(h, url);
            fedi_html_cstr(h, "\" class=\"u-url mention\">@<span>");
            fedi_html_escape_n(h, s + i + 1, ulen);
            fedi_html_cstr(h, "</span></a></span>");
            i += len;
            start = i;
            continue;
        }

        if (ctx && s[i] == '#'
            && (i == 0 || !(fedi_word((unsigned char) s[i - 1])
                            || s[i - 1] == '/' || s[i - 1] == ')'))
            && (len = fedi_hashtag_at(s + i, n - i)))
        {
            fedi_html_escape_n(h, s + start, i - start);
            fedi_html_cstr(h, "<a href=\"");
            fedi_html_cstr(h, ctx->base_url);
            fedi_html_cstr(h, "/tags/");
            fedi_html_escape_n(h, s + i + 1, len - 1);
            fedi_html_cstr(h, "\" class=\"mention hashtag\" rel=\"tag\">#<span>");
            fedi_html_escape_n(h, s + i + 1, len - 1);
            fedi_html_cstr(h, "</span></a>");

            if (ctx->tag) {
                ctx->tag(ctx->data, s + i + 1, len - 1);
            }

            i += len;
            start = i;
            continue;
        }

        i++;
    }

    fedi_html_escape_n(h, s + start, n - start);
    fedi_html_cstr(h, "</p>");
}
