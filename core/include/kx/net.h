/*
 * Listening addresses given by users: "ADDR:PORT" for --http and --serve.
 */
#ifndef KX_NET_H
#define KX_NET_H

#include <netinet/in.h>
#include <stddef.h>

/*
 * Parses "ADDR:PORT" into sin: ADDR an IPv4 address, or empty for every
 * IPv4 address; PORT 1-65535 in plain digits. Returns 0, or KX_EINVAL with
 * a reason in errbuf that names the setting key (e.g. 'http') and an
 * example address.
 */
int kx_net_parse_listen(const char *addr, const char *key, const char *example,
			struct sockaddr_in *sin, char *errbuf, size_t errlen);

#endif
