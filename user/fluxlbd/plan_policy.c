// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The planner's part for new-flow policies (plan.h, bpf/choose.h): per
 * service one PLAN_SET_POLICY op (the flb_policy value, and for apply the
 * service's (backend, weight) pairs and its round robin sequence), then one
 * PLAN_PRUNE_POLICY that drops what no service names any more. Pure: the
 * writer (policy_maps.c) skips writes of values the maps already hold.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "plan_ops.h"

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

uint32_t plan_rr_sequence(const uint32_t *weights, size_t n, uint32_t *out, uint32_t max)
{
	uint64_t sum = 0, scaled_sum = 0;
	uint32_t g = 0, len = 0, *w;
	int64_t *cur;

	for (size_t i = 0; i < n; i++)
		if (weights[i])
			g = gcd(weights[i], g);
	if (!g || !max)
		return 0;
	w = calloc(n + 1, sizeof(*w));
	cur = calloc(n + 1, sizeof(*cur));
	if (!w || !cur)
		goto out;
	for (size_t i = 0; i < n; i++)
		sum += weights[i] / g;
	/* Too long: scaled down to max, each weighted backend keeping >= 1. */
	for (size_t i = 0; i < n; i++) {
		uint64_t v = weights[i] / g;

		if (v && sum > max)
			v = v * max / sum ? v * max / sum : 1;
		w[i] = (uint32_t)v;
		scaled_sum += v;
	}
	/* Smooth weighted round robin (nginx): every prefix of the sequence
	 * is within one pick of each backend's share. */
	for (uint64_t k = 0; k < scaled_sum && len < max; k++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!w[i])
				continue;
			cur[i] += w[i];
			if (best == n || cur[i] > cur[best])
				best = i;
		}
		cur[best] -= (int64_t)scaled_sum;
		out[len++] = (uint32_t)best;
	}
out:
	free(w);
	free(cur);
	return len;
}

static void policy_value(const struct flb_service_cfg *svc, const struct plan_service *ps,
			 struct flb_policy *pol)
{
	const struct flb_policy_cfg *c = &svc->policy;

	memset(pol, 0, sizeof(*pol));
	pol->sched = c->sched == FLB_SCHED_CFG_RR ? FLB_SCHED_RR :
		     c->sched == FLB_SCHED_CFG_LEAST_CONN ? FLB_SCHED_LEAST_CONN : FLB_SCHED_MAGLEV;
	pol->max_nfps = c->max_nfps;
	pol->max_active = c->max_active;
	if (!pol->sched && !pol->max_nfps && !pol->max_active)
		return; /* plain Maglev: all zero */
	pol->tries = (uint8_t)(c->candidates ? c->candidates : FLB_CFG_DEFAULT_CANDIDATES);
	if (pol->tries > FLB_POL_TRIES_MAX)
		pol->tries = FLB_POL_TRIES_MAX;
	pol->rr_len = (uint16_t)ps->rr_len;
	pol->bound_pm = 1000 + c->epsilon_pm;
	pol->burst = c->max_nfps ? (c->burst ? c->burst : (c->max_nfps / 10 ?: 1)) : 0;
	if (pol->sched == FLB_SCHED_LEAST_CONN || pol->max_active)
		pol->flags |= FLB_POL_COUNT;
	for (size_t b = 0; b < ps->n_ids; b++)
		pol->weight_sum += ps->weights[b];
}

static int plan_rr(const struct flb_service_cfg *svc, struct plan_service *ps)
{
	uint32_t idx[FLB_RR_LEN];

	if (svc->policy.sched != FLB_SCHED_CFG_RR)
		return 0;
	ps->rr = calloc(FLB_RR_LEN, sizeof(*ps->rr));
	if (!ps->rr)
		return -ENOMEM;
	ps->rr_len = plan_rr_sequence(ps->weights, ps->n_ids, idx, FLB_RR_LEN);
	for (uint32_t k = 0; k < ps->rr_len; k++)
		ps->rr[k] = ps->ids[idx[k]];
	return 0;
}

int plan_policies(const struct flb_config *cfg, bool dirty, struct plan *p)
{
	struct flb_policy pol;
	struct plan_op *op;

	for (size_t s = 0; s < p->n_svc; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct plan_service *ps = &p->svc[s];
		int err;

		ps->n_ids = svc->n_backends;
		err = plan_rr(svc, ps);
		if (err)
			return err;
		policy_value(svc, ps, &pol);
		ps->pol_on = pol.sched || pol.flags || pol.max_nfps;
		if (!ps->pol_on)
			continue; /* zeroed by the prune when it had one */
		op = plan_add_op(p, PLAN_SET_POLICY);
		if (!op)
			return -ENOMEM;
		op->id = ps->vip_id;
		op->svc = s;
		op->pol = pol;
		snprintf(op->what, sizeof(op->what), "service=%s", svc->name);
	}
	if (!plan_any_policy(p) && !dirty)
		return 0; /* plain Maglev everywhere, and the maps know it */
	op = plan_add_op(p, PLAN_PRUNE_POLICY);
	return op ? 0 : -ENOMEM;
}

bool plan_any_policy(const struct plan *p)
{
	for (size_t s = 0; s < p->n_svc; s++)
		if (p->svc[s].pol_on)
			return true;
	return false;
}
