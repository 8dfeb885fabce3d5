/*
 * fedi_blurhash_encode() against the reference implementation's published
 * hashes (woltapp/blurhash, Reference/Hashes.csv) of its test pictures
 * (t/unit/blurhash/, MIT licensed, Copyright (c) 2018 Wolt Enterprises),
 * loaded as the reference loads them: 8-bit RGB, alpha dropped.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "fedi_blurhash.h"


#include "tap.h"


/* glib's one-time allocations are not ours to report */
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
    return "detect_leaks=0";
}


static const struct {
    const char  *file;
    int          x, y;
    const char  *hash;
} vectors[] = {
    { "pic2.png", 1, 1, "00MF%n" },
    { "pic2.png", 1, 4, "R5MF%n8D9t4T" },
    { "pic2.png", 2, 7, "tlMF%n00S|WCR*bbRjofs:ofs:jsWVf8" },
    { "pic2.png", 4, 3, "LlMF%n00%#MwS|WCWEM{R*bbWBbH" },
    { "pic2.png", 4, 4, "UlMF%n00%#MwS|WCWEM{R*bbWBbHRjofs.R*" },
    { "pic2.png", 8, 8, ":lMF%n00%#Mwo}wbtRjFS|WCWEM{a$s.WBazR*bbWBbHflaxt7ae"
                        "Rjofs.R*R+axR+WBs:ofjsofbFWBflfjs:jsWCfQjZWCbHkCWVf8"
                        "j@jsjsa|ayj@oLj[azj?j[f6oLay" },
    { "pic4.png", 1, 2, "908ia?tk" },
    { "pic4.png", 4, 3, "L08ia?o|fQo|tkfQfQfQfQfQfQfQ" },
    { "pic4.png", 5, 5, "e08ia?o|fQo|fQtkfQfQfQfQfQfQfQfQfQtkfQfQfQfQfQfQfQ"
                        "fQfQ" },
    { "pic5.png", 1, 1, "00HV9w" },
    { "pic5.png", 2, 1, "10HV9w%M" },
    { "pic5.png", 4, 3, "L%HV9wj[fQj[~qfQfQfQ%MfQfQfQ" },
    { "pic5.png", 3, 8, "*%HV9wj[fQ~qfQfQ%MfQfQt7fQfQt7fQfQoffQfQoffQfQoffQ"
                        "fQ" },
};


static uint8_t *
load_rgb(const char *dir, const char *file, int *w, int *h)
{
    char        path[512];
    size_t      len;
    uint8_t    *rgb;
    VipsImage  *in, *rgb3;

    snprintf(path, sizeof(path), "%s/%s", dir, file);

    in = vips_image_new_from_file(path, NULL);
    if (in == NULL) {
        diag("%s: %s", path, vips_error_buffer());
        return NULL;
    }

    if (vips_extract_band(in, &rgb3, 0, "n", 3, NULL) != 0) {
        g_object_unref(in);
        return NULL;
    }

    *w = vips_image_get_width(rgb3);
    *h = vips_image_get_height(rgb3);
    rgb = vips_image_write_to_memory(rgb3, &len);

    g_object_unref(rgb3);
    g_object_unref(in);

    return rgb;
}


int
main(int argc, char **argv)
{
    int         w, h, n;
    char        hash[FEDI_BLURHASH_MAX];
    size_t      i;
    uint8_t    *rgb;
    const char *dir;

    (void) argc;

    if (VIPS_INIT(argv[0]) != 0) {
        return 1;
    }

    dir = getenv("FEDI_BLURHASH_DIR");
    if (dir == NULL) {
        dir = "t/unit/blurhash";
    }

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        rgb = load_rgb(dir, vectors[i].file, &w, &h);
        if (!ok(rgb != NULL, "%s loads", vectors[i].file)) {
            continue;
        }

        n = fedi_blurhash_encode(rgb, w, h, (size_t) w * 3, vectors[i].x,
                                 vectors[i].y, hash);

        is_str(n > 0 ? hash : NULL, vectors[i].hash, "%s %dx%d",
               vectors[i].file, vectors[i].x, vectors[i].y);

        g_free(rgb);
    }

    /* what the encoder refuses */
    is_int(fedi_blurhash_encode((const uint8_t *) "abc", 1, 1, 3, 0, 1,
                                hash), -1, "0 components: refused");
    is_int(fedi_blurhash_encode((const uint8_t *) "abc", 1, 1, 3, 10, 1,
                                hash), -1, "10 components: refused");
    is_int(fedi_blurhash_encode((const uint8_t *) "abc", 0, 1, 3, 4, 3,
                                hash), -1, "no pixels: refused");
    is_int(fedi_blurhash_encode((const uint8_t *) "abc", 1, 1, 3, 9, 9,
                                hash), FEDI_BLURHASH_MAX - 1,
           "9x9 fills the largest hash");

    return done();
}
