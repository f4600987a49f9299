// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A service's affinity and outlier_detection keys (see config.c for how key
 * tables work; what they do: docs/affinity.md, docs/circuit-breaking.md).
 * Both are off unless given. The shape:
 *
 *	affinity: source_ip           # none (default) | source_ip
 *	affinity_timeout: 3h          # idle time a client stays sticky (1s..24h; default 3h)
 *	outlier_detection:
 *	  syn_retransmit_ratio: 0.5   # SYN retransmits per new flow that ejects (0.01..1)
 *	  min_new_flows: 20           # new flows in a window to judge at all (1..1000000)
 *	  window: 10s                 # (1s..10m)
 *	  base_ejection_time: 30s     # first cool-down; the n-th ejection lasts n times (1s..1h)
 *	  max_ejection_percent: 50    # of the service's backends ejected at once (0..100)
 *
 * and under node.flood:
 *
 *	prefix:
 *	  new_flows_per_second: 1000  # TCP SYNs per second per source prefix; 0 = off (default)
 *	  ipv4: 24                    # prefix length (1..32, default 24)
 *	  ipv6: 64                    # prefix length (1..128, default 64)
 */
#include <math.h>
#include <stdlib.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AFF_DEFAULT_TIMEOUT_S 10800 /* Kubernetes' default for ClientIP */

int config_parse_affinity(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum kinds[] = { { "none", 0 }, { "source_ip", 1 } };
	struct flb_service_cfg *svc = obj;
	int v, err = yw_enum(ctx, node, kinds, ARRAY_SIZE(kinds), &v);

	if (!err)
		svc->affinity_timeout_s = v ? AFF_DEFAULT_TIMEOUT_S : 0;
	return err;
}

/* After affinity (key table order is parse order). */
int config_parse_affinity_timeout(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_service_cfg *svc = obj;
	uint32_t ms;
	int err;

	if (!svc->affinity_timeout_s)
		return yw_err(ctx, node, "affinity_timeout needs affinity: source_ip");
	err = config_parse_duration(ctx, node, 1000, 86400000, &ms);
	if (!err)
		svc->affinity_timeout_s = ms / 1000;
	return err;
}

static int od_ratio(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	const char *s;
	char *end;
	double v;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0.01 || v > 1)
		return yw_err(ctx, node, "\"%s\" is not a number within 0.01..1", s);
	((struct flb_outlier_cfg *)obj)->ratio_pm = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

static int od_min(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 1000000, &v);

	if (!err)
		((struct flb_outlier_cfg *)obj)->min_new_flows = (uint32_t)v;
	return err;
}

static int od_window(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 1000, 600000, &((struct flb_outlier_cfg *)obj)->window_ms);
}

static int od_base(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 1000, 3600000,
				     &((struct flb_outlier_cfg *)obj)->base_ejection_ms);
}

static int od_max(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 0, 100, &v);

	if (!err)
		((struct flb_outlier_cfg *)obj)->max_ejection_percent = (uint32_t)v;
	return err;
}

static const struct yw_key outlier_keys[] = {
	{ "syn_retransmit_ratio", 0, od_ratio },
	{ "min_new_flows", 0, od_min },
	{ "window", 0, od_window },
	{ "base_ejection_time", 0, od_base },
	{ "max_ejection_percent", 0, od_max },
};

int config_parse_outlier(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_outlier_cfg *c = &((struct flb_service_cfg *)obj)->outlier;

	*c = (struct flb_outlier_cfg){ .enabled = true, .ratio_pm = 500, .min_new_flows = 20,
				       .window_ms = 10000, .base_ejection_ms = 30000,
				       .max_ejection_percent = 50 };
	return yw_mapping(ctx, node, outlier_keys, ARRAY_SIZE(outlier_keys), c);
}

static int pfx_nfps(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 0, FLB_CFG_FLOOD_MAX, &v);

	if (!err)
		((struct flb_config *)obj)->flood_pfx_nfps = (uint32_t)v;
	return err;
}

static int pfx_len4(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 32, &v);

	if (!err)
		((struct flb_config *)obj)->flood_pfx_len4 = (uint8_t)v;
	return err;
}

static int pfx_len6(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 128, &v);

	if (!err)
		((struct flb_config *)obj)->flood_pfx_len6 = (uint8_t)v;
	return err;
}

static const struct yw_key prefix_keys[] = {
	{ "new_flows_per_second", YW_REQUIRED, pfx_nfps },
	{ "ipv4", 0, pfx_len4 },
	{ "ipv6", 0, pfx_len6 },
};

int config_parse_flood_prefix(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;

	cfg->flood_pfx_len4 = 24;
	cfg->flood_pfx_len6 = 64;
	return yw_mapping(ctx, node, prefix_keys, ARRAY_SIZE(prefix_keys), cfg);
}
