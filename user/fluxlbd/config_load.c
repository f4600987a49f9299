// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The load_weights mapping of a service (see config.c for how key tables
 * work; what the keys do is load_weight.h and docs/operating.md). Off
 * unless given; needs an HTTP health_check (config_service.c checks). The
 * shape:
 *
 *	load_weights:
 *	  from: cpu_percent       # cpu_percent | memory_percent | weight
 *	  min: 0.1                # smallest factor of the weight (0.01..1)
 *	  max: 1                  # largest factor (min..1)
 *	  steps: 10               # quantisation levels (2..100)
 *	  hysteresis: 0.05        # beyond half a step (0..0.5)
 *	  interval: 10s           # at most one table change per interval (100ms..1h)
 */
#include <math.h>
#include <stdlib.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Rounds a value >= 0 to the nearest integer (no libm). */
static long rnd(double v)
{
	return (long)(v + 0.5);
}

static int lw_from(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum froms[] = {
		{ "cpu_percent", FLB_LOAD_CPU },
		{ "memory_percent", FLB_LOAD_MEMORY },
		{ "weight", FLB_LOAD_WEIGHT },
	};
	int v, err = yw_enum(ctx, node, froms, ARRAY_SIZE(froms), &v);

	if (!err)
		((struct flb_load_cfg *)obj)->from = v;
	return err;
}

/* A decimal fraction in [lo, hi], kept per mille. */
static int fraction(struct yw_ctx *ctx, yaml_node_t *node, double lo, double hi, uint32_t *pm)
{
	const char *s;
	char *end;
	double v;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < lo || v > hi)
		return yw_err(ctx, node, "\"%s\" is not a number within %g..%g", s, lo, hi);
	*pm = (uint32_t)rnd(v * 1000);
	return 0;
}

static int lw_min(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return fraction(ctx, node, 0.01, 1, &((struct flb_load_cfg *)obj)->min_pm);
}

static int lw_max(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return fraction(ctx, node, 0.01, 1, &((struct flb_load_cfg *)obj)->max_pm);
}

static int lw_hysteresis(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return fraction(ctx, node, 0, 0.5, &((struct flb_load_cfg *)obj)->hysteresis_pm);
}

static int lw_steps(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 2, 100, &v);

	if (!err)
		((struct flb_load_cfg *)obj)->steps = (uint32_t)v;
	return err;
}

static int lw_interval(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 100, 3600000,
				     &((struct flb_load_cfg *)obj)->interval_ms);
}

static const struct yw_key load_keys[] = {
	{ "from", YW_REQUIRED, lw_from },
	{ "min", 0, lw_min },
	{ "max", 0, lw_max },
	{ "steps", 0, lw_steps },
	{ "hysteresis", 0, lw_hysteresis },
	{ "interval", 0, lw_interval },
};

int config_parse_load(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_load_cfg *c = &((struct flb_service_cfg *)obj)->load;
	int err;

	*c = (struct flb_load_cfg){ .min_pm = 100, .max_pm = 1000, .steps = 10,
				    .hysteresis_pm = 50, .interval_ms = 10000 };
	err = yw_mapping(ctx, node, load_keys, ARRAY_SIZE(load_keys), c);
	if (!err && c->min_pm > c->max_pm)
		return yw_err(ctx, node, "min (%g) is above max (%g)", c->min_pm / 1000.0,
			      c->max_pm / 1000.0);
	return err;
}
