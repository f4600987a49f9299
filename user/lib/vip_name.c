// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The text of a VIP key (see vip_name.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>

#include "vip_name.h"

static void put(const void *addr, bool v6, unsigned port, uint8_t proto, char *buf,
		size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, a, sizeof(a));
	snprintf(buf, len, v6 ? "[%s]:%u/%s" : "%s:%u/%s", a, port,
		 proto == IPPROTO_UDP ? "udp" : "tcp");
}

void vip_name(const struct flb_vip_key *k, char *buf, size_t len)
{
	put(k->addr, k->family == FLB_AF_INET6, ntohs(k->port), k->proto, buf, len);
}

void vip_name_parts(const struct flb_addr *addr, uint16_t port, uint8_t proto, char *buf,
		    size_t len)
{
	put(addr->bytes, addr->family == AF_INET6, port, proto, buf, len);
}
