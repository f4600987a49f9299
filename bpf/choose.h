/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The backend of a flow that starts here (docs/policies.md): the VIP's
 * scheduler and its per-backend caps, from flb_policy[vip id] (written by
 * the daemon). A zero element is plain Maglev, as before policies: a call
 * and one array lookup more per new flow; per established packet, one test
 * of the entry's flags.
 *
 * Candidates, in the VIP's preference order: Maglev and least_conn walk the
 * Maglev table from the flow's slot (hash % M) on, slot after slot, each
 * backend once; round_robin walks flb_rr_seq (the daemon's smooth weighted
 * sequence) from this CPU's cursor on. At most flb_policy.tries distinct
 * candidates. A candidate is passed over when it is over max_active_flows,
 * over its least_conn bound ((1 + eps) x its weighted share of the VIP's
 * active flows, the flow being placed included), or has no token for
 * max_new_flows_per_second. When every candidate is over: least_conn takes
 * the first one that was over its bound only (the bound is soft, the caps
 * are not); otherwise the flow is dropped (cap_drop, refused).
 *
 * "Active" (the balancer sees only the client's half): conntrack entries
 * made for the (VIP, backend) with FLB_CT_COUNTED, whose client has sent no
 * FIN or RST and which have not expired. The dataplane adds one when it
 * makes such an entry and takes one away at the client's first FIN/RST or
 * when a SYN replaces a live counted entry; entries that expire, go stale
 * or are evicted by the LRU leave silently, and the daemon's conntrack walk
 * corrects the count (flb_pol_be.adjust, flb_policy.adjust).
 *
 * Only flows that start here take a policy: a TCP SYN, a UDP datagram
 * without a live entry. A SYN of a live entry that is not closing (a
 * retransmission) keeps its backend while that one is active. A TCP packet without an entry (conntrack lost,
 * another node's flow), an ICMP error, and a SYN while this CPU is in flood
 * mode (bpf/flood.h: no entry is made, the flow's next packets must land
 * on the same backend) take plain Maglev.
 */
#ifndef FLB_CHOOSE_H
#define FLB_CHOOSE_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_ct.h"
#include "flb_reasons.h"
#include "maps.h"
#include "parse.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, struct flb_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_POL_PAIRS);
	__type(key, struct flb_pair);
	__type(value, struct flb_pol_be);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_pol_be SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_POL_PAIRS);
	__type(key, struct flb_pair);
	__type(value, struct flb_be_load);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_be_load SEC(".maps");

/* Per VIP: counted entries opened minus closed (shared, atomic adds). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, __s64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_vip_load SEC(".maps");

/* round_robin: FLB_RR_LEN backend ids per VIP, from vip id x FLB_RR_LEN. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS * FLB_RR_LEN);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_rr_seq SEC(".maps");

/* round_robin: each CPU's cursor per VIP. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_MAX_VIPS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flb_rr_pos SEC(".maps");

#define CHOOSE_NS_PER_S 1000000000ULL
#define CHOOSE_FLOOD_NS 1000000000ULL /* bpf/flood.h's window */

enum choose_verdict { CHOOSE_OK, CHOOSE_BOUND, CHOOSE_CAP, CHOOSE_SKIP };

/* Slot k (0-based, wrapping) of a Maglev table; 0 when none. */
static __always_inline __u32 choose_slot(void *table, __u32 m, __u32 k)
{
	__u32 slot = k % m + 1, *id = bpf_map_lookup_elem(table, &slot);

	return id ? *id : 0;
}

static __always_inline void choose_add(__s64 *v, __s64 d)
{
	if (v)
		__sync_fetch_and_add(v, d);
}

/* One more (d = 1) or one less (d = -1) active flow of (vip, backend). */
static __always_inline void choose_count(__u32 vip_id, __u32 id, __s64 d)
{
	struct flb_pair key = { .vip = vip_id, .backend = id };
	struct flb_be_load *ld = bpf_map_lookup_elem(&flb_be_load, &key);

	if (!ld)
		return;
	__sync_fetch_and_add(&ld->active, d);
	choose_add(bpf_map_lookup_elem(&flb_vip_load, &vip_id), d);
}

/* max_new_flows_per_second as a GCRA (a token bucket of depth burst that
 * refills one token per 1/rate s), shared by every CPU: one word, read and
 * written without a lock, so CPUs that take the last token at the same
 * moment may all pass (docs/policies.md, "Caps"). */
static __always_inline bool choose_token(struct flb_be_load *ld, const struct flb_policy *pol,
					 __u64 now)
{
	__u64 t = CHOOSE_NS_PER_S / pol->max_nfps, tat = ld->tat;
	__u64 tau = (pol->burst > 1 ? pol->burst - 1 : 0) * t;

	if (tat < now)
		tat = now;
	if (tat - now > tau)
		return false;
	ld->tat = tat + t;
	return true;
}

/* Active flows of (vip, backend): the dataplane's count plus the daemon's
 * correction, never below 0. */
static __always_inline __s64 choose_active(const struct flb_be_load *ld,
					   const struct flb_pol_be *pb)
{
	__s64 a = (ld ? ld->active : 0) + (pb ? pb->adjust : 0);

	return a < 0 ? 0 : a;
}

/* Whether candidate id may take the flow (a token is taken when it may). */
static __always_inline int choose_check(const struct flb_policy *pol, __u32 vip_id, __u32 id,
					__s64 total, __u64 now, struct flb_be_load **ldp)
{
	struct flb_pair key = { .vip = vip_id, .backend = id };
	struct flb_pol_be *pb = NULL;
	struct flb_be_load *ld;
	struct flb_backend *be;
	__s64 act;

	be = bpf_map_lookup_elem(&flb_backends, &id);
	if (!be || be->state != FLB_BE_ACTIVE)
		return CHOOSE_SKIP;
	ld = bpf_map_lookup_elem(&flb_be_load, &key);
	*ldp = ld;
	if (pol->flags & FLB_POL_COUNT)
		pb = bpf_map_lookup_elem(&flb_pol_be, &key);
	act = choose_active(ld, pb);
	if (pol->max_active && act >= pol->max_active)
		return CHOOSE_CAP;
	/* Over when act >= (1 + eps) x (total + 1) x w / W. */
	if (pol->sched == FLB_SCHED_LEAST_CONN && pb && pol->weight_sum &&
	    (__u64)act * pol->weight_sum * 1000 >=
		    (__u64)pol->bound_pm * (__u64)(total + 1) * pb->weight)
		return CHOOSE_BOUND;
	if (pol->max_nfps && ld && !choose_token(ld, pol, now))
		return CHOOSE_CAP;
	return CHOOSE_OK;
}

/* The k-th candidate: round robin's sequence from the cursor, else the
 * Maglev table from the flow's slot. */
static __always_inline __u32 choose_nth(const struct flb_policy *pol, __u32 vip_id,
					void *table, __u32 m, __u32 start, __u32 k)
{
	__u32 idx, *id;

	if (pol->sched != FLB_SCHED_RR)
		return choose_slot(table, m, start + k);
	if (!pol->rr_len || pol->rr_len > FLB_RR_LEN)
		return 0;
	idx = vip_id * FLB_RR_LEN + (start + k) % pol->rr_len;
	id = bpf_map_lookup_elem(&flb_rr_seq, &idx);
	return id ? *id : 0;
}

/* The walk over the candidates, as bpf_loop()'s context: the verifier
 * checks choose_step() once instead of every unrolled try. */
struct choose_walk {
	__s64 total;        /* least_conn: the VIP's active flows */
	__u64 now;
	__u32 vip, m, start, n, id, first, soft, pad;
	__u16 seen[FLB_POL_TRIES_MAX]; /* backend ids < FLB_MAX_BACKENDS */
};

static long choose_step(__u64 k, void *arg)
{
	struct choose_walk *w = arg;
	struct flb_be_load *ld = NULL;
	__u32 zero = 0, tries, c = 0, j, *mp;
	struct flb_policy *pol;
	void *table;
	int v;

	/* Read again rather than copied into w: the stack is the limit. */
	pol = bpf_map_lookup_elem(&flb_policy, &w->vip);
	if (!pol)
		return 1;
	tries = pol->tries ? pol->tries : 1;
	if (w->n >= tries || w->n >= FLB_POL_TRIES_MAX)
		return 1;
	if (pol->sched == FLB_SCHED_RR) {
		c = choose_nth(pol, w->vip, NULL, 0, w->start, (__u32)k);
	} else {
		table = bpf_map_lookup_elem(&flb_rings, &w->vip);
		mp = table ? bpf_map_lookup_elem(table, &zero) : NULL;
		if (!mp || *mp != w->m || !w->m)
			return 1; /* the table was swapped meanwhile: stop here */
		c = choose_slot(table, w->m, w->start + (__u32)k);
	}
	if (!c)
		return 0;
	for (j = 0; j < FLB_POL_TRIES_MAX; j++)
		if (j < w->n && w->seen[j] == c)
			return 0;
	w->seen[w->n & (FLB_POL_TRIES_MAX - 1)] = (__u16)c;
	w->n++;
	if (!w->first)
		w->first = c;
	v = choose_check(pol, w->vip, c, w->total, w->now, &ld);
	if (v == CHOOSE_OK) {
		w->id = c;
		return 1;
	}
	if (v == CHOOSE_BOUND && !w->soft)
		w->soft = c;
	if (ld && v == CHOOSE_BOUND)
		__sync_fetch_and_add(&ld->bound_spill, 1);
	else if (ld && v == CHOOSE_CAP)
		__sync_fetch_and_add(&ld->cap_spill, 1);
	return 0;
}

#define CHOOSE_COUNTED_SHIFT 29 /* choose_pick()'s result: FLB_CT_COUNTED << 29 | id */
#define CHOOSE_SYN 0x1
#define CHOOSE_ICMP 0x2

/*
 * The backend id for a new flow of the VIP (0: none, or dropped over the
 * caps), with FLB_CT_COUNTED << CHOOSE_COUNTED_SHIFT when the entry the
 * caller makes is to be counted (choose_opened() counts it once made).
 * ct: the flow's entry (NULL: none), which the caller renews after.
 * vip_bits: the VIP id (< FLB_MAX_VIPS) | bits << 16, bits CHOOSE_SYN (a
 * TCP SYN), CHOOSE_ICMP (an ICMP error): a BPF call takes five arguments.
 *
 * A global function: the verifier checks it once, on its own, and the
 * caller sees one scalar come back, so its many paths do not multiply the
 * paths of everything after the pick (next hop, encapsulation).
 */
__attribute__((noinline)) int choose_pick(const struct flb_flow *flow, struct flb_ct *ct,
					  __u32 vip_bits, __u32 hash, __u64 now)
{
	__u32 vip_id = vip_bits & 0xffff, bits = vip_bits >> 16;
	struct choose_walk w = { .vip = vip_id, .now = now };
	struct flb_be_load *ld = NULL;
	struct flb_pair key = { .vip = vip_id };
	__u32 zero = 0, m = 0, *mp, *pos, counted;
	struct flb_policy *pol = NULL;
	struct flb_backend *old;
	struct flb_flood *f;
	struct flb_ctl *ctl;
	__s64 *tv;
	void *table;

	if (!flow)
		return 0;
	table = bpf_map_lookup_elem(&flb_rings, &vip_id);
	if (!table)
		return 0;
	mp = bpf_map_lookup_elem(table, &zero);
	if (!mp || !(m = *mp))
		return 0;
	/* Only flows that start here take a policy (see the top). */
	if (!(bits & CHOOSE_ICMP) && ((bits & CHOOSE_SYN) || flow->proto == IPPROTO_UDP))
		pol = bpf_map_lookup_elem(&flb_policy, &vip_id);
	if (!pol || (!pol->sched && !pol->flags && !pol->max_nfps))
		return choose_slot(table, m, hash); /* plain Maglev */
	ctl = bpf_map_lookup_elem(&flb_ctl, &zero);
	if (!ctl)
		return 0;
	/* A SYN without an entry on a CPU in flood mode gets none. */
	if ((bits & CHOOSE_SYN) && !ct && ctl->flood_nfps) {
		f = bpf_map_lookup_elem(&flb_flood, &zero);
		if (f && f->mode && now - f->window < 2 * CHOOSE_FLOOD_NS)
			return choose_slot(table, m, hash);
	}
	counted = pol->flags & FLB_POL_COUNT ? FLB_CT_COUNTED << CHOOSE_COUNTED_SHIFT : 0;

	/* A live entry that is not closing: a retransmitted SYN of the same
	 * connection (Maglev would pick the same backend again; a policy
	 * must say so). It is counted again, so its count goes first. */
	if (ct && !(ct->flags & FLB_CT_CLOSING) && !flb_ct_expired(ct, flow->proto, ctl, now)) {
		if (ct->flags & FLB_CT_COUNTED) {
			ct->flags &= ~FLB_CT_COUNTED;
			choose_count(vip_id, ct->backend, -1);
		}
		key.backend = ct->backend;
		old = bpf_map_lookup_elem(&flb_backends, &key.backend);
		if (old && old->gen == ct->gen && old->state == FLB_BE_ACTIVE)
			return (int)(key.backend | counted);
	}
	w.m = m;
	w.start = hash % m;
	if (pol->sched == FLB_SCHED_RR) {
		pos = bpf_map_lookup_elem(&flb_rr_pos, &vip_id);
		if (!pos)
			return 0;
		w.start = (*pos)++;
	} else if (pol->sched == FLB_SCHED_LEAST_CONN) {
		tv = bpf_map_lookup_elem(&flb_vip_load, &vip_id);
		w.total = (tv ? *tv : 0) + pol->adjust;
		if (w.total < 0)
			w.total = 0;
	}
	bpf_loop(2 * FLB_POL_TRIES_MAX, choose_step, &w, 0);
	if (!w.id && w.soft) {
		key.backend = w.soft;
		ld = bpf_map_lookup_elem(&flb_be_load, &key);
		if (!pol->max_nfps || !ld || choose_token(ld, pol, now))
			w.id = w.soft;
	}
	if (!w.id) {
		count_event(FLB_E_CAP_DROP);
		key.backend = w.first;
		ld = w.first ? bpf_map_lookup_elem(&flb_be_load, &key) : NULL;
		if (ld)
			__sync_fetch_and_add(&ld->refused, 1);
		return 0;
	}
	if (w.id != w.first)
		count_event(FLB_E_POLICY_SPILL);
	return (int)(w.id | counted);
}

/* Whether a new flow of this packet takes the VIP's policy: a TCP SYN or a
 * new UDP flow of a VIP that has one. Inline, so that a plain Maglev VIP
 * pays a map read, not a call (choose_pick() checks the same again). */
static __always_inline bool choose_wanted(const struct pkt *p, __u32 vip_id, bool syn)
{
	const struct flb_policy *pol;

	if (p->icmp || (!syn && p->flow.proto != IPPROTO_UDP))
		return false;
	pol = bpf_map_lookup_elem(&flb_policy, &vip_id);
	return pol && (pol->sched || pol->flags || pol->max_nfps);
}

/* pick_flow()'s call: the id, and FLB_CT_COUNTED into *flags (no branch). */
static __always_inline __u32 choose_backend(const struct pkt *p, struct flb_ct *ct, __u32 vip_id,
					    __u32 hash, __u64 now, bool syn, __u32 *flags)
{
	__u32 bits = (syn ? CHOOSE_SYN : 0) | (p->icmp ? CHOOSE_ICMP : 0);
	__u32 r = (__u32)choose_pick(&p->flow, ct, vip_id | bits << 16, hash, now);

	*flags |= (r >> CHOOSE_COUNTED_SHIFT) & FLB_CT_COUNTED;
	return r & ((1u << CHOOSE_COUNTED_SHIFT) - 1);
}

/* One more (d = 1) or one less (d = -1) active flow of (vip, backend), as
 * a global function (checked once, see choose_pick). */
__attribute__((noinline)) int choose_count_g(__u32 vip_id, __u32 id, int d)
{
	choose_count(vip_id, id, d);
	return 0;
}

/* The entry for a flow of the VIP was made: count it when it is counted. */
static __always_inline void choose_opened(__u32 vip_id, __u32 id, __u32 flags)
{
	if (flags & FLB_CT_COUNTED)
		choose_count_g(vip_id, id, 1);
}

/* A packet of a live entry: the client's first FIN or RST ends a counted
 * flow (the entry is no longer counted; touch() marks it closing). */
static __always_inline void choose_closing(struct flb_ct *ct, const struct pkt *p, __u32 vip_id)
{
	if ((ct->flags & (FLB_CT_COUNTED | FLB_CT_CLOSING)) != FLB_CT_COUNTED || p->icmp ||
	    p->flow.proto != IPPROTO_TCP || !(p->tcp_flags & (0x01 | 0x04))) /* FIN, RST */
		return;
	ct->flags &= ~FLB_CT_COUNTED;
	choose_count_g(vip_id, ct->backend, -1);
}

#endif
