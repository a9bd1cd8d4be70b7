/* SPDX-License-Identifier: MIT */
#include "drv.h"

#include "gale/gale.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const struct drv_ops *const drivers[] = {
	&drv_shm_ops,
	&drv_udp_ops,
#ifdef GALE_HAVE_DPDK
	&drv_dpdk_ops,
#endif
};

const struct drv_ops *
drv_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

int
drv_parse_addr(const char *s, struct sockaddr_in *out)
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
	/* PORT: 1 to 5 decimal digits, no sign, no space, nothing after. */
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

int
drv_ctl_addr(const struct drv_conf *conf, uint32_t id, struct sockaddr_in *out)
{
	if (!conf->net || !conf->net->addrs || !conf->member_ids)
		return -EINVAL;
	for (uint32_t k = 0; k < conf->n_members; k++) {
		if (conf->member_ids[k] != id)
			continue;
		struct sockaddr_in a;
		if (drv_parse_addr(conf->net->addrs[k], &a) != 0 || ntohs(a.sin_port) == 65535)
			return -EINVAL;
		a.sin_port = htons((uint16_t)(ntohs(a.sin_port) + 1));
		*out = a;
		return 0;
	}
	return -EINVAL;
}
