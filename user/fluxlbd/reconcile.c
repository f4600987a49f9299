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
		uint32_t *ids, size;

		if (maps_get_ring(r->m, vips[i].id, &ids, &size))
			continue;
		free(ids);
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
	status_set_rows(r->st, vips, cfg->n_services, bes, k);
}

int reconciler_apply(struct reconciler *r, const struct flb_config *cfg,
		     struct reconcile_report *rep)
{
	struct flb_vip_key *old_keys = calloc(FLB_MAX_VIPS, sizeof(*old_keys));
	struct flb_vip *old_vips = calloc(FLB_MAX_VIPS, sizeof(*old_vips));
	struct plan_input in = {
		.cfg = cfg,
		.state = &r->s,
		.old_keys = old_keys,
		.old_vips = old_vips,
	};
	struct plan p = {};
	size_t done = 0;
	int n_old, err = -ENOMEM;

	memset(rep, 0, sizeof(*rep));
	if (!old_keys || !old_vips)
		goto out;
	err = r->loaded ? 0 : load_mirror(r);
	if (err)
		goto out;
	n_old = maps_list_vips(r->m, old_keys, old_vips, FLB_MAX_VIPS);
	in.n_old = n_old > 0 ? (size_t)n_old : 0;
	err = plan_make(&in, &p);
	if (err) {
		if (p.err_msg)
			log_error(p.err_msg, "%s", p.err_fields);
		goto out;
	}
	err = apply_plan(r->m, &p, &done);
	plan_commit(&r->s, &p, done, clock_ns());
	persist_save_drain(r->ps, r->s.drain_start);
	if (err)
		goto out;
	*rep = p.rep;
	publish(r, cfg, &p);
out:
	plan_free(&p);
	free(old_vips);
	free(old_keys);
	return err;
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
