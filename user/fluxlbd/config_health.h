/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to the config parser: health_check mappings (in defaults and in
 * each service) and the defaults, metrics and source sections.
 */
#ifndef FLB_CONFIG_HEALTH_H
#define FLB_CONFIG_HEALTH_H

#include "config.h"
#include "yaml_walk.h"

/* Fills *hc from a health_check mapping on top of what *hc holds. */
int config_parse_health(struct yw_ctx *ctx, yaml_node_t *node, struct flb_health_cfg *hc);
/* yw_parse_fn of the top-level keys; obj is a struct flb_config. */
int config_parse_defaults(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_metrics(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_source(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
/* A duration in milliseconds within [min_ms, max_ms]. */
int config_parse_duration(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min_ms,
			  uint64_t max_ms, uint32_t *out_ms);

#endif
