/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-source-prefix limit's settings (node.flood.prefix) into
 * flb_pfx_cfg (bpf/flood.h, docs/circuit-breaking.md), after each apply.
 */
#ifndef FLB_FLOOD_PREFIX_H
#define FLB_FLOOD_PREFIX_H

#include "config.h"
#include "pinned_maps.h"

/* Writes flb_pfx_cfg[0] from cfg unless it holds that already. Returns 0
 * or -errno (logged). */
int flood_prefix_sync(struct flb_maps *m, const struct flb_config *cfg);

#endif
