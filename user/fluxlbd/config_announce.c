// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The announce section of the configuration (see config.c for how key
 * tables work; docs/bgp.md for the design). Its presence turns announcing
 * on: fluxlbd keeps one host route per servable VIP in a kernel routing
 * table of its own, which BIRD learns and exports over BGP. The bgp keys
 * are not read by the daemon's loop: `fluxlbd --bird-config` renders them
 * into BIRD's configuration (announce_bird.c), so one file says it all.
 *
 *	announce:
 *	  table: 4242                 # 1..2^32-1, not 253 (default), 254 (main), 255 (local)
 *	  grace: 2s                   # 0..5m, wait after the shutdown withdraw
 *	  bgp:                        # optional; for fluxlbd --bird-config
 *	    asn: 65001                # this node's ASN, 1..2^32-1
 *	    router_id: 10.20.1.2      # optional IPv4 address
 *	    communities: ["65000:100"]
 *	    peers:                    # 1..8
 *	      - {address: 10.20.1.1, asn: 65000}
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config_parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static struct flb_announce_cfg *ann(void *obj)
{
	return &((struct flb_config *)obj)->announce;
}

static int parse_table(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, UINT32_MAX, &v);

	if (err)
		return err;
	/* The kernel's own tables: routes there would forward traffic. */
	if (v >= 253 && v <= 255)
		return yw_err(ctx, node, "table %llu is one of the kernel's own (253 default, 254 main, 255 local); pick a table of fluxlb's own such as 4242",
			      (unsigned long long)v);
	ann(obj)->table = (uint32_t)v;
	return 0;
}

static int parse_grace(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return config_parse_duration(ctx, node, 0, 300000, &ann(obj)->grace_ms);
}

static int parse_asn_val(struct yw_ctx *ctx, yaml_node_t *node, uint32_t *out)
{
	uint64_t v;
	int err = yw_uint(ctx, node, 1, UINT32_MAX, &v);

	if (!err)
		*out = (uint32_t)v;
	return err;
}

static int parse_asn(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_asn_val(ctx, node, &ann(obj)->asn);
}

static int parse_router_id(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (addr_parse(s, &ann(obj)->router_id) || ann(obj)->router_id.family != AF_INET)
		return yw_err(ctx, node, "\"%s\" is not an IPv4 address (BGP router ids are 32 bits)", s);
	return 0;
}

/* "A:B", each 0..65535 (RFC 1997 communities). */
static int parse_community(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	unsigned a, b;
	const char *s;
	char end;
	int err = yw_str(ctx, item, &s);

	if (err)
		return err;
	if (sscanf(s, "%5u:%5u%c", &a, &b, &end) != 2 || a > 65535 || b > 65535 || s[0] < '0' ||
	    s[0] > '9')
		return yw_err(ctx, item, "\"%s\" is not a community ASN:VALUE, each 0..65535", s);
	ann(obj)->communities[idx] = a << 16 | b;
	ann(obj)->n_communities = idx + 1;
	return 0;
}

static int parse_communities(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	size_t n;
	int err = yw_seq_len(ctx, node, 0, FLB_CFG_MAX_COMMUNITIES, &n);

	return err ? err : yw_seq_each(ctx, node, parse_community, obj);
}

static int peer_address(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_bgp_peer_cfg *p = obj;
	const char *s;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (addr_parse(s, &p->addr))
		return yw_err(ctx, node, "\"%s\" is not an IP address", s);
	return 0;
}

static int peer_asn(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return parse_asn_val(ctx, node, &((struct flb_bgp_peer_cfg *)obj)->asn);
}

static const struct yw_key peer_keys[] = {
	{ "address", YW_REQUIRED, peer_address },
	{ "asn", YW_REQUIRED, peer_asn },
};

static int parse_peer(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	struct flb_announce_cfg *a = ann(obj);
	int err = yw_mapping(ctx, item, peer_keys, ARRAY_SIZE(peer_keys), &a->peers[idx]);

	if (err)
		return err;
	for (size_t i = 0; i < idx; i++)
		if (!addr_cmp(&a->peers[i].addr, &a->peers[idx].addr))
			return yw_err(ctx, item, "duplicate peer (also peers[%zu])", i);
	a->n_peers = idx + 1;
	return 0;
}

static int parse_peers(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	size_t n;
	int err = yw_seq_len(ctx, node, 1, FLB_CFG_MAX_PEERS, &n);

	return err ? err : yw_seq_each(ctx, node, parse_peer, obj);
}

static const struct yw_key bgp_keys[] = {
	{ "asn", YW_REQUIRED, parse_asn },
	{ "router_id", 0, parse_router_id },
	{ "communities", 0, parse_communities },
	{ "peers", YW_REQUIRED, parse_peers },
};

static int parse_bgp(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, bgp_keys, ARRAY_SIZE(bgp_keys), obj);
}

static const struct yw_key announce_keys[] = {
	{ "table", 0, parse_table },
	{ "grace", 0, parse_grace },
	{ "bgp", 0, parse_bgp },
};

int config_parse_announce(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_announce_cfg *a = ann(obj);

	a->enabled = true;
	a->table = FLB_CFG_DEFAULT_ANNOUNCE_TABLE;
	a->grace_ms = FLB_CFG_DEFAULT_ANNOUNCE_GRACE_MS;
	return yw_mapping(ctx, node, announce_keys, ARRAY_SIZE(announce_keys), obj);
}
