// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The services section of the configuration file (see config.c for the rest
 * and yaml_walk.h for how key tables work). Each key is validated alone by
 * its parse function; the checks that span entries (duplicate names, VIPs
 * and backend addresses, table size against the backend count) run once a
 * service or a backend list is complete. The shape:
 *
 *	services:                     # 0..1024
 *	  - name: web                 # [A-Za-z0-9_.-]{1,63}, unique
 *	    vip: 10.100.0.1           # unique with port and protocol; optional for a
 *	                              # kubernetes source_service (the Service's VIP)
 *	    port: 80                  # 0 or absent: every port
 *	    protocol: tcp             # tcp | udp
 *	    table_size: auto          # auto | prime in 251..1048573
 *	    backends:                 # 0..4096, addresses unique
 *	      - address: 10.10.2.11
 *	        weight: 1             # 0..10000; 0 = drain
 *	        port: 8080            # the backend's own port; default the service port
 *	    health_check: {...}       # see config_health.c
 *	    on_unhealthy: drain       # drain | reset (default: defaults.on_unhealthy)
 *	    load_weights: {...}       # see config_load.c
 *	    scheduler: maglev         # maglev | round_robin | least_conn; see config_policy.c
 *	    least_conn: {...}         # candidates: 4; caps: {...}
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_parse.h"
#include "vip_name.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(((struct flb_backend_cfg *)0)->id) >= FLB_ADDR_PORT_STRLEN,
	       "a backend id holds the longest \"[IPv6]:port\"");

/* ---- backends ---- */

struct backend_walk {
	const struct flb_service_cfg *svc;
	struct flb_backend_cfg *be;
};

static int parse_addr(struct yw_ctx *ctx, yaml_node_t *node, struct flb_addr *out)
{
	const char *s;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	if (addr_parse(s, out))
		return yw_err(ctx, node, "\"%s\" is not an IPv4 or IPv6 address", s);
	return 0;
}

static int parse_be_address(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_addr(ctx, node, &((struct backend_walk *)obj)->be->addr);
}

static int parse_be_weight(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct backend_walk *w = obj;
	uint64_t v;
	int err;

	err = yw_uint(ctx, node, 0, FLB_CFG_MAX_WEIGHT, &v);
	if (!err)
		w->be->weight = (uint32_t)v;
	return err;
}

/*
 * A backend port other than the service port is a translation (a pod's
 * target port, docs/pods.md): the balancer still forwards the client's
 * packet unchanged, and the node role of the backend's host rewrites
 * VIP:port to backend:port. A port-less VIP keeps every destination port,
 * so its backends take none.
 */
static int parse_be_port(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct backend_walk *w = obj;
	uint64_t v;
	int err;

	err = yw_uint(ctx, node, 1, 65535, &v);
	if (err)
		return err;
	if (!w->svc->port)
		return yw_err(ctx, node, "%llu given but the service has no port (it matches every port and keeps it); omit the backend port",
			      (unsigned long long)v);
	w->be->port = v == w->svc->port ? 0 : (uint16_t)v;
	return 0;
}

static const struct yw_key backend_keys[] = {
	{ "address", YW_REQUIRED, parse_be_address },
	{ "weight", 0, parse_be_weight },
	{ "port", 0, parse_be_port },
};

static int parse_backend(struct yw_ctx *ctx, yaml_node_t *item, size_t idx,
			 void *obj)
{
	struct flb_service_cfg *svc = obj;
	struct backend_walk w = { .svc = svc, .be = &svc->backends[idx] };
	int err;

	w.be->weight = 1;
	w.be->line = yw_line(item);
	err = yw_mapping(ctx, item, backend_keys, ARRAY_SIZE(backend_keys), &w);
	if (err)
		return err;
	/* Cannot fail: see the _Static_assert on id[] below the includes. */
	return addr_port_format(&w.be->addr, svc->port, w.be->id, sizeof(w.be->id));
}

/* Ties keep file order, so the first of equal addresses sorts first. */
static int cmp_backend_ptr(const void *pa, const void *pb)
{
	const struct flb_backend_cfg *a = *(const struct flb_backend_cfg *const *)pa;
	const struct flb_backend_cfg *b = *(const struct flb_backend_cfg *const *)pb;
	int c = addr_cmp(&a->addr, &b->addr);

	return c ? c : (a > b) - (a < b);
}

/*
 * Sorting instead of comparing all pairs: 1024 services of 4096 backends
 * would be 8 billion comparisons. Reports the first repeat in file order.
 */
static int check_dup_backends(struct yw_ctx *ctx, yaml_node_t *list,
			      const struct flb_service_cfg *svc)
{
	const struct flb_backend_cfg **v, *first = NULL, *dup = NULL;
	char text[FLB_ADDR_PORT_STRLEN];
	size_t i, start = 0;
	yaml_node_t *item;

	if (svc->n_backends < 2)
		return 0;
	v = calloc(svc->n_backends, sizeof(*v));
	if (!v)
		return yw_nomem(ctx);
	for (i = 0; i < svc->n_backends; i++)
		v[i] = &svc->backends[i];
	qsort(v, svc->n_backends, sizeof(*v), cmp_backend_ptr);
	for (i = 1; i < svc->n_backends; i++) {
		if (addr_cmp(&v[i - 1]->addr, &v[i]->addr)) {
			start = i;
			continue;
		}
		/* A run of equal addresses is in file order: v[start] came first. */
		if (i == start + 1 && (!dup || v[i] < dup)) {
			first = v[start];
			dup = v[i];
		}
	}
	free(v);
	if (!dup)
		return 0;
	i = (size_t)(dup - svc->backends);
	item = yaml_document_get_node(ctx->doc, list->data.sequence.items.start[i]);
	yw_push_index(ctx, i);
	yw_push_key(ctx, "address");
	addr_format(&dup->addr, text, sizeof(text));
	return yw_err(ctx, yw_map_get(ctx, item, "address"),
		      "duplicate backend %s (first on line %d)", text, first->line);
}

static int parse_backends(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_service_cfg *svc = obj;
	size_t n;
	int err;

	err = yw_seq_len(ctx, node, 0, FLB_CFG_MAX_BACKENDS, &n);
	if (err || !n)
		return err;
	svc->backends = calloc(n, sizeof(*svc->backends));
	if (!svc->backends)
		return yw_nomem(ctx);
	svc->n_backends = n;
	err = yw_seq_each(ctx, node, parse_backend, svc);
	return err ? err : check_dup_backends(ctx, node, svc);
}

/* ---- services ---- */

static int parse_name(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_service_cfg *svc = obj;
	size_t len;
	const char *s;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	/* Names end up in metric labels and CLI output: keep them plain. */
	len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
	if (!len || s[len] || len >= sizeof(svc->name))
		return yw_err(ctx, node, "\"%s\" is not a valid service name (1..%zu characters from A-Z a-z 0-9 _ . -)",
			      s, sizeof(svc->name) - 1);
	strcpy(svc->name, s);
	return 0;
}

static int parse_vip(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_addr(ctx, node, &((struct flb_service_cfg *)obj)->vip);
}

static int parse_port(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err;

	err = yw_uint(ctx, node, 0, 65535, &v);
	if (!err)
		((struct flb_service_cfg *)obj)->port = (uint16_t)v;
	return err;
}

static int parse_protocol(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum protos[] = {
		{ "tcp", IPPROTO_TCP },
		{ "udp", IPPROTO_UDP },
	};
	int proto, err;

	err = yw_enum(ctx, node, protos, ARRAY_SIZE(protos), &proto);
	if (!err)
		((struct flb_service_cfg *)obj)->proto = (uint8_t)proto;
	return err;
}

/* Trial division: n <= 2^20, so at most ~500 odd divisors. */
static int is_prime(uint64_t n)
{
	if (n < 2 || (n > 2 && n % 2 == 0))
		return 0;
	for (uint64_t d = 3; d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

static int parse_table_size(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	const char *s;
	uint64_t v;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	if (!strcmp(s, "auto")) {
		((struct flb_service_cfg *)obj)->table_size = 0;
		return 0;
	}
	if (s[0] < '0' || s[0] > '9')
		return yw_err(ctx, node, "\"%s\" is not \"auto\" or a prime number", s);
	err = yw_uint(ctx, node, FLB_CFG_TABLE_MIN, FLB_CFG_TABLE_MAX, &v);
	if (err)
		return err;
	/* Maglev needs a prime size for its permutations to cover every slot. */
	if (!is_prime(v))
		return yw_err(ctx, node, "%s is not a prime number", s);
	((struct flb_service_cfg *)obj)->table_size = (uint32_t)v;
	return 0;
}

static int parse_source_service(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_service_cfg *svc = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (!*s || strlen(s) >= sizeof(svc->source_service) ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/:") != strlen(s))
		return yw_err(ctx, node, "\"%s\" is not a registry service name (1..63 of A-Z a-z 0-9 _ . - / :)", s);
	strcpy(svc->source_service, s);
	return 0;
}

static int parse_health(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_health(ctx, node, &((struct flb_service_cfg *)obj)->health);
}

static int parse_on_unhealthy(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_on_unhealthy(ctx, node, &((struct flb_service_cfg *)obj)->on_unhealthy);
}

/* Table order is parse order: backends read the port parsed before them. */
static const struct yw_key service_keys[] = {
	{ "name", YW_REQUIRED, parse_name },
	{ "vip", 0, parse_vip },	/* required but with kubernetes (check_service) */
	{ "port", 0, parse_port },
	{ "protocol", 0, parse_protocol },
	{ "table_size", 0, parse_table_size },
	{ "health_check", 0, parse_health },
	{ "on_unhealthy", 0, parse_on_unhealthy },
	{ "load_weights", 0, config_parse_load },
	{ "scheduler", 0, config_parse_scheduler },
	{ "least_conn", 0, config_parse_least_conn },
	{ "candidates", 0, config_parse_candidates },
	{ "caps", 0, config_parse_caps },
	{ "source_service", 0, parse_source_service },
	{ "backends", 0, parse_backends },
	{ "affinity", 0, config_parse_affinity },
	{ "affinity_timeout", 0, config_parse_affinity_timeout },
	{ "outlier_detection", 0, config_parse_outlier },
};

/* Checks across services: up to 1024, so all pairs is cheap enough. */
static int check_service(struct yw_ctx *ctx, yaml_node_t *map,
			 const struct flb_config *cfg, size_t idx)
{
	const struct flb_service_cfg *svc = &cfg->services[idx];
	char vip[VIP_NAME_STRLEN];
	size_t active = 0;

	/* A kubernetes Service's entry may leave the VIP to the Service. */
	bool k8s_vip = svc->source_service[0] && cfg->source.type == FLB_SRC_KUBERNETES &&
		       !yw_map_get(ctx, map, "vip");

	if (!k8s_vip && !yw_map_get(ctx, map, "vip")) {
		yw_push_key(ctx, "vip");
		return yw_err(ctx, map, "missing required key");
	}
	for (size_t i = 0; i < idx; i++) {
		const struct flb_service_cfg *o = &cfg->services[i];

		if (!strcmp(o->name, svc->name)) {
			yw_push_key(ctx, "name");
			return yw_err(ctx, yw_map_get(ctx, map, "name"),
				      "duplicate service name \"%s\" (first on line %d)",
				      svc->name, o->line);
		}
		/* A port-less VIP and a VIP with a port may share an address. */
		if (k8s_vip || addr_cmp(&o->vip, &svc->vip) || o->port != svc->port ||
		    o->proto != svc->proto)
			continue;
		vip_name_parts(&svc->vip, svc->port, svc->proto, vip, sizeof(vip));
		yw_push_key(ctx, "vip");
		return yw_err(ctx, yw_map_get(ctx, map, "vip"),
			      "%s is already the VIP of service \"%s\" (line %d)",
			      vip, o->name, o->line);
	}
	if (!svc->source_service[0] && !yw_map_get(ctx, map, "backends")) {
		yw_push_key(ctx, "backends");
		return yw_err(ctx, map, "missing required key (or give source_service)");
	}
	if (svc->source_service[0] && cfg->source.type == FLB_SRC_FILE) {
		yw_push_key(ctx, "source_service");
		return yw_err(ctx, yw_map_get(ctx, map, "source_service"),
			      "needs a registry source (source.type: consul, etcd or kubernetes)");
	}
	if (svc->source_service[0] && svc->n_backends) {
		yw_push_key(ctx, "backends");
		return yw_err(ctx, yw_map_get(ctx, map, "backends"),
			      "a service takes its backends from source_service \"%s\" or lists them, not both",
			      svc->source_service);
	}
	if (svc->health.type != FLB_HC_NONE && !svc->health.port && !svc->port && !k8s_vip) {
		yw_push_key(ctx, "health_check");
		return yw_err(ctx, yw_map_get(ctx, map, "health_check") ?: map,
			      "a port-less VIP needs health_check.port");
	}
	if (svc->load.from && svc->health.type != FLB_HC_HTTP) {
		yw_push_key(ctx, "load_weights");
		return yw_err(ctx, yw_map_get(ctx, map, "load_weights"),
			      "needs an HTTP health_check (the load is read from its body)");
	}
	for (size_t i = 0; svc->load.from && i < svc->n_backends; i++)
		if (svc->backends[i].weight > 100)
			return yw_err_line(ctx, svc->backends[i].line,
					   "weight %u: a service with load_weights takes weights 0..100 (docs/operating.md, Load-aware weights)",
					   svc->backends[i].weight);
	if (config_check_policy(ctx, map, svc))
		return -EINVAL;
	if (!svc->table_size)
		return 0;
	for (size_t i = 0; i < svc->n_backends; i++)
		active += svc->backends[i].weight > 0;
	/* With more weighted backends than slots, some would get no slot. */
	if (active > svc->table_size) {
		yw_push_key(ctx, "table_size");
		return yw_err(ctx, yw_map_get(ctx, map, "table_size"),
			      "%u is smaller than the number of backends with a non-zero weight (%zu)",
			      svc->table_size, active);
	}
	return 0;
}

static int parse_service(struct yw_ctx *ctx, yaml_node_t *item, size_t idx,
			 void *obj)
{
	struct flb_config *cfg = obj;
	struct flb_service_cfg *svc = &cfg->services[idx];
	int err;

	svc->proto = IPPROTO_TCP;
	svc->line = yw_line(item);
	svc->health = cfg->health; /* defaults.health_check, if any */
	svc->on_unhealthy = cfg->on_unhealthy;
	svc->policy.epsilon_pm = FLB_CFG_DEFAULT_EPSILON_PM;
	svc->policy.candidates = FLB_CFG_DEFAULT_CANDIDATES;
	err = yw_mapping(ctx, item, service_keys, ARRAY_SIZE(service_keys), svc);
	return err ? err : check_service(ctx, item, cfg, idx);
}

int config_parse_services(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	size_t n;
	int err;

	err = yw_seq_len(ctx, node, 0, FLB_CFG_MAX_SERVICES, &n);
	if (err || !n)
		return err;
	cfg->services = calloc(n, sizeof(*cfg->services));
	if (!cfg->services)
		return yw_nomem(ctx);
	/* All n now, so config_free() reaches backends of a half-read list. */
	cfg->n_services = n;
	return yw_seq_each(ctx, node, parse_service, cfg);
}
