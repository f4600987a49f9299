// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health checks, defaults, metrics and source sections of the configuration
 * (see config.c for how key tables work). The shapes:
 *
 *	metrics:
 *	  listen: 127.0.0.1:9100      # host:port, [v6]:port or :port (all addresses)
 *	source:
 *	  type: file                  # file | consul | etcd
 *	  address: http://127.0.0.1:8500          # consul
 *	  token: s3cret                           # consul, optional
 *	  endpoints: [http://127.0.0.1:2379]      # etcd
 *	  prefix: /fluxlb/                        # etcd
 *	defaults:
 *	  drain_timeout: 30s          # how long a draining backend keeps its flows
 *	  panic_threshold: 50         # percent healthy below which all backends serve
 *	  health_check: {...}         # as below; services without one inherit it
 *	services:
 *	  - health_check:
 *	      type: http              # tcp | http | none
 *	      port: 8080              # default: the service port
 *	      path: /health           # http only; default /health
 *	      expect: 200-399         # http status range; one code or a range
 *	      interval: 2s            # 100ms..1h
 *	      timeout: 1s             # 10ms..interval
 *	      rise: 2                 # successes to come back (1..100)
 *	      fall: 3                 # failures to go down (1..100)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_health.h"
#include "duration.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The shortest way to write ms with one unit: 168h, 90s, 500ms. */
static const char *fmt_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms && !(ms % 3600000))
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && !(ms % 60000))
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && !(ms % 1000))
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

int config_parse_duration(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min_ms,
			  uint64_t max_ms, uint32_t *out_ms)
{
	char lo[24], hi[24];
	const char *s;
	uint64_t ms;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (duration_parse_ms(s, DURATION_CONFIG, &ms))
		return yw_err(ctx, node, "\"%s\" is not a duration (like 500ms, 30s, 5m, 1h)", s);
	if (ms < min_ms || ms > max_ms)
		return yw_err(ctx, node, "%s is out of range %s..%s", s, fmt_ms(min_ms, lo, sizeof(lo)),
			      fmt_ms(max_ms, hi, sizeof(hi)));
	*out_ms = (uint32_t)ms;
	return 0;
}

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

static const struct yw_key defaults_keys[] = {
	{ "drain_timeout", 0, def_drain },
	{ "panic_threshold", 0, def_panic },
	{ "health_check", 0, def_health },
};

int config_parse_defaults(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, defaults_keys, ARRAY_SIZE(defaults_keys), obj);
}

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

static int source_type(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum types[] = {
		{ "file", FLB_SRC_FILE }, { "consul", FLB_SRC_CONSUL }, { "etcd", FLB_SRC_ETCD },
	};
	int t, err = yw_enum(ctx, node, types, ARRAY_SIZE(types), &t);

	if (!err)
		((struct flb_source_cfg *)obj)->type = t;
	return err;
}

/* A URL we hand to libcurl: http(s)://host[:port][/path], no spaces. */
static int url_into(struct yw_ctx *ctx, yaml_node_t *node, char *buf, size_t len)
{
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if ((strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) || strpbrk(s, " \t,") ||
	    strlen(s) >= len)
		return yw_err(ctx, node, "\"%s\" is not an http:// or https:// URL", s);
	strcpy(buf, s);
	return 0;
}

static int source_address(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;

	return url_into(ctx, node, src->address, sizeof(src->address));
}

static int source_token(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (strlen(s) >= sizeof(src->token) || strpbrk(s, " \t\r\n"))
		return yw_err(ctx, node, "token must be one word under %zu characters", sizeof(src->token));
	strcpy(src->token, s);
	return 0;
}

static int source_endpoint(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	struct flb_source_cfg *src = obj;
	char one[256];
	size_t used = strlen(src->endpoints);
	int err = url_into(ctx, item, one, sizeof(one));

	if (err)
		return err;
	if (used + strlen(one) + 2 > sizeof(src->endpoints))
		return yw_err(ctx, item, "too many endpoints (%zu characters at most)",
			      sizeof(src->endpoints) - 1);
	snprintf(src->endpoints + used, sizeof(src->endpoints) - used, "%s%s", idx ? "," : "", one);
	return 0;
}

static int source_endpoints(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	size_t n;
	int err = yw_seq_len(ctx, node, 1, 16, &n);

	((struct flb_source_cfg *)obj)->endpoints[0] = 0;
	return err ? err : yw_seq_each(ctx, node, source_endpoint, obj);
}

static int source_prefix(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (s[0] != '/' || s[strlen(s) - 1] != '/' || strlen(s) >= sizeof(src->prefix))
		return yw_err(ctx, node, "\"%s\" is not a key prefix (starts and ends with /)", s);
	strcpy(src->prefix, s);
	return 0;
}

static const struct yw_key source_keys[] = {
	{ "type", YW_REQUIRED, source_type },
	{ "address", 0, source_address },
	{ "token", 0, source_token },
	{ "endpoints", 0, source_endpoints },
	{ "prefix", 0, source_prefix },
};

int config_parse_source(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = &((struct flb_config *)obj)->source;

	return yw_mapping(ctx, node, source_keys, ARRAY_SIZE(source_keys), src);
}
