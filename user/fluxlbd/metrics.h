/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Prometheus renderer: a pure function from a snapshot (counters read
 * from the maps plus a copy of the daemon's status) to the text exposition
 * format 0.0.4. No I/O, no clock, no lock: the exporter collects snapshots,
 * tests build them by hand. Every family, its labels and their cardinality
 * are listed in docs/observability.md ("Metrics"); keep the two in step.
 */
#ifndef FLB_METRICS_H
#define FLB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "proc_stats.h"
#include "status.h"
#include "vip_name.h"
#include "xdp_query.h"


/* A growable text buffer. Appends after a failed allocation are dropped
 * and remembered in failed, so callers check once at the end. */
struct metrics_buf {
	char *data;   /* NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	bool failed;
	const char *node;  /* set by metrics_render: a node label on every sample */
};

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void metrics_buf_free(struct metrics_buf *b);

/* One VIP as the maps hold it (flb_vips, flb_vip_stats). */
struct metrics_vip {
	char vip[VIP_NAME_STRLEN];    /* vip_name() of its key */
	uint32_t id;
	struct flb_traffic traffic;
};

/* One backend id in use (flb_backends state != unused, flb_be_stats). */
struct metrics_backend {
	char address[48];             /* "10.10.2.11" or "fd00::1" */
	uint32_t id;
	uint32_t gen;
	uint8_t state;                /* FLB_BE_* */
	struct flb_traffic traffic;
};

/* Fill of an LRU table (maps_fill()): entries against max_entries. */
struct metrics_fill {
	const char *map;              /* "flb_conntrack", "flb_frags" */
	uint64_t entries;
	uint32_t capacity;
};

/* The XDP hook of an interface the daemon attached to (xdp_query.h). */
#define metrics_iface xdp_iface_state

struct metrics_snapshot {
	bool maps_ok;                 /* the pinned maps were read: the map families follow */
	uint64_t reasons[FLB_R_MAX];
	uint64_t events[FLB_E_MAX];
	/* Flood defence (flb_ctl, flb_flood): the per-CPU threshold the
	 * dataplane applies (0: off), the node-wide one it came from, CPUs in
	 * flood mode now, new flows in the CPUs' current windows. */
	uint32_t flood_nfps_cpu;
	uint32_t flood_nfps_node;
	uint32_t flood_cpus;
	uint64_t flood_window_flows;
	const struct metrics_vip *vips;
	size_t n_vips;
	const struct metrics_backend *backends;
	size_t n_backends;
	const struct metrics_fill *fill;      /* with maps_ok */
	size_t n_fill;
	const struct metrics_iface *ifaces;
	size_t n_ifaces;
	/* The value of a "node" label on every sample; NULL or "": none. */
	const char *node;
	/* A copy of the daemon's status (its lock is never touched); NULL: no
	 * status families. */
	const struct flb_status *st;
	/* This process (process_* families); NULL: none. */
	const struct proc_stats *proc;
};

/* Appends the whole exposition to out. Returns 0, or -ENOMEM (out then
 * holds a truncated text the caller must not serve). */
int metrics_render(const struct metrics_snapshot *s, struct metrics_buf *out);

#endif
