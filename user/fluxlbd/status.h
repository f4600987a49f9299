/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the daemon knows beyond the maps, published for the exporter and
 * logs: reload outcomes, reconcile timings, per-VIP table facts and
 * per-backend state and health. One writer: the daemon's main thread keeps
 * a private draft that the reconciler, the health checker and the drain
 * counter fill, and status_publish() copies the draft into the status the
 * exporter's thread reads, under that status's lock. Counters here are
 * monotonic for the life of the process; the dataplane's own counters live
 * in the maps and survive restarts.
 */
#ifndef FLB_STATUS_H
#define FLB_STATUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reconcile duration histogram buckets, seconds (Prometheus "le"). */
#define FLB_RECONCILE_BUCKETS 12
extern const double flb_reconcile_bounds[FLB_RECONCILE_BUCKETS];

enum flb_be_health {
	FLB_HEALTH_UNKNOWN = 0, /* no check configured, or none finished yet */
	FLB_HEALTH_UP,
	FLB_HEALTH_DOWN,
};

enum flb_be_admin {
	FLB_ADMIN_ACTIVE = 0, /* in the table */
	FLB_ADMIN_DRAINING,   /* weight 0 or removed: no new flows, existing ones kept */
	FLB_ADMIN_DOWN,       /* failed its health check: out of the table */
};

struct flb_status_backend {
	char service[64];
	char address[48];       /* "10.10.2.11" or "fd00::1" */
	uint32_t backend_id;    /* index in flb_backends */
	uint32_t weight;        /* configured weight */
	enum flb_be_admin admin;
	enum flb_be_health health;
	uint64_t checks_ok, checks_failed; /* health-check results so far */
	uint64_t drain_started_ns;         /* CLOCK_MONOTONIC; 0 when not draining */
	long flows;             /* conntrack entries at the last count; -1 unknown */
	uint32_t effective_weight; /* the weight in the table (health, panic, load) */
	uint64_t load_bad_reports; /* load_weights bodies that could not be read */
};

struct flb_status_vip {
	char service[64];
	char vip[64];           /* "10.100.0.1:80/tcp" or "[fd00::1]:80/tcp" */
	uint32_t vip_id;
	uint32_t table_size;
	uint64_t fingerprint;   /* maglev_fingerprint of the current table */
	uint64_t rebuilds;      /* tables built and swapped in for this VIP */
	uint32_t last_changed;  /* slots changed by the last rebuild */
	uint32_t last_excess;   /* of those, moves between surviving backends */
	uint64_t excess_total;  /* sum of last_excess over all rebuilds */
	bool panic;             /* too few healthy backends: routing to all */
	bool announced;         /* its address is announced (announce.h) */
	uint64_t load_changes;  /* load_weights level changes (each rebuilds the table) */
};

struct flb_status {
	pthread_mutex_t lock;   /* first: status_publish() copies what follows it */
	bool ready;             /* maps filled, program attached */
	uint64_t reloads_ok, reloads_rejected;
	bool last_reload_ok;    /* the last load of the configuration was applied */
	double last_reload_success_s; /* wall-clock seconds of the last applied load; 0: none */
	uint64_t reconcile_buckets[FLB_RECONCILE_BUCKETS]; /* cumulative counts */
	uint64_t reconcile_count;
	double reconcile_sum_s;
	struct flb_status_vip *vips;
	size_t n_vips;
	struct flb_status_backend *backends;
	size_t n_backends;
	bool has_source;        /* a registry source is configured */
	bool source_up;         /* the registry answered the last attempt */
	uint64_t source_updates;/* views taken from the registry */
	bool announce_on;       /* the announce section is configured */
	uint32_t vips_announced;/* VIP routes in the announce table now */
	uint64_t announces, withdraws, announce_errors; /* route adds, deletes, failures */
};

void status_init(struct flb_status *st);
void status_destroy(struct flb_status *st);
/* Records one reconcile of the given duration (caller holds the lock when
 * another thread may read st). */
void status_observe_reconcile(struct flb_status *st, double seconds);
/* Replaces the VIP and backend rows with vips and bes (taking them over),
 * keeping what the health checker and the drain counter know of the rows
 * with the same service and address. Takes st's lock. */
void status_set_rows(struct flb_status *st, struct flb_status_vip *vips, size_t n_vips,
		     struct flb_status_backend *bes, size_t n_bes);
/* Records the flow count of backend id on its rows. Takes st's lock. */
void status_set_flows(struct flb_status *st, uint32_t id, long flows);
/* Copies everything in src into dst, under dst's lock. Returns 0, or
 * -ENOMEM with dst unchanged. */
int status_publish(struct flb_status *dst, const struct flb_status *src);

#endif
