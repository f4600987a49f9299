/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The node role's plan (docs/pods.md): which flb_node_nat entries this node
 * needs, from the desired state alone, and the writes that take the table
 * from what it holds to that. Pure: no kernel, no I/O, same input same
 * output, so it is tested in tests/unit without privileges.
 */
#ifndef FLB_NODE_PLAN_H
#define FLB_NODE_PLAN_H

#include <stddef.h>

#include "config.h"
#include "flb_abi.h"

struct node_nat {
	struct flb_nat_key key;
	struct flb_nat val;
};

struct node_plan {
	struct node_nat *put;	/* entries to add or change */
	size_t n_put;
	struct flb_nat_key *del;	/* entries to remove */
	size_t n_del;
	size_t n_want;		/* entries the table holds afterwards */
};

/*
 * Every backend of every service with a port whose address is in one of
 * cfg->pods's CIDRs: (VIP, port, protocol, backend) -> the backend's port (the
 * service port when it has none of its own). Port-less VIPs and backends of
 * the other family than their VIP are left out (nothing to translate, nothing
 * a pod could answer). Sorted by key, without repeats. Returns 0 or -ENOMEM;
 * free *out with free().
 */
int node_want(const struct flb_config *cfg, struct node_nat **out, size_t *n);

/* The writes from have (what the table holds, any order) to want (sorted,
 * from node_want). Returns 0 or -ENOMEM; free with node_plan_free(). */
int node_plan(const struct node_nat *want, size_t n_want, const struct node_nat *have,
	      size_t n_have, struct node_plan *p);
void node_plan_free(struct node_plan *p);

#endif
