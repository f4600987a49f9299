// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The reconciler's table cache and status publishing (see reconcile_tables.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maglev.h"
#include "reconcile_tables.h"

void tables_free(struct table_cache *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].ids);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

static struct table_entry *find(struct table_cache *t, const struct flb_vip_key *key, bool add)
{
	struct table_entry *e;

	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(&t->e[i].key, key, sizeof(*key)))
			return &t->e[i];
	if (!add)
		return NULL;
	e = realloc(t->e, (t->n + 1) * sizeof(*t->e));
	if (!e)
		return NULL;
	t->e = e;
	e = &t->e[t->n++];
	memset(e, 0, sizeof(*e));
	e->key = *key;
	return e;
}

void tables_forget(struct table_cache *t, const struct flb_vip_key *key)
{
	struct table_entry *e = find(t, key, false);

	if (!e)
		return;
	free(e->ids);
	*e = t->e[--t->n];
}

/* Slots that changed, and of those the ones between backends in both tables. */
static void disruption(const uint32_t *old, const uint32_t *cur, uint32_t m, uint32_t *changed,
		       uint32_t *excess)
{
	uint8_t *in_old = calloc(FLB_MAX_BACKENDS, 1), *in_new = calloc(FLB_MAX_BACKENDS, 1);

	*changed = *excess = 0;
	if (!in_old || !in_new)
		goto out;
	for (uint32_t i = 0; i < m; i++) {
		in_old[old[i] % FLB_MAX_BACKENDS] = 1;
		in_new[cur[i] % FLB_MAX_BACKENDS] = 1;
	}
	for (uint32_t i = 0; i < m; i++) {
		if (old[i] == cur[i])
			continue;
		(*changed)++;
		if (old[i] && cur[i] && in_new[old[i] % FLB_MAX_BACKENDS] &&
		    in_old[cur[i] % FLB_MAX_BACKENDS])
			(*excess)++;
	}
out:
	free(in_old);
	free(in_new);
}

/* Maglev over the effective weights; slots become backend ids. */
static int build(const struct flb_service_cfg *svc, const uint32_t *ids, const uint32_t *weights,
		 uint32_t **slots_out, uint32_t *size_out, uint64_t *fp)
{
	struct maglev_backend *mb = calloc(svc->n_backends + 1, sizeof(*mb));
	uint32_t size = svc->table_size, active = 0, *slots = NULL;
	int err;

	if (!mb)
		return -ENOMEM;
	for (size_t b = 0; b < svc->n_backends; b++) {
		mb[b].name = svc->backends[b].id;
		mb[b].weight = weights[b];
		active += weights[b] > 0;
	}
	if (!size)
		size = maglev_auto_size(active);
	slots = malloc(size * sizeof(*slots));
	err = slots ? maglev_build(mb, svc->n_backends, size, slots) : -ENOMEM;
	if (!err) {
		*fp = maglev_fingerprint(slots, size, mb, svc->n_backends);
		for (uint32_t i = 0; i < size; i++)
			slots[i] = slots[i] == MAGLEV_EMPTY ? 0 : ids[slots[i]];
		*slots_out = slots;
		*size_out = size;
	} else {
		free(slots);
	}
	free(mb);
	return err;
}

int tables_apply(struct table_cache *t, struct flb_maps *m, const struct flb_service_cfg *svc,
		 const struct flb_vip_key *key, uint32_t vip_id, const uint32_t *ids,
		 const uint32_t *weights, bool panic)
{
	struct table_entry *e = find(t, key, true);
	uint32_t *slots = NULL, size = 0, changed = 0, excess = 0;
	uint64_t fp = 0;
	int err;

	if (!e)
		return -ENOMEM;
	e->vip_id = vip_id;
	err = build(svc, ids, weights, &slots, &size, &fp);
	if (err)
		return log_err(err, "cannot build Maglev table", "service=%s err=\"%s\"", svc->name,
			       strerror(-err));
	if (panic != e->panic)
		log_msg(panic ? LOG_WARN : LOG_INFO,
			panic ? "panic mode: too few healthy backends, routing to all of them" :
				"panic mode over",
			"service=%s", svc->name);
	e->panic = panic;
	if (e->ids && e->size == size && !memcmp(e->ids, slots, size * sizeof(*slots))) {
		free(slots);
		return 0;
	}
	err = maps_set_ring(m, vip_id, slots, size);
	if (err) {
		free(slots);
		return log_err(err, "cannot swap in Maglev table", "service=%s err=\"%s\"", svc->name,
			       strerror(-err));
	}
	if (e->ids && e->size == size)
		disruption(e->ids, slots, size, &changed, &excess);
	else if (e->ids)
		changed = size; /* a new size moves (almost) everything */
	free(e->ids);
	e->ids = slots;
	e->size = size;
	e->fingerprint = fp;
	e->rebuilds++;
	e->last_changed = changed;
	e->last_excess = excess;
	e->excess_total += excess;
	log_info("table updated",
		 "service=%s vip_id=%u size=%u fingerprint=%016llx changed=%u excess=%u panic=%d",
		 svc->name, vip_id, size, (unsigned long long)fp, changed, excess, panic);
	return 1;
}

static void vip_text(const struct flb_service_cfg *svc, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	addr_format(&svc->vip, a, sizeof(a));
	snprintf(buf, len, svc->vip.family == AF_INET6 ? "[%s]:%u/%s" : "%s:%u/%s", a, svc->port,
		 svc->proto == IPPROTO_UDP ? "udp" : "tcp");
}

/* A draining id that no configured service names any more (it left the
 * configuration and keeps its flows until drained). */
static bool left_draining(const struct flb_config *cfg, uint32_t *const *ids,
			  const struct flb_backend *be, const uint64_t *drain_start, uint32_t id)
{
	if (!drain_start[id] || be[id].state == FLB_BE_UNUSED)
		return false;
	for (size_t s = 0; s < cfg->n_services; s++)
		for (size_t b = 0; b < cfg->services[s].n_backends; b++)
			if (ids[s][b] == id)
				return false;
	return true;
}

static size_t count_backends(const struct flb_config *cfg, const struct flb_backend *be,
			     const uint64_t *drain_start, uint32_t *const *ids)
{
	size_t n = 0;

	for (size_t s = 0; s < cfg->n_services; s++)
		n += cfg->services[s].n_backends;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++)
		n += left_draining(cfg, ids, be, drain_start, id);
	return n;
}

void tables_publish(const struct table_cache *t, struct flb_status *st,
		    const struct flb_config *cfg, uint32_t *const *ids, uint32_t *const *weights,
		    const struct flb_backend *be, const uint64_t *drain_start)
{
	size_t nb = count_backends(cfg, be, drain_start, ids), k = 0;
	struct flb_status_vip *vips = calloc(cfg->n_services + 1, sizeof(*vips));
	struct flb_status_backend *bes = calloc(nb + 1, sizeof(*bes));

	if (!st || !vips || !bes) {
		free(vips);
		free(bes);
		return;
	}
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct flb_vip_key key;
		const struct table_entry *e = NULL;

		memcpy(key.addr, svc->vip.bytes, sizeof(key.addr));
		for (size_t i = 0; i < t->n; i++) {
			const struct flb_vip_key *k2 = &t->e[i].key;

			if (!memcmp(k2->addr, key.addr, sizeof(key.addr)) &&
			    ntohs(k2->port) == svc->port && k2->proto == svc->proto)
				e = &t->e[i];
		}
		snprintf(vips[s].service, sizeof(vips[s].service), "%s", svc->name);
		vip_text(svc, vips[s].vip, sizeof(vips[s].vip));
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
			uint32_t id = ids[s][b];

			snprintf(o->service, sizeof(o->service), "%s", svc->name);
			addr_format(&svc->backends[b].addr, o->address, sizeof(o->address));
			o->backend_id = id;
			o->weight = svc->backends[b].weight;
			o->admin = weights[s][b] ? FLB_ADMIN_ACTIVE :
				   svc->backends[b].weight ? FLB_ADMIN_DOWN : FLB_ADMIN_DRAINING;
			o->drain_started_ns = drain_start[id];
			o->flows = -1;
		}
	}
	/* Backends that left the configuration and still drain. */
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS && k < nb; id++) {
		if (!left_draining(cfg, ids, be, drain_start, id))
			continue;
		snprintf(bes[k].service, sizeof(bes[k].service), "-");
		inet_ntop(be[id].family == FLB_AF_INET6 ? AF_INET6 : AF_INET, be[id].addr,
			  bes[k].address, sizeof(bes[k].address));
		bes[k].backend_id = id;
		bes[k].admin = FLB_ADMIN_DRAINING;
		bes[k].drain_started_ns = drain_start[id];
		bes[k].flows = -1;
		k++;
	}
	pthread_mutex_lock(&st->lock);
	/* Keep what the health checker and the drain counter know. */
	for (size_t i = 0; i < k; i++)
		for (size_t j = 0; j < st->n_backends; j++)
			if (!strcmp(st->backends[j].service, bes[i].service) &&
			    !strcmp(st->backends[j].address, bes[i].address)) {
				bes[i].health = st->backends[j].health;
				bes[i].checks_ok = st->backends[j].checks_ok;
				bes[i].checks_failed = st->backends[j].checks_failed;
				bes[i].flows = st->backends[j].flows;
			}
	free(st->vips);
	free(st->backends);
	st->vips = vips;
	st->n_vips = cfg->n_services;
	st->backends = bes;
	st->n_backends = k;
	pthread_mutex_unlock(&st->lock);
}

void tables_status_flows(struct flb_status *st, uint32_t id, long flows)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n_backends; i++)
		if (st->backends[i].backend_id == id)
			st->backends[i].flows = flows;
	pthread_mutex_unlock(&st->lock);
}
