// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The daemon's published status (see status.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

const double flb_reconcile_bounds[FLB_RECONCILE_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

void status_init(struct flb_status *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
}

void status_destroy(struct flb_status *st)
{
	free(st->vips);
	free(st->backends);
	pthread_mutex_destroy(&st->lock);
	memset(st, 0, sizeof(*st));
}

void status_observe_reconcile(struct flb_status *st, double seconds)
{
	for (int i = 0; i < FLB_RECONCILE_BUCKETS; i++)
		if (seconds <= flb_reconcile_bounds[i])
			st->reconcile_buckets[i]++;
	st->reconcile_count++;
	st->reconcile_sum_s += seconds;
}

void status_set_rows(struct flb_status *st, struct flb_status_vip *vips, size_t n_vips,
		     struct flb_status_backend *bes, size_t n_bes)
{
	pthread_mutex_lock(&st->lock);
	/* Keep what the health checker and the drain counter know. */
	for (size_t i = 0; i < n_bes; i++)
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
	st->n_vips = n_vips;
	st->backends = bes;
	st->n_backends = n_bes;
	pthread_mutex_unlock(&st->lock);
}

void status_set_flows(struct flb_status *st, uint32_t id, long flows)
{
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->n_backends; i++)
		if (st->backends[i].backend_id == id)
			st->backends[i].flows = flows;
	pthread_mutex_unlock(&st->lock);
}

_Static_assert(offsetof(struct flb_status, lock) == 0, "status_publish copies what follows lock");

int status_publish(struct flb_status *dst, const struct flb_status *src)
{
	const size_t off = sizeof(dst->lock);
	struct flb_status_vip *vips = calloc(src->n_vips + 1, sizeof(*vips));
	struct flb_status_backend *bes = calloc(src->n_backends + 1, sizeof(*bes));

	if (!vips || !bes) {
		free(vips);
		free(bes);
		return -ENOMEM;
	}
	if (src->n_vips)
		memcpy(vips, src->vips, src->n_vips * sizeof(*vips));
	if (src->n_backends)
		memcpy(bes, src->backends, src->n_backends * sizeof(*bes));
	pthread_mutex_lock(&dst->lock);
	free(dst->vips);
	free(dst->backends);
	/* Every field after the lock, so a field added to status.h is published too. */
	memcpy((char *)dst + off, (const char *)src + off, sizeof(*dst) - off);
	dst->vips = vips;
	dst->backends = bes;
	pthread_mutex_unlock(&dst->lock);
	return 0;
}
