// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reconciliation of desired state into the maps (see reconcile.h). Backend
 * ids are per address (the datapath only needs the address to encapsulate),
 * shared by every service that names the address. A freed id keeps its
 * generation in the map, and the next backend to take the id gets the
 * generation plus one, so conntrack entries never follow an id to a new
 * backend.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "maglev.h"
#include "reconcile.h"

struct ids {
	struct flb_backend be[FLB_MAX_BACKENDS]; /* as in the map, then as desired */
	bool wanted[FLB_MAX_BACKENDS];
	bool touched[FLB_MAX_BACKENDS];
};

static uint8_t flb_family(int af)
{
	return af == AF_INET6 ? FLB_AF_INET6 : FLB_AF_INET;
}

static void to_be(const struct flb_addr *a, struct flb_backend *be)
{
	memcpy(be->addr, a->bytes, sizeof(be->addr));
	be->family = flb_family(a->family);
}

void reconcile_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key)
{
	memset(key, 0, sizeof(*key));
	memcpy(key->addr, svc->vip.bytes, sizeof(key->addr));
	key->port = htons(svc->port);
	key->proto = svc->proto;
	key->family = flb_family(svc->vip.family);
}

/* The dataplane carries IPv4 in IPv4 or IPv6, and IPv6 in IPv6: an IPv6
 * packet does not fit in an IPv4 tunnel (Katran makes the same choice). */
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

/* The fragment VIP of each (address, protocol): the port-less VIP if there
 * is one, else the one with the lowest port. Rewritten whole each run. */
static int write_vip_addrs(struct flb_maps *m, const struct flb_config *cfg, const uint32_t *vip_ids)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		size_t best = s;
		struct flb_vip_addr a = {};
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

static uint32_t find_or_alloc(struct ids *ids, const struct flb_addr *a)
{
	struct flb_backend want = {};
	uint32_t free_id = 0;

	to_be(a, &want);
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct flb_backend *be = &ids->be[id];

		if (be->state != FLB_BE_UNUSED && be->family == want.family &&
		    !memcmp(be->addr, want.addr, sizeof(want.addr)))
			return id;
		if (!free_id && be->state == FLB_BE_UNUSED && !ids->wanted[id])
			free_id = id;
	}
	if (!free_id)
		return 0;
	/* A fresh owner for this id: new generation, so old flows never match. */
	want.gen = ids->be[free_id].gen + 1;
	want.state = FLB_BE_ACTIVE;
	ids->be[free_id] = want;
	ids->touched[free_id] = true;
	return free_id;
}

static int write_backends(struct flb_maps *m, const struct flb_config *cfg, struct ids *ids,
			  uint32_t **svc_ids, uint32_t *n_used)
{
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		for (size_t b = 0; b < svc->n_backends; b++) {
			uint32_t id = find_or_alloc(ids, &svc->backends[b].addr);

			if (!id)
				return log_err(-ENOSPC, "no free backend id", "max=%d",
					       FLB_MAX_BACKENDS - 1);
			if (!ids->wanted[id])
				(*n_used)++;
			ids->wanted[id] = true;
			svc_ids[s][b] = id;
			if (ids->be[id].state != FLB_BE_ACTIVE) {
				ids->be[id].state = FLB_BE_ACTIVE;
				ids->touched[id] = true;
			}
		}
	}
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		int err;

		if (!ids->touched[id])
			continue;
		err = maps_set_backend(m, id, &ids->be[id]);
		if (err)
			return log_err(err, "cannot write backend", "id=%u err=\"%s\"", id,
				       strerror(-err));
	}
	return 0;
}

/* Builds the service's table and swaps it in. */
static int write_table(struct flb_maps *m, const struct flb_service_cfg *svc, uint32_t vip_id,
		       const uint32_t *backend_ids)
{
	struct maglev_backend *mb = calloc(svc->n_backends + 1, sizeof(*mb));
	uint32_t size = svc->table_size, active = 0, *slots = NULL;
	uint64_t fp;
	int err;

	if (!mb)
		return -ENOMEM;
	for (size_t b = 0; b < svc->n_backends; b++) {
		mb[b].name = svc->backends[b].id;
		mb[b].weight = svc->backends[b].weight;
		active += mb[b].weight > 0;
	}
	if (!size)
		size = maglev_auto_size(active);
	slots = malloc(size * sizeof(*slots));
	err = slots ? maglev_build(mb, svc->n_backends, size, slots) : -ENOMEM;
	if (err) {
		log_error("cannot build Maglev table", "service=%s size=%u err=\"%s\"", svc->name,
			  size, strerror(-err));
		goto out;
	}
	fp = maglev_fingerprint(slots, size, mb, svc->n_backends);
	/* Slots hold indexes into the service's backends; the map wants ids. */
	for (uint32_t i = 0; i < size; i++)
		slots[i] = slots[i] == MAGLEV_EMPTY ? 0 : backend_ids[slots[i]];
	err = maps_set_ring(m, vip_id, slots, size);
	if (err) {
		log_error("cannot swap in Maglev table", "service=%s err=\"%s\"", svc->name,
			  strerror(-err));
		goto out;
	}
	log_info("table updated",
		 "service=%s vip_id=%u size=%u backends=%zu active=%u fingerprint=%016llx",
		 svc->name, vip_id, size, svc->n_backends, active, (unsigned long long)fp);
out:
	free(slots);
	free(mb);
	return err;
}

/* VIP ids: the pinned one when the VIP exists, else the lowest free id. */
static int assign_vip_ids(const struct flb_config *cfg, const struct flb_vip_key *old_keys,
			  const struct flb_vip *old_vips, int n_old, uint32_t *vip_ids)
{
	static bool used[FLB_MAX_VIPS];

	memset(used, 0, sizeof(used));
	for (size_t s = 0; s < cfg->n_services; s++) {
		struct flb_vip_key key;

		vip_ids[s] = UINT32_MAX;
		reconcile_vip_key(&cfg->services[s], &key);
		for (int i = 0; i < n_old; i++) {
			if (!memcmp(&key, &old_keys[i], sizeof(key)) && old_vips[i].id < FLB_MAX_VIPS) {
				vip_ids[s] = old_vips[i].id;
				used[old_vips[i].id] = true;
			}
		}
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

static int read_backends(struct flb_maps *m, struct ids *ids)
{
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		int err = maps_get_backend(m, id, &ids->be[id]);

		if (err)
			return log_err(err, "cannot read backend map", "id=%u", id);
	}
	return 0;
}

static int apply(struct flb_maps *m, const struct flb_config *cfg, struct ids *ids,
		 uint32_t **svc_ids, uint32_t *vip_ids, struct flb_vip_key *old_keys,
		 struct flb_vip *old_vips, struct reconcile_report *rep)
{
	struct flb_ctl ctl = {};
	int n_old, err;

	err = read_backends(m, ids);
	if (err)
		return err;
	n_old = maps_list_vips(m, old_keys, old_vips, FLB_MAX_VIPS);
	err = assign_vip_ids(cfg, old_keys, old_vips, n_old, vip_ids);
	if (!err)
		err = write_backends(m, cfg, ids, svc_ids, &rep->backends);
	if (err)
		return err;

	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct flb_vip_key key;
		struct flb_vip vip = { .id = vip_ids[s] };

		err = write_table(m, svc, vip_ids[s], svc_ids[s]);
		if (err)
			return err;
		rep->tables_built++;
		reconcile_vip_key(svc, &key);
		err = maps_set_vip(m, &key, &vip);
		if (err)
			return log_err(err, "cannot write VIP", "service=%s err=\"%s\"", svc->name,
				       strerror(-err));
		if (!svc->port)
			ctl.flags |= FLB_CTL_PORTLESS;
	}
	rep->vips = cfg->n_services;
	err = write_vip_addrs(m, cfg, vip_ids);
	if (err)
		return err;

	/* Removals, after the new state serves: VIPs, their tables, backends. */
	for (int i = 0; i < n_old; i++) {
		if (key_wanted(cfg, &old_keys[i]))
			continue;
		err = maps_del_vip(m, &old_keys[i]);
		if (!err)
			err = maps_del_ring(m, old_vips[i].id);
		if (!err)
			err = maps_prune_vip_addrs(m, old_vips[i].id, vip_ids, cfg->n_services);
		if (err)
			return log_err(err, "cannot remove VIP", "vip_id=%u", old_vips[i].id);
		rep->vips_removed++;
	}
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		if (ids->wanted[id] || ids->be[id].state == FLB_BE_UNUSED)
			continue;
		ids->be[id].state = FLB_BE_UNUSED; /* keeps gen: the next owner bumps it */
		err = maps_set_backend(m, id, &ids->be[id]);
		if (err)
			return log_err(err, "cannot retire backend", "id=%u", id);
		rep->backends_removed++;
	}

	/* Ready last: until now a fresh datapath passed everything. */
	memcpy(&ctl.encap_src4, cfg->encap_src4.bytes, 4);
	memcpy(ctl.encap_src6, cfg->encap_src6.bytes, 16);
	ctl.tcp_timeout_s = cfg->ct_tcp_timeout_s;
	ctl.udp_timeout_s = cfg->ct_udp_timeout_s;
	ctl.ready = 1;
	return maps_set_ctl(m, &ctl);
}

int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep)
{
	struct flb_vip_key *old_keys = calloc(FLB_MAX_VIPS, sizeof(*old_keys));
	struct flb_vip *old_vips = calloc(FLB_MAX_VIPS, sizeof(*old_vips));
	uint32_t *vip_ids = calloc(cfg->n_services + 1, sizeof(*vip_ids));
	uint32_t **svc_ids = calloc(cfg->n_services + 1, sizeof(*svc_ids));
	struct ids *ids = calloc(1, sizeof(*ids));
	int err = -ENOMEM;

	memset(rep, 0, sizeof(*rep));
	if (!old_keys || !old_vips || !vip_ids || !svc_ids || !ids)
		goto out;
	for (size_t s = 0; s < cfg->n_services; s++) {
		svc_ids[s] = calloc(cfg->services[s].n_backends + 1, sizeof(**svc_ids));
		if (!svc_ids[s])
			goto out;
	}
	err = check_supported(cfg);
	if (!err)
		err = apply(m, cfg, ids, svc_ids, vip_ids, old_keys, old_vips, rep);
out:
	for (size_t s = 0; svc_ids && s < cfg->n_services; s++)
		free(svc_ids[s]);
	free(svc_ids);
	free(vip_ids);
	free(ids);
	free(old_vips);
	free(old_keys);
	return err;
}
