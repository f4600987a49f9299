// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration file (see config.h): reading it, the top-level and node
 * sections, defaults, and freeing. The key tables define the shape, one table
 * per mapping, and each key's parse function validates its value; the
 * services section lives in config_service.c. The shape here:
 *
 *	interfaces: [eth0]            # 1..16 names or globs, no duplicates; or "auto"
 *	                              # (none: node.pods only)
 *	nodes:                        # optional per-node overrides, first match wins
 *	  - name: "edge-*"            # glob on the node name (node_name.h)
 *	    interfaces: auto          # as above
 *	    xdp_mode: skb             # as node.xdp_mode
 * $FLUXLB_INTERFACES ("eth1,eth2" or "auto") overrides both.
 *	node:                         # optional
 *	  bpffs: /sys/fs/bpf/fluxlb   # absolute path
 *	  xdp_mode: native            # native | skb
 *	  encap_source: 172.16.0.0    # IPv4 /16 prefix
 *	  encap_source6: "fd00:f1b::" # IPv6 /96 prefix
 *	  conntrack:
 *	    tcp_timeout: 1h           # idle entries older than this are ignored
 *	    udp_timeout: 30s
 *	  flood:
 *	    new_flows_per_second: 0   # node-wide; 0 = off; auto = FLB_CFG_FLOOD_AUTO
 *	  pods: ...                   # see config_node.c
 *	metrics, source, defaults     # see config_metrics.c, config_source.c, config_defaults.c
 *	announce                      # see config_announce.c
 *	second_chance                 # see config_chance.c
 *	services: []                  # see config_service.c
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fnmatch.h>

#include "config.h"
#include "config_parse.h"
#include "iface_resolve.h"
#include "node_name.h"
#include "yaml_walk.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FILE_SIZE (64u << 20)

static const struct flb_addr default_src4 = {
	.family = AF_INET, .bytes = { 172, 16, 0, 0 },
};
static const struct flb_addr default_src6 = {
	.family = AF_INET6, .bytes = { 0xfd, 0x00, 0x0f, 0x1b },
};

/* ---- interfaces ---- */

/* The kernel's dev_valid_name(): what `ip link` would accept. */
static int valid_ifname(const char *s)
{
	size_t len = strlen(s);

	if (!len || len >= sizeof(((struct flb_config *)0)->ifaces[0]) ||
	    !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s == ' ' ||
		    (*s >= '\t' && *s <= '\r'))
			return 0;
	return 1;
}

static int parse_iface(struct yw_ctx *ctx, yaml_node_t *item, size_t idx,
		       void *obj)
{
	struct flb_config *cfg = obj;
	const char *s;
	int err;

	err = yw_str(ctx, item, &s);
	if (err)
		return err;
	if (!valid_ifname(s))
		return yw_err(ctx, item, "\"%s\" is not an interface name (1..15 characters, no '/', ':' or spaces)", s);
	for (size_t i = 0; i < idx; i++)
		if (!strcmp(cfg->iface_spec[i], s))
			return yw_err(ctx, item, "duplicate interface \"%s\" (also interfaces[%zu])", s, i);
	strcpy(cfg->iface_spec[idx], s);
	cfg->n_iface_spec = idx + 1;
	return 0;
}

/* A list of names and globs, or the scalar "auto". */
static int parse_interfaces(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	size_t n;
	int err;

	if (node->type == YAML_SCALAR_NODE && !strcmp((const char *)node->data.scalar.value, "auto")) {
		strcpy(cfg->iface_spec[0], "auto");
		cfg->n_iface_spec = 1;
		return 0;
	}
	cfg->n_iface_spec = 0;
	err = yw_seq_len(ctx, node, 0, FLB_CFG_MAX_IFACES, &n); /* 0: node.pods only */
	return err ? err : yw_seq_each(ctx, node, parse_iface, obj);
}

/* ---- node ---- */

static int parse_bpffs(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	const char *s;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	/* The daemon and the CLI must find the same pins whatever their cwd. */
	if (s[0] != '/')
		return yw_err(ctx, node, "\"%s\" is not an absolute path", s);
	if (strlen(s) >= sizeof(cfg->bpffs))
		return yw_err(ctx, node, "path is longer than %zu characters",
			      sizeof(cfg->bpffs) - 1);
	strcpy(cfg->bpffs, s);
	return 0;
}

static int parse_xdp_mode(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	static const struct yw_enum modes[] = {
		{ "native", FLB_XDP_NATIVE },
		{ "skb", FLB_XDP_SKB },
	};
	struct flb_config *cfg = obj;
	int mode, err;

	err = yw_enum(ctx, node, modes, ARRAY_SIZE(modes), &mode);
	if (!err)
		cfg->xdp_mode = mode;
	return err;
}

/* An outer source prefix: the dataplane overwrites its low host_bytes per flow. */
static int parse_prefix(struct yw_ctx *ctx, yaml_node_t *node, int family,
			size_t host_bytes, struct flb_addr *out)
{
	size_t len = family == AF_INET ? 4 : 16;
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct flb_addr a;
	const char *s;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	if (addr_parse(s, &a) || a.family != family)
		return yw_err(ctx, node, "\"%s\" is not an %s address", s, fam);
	for (size_t i = len - host_bytes; i < len; i++)
		if (a.bytes[i])
			return yw_err(ctx, node, "%s has non-zero low %zu bits, which the dataplane replaces per flow: give a /%zu prefix",
				      s, host_bytes * 8, (len - host_bytes) * 8);
	*out = a;
	return 0;
}

static int parse_encap4(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_prefix(ctx, node, AF_INET, 2, &((struct flb_config *)obj)->encap_src4);
}

static int parse_encap6(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_prefix(ctx, node, AF_INET6, 4, &((struct flb_config *)obj)->encap_src6);
}

/* Conntrack timeouts: whole seconds, 1 s .. 7 days. */
static int parse_timeout(struct yw_ctx *ctx, yaml_node_t *node, uint32_t *out)
{
	uint32_t ms;
	int err = config_parse_duration(ctx, node, 1000, 7 * 86400 * 1000U, &ms);

	if (err)
		return err;
	if (ms % 1000)
		return yw_err(ctx, node, "%ums is not whole seconds", ms);
	*out = ms / 1000;
	return 0;
}

static int parse_tcp_timeout(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_timeout(ctx, node, &((struct flb_config *)obj)->ct_tcp_timeout_s);
}

static int parse_udp_timeout(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_timeout(ctx, node, &((struct flb_config *)obj)->ct_udp_timeout_s);
}

static const struct yw_key conntrack_keys[] = {
	{ "tcp_timeout", 0, parse_tcp_timeout },
	{ "udp_timeout", 0, parse_udp_timeout },
};

static int parse_conntrack(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, conntrack_keys, ARRAY_SIZE(conntrack_keys), obj);
}

/* Flood defence threshold: a count (0 = off) or auto. */
static int parse_flood_nfps(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint32_t *out = &((struct flb_config *)obj)->flood_nfps;
	uint64_t v;
	int err;

	if (node->type == YAML_SCALAR_NODE &&
	    !strcmp((const char *)node->data.scalar.value, "auto")) {
		*out = FLB_CFG_FLOOD_AUTO;
		return 0;
	}
	err = yw_uint(ctx, node, 0, FLB_CFG_FLOOD_MAX, &v);
	if (!err)
		*out = (uint32_t)v;
	return err;
}

static const struct yw_key flood_keys[] = {
	{ "new_flows_per_second", 0, parse_flood_nfps },
	{ "prefix", 0, config_parse_flood_prefix },
};

static int parse_flood(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, flood_keys, ARRAY_SIZE(flood_keys), obj);
}

static const struct yw_key node_keys[] = {
	{ "bpffs", 0, parse_bpffs },
	{ "xdp_mode", 0, parse_xdp_mode },
	{ "encap_source", 0, parse_encap4 },
	{ "encap_source6", 0, parse_encap6 },
	{ "conntrack", 0, parse_conntrack },
	{ "flood", 0, parse_flood },
	{ "pods", 0, config_parse_pods },
};

static int parse_node(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, node_keys, ARRAY_SIZE(node_keys), obj);
}

/* ---- nodes: per-node overrides ---- */

/* One entry, parsed into a scratch config (o) so that every entry is
 * checked; the first whose name glob matches this node is applied. */
struct node_entry {
	struct flb_config o;      /* iface_spec, xdp_mode of the entry */
	const char *name;
	bool has_mode;
	bool matched;             /* an earlier entry matched: skip */
	struct flb_config *cfg;
};

static int parse_node_name(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct node_entry *e = obj;

	return yw_str(ctx, node, &e->name);
}

static int parse_node_ifaces(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_interfaces(ctx, node, &((struct node_entry *)obj)->o);
}

static int parse_node_mode(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct node_entry *e = obj;

	e->has_mode = true;
	return parse_xdp_mode(ctx, node, &e->o);
}

static const struct yw_key node_entry_keys[] = {
	{ "name", YW_REQUIRED, parse_node_name },
	{ "interfaces", 0, parse_node_ifaces },
	{ "xdp_mode", 0, parse_node_mode },
};

static int parse_node_entry(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	struct node_entry *e = obj;
	char me[256];
	int err;

	(void)idx;
	memset(&e->o, 0, sizeof(e->o));
	e->has_mode = false;
	err = yw_mapping(ctx, item, node_entry_keys, ARRAY_SIZE(node_entry_keys), e);
	if (err || e->matched || fnmatch(e->name, node_name(me, sizeof(me)), 0))
		return err;
	e->matched = true;
	if (e->o.n_iface_spec) {
		memcpy(e->cfg->iface_spec, e->o.iface_spec, sizeof(e->o.iface_spec));
		e->cfg->n_iface_spec = e->o.n_iface_spec;
	}
	if (e->has_mode)
		e->cfg->xdp_mode = e->o.xdp_mode;
	return 0;
}

static int parse_nodes(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct node_entry *e = calloc(1, sizeof(*e));
	size_t n;
	int err;

	if (!e)
		return yw_nomem(ctx);
	e->cfg = obj;
	err = yw_seq_len(ctx, node, 0, 1024, &n);
	if (!err)
		err = yw_seq_each(ctx, node, parse_node_entry, e);
	free(e);
	return err;
}

/* $FLUXLB_INTERFACES: "auto" or names/globs separated by commas. */
static int env_interfaces(struct flb_config *cfg, const char *name, char *err, size_t errlen)
{
	const char *env = getenv("FLUXLB_INTERFACES");
	char buf[FLB_CFG_MAX_IFACES * 17], *tok, *save = NULL;
	size_t n = 0;

	if (!env || !*env)
		return 0;
	if (strlen(env) >= sizeof(buf))
		goto bad;
	strcpy(buf, env);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == FLB_CFG_MAX_IFACES || !valid_ifname(tok))
			goto bad;
		strcpy(cfg->iface_spec[n++], tok);
	}
	if (!n)
		goto bad;
	cfg->n_iface_spec = n;
	return 0;
bad:
	if (err && errlen)
		snprintf(err, errlen, "%s: FLUXLB_INTERFACES=\"%s\": 1..%d interface names or globs separated by commas, or auto",
			 name, env, FLB_CFG_MAX_IFACES);
	return -EINVAL;
}

/* ---- top level ---- */

/* defaults before services: a service inherits defaults.health_check. */
static const struct yw_key top_keys[] = {
	{ "interfaces", YW_REQUIRED, parse_interfaces },
	{ "node", 0, parse_node },
	{ "nodes", 0, parse_nodes },   /* after interfaces and node: it overrides them */
	{ "metrics", 0, config_parse_metrics },
	{ "source", 0, config_parse_source },
	{ "defaults", 0, config_parse_defaults },
	{ "announce", 0, config_parse_announce },
	{ "second_chance", 0, config_parse_chance },
	{ "services", YW_REQUIRED, config_parse_services },
};

int config_parse(const char *name, const char *buf, size_t len,
		 struct flb_config *out, char *err, size_t errlen)
{
	struct yw_ctx ctx = { .name = name ? name : "config", .err = err,
			      .errlen = errlen };
	yaml_document_t doc;
	yaml_node_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	ret = yw_load(&ctx, buf, len, &doc);
	if (ret)
		return ret;
	ctx.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		ret = yw_err_line(&ctx, 1, "empty file");
		goto out;
	}
	strcpy(out->bpffs, FLB_CFG_DEFAULT_BPFFS);
	out->xdp_mode = FLB_XDP_NATIVE;
	out->encap_src4 = default_src4;
	out->encap_src6 = default_src6;
	out->ct_tcp_timeout_s = FLB_CFG_DEFAULT_TCP_TIMEOUT_S;
	out->chance.window_s = FLB_CFG_DEFAULT_CHANCE_WINDOW_S;
	out->ct_udp_timeout_s = FLB_CFG_DEFAULT_UDP_TIMEOUT_S;
	out->drain_timeout_ms = FLB_CFG_DEFAULT_DRAIN_MS;
	out->panic_percent = FLB_CFG_DEFAULT_PANIC_PERCENT;
	strcpy(out->source.address, "http://127.0.0.1:8500");
	strcpy(out->source.endpoints, "http://127.0.0.1:2379");
	strcpy(out->source.prefix, "/fluxlb/");
	ret = yw_mapping(&ctx, root, top_keys, ARRAY_SIZE(top_keys), out);
	if (!ret)
		ret = env_interfaces(out, ctx.name, err, errlen);
	if (!ret && out->pods.iface[0] && !out->pods.n_cidrs && out->source.type != FLB_SRC_KUBERNETES)
		ret = yw_err(&ctx, yw_map_get(&ctx, root, "node"),
			     "node.pods.cidrs: required unless the source is kubernetes (whose endpoints' nodeName says which pods are local)");
	if (!ret && !out->n_iface_spec && !out->pods.iface[0])
		ret = yw_err(&ctx, yw_map_get(&ctx, root, "interfaces"),
			     "interfaces: an empty list needs node.pods (a node that only serves its pods)");
	if (!ret) {
		iface_resolve(out);
		ret = config_validate(out, ctx.name, err, errlen);
	}
out:
	yaml_document_delete(&doc);
	if (ret)
		config_free(out);
	return ret;
}

/* The whole file in memory: libyaml's reader errors give byte offsets. */
static int read_file(const char *path, char **bufp, size_t *lenp)
{
	size_t len = 0, cap = 0;
	char *buf = NULL, *tmp;
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if (cap > MAX_FILE_SIZE) {
				err = -EFBIG;
				break;
			}
			tmp = realloc(buf, cap);
			if (!tmp) {
				err = -ENOMEM;
				break;
			}
			buf = tmp;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	*bufp = buf;
	*lenp = len;
	return 0;
}

int config_load_file(const char *path, struct flb_config *out, char *err,
		     size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_file(path, &buf, &len);
	if (ret) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", path,
				 ret == -EFBIG ? "file too large (the limit is 64 MiB)" : strerror(-ret));
		return ret;
	}
	ret = config_parse(path, buf, len, out, err, errlen);
	free(buf);
	return ret;
}

void config_free(struct flb_config *cfg)
{
	for (size_t i = 0; i < cfg->n_services; i++)
		free(cfg->services[i].backends);
	free(cfg->services);
	memset(cfg, 0, sizeof(*cfg));
}
