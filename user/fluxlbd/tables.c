// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Maglev tables, their disruption figures and the last table of each VIP (see tables.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"
#include "tables.h"

static uint32_t key_hash(const struct flb_vip_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static const struct flb_vip_key *key_at(const void *base, size_t stride, size_t i)
{
	return (const struct flb_vip_key *)((const char *)base + i * stride);
}

void key_index_free(struct key_index *ix)
{
	free(ix->pos);
	memset(ix, 0, sizeof(*ix));
}

int key_index_build(struct key_index *ix, const void *base, size_t stride, size_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	free(ix->pos);
	ix->pos = calloc(cap, sizeof(*ix->pos));
	ix->mask = ix->pos ? cap - 1 : 0;
	if (!ix->pos)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct flb_vip_key *k = key_at(base, stride, i);
		uint32_t h = key_hash(k) & ix->mask;

		while (ix->pos[h] && memcmp(key_at(base, stride, ix->pos[h] - 1), k, sizeof(*k)))
			h = (h + 1) & ix->mask;
		if (!ix->pos[h])
			ix->pos[h] = i + 1;
	}
	return 0;
}

long key_index_find(const struct key_index *ix, const void *base, size_t stride,
		    const struct flb_vip_key *key)
{
	uint32_t h;

	if (!ix->pos)
		return -1;
	for (h = key_hash(key) & ix->mask; ix->pos[h]; h = (h + 1) & ix->mask)
		if (!memcmp(key_at(base, stride, ix->pos[h] - 1), key, sizeof(*key)))
			return ix->pos[h] - 1;
	return -1;
}

void tables_free(struct table_cache *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].ids);
		free(t->e[i].inputs);
	}
	free(t->e);
	key_index_free(&t->ix);
	memset(t, 0, sizeof(*t));
}

const struct table_entry *tables_find(const struct table_cache *t, const struct flb_vip_key *key)
{
	long i = key_index_find(&t->ix, t->e, sizeof(*t->e), key);

	return i < 0 ? NULL : &t->e[i];
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
	e = &t->e[t->n];
	memset(e, 0, sizeof(*e));
	e->key = *key;
	/* Rebuilt on every add: at most FLB_MAX_VIPS entries, and adds are
	 * one per new VIP. Doubling would do, but this keeps it simple. */
	if (key_index_build(&t->ix, t->e, sizeof(*t->e), t->n + 1))
		return NULL;
	t->n++;
	return e;
}

void tables_forget(struct table_cache *t, const struct flb_vip_key *key)
{
	struct table_entry *e = (struct table_entry *)tables_find(t, key);

	if (!e)
		return;
	free(e->ids);
	free(e->inputs);
	*e = t->e[--t->n];
	if (key_index_build(&t->ix, t->e, sizeof(*t->e), t->n))
		key_index_free(&t->ix); /* ENOMEM: lookups miss, tables are rebuilt */
}

int tables_inputs(const struct flb_service_cfg *svc, const uint32_t *ids, const uint32_t *weights,
		  uint8_t **buf, size_t *len)
{
	size_t cap = sizeof(uint32_t), o = 0;
	uint8_t *b;

	for (size_t i = 0; i < svc->n_backends; i++)
		cap += 2 * sizeof(uint32_t) + strlen(svc->backends[i].id) + 1;
	b = malloc(cap);
	if (!b)
		return -ENOMEM;
	memcpy(b + o, &svc->table_size, sizeof(uint32_t));
	o += sizeof(uint32_t);
	for (size_t i = 0; i < svc->n_backends; i++) {
		size_t n = strlen(svc->backends[i].id) + 1;

		memcpy(b + o, &ids[i], sizeof(uint32_t));
		memcpy(b + o + 4, &weights[i], sizeof(uint32_t));
		memcpy(b + o + 8, svc->backends[i].id, n);
		o += 8 + n;
	}
	*buf = b;
	*len = o;
	return 0;
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
