// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Performs a plan's map writes in order (see apply.h). */
#include <errno.h>
#include <string.h>

#include "apply.h"
#include "log.h"

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
};

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
		return maps_prune_vip_addrs(m, op->id, p->vip_ids, p->n_svc);
	case PLAN_SET_CTL:
		return maps_set_ctl(m, &op->ctl);
	}
	return -EINVAL;
}

int apply_plan(struct flb_maps *m, const struct plan *p, size_t *done)
{
	size_t i;
	int err = 0;

	for (i = 0; i < p->n_ops; i++) {
		const struct plan_op *op = &p->ops[i];

		err = do_op(m, p, op);
		if (err) {
			if (failure[op->kind].with_err)
				log_error(failure[op->kind].msg, "%s err=\"%s\"", op->what,
					  strerror(-err));
			else
				log_error(failure[op->kind].msg, "%s", op->what);
			break;
		}
		if (op->note.msg)
			log_msg(op->note.level, op->note.msg, "%s", op->note.fields);
	}
	if (done)
		*done = i;
	return err;
}
