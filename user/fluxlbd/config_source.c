// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The source section of the configuration: where the backends of services
 * with source_service come from (see config.c for how key tables work;
 * source.h for the sources themselves). The shape:
 *
 *	source:
 *	  type: file                  # file | consul | etcd | kubernetes
 *	  address: http://127.0.0.1:8500          # consul
 *	  token_file: /path                       # consul ACL token, optional
 *	  endpoints: [https://127.0.0.1:2379]     # etcd
 *	  prefix: /fluxlb/                        # etcd
 *	  ca_file: /path                          # etcd, consul: CA of https://
 *	  cert_file: /path  key_file: /path       # etcd: client certificate
 *	  username: fluxlbd  password_file: /path # etcd: auth
 *	  api_server: https://10.96.0.1:443       # kubernetes, each optional:
 *	  token_file: /path  ca_file: /path       #   in-cluster defaults
 *	  kubeconfig: /path                       #   or a kubeconfig instead
 *	  namespace: default                      #   default all
 *	  load_balancer_class: fluxlb.io/l4
 *	  address_pool: [10.100.0.0/28, 10.100.1.10-10.100.1.20]  # VIPs for Services without one
 *	  write_status: true                      #   one elected writer (a Lease) writes
 *	  node_name: node-a                       #   status; default $NODE_NAME, hostname
 *	  lease_name: fluxlbd-status-writer
 *	  lease_namespace: fluxlb                 #   default: namespace, else "default"
 *	  lease_duration: 15s
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int source_type(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum types[] = {
		{ "file", FLB_SRC_FILE }, { "consul", FLB_SRC_CONSUL }, { "etcd", FLB_SRC_ETCD },
		{ "kubernetes", FLB_SRC_KUBERNETES },
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

/* Secrets never sit in the file (a ConfigMap anyone reading the namespace
 * sees): the keys are known, and refused with where to put the secret. */
static int source_token(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	return yw_err(ctx, node, "never an inline token: write it to a file and give token_file");
}

static int source_password(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	return yw_err(ctx, node, "never an inline password: write it to a file and give password_file");
}

static int source_username(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (!*s || strlen(s) >= sizeof(src->username) || strpbrk(s, " \t\r\n\"\\"))
		return yw_err(ctx, node, "\"%s\" is not a user name (one word under %zu characters)", s,
			      sizeof(src->username));
	strcpy(src->username, s);
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

/* A path to a file read at run time (a token is never inline). */
static int path_into(struct yw_ctx *ctx, yaml_node_t *node, char *buf, size_t len)
{
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (s[0] != '/' || strlen(s) >= len)
		return yw_err(ctx, node, "\"%s\" is not an absolute path under %zu characters", s, len);
	strcpy(buf, s);
	return 0;
}

static int source_api_server(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;

	return url_into(ctx, node, src->api_server, sizeof(src->api_server));
}

#define PATH_KEY(field)                                                                  \
	static int source_##field(struct yw_ctx *ctx, yaml_node_t *node, void *obj)      \
	{                                                                                \
		struct flb_source_cfg *src = obj;                                        \
		return path_into(ctx, node, src->field, sizeof(src->field));             \
	}
PATH_KEY(token_file)
PATH_KEY(ca_file)
PATH_KEY(kubeconfig)
PATH_KEY(cert_file)
PATH_KEY(key_file)
PATH_KEY(password_file)

/* A DNS label (RFC 1123), what Kubernetes allows for a namespace. */
static int source_namespace(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (!*s || strlen(s) >= sizeof(src->k8s_namespace) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(s))
		return yw_err(ctx, node, "\"%s\" is not a namespace name (a DNS label)", s);
	strcpy(src->k8s_namespace, s);
	return 0;
}

static int source_lb_class(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (!*s || strlen(s) >= sizeof(src->lb_class) || strpbrk(s, " \t\r\n\"\\"))
		return yw_err(ctx, node, "\"%s\" is not a loadBalancerClass", s);
	strcpy(src->lb_class, s);
	return 0;
}

/* One address_pool entry: "A/LEN" (an IPv4 /30 or larger keeps its network
 * and broadcast addresses out), "A-B" (inclusive, same family, A <= B,
 * within one /16 or /112) or one address. */
static int pool_item(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	struct flb_source_cfg *src = obj;
	struct flb_pool_range *r = &src->pool[idx];
	char buf[128], *sep;
	const char *s;
	int err = yw_str(ctx, item, &s);

	if (err)
		return err;
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	if ((sep = strchr(buf, '/'))) {
		char *end;
		long len = strtol(sep + 1, &end, 10);
		int bits, hostbits;

		*sep = 0;
		if (addr_parse(buf, &r->first) || *end || end == sep + 1)
			goto bad;
		bits = r->first.family == AF_INET ? 32 : 128;
		if (len < (bits == 32 ? 16 : 112) || len > bits)
			return yw_err(ctx, item, "\"%s\": a pool prefix is /%d to /%d", s, bits == 32 ? 16 : 112,
				      bits);
		hostbits = bits - (int)len;
		r->last = r->first;
		for (int i = 0; i < bits; i++) {
			uint8_t m = (uint8_t)(0x80 >> (i % 8));

			if (i < bits - hostbits)
				continue;
			if (r->first.bytes[i / 8] & m)
				return yw_err(ctx, item, "\"%s\" has host bits set", s);
			r->last.bytes[i / 8] |= m;
		}
		if (bits == 32 && hostbits >= 2) {
			r->first.bytes[3]++;
			r->last.bytes[3]--;
		}
	} else if ((sep = strchr(buf, '-'))) {
		*sep = 0;
		if (addr_parse(buf, &r->first) || addr_parse(sep + 1, &r->last) ||
		    r->first.family != r->last.family || addr_cmp(&r->first, &r->last) > 0)
			goto bad;
		/* At most 65536 addresses: one /16 (IPv4) or /112 (IPv6). */
		if (memcmp(r->first.bytes, r->last.bytes, r->first.family == AF_INET ? 2 : 14))
			return yw_err(ctx, item, "\"%s\": a range stays within one /16 (IPv4) or /112 (IPv6)", s);
	} else {
		if (addr_parse(buf, &r->first))
			goto bad;
		r->last = r->first;
	}
	src->n_pool = idx + 1;
	return 0;
bad:
	return yw_err(ctx, item, "\"%s\" is not an address, A/LEN or A-B", s);
}

static int source_address_pool(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;
	size_t n;
	int err = yw_seq_len(ctx, node, 0, sizeof(src->pool) / sizeof(src->pool[0]), &n);

	src->n_pool = 0;
	return err ? err : yw_seq_each(ctx, node, pool_item, obj);
}

static int source_write_status(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum vals[] = { { "true", 0 }, { "false", 1 } };
	int v, err = yw_enum(ctx, node, vals, ARRAY_SIZE(vals), &v);

	if (!err)
		((struct flb_source_cfg *)obj)->no_write_status = v;
	return err;
}

/* A DNS subdomain (RFC 1123): names, holder identities. */
static int subdomain_into(struct yw_ctx *ctx, yaml_node_t *node, char *buf, size_t len, const char *what)
{
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (!*s || strlen(s) >= len || strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.") != strlen(s))
		return yw_err(ctx, node, "\"%s\" is not a %s (lower-case DNS subdomain)", s, what);
	strcpy(buf, s);
	return 0;
}

static int source_node_name(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;

	return subdomain_into(ctx, node, src->node_name, sizeof(src->node_name), "node name");
}

static int source_lease_name(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;

	return subdomain_into(ctx, node, src->lease_name, sizeof(src->lease_name), "Lease name");
}

static int source_lease_namespace(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = obj;

	return subdomain_into(ctx, node, src->lease_namespace, sizeof(src->lease_namespace), "namespace");
}

static int source_lease_duration(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 2000, 300000, &((struct flb_source_cfg *)obj)->lease_duration_ms);
}

static const struct yw_key source_keys[] = {
	{ "type", YW_REQUIRED, source_type },
	{ "address", 0, source_address },
	{ "token", 0, source_token },
	{ "endpoints", 0, source_endpoints },
	{ "prefix", 0, source_prefix },
	{ "api_server", 0, source_api_server },
	{ "token_file", 0, source_token_file },
	{ "ca_file", 0, source_ca_file },
	{ "kubeconfig", 0, source_kubeconfig },
	{ "namespace", 0, source_namespace },
	{ "load_balancer_class", 0, source_lb_class },
	{ "address_pool", 0, source_address_pool },
	{ "write_status", 0, source_write_status },
	{ "node_name", 0, source_node_name },
	{ "lease_name", 0, source_lease_name },
	{ "lease_namespace", 0, source_lease_namespace },
	{ "lease_duration", 0, source_lease_duration },
	{ "cert_file", 0, source_cert_file },
	{ "key_file", 0, source_key_file },
	{ "username", 0, source_username },
	{ "password_file", 0, source_password_file },
	{ "password", 0, source_password },
};

/* The etcd TLS and auth keys come in pairs and belong to etcd. */
static int check_etcd_security(struct yw_ctx *ctx, yaml_node_t *node, const struct flb_source_cfg *src)
{
	bool any = src->cert_file[0] || src->key_file[0] || src->username[0] || src->password_file[0];

	if (any && src->type != FLB_SRC_ETCD)
		return yw_err(ctx, node, "cert_file, key_file, username and password_file are etcd keys");
	if (!src->cert_file[0] != !src->key_file[0])
		return yw_err(ctx, node, "cert_file and key_file go together (the client certificate and its key)");
	if (!src->username[0] != !src->password_file[0])
		return yw_err(ctx, node, "username and password_file go together");
	return 0;
}

int config_parse_source(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_source_cfg *src = &((struct flb_config *)obj)->source;
	int err = yw_mapping(ctx, node, source_keys, ARRAY_SIZE(source_keys), src);

	return err ? err : check_etcd_security(ctx, node, src);
}
