// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The defaults section of the configuration (see config.c for how key
 * tables work). The shape:
 *
 *	defaults:
 *	  drain_timeout: 30s          # how long a draining backend keeps its flows
 *	  panic_threshold: 50         # percent healthy below which all backends serve
 *	  health_check: {...}         # see config_health.c; services without one inherit it
 *	  on_unhealthy: drain         # drain | reset: what a failed check does to established
 *	                              # flows (new ones stop either way); services inherit it
 */
#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int def_health(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_health(ctx, node, &((struct flb_config *)obj)->health);
}

static int def_drain(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 0, 86400000,
				     &((struct flb_config *)obj)->drain_timeout_ms);
}

static int def_panic(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 0, 100, &v);

	if (!err)
		((struct flb_config *)obj)->panic_percent = (uint32_t)v;
	return err;
}

int config_parse_on_unhealthy(struct yw_ctx *ctx, yaml_node_t *node, enum flb_on_unhealthy *out)
{
	static const struct yw_enum modes[] = {
		{ "drain", FLB_UNHEALTHY_DRAIN },
		{ "reset", FLB_UNHEALTHY_RESET },
	};
	int mode, err = yw_enum(ctx, node, modes, ARRAY_SIZE(modes), &mode);

	if (!err)
		*out = mode;
	return err;
}

static int def_on_unhealthy(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_on_unhealthy(ctx, node, &((struct flb_config *)obj)->on_unhealthy);
}

static const struct yw_key defaults_keys[] = {
	{ "drain_timeout", 0, def_drain },
	{ "panic_threshold", 0, def_panic },
	{ "health_check", 0, def_health },
	{ "on_unhealthy", 0, def_on_unhealthy },
};

int config_parse_defaults(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, defaults_keys, ARRAY_SIZE(defaults_keys), obj);
}
