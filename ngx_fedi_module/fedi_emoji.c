/*
 * Copyright (C) ngx_fedi authors
 *
 * Custom emojis as Mastodon shows them: the CustomEmoji entity (in
 * statuses, accounts, announcements and /api/v1/custom_emojis) and the
 * Emoji tag of Notes and actors.  A local emoji is a file under
 * fedi_media_root, so its URL is made here from fedi_media_url; a remote
 * one keeps its remote URL.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "fedi.h"
#include "fedi_account.h"
#include "fedi_emoji.h"
#include "ap.h"


/* the elements of a FEDI_EMOJIS_OF array */
enum {
    E_SHORTCODE = 0, E_FILE, E_URL, E_STATIC_URL, E_VISIBLE, E_CATEGORY,
    E_ID, E_CONTENT_TYPE, E_UPDATED, E_URI
};


static const char *fedi_emoji_str(json_t *a, size_t i);
static void fedi_emoji_render(fedi_req_t *rq, fedi_json_t *j,
    const char *shortcode, const char *file, const char *url,
    const char *static_url, ngx_uint_t visible, const char *category);
static void fedi_emoji_tag(fedi_req_t *rq, fedi_json_t *j, json_t *a,
    ngx_uint_t context);
static void ap_emoji(fedi_req_t *rq);
static void ap_emoji_loaded(fedi_req_t *rq, PGresult *res);


/* the id of the Emoji tags of our Notes and actors */
const fedi_route_t  fedi_routes_emojis[] = {
    { GET, "/emojis/:id", ap_emoji, NULL, CORS|SIGNED },
    { 0, NULL, NULL, NULL, 0 }
};
static ngx_uint_t fedi_emoji_base(uint32_t c);


static const char *
fedi_emoji_str(json_t *a, size_t i)
{
    json_t  *v;

    v = json_array_get(a, i);

    return json_is_string(v) ? json_string_value(v) : NULL;
}


void
fedi_emoji_kurl(fedi_req_t *rq, fedi_json_t *j, const char *key,
    const char *file, const char *url)
{
    fedi_account_media_url(rq, j, key, file, url, "avatar.png");
}


static void
fedi_emoji_render(fedi_req_t *rq, fedi_json_t *j, const char *shortcode,
    const char *file, const char *url, const char *static_url,
    ngx_uint_t visible, const char *category)
{
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "shortcode", shortcode);
    fedi_emoji_kurl(rq, j, "url", file, url);
    fedi_emoji_kurl(rq, j, "static_url", file, static_url ? static_url : url);
    fedi_json_kbool(j, "visible_in_picker", visible);

    /* as Mastodon's serializer: only an emoji's own category */
    if (category && category[0]) {
        fedi_json_kcstr(j, "category", category);
    }

    fedi_json_obj_close(j);
}


void
fedi_emojis_render(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int col)
{
    size_t   i;
    json_t  *list, *a;

    fedi_json_key(j, "emojis");
    fedi_json_arr_open(j);

    if (col >= 0 && !PQgetisnull(res, row, col)) {
        list = json_loadb(PQgetvalue(res, row, col),
                          PQgetlength(res, row, col), 0, NULL);

        json_array_foreach(list, i, a) {
            if (!json_is_array(a) || fedi_emoji_str(a, E_SHORTCODE) == NULL)
            {
                continue;
            }

            fedi_emoji_render(rq, j, fedi_emoji_str(a, E_SHORTCODE),
                              fedi_emoji_str(a, E_FILE),
                              fedi_emoji_str(a, E_URL),
                              fedi_emoji_str(a, E_STATIC_URL),
                              json_is_true(json_array_get(a, E_VISIBLE)),
                              fedi_emoji_str(a, E_CATEGORY));
        }

        json_decref(list);
    }

    fedi_json_arr_close(j);
}


void
fedi_emoji_render_cols(fedi_req_t *rq, fedi_json_t *j, PGresult *res,
    int row, int col)
{
    fedi_emoji_render(rq, j, PQgetvalue(res, row, col),
                      fedi_pg_val(res, row, col + 1),
                      fedi_pg_val(res, row, col + 2),
                      fedi_pg_val(res, row, col + 3),
                      fedi_pg_bool(res, row, col + 4),
                      fedi_pg_val(res, row, col + 5));
}


void
fedi_emoji_tags(fedi_req_t *rq, fedi_json_t *j, PGresult *res, int row,
    int col)
{
    size_t   i;
    json_t  *list, *a;

    if (PQgetisnull(res, row, col)) {
        return;
    }

    list = json_loadb(PQgetvalue(res, row, col), PQgetlength(res, row, col),
                      0, NULL);

    json_array_foreach(list, i, a) {
        if (json_is_array(a) && fedi_emoji_str(a, E_SHORTCODE)) {
            fedi_emoji_tag(rq, j, a, 0);
        }
    }

    json_decref(list);
}


/* Mastodon's ActivityPub::EmojiSerializer; context: a document's own */
static void
fedi_emoji_tag(fedi_req_t *rq, fedi_json_t *j, json_t *a,
    ngx_uint_t context)
{
    u_char       buf[512], *p;
    const char  *file, *type, *updated;

    static const char  ctx[] =
        "[\"" FEDI_AP_AS "\",{\"toot\":\"http://joinmastodon.org/ns#\","
        "\"Emoji\":\"toot:Emoji\"}]";

    file = fedi_emoji_str(a, E_FILE);

    fedi_json_obj_open(j);

    if (context) {
        fedi_json_kraw(j, "@context", (u_char *) ctx, sizeof(ctx) - 1);
    }

    if (file) {
        p = ngx_snprintf(buf, sizeof(buf), "%V/emojis/%s",
                         &rq->mcf->base_url, fedi_emoji_str(a, E_ID));
        fedi_json_kstr(j, "id", buf, p - buf);

    } else {
        fedi_json_kcstr(j, "id", fedi_emoji_str(a, E_URI));
    }

    fedi_json_kcstr(j, "type", "Emoji");
    p = ngx_snprintf(buf, sizeof(buf), ":%s:", fedi_emoji_str(a, E_SHORTCODE));
    fedi_json_kstr(j, "name", buf, p - buf);

    updated = fedi_emoji_str(a, E_UPDATED);
    if (updated) {
        fedi_json_kcstr(j, "updated", updated);
    }

    fedi_json_key(j, "icon");
    fedi_json_obj_open(j);
    fedi_json_kcstr(j, "type", "Image");

    type = fedi_emoji_str(a, E_CONTENT_TYPE);
    if (type) {
        fedi_json_kcstr(j, "mediaType", type);
    }

    fedi_emoji_kurl(rq, j, "url", file, fedi_emoji_str(a, E_URL));
    fedi_json_obj_close(j);

    fedi_json_obj_close(j);
}


static void
ap_emoji(fedi_req_t *rq)
{
    char  *id;

    id = fedi_path_id(rq, 0);
    if (id == NULL) {
        return;
    }

    fedi_query(rq, FEDI_SQL_AP_EMOJI, ap_emoji_loaded, 1, id);
}


static void
ap_emoji_loaded(fedi_req_t *rq, PGresult *res)
{
    json_t       *a;
    fedi_json_t  *j;

    if (PQntuples(res) != 1) {
        fedi_send_error(rq, NGX_HTTP_NOT_FOUND, "Record not found");
        return;
    }

    a = json_loadb(PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), 0, NULL);
    j = fedi_json_new(rq);

    if (a == NULL || j == NULL) {
        json_decref(a);
        fedi_send_internal_error(rq);
        return;
    }

    fedi_emoji_tag(rq, j, a, 1);
    json_decref(a);

    fedi_ap_send(rq, j, FEDI_AP_TYPE);
}


/*
 * What may start an emoji (a reaction's name): the pictographic blocks
 * and the older symbols Unicode gives an emoji presentation.  Mastodon
 * checks against its picker's list; these ranges hold that list.
 */
static ngx_uint_t
fedi_emoji_base(uint32_t c)
{
    static const uint32_t  ranges[][2] = {
        { 0x00A9, 0x00A9 }, { 0x00AE, 0x00AE }, { 0x203C, 0x203C },
        { 0x2049, 0x2049 }, { 0x2122, 0x2122 }, { 0x2139, 0x2139 },
        { 0x2194, 0x2199 }, { 0x21A9, 0x21AA }, { 0x231A, 0x231B },
        { 0x2328, 0x2328 }, { 0x23CF, 0x23CF }, { 0x23E9, 0x23F3 },
        { 0x23F8, 0x23FA }, { 0x24C2, 0x24C2 }, { 0x25AA, 0x25AB },
        { 0x25B6, 0x25B6 }, { 0x25C0, 0x25C0 }, { 0x25FB, 0x25FE },
        { 0x2600, 0x27BF }, { 0x2934, 0x2935 }, { 0x2B05, 0x2B07 },
        { 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 }, { 0x2B55, 0x2B55 },
        { 0x3030, 0x3030 }, { 0x303D, 0x303D }, { 0x3297, 0x3297 },
        { 0x3299, 0x3299 }, { 0x1F000, 0x1FAFF }
    };

    ngx_uint_t  i;

    for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        if (c >= ranges[i][0] && c <= ranges[i][1]) {
            return 1;
        }
    }

    return 0;
}


ngx_uint_t
fedi_emoji_unicode(const u_char *s, size_t n)
{
    u_char      *p, *end;
    uint32_t     c;
    ngx_uint_t   count, keycap;

    if (n == 0 || n > 64) {
        return 0;
    }

    p = (u_char *) s;
    end = p + n;
    count = 0;
    keycap = 0;

    while (p < end) {
        /* (nginx's decoder reads only what is not ASCII) */
        c = (*p < 0x80) ? *p++ : ngx_utf8_decode(&p, end - p);
        if (c > 0x10FFFF) {
            return 0;
        }

        if (count++ == 0) {
            /* 1️⃣, #️⃣: a keycap's base, then what makes it one */
            if ((c >= '0' && c <= '9') || c == '#' || c == '*') {
                keycap = 1;
                continue;
            }

            if (!fedi_emoji_base(c)) {
                return 0;
            }

            continue;
        }

        if (c == 0x200D || c == 0xFE0F || c == 0xFE0E || c == 0x20E3
            || (c >= 0xE0020 && c <= 0xE007F) || fedi_emoji_base(c))
        {
            if (c == 0x20E3) {
                keycap = 0;
            }

            continue;
        }

        return 0;
    }

    return count <= 16 && !keycap;
}
