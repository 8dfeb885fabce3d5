/*
 * Copyright (C) ngx_fedi authors
 *
 * Remote HTML through gumbo's HTML5 parser, written out again with only
 * what Mastodon's allow-list (Sanitize::Config::MASTODON_STRICT) keeps.
 * The tree is walked without recursion (parent links), so no input can
 * exhaust a thread's stack here; the markup of a document with more than
 * FEDI_SANITIZE_MAX_TAGS tags is not parsed at all.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gumbo.h>

#include "fedi_sanitize.h"


#define FEDI_SANITIZE_MAX_DEPTH  100    /* deeper elements: text only */


typedef struct {
    char    *p;
    size_t   len;
    size_t   cap;
    int      oom;
} fedi_buf_t;


typedef enum {
    FEDI_EL_UNWRAP = 0,     /* the element goes, its content stays */
    FEDI_EL_DROP,           /* the element and its content go */
    FEDI_EL_KEEP,
    FEDI_EL_HEADING,        /* <p><strong>...</strong></p> */
    FEDI_EL_LINK
} fedi_el_e;


static void
fedi_put(fedi_buf_t *b, const char *s, size_t n)
{
    char    *p;
    size_t   cap;

    if (b->oom) {
        return;
    }

    if (b->len + n + 1 > b->cap) {
        cap = b->cap ? b->cap : 256;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }

        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }

        b->p = p;
        b->cap = cap;
    }

    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}


static void
fedi_puts(fedi_buf_t *b, const char *s)
{
    fedi_put(b, s, strlen(s));
}


/* & < > " escaped: safe in content and in double-quoted attributes */
static void
fedi_esc(fedi_buf_t *b, const char *s, size_t n)
{
    size_t       i, start;
    const char  *rep;

    for (i = 0, start = 0; i < n; i++) {
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }

        fedi_put(b, s + start, i - start);
        fedi_puts(b, rep);
        start = i + 1;
    }

    fedi_put(b, s + start, n - start);
}


static fedi_el_e
fedi_el_kind(GumboNode *node)
{
    if (node->v.element.tag_namespace != GUMBO_NAMESPACE_HTML) {
        return FEDI_EL_DROP;
    }

    switch (node->v.element.tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_BR: case GUMBO_TAG_SPAN:
    case GUMBO_TAG_DEL: case GUMBO_TAG_S: case GUMBO_TAG_PRE:
    case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_CODE: case GUMBO_TAG_B:
    case GUMBO_TAG_STRONG: case GUMBO_TAG_U: case GUMBO_TAG_I:
    case GUMBO_TAG_EM: case GUMBO_TAG_UL: case GUMBO_TAG_OL:
    case GUMBO_TAG_LI: case GUMBO_TAG_RUBY: case GUMBO_TAG_RT:
    case GUMBO_TAG_RP:
        return FEDI_EL_KEEP;

    case GUMBO_TAG_A:
        return FEDI_EL_LINK;

    case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3:
    case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
        return FEDI_EL_HEADING;

    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_IFRAME: case GUMBO_TAG_OBJECT: case GUMBO_TAG_EMBED:
    case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_NOFRAMES: case GUMBO_TAG_NOEMBED:
    case GUMBO_TAG_TEXTAREA: case GUMBO_TAG_SELECT: case GUMBO_TAG_TITLE:
    case GUMBO_TAG_HEAD: case GUMBO_TAG_SVG: case GUMBO_TAG_MATH:
    case GUMBO_TAG_XMP: case GUMBO_TAG_PLAINTEXT: case GUMBO_TAG_APPLET:
    case GUMBO_TAG_FRAMESET: case GUMBO_TAG_AUDIO: case GUMBO_TAG_VIDEO:
    case GUMBO_TAG_CANVAS: case GUMBO_TAG_OPTION: case GUMBO_TAG_DATALIST:
        return FEDI_EL_DROP;

    default:
        return FEDI_EL_UNWRAP;
    }
}


static const char *
fedi_attr(GumboNode *node, const char *name)
{
    GumboAttribute  *a;

    a = gumbo_get_attribute(&node->v.element.attributes, name);

    return a ? a->value : NULL;
}


/* translate="no", the only value Mastodon keeps, on a and span */
static void
fedi_translate(fedi_buf_t *b, GumboNode *node)
{
    const char  *t;

    t = fedi_attr(node, "translate");

    if (t && strcasecmp(t, "no") == 0) {
        fedi_puts(b, " translate=\"no\"");
    }
}


/* an href we keep: http or https */
static const char *
fedi_href(GumboNode *node)
{
    const char  *href;

    href = fedi_attr(node, "href");

    if (href == NULL
        || (strncasecmp(href, "http://", 7) != 0
            && strncasecmp(href, "https://", 8) != 0))
    {
        return NULL;
    }

    return href;
}


static int
fedi_class_ok(const char *s, size_t n)
{
    static const char  *names[] = { "mention", "hashtag", "ellipsis",
                                    "invisible", NULL };
    const char        **p;

    if ((n > 2 && (s[0] == 'h' || s[0] == 'p' || s[0] == 'u' || s[0] == 'e')
         && s[1] == '-')
        || (n > 3 && s[0] == 'd' && s[1] == 't' && s[2] == '-'))
    {
        return 1;
    }

    for (p = names; *p; p++) {
        if (strlen(*p) == n && memcmp(*p, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


/* the allowed classes of the element, as a class attribute */
static void
fedi_classes(fedi_buf_t *b, GumboNode *node)
{
    size_t       n;
    const char  *c, *start;
    int          first;

    c = fedi_attr(node, "class");
    if (c == NULL) {
        return;
    }

    first = 1;

    while (*c) {
        c += strspn(c, " \t\n\f\r");
        start = c;
        n = strcspn(c, " \t\n\f\r");
        c += n;

        if (n == 0 || !fedi_class_ok(start, n)) {
            continue;
        }

        fedi_puts(b, first ? " class=\"" : " ");
        fedi_esc(b, start, n);
        first = 0;
    }

    if (!first) {
        fedi_puts(b, "\"");
    }
}


static int
fedi_digits(const char *s)
{
    return s && *s && strlen(s) <= 9 && strspn(s, "0123456789") == strlen(s);
}


static void
fedi_open(fedi_buf_t *b, GumboNode *node, fedi_el_e kind)
{
    const char  *href, *v;

    if (kind == FEDI_EL_HEADING) {
        fedi_puts(b, "<p><strong>");
        return;
    }

    if (kind == FEDI_EL_LINK) {
        href = fedi_href(node);

        if (href == NULL) {
            fedi_puts(b, "<span");
            fedi_classes(b, node);
            fedi_translate(b, node);
            fedi_puts(b, ">");
            return;
        }

        fedi_puts(b, "<a href=\"");
        fedi_esc(b, href, strlen(href));
        fedi_puts(b, "\" rel=\"nofollow noopener noreferrer\""
                     " target=\"_blank\"");
        fedi_classes(b, node);
        fedi_translate(b, node);
        fedi_puts(b, ">");
        return;
    }

    switch (node->v.element.tag) {
    case GUMBO_TAG_BR:
        fedi_puts(b, "<br />");
        return;

    case GUMBO_TAG_SPAN:
        fedi_puts(b, "<span");
        fedi_classes(b, node);
        fedi_translate(b, node);
        fedi_puts(b, ">");
        return;

    case GUMBO_TAG_OL:
        fedi_puts(b, "<ol");
        v = fedi_attr(node, "start");
        if (fedi_digits(v)) {
            fedi_puts(b, " start=\"");
            fedi_puts(b, v);
            fedi_puts(b, "\"");
        }
        if (fedi_attr(node, "reversed")) {
            fedi_puts(b, " reversed");
        }
        fedi_puts(b, ">");
        return;

    case GUMBO_TAG_LI:
        fedi_puts(b, "<li");
        v = fedi_attr(node, "value");
        if (fedi_digits(v)) {
            fedi_puts(b, " value=\"");
            fedi_puts(b, v);
            fedi_puts(b, "\"");
        }
        fedi_puts(b, ">");
        return;

    default:
        fedi_puts(b, "<");
        fedi_puts(b, gumbo_normalized_tagname(node->v.element.tag));
        fedi_puts(b, ">");
    }
}


static void
fedi_close(fedi_buf_t *b, GumboNode *node, fedi_el_e kind)
{
    if (kind == FEDI_EL_HEADING) {
        fedi_puts(b, "</strong></p>");
        return;
    }

    if (kind == FEDI_EL_LINK) {
        fedi_puts(b, fedi_href(node) ? "</a>" : "</span>");
        return;
    }

    if (node->v.element.tag == GUMBO_TAG_BR) {
        return;
    }

    fedi_puts(b, "</");
    fedi_puts(b, gumbo_normalized_tagname(node->v.element.tag));
    fedi_puts(b, ">");
}


/* whether the element's tags are written (its content is, but DROP) */
static fedi_el_e
fedi_el_shown(GumboNode *node, size_t depth)
{
    fedi_el_e  kind;

    kind = fedi_el_kind(node);

    if (kind != FEDI_EL_DROP && depth >= FEDI_SANITIZE_MAX_DEPTH) {
        return FEDI_EL_UNWRAP;
    }

    return kind;
}


static void
fedi_walk(fedi_buf_t *b, GumboNode *top)
{
    size_t      depth, i;
    fedi_el_e   kind;
    GumboNode  *node, *parent;

    if (top->v.element.children.length == 0) {
        return;
    }

    node = top->v.element.children.data[0];
    depth = 0;

    while (node) {

        /* enter the node */

        if (node->type == GUMBO_NODE_TEXT
            || node->type == GUMBO_NODE_WHITESPACE
            || node->type == GUMBO_NODE_CDATA)
        {
            fedi_esc(b, node->v.text.text, strlen(node->v.text.text));

        } else if (node->type == GUMBO_NODE_ELEMENT
                   || node->type == GUMBO_NODE_TEMPLATE)
        {
            kind = fedi_el_shown(node, depth);

            if (kind != FEDI_EL_DROP) {
                if (kind != FEDI_EL_UNWRAP) {
                    fedi_open(b, node, kind);
                }

                if (node->v.element.children.length) {
                    node = node->v.element.children.data[0];
                    depth++;
                    continue;
                }

                if (kind != FEDI_EL_UNWRAP) {
                    fedi_close(b, node, kind);
                }
            }
        }

        /* leave it: its next sibling, or up, closing what is left */

        for ( ;; ) {
            parent = node->parent;
            i = node->index_within_parent + 1;

            if (i < parent->v.element.children.length) {
                node = parent->v.element.children.data[i];
                break;
            }

            if (parent == top) {
                node = NULL;
                break;
            }

            node = parent;
            depth--;

            kind = fedi_el_shown(node, depth);
            if (kind != FEDI_EL_UNWRAP && kind != FEDI_EL_DROP) {
                fedi_close(b, node, kind);
            }
        }
    }
}


/* too much markup: the text between tags, escaped, in one paragraph */
static void
fedi_text_only(fedi_buf_t *b, const char *s, size_t n)
{
    size_t  i, start;
    int     in_tag;

    fedi_puts(b, "<p>");

    for (i = 0, start = 0, in_tag = 0; i < n; i++) {
        if (!in_tag && s[i] == '<') {
            fedi_esc(b, s + start, i - start);
            in_tag = 1;

        } else if (in_tag && s[i] == '>') {
            in_tag = 0;
            start = i + 1;
        }
    }

    if (!in_tag) {
        fedi_esc(b, s + start, n - start);
    }

    fedi_puts(b, "</p>");
}


char *
fedi_sanitize_html(const char *html, size_t len)
{
    size_t        i, tags;
    GumboNode    *root, *child;
    fedi_buf_t    b;
    GumboOutput  *out;

    memset(&b, 0, sizeof(fedi_buf_t));
    fedi_put(&b, "", 0);

    for (i = 0, tags = 0; i < len; i++) {
        tags += (html[i] == '<');
    }

    if (tags > FEDI_SANITIZE_MAX_TAGS) {
        fedi_text_only(&b, html, len);
        goto done;
    }

    out = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
    if (out == NULL) {
        free(b.p);
        return NULL;
    }

    root = out->root;

    for (i = 0; i < root->v.element.children.length; i++) {
        child = root->v.element.children.data[i];

        if (child->type == GUMBO_NODE_ELEMENT
            && child->v.element.tag == GUMBO_TAG_BODY)
        {
            fedi_walk(&b, child);
        }
    }

    gumbo_destroy_output(&kGumboDefaultOptions, out);

done:

    if (b.oom) {
        free(b.p);
        return NULL;
    }

    return b.p;
}
