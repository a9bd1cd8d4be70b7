/* SPDX-License-Identifier: MIT */
/* IPv4 socket addresses as configuration gives them: "A.B.C.D:PORT". */
#ifndef GALE_BASE_NET_H
#define GALE_BASE_NET_H

#include <netinet/in.h>

/*
 * Parse "A.B.C.D:PORT" (PORT 1 to 65535: decimal digits only, no sign, no
 * blank, nothing after) into out. 0, or -EINVAL (out untouched).
 */
int gb_parse_addr(const char *s, struct sockaddr_in *out);

#endif
