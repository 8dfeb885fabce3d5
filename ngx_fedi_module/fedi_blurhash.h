/*
 * Copyright (C) ngx_fedi authors
 *
 * The BlurHash of an image (https://blurha.sh, Algorithm.md of the
 * reference implementation): the DC and AC components of a small cosine
 * transform of the linear-light pixels, quantised and written in base 83.
 * Pure C, no nginx types; unit-tested against the reference hashes.
 */

#ifndef _FEDI_BLURHASH_H_INCLUDED_
#define _FEDI_BLURHASH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* 1 + 1 + 4 + 2 * (9 * 9 - 1) characters and the NUL */
#define FEDI_BLURHASH_MAX  167


/*
 * rgb: 8-bit sRGB, 3 bytes a pixel, stride bytes a row; xc and yc
 * components (1 to 9).  Writes the hash, NUL-terminated, to out
 * (FEDI_BLURHASH_MAX bytes at least); its length, or -1 for bad arguments.
 */
int fedi_blurhash_encode(const uint8_t *rgb, int width, int height,
    size_t stride, int xc, int yc, char *out);


#endif /* _FEDI_BLURHASH_H_INCLUDED_ */
