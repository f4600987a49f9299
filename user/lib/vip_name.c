// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The text of a VIP key (see vip_name.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "vip_name.h"

void vip_name(const struct flb_vip_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(k->family == FLB_AF_INET6 ? AF_INET6 : AF_INET, k->addr, a, sizeof(a));
	snprintf(buf, len, k->family == FLB_AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a, ntohs(k->port),
		 k->proto == IPPROTO_UDP ? "udp" : "tcp");
}
