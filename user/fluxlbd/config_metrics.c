// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The metrics section of the configuration (see config.c for how key
 * tables work; exporter.h for what listens there). The shape:
 *
 *	metrics:
 *	  listen: 127.0.0.1:9100      # host:port, [v6]:port or :port (all addresses)
 *	  node_label: false           # true: node="<node name>" on every sample
 */
#include <netinet/in.h>
#include <string.h>

#include "config_parse.h"
#include "http_server.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The exporter's own syntax (http_parse_listen()), so what loads also
 * listens; port 0 is refused here: scrapers need to know where to go. */
static int metrics_listen(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	struct sockaddr_storage ss;
	socklen_t len;
	const char *s;
	bool any;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (http_parse_listen(s, &ss, &len, &any) || strlen(s) >= sizeof(cfg->metrics_listen) ||
	    !(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
				      : ((struct sockaddr_in6 *)&ss)->sin6_port))
		return yw_err(ctx, node, "\"%s\" is not host:port, [v6]:port or :port", s);
	strcpy(cfg->metrics_listen, s);
	return 0;
}

static int metrics_node_label(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum vals[] = { { "false", 0 }, { "true", 1 } };
	struct flb_config *cfg = obj;
	int v, err = yw_enum(ctx, node, vals, ARRAY_SIZE(vals), &v);

	if (!err)
		cfg->metrics_node_label = v;
	return err;
}

static const struct yw_key metrics_keys[] = {
	{ "listen", YW_REQUIRED, metrics_listen },
	{ "node_label", 0, metrics_node_label },
};

int config_parse_metrics(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, metrics_keys, ARRAY_SIZE(metrics_keys), obj);
}
