/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching and detaching our XDP programs on interfaces, through libxdp.
 * An attachment outlives the process that made it (the daemon may restart
 * while the program keeps forwarding). Attaching over our own program of
 * the same name replaces it atomically (upgrade); over somebody else's is
 * refused.
 */
#ifndef FLB_XDP_ATTACH_H
#define FLB_XDP_ATTACH_H

#include <stdbool.h>

enum xdp_attach_mode_flb { FLB_ATTACH_NATIVE, FLB_ATTACH_SKB };

/* Attaches prog_fd (named prog_name) to ifname. */
int xdp_attach(const char *ifname, int prog_fd, const char *prog_name,
	       enum xdp_attach_mode_flb mode);
/* Detaches prog_name from ifname; 0 if it was not attached. */
int xdp_detach(const char *ifname, const char *prog_name);
/* True when prog_name is what runs at ifname's XDP hook. */
bool xdp_is_attached(const char *ifname, const char *prog_name);

#endif
