// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The node role: load, pin, attach, and the map writes (see node.h). */
#include <errno.h>
#include <fnmatch.h>
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
#include "decap_addrs.h"
#include "iface_resolve.h"
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
	bool shared; /* the balancer's NIC too: decap runs through flb_tail */
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

/* Whether the balancer attaches to iface too: an entry of `interfaces`
 * names it, matches it as a glob, or is "auto" and it has the default
 * route (the rules of iface_resolve.h). */
static bool shares_nic(const struct flb_config *cfg, const char *iface)
{
	char def[16];

	for (size_t i = 0; i < cfg->n_iface_spec; i++) {
		const char *spec = cfg->iface_spec[i];

		if (!strcmp(spec, "auto") ? !iface_default_route(def, sizeof(def)) &&
						    !strcmp(def, iface) :
					    !fnmatch(spec, iface, 0))
			return true;
	}
	return false;
}

/* Slot FLB_TAIL_DECAP of the balancer's flb_tail (bpf/tail.h): prog_fd, or
 * emptied when prog_fd < 0. No pinned flb_tail (an older balancer): -ENOENT. */
static int set_tail(const char *pin_dir, int prog_fd)
{
	__u32 key = FLB_TAIL_DECAP;
	char path[320];
	int fd, err = 0;

	if (snprintf(path, sizeof(path), "%s/flb_tail", pin_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (prog_fd >= 0 ? bpf_map_update_elem(fd, &key, &prog_fd, BPF_ANY) :
			   bpf_map_delete_elem(fd, &key) && errno != ENOENT)
		err = -errno;
	close(fd);
	return err;
}

int node_tail_clear(const char *pin_dir)
{
	int err = set_tail(pin_dir, -1);

	return err == -ENOENT ? 0 : err;
}

/* Decap on the NIC: its own XDP program, or the balancer's tail call. */
static int attach_xdp(struct node *n, const struct flb_config *cfg)
{
	int err;

	if (n->shared)
		return set_tail(n->pin_dir, bpf_program__fd(n->dcp->progs.decap));
	err = xdp_attach(n->iface, bpf_program__fd(n->dcp->progs.decap), "decap",
			 cfg->xdp_mode == FLB_XDP_SKB ? FLB_ATTACH_SKB : FLB_ATTACH_NATIVE, NULL);
	return err ? err : node_tail_clear(n->pin_dir);
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

int node_cleanup(const struct flb_config *cfg, const char *pin_dir)
{
	static const char *const pins[] = { "flb_node_nat", "flb_node_flows", "flb_rnat_counts",
					    "flb_dcp_reasons", "flb_dcp_addrs" };
	char iface[16], path[320];
	int ifindex, err = 0;

	snprintf(iface, sizeof(iface), "%s", cfg->pods.iface);
	if (!strcmp(iface, "auto") && iface_default_route(iface, sizeof(iface)))
		iface[0] = 0;
	if (node_tail_clear(pin_dir))
		err = log_err(-EIO, "cannot empty the balancer's tail call", "path=%s/flb_tail", pin_dir);
	ifindex = iface[0] ? (int)if_nametoindex(iface) : 0;
	if (ifindex) {
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = NODE_TC_HANDLE, .priority = NODE_TC_PRIO);
		int e = bpf_tc_detach(&hook, &opts);

		if (e && e != -ENOENT)
			err = log_err(-EIO, "cannot detach the reverse NAT", "iface=%s", iface);
		if (!shares_nic(cfg, iface) && xdp_detach(iface, "decap", NULL))
			err = -EIO;
	}
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pins[i]);
		if (unlink(path) && errno != ENOENT)
			err = log_err(-EIO, "cannot remove pin", "path=%s", path);
	}
	return err;
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
	if (!strcmp(n->iface, "auto") && iface_default_route(n->iface, sizeof(n->iface))) {
		step = "interface auto: no default route";
		err = -ENOENT;
		goto fail;
	}
	n->shared = shares_nic(cfg, n->iface);
	n->dcp = decap__open();
	n->rn = rnat__open();
	err = n->dcp && n->rn ? 0 : -errno;
	if (!err) {
		step = "load";
		err = load(n, cfg);
	}
	if (!err) {
		step = "addresses";
		err = decap_addrs_fill(bpf_map__fd(n->dcp->maps.flb_dcp_addrs));
		err = err < 0 ? err : 0;
	}
	if (!err) {
		step = n->shared ? "tail call" : "attach xdp";
		err = attach_xdp(n, cfg);
	}
	if (!err) {
		step = "attach tc";
		err = attach_tc(n);
	}
	if (!err) {
		log_info("node role attached", "iface=%s decap=%s pod_cidrs=%zu", n->iface,
			 n->shared ? "balancer_tail_call" : "xdp", cfg->pods.n_cidrs);
		return n;
	}
fail:
	log_error("node role failed", "step=\"%s\" iface=%s err=\"%s\"", step, n ? n->iface : "",
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
