// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Maglev tables, their disruption figures and the last table of each VIP (see tables.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "tables.h"

void tables_free(struct table_cache *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].ids);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

const struct table_entry *tables_find(const struct table_cache *t, const struct flb_vip_key *key)
{
	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(&t->e[i].key, key, sizeof(*key)))
			return &t->e[i];
	return NULL;
}

struct table_entry *tables_get(struct table_cache *t, const struct flb_vip_key *key)
{
	struct table_entry *e = (struct table_entry *)tables_find(t, key);

	if (e)
		return e;
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
	struct table_entry *e = (struct table_entry *)tables_find(t, key);

	if (!e)
		return;
	free(e->ids);
	*e = t->e[--t->n];
}

int tables_disruption(const uint32_t *old, uint32_t m_old, const uint32_t *cur, uint32_t m,
		      uint32_t *changed, uint32_t *excess)
{
	uint8_t *in_old = calloc(FLB_MAX_BACKENDS, 1), *in_new = calloc(FLB_MAX_BACKENDS, 1);
	int err = -ENOMEM;

	*changed = *excess = 0;
	if (!in_old || !in_new)
		goto out;
	for (uint32_t i = 0; i < m_old; i++)
		in_old[old[i] % FLB_MAX_BACKENDS] = 1;
	for (uint32_t i = 0; i < m; i++)
		in_new[cur[i] % FLB_MAX_BACKENDS] = 1;
	for (uint32_t i = 0; i < m; i++) {
		if (m_old == m && old[i] == cur[i])
			continue;
		(*changed)++;
		if (cur[i] && in_old[cur[i] % FLB_MAX_BACKENDS] &&
		    (m_old != m || (old[i] && in_new[old[i] % FLB_MAX_BACKENDS])))
			(*excess)++;
	}
	err = 0;
out:
	free(in_old);
	free(in_new);
	return err;
}

uint32_t tables_size(const struct flb_service_cfg *svc, uint32_t floor)
{
	size_t weighted = 0;
	uint32_t size;

	if (svc->table_size)
		return svc->table_size;
	for (size_t b = 0; b < svc->n_backends; b++)
		weighted += svc->backends[b].weight > 0;
	size = maglev_auto_size(weighted);
	return size > floor ? size : floor;
}

int tables_build(const struct flb_service_cfg *svc, const uint32_t *ids, const uint32_t *weights,
		 uint32_t size, uint32_t **slots_out, uint64_t *fp)
{
	struct maglev_backend *mb = calloc(svc->n_backends + 1, sizeof(*mb));
	uint32_t *slots = NULL;
	int err;

	if (!mb)
		return -ENOMEM;
	for (size_t b = 0; b < svc->n_backends; b++) {
		mb[b].name = svc->backends[b].id;
		mb[b].weight = weights[b];
	}
	slots = malloc(size * sizeof(*slots));
	err = slots ? maglev_build(mb, svc->n_backends, size, slots) : -ENOMEM;
	if (!err) {
		*fp = maglev_fingerprint(slots, size, mb, svc->n_backends);
		for (uint32_t i = 0; i < size; i++)
			slots[i] = slots[i] == MAGLEV_EMPTY ? 0 : ids[slots[i]];
		*slots_out = slots;
	} else {
		free(slots);
	}
	free(mb);
	return err;
}
