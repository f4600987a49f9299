/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The status writer: a thread beside the kubernetes source's watchers that
 * holds the Lease (k8s_lease.h) and, while it does, writes every Service's
 * status.loadBalancer.ingress to the VIP k8s_allocate() gives it (k8s_alloc.h),
 * only where the status differs: PUT services/NAME/status with the
 * resourceVersion it read; a 409 reads the Service again and retries once.
 * It never touches the read pipe's publishing: nodes serve what the
 * Services' statuses say once the watch brings the write back.
 * Conflicting or unservable requests and an exhausted pool are logged once
 * per Service and reason ("kubernetes service has no VIP") and counted.
 */
#ifndef FLB_K8S_STATUS_H
#define FLB_K8S_STATUS_H

#include <pthread.h>
#include <stdatomic.h>

#include "source.h"
#include "source_kubernetes.h"

struct metrics_buf;

struct k8s_writer {
	struct source *s;
	const struct flb_source_cfg *cfg;   /* lb_class resolved */
	const struct k8s_auth *auth;
	pthread_mutex_t *lock;              /* guards store and dirty */
	const struct k8s_store *store;
	bool *dirty;                        /* set by the read pipe on every change */
	pthread_t thread;
};

int k8s_writer_start(struct k8s_writer *w);
void k8s_writer_join(struct k8s_writer *w);

/* Counters since start, for the metrics (fluxlb_k8s_*). */
struct k8s_writer_stats {
	atomic_bool enabled;
	atomic_bool leader;
	atomic_ulong lease_acquired, lease_failures;
	atomic_ulong status_ok, status_conflict, status_failed;
	atomic_ulong vip_conflict, vip_exhausted, vip_none;
};
extern struct k8s_writer_stats k8s_writer_stats;

/* Appends the fluxlb_k8s_* families when a writer ran (metrics.c). */
void k8s_writer_metrics(struct metrics_buf *b);

#endif
