/*
 * Copyright (C) ngx_fedi authors
 *
 * RFC 6455 frames, the part the streaming API needs.  Pure C, no nginx
 * types: unit-tested and fuzzed on its own.  The server reads masked
 * client frames and writes unmasked ones; no extensions.
 */

#ifndef _FEDI_WS_H_INCLUDED_
#define _FEDI_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define FEDI_WS_CONT    0x0
#define FEDI_WS_TEXT    0x1
#define FEDI_WS_BINARY  0x2
#define FEDI_WS_CLOSE   0x8
#define FEDI_WS_PING    0x9
#define FEDI_WS_PONG    0xa

/* close codes */
#define FEDI_WS_NORMAL       1000
#define FEDI_WS_GOING_AWAY   1001
#define FEDI_WS_PROTOCOL     1002
#define FEDI_WS_UNSUPPORTED  1003
#define FEDI_WS_INVALID      1007
#define FEDI_WS_POLICY       1008
#define FEDI_WS_TOO_BIG      1009

#define FEDI_WS_HEADER_MAX   14     /* 2 + 8 + 4 */
#define FEDI_WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


typedef struct {
    unsigned        fin;
    unsigned        opcode;
    unsigned        masked;
    unsigned char   mask[4];
    uint64_t        len;        /* of the payload */
    size_t          header;     /* bytes before the payload */
} fedi_ws_frame_t;


/*
 * A client frame's header from the n bytes at p: 0 when more bytes are
 * needed, the header's length, or -1 with *code the close code to answer
 * (unmasked frame, reserved bits or opcode, a control frame fragmented or
 * longer than 125 bytes, a payload longer than max: 1009).
 */
int fedi_ws_parse(const unsigned char *p, size_t n, size_t max,
    fedi_ws_frame_t *f, unsigned *code);

/* unmasks len bytes that start at offset `off` of the payload */
void fedi_ws_unmask(unsigned char *p, size_t len, const unsigned char *mask,
    uint64_t off);

/* a server frame's header into out (FEDI_WS_HEADER_MAX bytes); its length */
size_t fedi_ws_header(unsigned char *out, unsigned opcode, uint64_t len);

/* whether s is valid UTF-8 (text frames must be) */
int fedi_ws_utf8(const unsigned char *s, size_t len);


#endif /* _FEDI_WS_H_INCLUDED_ */
