/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Attaching and detaching our XDP programs on interfaces. An attachment
 * outlives the process that made it (the daemon may restart while the
 * program keeps forwarding). Attaching over our own program replaces it
 * atomically (upgrade); over our own program in the other mode (native vs
 * skb) detaches it and attaches in the new mode at once (the kernel allows
 * no atomic swap between modes); over somebody else's is refused.
 *
 * "Our own" is known from a pin of the attached program (pin_dir/prog_<if>)
 * when the caller keeps pins, which needs no privilege beyond bpffs access;
 * without pins it is the attached program's name, which needs
 * CAP_SYS_ADMIN to look up (the kernel opens programs by id only for it).
 */
#ifndef FLB_XDP_ATTACH_H
#define FLB_XDP_ATTACH_H

#include <stdbool.h>

enum xdp_attach_mode_flb { FLB_ATTACH_NATIVE, FLB_ATTACH_SKB };

/* Attaches prog_fd (named prog_name) to ifname in mode (also when this very
 * program is attached in the other mode). pin_dir: where to keep the
 * program's pin per interface (NULL: none). */
int xdp_attach(const char *ifname, int prog_fd, const char *prog_name,
	       enum xdp_attach_mode_flb mode, const char *pin_dir);
/* Detaches prog_name from ifname (and removes its pin); 0 if not attached. */
int xdp_detach(const char *ifname, const char *prog_name, const char *pin_dir);

#endif
