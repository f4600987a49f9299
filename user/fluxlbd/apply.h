/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map writer: performs a plan's writes (plan.h) in order and nothing
 * else. It is the only code of the daemon that writes BPF maps. After each
 * write that succeeds it logs the line the planner attached to it, so the
 * log says what the maps hold, in the order they came to hold it.
 */
#ifndef FLB_APPLY_H
#define FLB_APPLY_H

#include <stddef.h>

#include "pinned_maps.h"
#include "plan.h"

/* Performs p->ops in order and stops at the first error, which is logged.
 * A run of consecutive table writes (or table deletes) is done as one
 * batch (pinned_maps.h: maps_set_rings, maps_del_rings); within a run the
 * order does not matter, as the planner puts nothing between them.
 * *done (may be NULL) gets how many ops were performed: all of them on
 * success. Returns 0 or -errno. */
int apply_plan(struct flb_maps *m, const struct plan *p, size_t *done);

#endif
