/*
 * Copyright (C) ngx_fedi authors
 *
 * See fedi_addr.h.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <idn2.h>

#include "fedi_addr.h"


static int
fedi_addr_private4(uint32_t a)
{
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127
           || (a >> 16) == 0xa9fe                 /* 169.254/16 */
           || (a >> 20) == 0xac1                  /* 172.16/12 */
           || (a >> 16) == 0xc0a8                 /* 192.168/16 */
           || (a >> 22) == (0x64400000 >> 22)     /* 100.64/10 */
           || (a >> 8) == 0xc00000                /* 192.0.0/24 */
           || (a >> 17) == (0xc6120000 >> 17)     /* 198.18/15 */
           || (a >> 28) >= 0xe;                   /* multicast, reserved */
}


int
fedi_addr_private(const struct sockaddr *sa)
{
    const uint8_t              *b;
    const struct sockaddr_in6  *sin6;
    static const uint8_t        zero10[10];

    if (sa->sa_family == AF_INET) {
        return fedi_addr_private4(
                   ntohl(((const struct sockaddr_in *) sa)->sin_addr.s_addr));
    }

    if (sa->sa_family != AF_INET6) {
        return 1;
    }

    sin6 = (const struct sockaddr_in6 *) sa;
    b = sin6->sin6_addr.s6_addr;

    /* IPv4 inside: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d), and
     * the NAT64 prefix 64:ff9b::/96 */
    if ((__builtin_memcmp(b, zero10, 10) == 0
         && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0)))
        || (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b
            && __builtin_memcmp(b + 4, zero10, 8) == 0))
    {
        return fedi_addr_private4(((uint32_t) b[12] << 24)
                                  | ((uint32_t) b[13] << 16)
                                  | ((uint32_t) b[14] << 8) | b[15]);
    }

    return (b[0] & 0xfe) == 0xfc                  /* fc00::/7 unique local */
           || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)   /* fe80::/10 */
           || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)   /* fec0::/10 */
           || b[0] == 0xff                        /* multicast */
           || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d
               && b[3] == 0xb8);                  /* 2001:db8::/32 */
}


int
fedi_domain_normalize(const char *in, size_t len, char *out, size_t size)
{
    int          rc;
    char        *ascii, host[256];
    size_t       i, n, plen;
    const char  *port;

    /* a port: up to five digits after the last colon */
    port = NULL;
    plen = 0;

    for (i = len; i > 0; i--) {
        if (in[i - 1] == ':') {
            port = in + i - 1;
            break;
        }
    }

    if (port) {
        plen = len - (port - in);
        len = port - in;

        if (plen < 2 || plen > 6) {
            return -1;
        }

        for (i = 1; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') {
                return -1;
            }
        }
    }

    if (len > 0 && in[len - 1] == '.') {
        len--;
    }

    if (len == 0 || len >= sizeof(host) || memchr(in, '\0', len)) {
        return -1;
    }

    memcpy(host, in, len);
    host[len] = '\0';

    rc = idn2_to_ascii_8z(host, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        return -1;
    }

    n = strlen(ascii);

    /* letters, digits, dashes; dots between labels only */
    for (i = 0; i < n; i++) {
        if (ascii[i] >= 'A' && ascii[i] <= 'Z') {
            ascii[i] += 'a' - 'A';
        }

        if (!((ascii[i] >= 'a' && ascii[i] <= 'z')
              || (ascii[i] >= '0' && ascii[i] <= '9') || ascii[i] == '-'
              || (ascii[i] == '.' && i > 0 && i + 1 < n
                  && ascii[i + 1] != '.')))
        {
            free(ascii);
            return -1;
        }
    }

    if (n == 0 || n > 253 || n + plen + 1 > size) {
        free(ascii);
        return -1;
    }

    memcpy(out, ascii, n);

    if (plen) {
        memcpy(out + n, port, plen);
    }

    out[n + plen] = '\0';
    free(ascii);

    return 0;
}
