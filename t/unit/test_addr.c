/*
 * The addresses an outbound fetch refuses (fedi_addr_private), in every
 * form an attacker could give a DNS answer or a redirect.
 */

#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fedi_addr.h"


#include "tap.h"


static int
private_of(const char *text)
{
    struct sockaddr_in   sin;
    struct sockaddr_in6  sin6;

    memset(&sin, 0, sizeof(sin));
    memset(&sin6, 0, sizeof(sin6));

    if (inet_pton(AF_INET, text, &sin.sin_addr) == 1) {
        sin.sin_family = AF_INET;
        return fedi_addr_private((struct sockaddr *) &sin);
    }

    if (inet_pton(AF_INET6, text, &sin6.sin6_addr) == 1) {
        sin6.sin6_family = AF_INET6;
        return fedi_addr_private((struct sockaddr *) &sin6);
    }

    return -1;
}


int
main(void)
{
    static const char *refused[] = {
        "127.0.0.1", "127.255.255.254", "10.0.0.1", "10.255.255.255",
        "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3",
        "192.0.0.8", "198.18.0.1", "198.19.255.255", "224.0.0.1",
        "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "febf::1", "fec0::1", "fc00::1", "fd12::1",
        "ff02::1", "2001:db8::1",
        "::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
        "::127.0.0.1", "::ffff:0.0.0.0", "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
    };
    static const char *allowed[] = {
        "8.8.8.8", "1.1.1.1", "172.15.255.255", "172.32.0.1", "100.63.255.255",
        "100.128.0.1", "169.253.0.1", "192.169.0.1", "198.17.255.255",
        "198.20.0.1", "223.255.255.255", "11.0.0.1",
        "2606:4700::1111", "2a00:1450::1", "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    };
    size_t  i;

    for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        ok(private_of(refused[i]) == 1, "%s is refused", refused[i]);
    }

    for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
        ok(private_of(allowed[i]) == 0, "%s may be fetched", allowed[i]);
    }

    {
        struct sockaddr  sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_family = AF_UNIX;
        ok(fedi_addr_private(&sa) == 1, "another family is refused");
    }

    /* domains as they are compared and stored */
    {
        static const char *same[][2] = {
            { "example.com", "example.com" },
            { "Example.COM", "example.com" },
            { "example.com.", "example.com" },
            { "EXAMPLE.com.:8443", "example.com:8443" },
            { "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
            { "B\xc3\x9c" "CHER.example", "xn--bcher-kva.example" },
            { "xn--bcher-kva.example", "xn--bcher-kva.example" },
            { "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
              "xn--r8jz45g.xn--zckzah" },
            /* UTS #46 maps the fullwidth dot and letters */
            { "\xef\xbd\x85" "xample\xef\xbc\x8e" "com", "example.com" },
            { "stra\xc3\x9f" "e.de", "xn--strae-oqa.de" },
        };
        static const char *bad[] = {
            "", ".", "..", "a..b", ".example.com", "exa mple.com",
            "example.com:", "example.com:123456", "example.com:80a",
            "exa_mple.com", "ex/ample.com", "ex@mple.com",
            "\xff\xfe.example", "xn--zz.example",
        };
        char    out[300];
        size_t  k;

        for (k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
            ok(fedi_domain_normalize(same[k][0], strlen(same[k][0]), out,
                                     sizeof(out)) == 0
               && strcmp(out, same[k][1]) == 0,
               "the domain %s is %s", same[k][0], same[k][1]);
        }

        for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            ok(fedi_domain_normalize(bad[k], strlen(bad[k]), out,
                                     sizeof(out)) == -1,
               "\"%s\" is not a domain", bad[k]);
        }

        ok(fedi_domain_normalize("example.com", 11, out, 11) == -1,
           "a domain longer than the room for it is refused");
        ok(fedi_domain_normalize("a\0b.example", 11, out, sizeof(out))
           == -1, "a NUL inside is refused");
    }

    return done();
}
