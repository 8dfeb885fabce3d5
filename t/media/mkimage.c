/*
 * Test pictures for t/media.t and the bench, made with libvips:
 *
 *     mkimage OUT.jpg|OUT.png|OUT.webp WIDTH HEIGHT [ORIENTATION [SIGMA]]
 *
 * Smooth colour bands plus Gaussian noise of SIGMA (default 8: a photo's
 * size), EXIF Orientation when given (JPEG), and an EXIF camera make and
 * model, which processing must strip.
 */

#include <stdio.h>
#include <stdlib.h>
#include <vips/vips.h>


int
main(int argc, char **argv)
{
    int         w, h, orientation;
    double      sigma;
    VipsImage  *x, *bands[3], *noise, *rgb, *out, *t;

    if (argc < 4 || VIPS_INIT(argv[0]) != 0) {
        fprintf(stderr, "usage: mkimage OUT W H [ORIENTATION [SIGMA]]\n");
        return 2;
    }

    w = atoi(argv[2]);
    h = atoi(argv[3]);
    orientation = argc > 4 ? atoi(argv[4]) : 0;
    sigma = argc > 5 ? atof(argv[5]) : 8;

    /* x and y ramps make red and green, their sum blue */
    if (vips_xyz(&x, w, h, NULL) != 0
        || vips_extract_band(x, &bands[0], 0, NULL) != 0
        || vips_extract_band(x, &bands[1], 1, NULL) != 0
        || vips_linear1(bands[0], &t, 255.0 / w, 0, NULL) != 0)
    {
        goto failed;
    }

    g_object_unref(bands[0]);
    bands[0] = t;

    if (vips_linear1(bands[1], &t, 255.0 / h, 0, NULL) != 0) {
        goto failed;
    }

    g_object_unref(bands[1]);
    bands[1] = t;

    if (vips_add(bands[0], bands[1], &t, NULL) != 0
        || vips_linear1(t, &bands[2], 0.5, 0, NULL) != 0
        || vips_bandjoin(bands, &rgb, 3, NULL) != 0
        || vips_gaussnoise(&noise, w, h, "sigma", sigma, "mean", 0.0, NULL)
           != 0
        || vips_add(rgb, noise, &t, NULL) != 0
        || vips_cast_uchar(t, &out, NULL) != 0)
    {
        goto failed;
    }

    out = vips_image_copy_memory(out);
    vips_image_set_string(out, "exif-ifd0-Make", "FediCam");
    vips_image_set_string(out, "exif-ifd0-Model", "Secret Model 9");

    if (orientation) {
        vips_image_set_int(out, "orientation", orientation);
    }

    if (vips_image_write_to_file(out, argv[1], NULL) != 0) {
        goto failed;
    }

    return 0;

failed:

    fprintf(stderr, "mkimage: %s\n", vips_error_buffer());
    return 1;
}
