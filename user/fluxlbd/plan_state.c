// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The planner's state between runs (see plan.h): what a plan's writes,
 * once done, leave in it (plan_commit: the mirror, drain starts, the table
 * cache, the configured ids), and when a drain is over (plan_drain). Pure,
 * like plan.c: the clock and the flow counts come in as arguments.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_ops.h"

int plan_drain(const struct plan_state *st, const long *flows, uint64_t now_ns,
	       uint32_t timeout_ms, struct plan *p)
{
	memset(p, 0, sizeof(*p));
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct plan_op *op;
		uint64_t age_ms;

		if (!st->drain_start[id])
			continue;
		age_ms = (now_ns - st->drain_start[id]) / 1000000;
		if (flows[id] && age_ms < timeout_ms)
			continue;
		op = plan_add_op(p, PLAN_SET_BACKEND);
		if (!op)
			return -ENOMEM;
		op->id = id;
		op->be = st->be[id];
		/* Still configured (weight 0): DOWN keeps the id; else free it. */
		op->be.state = st->configured[id] ? FLB_BE_DOWN : FLB_BE_UNUSED;
		snprintf(op->what, sizeof(op->what), "id=%u", id);
		plan_note(op, LOG_INFO,
		     flows[id] ? "drain timed out; remaining flows are re-steered" : "backend drained",
		     "id=%u flows=%ld after_ms=%llu state=%s", id, flows[id],
		     (unsigned long long)age_ms, st->configured[id] ? "down" : "freed");
		p->rep.backends_retired++;
	}
	return 0;
}

static void commit_ring(struct plan_state *st, struct plan_service *ps)
{
	struct table_entry *e = tables_get(&st->tables, &ps->key);
	struct plan_table *t = &ps->table;

	if (!e)
		return; /* uncached: the next run swaps it in again */
	free(e->ids);
	e->ids = t->slots;
	t->slots = NULL;
	free(e->inputs);
	e->inputs = t->inputs;
	e->inputs_len = t->inputs_len;
	t->inputs = NULL;
	e->size = t->size;
	e->fingerprint = t->fingerprint;
	e->rebuilds++;
	e->last_changed = t->changed;
	e->last_excess = t->excess;
	e->excess_total += t->excess;
}

static bool t_built_unswapped(const struct plan_table *t)
{
	return t->inputs && !t->reused && !t->swap;
}

void plan_commit(struct plan_state *st, struct plan *p, size_t done, uint64_t now_ns)
{
	for (size_t i = 0; i < done && i < p->n_ops; i++) {
		const struct plan_op *op = &p->ops[i];

		switch (op->kind) {
		case PLAN_SET_BACKEND:
			if (op->be.state == FLB_BE_DRAINING &&
			    st->be[op->id].state != FLB_BE_DRAINING)
				st->drain_start[op->id] = now_ns;
			else if (op->be.state != FLB_BE_DRAINING)
				st->drain_start[op->id] = 0;
			st->be[op->id] = op->be;
			break;
		case PLAN_SET_RING:
			commit_ring(st, &p->svc[op->svc]);
			break;
		case PLAN_DEL_RING:
			tables_forget(&st->tables, &op->key);
			break;
		case PLAN_PRUNE_POLICY:
			st->policy_dirty = plan_any_policy(p);
			break;
		default:
			break;
		}
	}
	/* Panic and VIP id are the cache's from the service's first op on
	 * (a table unchanged is not written, but its panic may change). */
	for (size_t s = 0; s < p->n_svc; s++) {
		struct table_entry *e;

		if (p->svc[s].first_op >= done)
			continue;
		e = tables_get(&st->tables, &p->svc[s].key);
		if (!e)
			continue;
		e->vip_id = p->svc[s].vip_id;
		e->panic = p->svc[s].panic;
		/* Built equal to the cached table (not swapped): the cached
		 * table has these inputs too, so the next run reuses it. */
		if (t_built_unswapped(&p->svc[s].table) && e->ids) {
			free(e->inputs);
			e->inputs = p->svc[s].table.inputs;
			e->inputs_len = p->svc[s].table.inputs_len;
			p->svc[s].table.inputs = NULL;
		}
	}
	if (p->configured && done == p->n_ops)
		memcpy(st->configured, p->configured, sizeof(st->configured));
}
