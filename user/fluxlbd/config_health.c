// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The health_check mapping of the configuration, in defaults and in each
 * service (see config.c for how key tables work; services without one
 * inherit the defaults'). The shape:
 *
 *	health_check:
 *	  type: http              # tcp | http | none
 *	  port: 8080              # default: the service port
 *	  path: /health           # http only; default /health
 *	  expect: 200-399         # http status range; one code or a range
 *	  interval: 2s            # 100ms..1h
 *	  timeout: 1s             # 10ms..interval
 *	  rise: 2                 # successes to come back (1..100)
 *	  fall: 3                 # failures to go down (1..100)
 */
#include <stdio.h>
#include <string.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int hc_type(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum types[] = {
		{ "none", FLB_HC_NONE }, { "tcp", FLB_HC_TCP }, { "http", FLB_HC_HTTP },
	};
	int t, err = yw_enum(ctx, node, types, ARRAY_SIZE(types), &t);

	if (!err)
		((struct flb_health_cfg *)obj)->type = t;
	return err;
}

static int hc_port(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 65535, &v);

	if (!err)
		((struct flb_health_cfg *)obj)->port = (uint16_t)v;
	return err;
}

static int hc_path(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_health_cfg *hc = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (s[0] != '/' || strlen(s) >= sizeof(hc->path) || strpbrk(s, " \t\r\n"))
		return yw_err(ctx, node, "\"%s\" is not an HTTP path (starts with /, no spaces, < %zu characters)",
			      s, sizeof(hc->path));
	strcpy(hc->path, s);
	return 0;
}

static int hc_expect(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_health_cfg *hc = obj;
	unsigned lo, hi;
	const char *s;
	char tail;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (sscanf(s, "%3u-%3u%c", &lo, &hi, &tail) == 2) {
		/* a range */
	} else if (sscanf(s, "%3u%c", &lo, &tail) == 1) {
		hi = lo;
	} else {
		return yw_err(ctx, node, "\"%s\" is not a status code or a range like 200-399", s);
	}
	if (lo < 100 || hi > 599 || lo > hi)
		return yw_err(ctx, node, "\"%s\" is not within 100-599 (low first)", s);
	hc->expect_min = lo;
	hc->expect_max = hi;
	return 0;
}

static int hc_interval(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 100, 3600000,
				     &((struct flb_health_cfg *)obj)->interval_ms);
}

static int hc_timeout(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_health_cfg *hc = obj;

	return config_parse_duration(ctx, node, 10, hc->interval_ms, &hc->timeout_ms);
}

static int hc_count(struct yw_ctx *ctx, yaml_node_t *node, uint32_t *out)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, 100, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

static int hc_rise(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return hc_count(ctx, node, &((struct flb_health_cfg *)obj)->rise);
}

static int hc_fall(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return hc_count(ctx, node, &((struct flb_health_cfg *)obj)->fall);
}

/* interval before timeout: the timeout is bounded by the interval. */
static const struct yw_key health_keys[] = {
	{ "type", YW_REQUIRED, hc_type },
	{ "port", 0, hc_port },
	{ "path", 0, hc_path },
	{ "expect", 0, hc_expect },
	{ "interval", 0, hc_interval },
	{ "timeout", 0, hc_timeout },
	{ "rise", 0, hc_rise },
	{ "fall", 0, hc_fall },
};

int config_parse_health(struct yw_ctx *ctx, yaml_node_t *node, struct flb_health_cfg *hc)
{
	if (!hc->interval_ms) { /* not inherited: the built-in defaults */
		strcpy(hc->path, "/health");
		hc->expect_min = 200;
		hc->expect_max = 399;
		hc->interval_ms = 2000;
		hc->timeout_ms = 1000;
		hc->rise = 2;
		hc->fall = 3;
	}
	int err = yw_mapping(ctx, node, health_keys, ARRAY_SIZE(health_keys), hc);

	if (!err && hc->timeout_ms > hc->interval_ms)
		hc->timeout_ms = hc->interval_ms;
	return err;
}
