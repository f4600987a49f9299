/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The planner: a pure function from the desired state (a configuration
 * whose backends carry their health), what the maps hold (the mirror of
 * flb_backends, the VIPs) and the last table of each VIP, to everything a
 * reconcile decides: backend ids and generations, effective weights and
 * panic per service, the state of every id, the new Maglev tables with
 * their disruption figures, the report, and the ordered list of map writes.
 * The order never leaves the datapath without a table: backends that start
 * serving first, then the tables (each a new inner map swapped in whole),
 * then the VIP entries (so a VIP's table is in before its entry), then the
 * fragment VIPs; removals after the new state serves (every removed VIP's
 * entry, then their tables, then their fragment entries); the other
 * backend states; the ctl map with ready=1 last. Consecutive table writes
 * of one kind may be done as one batch (apply.c).
 *
 * Incremental: a service whose table inputs (tables.h) are those of its
 * cached table reuses it (no build, no write), and a VIP entry equal to
 * the one in the map is not written again, so the cost of a run follows
 * what changed, not the size of the configuration. No map
 * access, no clock, no logging: the log lines a write stands for travel
 * with it (plan_op.note) and apply.c prints them once the write is done.
 *
 * Backend ids are per address (the datapath only needs the address to
 * encapsulate), shared by every service that names it; health is per
 * service (a backend of one service may be down while the same address
 * serves another), so an unhealthy backend leaves that service's table
 * only (weight 0 there: no new flows of that service). States (per id):
 * ACTIVE when some service gives it slots, or when it is unhealthy in a
 * service with on_unhealthy: drain (the default: its established flows
 * stay); DOWN when it is unhealthy with on_unhealthy: reset (its flows
 * are re-steered; as the state is the address's, only when no service
 * keeps it ACTIVE); DRAINING when it has weight 0 or left
 * the configuration: no new flows, existing flows continue until none is
 * left or the drain timeout passes (plan_drain), then the id is freed
 * (UNUSED, generation kept so the next owner gets a new one).
 */
#ifndef FLB_PLAN_H
#define FLB_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "flb_abi.h"
#include "log.h"
#include "tables.h"

struct reconcile_report {
	uint32_t vips;          /* VIPs in the maps after the run */
	uint32_t backends;      /* backend ids in use after the run */
	uint32_t tables_built;  /* Maglev tables built and swapped in */
	uint32_t vips_removed;
	uint32_t backends_draining;
	uint32_t backends_retired; /* drained (or timed out) and freed */
};

/* What the reconciler keeps between runs: the planner reads it, and
 * plan_commit() records in it the writes that were done. */
struct plan_state {
	struct flb_backend be[FLB_MAX_BACKENDS]; /* flb_backends as the maps hold it */
	uint64_t drain_start[FLB_MAX_BACKENDS];  /* per id, clock_ns(); 0: not draining */
	bool configured[FLB_MAX_BACKENDS];       /* named by the last applied configuration */
	struct table_cache tables;               /* the last table of each VIP */
	bool policy_dirty;                       /* the policy maps may hold what no service
						  * has (true at start): prune them */
};

struct plan_input {
	const struct flb_config *cfg;        /* desired state; backends carry down/check_down */
	const struct plan_state *state;
	const struct flb_vip_key *old_keys;  /* the VIPs in the maps */
	const struct flb_vip *old_vips;      /* ...with the ids the planner adopts */
	const struct flb_vip *map_vips;      /* the values the map holds, when they differ
					      * from old_vips (NULL: the same): a VIP entry
					      * is written unless the map holds it already */
	size_t n_old;
	uint32_t ncpus;                      /* online CPUs: the flood threshold is per CPU
					      * in the dataplane (0: taken as 1) */
};

/* The per-CPU share of a node-wide flood threshold (0 = off stays 0):
 * rounded up, so a small threshold never turns into off. */
uint32_t plan_flood_per_cpu(uint32_t node_nfps, uint32_t ncpus);

enum plan_op_kind {
	PLAN_NOTE = 0,          /* no write: a log line at this point of the sequence */
	PLAN_SET_BACKEND,       /* id, be */
	PLAN_SET_RING,          /* id (VIP id), svc: its table */
	PLAN_SET_VIP,           /* key, vip */
	PLAN_SET_VIP_ADDR,      /* addr, id (VIP id) */
	PLAN_DEL_VIP,           /* key */
	PLAN_DEL_RING,          /* id (VIP id), key: the VIP removed */
	PLAN_PRUNE_VIP_ADDRS,   /* once: fragment entries of any VIP id not in vip_ids go */
	PLAN_SET_CTL,           /* ctl */
	PLAN_SET_POLICY,        /* id (VIP id), svc, pol: policy, pairs, rr sequence (plan_policy.c) */
	PLAN_PRUNE_POLICY,      /* once: pairs and policies of VIPs and backends not in the plan */
};

/* A log line; msg NULL: none. */
struct plan_note {
	enum log_level level;
	const char *msg;
	char fields[256];
};

struct plan_op {
	enum plan_op_kind kind;
	uint32_t id;
	size_t svc;                /* index of the service (ring) */
	struct flb_backend be;
	struct flb_vip_key key;
	struct flb_vip vip;
	struct flb_vip_addr addr;
	struct flb_ctl ctl;
	struct flb_policy pol;
	char what[96];             /* key=value naming the subject, for the failure's log line */
	struct plan_note note;     /* logged once the write is done */
};

struct plan_table {
	uint32_t *slots;           /* backend id per slot; owned by the plan until committed */
	uint32_t size;
	uint64_t fingerprint;
	bool swap;                 /* differs from the cached table: written */
	bool reused;               /* inputs unchanged: the cached table, not rebuilt (slots NULL) */
	uint8_t *inputs;           /* tables_inputs(); moves into the cache on commit */
	size_t inputs_len;
	uint32_t changed, excess;  /* against the cached table, when swapped */
};

struct plan_service {
	struct flb_vip_key key;
	uint32_t vip_id;
	uint32_t *ids;             /* backend id per backend of the service */
	uint32_t *weights;         /* effective weights (health, panic) */
	bool panic;
	struct plan_table table;
	size_t first_op;           /* index in ops[] from which this service's ops come */
	size_t n_ids;              /* backends of the service (ids, weights) */
	bool pol_on;               /* a policy other than plain Maglev (pairs are kept) */
	uint32_t *rr;              /* round_robin: the sequence (rr_len ids); else NULL */
	uint32_t rr_len;
};

/* A plan state beyond FLB_BE_*: write the id as UNUSED (0 means "not named"). */
#define PLAN_FREE 0xff

struct plan {
	struct plan_service *svc;  /* per service of the configuration */
	size_t n_svc;
	uint32_t *vip_ids;         /* svc[s].vip_id for every s: the VIP ids that stay */
	uint8_t *state;            /* [FLB_MAX_BACKENDS] desired FLB_BE_* or PLAN_FREE; 0: not named */
	struct flb_backend *be;    /* [FLB_MAX_BACKENDS] flb_backends once every op is done */
	bool *configured;          /* [FLB_MAX_BACKENDS] named by some service of the plan */
	struct plan_op *ops;
	size_t n_ops, cap_ops;
	struct reconcile_report rep; /* as it will be once every op is done */
	/* Why the plan was refused (plan_make returned an error other than -ENOMEM). */
	const char *err_msg;
	char err_fields[256];
};

/* Fills out (zeroed first) from in. Returns 0, -EOPNOTSUPP (what the
 * dataplane cannot serve), -ENOSPC (no free backend or VIP id), -ENOMEM or
 * another -errno from the table builder; for all but -ENOMEM err_msg and
 * err_fields say why. Free out with plan_free() in every case. */
int plan_make(const struct plan_input *in, struct plan *out);
void plan_free(struct plan *p);

/* Records in st what the first done ops of p wrote (all of them after a
 * successful apply, so st says what the maps hold even after a failure):
 * the mirror, the drain starts (now_ns for an id that starts draining),
 * the table cache (p's tables move into it) and, once every op of a
 * plan_make() plan is done, the configured ids. */
void plan_commit(struct plan_state *st, struct plan *p, size_t done, uint64_t now_ns);

/* Drain decision, on the flow counts of the draining ids (flows[id]; ids
 * with st->drain_start[id] == 0 are not draining): every draining id with
 * no flow left, or draining for timeout_ms or more (now on the clock of
 * drain_start, ns), is set DOWN when still configured (weight 0: keeps its
 * id) and UNUSED otherwise (id freed, generation kept). out gets one
 * PLAN_SET_BACKEND per id, in id order. Returns 0 or -ENOMEM. */
int plan_drain(const struct plan_state *st, const long *flows, uint64_t now_ns,
	       uint32_t timeout_ms, struct plan *out);

/* The policy ops of every service (plan_policy.c): called between the
 * backend writes that raise and the VIP writes. Only services with a
 * policy get ops; the prune op comes when some has one or dirty. */
int plan_policies(const struct flb_config *cfg, bool dirty, struct plan *p);
/* Smooth weighted round robin over weights[0..n) (0: left out), scaled so
 * the sequence has at most max elements: out[] gets indexes into weights;
 * returns the length (0: no weight). */
/* Some service of p has a policy other than plain Maglev. */
bool plan_any_policy(const struct plan *p);
uint32_t plan_rr_sequence(const uint32_t *weights, size_t n, uint32_t *out, uint32_t max);

/* The VIP key of a service as the datapath looks it up. */
void plan_vip_key(const struct flb_service_cfg *svc, struct flb_vip_key *key);

#endif
