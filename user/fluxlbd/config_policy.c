// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The new-flow policy keys of a service (see config.c for how key tables
 * work; what they do is bpf/choose.h and docs/policies.md). The shape:
 *
 *	scheduler: least_conn         # maglev (default) | round_robin | least_conn
 *	least_conn:                   # only with scheduler: least_conn
 *	  epsilon: 0.25               # bound: (1 + epsilon) x the weighted mean (0.01..10)
 *	candidates: 4                 # backends a new flow may try (1..8)
 *	caps:                         # per backend of the service; default off
 *	  max_new_flows_per_second: 100   # 1..10000000
 *	  burst: 10                   # token bucket depth (1..1000000); default rate / 10
 *	  max_active_flows: 1000      # 1..1000000000
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct flb_policy_cfg *pol_of(void *obj)
{
	return &((struct flb_service_cfg *)obj)->policy;
}

int config_parse_scheduler(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum scheds[] = {
		{ "maglev", FLB_SCHED_CFG_MAGLEV },
		{ "round_robin", FLB_SCHED_CFG_RR },
		{ "least_conn", FLB_SCHED_CFG_LEAST_CONN },
	};
	int v, err = yw_enum(ctx, node, scheds, ARRAY_SIZE(scheds), &v);

	if (!err)
		pol_of(obj)->sched = v;
	return err;
}

static int lc_epsilon(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	const char *s;
	char *end;
	double v;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.01 && v <= 10))
		return yw_err(ctx, node, "\"%s\" is not a number within 0.01..10", s);
	((struct flb_policy_cfg *)obj)->epsilon_pm = (uint32_t)(v * 1000 + 0.5);
	return 0;
}

static const struct yw_key lc_keys[] = {
	{ "epsilon", 0, lc_epsilon },
};

int config_parse_least_conn(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, lc_keys, ARRAY_SIZE(lc_keys), pol_of(obj));
}

int config_parse_candidates(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 8, &v); /* FLB_POL_TRIES_MAX */

	if (!err)
		pol_of(obj)->candidates = (uint32_t)v;
	return err;
}

static int cap_nfps(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 10000000, &v);

	if (!err)
		((struct flb_policy_cfg *)obj)->max_nfps = (uint32_t)v;
	return err;
}

static int cap_burst(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 1000000, &v);

	if (!err)
		((struct flb_policy_cfg *)obj)->burst = (uint32_t)v;
	return err;
}

static int cap_active(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 1000000000, &v);

	if (!err)
		((struct flb_policy_cfg *)obj)->max_active = (uint32_t)v;
	return err;
}

static const struct yw_key cap_keys[] = {
	{ "max_new_flows_per_second", 0, cap_nfps },
	{ "burst", 0, cap_burst },
	{ "max_active_flows", 0, cap_active },
};

int config_parse_caps(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, cap_keys, ARRAY_SIZE(cap_keys), pol_of(obj));
}

int config_check_policy(struct yw_ctx *ctx, yaml_node_t *map, const struct flb_service_cfg *svc)
{
	const struct flb_policy_cfg *p = &svc->policy;

	if (yw_map_get(ctx, map, "least_conn") && p->sched != FLB_SCHED_CFG_LEAST_CONN) {
		yw_push_key(ctx, "least_conn");
		return yw_err(ctx, yw_map_get(ctx, map, "least_conn"),
			      "needs scheduler: least_conn");
	}
	if (p->burst && !p->max_nfps) {
		yw_push_key(ctx, "caps");
		return yw_err(ctx, yw_map_get(ctx, map, "caps"),
			      "burst needs max_new_flows_per_second");
	}
	return 0;
}
