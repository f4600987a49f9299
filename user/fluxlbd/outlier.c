// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Passive outlier detection: the decision (see outlier.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outlier.h"

void outlier_free(struct outlier *o)
{
	free(o->r);
	memset(o, 0, sizeof(*o));
}

static struct outlier_rec *find(const struct outlier *o, const char *svc, const struct flb_addr *a)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->r[i].svc, svc) && !addr_cmp(&o->r[i].addr, a))
			return &o->r[i];
	return NULL;
}

static struct outlier_rec *get(struct outlier *o, const char *svc, const struct flb_addr *a)
{
	struct outlier_rec *r = find(o, svc, a);

	if (r)
		return r;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct outlier_rec *nr = realloc(o->r, cap * sizeof(*nr));

		if (!nr)
			return NULL;
		o->r = nr;
		o->cap = cap;
	}
	r = &o->r[o->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->svc, sizeof(r->svc), "%s", svc);
	r->addr = *a;
	return r;
}

bool outlier_ejected(const struct outlier *o, const char *svc, const struct flb_addr *addr)
{
	const struct outlier_rec *r = find(o, svc, addr);

	return r && r->ejected_until_ms;
}

/* A new window from the counters now. */
static void restart(struct outlier_rec *r, const struct outlier_sample *s, uint64_t now_ms)
{
	r->seen = true;
	r->win_start_ms = now_ms;
	r->base_retrans = s->retrans;
	r->base_new = s->new_flows;
}

static void emit(struct outlier_event *ev, size_t max_ev, size_t *n_ev, struct outlier_event e)
{
	if (*n_ev < max_ev)
		ev[*n_ev] = e;
	(*n_ev)++;
}

int outlier_step(struct outlier *o, const struct flb_service_cfg *svc,
		 const struct outlier_sample *s, uint64_t now_ms, struct outlier_event *ev,
		 size_t max_ev, size_t *n_ev)
{
	const struct flb_outlier_cfg *c = &svc->outlier;
	struct outlier_rec **rec = calloc(svc->n_backends + 1, sizeof(*rec));
	size_t weighted = 0, ejected = 0;
	int changes = 0;

	*n_ev = 0;
	if (!rec)
		return -ENOMEM;
	for (size_t b = 0; b < svc->n_backends; b++) {
		rec[b] = get(o, svc->name, &svc->backends[b].addr);
		if (!rec[b]) {
			free(rec);
			return -ENOMEM;
		}
		weighted += svc->backends[b].weight > 0;
	}
	/* Pointers only once every record exists: get() may move them. */
	for (size_t b = 0; b < svc->n_backends; b++) {
		rec[b] = find(o, svc->name, &svc->backends[b].addr);
		rec[b]->live = true;
	}
	/* Returns first: a cool-down that ended frees its place. */
	for (size_t b = 0; b < svc->n_backends; b++) {
		struct outlier_rec *r = rec[b];

		if (r->ejected_until_ms && (!c->enabled || now_ms >= r->ejected_until_ms)) {
			r->ejected_until_ms = 0;
			r->quiet_since_ms = now_ms;
			r->seen = false; /* judged afresh from now */
			changes++;
			emit(ev, max_ev, n_ev, (struct outlier_event){ .what = OUTLIER_RETURN,
								       .backend = b });
		}
		ejected += !!r->ejected_until_ms;
	}
	for (size_t b = 0; c->enabled && b < svc->n_backends; b++) {
		struct outlier_rec *r = rec[b];
		uint64_t dr, dn;

		if (!s[b].present || !svc->backends[b].weight) {
			r->seen = false;
			continue;
		}
		if (s[b].retrans < r->base_retrans || s[b].new_flows < r->base_new)
			r->seen = false; /* counters restarted (a new dataplane) */
		r->retrans_total = s[b].retrans;
		if (!r->seen) {
			restart(r, &s[b], now_ms);
			continue;
		}
		if (r->ejected_until_ms || now_ms - r->win_start_ms < c->window_ms)
			continue;
		/* Forgiveness: one step of the multiplier per quiet cool-down. */
		if (r->mult && r->quiet_since_ms &&
		    now_ms - r->quiet_since_ms >= (uint64_t)c->base_ejection_ms) {
			r->mult--;
			r->quiet_since_ms = now_ms;
		}
		dr = s[b].retrans - r->base_retrans;
		dn = s[b].new_flows - r->base_new;
		restart(r, &s[b], now_ms);
		if (dn < c->min_new_flows)
			continue;
		r->last_ratio_pm = (uint32_t)(dr * 1000 / dn);
		if (r->last_ratio_pm < c->ratio_pm)
			continue;
		if ((ejected + 1) * 100 > (size_t)c->max_ejection_percent * weighted) {
			emit(ev, max_ev, n_ev, (struct outlier_event){
				.what = OUTLIER_CAPPED, .backend = b, .retrans = dr, .new_flows = dn,
				.ratio_pm = r->last_ratio_pm, .ejected_now = (uint32_t)ejected });
			continue;
		}
		if (r->mult < FLB_OUTLIER_MAX_MULT)
			r->mult++;
		r->ejected_until_ms = now_ms + (uint64_t)c->base_ejection_ms * r->mult;
		r->quiet_since_ms = 0;
		r->ejections_total++;
		ejected++;
		changes++;
		emit(ev, max_ev, n_ev, (struct outlier_event){
			.what = OUTLIER_EJECT, .backend = b, .retrans = dr, .new_flows = dn,
			.ratio_pm = r->last_ratio_pm, .ejection_ms = c->base_ejection_ms * r->mult,
			.ejected_now = (uint32_t)ejected });
	}
	free(rec);
	return changes;
}

void outlier_prune(struct outlier *o)
{
	size_t kept = 0;

	for (size_t i = 0; i < o->n; i++) {
		if (!o->r[i].live)
			continue;
		o->r[i].live = false;
		o->r[kept++] = o->r[i];
	}
	o->n = kept;
}
