/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which backend takes a packet: the VIP it is for (address, port, protocol;
 * a port-less VIP matches every port), then for fragments the backend their
 * datagram went to, then conntrack, then the VIP's Maglev table for new
 * flows and every TCP SYN. A conntrack entry counts only while its backend
 * is the one it was made for (same generation) and takes existing flows,
 * and until it expires (include/flb_ct.h): a client's FIN or RST marks it
 * closing, after which it lives FLB_CT_CLOSE_GRACE_S past its last packet.
 */
#ifndef FLB_PICK_H
#define FLB_PICK_H

#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_ct.h"
#include "flb_hash.h"
#include "flb_reasons.h"
#include "chance.h"
#include "affinity.h"
#include "choose.h"
#include "flood.h"
#include "maps.h"
#include "outlier.h"
#include "parse.h"

#define NS_PER_S 1000000000ULL
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_ACK 0x10
#define FLB_FRAG_TIMEOUT_NS (30 * NS_PER_S) /* a datagram's fragments, as ipfrag_time */

static __always_inline __u32 vip_find(const struct pkt *p, const struct flb_ctl *ctl)
{
	struct flb_vip_key key = {
		.addr = { p->flow.dst[0], p->flow.dst[1], p->flow.dst[2], p->flow.dst[3] },
		.port = p->flow.dport,
		.proto = p->flow.proto,
		.family = p->flow.family,
	};
	struct flb_vip *vip;

	if (p->frag == FRAG_LATER) {
		/* No port in this packet: the address's fragment VIP. */
		struct flb_vip_addr a = {
			.addr = { key.addr[0], key.addr[1], key.addr[2], key.addr[3] },
			.proto = key.proto,
			.family = key.family,
		};
		__u32 *id = bpf_map_lookup_elem(&flb_vip_addrs, &a);

		return id ? *id : FLB_MAX_VIPS;
	}
	vip = bpf_map_lookup_elem(&flb_vips, &key);
	if (!vip && (ctl->flags & FLB_CTL_PORTLESS)) {
		key.port = 0;
		vip = bpf_map_lookup_elem(&flb_vips, &key);
	}
	return vip ? vip->id : FLB_MAX_VIPS;
}

/* The backend of an entry, when it still is the backend the entry was made
 * for (same generation) and still takes existing flows; else NULL. *id is
 * its id, read once: the id checked is the id returned. */
static __always_inline struct flb_backend *entry_backend(const struct flb_ct *ct, __u32 *id)
{
	struct flb_backend *be;

	*id = ct->backend;
	be = bpf_map_lookup_elem(&flb_backends, id);

	if (!be || be->gen != ct->gen ||
	    (be->state != FLB_BE_ACTIVE && be->state != FLB_BE_DRAINING))
		return NULL;
	return be;
}

/* Slot hash % M of the VIP's current table; 0 when it has no backend. */
static __always_inline __u32 maglev_backend(__u32 vip_id, __u32 hash)
{
	__u32 zero = 0, slot, m, *id, *mp;
	void *table;

	table = bpf_map_lookup_elem(&flb_rings, &vip_id);
	if (!table)
		return 0;
	mp = bpf_map_lookup_elem(table, &zero);
	if (!mp || !(m = *mp))
		return 0;
	slot = hash % m + 1;
	id = bpf_map_lookup_elem(table, &slot);
	return id ? *id : 0;
}

/* The client ends the connection: a FIN (it sends no more data; it may
 * still receive, and acknowledges what it receives) or an RST. */
static __always_inline bool closes(const struct pkt *p)
{
	return p->flow.proto == IPPROTO_TCP && (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST));
}

/* A packet of a live entry's flow. The first FIN or RST marks the entry
 * closing; any packet moves last_seen, so a half-closed connection whose
 * client keeps acknowledging keeps its entry (docs/architecture.md,
 * "Conntrack"). Once a second is precise enough for timeouts and spares the
 * shared cache line a write per packet. An ICMP error is no packet of the
 * flow: it touches nothing. */
static __always_inline void touch(struct flb_ct *ct, const struct pkt *p, __u64 now)
{
	if (p->icmp)
		return;
	if (closes(p) && !(ct->flags & FLB_CT_CLOSING)) {
		ct->flags |= FLB_CT_CLOSING;
		ct->last_seen = now;
		count_event(p->tcp_flags & TCP_FLAG_RST ? FLB_E_CT_RST : FLB_E_CT_FIN);
	} else if ((__s64)(now - ct->last_seen) > (__s64)NS_PER_S) {
		ct->last_seen = now;
	}
}

/* A new entry for the flow (or the datagram, for fragments). flags: closing
 * when the packet is a FIN or RST or the connection's old entry was closing;
 * hash: the flow hash, kept so that a hit need not compute it again. */
static __always_inline bool remember(void *map, const void *key, __u32 id,
				     const struct flb_backend *be, __u64 now, __u32 flags,
				     __u32 hash)
{
	struct flb_ct fresh = {
		.backend = id, .gen = be->gen, .last_seen = now, .flags = flags, .hash = hash,
	};

	return !bpf_map_update_elem(map, key, &fresh, BPF_ANY);
}

/* The flow's entry after a fresh pick: the one found (a SYN of a known
 * flow, an expired or stale entry) rewritten in place, which spares the
 * LRU a node swap, else a new one. A reader on another CPU sees the old
 * or the new backend, each with a generation that either fails the check
 * (then Maglev picks again) or belongs to it. */
static __always_inline bool renew(struct flb_ct *ct, const struct flb_flow *flow, __u32 id,
				  const struct flb_backend *be, __u64 now, __u32 flags, __u32 hash)
{
	if (!ct)
		return remember(&flb_conntrack, flow, id, be, now, flags, hash);
	ct->backend = id;
	ct->gen = be->gen;
	ct->last_seen = now;
	ct->flags = flags;
	ct->hash = hash;
	return true;
}

/* The flow hash of an entry's flow: kept in the entry since it was made.
 * An entry without one (0: made by userspace or an older object) gets it
 * here, once, so entries made before an upgrade stop costing a hash. */
static __always_inline __u32 entry_hash(struct flb_ct *ct, const struct pkt *p)
{
	if (!ct->hash)
		ct->hash = flb_flow_hash(&p->flow);
	return ct->hash;
}

/* Conntrack, then Maglev. Returns the backend id (0: none); *be is that
 * backend (NULL: none), *hash the flow hash. */
static __always_inline __u32 pick_flow(const struct pkt *p, __u32 vip_id, __u64 now,
				       const struct flb_ctl *ctl, struct flb_backend **be,
				       __u32 *hash, bool *new_flow)
{
	bool syn = p->flow.proto == IPPROTO_TCP &&
		   (p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
	__u32 id, flags = closes(p) ? FLB_CT_CLOSING : 0;
	struct flb_ct *ct = NULL;

	if (syn) {
		/* Every SYN takes the Maglev pick; its flow's entry, if any, is
		 * the one it renews. */
		count_event(FLB_E_SYN_LOOKUP);
		ct = bpf_map_lookup_elem(&flb_conntrack, &p->flow);
		outlier_syn(ct, now, &flags);
	} else if ((ct = bpf_map_lookup_elem(&flb_conntrack, &p->flow))) {
		if (flb_ct_expired(ct, p->flow.proto, ctl, now)) {
			count_event(FLB_E_CT_EXPIRED);
		} else if ((*be = entry_backend(ct, &id))) {
			count_event(FLB_E_CT_HIT);
			affinity_touch(p, vip_id, ct, now);
			outlier_seen(ct, p);
			choose_closing(ct, p, vip_id);
			touch(ct, p, now);
			*hash = entry_hash(ct, p);
			return id;
		} else {
			count_event(FLB_E_CT_STALE);
		}
		/* Not a SYN: still the same connection, still closing. */
		flags |= ct->flags & FLB_CT_CLOSING;
	} else if (!p->icmp) {
		/* TCP without SYN: mid-connection and unknown here (another
		 * node's flow, or conntrack was lost); if the table names
		 * another backend than it had, that backend resets it. UDP: a
		 * new flow. (An ICMP error counts icmp_steered only.) */
		count_event(p->flow.proto == IPPROTO_TCP ? FLB_E_CT_MISS : FLB_E_UDP_NEW_FLOW);
		if (chance_pick(p, vip_id, now, be, hash, &id)) /* bpf/chance.h */
			return id;
	}

	*hash = flb_flow_hash(&p->flow);
	id = choose_wanted(p, vip_id, syn) ? choose_backend(p, ct, vip_id, *hash, now, syn, &flags)
					   : maglev_backend(vip_id, *hash);
	*be = id ? bpf_map_lookup_elem(&flb_backends, &id) : NULL;
	id = affinity_steer(p, vip_id, id, be, now);
	if (!*be)
		return 0;
	/* An ICMP error does not open a flow. In flood mode a SYN without an
	 * entry makes none (bpf/flood.h); the flow's next packets miss and
	 * take this same Maglev pick, and its first non-SYN makes the entry. */
	if (p->icmp)
		return id;
	if (!ct && flood_mode(ctl, now) && syn) {
		count_event(FLB_E_FLOOD_SYN);
		return id;
	}
	if (renew(ct, &p->flow, id, *be, now, flags, *hash)) {
		count_event(FLB_E_CT_INSERT);
		*new_flow = true;
		choose_opened(vip_id, id, flags);
	}
	return id;
}

/* Fragments: every fragment of a datagram goes where the first one that
 * arrived went. The first fragment has ports and takes the flow's path; a
 * later one that arrives first is steered by the 3-tuple. */
static __always_inline __u32 pick_fragment(const struct pkt *p, __u32 vip_id, __u64 now,
					   const struct flb_ctl *ctl, struct flb_backend **be,
					   __u32 *hash, bool *new_flow)
{
	struct flb_frag_key key = {
		.id = p->frag_id,
		.proto = p->flow.proto,
		.family = p->flow.family,
	};
	struct flb_ct *e;
	__u32 id;

	__builtin_memcpy(key.src, p->flow.src, 16);
	__builtin_memcpy(key.dst, p->flow.dst, 16);
	*hash = flb_flow_hash(&p->flow);
	e = bpf_map_lookup_elem(&flb_frags, &key);
	/* Only while the datagram can still be reassembled somewhere (the
	 * kernel's ipfrag_time is 30 s): IP ids wrap, an old entry must not
	 * capture a new datagram. */
	if (e && now - e->last_seen < FLB_FRAG_TIMEOUT_NS && (*be = entry_backend(e, &id))) {
		count_event(FLB_E_FRAG_FOLLOW);
		return id;
	}
	if (p->frag == FRAG_FIRST) {
		count_event(FLB_E_FRAG_FIRST);
		id = pick_flow(p, vip_id, now, ctl, be, hash, new_flow);
	} else {
		count_event(FLB_E_FRAG_UNKNOWN);
		id = maglev_backend(vip_id, *hash);
		*be = id ? bpf_map_lookup_elem(&flb_backends, &id) : NULL;
	}
	if (*be)
		remember(&flb_frags, &key, id, *be, now, 0, *hash);
	return id;
}

/* The backend for a VIP packet: the datagram's for fragments, else the
 * flow's. NULL when there is none, or none that can carry the packet (an
 * IPv6 VIP needs an IPv6 backend); *id is its id, *hash the flow hash. */
static __always_inline struct flb_backend *pick_backend(const struct pkt *p, __u32 vip_id,
							__u64 now, const struct flb_ctl *ctl,
							__u32 *id, __u32 *hash, bool *new_flow)
{
	struct flb_backend *be = NULL;

	if (p->icmp)
		count_event(FLB_E_ICMP_STEERED);
	*id = p->frag ? pick_fragment(p, vip_id, now, ctl, &be, hash, new_flow)
		      : pick_flow(p, vip_id, now, ctl, &be, hash, new_flow);
	if (!be || !be->family || (p->flow.family == FLB_AF_INET6 && be->family != FLB_AF_INET6))
		return NULL;
	return be;
}

#endif
