/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The node role's counters and table fill for the exporter, read from its
 * pins (docs/pods.md "Inspecting a node"): decap's flb_dcp_reasons and the
 * reverse NAT's flb_rnat_counts are indexed by the one reason list
 * (include/flb_reasons.h), so they add into fluxlb_packets_total; the fill
 * of flb_node_nat and flb_node_flows joins fluxlb_map_entries. Read only.
 */
#ifndef FLB_NODE_METRICS_H
#define FLB_NODE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "flb_reasons.h"
#include "metrics.h"

/* Adds the node role's reason counters in pin_dir to reasons. 0, or
 * -ENOENT when the node role's maps are not pinned there (role off). */
int node_metrics_reasons(const char *pin_dir, uint64_t reasons[FLB_R_MAX]);
/* Counts flb_node_nat and flb_node_flows into fill[0] and fill[1] (a walk
 * of each: call it as seldom as the balancer's fill). Returns how many
 * were counted: 2, or 0 without the node role. */
size_t node_metrics_fill(const char *pin_dir, struct metrics_fill fill[2]);

#endif
