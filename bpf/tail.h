/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Both roles on one NIC (the DaemonSet case, docs/pods.md "Both roles on
 * one NIC"): one XDP program per interface, so the balancer hands the node
 * role's packets to the decap program (bpf/decap.bpf.c) with a tail call
 * through flb_tail, which fluxlbd's node role fills. Two places:
 *  - a tunnel packet (IPv4 protocol 4, IPv6 next header 41 or 4) leaves
 *    parse as "not TCP/UDP": decap decides whether it is for this node,
 *    one of its pods, or neither (then it passes, counted by decap);
 *  - a packet the balancer just encapsulated for a backend behind another
 *    interface of this node (a local pod's veth): decap strips and
 *    translates it as if it had come from another balancer, and the stack
 *    forwards it to the pod. A backend behind another NIC is passed by
 *    decap, and the kernel forwards the encapsulated packet.
 * A tail call into an empty slot returns, and the balancer goes on as it
 * would without this file: nothing changes while the node role is off.
 * A packet handed over is counted by decap's reasons, not the balancer's.
 */
#ifndef FLB_TAIL_H
#define FLB_TAIL_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "count.h"
#include "nexthop.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, FLB_TAIL_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_tail SEC(".maps");

/* Parse said "not balanced" (r): a tunnel packet goes to decap, if any. */
static __always_inline int not_balanced(struct xdp_md *ctx, const struct pkt *p, int r)
{
	if (r == FLB_R_PASS_L4_OTHER &&
	    (p->flow.proto == IPPROTO_IPIP || p->flow.proto == IPPROTO_IPV6))
		bpf_tail_call(ctx, &flb_tail, FLB_TAIL_DECAP);
	return count_reason(r, XDP_PASS);
}

/* Encapsulated for a backend behind another interface of this node. The
 * MACs are still the ones the frame arrived with (send_frame writes the
 * next hop's), so a packet decap passes is the kernel's to forward. */
static __always_inline void to_local(struct xdp_md *ctx, const struct hop *h, int rc)
{
	if ((rc == BPF_FIB_LKUP_RET_SUCCESS || rc == BPF_FIB_LKUP_RET_NO_NEIGH) &&
	    h->ifindex != ctx->ingress_ifindex)
		bpf_tail_call(ctx, &flb_tail, FLB_TAIL_DECAP);
}

#endif
