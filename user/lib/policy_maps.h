/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reading and writing the new-flow policy maps (include/flb_abi.h,
 * bpf/choose.h): flb_policy, flb_pol_be, flb_be_load, flb_vip_load,
 * flb_rr_seq. Every write is one map update; a value the map already holds
 * is not written again, and the daemon's corrections (adjust) are kept.
 */
#ifndef FLB_POLICY_MAPS_H
#define FLB_POLICY_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flb_abi.h"
#include "pinned_maps.h"

/* The VIP's policy, its pairs (ids[i] with weights[i]; an flb_be_load
 * element is created for each, never rewritten) and its round robin
 * sequence; the flb_policy element last. Returns 0 or -errno. */
int policy_set(struct flb_maps *m, uint32_t vip_id, const struct flb_policy *pol,
	       const uint32_t *ids, const uint32_t *weights, size_t n,
	       const uint32_t *rr, uint32_t rr_len);
/* Deletes pairs not in keep[0..n_keep) and zeroes the policy of every VIP
 * id whose vip_on[id] ([FLB_MAX_VIPS]) is false. */
int policy_prune(struct flb_maps *m, const struct flb_pair *keep, size_t n_keep,
		 const bool *vip_on);

int policy_get(const struct flb_maps *m, uint32_t vip_id, struct flb_policy *pol);
/* -ENOENT when the pair is not in flb_be_load. */
int policy_pair(const struct flb_maps *m, uint32_t vip_id, uint32_t backend,
		struct flb_pol_be *pb, struct flb_be_load *ld);
int64_t policy_vip_load(const struct flb_maps *m, uint32_t vip_id);
int policy_rr_seq(const struct flb_maps *m, uint32_t vip_id, uint32_t k, uint32_t *id);

/* The conntrack walk's correction: the live counted entries of every pair
 * (include/flb_ct.h's expiry rule at now_ns) make flb_pol_be.adjust and
 * flb_policy.adjust so that the dataplane's count plus adjust is that
 * number. Does nothing (0) when no VIP counts. Returns pairs corrected or
 * -errno. */
int policy_correct(struct flb_maps *m, uint64_t now_ns);

#endif
