// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reconciler (see reconcile.h). It keeps a mirror of flb_backends (it is
 * the only writer, so the map is read once), the drain start of each
 * draining id, and the last table of each VIP: a table that did not change
 * is not swapped, and one that did is compared with the last for the
 * disruption report. Backend ids are per address (the datapath only needs
 * the address to encapsulate), shared by every service that names it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "log.h"
#include "maglev.h"
#include "reconcile.h"
#include "reconcile_tables.h"

struct reconciler {
	struct flb_maps *m;
	struct flb_status *st;
	bool loaded;                              /* be[] mirrors the map */
	struct flb_backend be[FLB_MAX_BACKENDS];
	uint64_t drain_start[FLB_MAX_BACKENDS];   /* CLOCK_MONOTONIC ns; 0: not draining */
	bool configured[FLB_MAX_BACKENDS];        /* named by the last applied config */
	struct table_cache tables;
};

/* A plan state beyond FLB_BE_*: write the id as UNUSED (0 means "not named"). */
#define PLAN_FREE 0xff

/* Per run: what each id should become, and the ids of each service's backends. */
struct plan {
	uint8_t state[FLB_MAX_BACKENDS];          /* desired FLB_BE_*; 0 = not named */
	uint32_t **ids;                           /* ids[service][backend] */
	uint32_t **weights;                       /* effective weights (health, panic) */
	bool *panic;                              /* per service */
	uint32_t *vip_ids;
};

static uint8_t flb_family(int af)
{
	return af == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;
}

void reconcile_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, svc->vip.bytes, sizeof(key->addr));
	key->port = htons(svc->port);
	key->proto = svc->proto;
	key->family = flb_family(svc->vip.family);
}

struct reconciler *reconciler_new(struct flb_maps *m, struct flb_status *st)
{
	struct reconciler *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->m = m;
	r->st = st;
	return r;
}

void reconciler_free(struct reconciler *r)
{
	if (!r)
		return;
	tables_free(&r->tables);
	free(r);
}

/* IPv4 goes in IPv4 or IPv6 tunnels, IPv6 only in IPv6 ones (as Katran). */
static int check_supported(const struct flb_config *cfg)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		if (svc->vip.family != AF_INET6)
			continue;
		for (size_t b = 0; b < svc->n_backends; b++)
			if (svc->backends[b].addr.family != AF_INET6)
				return log_err(-EOPNOTSUPP,
					       "an IPv6 VIP needs IPv6 backends (IPv6 cannot be carried in IPv4)",
					       "service=%s backend=%s line=%d", svc->name,
					       svc->backends[b].id, svc->backends[b].line);
	}
	return 0;
}

static int load_mirror(struct reconciler *r)
{
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		int err = maps_get_backend(r->m, id, &r->be[id]);

		if (err)
			return log_err(err, "cannot read backend map", "id=%u", id);
		if (r->be[id].state == FLB_BE_DRAINING)
			r->drain_start[id] = clock_ns(); /* adopted: its drain starts now */
	}
	r->loaded = true;
	return 0;
}

/* The id of an address: the one it has, else a free one with a new generation. */
static uint32_t id_of(struct reconciler *r, struct plan *p, const struct flb_addr *a)
{
	struct flb_backend want = { .family = flb_family(a->family) };
	uint32_t free_id = 0;

	memcpy(want.addr, a->bytes, sizeof(want.addr));
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		const struct flb_backend *be = &r->be[id];

		/* Named already, or given to the address earlier in this run. */
		if ((be->state != FLB_BE_UNUSED || p->state[id]) && be->family == want.family &&
		    !memcmp(be->addr, want.addr, sizeof(want.addr)))
			return id;
		if (!free_id && be->state == FLB_BE_UNUSED && !p->state[id])
			free_id = id;
	}
	if (free_id) {
		want.gen = r->be[free_id].gen + 1;
		want.state = FLB_BE_UNUSED; /* written by write_backends() */
		r->be[free_id] = want;
	}
	return free_id;
}

/* Effective weights: health-down backends get 0, unless too few are healthy
 * (panic: then every configured backend serves, and the log says so). */
static void plan_weights(const struct flb_config *cfg, size_t s, health_fn health, void *hctx,
			 struct plan *p)
{
	const struct flb_service_cfg *svc = &cfg->services[s];
	size_t total = 0, healthy = 0;

	for (size_t b = 0; b < svc->n_backends; b++) {
		bool down = health && health(hctx, svc->name, &svc->backends[b].addr) == FLB_HEALTH_DOWN;

		if (!svc->backends[b].weight)
			continue;
		total++;
		healthy += !down;
		p->weights[s][b] = down ? 0 : svc->backends[b].weight;
	}
	p->panic[s] = total && healthy * 100 < (size_t)cfg->panic_percent * total;
	if (p->panic[s])
		for (size_t b = 0; b < svc->n_backends; b++)
			p->weights[s][b] = svc->backends[b].weight;
}

static int plan_backends(struct reconciler *r, const struct flb_config *cfg, health_fn health,
			 void *hctx, struct plan *p)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		plan_weights(cfg, s, health, hctx, p);
		for (size_t b = 0; b < svc->n_backends; b++) {
			uint32_t id = id_of(r, p, &svc->backends[b].addr);
			uint8_t want;

			if (!id)
				return log_err(-ENOSPC, "no free backend id", "max=%d",
					       FLB_MAX_BACKENDS - 1);
			p->ids[s][b] = id;
			want = p->weights[s][b] ? FLB_BE_ACTIVE :
			       svc->backends[b].weight ? FLB_BE_DOWN : FLB_BE_DRAINING;
			/* A weight-0 backend whose drain ended stays down. */
			if (want == FLB_BE_DRAINING && r->be[id].state == FLB_BE_DOWN &&
			    !r->drain_start[id])
				want = FLB_BE_DOWN;
			/* Shared address: the most serving state wins. */
			if (!p->state[id] || want == FLB_BE_ACTIVE ||
			    (want == FLB_BE_DRAINING && p->state[id] == FLB_BE_DOWN))
				p->state[id] = want;
		}
	}
	/* Left the configuration: drain; one that was down has no flows to
	 * keep (they are re-steered already): its id is freed now. */
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (!p->state[id] && r->be[id].state != FLB_BE_UNUSED)
			p->state[id] = r->be[id].state == FLB_BE_DOWN ? PLAN_FREE : FLB_BE_DRAINING;
	return 0;
}

/* Writes backends whose state changes; raise_only: only those becoming
 * ACTIVE (before the tables name them), else the rest (after). */
static int write_backends(struct reconciler *r, const struct plan *p, bool raise_only,
			  struct reconcile_report *rep)
{
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend next = r->be[id];
		int err;

		if (!p->state[id] || (p->state[id] == FLB_BE_ACTIVE) != raise_only)
			continue;
		next.state = p->state[id] == PLAN_FREE ? FLB_BE_UNUSED : p->state[id];
		if (next.state == FLB_BE_DRAINING)
			rep->backends_draining++;
		if (!memcmp(&next, &r->be[id], sizeof(next)) &&
		    (r->be[id].state != FLB_BE_UNUSED || p->state[id] == PLAN_FREE))
			continue;
		err = maps_set_backend(r->m, id, &next);
		if (err)
			return log_err(err, "cannot write backend", "id=%u err=\"%s\"", id,
				       strerror(-err));
		if (next.state == FLB_BE_DRAINING && r->be[id].state != FLB_BE_DRAINING) {
			r->drain_start[id] = clock_ns();
			log_info("backend draining: no new flows, existing flows continue",
				 "id=%u gen=%u", id, next.gen);
		} else if (next.state != FLB_BE_DRAINING) {
			r->drain_start[id] = 0;
		}
		r->be[id] = next;
	}
	return 0;
}

/* VIP ids: the pinned one when the VIP exists, else the lowest free id. */
static int assign_vip_ids(const struct flb_config *cfg, const struct flb_vip_key *old_keys,
			  const struct flb_vip *old_vips, int n_old, uint32_t *vip_ids)
{
	bool used[FLB_MAX_VIPS] = {};

	/* Every id in the map is taken, also those of VIPs about to go: their
	 * tables are deleted after the new state serves, and must not be a
	 * new VIP's by then. */
	for (int i = 0; i < n_old; i++)
		if (old_vips[i].id < FLB_MAX_VIPS)
			used[old_vips[i].id] = true;
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct flb_vip_key key;

		vip_ids[s] = UINT32_MAX;
		reconcile_vip_key(&cfg->services[s], &key);
		for (int i = 0; i < n_old; i++)
			if (!memcmp(&key, &old_keys[i], sizeof(key)) && old_vips[i].id < FLB_MAX_VIPS)
				vip_ids[s] = old_vips[i].id;
	}
	for (size_t s = 0; s < cfg->n_services; s++) {
		uint32_t id = 0;

		if (vip_ids[s] != UINT32_MAX)
			continue;
		while (id < FLB_MAX_VIPS && used[id])
			id++;
		if (id == FLB_MAX_VIPS)
			return log_err(-ENOSPC, "no free VIP id", "max=%d", FLB_MAX_VIPS);
		used[id] = true;
		vip_ids[s] = id;
	}
	return 0;
}

static bool key_wanted(const struct flb_config *cfg, const struct flb_vip_key *key)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct flb_vip_key k;

		reconcile_vip_key(&cfg->services[s], &k);
		if (!memcmp(&k, key, sizeof(k)))
			return true;
	}
	return false;
}

/* The fragment VIP of each (address, protocol): the port-less VIP if there
 * is one, else the one with the lowest port. */
static int write_vip_addrs(struct flb_maps *m, const struct flb_config *cfg, const uint32_t *vip_ids)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct flb_vip_addr a = {};
		size_t best = s;
		int err;

		for (size_t o = 0; o < cfg->n_services; o++) {
			const struct flb_service_cfg *x = &cfg->services[o];

			if (!addr_cmp(&x->vip, &svc->vip) && x->proto == svc->proto &&
			    x->port < cfg->services[best].port)
				best = o;
		}
		if (best != s)
			continue;
		memcpy(a.addr, svc->vip.bytes, sizeof(a.addr));
		a.proto = svc->proto;
		a.family = flb_family(svc->vip.family);
		err = maps_set_vip_addr(m, &a, vip_ids[s]);
		if (err)
			return log_err(err, "cannot write fragment VIP", "service=%s", svc->name);
	}
	return 0;
}

static int write_vips(struct reconciler *r, const struct flb_config *cfg, struct plan *p,
		      struct flb_ctl *ctl, struct reconcile_report *rep)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct flb_vip vip = { .id = p->vip_ids[s] };
		struct flb_vip_key key;
		int err, built;

		reconcile_vip_key(svc, &key);
		built = tables_apply(&r->tables, r->m, svc, &key, p->vip_ids[s], p->ids[s],
				     p->weights[s], p->panic[s]);
		if (built < 0)
			return built;
		rep->tables_built += built;
		err = maps_set_vip(r->m, &key, &vip);
		if (err)
			return log_err(err, "cannot write VIP", "service=%s err=\"%s\"", svc->name,
				       strerror(-err));
		if (!svc->port)
			ctl->flags |= FLB_CTL_PORTLESS;
	}
	rep->vips = cfg->n_services;
	return write_vip_addrs(r->m, cfg, p->vip_ids);
}

static int remove_vips(struct reconciler *r, const struct flb_config *cfg, const struct plan *p,
		       const struct flb_vip_key *old_keys, const struct flb_vip *old_vips, int n_old,
		       struct reconcile_report *rep)
{
	for (int i = 0; i < n_old; i++) {
		int err;

		if (key_wanted(cfg, &old_keys[i]))
			continue;
		err = maps_del_vip(r->m, &old_keys[i]);
		if (!err)
			err = maps_del_ring(r->m, old_vips[i].id);
		if (!err)
			err = maps_prune_vip_addrs(r->m, old_vips[i].id, p->vip_ids, cfg->n_services);
		if (err)
			return log_err(err, "cannot remove VIP", "vip_id=%u", old_vips[i].id);
		tables_forget(&r->tables, &old_keys[i]);
		log_info("VIP removed", "vip_id=%u", old_vips[i].id);
		rep->vips_removed++;
	}
	return 0;
}

static void publish(struct reconciler *r, const struct flb_config *cfg, const struct plan *p);

static int apply(struct reconciler *r, const struct flb_config *cfg, health_fn health, void *hctx,
		 struct plan *p, struct reconcile_report *rep)
{
	struct flb_vip_key *old_keys = calloc(FLB_MAX_VIPS, sizeof(*old_keys));
	struct flb_vip *old_vips = calloc(FLB_MAX_VIPS, sizeof(*old_vips));
	struct flb_ctl ctl = {};
	int n_old, err = -ENOMEM;

	if (!old_keys || !old_vips)
		goto out;
	err = r->loaded ? 0 : load_mirror(r);
	if (err)
		goto out;
	n_old = maps_list_vips(r->m, old_keys, old_vips, FLB_MAX_VIPS);
	err = assign_vip_ids(cfg, old_keys, old_vips, n_old, p->vip_ids);
	if (!err)
		err = plan_backends(r, cfg, health, hctx, p);
	if (!err)
		err = write_backends(r, p, true, rep);
	if (!err)
		err = write_vips(r, cfg, p, &ctl, rep);
	/* Removals, after the new state serves. */
	if (!err)
		err = remove_vips(r, cfg, p, old_keys, old_vips, n_old, rep);
	if (!err)
		err = write_backends(r, p, false, rep);
	if (err)
		goto out;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		r->configured[id] = false;
		rep->backends += r->be[id].state != FLB_BE_UNUSED;
	}
	for (size_t s = 0; s < cfg->n_services; s++)
		for (size_t b = 0; b < cfg->services[s].n_backends; b++)
			r->configured[p->ids[s][b]] = true;

	/* Ready last: until now a fresh datapath passed everything. */
	memcpy(&ctl.encap_src4, cfg->encap_src4.bytes, 4);
	memcpy(ctl.encap_src6, cfg->encap_src6.bytes, 16);
	ctl.tcp_timeout_s = cfg->ct_tcp_timeout_s;
	ctl.udp_timeout_s = cfg->ct_udp_timeout_s;
	ctl.ready = 1;
	err = maps_set_ctl(r->m, &ctl);
	if (!err)
		publish(r, cfg, p);
out:
	free(old_vips);
	free(old_keys);
	return err;
}

static void plan_free(struct plan *p, size_t n)
{
	for (size_t s = 0; s < n; s++) {
		if (p->ids)
			free(p->ids[s]);
		if (p->weights)
			free(p->weights[s]);
	}
	free(p->ids);
	free(p->weights);
	free(p->panic);
	free(p->vip_ids);
}

int reconciler_apply(struct reconciler *r, const struct flb_config *cfg, health_fn health,
		     void *health_ctx, struct reconcile_report *rep)
{
	size_t n = cfg->n_services;
	struct plan *p = calloc(1, sizeof(*p));
	int err = -ENOMEM;

	memset(rep, 0, sizeof(*rep));
	if (!p)
		return -ENOMEM;
	p->ids = calloc(n + 1, sizeof(*p->ids));
	p->weights = calloc(n + 1, sizeof(*p->weights));
	p->panic = calloc(n + 1, sizeof(*p->panic));
	p->vip_ids = calloc(n + 1, sizeof(*p->vip_ids));
	if (!p->ids || !p->weights || !p->panic || !p->vip_ids)
		goto out;
	for (size_t s = 0; s < n; s++) {
		p->ids[s] = calloc(cfg->services[s].n_backends + 1, sizeof(**p->ids));
		p->weights[s] = calloc(cfg->services[s].n_backends + 1, sizeof(**p->weights));
		if (!p->ids[s] || !p->weights[s])
			goto out;
	}
	err = check_supported(cfg);
	if (!err)
		err = apply(r, cfg, health, health_ctx, p, rep);
out:
	plan_free(p, n);
	free(p);
	return err;
}

struct drain_count {
	const struct reconciler *r;
	long *flows;
	uint64_t now, tcp_ns, udp_ns;
};

/* Counts live entries of draining ids: same generation, not idle past the
 * dataplane's timeout (an expired entry would be ignored anyway). */
static void count_flow(const struct flb_flow *flow, const struct flb_ct *ct, void *ctx)
{
	struct drain_count *c = ctx;
	uint64_t tmo = flow->proto == IPPROTO_TCP ? c->tcp_ns : c->udp_ns;

	if (ct->backend >= FLB_MAX_BACKENDS || !c->r->drain_start[ct->backend] ||
	    ct->gen != c->r->be[ct->backend].gen)
		return;
	/* Signed: a client's RST backdates last_seen, below zero on a host up
	 * for less than the timeout; the datapath's unsigned view agrees. */
	if (tmo && (int64_t)(c->now - ct->last_seen) > (int64_t)tmo)
		return;
	c->flows[ct->backend]++;
}

int reconciler_drain_tick(struct reconciler *r, uint32_t drain_timeout_ms)
{
	struct drain_count c = { .r = r, .now = clock_ns() };
	struct flb_ctl ctl = {};
	int freed = 0, err;

	c.flows = calloc(FLB_MAX_BACKENDS, sizeof(*c.flows));
	if (!c.flows)
		return -ENOMEM;
	maps_get_ctl(r->m, &ctl);
	c.tcp_ns = (uint64_t)ctl.tcp_timeout_s * 1000000000ULL;
	c.udp_ns = (uint64_t)ctl.udp_timeout_s * 1000000000ULL;
	err = maps_ct_scan(r->m, count_flow, &c);
	if (err)
		goto out;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend next = r->be[id];
		uint64_t age_ms;

		if (!r->drain_start[id])
			continue;
		age_ms = (c.now - r->drain_start[id]) / 1000000;
		tables_status_flows(r->st, id, c.flows[id]);
		if (c.flows[id] && age_ms < drain_timeout_ms)
			continue;
		/* Still configured (weight 0): DOWN keeps the id; else free it. */
		next.state = r->configured[id] ? FLB_BE_DOWN : FLB_BE_UNUSED;
		err = maps_set_backend(r->m, id, &next);
		if (err)
			break;
		log_info(c.flows[id] ? "drain timed out; remaining flows are re-steered" :
				       "backend drained",
			 "id=%u flows=%ld after_ms=%llu state=%s", id, c.flows[id],
			 (unsigned long long)age_ms, r->configured[id] ? "down" : "freed");
		r->be[id] = next;
		r->drain_start[id] = 0;
		freed++;
	}
out:
	free(c.flows);
	return err ? err : freed;
}

int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep)
{
	struct reconciler *r = reconciler_new(m, NULL);
	int err;

	if (!r)
		return -ENOMEM;
	err = reconciler_apply(r, cfg, NULL, NULL, rep);
	reconciler_free(r);
	return err;
}

static void publish(struct reconciler *r, const struct flb_config *cfg, const struct plan *p)
{
	tables_publish(&r->tables, r->st, cfg, p->ids, p->weights, r->be, r->drain_start);
}
