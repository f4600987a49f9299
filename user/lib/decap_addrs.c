// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* This host's addresses into flb_dcp_addrs (see decap_addrs.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>

#include <bpf/bpf.h>

#include "decap_addrs.h"
#include "flb_abi.h"

int decap_addrs_fill(int map_fd)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct flb_dcp_addr key = {};
		__u32 val;

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			key.family = FLB_AF_INET;
			key.addr[0] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			key.family = FLB_AF_INET6;
			memcpy(key.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		val = if_nametoindex(i->ifa_name);
		if (!bpf_map_update_elem(map_fd, &key, &val, BPF_ANY))
			n++;
	}
	freeifaddrs(ifa);
	return n;
}
