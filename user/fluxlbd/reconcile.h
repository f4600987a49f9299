/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Desired state -> maps. The reconciler turns a validated configuration and
 * the backends' health into backend ids, VIP ids and Maglev tables, and
 * writes only what differs from what the maps hold, in an order that never
 * leaves the datapath without a table: backends first, then tables (a new
 * inner map swapped in whole), then VIPs; removals last. Ids already in the
 * maps are adopted (same address: same id and generation), so a restarted
 * daemon keeps every conntrack entry valid.
 *
 * Backend states in the map (per address, shared by the services naming it):
 * ACTIVE when some service gives it slots; DOWN when it failed its health
 * check (its flows are re-steered); DRAINING when it has weight 0 or left the
 * configuration: no new flows, existing flows continue until none is left
 * or the drain timeout passes, then the id is freed (UNUSED, generation kept
 * so the next owner gets a new one).
 */
#ifndef FLB_RECONCILE_H
#define FLB_RECONCILE_H

#include <stdint.h>

#include "config.h"
#include "pinned_maps.h"
#include "status.h"

struct reconcile_report {
	uint32_t vips;          /* VIPs in the maps after the run */
	uint32_t backends;      /* backend ids in use after the run */
	uint32_t tables_built;  /* Maglev tables built and swapped in */
	uint32_t vips_removed;
	uint32_t backends_draining;
	uint32_t backends_retired; /* drained (or timed out) and freed */
};

/* Health as the reconciler sees it: UP unless the checker says DOWN. */
typedef enum flb_be_health (*health_fn)(void *ctx, const char *service,
					 const struct flb_addr *addr);

struct reconciler;

/* st may be NULL (tests); it is written under its lock. */
struct reconciler *reconciler_new(struct flb_maps *m, struct flb_status *st);
void reconciler_free(struct reconciler *r);

/* Validates what the dataplane can serve, then writes. health may be NULL
 * (every backend up). On error nothing already serving is removed; returns
 * -errno with the reason logged. */
int reconciler_apply(struct reconciler *r, const struct flb_config *cfg, health_fn health,
		     void *health_ctx, struct reconcile_report *rep);

/* Drain bookkeeping, to call every second or so: counts the flows of the
 * draining backends and frees those with none left or past the timeout.
 * Returns how many were freed. */
int reconciler_drain_tick(struct reconciler *r, uint32_t drain_timeout_ms);

/* One-shot form for tests and tools: a fresh reconciler, apply, free. */
int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep);

/* The VIP key of a service as the datapath looks it up. */
void reconcile_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key);

#endif
