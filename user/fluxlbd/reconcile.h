/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Desired state -> maps: the glue of the pipe. A run reads what it needs
 * from the maps (flb_backends once, then only the VIP list: the reconciler
 * is the only writer, so it keeps a mirror), asks the planner (plan.h) for
 * the decisions and the ordered writes, has apply.c perform them, commits
 * what was written into its mirror, drain starts and table cache, and
 * writes the status rows of the new state. Ids already in the maps are
 * adopted (same address: same id and generation), so a restarted daemon
 * keeps every conntrack entry valid. Backend states: see plan.h.
 */
#ifndef FLB_RECONCILE_H
#define FLB_RECONCILE_H

#include <stdint.h>

#include "config.h"
#include "pinned_maps.h"
#include "plan.h"
#include "status.h"

struct reconciler;

/* st may be NULL (tests): the status (the daemon's private draft, see
 * status.h) the reconciler writes its rows and flow counts to. */
struct reconciler *reconciler_new(struct flb_maps *m, struct flb_status *st);
void reconciler_free(struct reconciler *r);
/* Drain starts are saved in ps (persist.h) and adopted from it at the
 * first run, so a drain keeps its deadline across a restart. ps may be NULL. */
struct persist;
void reconciler_set_persist(struct reconciler *r, struct persist *ps);

/* Plans cfg (its backends' down and check_down say their health) and
 * performs the writes. On error nothing already serving is removed;
 * returns -errno with the reason logged. */
int reconciler_apply(struct reconciler *r, const struct flb_config *cfg,
		     struct reconcile_report *rep);

/* Reads the maps back and compares them with what this reconciler wrote
 * (flb_backends, the VIP entries, the Maglev tables): a difference (an
 * edit with bpftool, another process) is logged, map and id, with what the
 * map holds and what was written, and taken as what the maps hold, so the
 * next reconciler_apply() writes the desired state over it. Nothing to do
 * before the first apply (that reads everything). Returns how many
 * differences were found, or -errno. */
int reconciler_resync(struct reconciler *r);

/* Drain bookkeeping, to call every second or so: counts the flows of the
 * draining backends and frees those with none left or past the timeout.
 * Returns how many were freed, or -errno. */
int reconciler_drain_tick(struct reconciler *r, uint32_t drain_timeout_ms);

/* One-shot form for tests and tools: a fresh reconciler, apply, free. */
int reconcile(struct flb_maps *m, const struct flb_config *cfg, struct reconcile_report *rep);

#endif
