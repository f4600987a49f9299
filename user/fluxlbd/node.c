// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The node role: load, pin, attach, and the map writes (see node.h). */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "decap.skel.h"
#include "log.h"
#include "node.h"
#include "node_plan.h"
#include "rnat.skel.h"
#include "xdp_attach.h"

/* tc filter identity on the interface's egress: ours, replaced in place. */
#define NODE_TC_HANDLE 0xf1b
#define NODE_TC_PRIO 0xf1b

/* An entry that left the desired state: its pod's established flows still
 * need it (the balancer drains them), so it goes drain_timeout later. */
struct leaving {
	struct flb_nat_key key;
	uint64_t since_ms;
};

struct node {
	struct leaving *leaving;
	size_t n_leaving;
	uint32_t drain_ms;
	struct decap *dcp;
	struct rnat *rn;
	char pin_dir[256];
	char iface[16];
};

static int pin_path(const struct node *n, const char *name, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", n->pin_dir, name) < (int)len ? 0 : -ENAMETOOLONG;
}

/* Adopts the map pinned under its name, if there is one. */
static int adopt(const struct node *n, struct bpf_map *m)
{
	char path[320];
	int fd, err;

	if (pin_path(n, bpf_map__name(m), path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	err = bpf_map__reuse_fd(m, fd);
	close(fd);
	if (err)
		log_error("cannot adopt a pinned node map", "path=%s err=\"%s\"", path, strerror(-err));
	return err;
}

static int pin(const struct node *n, struct bpf_map *m)
{
	char path[320];
	int err;

	if (pin_path(n, bpf_map__name(m), path, sizeof(path)))
		return -ENAMETOOLONG;
	if (!access(path, F_OK))
		return 0; /* adopted */
	err = bpf_map__pin(m, path);
	if (err)
		log_error("cannot pin a node map", "path=%s err=\"%s\"", path, strerror(-err));
	return err;
}

static int load(struct node *n, const struct flb_config *cfg)
{
	struct bpf_map *dm[] = { n->dcp->maps.flb_node_nat, n->dcp->maps.flb_node_flows,
				 n->dcp->maps.flb_dcp_reasons, n->dcp->maps.flb_dcp_addrs };
	int err = 0;

	for (size_t i = 0; i < sizeof(dm) / sizeof(dm[0]) && !err; i++)
		err = adopt(n, dm[i]);
	if (!err)
		err = adopt(n, n->rn->maps.flb_rnat_counts);
	if (err)
		return err;
	err = decap__load(n->dcp);
	if (err)
		return err;
	n->rn->rodata->tcp_timeout_ns = (__u64)cfg->ct_tcp_timeout_s * 1000000000ull;
	n->rn->rodata->udp_timeout_ns = (__u64)cfg->ct_udp_timeout_s * 1000000000ull;
	err = bpf_map__reuse_fd(n->rn->maps.flb_node_flows, bpf_map__fd(n->dcp->maps.flb_node_flows));
	if (!err)
		err = rnat__load(n->rn);
	for (size_t i = 0; i < sizeof(dm) / sizeof(dm[0]) && !err; i++)
		err = pin(n, dm[i]);
	return err ? err : pin(n, n->rn->maps.flb_rnat_counts);
}

/* Every address of this host: a tunnel packet to one of them is for the
 * host itself (the plain decap case), not for a pod. */
static int fill_addrs(struct node *n)
{
	int fd = bpf_map__fd(n->dcp->maps.flb_dcp_addrs);
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct flb_dcp_addr key = {};
		__u32 val = if_nametoindex(i->ifa_name);

		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			key.family = FLB_AF_INET;
			key.addr[0] = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			key.family = FLB_AF_INET6;
			memcpy(key.addr, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
		} else {
			continue;
		}
		bpf_map_update_elem(fd, &key, &val, BPF_ANY);
	}
	freeifaddrs(ifa);
	return 0;
}

static int attach_tc(struct node *n)
{
	int ifindex = if_nametoindex(n->iface), err;
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NODE_TC_HANDLE, .priority = NODE_TC_PRIO,
		    .prog_fd = bpf_program__fd(n->rn->progs.rnat), .flags = BPF_TC_F_REPLACE);

	if (!ifindex)
		return -ENODEV;
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &opts);
}

struct node *node_open(const struct flb_config *cfg, const char *pin_dir)
{
	struct node *n = calloc(1, sizeof(*n));
	const char *step = "open";
	int err = -ENOMEM;

	if (!n)
		goto fail;
	snprintf(n->pin_dir, sizeof(n->pin_dir), "%s", pin_dir);
	snprintf(n->iface, sizeof(n->iface), "%s", cfg->pods.iface);
	n->dcp = decap__open();
	n->rn = rnat__open();
	err = n->dcp && n->rn ? 0 : -errno;
	if (!err) {
		step = "load";
		err = load(n, cfg);
	}
	if (!err) {
		step = "addresses";
		err = fill_addrs(n);
	}
	if (!err) {
		step = "attach xdp";
		err = xdp_attach(n->iface, bpf_program__fd(n->dcp->progs.decap), "decap",
				 cfg->xdp_mode == FLB_XDP_SKB ? FLB_ATTACH_SKB : FLB_ATTACH_NATIVE, NULL);
	}
	if (!err) {
		step = "attach tc";
		err = attach_tc(n);
	}
	if (!err) {
		log_info("node role attached", "iface=%s pod_cidrs=%zu", n->iface, cfg->pods.n_cidrs);
		return n;
	}
fail:
	log_error("node role failed", "step=\"%s\" iface=%s err=\"%s\"", step, cfg->pods.iface,
		  strerror(-err));
	node_close(n);
	errno = -err;
	return NULL;
}

/* What flb_node_nat holds now. */
static int read_table(int fd, struct node_nat **out, size_t *n)
{
	struct flb_nat_key k, *prev = NULL;
	size_t cap = 64;
	struct node_nat *h = calloc(cap, sizeof(*h));

	*n = 0;
	if (!h)
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, &k)) {
		if (*n == cap) {
			struct node_nat *g = cap >= FLB_NODE_NAT_MAX ? NULL :
					     realloc(h, 2 * cap * sizeof(*h));

			if (!g) {
				free(h);
				return -ENOMEM;
			}
			h = g;
			cap *= 2;
		}
		h[*n].key = k;
		if (bpf_map_lookup_elem(fd, &k, &h[*n].val))
			continue; /* deleted meanwhile: nobody else writes, but be safe */
		prev = &h[*n].key;
		(*n)++;
	}
	*out = h;
	return 0;
}

/* Deletes the leaving entries whose drain time is over. */
static int expire(struct node *n, uint64_t now_ms)
{
	int fd = bpf_map__fd(n->dcp->maps.flb_node_nat), err = 0;
	size_t k = 0, gone = 0;

	for (size_t i = 0; i < n->n_leaving; i++) {
		if (now_ms - n->leaving[i].since_ms < n->drain_ms || err) {
			n->leaving[k++] = n->leaving[i];
			continue;
		}
		if (bpf_map_delete_elem(fd, &n->leaving[i].key) && errno != ENOENT) {
			err = -errno;
			n->leaving[k++] = n->leaving[i];
			continue;
		}
		gone++;
	}
	n->n_leaving = k;
	if (gone)
		log_info("node table: drained entries removed", "removed=%zu still_draining=%zu",
			 gone, k);
	return err;
}

/* The plan's removals become leaving entries (keeping the time an entry
 * already leaving started); an entry wanted again stops leaving. */
static int track(struct node *n, const struct node_plan *p, uint64_t now_ms)
{
	struct leaving *l = calloc(p->n_del + 1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_del; i++) {
		l[i].key = p->del[i];
		l[i].since_ms = now_ms;
		for (size_t j = 0; j < n->n_leaving; j++)
			if (!memcmp(&n->leaving[j].key, &p->del[i], sizeof(p->del[i])))
				l[i].since_ms = n->leaving[j].since_ms;
	}
	free(n->leaving);
	n->leaving = l;
	n->n_leaving = p->n_del;
	return 0;
}

void node_tick(struct node *n)
{
	if (n && n->n_leaving)
		expire(n, clock_ms());
}

int node_sync(struct node *n, const struct flb_config *eff)
{
	int fd = bpf_map__fd(n->dcp->maps.flb_node_nat), err;
	struct node_nat *want = NULL, *have = NULL;
	size_t n_want = 0, n_have = 0;
	struct node_plan p = {};

	err = node_want(eff, &want, &n_want);
	if (!err)
		err = read_table(fd, &have, &n_have);
	if (!err)
		err = node_plan(want, n_want, have, n_have, &p);
	if (!err && n_want > FLB_NODE_NAT_MAX)
		err = -E2BIG;
	/* Adds and changes first, removals after the drain time. */
	for (size_t i = 0; i < p.n_put && !err; i++)
		if (bpf_map_update_elem(fd, &p.put[i].key, &p.put[i].val, BPF_ANY))
			err = -errno;
	n->drain_ms = eff->drain_timeout_ms;
	if (!err)
		err = track(n, &p, clock_ms());
	if (!err)
		err = expire(n, clock_ms());
	if (err)
		log_error("node table not fully applied; what it holds keeps serving",
			  "err=\"%s\"", strerror(-err));
	else
		log_info("node table applied", "entries=%zu added_or_changed=%zu draining=%zu",
			 p.n_want, p.n_put, n->n_leaving);
	node_plan_free(&p);
	free(want);
	free(have);
	return err;
}

void node_close(struct node *n)
{
	if (!n)
		return;
	free(n->leaving);
	rnat__destroy(n->rn);
	decap__destroy(n->dcp);
	free(n);
}
