// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The daemon's published status (see status.h). */
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
