/*
 * Copyright (C) ngx_fedi authors
 *
 * Addresses an outbound fetch may not reach unless fedi_outbound_allow
 * lists them, and domains as they are compared and stored.  nginx-free:
 * unit-tested on its own.
 */

#ifndef _FEDI_ADDR_H_INCLUDED_
#define _FEDI_ADDR_H_INCLUDED_


#include <sys/socket.h>


/* 1: loopback, private, link-local, shared, multicast, reserved or
 * unspecified, in any of its IPv6 disguises; 0: a public address */
int fedi_addr_private(const struct sockaddr *sa);

/*
 * A domain as it is compared and stored, as Mastodon normalizes it: an
 * internationalized name in its ASCII form (IDNA2008 with UTS #46
 * mapping, so case folds and "bücher.example" is "xn--bcher-kva.example"),
 * lower case, without a trailing dot, a ":port" kept.  0, or -1 when in
 * (len bytes, UTF-8) is not a host name or out (size bytes) is too small.
 */
int fedi_domain_normalize(const char *in, size_t len, char *out,
    size_t size);


#endif /* _FEDI_ADDR_H_INCLUDED_ */
