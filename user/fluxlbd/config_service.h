/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Private to the config parser: the services section, kept apart from
 * config.c so each file stays one screenful of concerns. Other modules use
 * config.h only.
 */
#ifndef FLB_CONFIG_SERVICE_H
#define FLB_CONFIG_SERVICE_H

#include "yaml_walk.h"

/* The yw_parse_fn of the top-level "services" key; obj is a struct flb_config. */
int config_parse_services(struct yw_ctx *ctx, yaml_node_t *node, void *obj);

#endif
