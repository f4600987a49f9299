/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maglev tables as the planner sees them: the builder over a service's
 * effective weights (slots become backend ids), the disruption figures of a
 * change, and the cache of the last table swapped in for each VIP. Building
 * a table is cheap; swapping one in is not free for the datapath's caches
 * and moves flows without conntrack entries, so the planner never swaps an
 * unchanged table, and compares a changed one with its predecessor: slots
 * changed, and "excess", slots that moved between two backends present
 * before and after, which a perfect consistent hash would not have moved.
 * Pure: no map access, no logging.
 */
#ifndef FLB_TABLES_H
#define FLB_TABLES_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "flb_abi.h"

struct table_entry {
	struct flb_vip_key key;
	uint32_t vip_id;
	uint32_t size;
	uint32_t *ids;          /* backend id per slot (0: none); NULL: never swapped in */
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
/* The entry of key, or NULL. */
const struct table_entry *tables_find(const struct table_cache *t, const struct flb_vip_key *key);
/* The entry of key, added (zeroed but for the key) when missing; NULL on ENOMEM. */
struct table_entry *tables_get(struct table_cache *t, const struct flb_vip_key *key);
void tables_forget(struct table_cache *t, const struct flb_vip_key *key);

/* The size of svc's table: table_size, or for auto the size for every
 * backend with a configured weight (down ones included: a health change
 * never resizes), never below floor (the size the VIP has now: auto does
 * not shrink when backends go down, drain or leave). */
uint32_t tables_size(const struct flb_service_cfg *svc, uint32_t floor);
/* Maglev of size slots over weights (per backend of svc); slots are ids[]
 * of the chosen backend, 0 for none. *slots is malloc'ed. Returns 0 or
 * -errno. */
int tables_build(const struct flb_service_cfg *svc, const uint32_t *ids, const uint32_t *weights,
		 uint32_t size, uint32_t **slots, uint64_t *fingerprint);
/* Slots that differ between two tables, and of those the ones between
 * backends present in both ("excess": a perfect consistent hash moves
 * none). Tables of different sizes share no slot positions: every slot
 * counts as changed, and every slot of a backend present in both as
 * excess (a resize moves the flows of the survivors too). Returns 0 or
 * -ENOMEM. */
int tables_disruption(const uint32_t *old, uint32_t m_old, const uint32_t *cur, uint32_t m,
		      uint32_t *changed, uint32_t *excess);

#endif
