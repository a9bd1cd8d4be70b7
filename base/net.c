/* SPDX-License-Identifier: MIT */
#include "base/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

int
gb_parse_addr(const char *s, struct sockaddr_in *out)
{
	if (!s)
		return -EINVAL;
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= INET_ADDRSTRLEN)
		return -EINVAL;
	char ip[INET_ADDRSTRLEN];
	memcpy(ip, s, (size_t)(colon - s));
	ip[colon - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	const char *p = colon + 1;
	unsigned long port = 0;
	size_t n = 0;
	for (; p[n] >= '0' && p[n] <= '9'; n++)
		if (n < 5)
			port = port * 10 + (unsigned long)(p[n] - '0');
	if (n == 0 || n > 5 || p[n] != '\0' || port < 1 || port > 65535)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	out->sin_addr = a;
	return 0;
}
