/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Passive outlier detection, the daemon's side (docs/circuit-breaking.md):
 * once a second, for each service with outlier_detection, reads its
 * backends' SYN retransmits (flb_outlier) and new flows (flb_be_stats),
 * runs the decision (outlier.h), logs each ejection, return and capped
 * ejection (what, why, ratio), and keeps the figures the exporter prints.
 * The daemon marks ejected backends in the desired state (ejected) before
 * each plan, as it does with health.
 */
#ifndef FLB_OUTLIER_RUN_H
#define FLB_OUTLIER_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "pinned_maps.h"

struct metrics_buf;

/* One round at now_ms (monotonic). Returns true when some backend was
 * ejected or returned: the caller re-plans. */
bool outlier_tick(struct flb_maps *m, const struct flb_config *cfg, uint64_t now_ms);
/* Sets ejected on every backend of cfg (false where not ejected). */
void outlier_mark(struct flb_config *cfg);
/* fluxlb_outlier_* families (exporter thread). */
void outlier_metrics(struct metrics_buf *b);
void outlier_reset(void);

#endif
