// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fluxlb which`'s policy part (docs/policies.md, bpf/choose.h): for a VIP
 * with a scheduler other than Maglev or with caps, the candidates a new
 * flow of this 5-tuple would try, with each one's active flows, bound and
 * caps, and the one that would take it now, e.g.
 *
 *	policy:     least_conn epsilon=0.25 candidates=4 caps: -
 *	  maglev slot 4711 -> 10.10.2.11 active=100 bound=42 over its bound
 *	  slot 4712 -> 10.10.2.12 active=3 bound=42 -> a new flow goes here
 *
 * Round robin's next backend depends on which CPU takes the SYN: the
 * explanation shows every CPU's cursor and the backend it names. The
 * counts are read at one instant; the dataplane's may move meanwhile.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli_common.h"
#include "cli_explain.h"
#include "cli_out.h"
#include "clock.h"
#include "policy_maps.h"

#define NS_PER_S 1000000000ULL

static const char *sched_name(uint8_t s)
{
	return s == FLB_SCHED_RR ? "round_robin" : s == FLB_SCHED_LEAST_CONN ? "least_conn" :
									   "maglev";
}

static void print_addr(const char *key, const char *fmt, const struct flb_backend *bes,
		       uint32_t id)
{
	char a[48];
	bool known = id && id < FLB_MAX_BACKENDS && bes[id].family;

	if (known)
		cli_addr(bes[id].addr, bes[id].family, a, sizeof(a));
	cli_str(key, fmt, known ? a : NULL);
}

/* One candidate: its numbers and verdict, as choose_check() decides. */
static int candidate(const struct flb_maps *m, const struct flb_policy *pol, uint32_t vip,
		     uint32_t id, int64_t total, const struct flb_backend *bes, uint64_t now)
{
	struct flb_pol_be pb;
	struct flb_be_load ld;
	bool have = !policy_pair(m, vip, id, &pb, &ld);
	int64_t act = have ? (int64_t)ld.active + (int64_t)pb.adjust : 0;
	const char *why = NULL;
	double bound = 0;

	if (act < 0)
		act = 0;
	print_addr("backend", "%s", bes, id);
	cli_u64("backend_id", " (id %llu)", id);
	if (id >= FLB_MAX_BACKENDS || bes[id].state != FLB_BE_ACTIVE)
		why = "not active";
	if (pol->flags & FLB_POL_COUNT)
		cli_i64("active", " active=%lld", act);
	if (!why && pol->max_active && act >= pol->max_active)
		why = "over max_active_flows";
	if (pol->sched == FLB_SCHED_LEAST_CONN && pol->weight_sum && have) {
		bound = pol->bound_pm / 1000.0 * (double)(total + 1) * pb.weight / pol->weight_sum;
		cli_dbl("bound", " bound=%.1f", bound);
		if (!why && (double)act >= bound)
			why = "over its bound";
	}
	if (pol->max_nfps && have) {
		uint64_t t = NS_PER_S / pol->max_nfps, tau = (pol->burst > 1 ? pol->burst - 1 : 0) * t;
		uint64_t tat = ld.tat < now ? now : ld.tat;
		bool token = tat - now <= tau;

		cli_bool("token", " token=%s", token);
		if (!why && !token)
			why = "over max_new_flows_per_second";
	}
	cli_str("verdict", " %s\n", why ? why : "-> a new flow goes here");
	return why ? (strcmp(why, "over its bound") ? 2 : 1) : 0;
}

static void explain_rr(const struct flb_maps *m, const struct flb_policy *pol, uint32_t vip,
		       const struct flb_backend *bes)
{
	int ncpus = libbpf_num_possible_cpus(), fd = maps_fd(m, "flb_rr_pos");
	uint32_t *pos = ncpus > 0 ? calloc((size_t)ncpus, sizeof(*pos)) : NULL;

	cli_text("  (per-CPU cursor: the next backend depends on the CPU that takes the SYN; "
		 "not predictable)\n");
	cli_arr_open("cpus");
	if (pos && pol->rr_len && !bpf_map_lookup_elem(fd, &vip, pos)) {
		for (int c = 0; c < ncpus; c++) {
			uint32_t id = 0;

			policy_rr_seq(m, vip, pos[c] % pol->rr_len, &id);
			cli_obj_open(NULL);
			cli_u64("cpu", "  cpu %llu:", (uint64_t)c);
			cli_u64("slot", " sequence slot %llu", pos[c] % pol->rr_len);
			cli_u64("of", " of %llu -> ", pol->rr_len);
			print_addr("backend", "%s\n", bes, id);
			cli_obj_close();
		}
	}
	cli_arr_close();
	free(pos);
}

void cli_explain_policy(const struct flb_maps *m, uint32_t vip, const uint32_t *ids,
			uint32_t size, uint32_t slot, const struct flb_backend *bes)
{
	struct flb_policy pol;
	uint32_t seen[FLB_POL_TRIES_MAX], n = 0, chosen = 0;
	int64_t total;
	uint64_t now = clock_ns();

	if (policy_get(m, vip, &pol) || (!pol.sched && !pol.flags && !pol.max_nfps)) {
		cli_str("policy", "policy:     %s (new flows: the Maglev pick above)\n", "maglev");
		return;
	}
	total = policy_vip_load(m, vip) + pol.adjust;
	cli_obj_open("policy");
	cli_str("scheduler", "policy:     %s", sched_name(pol.sched));
	if (pol.sched == FLB_SCHED_LEAST_CONN)
		cli_dbl("epsilon", " epsilon=%.2f", (pol.bound_pm - 1000) / 1000.0);
	cli_u64("candidates", " candidates=%llu", pol.tries);
	cli_u64("max_new_flows_per_second", " caps: new/s=%llu", pol.max_nfps);
	cli_u64("burst", " (burst %llu)", pol.burst);
	cli_u64("max_active_flows", " active=%llu (0: off)\n", pol.max_active);
	if (pol.sched == FLB_SCHED_LEAST_CONN)
		cli_i64("vip_active", "  active flows of the VIP: %lld\n", total < 0 ? 0 : total);
	if (pol.sched == FLB_SCHED_RR) {
		explain_rr(m, &pol, vip, bes);
		cli_obj_close();
		return;
	}
	cli_arr_open("walk");
	for (uint32_t k = 0; size && k < 2 * FLB_POL_TRIES_MAX && n < pol.tries; k++) {
		uint32_t s = (slot + k) % size, id = ids[s], j;
		int v;

		for (j = 0; j < n && seen[j] != id; j++)
			;
		if (!id || j < n)
			continue;
		seen[n++] = id;
		cli_obj_open(NULL);
		cli_u64("slot", k ? "  slot %llu -> " : "  maglev slot %llu -> ", s);
		v = candidate(m, &pol, vip, id, total < 0 ? 0 : total, bes, now);
		cli_obj_close();
		if (!v) {
			chosen = id;
			break;
		}
	}
	cli_arr_close();
	if (!chosen)
		cli_text("  every candidate is over: least_conn takes the first one over its bound "
			 "only (the bound is soft), else the flow is dropped (cap_drop)\n");
	cli_u64("new_flow_backend_id", NULL, chosen);
	cli_obj_close();
}
