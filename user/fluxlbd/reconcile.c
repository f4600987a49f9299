// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reconciler (see reconcile.h). It keeps the planner's state (plan.h:
 * the mirror of flb_backends, drain starts, configured ids, the last table
 * of each VIP); only the writes apply.c performed are committed to it, so
 * after a failed run it still says what the maps hold.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "apply.h"
#include "clock.h"
#include "flb_ct.h"
#include "log.h"
#include "persist.h"
#include "plan.h"
#include "reconcile.h"
#include "tables.h"
#include "vip_name.h"

struct reconciler {
	struct flb_maps *m;
	struct flb_status *st;
	bool loaded;                              /* s.be[] mirrors the map */
	struct persist *ps;                       /* saved drain starts; NULL: none */
	struct plan_state s;
};

void reconciler_set_persist(struct reconciler *r, struct persist *ps)
{
	r->ps = ps;
}

struct reconciler *reconciler_new(struct flb_maps *m, struct flb_status *st)
{
	struct reconciler *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->m = m;
	r->st = st;
	r->s.policy_dirty = true; /* the maps may hold policies of an earlier run */
	return r;
}

void reconciler_free(struct reconciler *r)
{
	if (!r)
		return;
	tables_free(&r->s.tables);
	free(r);
}

/* The size of each table in the maps is the floor of the VIP's next one
 * (plan.c: table_size auto never shrinks, not across a restart either). */
static void adopt_table_sizes(struct reconciler *r)
{
	struct flb_vip_key *keys = calloc(FLB_MAX_VIPS, sizeof(*keys));
	struct flb_vip *vips = calloc(FLB_MAX_VIPS, sizeof(*vips));
	int n = keys && vips ? maps_list_vips(r->m, keys, vips, FLB_MAX_VIPS) : 0;

	for (int i = 0; i < n; i++) {
		struct table_entry *e;
		uint32_t size;

		if (maps_get_ring_size(r->m, vips[i].id, &size))
			continue;
		e = tables_get(&r->s.tables, &keys[i]);
		if (e && !e->ids)
			e->size = size;
	}
	free(keys);
	free(vips);
}

static int load_mirror(struct reconciler *r)
{
	uint64_t now = clock_ns();

	/* Adopted drains keep the start saved by the daemon before us. */
	persist_load_drain(r->ps, r->s.drain_start);
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		int err = maps_get_backend(r->m, id, &r->s.be[id]);

		if (err)
			return log_err(err, "cannot read backend map", "id=%u", id);
		if (r->s.be[id].state != FLB_BE_DRAINING)
			r->s.drain_start[id] = 0;
		else if (!r->s.drain_start[id] || r->s.drain_start[id] > now)
			r->s.drain_start[id] = now; /* none saved: its drain starts now */
	}
	adopt_table_sizes(r);
	r->loaded = true;
	return 0;
}

/* A draining id that no configured service names any more (it left the
 * configuration and keeps its flows until drained). */
static bool left_draining(const struct reconciler *r, const struct plan *p, uint32_t id)
{
	return r->s.drain_start[id] && r->s.be[id].state != FLB_BE_UNUSED && !p->configured[id];
}

/* The service names and weights the CLI shows beside the maps (pinned_maps.h,
 * flb_svc_names). Failing costs the CLI its names only: logged. */
static void publish_names(const struct reconciler *r, const struct flb_config *cfg,
			  const struct plan *p, const struct flb_status_vip *vips)
{
	struct maps_name_key *keys;
	struct maps_name *vals;
	size_t n = 0, nb = cfg->n_services;
	int err;

	for (size_t s = 0; s < cfg->n_services; s++)
		nb += cfg->services[s].n_backends;
	keys = calloc(nb + 1, sizeof(*keys));
	vals = calloc(nb + 1, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		if (!tables_find(&r->s.tables, &p->svc[s].key))
			continue; /* no VIP id yet */
		keys[n] = (struct maps_name_key){ .vip_id = vips[s].vip_id };
		snprintf(vals[n].service, sizeof(vals[n].service), "%s", svc->name);
		n++;
		for (size_t b = 0; b < svc->n_backends; b++, n++) {
			keys[n] = (struct maps_name_key){ vips[s].vip_id, p->svc[s].ids[b] };
			snprintf(vals[n].service, sizeof(vals[n].service), "%s", svc->name);
			vals[n].weight = svc->backends[b].weight;
			vals[n].port = svc->backends[b].port;
		}
	}
	err = maps_set_names(r->m, keys, vals, n);
out:
	if (err)
		log_warn("cannot write the service names the CLI shows", "err=\"%s\"", strerror(-err));
	free(keys);
	free(vals);
}

/* The status rows of the applied plan: a VIP row per service, a backend row
 * per backend of each service, then the backends that left and still drain.
 * Health and flow counts are left for status_set_rows() to carry over. */
static void publish(const struct reconciler *r, const struct flb_config *cfg, const struct plan *p)
{
	size_t nb = 0, k = 0;
	struct flb_status_vip *vips;
	struct flb_status_backend *bes;

	if (!r->st)
		return;
	for (size_t s = 0; s < cfg->n_services; s++)
		nb += cfg->services[s].n_backends;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		nb += left_draining(r, p, id);
	vips = calloc(cfg->n_services + 1, sizeof(*vips));
	bes = calloc(nb + 1, sizeof(*bes));
	if (!vips || !bes) {
		free(vips);
		free(bes);
		return;
	}
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		const struct plan_service *ps = &p->svc[s];
		const struct table_entry *e = tables_find(&r->s.tables, &ps->key);

		snprintf(vips[s].service, sizeof(vips[s].service), "%s", svc->name);
		vip_name(&ps->key, vips[s].vip, sizeof(vips[s].vip));
		if (e) {
			vips[s].vip_id = e->vip_id;
			vips[s].table_size = e->size;
			vips[s].fingerprint = e->fingerprint;
			vips[s].rebuilds = e->rebuilds;
			vips[s].last_changed = e->last_changed;
			vips[s].last_excess = e->last_excess;
			vips[s].excess_total = e->excess_total;
			vips[s].panic = e->panic;
		}
		for (size_t b = 0; b < svc->n_backends; b++, k++) {
			struct flb_status_backend *o = &bes[k];
			uint32_t id = ps->ids[b];

			snprintf(o->service, sizeof(o->service), "%s", svc->name);
			addr_format(&svc->backends[b].addr, o->address, sizeof(o->address));
			o->backend_id = id;
			o->weight = svc->backends[b].weight;
			o->effective_weight = ps->weights[b];
			o->admin = ps->weights[b] ? FLB_ADMIN_ACTIVE :
				   svc->backends[b].weight ? FLB_ADMIN_DOWN : FLB_ADMIN_DRAINING;
			o->drain_started_ns = r->s.drain_start[id];
			o->flows = -1;
		}
	}
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS && k < nb; id++) {
		if (!left_draining(r, p, id))
			continue;
		snprintf(bes[k].service, sizeof(bes[k].service), "-");
		inet_ntop(r->s.be[id].family == FLB_AF_INET6 ? AF_INET6 : AF_INET, r->s.be[id].addr,
			  bes[k].address, sizeof(bes[k].address));
		bes[k].backend_id = id;
		bes[k].admin = FLB_ADMIN_DRAINING;
		bes[k].drain_started_ns = r->s.drain_start[id];
		bes[k].flows = -1;
		k++;
	}
	publish_names(r, cfg, p, vips);
	status_set_rows(r->st, vips, cfg->n_services, bes, k);
}

static const char *be_desc(const struct flb_backend *be, char *buf, size_t len);

/* A start reads every backend entry back; the entries the plan rewrites
 * (an edit while no daemon ran, a state the last daemon did not finish)
 * are logged with what the map held. New ids are not: they are the
 * configuration's news, not a repair. */
static void log_start_writes(const struct reconciler *r, const struct plan *p)
{
	char found[96], want[96];

	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (r->s.be[id].family && memcmp(&p->be[id], &r->s.be[id], sizeof(p->be[id])))
			log_info("start: the map differs from the desired state; rewriting",
				 "map=flb_backends id=%u found=\"%s\" want=\"%s\"", id,
				 be_desc(&r->s.be[id], found, sizeof(found)),
				 be_desc(&p->be[id], want, sizeof(want)));
}

/* A VIP this reconciler wrote keeps the id it wrote, whatever the map says
 * now (an outside edit, logged by reconciler_resync()): the planner adopts
 * the ids it is given, and ours names the VIP's table and counters. A VIP
 * it never wrote is removed by the plan with the table of its id: when that
 * id is one of ours, it is shown to the planner with a free id instead, so
 * the removal takes nothing that serves. */
static void keep_vip_ids(const struct reconciler *r, const struct flb_vip_key *keys,
			 struct flb_vip *vips, size_t n)
{
	bool ours[FLB_MAX_VIPS] = {}, used[FLB_MAX_VIPS] = {};
	uint32_t free_id = 0;

	for (size_t t = 0; t < r->s.tables.n; t++)
		if (r->s.tables.e[t].ids && r->s.tables.e[t].vip_id < FLB_MAX_VIPS)
			ours[r->s.tables.e[t].vip_id] = true;
	for (size_t i = 0; i < n; i++) {
		const struct table_entry *e = tables_find(&r->s.tables, &keys[i]);

		if (e && e->ids)
			vips[i].id = e->vip_id;
		if (vips[i].id < FLB_MAX_VIPS)
			used[vips[i].id] = true;
	}
	for (size_t i = 0; i < n; i++) {
		const struct table_entry *e = tables_find(&r->s.tables, &keys[i]);

		if ((e && e->ids) || vips[i].id >= FLB_MAX_VIPS || !ours[vips[i].id])
			continue;
		while (free_id < FLB_MAX_VIPS && (used[free_id] || ours[free_id]))
			free_id++;
		if (free_id == FLB_MAX_VIPS)
			return;
		vips[i].id = free_id;
		used[free_id] = true;
	}
}

/* The CPUs XDP runs on: RSS spreads a node's new flows over them. */
static uint32_t online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (uint32_t)n : 1;
}

int reconciler_apply(struct reconciler *r, const struct flb_config *cfg,
		     struct reconcile_report *rep)
{
	struct flb_vip_key *old_keys = calloc(FLB_MAX_VIPS, sizeof(*old_keys));
	struct flb_vip *old_vips = calloc(FLB_MAX_VIPS, sizeof(*old_vips));
	struct flb_vip *map_vips = calloc(FLB_MAX_VIPS, sizeof(*map_vips));
	struct plan_input in = {
		.cfg = cfg,
		.state = &r->s,
		.old_keys = old_keys,
		.old_vips = old_vips,
		.map_vips = map_vips,
		.ncpus = online_cpus(),
	};
	struct plan p = {};
	size_t done = 0;
	int n_old, err = -ENOMEM;
	bool first;

	memset(rep, 0, sizeof(*rep));
	if (!old_keys || !old_vips || !map_vips)
		goto out;
	first = !r->loaded;
	err = first ? load_mirror(r) : 0;
	if (err)
		goto out;
	n_old = maps_list_vips(r->m, old_keys, old_vips, FLB_MAX_VIPS);
	in.n_old = n_old > 0 ? (size_t)n_old : 0;
	memcpy(map_vips, old_vips, in.n_old * sizeof(*map_vips));
	keep_vip_ids(r, old_keys, old_vips, in.n_old);
	err = plan_make(&in, &p);
	if (err) {
		if (p.err_msg)
			log_error(p.err_msg, "%s", p.err_fields);
		goto out;
	}
	if (first)
		log_start_writes(r, &p);
	err = apply_plan(r->m, &p, &done);
	plan_commit(&r->s, &p, done, clock_ns());
	persist_save_drain(r->ps, r->s.drain_start);
	if (err)
		goto out;
	*rep = p.rep;
	publish(r, cfg, &p);
out:
	plan_free(&p);
	free(map_vips);
	free(old_vips);
	free(old_keys);
	return err;
}

/* "10.0.0.1 gen=3 state=active", or "unused". */
static const char *be_desc(const struct flb_backend *be, char *buf, size_t len)
{
	static const char *const names[] = { "unused", "active", "draining", "down" };
	char a[INET6_ADDRSTRLEN] = "?";

	if (!be->family && be->state == FLB_BE_UNUSED)
		return snprintf(buf, len, "unused gen=%u", be->gen), buf;
	inet_ntop(be->family == FLB_AF_INET6 ? AF_INET6 : AF_INET, be->addr, a, sizeof(a));
	snprintf(buf, len, "%s gen=%u state=%s", a, be->gen,
		 be->state < 4 ? names[be->state] : "invalid");
	return buf;
}

static int resync_backends(struct reconciler *r)
{
	int n = 0;

	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend be;
		char found[96], wrote[96];
		int err = maps_get_backend(r->m, id, &be);

		if (err)
			return log_err(err, "cannot read backend map", "id=%u", id);
		if (!memcmp(&be, &r->s.be[id], sizeof(be)))
			continue;
		log_warn("map differs from what this daemon wrote; repairing",
			 "map=flb_backends id=%u found=\"%s\" wrote=\"%s\"", id,
			 be_desc(&be, found, sizeof(found)), be_desc(&r->s.be[id], wrote, sizeof(wrote)));
		r->s.be[id] = be;
		n++;
	}
	return n;
}

/* VIP entries: one we wrote that is missing or names another id (the next
 * apply writes it again with ours, see keep_vip_ids()), one we never wrote
 * (the next apply removes it). */
static int resync_vips(struct reconciler *r)
{
	struct flb_vip_key *keys = calloc(FLB_MAX_VIPS, sizeof(*keys));
	struct flb_vip *vips = calloc(FLB_MAX_VIPS, sizeof(*vips));
	char name[VIP_NAME_STRLEN];
	int n = 0, n_map;

	if (!keys || !vips) {
		n = -ENOMEM;
		goto out;
	}
	n_map = maps_list_vips(r->m, keys, vips, FLB_MAX_VIPS);
	for (int i = 0; i < n_map; i++) {
		const struct table_entry *e = tables_find(&r->s.tables, &keys[i]);

		if (e && e->ids && e->vip_id == vips[i].id)
			continue;
		vip_name(&keys[i], name, sizeof(name));
		if (e && e->ids)
			log_warn("map differs from what this daemon wrote; repairing",
				 "map=flb_vips vip=%s found=\"vip_id=%u\" wrote=\"vip_id=%u\"", name,
				 vips[i].id, e->vip_id);
		else
			log_warn("map differs from what this daemon wrote; repairing",
				 "map=flb_vips vip=%s found=\"vip_id=%u\" wrote=\"none\"", name,
				 vips[i].id);
		n++;
	}
	for (size_t t = 0; t < r->s.tables.n; t++) {
		const struct table_entry *e = &r->s.tables.e[t];
		int i = 0;

		while (i < n_map && memcmp(&keys[i], &e->key, sizeof(e->key)))
			i++;
		if (!e->ids || i < n_map)
			continue;
		vip_name(&e->key, name, sizeof(name));
		log_warn("map differs from what this daemon wrote; repairing",
			 "map=flb_vips vip=%s found=\"none\" wrote=\"vip_id=%u\"", name, e->vip_id);
		n++;
	}
out:
	free(vips);
	free(keys);
	return n;
}

/* Tables: the cache takes what the map holds, so the next apply swaps in
 * the table it wants and reports its disruption against the real one. */
static int resync_rings(struct reconciler *r)
{
	int n = 0;

	for (size_t t = 0; t < r->s.tables.n; t++) {
		struct table_entry *e = &r->s.tables.e[t];
		char name[VIP_NAME_STRLEN];
		uint32_t *ids, size, differ = 0;
		int err;

		if (!e->ids)
			continue;
		err = maps_get_ring(r->m, e->vip_id, &ids, &size);
		if (err && err != -ENOENT && err != -EBADMSG)
			return log_err(err, "cannot read a Maglev table", "vip_id=%u", e->vip_id);
		for (uint32_t i = 0; !err && i < size && size == e->size; i++)
			differ += ids[i] != e->ids[i];
		if (!err && size == e->size && !differ) {
			free(ids);
			continue;
		}
		vip_name(&e->key, name, sizeof(name));
		if (err)
			log_warn("map differs from what this daemon wrote; repairing",
				 "map=flb_rings vip=%s vip_id=%u found=\"%s\" wrote=\"size=%u\"", name,
				 e->vip_id, err == -ENOENT ? "no table" : "bad table", e->size);
		else
			log_warn("map differs from what this daemon wrote; repairing",
				 "map=flb_rings vip=%s vip_id=%u found=\"size=%u slots_changed=%u\" wrote=\"size=%u\"",
				 name, e->vip_id, size, size == e->size ? differ : size, e->size);
		free(e->ids);
		e->ids = err ? NULL : ids;
		e->size = err ? 0 : size;
		/* Not the table of its inputs any more: the planner must build it. */
		free(e->inputs);
		e->inputs = NULL;
		e->inputs_len = 0;
		n++;
	}
	return n;
}

int reconciler_resync(struct reconciler *r)
{
	int a, b, c;

	if (!r->loaded)
		return 0;
	a = resync_backends(r);
	b = a < 0 ? 0 : resync_vips(r);
	c = a < 0 || b < 0 ? 0 : resync_rings(r);
	if (a < 0 || b < 0 || c < 0)
		return a < 0 ? a : b < 0 ? b : c;
	if (a + b + c)
		log_warn("maps changed outside this daemon; the reload writes the desired state over them",
			 "differences=%d", a + b + c);
	return a + b + c;
}

struct drain_count {
	const struct reconciler *r;
	long *flows;
	uint64_t now;
	struct flb_ctl ctl;
};

/* Counts live entries of draining ids: same generation, not expired by the
 * dataplane's rule (include/flb_ct.h: an expired entry is ignored anyway,
 * and a closed connection's expires FLB_CT_CLOSE_GRACE_S after its last
 * packet, so a drain ends once its connections have closed). */
static void count_flow(const struct flb_flow *flow, const struct flb_ct *ct, void *ctx)
{
	struct drain_count *c = ctx;

	if (ct->backend >= FLB_MAX_BACKENDS || !c->r->s.drain_start[ct->backend] ||
	    ct->gen != c->r->s.be[ct->backend].gen)
		return;
	if (flb_ct_expired(ct, flow->proto, &c->ctl, c->now))
		return;
	c->flows[ct->backend]++;
}

int reconciler_drain_tick(struct reconciler *r, uint32_t drain_timeout_ms)
{
	struct drain_count c = { .r = r, .now = clock_ns() };
	struct plan p = {};
	size_t done = 0;
	int err;

	c.flows = calloc(FLB_MAX_BACKENDS, sizeof(*c.flows));
	if (!c.flows)
		return -ENOMEM;
	maps_get_ctl(r->m, &c.ctl);
	err = maps_ct_scan(r->m, count_flow, &c);
	if (err)
		goto out;
	for (uint32_t id = 1; r->st && id < FLB_MAX_BACKENDS; id++)
		if (r->s.drain_start[id])
			status_set_flows(r->st, id, c.flows[id]);
	err = plan_drain(&r->s, c.flows, c.now, drain_timeout_ms, &p);
	if (!err)
		err = apply_plan(r->m, &p, &done);
	plan_commit(&r->s, &p, done, c.now);
	persist_save_drain(r->ps, r->s.drain_start);
out:
	plan_free(&p);
	free(c.flows);
	return err ? err : (int)done;
}

int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep)
{
	struct reconciler *r = reconciler_new(m, NULL);
	int err;

	if (!r)
		return -ENOMEM;
	err = reconciler_apply(r, cfg, rep);
	reconciler_free(r);
	return err;
}
