/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to the config parser (config.c and the config_<section>.c files):
 * the parse function of each section and the value parsers they share.
 * Other modules use config.h only.
 */
#ifndef FLB_CONFIG_PARSE_H
#define FLB_CONFIG_PARSE_H

#include "config.h"
#include "yaml_walk.h"

/* yw_parse_fn of the top-level keys; obj is a struct flb_config. */
int config_parse_defaults(struct yw_ctx *ctx, yaml_node_t *node, void *obj); /* config_defaults.c */
int config_parse_metrics(struct yw_ctx *ctx, yaml_node_t *node, void *obj);  /* config_metrics.c */
int config_parse_source(struct yw_ctx *ctx, yaml_node_t *node, void *obj);   /* config_source.c */
int config_parse_announce(struct yw_ctx *ctx, yaml_node_t *node, void *obj); /* config_announce.c */
int config_parse_chance(struct yw_ctx *ctx, yaml_node_t *node, void *obj); /* config_chance.c */
int config_parse_services(struct yw_ctx *ctx, yaml_node_t *node, void *obj); /* config_service.c */
/* node.pods; obj is a struct flb_config (config_node.c). */
int config_parse_pods(struct yw_ctx *ctx, yaml_node_t *node, void *obj);

/* Fills *hc from a health_check mapping on top of what *hc holds
 * (config_health.c). */
int config_parse_health(struct yw_ctx *ctx, yaml_node_t *node, struct flb_health_cfg *hc);
/* A load_weights mapping (config_load.c). */
int config_parse_load(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
/* scheduler, least_conn, candidates, caps of a service; obj is a struct
 * flb_service_cfg (config_policy.c). config_check_policy: across them. */
int config_parse_scheduler(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_least_conn(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_candidates(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_caps(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_check_policy(struct yw_ctx *ctx, yaml_node_t *map, const struct flb_service_cfg *svc);
/* on_unhealthy: drain | reset (config_defaults.c). */
int config_parse_on_unhealthy(struct yw_ctx *ctx, yaml_node_t *node, enum flb_on_unhealthy *out);
/* A duration in milliseconds within [min_ms, max_ms] (config_duration.c). */
int config_parse_duration(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min_ms,
			  uint64_t max_ms, uint32_t *out_ms);

/* affinity, affinity_timeout, outlier_detection of a service; obj is a
 * struct flb_service_cfg (config_guard.c). */
int config_parse_affinity(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_affinity_timeout(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
int config_parse_outlier(struct yw_ctx *ctx, yaml_node_t *node, void *obj);
/* node.flood.prefix; obj is a struct flb_config (config_guard.c). */
int config_parse_flood_prefix(struct yw_ctx *ctx, yaml_node_t *node, void *obj);

#endif
