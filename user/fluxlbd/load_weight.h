/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Load-aware weights (a service's load_weights, docs/operating.md): pure
 * functions from what a backend's HTTP health check reported (a JSON body
 * with cpu_percent, memory_percent or weight) to a factor of its
 * configured weight. No I/O, no clock: the health checker (health.c) owns
 * the state below and hands it in with the time; the planner (plan.c)
 * turns the factor into the integer Maglev weight with lw_weight().
 *
 * Factors are per mille (1000 = the configured weight). A report maps to a
 * raw factor (cpu/memory: 1000 - 10 x percent; weight: 10 x percent),
 * clamped to [min, max]; the raw factor is then quantised to `steps`
 * levels (multiples of 1000 / steps, clamped again). A backend's level
 * moves only when its raw factor is more than half a step plus the
 * hysteresis away from the level it has (so a load wobbling on a step
 * boundary does not flap), and a service's levels change at most once per
 * interval (each change rebuilds the service's Maglev table).
 */
#ifndef FLB_LOAD_WEIGHT_H
#define FLB_LOAD_WEIGHT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "config.h"

struct lw_backend {
	uint32_t level_pm;	/* the factor in force; lw_backend_init() sets max */
	uint32_t prev_pm;	/* the factor before the last change (for the log) */
	bool reported;		/* a good report has come in */
	bool bad;		/* the last report was bad (logged once per run of bad ones) */
	double value;		/* the last good report (percent) */
	uint64_t bad_reports;	/* bodies missing, not JSON, no such field, out of range */
};

struct lw_service {
	bool changed_once;
	uint64_t last_change_ms;	/* when levels last changed */
	uint64_t changes;		/* level changes applied (each rebuilds the table) */
};

void lw_backend_init(const struct flb_load_cfg *c, struct lw_backend *b);
/* The field c->from names, read from a JSON body: 0 and *out in [0, 100],
 * or -EINVAL (not JSON, field missing, not a number, out of range). */
int lw_parse_body(const struct flb_load_cfg *c, const char *body, double *out);
/* Records one report (err from lw_parse_body). A bad one keeps the level
 * and is counted; returns true when it starts a run of bad reports (the
 * caller logs it then, once). */
bool lw_report(struct lw_backend *b, int err, double value);
/* The raw and the quantised factor of a report, per mille, within [min, max]. */
uint32_t lw_raw_pm(const struct flb_load_cfg *c, double value);
uint32_t lw_quantise_pm(const struct flb_load_cfg *c, uint32_t raw_pm);
/* One evaluation of a service's n backends at now_ms: moves every level
 * that should move (hysteresis), unless the service changed less than
 * c->interval_ms ago (then nothing moves yet; a later call will). Returns
 * true when some level changed (the caller logs and rebuilds). */
bool lw_step(const struct flb_load_cfg *c, struct lw_service *s, struct lw_backend *b, size_t n,
	     uint64_t now_ms);
/* The integer Maglev weight of a load-weighted backend. Maglev weights are
 * integers (1..MAGLEV_MAX_WEIGHT), and a factor of a weight of 1 would
 * round to 1 at every level: so a load-weighted service counts weights in
 * hundredths, round(configured x factor_pm / 10), at least 1 (a load
 * report never drains a backend) and at most MAGLEV_MAX_WEIGHT (configured
 * weights above 100 saturate; the file refuses them). Only ratios within
 * a service matter to Maglev. 0 stays 0 (drain), and factor_pm 0 means
 * "not load-weighted": the configured weight as it is. */
uint32_t lw_weight(uint32_t configured, uint32_t factor_pm);
/* "cpu_percent", "memory_percent" or "weight". */
const char *lw_from_name(enum flb_load_from from);

#endif
