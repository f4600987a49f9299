/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to the reconciler: the last Maglev table of each VIP. Building a
 * table is cheap; swapping one in is not free for the datapath's caches and
 * moves flows without conntrack entries, so an unchanged table is never
 * swapped, and a changed one is compared with its predecessor for the
 * disruption report (slots changed, and "excess": slots that moved between
 * two backends present before and after, which a perfect consistent hash
 * would not have moved).
 */
#ifndef FLB_RECONCILE_TABLES_H
#define FLB_RECONCILE_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "pinned_maps.h"
#include "status.h"

struct table_entry {
	struct flb_vip_key key;
	uint32_t vip_id;
	uint32_t size;
	uint32_t *ids;          /* backend id per slot (0: none) */
	uint64_t fingerprint;
	uint64_t rebuilds;
	uint32_t last_changed, last_excess;
	uint64_t excess_total;
	bool panic;
};

struct table_cache {
	struct table_entry *e;
	size_t n;
};

void tables_free(struct table_cache *t);
/* Builds the service's table from ids/weights (per backend of svc) and swaps
 * it in when it differs from the last. Returns 1 swapped, 0 unchanged, or
 * -errno (logged). */
int tables_apply(struct table_cache *t, struct flb_maps *m, const struct flb_service_cfg *svc,
		 const struct flb_vip_key *key, uint32_t vip_id, const uint32_t *ids,
		 const uint32_t *weights, bool panic);
void tables_forget(struct table_cache *t, const struct flb_vip_key *key);

/* Rewrites st->vips and st->backends from the applied state (st may be
 * NULL). Health fields are left UNKNOWN for the health checker to fill. */
void tables_publish(const struct table_cache *t, struct flb_status *st,
		    const struct flb_config *cfg, uint32_t *const *ids, uint32_t *const *weights,
		    const struct flb_backend *be, const uint64_t *drain_start);
/* Records the flow count of backend id in st (may be NULL). */
void tables_status_flows(struct flb_status *st, uint32_t id, long flows);

#endif
