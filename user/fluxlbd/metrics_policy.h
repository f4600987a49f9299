/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The new-flow policy metric families (metrics_policy.c). */
#ifndef FLB_METRICS_POLICY_H
#define FLB_METRICS_POLICY_H

#include "metrics.h"
#include "pinned_maps.h"
#include "status.h"

/* Appends fluxlb_policy_active_flows, _spills_total, _refused_total for
 * every backend row of st whose (VIP, backend) pair is in the maps. node:
 * the node label ("" or NULL: none). Nothing when m or st is NULL. */
void metrics_policy_render(const struct flb_maps *m, const struct flb_status *st,
			   const char *node, struct metrics_buf *b);

#endif
