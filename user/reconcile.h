/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Desired state -> maps. Turns a validated configuration into backend ids,
 * VIP ids and Maglev tables, and writes only what differs from what the maps
 * hold, in an order that never leaves the datapath without a table:
 * backends first, then tables, then VIPs; removals last. Ids already in the
 * maps are adopted (same address: same id and generation), so a restarted
 * daemon keeps every conntrack entry valid.
 */
#ifndef FLB_RECONCILE_H
#define FLB_RECONCILE_H

#include <stdint.h>

#include "config.h"
#include "maps.h"

struct reconcile_report {
	uint32_t vips;          /* VIPs in the maps after the run */
	uint32_t backends;      /* backend ids in use after the run */
	uint32_t tables_built;  /* Maglev tables built and swapped in */
	uint32_t vips_removed;
	uint32_t backends_removed;
};

/* Validates what the dataplane can serve, then writes. On error nothing
 * already serving is removed; returns -errno with the reason logged. */
int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep);

/* The VIP key of a service as the datapath looks it up. */
void reconcile_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key);

#endif
