/*
 * Copyright (C) ngx_fedi authors
 *
 * Addresses an outbound fetch may not reach unless fedi_outbound_allow
 * lists them.  nginx-free: unit-tested on its own.
 */

#ifndef _FEDI_ADDR_H_INCLUDED_
#define _FEDI_ADDR_H_INCLUDED_


#include <sys/socket.h>


/* 1: loopback, private, link-local, shared, multicast, reserved or
 * unspecified, in any of its IPv6 disguises; 0: a public address */
int fedi_addr_private(const struct sockaddr *sa);


#endif /* _FEDI_ADDR_H_INCLUDED_ */
