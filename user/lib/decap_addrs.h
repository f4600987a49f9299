/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fills a decap program's flb_dcp_addrs (bpf/decap.bpf.c) with every address
 * of this network namespace: a tunnel packet to one of them is for the host
 * itself. Used by `fluxlb decap attach` and fluxlbd's node role.
 */
#ifndef FLB_DECAP_ADDRS_H
#define FLB_DECAP_ADDRS_H

/* Returns how many addresses were written, or -errno. */
int decap_addrs_fill(int map_fd);

#endif
