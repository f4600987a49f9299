/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the kernel says about the XDP hook of each interface a fluxlbd
 * attached to: those with a prog_<iface> pin in the pin folder
 * (xdp_attach.c), the mode reported now (netlink) and whether the pinned
 * balancer itself is the attached program. Needs no CAP_SYS_ADMIN.
 */
#ifndef FLB_XDP_QUERY_H
#define FLB_XDP_QUERY_H

#include <stddef.h>

struct xdp_iface_state {
	char name[16];                /* IFNAMSIZ */
	const char *mode;             /* "native", "skb", "offload", "none" */
	const char *program;          /* "balancer", "other" (libxdp's dispatcher or
				       * someone else's), "none" */
};

/* Fills out[0..max) in directory order; returns how many. */
size_t xdp_query_pinned(const char *pin_dir, struct xdp_iface_state *out, size_t max);

#endif
