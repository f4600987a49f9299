// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The node.pods section: this host's pods are backends, and fluxlbd serves
 * the node role for them (docs/pods.md, user/fluxlbd/node.c). The shape:
 *
 *	node:
 *	  pods:
 *	    interface: eth0           # the NIC the balancers' tunnel packets arrive on
 *	    cidrs: [10.20.1.0/24, "fd00:20:1::/64"]   # this node's pod addresses, 1..16
 *
 * The interface carries the node-side programs (XDP decap with translation,
 * tc reverse NAT). It may also be one of `interfaces` (every node of a
 * DaemonSet is both): decap then runs as the balancer's tail call
 * (bpf/tail.h). "auto" is the NIC of the default route, as in `interfaces`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "config_parse.h"
#include "yaml_walk.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int parse_pod_iface(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	struct flb_config *cfg = obj;
	const char *s;
	int err;

	err = yw_str(ctx, node, &s);
	if (err)
		return err;
	if (!*s || strlen(s) >= sizeof(cfg->pods.iface) || strpbrk(s, "/: \t\n"))
		return yw_err(ctx, node, "\"%s\" is not an interface name (1..15 characters, no '/', ':' or spaces)", s);
	strcpy(cfg->pods.iface, s);
	return 0;
}

/* "10.20.1.0/24": the address with its host bits zero, and a length. */
static int parse_cidr(struct yw_ctx *ctx, yaml_node_t *item, size_t idx, void *obj)
{
	struct flb_pods_cfg *pods = &((struct flb_config *)obj)->pods;
	struct flb_pod_cidr *c = &pods->cidrs[idx];
	char buf[64], *slash, *end;
	const char *s;
	unsigned long len;
	int err, max;

	err = yw_str(ctx, item, &s);
	if (err)
		return err;
	if (strlen(s) >= sizeof(buf) || !(slash = strchr(strcpy(buf, s), '/')))
		return yw_err(ctx, item, "\"%s\" is not a prefix (ADDRESS/LENGTH)", s);
	*slash = '\0';
	if (addr_parse(buf, &c->net))
		return yw_err(ctx, item, "\"%s\" is not an IPv4 or IPv6 address", buf);
	max = c->net.family == AF_INET ? 32 : 128;
	len = strtoul(slash + 1, &end, 10);
	if (!slash[1] || *end || len > (unsigned long)max)
		return yw_err(ctx, item, "\"%s\": the length must be 0..%d", s, max);
	c->len = (uint8_t)len;
	for (int b = c->len; b < max; b++)
		if (c->net.bytes[b / 8] & (0x80 >> (b % 8)))
			return yw_err(ctx, item, "\"%s\" has host bits set", s);
	pods->n_cidrs = idx + 1;
	return 0;
}

static int parse_cidrs(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	size_t n;
	int err;

	err = yw_seq_len(ctx, node, 1, FLB_CFG_MAX_POD_CIDRS, &n);
	return err ? err : yw_seq_each(ctx, node, parse_cidr, obj);
}

static const struct yw_key pod_keys[] = {
	{ "interface", YW_REQUIRED, parse_pod_iface },
	{ "cidrs", 0, parse_cidrs }, /* required unless the source is kubernetes (config.c) */
};

int config_parse_pods(struct yw_ctx *ctx, yaml_node_t *node, void *obj)
{
	return yw_mapping(ctx, node, pod_keys, ARRAY_SIZE(pod_keys), obj);
}

bool config_pod_local(const struct flb_pods_cfg *pods, const struct flb_addr *addr)
{
	for (size_t i = 0; i < pods->n_cidrs; i++) {
		const struct flb_pod_cidr *c = &pods->cidrs[i];
		int b = 0;

		if (c->net.family != addr->family)
			continue;
		for (; b < c->len; b++)
			if ((c->net.bytes[b / 8] ^ addr->bytes[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == c->len)
			return true;
	}
	return false;
}
