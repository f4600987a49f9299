// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The planner (see plan.h). It works on a copy of the backend mirror
 * (plan->be): ids handed out earlier in the run are found there, and what
 * is left in it once every op is planned is the map after the apply. The
 * order of ops and the log lines they carry are those of the reconciler
 * before it was split into plan and apply.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "load_weight.h"
#include "plan.h"
#include "plan_ops.h"

static uint8_t flb_family(int af)
{
	return af == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;
}

void plan_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, svc->vip.bytes, sizeof(key->addr));
	key->port = htons(svc->port);
	key->proto = svc->proto;
	key->family = flb_family(svc->vip.family);
}

/* Records why the plan is refused; returns err. */
__attribute__((format(printf, 4, 5)))
static int refuse(struct plan *p, int err, const char *msg, const char *fmt, ...)
{
	va_list ap;

	p->err_msg = msg;
	va_start(ap, fmt);
	vsnprintf(p->err_fields, sizeof(p->err_fields), fmt, ap);
	va_end(ap);
	return err;
}

void plan_note(struct plan_op *op, enum log_level level, const char *msg, const char *fmt, ...)
{
	va_list ap;

	op->note.level = level;
	op->note.msg = msg;
	va_start(ap, fmt);
	vsnprintf(op->note.fields, sizeof(op->note.fields), fmt, ap);
	va_end(ap);
}

struct plan_op *plan_add_op(struct plan *p, enum plan_op_kind kind)
{
	struct plan_op *op;

	if (p->n_ops == p->cap_ops) {
		size_t cap = p->cap_ops ? 2 * p->cap_ops : 64;

		op = realloc(p->ops, cap * sizeof(*op));
		if (!op)
			return NULL;
		p->ops = op;
		p->cap_ops = cap;
	}
	op = &p->ops[p->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	return op;
}

/* Defensive: whoever built cfg ran the same validator (config.h). */
static int check_supported(const struct flb_config *cfg, struct plan *p)
{
	char err[256];
	int ret = config_validate(cfg, "desired state", err, sizeof(err));

	return ret ? refuse(p, ret == -ENOMEM ? -ENOMEM : -EOPNOTSUPP,
			    "desired state refused by the validator", "reason=\"%s\"", err) : 0;
}

/* VIP ids: the pinned one when the VIP exists, else the lowest free id. */
static int assign_vip_ids(const struct plan_input *in, const struct key_index *old, struct plan *p)
{
	bool used[FLB_MAX_VIPS] = {};
	uint32_t id = 0;

	/* Every id in the map is taken, also those of VIPs about to go: their
	 * tables are deleted after the new state serves, and must not be a
	 * new VIP's by then. */
	for (size_t i = 0; i < in->n_old; i++)
		if (in->old_vips[i].id < FLB_MAX_VIPS)
			used[in->old_vips[i].id] = true;
	for (size_t s = 0; s < p->n_svc; s++) {
		long i = key_index_find(old, in->old_keys, sizeof(*in->old_keys), &p->svc[s].key);

		p->svc[s].vip_id = i >= 0 && in->old_vips[i].id < FLB_MAX_VIPS ?
					   in->old_vips[i].id : UINT32_MAX;
	}
	for (size_t s = 0; s < p->n_svc; s++) {
		if (p->svc[s].vip_id != UINT32_MAX)
			continue;
		while (id < FLB_MAX_VIPS && used[id])
			id++;
		if (id == FLB_MAX_VIPS)
			return refuse(p, -ENOSPC, "no free VIP id", "max=%d", FLB_MAX_VIPS);
		used[id] = true;
		p->svc[s].vip_id = id;
	}
	for (size_t s = 0; s < p->n_svc; s++)
		p->vip_ids[s] = p->svc[s].vip_id;
	return 0;
}

/* Backend ids by address (open addressing over ids), and the lowest id
 * that may be free: ids are only taken during a run, so it only grows. */
struct be_index {
	uint32_t slot[2 * FLB_MAX_BACKENDS]; /* id; 0: empty */
	uint32_t next_free;
};

static uint32_t be_hash(uint8_t family, const __be32 *addr)
{
	const uint8_t *b = (const uint8_t *)addr;
	uint32_t h = 2166136261u ^ family;

	for (size_t i = 0; i < 16; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static bool be_is(const struct flb_backend *be, const struct flb_backend *want)
{
	return be->family == want->family && !memcmp(be->addr, want->addr, sizeof(want->addr));
}

static void be_index_add(struct be_index *x, const struct plan *p, uint32_t id)
{
	uint32_t mask = 2 * FLB_MAX_BACKENDS - 1, h = be_hash(p->be[id].family, p->be[id].addr) & mask;

	while (x->slot[h]) {
		if (be_is(&p->be[x->slot[h]], &p->be[id]))
			return; /* a lower id has the address: it is the one found */
		h = (h + 1) & mask;
	}
	x->slot[h] = id;
}

/* The ids named in the mirror (state not UNUSED), by address. */
static void be_index_init(struct be_index *x, const struct plan *p)
{
	memset(x, 0, sizeof(*x));
	x->next_free = 1;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (p->be[id].state != FLB_BE_UNUSED)
			be_index_add(x, p, id);
}

/* The id of an address: the one it has, else the lowest free one with a
 * new generation (0: none left). The caller names it (p->state) at once. */
static uint32_t id_of(struct plan *p, struct be_index *x, const struct flb_addr *a)
{
	struct flb_backend want = { .family = flb_family(a->family) };
	uint32_t mask = 2 * FLB_MAX_BACKENDS - 1, h, id;

	memcpy(want.addr, a->bytes, sizeof(want.addr));
	/* Named already, or given to the address earlier in this run. */
	for (h = be_hash(want.family, want.addr) & mask; x->slot[h]; h = (h + 1) & mask)
		if (be_is(&p->be[x->slot[h]], &want))
			return x->slot[h];
	for (id = x->next_free; id < FLB_MAX_BACKENDS; id++)
		if (p->be[id].state == FLB_BE_UNUSED && !p->state[id])
			break;
	x->next_free = id + 1;
	if (id >= FLB_MAX_BACKENDS)
		return 0;
	want.gen = p->be[id].gen + 1;
	want.state = FLB_BE_UNUSED; /* the state comes with the write */
	p->be[id] = want;
	be_index_add(x, p, id);
	return id;
}

/* Effective weights: health-down backends get 0, unless too few are healthy
 * (panic: then every configured backend serves). Down is the registry's
 * word (down) or our own check's (check_down). A load-weighted backend's
 * weight is scaled by its load factor (load_pm, load_weight.h). */
static void plan_weights(const struct flb_config *cfg, size_t s, struct plan *p)
{
	const struct flb_service_cfg *svc = &cfg->services[s];
	struct plan_service *ps = &p->svc[s];
	size_t total = 0, healthy = 0;

	for (size_t b = 0; b < svc->n_backends; b++) {
		const struct flb_backend_cfg *be = &svc->backends[b];
		bool down = be->down || be->check_down || be->ejected;

		if (!be->weight)
			continue;
		total++;
		healthy += !down;
		ps->weights[b] = down ? 0 : lw_weight(be->weight, be->load_pm);
	}
	ps->panic = total && healthy * 100 < (size_t)cfg->panic_percent * total;
	if (ps->panic)
		for (size_t b = 0; b < svc->n_backends; b++)
			ps->weights[b] = svc->backends[b].weight;
}

static int plan_backends(const struct plan_input *in, struct plan *p)
{
	const struct flb_config *cfg = in->cfg;
	struct be_index *x = malloc(sizeof(*x));

	if (!x)
		return -ENOMEM;
	be_index_init(x, p);
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		plan_weights(cfg, s, p);
		for (size_t b = 0; b < svc->n_backends; b++) {
			uint32_t id = id_of(p, x, &svc->backends[b].addr);
			uint8_t want;

			if (!id) {
				free(x);
				return refuse(p, -ENOSPC, "no free backend id", "max=%d",
					      FLB_MAX_BACKENDS - 1);
			}
			p->svc[s].ids[b] = id;
			p->configured[id] = true;
			/* Unhealthy: no slots here either way; drain keeps the
			 * address's established flows (ACTIVE), reset re-steers
			 * them (DOWN). */
			want = p->svc[s].weights[b] ? FLB_BE_ACTIVE :
			       !svc->backends[b].weight ? FLB_BE_DRAINING :
			       svc->on_unhealthy == FLB_UNHEALTHY_RESET &&
					       (svc->backends[b].down || svc->backends[b].check_down) ?
				       FLB_BE_DOWN : FLB_BE_ACTIVE; /* ejected (outlier.h): drain */
			/* A weight-0 backend whose drain ended stays down. */
			if (want == FLB_BE_DRAINING && p->be[id].state == FLB_BE_DOWN &&
			    !in->state->drain_start[id])
				want = FLB_BE_DOWN;
			/* Shared address: the most serving state wins. */
			if (!p->state[id] || want == FLB_BE_ACTIVE ||
			    (want == FLB_BE_DRAINING && p->state[id] == FLB_BE_DOWN))
				p->state[id] = want;
		}
	}
	free(x);
	/* Left the configuration: drain; one that was down has no flows to
	 * keep (they are re-steered already): its id is freed now. */
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		if (!p->state[id] && p->be[id].state != FLB_BE_UNUSED)
			p->state[id] = p->be[id].state == FLB_BE_DOWN ? PLAN_FREE : FLB_BE_DRAINING;
	return 0;
}

/* Writes of backends whose state changes; raise: only those becoming
 * ACTIVE (before the tables name them), else the rest (after). */
static int plan_backend_writes(struct plan *p, bool raise)
{
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend next = p->be[id];
		struct plan_op *op;

		if (!p->state[id] || (p->state[id] == FLB_BE_ACTIVE) != raise)
			continue;
		next.state = p->state[id] == PLAN_FREE ? FLB_BE_UNUSED : p->state[id];
		if (next.state == FLB_BE_DRAINING)
			p->rep.backends_draining++;
		if (!memcmp(&next, &p->be[id], sizeof(next)) &&
		    (p->be[id].state != FLB_BE_UNUSED || p->state[id] == PLAN_FREE))
			continue;
		op = plan_add_op(p, PLAN_SET_BACKEND);
		if (!op)
			return -ENOMEM;
		op->id = id;
		op->be = next;
		snprintf(op->what, sizeof(op->what), "id=%u", id);
		if (next.state == FLB_BE_DRAINING && p->be[id].state != FLB_BE_DRAINING)
			plan_note(op, LOG_INFO, "backend draining: no new flows, existing flows continue",
			     "id=%u gen=%u", id, next.gen);
		p->be[id] = next;
	}
	return 0;
}

/* The service's table: the cached one when its inputs (size included) are
 * unchanged, else built and compared with the cached one. Its size never
 * shrinks under auto: the cached size (the one in the maps, also right
 * after a restart: reconcile.c adopts it) is the floor. */
static int plan_table(const struct plan_input *in, size_t s, struct plan *p)
{
	const struct flb_service_cfg *svc = &in->cfg->services[s];
	struct plan_service *ps = &p->svc[s];
	const struct table_entry *e = tables_find(&in->state->tables, &ps->key);
	struct plan_table *t = &ps->table;
	int err;

	t->size = tables_size(svc, e ? e->size : 0);
	err = tables_inputs(svc, ps->ids, ps->weights, &t->inputs, &t->inputs_len);
	if (err)
		return err;
	if (e && e->ids && e->inputs && e->size == t->size && e->inputs_len == t->inputs_len &&
	    !memcmp(e->inputs, t->inputs, t->inputs_len)) {
		t->reused = true;
		t->fingerprint = e->fingerprint;
		return 0;
	}
	err = tables_build(svc, ps->ids, ps->weights, t->size, &t->slots, &t->fingerprint);
	if (err)
		return refuse(p, err, "cannot build Maglev table", "service=%s err=\"%s\"",
			      svc->name, strerror(-err));
	if (e && e->ids && e->size == t->size &&
	    !memcmp(e->ids, t->slots, t->size * sizeof(*t->slots)))
		return 0;
	t->swap = true;
	/* A new size moves (almost) every flow: all slots count as changed. */
	if (e && e->ids)
		err = tables_disruption(e->ids, e->size, t->slots, t->size, &t->changed, &t->excess);
	return err;
}

/* Tables first (consecutive, so apply.c swaps them in one batch), then the
 * VIP entries that differ from the map's. */
static int plan_vips(const struct plan_input *in, const struct key_index *old, struct plan *p,
		     struct flb_ctl *ctl)
{
	const struct flb_config *cfg = in->cfg;

	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct plan_service *ps = &p->svc[s];
		const struct table_entry *e = tables_find(&in->state->tables, &ps->key);
		struct plan_op *op;
		int err = plan_table(in, s, p);

		if (err)
			return err;
		ps->first_op = p->n_ops;
		if (ps->panic != (e && e->panic)) {
			op = plan_add_op(p, PLAN_NOTE);
			if (!op)
				return -ENOMEM;
			plan_note(op, ps->panic ? LOG_WARN : LOG_INFO,
			     ps->panic ? "panic mode: too few healthy backends, routing to all of them" :
					 "panic mode over",
			     "service=%s", svc->name);
		}
		if (ps->table.swap) {
			op = plan_add_op(p, PLAN_SET_RING);
			if (!op)
				return -ENOMEM;
			op->id = ps->vip_id;
			op->svc = s;
			snprintf(op->what, sizeof(op->what), "service=%s", svc->name);
			plan_note(op, LOG_INFO, "table updated",
			     "service=%s vip_id=%u size=%u fingerprint=%016llx changed=%u excess=%u panic=%d",
			     svc->name, ps->vip_id, ps->table.size,
			     (unsigned long long)ps->table.fingerprint, ps->table.changed,
			     ps->table.excess, ps->panic);
			p->rep.tables_built++;
		}
	}
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct plan_service *ps = &p->svc[s];
		long i = key_index_find(old, in->old_keys, sizeof(*in->old_keys), &ps->key);
		struct flb_vip vip = { .id = ps->vip_id };
		struct plan_op *op;

		if (!svc->port)
			ctl->flags |= FLB_CTL_PORTLESS;
		if (i >= 0 && !memcmp(in->map_vips ? &in->map_vips[i] : &in->old_vips[i], &vip,
				      sizeof(vip)))
			continue;
		op = plan_add_op(p, PLAN_SET_VIP);
		if (!op)
			return -ENOMEM;
		op->key = ps->key;
		op->vip = vip;
		snprintf(op->what, sizeof(op->what), "service=%s", svc->name);
	}
	p->rep.vips = cfg->n_services;
	return 0;
}

/* The fragment VIP of each (address, protocol): the port-less VIP if there
 * is one, else the one with the lowest port. */
static int plan_vip_addrs(const struct flb_config *cfg, struct plan *p)
{
	struct flb_vip_key *group = calloc(p->n_svc + 1, sizeof(*group));
	size_t *best = calloc(p->n_svc + 1, sizeof(*best));
	struct key_index ix = {};
	int err = -ENOMEM;

	/* Services of one (address, protocol) share a key with port 0. */
	for (size_t s = 0; group && s < p->n_svc; s++) {
		group[s] = p->svc[s].key;
		group[s].port = 0;
	}
	if (!group || !best || key_index_build(&ix, group, sizeof(*group), p->n_svc))
		goto out;
	for (size_t s = 0; s < p->n_svc; s++) {
		size_t g = (size_t)key_index_find(&ix, group, sizeof(*group), &group[s]);

		if (g == s || cfg->services[s].port < cfg->services[best[g]].port)
			best[g] = s;
	}
	for (size_t s = 0; s < p->n_svc; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct plan_op *op;

		if (best[key_index_find(&ix, group, sizeof(*group), &group[s])] != s)
			continue;
		op = plan_add_op(p, PLAN_SET_VIP_ADDR);
		if (!op)
			goto out;
		memcpy(op->addr.addr, svc->vip.bytes, sizeof(op->addr.addr));
		op->addr.proto = svc->proto;
		op->addr.family = flb_family(svc->vip.family);
		op->id = p->svc[s].vip_id;
		snprintf(op->what, sizeof(op->what), "service=%s", svc->name);
	}
	err = 0;
out:
	key_index_free(&ix);
	free(group);
	free(best);
	return err;
}

/* VIPs in the maps that the configuration no longer has: their entries,
 * then their tables, then (one walk) their fragment entries. */
static int plan_removals(const struct plan_input *in, struct plan *p)
{
	static const enum plan_op_kind steps[] = { PLAN_DEL_VIP, PLAN_DEL_RING };
	struct key_index want = {};
	struct plan_op *op;
	size_t first = p->n_ops;
	bool *stays = calloc(FLB_MAX_VIPS, sizeof(*stays));

	if (!stays || key_index_build(&want, p->svc, sizeof(*p->svc), p->n_svc)) {
		free(stays);
		return -ENOMEM;
	}
	for (size_t s = 0; s < p->n_svc; s++)
		if (p->svc[s].vip_id < FLB_MAX_VIPS)
			stays[p->svc[s].vip_id] = true;
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
		for (size_t i = 0; i < in->n_old; i++) {
			if (key_index_find(&want, p->svc, sizeof(*p->svc), &in->old_keys[i]) >= 0)
				continue;
			/* A VIP entry that names the id of a VIP that stays (an entry
			 * this daemon never wrote) goes without that VIP's table. */
			if (steps[k] == PLAN_DEL_RING && in->old_vips[i].id < FLB_MAX_VIPS &&
			    stays[in->old_vips[i].id])
				continue;
			op = plan_add_op(p, steps[k]);
			if (!op)
				goto nomem;
			op->id = in->old_vips[i].id;
			op->key = in->old_keys[i];
			snprintf(op->what, sizeof(op->what), "vip_id=%u", in->old_vips[i].id);
		}
	key_index_free(&want);
	free(stays);
	if (p->n_ops == first)
		return 0;
	op = plan_add_op(p, PLAN_PRUNE_VIP_ADDRS);
	if (!op)
		return -ENOMEM;
	snprintf(op->what, sizeof(op->what), "fragment entries");
	for (size_t i = first, n = p->n_ops; i < n; i++) {
		uint32_t id = p->ops[i].id;

		if (p->ops[i].kind != PLAN_DEL_VIP)
			continue;
		op = plan_add_op(p, PLAN_NOTE);
		if (!op)
			return -ENOMEM;
		plan_note(op, LOG_INFO, "VIP removed", "vip_id=%u", id);
		p->rep.vips_removed++;
	}
	return 0;
nomem:
	key_index_free(&want);
	free(stays);
	return -ENOMEM;
}

static int plan_alloc(const struct flb_config *cfg, struct plan *p)
{
	size_t n = cfg->n_services;

	p->n_svc = n;
	p->svc = calloc(n + 1, sizeof(*p->svc));
	p->vip_ids = calloc(n + 1, sizeof(*p->vip_ids));
	p->state = calloc(FLB_MAX_BACKENDS, sizeof(*p->state));
	p->be = calloc(FLB_MAX_BACKENDS, sizeof(*p->be));
	p->configured = calloc(FLB_MAX_BACKENDS, sizeof(*p->configured));
	if (!p->svc || !p->vip_ids || !p->state || !p->be || !p->configured)
		return -ENOMEM;
	for (size_t s = 0; s < n; s++) {
		p->svc[s].ids = calloc(cfg->services[s].n_backends + 1, sizeof(*p->svc[s].ids));
		p->svc[s].weights = calloc(cfg->services[s].n_backends + 1,
					   sizeof(*p->svc[s].weights));
		if (!p->svc[s].ids || !p->svc[s].weights)
			return -ENOMEM;
		plan_vip_key(&cfg->services[s], &p->svc[s].key);
	}
	return 0;
}

int plan_make(const struct plan_input *in, struct plan *p)
{
	const struct flb_config *cfg = in->cfg;
	struct key_index old = {};
	struct flb_ctl ctl = {};
	struct plan_op *op;
	int err;

	memset(p, 0, sizeof(*p));
	err = plan_alloc(cfg, p);
	if (err)
		return err;
	memcpy(p->be, in->state->be, sizeof(in->state->be));
	err = key_index_build(&old, in->old_keys, sizeof(*in->old_keys), in->n_old);
	if (!err)
		err = check_supported(cfg, p);
	if (!err)
		err = assign_vip_ids(in, &old, p);
	if (!err)
		err = plan_backends(in, p);
	if (!err)
		err = plan_backend_writes(p, true);
	if (!err)
		err = plan_policies(cfg, in->state->policy_dirty, p);
	if (!err)
		err = plan_vips(in, &old, p, &ctl);
	if (!err)
		err = plan_vip_addrs(cfg, p);
	/* Removals, after the new state serves. */
	if (!err)
		err = plan_removals(in, p);
	if (!err)
		err = plan_backend_writes(p, false);
	key_index_free(&old);
	if (err)
		return err;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		p->rep.backends += p->be[id].state != FLB_BE_UNUSED;

	/* Ready last: until now a fresh datapath passed everything. */
	op = plan_add_op(p, PLAN_SET_CTL);
	if (!op)
		return -ENOMEM;
	memcpy(&ctl.encap_src4, cfg->encap_src4.bytes, 4);
	memcpy(ctl.encap_src6, cfg->encap_src6.bytes, 16);
	ctl.tcp_timeout_s = cfg->ct_tcp_timeout_s;
	ctl.udp_timeout_s = cfg->ct_udp_timeout_s;
	ctl.flood_nfps = plan_flood_per_cpu(cfg->flood_nfps, in->ncpus);
	ctl.ready = 1;
	op->ctl = ctl;
	snprintf(op->what, sizeof(op->what), "ready=1");
	return 0;
}

uint32_t plan_flood_per_cpu(uint32_t node_nfps, uint32_t ncpus)
{
	if (!ncpus)
		ncpus = 1;
	return (uint32_t)(((uint64_t)node_nfps + ncpus - 1) / ncpus);
}

void plan_free(struct plan *p)
{
	for (size_t s = 0; p->svc && s < p->n_svc; s++) {
		free(p->svc[s].ids);
		free(p->svc[s].weights);
		free(p->svc[s].table.slots);
		free(p->svc[s].table.inputs);
		free(p->svc[s].rr);
	}
	free(p->svc);
	free(p->vip_ids);
	free(p->state);
	free(p->be);
	free(p->configured);
	free(p->ops);
	memset(p, 0, sizeof(*p));
}
