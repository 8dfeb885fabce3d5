/*
 * WebSocket frames (fedi_ws.c): client frames parsed and refused as RFC
 * 6455 says, server headers written, UTF-8 checked.
 */

#include <string.h>

#include "tap.h"
#include "fedi_ws.h"


static int
parse(const char *bytes, size_t n, size_t max, fedi_ws_frame_t *f,
    unsigned *code)
{
    *code = 0;
    return fedi_ws_parse((const unsigned char *) bytes, n, max, f, code);
}


int
main(void)
{
    int              rc;
    unsigned         code;
    unsigned char    buf[FEDI_WS_HEADER_MAX], p[5];
    fedi_ws_frame_t  f;

    plan(28);

    /* "Hello", masked, as in RFC 6455 section 5.7 */
    rc = parse("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11, 125, &f,
               &code);
    is_int(rc, 6, "a masked text frame: 6 bytes of header");
    ok(f.fin && f.opcode == FEDI_WS_TEXT && f.masked && f.len == 5,
       "fin, text, masked, 5 bytes");
    memcpy(p, "\x7f\x9f\x4d\x51\x58", 5);
    fedi_ws_unmask(p, 5, f.mask, 0);
    ok(memcmp(p, "Hello", 5) == 0, "unmasks to Hello");

    memcpy(p, "\x7f\x9f\x4d\x51\x58", 5);
    fedi_ws_unmask(p, 2, f.mask, 0);
    fedi_ws_unmask(p + 2, 3, f.mask, 2);
    ok(memcmp(p, "Hello", 5) == 0, "unmasking in pieces, by offset");

    is_int(parse("\x81", 1, 125, &f, &code), 0, "one byte: more needed");
    is_int(parse("\x81\x85\x37\xfa", 4, 125, &f, &code), 0,
           "half a mask: more needed");
    is_int(parse("\x81\xfe\x01", 3, 1000, &f, &code), 0,
           "half a 16-bit length: more needed");

    rc = parse("\x81\xfe\x01\x00" "abcd", 8, 1000, &f, &code);
    ok(rc == 8 && f.len == 256, "a 16-bit length");

    rc = parse("\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00" "abcd", 14,
               1 << 20, &f, &code);
    ok(rc == 14 && f.len == 65536, "a 64-bit length");

    rc = parse("\x81\xff\x00\x00\x00\x00\x01\x00\x00\x00" "abcd", 14,
               16384, &f, &code);
    ok(rc == -1 && code == 1009, "16 MB over the cap: 1009");

    rc = parse("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x00" "abcd", 14,
               16384, &f, &code);
    ok(rc == -1 && code == 1002, "the 64th bit set: 1002");

    rc = parse("\x81\x05" "Hello", 7, 125, &f, &code);
    ok(rc == -1 && code == 1002, "unmasked: 1002");

    rc = parse("\xc1\x80" "abcd", 6, 125, &f, &code);
    ok(rc == -1 && code == 1002, "RSV1 set: 1002");

    rc = parse("\x83\x80" "abcd", 6, 125, &f, &code);
    ok(rc == -1 && code == 1002, "a reserved opcode: 1002");

    rc = parse("\x8b\x80" "abcd", 6, 125, &f, &code);
    ok(rc == -1 && code == 1002, "a reserved control opcode: 1002");

    rc = parse("\x09\x80" "abcd", 6, 125, &f, &code);
    ok(rc == -1 && code == 1002, "a fragmented ping: 1002");

    rc = parse("\x89\xfe\x00\x7e" "abcd", 8, 1000, &f, &code);
    ok(rc == -1 && code == 1002, "a ping of 126 bytes: 1002");

    rc = parse("\x88\x82" "abcd", 6, 125, &f, &code);
    ok(rc == 6 && f.opcode == FEDI_WS_CLOSE && f.len == 2, "a close");

    rc = parse("\x00\x80" "abcd", 6, 125, &f, &code);
    ok(rc == 6 && f.opcode == FEDI_WS_CONT && !f.fin, "a continuation");

    is_int(fedi_ws_header(buf, FEDI_WS_TEXT, 5), 2, "server header, short");
    ok(buf[0] == 0x81 && buf[1] == 5, "fin, text, unmasked, 5");
    is_int(fedi_ws_header(buf, FEDI_WS_TEXT, 300), 4, "16-bit length");
    ok(buf[1] == 126 && buf[2] == 1 && buf[3] == 44, "300");
    is_int(fedi_ws_header(buf, FEDI_WS_TEXT, 70000), 10, "64-bit length");
    ok(buf[1] == 127 && buf[7] == 1 && buf[8] == 0x11 && buf[9] == 0x70,
       "70000");

    ok(fedi_ws_utf8((const unsigned char *) "h\xc3\xa9 \xe2\x82\xac"
                    " \xf0\x9f\x98\x80", 12), "valid UTF-8");
    ok(!fedi_ws_utf8((const unsigned char *) "\xc0\xaf", 2)
       && !fedi_ws_utf8((const unsigned char *) "\xed\xa0\x80", 3)
       && !fedi_ws_utf8((const unsigned char *) "\xf4\x90\x80\x80", 4),
       "overlong, surrogate, above U+10FFFF refused");
    ok(!fedi_ws_utf8((const unsigned char *) "ab\xe2\x82", 4),
       "cut short refused");

    return done();
}
