/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Maglev consistent-hashing table builder (Eisenbud et al., "Maglev: A Fast
 * and Reliable Software Network Load Balancer", NSDI 2016, section 3.4). A
 * pure function of the set of (backend name, weight) pairs and the table
 * size: no I/O, no globals, no clock, so every node that reads the same
 * registry data builds the same table, and the daemon can compare tables
 * across nodes with maglev_fingerprint(). Each slot holds an index into the
 * caller's backend array; the datapath picks slot = flow_hash % m.
 */
#ifndef FLUXLB_MAGLEV_H
#define FLUXLB_MAGLEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Bump when the permutation hash, the apportionment or the population order
 * changes: tables built by different versions differ, so nodes running
 * different versions would send the same flow to different backends.
 */
#define MAGLEV_VERSION 1
/* Slot value when no backend has weight > 0. */
#define MAGLEV_EMPTY UINT32_MAX
#define MAGLEV_DEFAULT_SIZE 65537
#define MAGLEV_MAX_WEIGHT 10000

struct maglev_backend {
	/*
	 * Stable identity, "address:port" such as "10.10.2.11:80" or
	 * "[fd00::1]:80"; the only input to the permutation.
	 */
	const char *name;
	/* 0 = no slots (draining); 1..MAGLEV_MAX_WEIGHT. */
	uint32_t weight;
};

/*
 * Fills slots[0..m) with indexes into b[] (0..n-1). The result depends only on
 * the set of (name, weight) and on m, never on the order of b[], the process,
 * the time or the node. Every backend with weight > 0 gets at least one slot:
 * one whose share m * w / sum(w) is under one slot gets exactly one (repeated,
 * as that lowers the others' shares), and the others split what is left by
 * largest remainder, each getting its share of the rest rounded up or down
 * (ties to the smaller name). So when no share is under one slot, every count
 * is its exact share rounded up or down; when k backends had to be given
 * their one slot, the others' shares of the rest are smaller by less than
 * k / m relative. Permutation: offset = h(name, 0) % m and
 * skip = h(name, 1) % (m - 1) + 1, h = MurmurHash64A with that seed.
 *
 * Returns 0, or -EINVAL when m is not prime, m is smaller than the number of
 * backends with weight > 0, a name is NULL or duplicated, a weight is over
 * MAGLEV_MAX_WEIGHT, or n >= MAGLEV_EMPTY; -ENOMEM when out of memory. When
 * n is 0 or every weight is 0, every slot is MAGLEV_EMPTY and it returns 0.
 * slots[] is unspecified after an error.
 */
int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m,
		 uint32_t *slots);

bool maglev_is_prime(uint32_t m);

/*
 * Smallest size from this fixed list (all prime, roughly doubling) with
 * m >= 100 * n_active, which keeps equal-weight backends within 1 % of their
 * share (see maglev_build() for weights):
 *
 *	251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537,
 *	131071, 262139, 524287, 1048573
 *
 * n_active 0 or 1 gives 251; above 10485 active backends it is capped at
 * 1048573, which is then under 100 * n_active.
 */
uint32_t maglev_auto_size(size_t n_active);

/*
 * 64-bit fingerprint of the table as slot -> backend name (not index), so two
 * nodes that built from the same registry data get the same number even if
 * their arrays differ in order. Each name is hashed once, then the m per-slot
 * values are hashed in order; MAGLEV_EMPTY slots hash as one fixed value and
 * out-of-range indexes (or NULL names) as another. Not cryptographic: it
 * detects drift between honest nodes, it does not authenticate a table.
 */
uint64_t maglev_fingerprint(const uint32_t *slots, uint32_t m,
			    const struct maglev_backend *b, size_t n);

struct maglev_disruption {
	/* Slots whose backend name differs between old and new. */
	uint32_t changed;
	/*
	 * Of those, slots that moved between two backends present with
	 * weight > 0 in both the old and the new set. When backends only
	 * join or leave, a perfect consistent hash would make none of these.
	 */
	uint32_t excess;
};

/*
 * Compares two tables of equal size m by backend name. Returns 0, -EINVAL
 * when a slot holds an index out of range (other than MAGLEV_EMPTY) or a set
 * has a NULL or duplicated name or a weight over MAGLEV_MAX_WEIGHT, -ENOMEM
 * when out of memory; *out is only written on success.
 */
int maglev_diff(const uint32_t *old_slots, const struct maglev_backend *old_b,
		size_t old_n, const uint32_t *new_slots,
		const struct maglev_backend *new_b, size_t new_n, uint32_t m,
		struct maglev_disruption *out);

#endif
