// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The metrics section of the configuration (see config.c for how key
 * tables work; exporter.h for what listens there). The shape:
 *
 *	metrics:
 *	  listen: 127.0.0.1:9100      # host:port, [v6]:port or :port (all addresses)
 */
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int metrics_listen(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	const char *s, *colon;
	char *end;
	long port;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	colon = strrchr(s, ':');
	port = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || *end || port < 1 || port > 65535 || strlen(s) >= sizeof(cfg->metrics_listen) ||
	    (s[0] == '[' && colon[-1] != ']'))
		return yw_err(ctx, node, "\"%s\" is not host:port, [v6]:port or :port", s);
	strcpy(cfg->metrics_listen, s);
	return 0;
}

static const struct yw_key metrics_keys[] = {
	{ "listen", YW_REQUIRED, metrics_listen },
};

int config_parse_metrics(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, metrics_keys, ARRAY_SIZE(metrics_keys), obj);
}
