/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one text of a VIP: "10.100.0.1:80/tcp" or "[fd00::1]:80/udp". It is
 * the vip label of every metric, the VIP column of the CLI and the name in
 * the daemon's status and logs, so an operator can grep one for the other.
 */
#ifndef FLB_VIP_NAME_H
#define FLB_VIP_NAME_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flb_abi.h"

/* Room for vip_name(): "[" INET6_ADDRSTRLEN "]:65535/tcp". */
#define VIP_NAME_STRLEN 64

/* The name of a VIP key as the datapath looks it up (port in network order). */
void vip_name(const struct flb_vip_key *k, char *buf, size_t len);
/* The same text from a VIP's parts as configured (port in host order, 0 for
 * every port; proto IPPROTO_TCP or IPPROTO_UDP), for code that has no key. */
void vip_name_parts(const struct flb_addr *addr, uint16_t port, uint8_t proto, char *buf,
		    size_t len);

#endif
