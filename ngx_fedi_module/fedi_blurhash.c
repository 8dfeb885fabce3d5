/*
 * Copyright (C) ngx_fedi authors
 *
 * The BlurHash encoder.  The reference encoder sums in single precision,
 * and its published hashes are what every client decodes the same way, so
 * the arithmetic here is single precision too: a hash is a quantisation,
 * and a sum in double lands on the other side of a step now and then.
 */


#include <math.h>
#include <string.h>

#include "fedi_blurhash.h"


static float fedi_srgb_to_linear(int v);
static int fedi_linear_to_srgb(float v);
static float fedi_sign_pow(float v, float e);
static char *fedi_base83(int value, int digits, char *p);


static const char  fedi_base83_digits[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    "#$%*+,-.:;=?@[]^_{|}~";


int
fedi_blurhash_encode(const uint8_t *rgb, int width, int height,
    size_t stride, int xc, int yc, char *out)
{
    int             x, y, i, j, n, q;
    char           *p;
    float           f[9 * 9][3], lin[256], norm, scale, basis, max, qmax;
    float           cy, ac;
    const uint8_t  *px;

    if (xc < 1 || xc > 9 || yc < 1 || yc > 9 || width < 1 || height < 1
        || rgb == NULL)
    {
        return -1;
    }

    for (i = 0; i < 256; i++) {
        lin[i] = fedi_srgb_to_linear(i);
    }

    memset(f, 0, sizeof(f));

    for (j = 0; j < yc; j++) {
        for (i = 0; i < xc; i++) {
            n = j * xc + i;

            for (y = 0; y < height; y++) {
                cy = cosf(M_PI * j * y / height);
                px = rgb + (size_t) y * stride;

                for (x = 0; x < width; x++) {
                    basis = cosf(M_PI * i * x / width) * cy;
                    f[n][0] += basis * lin[px[3 * x]];
                    f[n][1] += basis * lin[px[3 * x + 1]];
                    f[n][2] += basis * lin[px[3 * x + 2]];
                }
            }

            norm = (i == 0 && j == 0) ? 1 : 2;
            scale = norm / ((float) width * height);

            f[n][0] *= scale;
            f[n][1] *= scale;
            f[n][2] *= scale;
        }
    }

    p = fedi_base83((xc - 1) + (yc - 1) * 9, 1, out);

    n = xc * yc;

    if (n > 1) {
        max = 0;

        for (i = 1; i < n; i++) {
            for (j = 0; j < 3; j++) {
                max = fmaxf(fabsf(f[i][j]), max);
            }
        }

        q = (int) fmaxf(0, fminf(82, floorf(max * 166 - 0.5)));
        qmax = ((float) q + 1) / 166;
        p = fedi_base83(q, 1, p);

    } else {
        qmax = 1;
        p = fedi_base83(0, 1, p);
    }

    p = fedi_base83((fedi_linear_to_srgb(f[0][0]) << 16)
                    + (fedi_linear_to_srgb(f[0][1]) << 8)
                    + fedi_linear_to_srgb(f[0][2]), 4, p);

    for (i = 1; i < n; i++) {
        q = 0;

        for (j = 0; j < 3; j++) {
            ac = floorf(fedi_sign_pow(f[i][j] / qmax, 0.5f) * 9 + 9.5);
            q = q * 19 + (int) fmaxf(0, fminf(18, ac));
        }

        p = fedi_base83(q, 2, p);
    }

    *p = '\0';

    return (int) (p - out);
}


/* the transfer functions of sRGB, with the constants in double as the
 * reference has them */
static float
fedi_srgb_to_linear(int v)
{
    float  c;

    c = (float) v / 255;

    if (c <= 0.04045) {
        return c / 12.92;
    }

    return powf((c + 0.055) / 1.055, 2.4);
}


static int
fedi_linear_to_srgb(float v)
{
    float  c;

    c = fmaxf(0, fminf(1, v));

    if (c <= 0.0031308) {
        return (int) (c * 12.92 * 255 + 0.5);
    }

    return (int) ((1.055 * powf(c, 1 / 2.4) - 0.055) * 255 + 0.5);
}


static float
fedi_sign_pow(float v, float e)
{
    return copysignf(powf(fabsf(v), e), v);
}


/* value in digits base-83 digits, most significant first */
static char *
fedi_base83(int value, int digits, char *p)
{
    int  i;

    for (i = digits - 1; i >= 0; i--) {
        p[i] = fedi_base83_digits[value % 83];
        value /= 83;
    }

    return p + digits;
}
