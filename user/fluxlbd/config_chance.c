// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The second_chance section (docs/bgp.md "Second chance"; see config.c for
 * how key tables work). When on, every Maglev table swap keeps the table it
 * replaces for `window`, so that a TCP flow that moves to this node
 * without a conntrack entry still reaches the backend that holds it.
 *
 *	second_chance:
 *	  enabled: true               # default false
 *	  window: 10m                 # 1s..1d, default 10m: the longest flow lifetime you care about
 */
#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct flb_chance_cfg *sc(void *obj)
{
	return &((struct flb_config *)obj)->chance;
}

static int parse_enabled(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum vals[] = { { "false", 0 }, { "true", 1 } };
	int v, err = yw_enum(ctx, node, vals, ARRAY_SIZE(vals), &v);

	if (!err)
		sc(obj)->enabled = v;
	return err;
}

static int parse_window(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t ms;
	int err = config_parse_duration(ctx, node, 1000, 86400 * 1000U, &ms);

	if (!err)
		sc(obj)->window_s = ms / 1000;
	return err;
}

static const struct yw_key chance_keys[] = {
	{ "enabled", 0, parse_enabled },
	{ "window", 0, parse_window },
};

int config_parse_chance(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, chance_keys, ARRAY_SIZE(chance_keys), obj);
}
