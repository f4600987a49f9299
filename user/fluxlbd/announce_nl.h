/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The VIP routes in the kernel, over rtnetlink by hand (three messages; no
 * fork of `ip`, no library): each announced VIP is a blackhole host route
 * (/32 or /128) with protocol FLB_RTPROT in one routing table of fluxlb's
 * own, which no rule looks up, so the routes never forward a packet; BIRD's
 * kernel protocol learns that table (docs/bgp.md). Calls block for the
 * kernel's answer, which comes in microseconds.
 */
#ifndef FLB_ANNOUNCE_NL_H
#define FLB_ANNOUNCE_NL_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define FLB_RTPROT 242	/* rtm_protocol of our routes ("fluxlb" in rt_protos) */

/* A NETLINK_ROUTE socket, or -errno. */
int nl_open(void);
/* Adds (or replaces) / deletes the host route of a in table. Deleting a
 * route that is not there is success. Returns 0 or -errno. */
int nl_route_add(int fd, uint32_t table, const struct flb_addr *a);
int nl_route_del(int fd, uint32_t table, const struct flb_addr *a);
/* Fills out (at most max) with the host routes of protocol FLB_RTPROT in
 * table, both families; *n gets how many. Returns 0 or -errno. */
int nl_route_dump(int fd, uint32_t table, struct flb_addr *out, size_t max, size_t *n);

#endif
