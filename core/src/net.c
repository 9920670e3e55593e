/*
 * Listening addresses given by users (see kx/net.h).
 */
#include "kx/net.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kx/err.h"

int
kx_net_parse_listen(const char *addr, const char *key, const char *example,
		    struct sockaddr_in *sin, char *errbuf, size_t errlen)
{
	const char *colon = strrchr(addr, ':');
	char host[64], *end = NULL;
	long port = 0;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	/* Digits only: strtol() alone would take " 80", "+80" and "0080". */
	if (colon && colon[1] >= '1' && colon[1] <= '9')
		port = strtol(colon + 1, &end, 10);
	if (!colon || (size_t)(colon - addr) >= sizeof(host) || !end || *end ||
	    port <= 0 || port > 65535) {
		snprintf(errbuf, errlen,
			 "'%s': '%s' is not ADDR:PORT (e.g. %s)", key, addr,
			 example);
		return KX_EINVAL;
	}
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	if (!*host)
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
		snprintf(errbuf, errlen, "'%s': '%s' is not an IPv4 address",
			 key, host);
		return KX_EINVAL;
	}
	sin->sin_port = htons((uint16_t)port);
	return 0;
}
