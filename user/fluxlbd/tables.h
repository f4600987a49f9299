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
 * A table is a function of its inputs (table size, and per backend its
 * name, effective weight and id): the cache keeps them beside the table,
 * so an unchanged service is not even rebuilt. Pure: no map access, no
 * logging.
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
	uint8_t *inputs;        /* tables_inputs() of ids; NULL: unknown */
	size_t inputs_len;
};

/* Positions of VIP keys in an array, by hash: lookups in O(1), so that
 * planning 1024 services is not 1024 x 1024 key comparisons. The key is
 * the first member of each array element (stride: the element size). */
struct key_index {
	uint32_t *pos;          /* 1 + position; 0: empty */
	uint32_t mask;          /* slots - 1 */
};

void key_index_free(struct key_index *ix);
/* Indexes base[0..n); the first of equal keys wins. Returns 0 or -ENOMEM. */
int key_index_build(struct key_index *ix, const void *base, size_t stride, size_t n);
/* The position of key in base[], or -1. */
long key_index_find(const struct key_index *ix, const void *base, size_t stride,
		    const struct flb_vip_key *key);

struct table_cache {
	struct table_entry *e;
	size_t n;
	struct key_index ix;    /* over e[0..n) */
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
/* The inputs of svc's table as one byte string (*buf malloc'ed): table
 * size setting, then per backend its id, effective weight and name. Equal
 * strings (and an equal size) build equal tables. Returns 0 or -ENOMEM. */
int tables_inputs(const struct flb_service_cfg *svc, const uint32_t *ids, const uint32_t *weights,
		  uint8_t **buf, size_t *len);
/* Slots that differ between two tables, and of those the ones between
 * backends present in both ("excess": a perfect consistent hash moves
 * none). Tables of different sizes share no slot positions: every slot
 * counts as changed, and every slot of a backend present in both as
 * excess (a resize moves the flows of the survivors too). Returns 0 or
 * -ENOMEM. */
int tables_disruption(const uint32_t *old, uint32_t m_old, const uint32_t *cur, uint32_t m,
		      uint32_t *changed, uint32_t *excess);

#endif
