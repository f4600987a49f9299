// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Performs a plan's map writes in order (see apply.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "policy_maps.h"

/* The failure's log line of each kind; with_err: the line names the error
 * (the texts are those the reconciler has always logged). */
static const struct {
	const char *msg;
	bool with_err;
} failure[] = {
	[PLAN_SET_BACKEND] = { "cannot write backend", true },
	[PLAN_SET_RING] = { "cannot swap in Maglev table", true },
	[PLAN_SET_VIP] = { "cannot write VIP", true },
	[PLAN_SET_VIP_ADDR] = { "cannot write fragment VIP", false },
	[PLAN_DEL_VIP] = { "cannot remove VIP", false },
	[PLAN_DEL_RING] = { "cannot remove VIP", false },
	[PLAN_PRUNE_VIP_ADDRS] = { "cannot remove VIP", false },
	[PLAN_SET_CTL] = { "cannot write the ctl map", true },
	[PLAN_SET_POLICY] = { "cannot write the new-flow policy", true },
	[PLAN_PRUNE_POLICY] = { "cannot prune the new-flow policy maps", true },
};

/* What the plan's policies keep: the pairs and VIP ids of services with a
 * policy (policy_maps.h). */
static int apply_prune_policy(struct flb_maps *m, const struct plan *p)
{
	bool *on = calloc(FLB_MAX_VIPS, sizeof(*on));
	struct flb_pair *keep;
	size_t n = 0, cap = 1;
	int err;

	for (size_t s = 0; s < p->n_svc; s++)
		cap += p->svc[s].pol_on ? p->svc[s].n_ids : 0;
	keep = calloc(cap, sizeof(*keep));
	if (!on || !keep) {
		free(on);
		free(keep);
		return -ENOMEM;
	}
	for (size_t s = 0; s < p->n_svc; s++) {
		if (!p->svc[s].pol_on || p->svc[s].vip_id >= FLB_MAX_VIPS)
			continue;
		on[p->svc[s].vip_id] = true;
		for (size_t b = 0; b < p->svc[s].n_ids; b++)
			keep[n++] = (struct flb_pair){ .vip = p->svc[s].vip_id,
						       .backend = p->svc[s].ids[b] };
	}
	err = policy_prune(m, keep, n, on);
	free(on);
	free(keep);
	return err;
}

static int do_op(struct flb_maps *m, const struct plan *p, const struct plan_op *op)
{
	const struct plan_table *t;

	switch (op->kind) {
	case PLAN_NOTE:
		return 0;
	case PLAN_SET_BACKEND:
		return maps_set_backend(m, op->id, &op->be);
	case PLAN_SET_RING:
		t = &p->svc[op->svc].table;
		return maps_set_ring(m, op->id, t->slots, t->size);
	case PLAN_SET_VIP:
		return maps_set_vip(m, &op->key, &op->vip);
	case PLAN_SET_VIP_ADDR:
		return maps_set_vip_addr(m, &op->addr, op->id);
	case PLAN_DEL_VIP:
		return maps_del_vip(m, &op->key);
	case PLAN_DEL_RING:
		return maps_del_ring(m, op->id);
	case PLAN_PRUNE_VIP_ADDRS:
		return maps_prune_vip_addrs(m, p->vip_ids, p->n_svc);
	case PLAN_SET_CTL:
		return maps_set_ctl(m, &op->ctl);
	case PLAN_SET_POLICY:
		return policy_set(m, op->id, &op->pol, p->svc[op->svc].ids, p->svc[op->svc].weights,
				  p->svc[op->svc].n_ids, p->svc[op->svc].rr, p->svc[op->svc].rr_len);
	case PLAN_PRUNE_POLICY:
		return apply_prune_policy(m, p);
	}
	return -EINVAL;
}

/* A run of consecutive SET_RING or DEL_RING ops from ops[i] done as one
 * batch (pinned_maps.h says why); returns how many ops it covers, *ok how
 * many of them were written before an error (*err). */
static size_t do_run(struct flb_maps *m, const struct plan *p, size_t i, size_t *ok, int *err)
{
	enum plan_op_kind kind = p->ops[i].kind;
	const uint32_t **ids;
	uint32_t *vip_ids, *sizes;
	size_t n = 0;

	while (i + n < p->n_ops && p->ops[i + n].kind == kind)
		n++;
	*ok = 0;
	vip_ids = calloc(n, sizeof(*vip_ids));
	sizes = calloc(n, sizeof(*sizes));
	ids = calloc(n, sizeof(*ids));
	if (!vip_ids || !sizes || !ids) {
		*err = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		const struct plan_op *op = &p->ops[i + k];

		vip_ids[k] = op->id;
		if (kind == PLAN_SET_RING) {
			ids[k] = p->svc[op->svc].table.slots;
			sizes[k] = p->svc[op->svc].table.size;
		}
	}
	*err = kind == PLAN_SET_RING ? maps_set_rings(m, n, vip_ids, ids, sizes, ok) :
				       maps_del_rings(m, n, vip_ids, ok);
out:
	free(vip_ids);
	free(sizes);
	free(ids);
	return n;
}

int apply_plan(struct flb_maps *m, const struct plan *p, size_t *done)
{
	size_t i = 0, n, ok;
	int err = 0;

	while (i < p->n_ops) {
		const struct plan_op *op = &p->ops[i];

		if (op->kind == PLAN_SET_RING || op->kind == PLAN_DEL_RING) {
			n = do_run(m, p, i, &ok, &err);
		} else {
			err = do_op(m, p, op);
			n = 1;
			ok = !err;
		}
		if (!err && ok != n)
			err = -EIO; /* a batch that stopped short without saying why */
		for (size_t k = 0; k < ok; k++)
			if (p->ops[i + k].note.msg)
				log_msg(p->ops[i + k].note.level, p->ops[i + k].note.msg, "%s",
					p->ops[i + k].note.fields);
		i += ok;
		if (err) {
			op = &p->ops[i < p->n_ops ? i : p->n_ops - 1];
			if (failure[op->kind].with_err)
				log_error(failure[op->kind].msg, "%s err=\"%s\"", op->what,
					  strerror(-err));
			else
				log_error(failure[op->kind].msg, "%s", op->what);
			break;
		}
	}
	if (done)
		*done = i;
	return err;
}
