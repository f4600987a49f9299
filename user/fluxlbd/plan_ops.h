/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Private to the planner (plan.c, plan_state.c): building the list of ops. */
#ifndef FLB_PLAN_OPS_H
#define FLB_PLAN_OPS_H

#include "log.h"
#include "plan.h"

/* A new op of kind at the end of p->ops, zeroed; NULL on ENOMEM. */
struct plan_op *plan_add_op(struct plan *p, enum plan_op_kind kind);
/* The log line op stands for, printed by apply.c once the write is done. */
void plan_note(struct plan_op *op, enum log_level level, const char *msg, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
