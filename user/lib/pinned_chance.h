/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Second chance, the map writer's part (docs/bgp.md "Second chance"):
 * before a VIP's table is swapped, the table it replaces becomes the VIP's
 * previous table (flb_rings_prev[id]) until now + window (flb_chance[id]).
 * The previous table goes in before the swap, so the datapath never sees
 * a previous table newer than the current one. Best effort: a failure is
 * logged and the swap goes on (those flows lose their second chance only).
 * Both maps are pinned, so a restarted fluxlbd keeps them; a swap that
 * would write an identical table (a restart re-planning) keeps the
 * previous table it had.
 */
#ifndef FLB_PINNED_CHANCE_H
#define FLB_PINNED_CHANCE_H

#include <stddef.h>
#include <stdint.h>

/* old[i]: fd of vip_ids[i]'s current table (-1: none, e.g. a new VIP);
 * ids[i]/sizes[i]: the table about to replace it. window_s 0: second
 * chance off, every VIP's previous table forgotten. */
void chance_keep(int prev_fd, int chance_fd, uint32_t window_s, size_t n, const uint32_t *vip_ids,
		 const int *old, const uint32_t *const *ids, const uint32_t *sizes);
/* vip_ids lose their previous table (their VIP is gone; the id may be
 * given to another VIP). */
void chance_forget(int prev_fd, int chance_fd, size_t n, const uint32_t *vip_ids);
/* Every VIP's window ends now (second chance switched off). */
void chance_forget_all(int chance_fd);

#endif
