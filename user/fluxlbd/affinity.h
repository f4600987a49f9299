/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Session affinity, the daemon's side (docs/affinity.md): after each apply,
 * every VIP's flb_aff_vips entry is made to match the desired state: the
 * service's affinity_timeout (0: off) and the members bitmap, the backends
 * in the VIP's Maglev table as the map holds it now (so drained, down and
 * ejected backends are not followed by sticky clients). affinity_members()
 * is the pure part. An entry already equal is not written.
 */
#ifndef FLB_AFFINITY_USER_H
#define FLB_AFFINITY_USER_H

#include <stdint.h>

#include "config.h"
#include "flb_abi.h"
#include "pinned_maps.h"

/* The members bitmap of a table of size slots. */
void affinity_members(const uint32_t *ids, uint32_t size, struct flb_aff_vip *out);
/* Writes flb_aff_vips for cfg. Returns 0 or the first -errno (the rest is
 * still written). */
int affinity_sync(struct flb_maps *m, const struct flb_config *cfg);

#endif
