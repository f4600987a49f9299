/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Destination NAT of a decapsulated packet for a local pod (docs/pods.md):
 * VIP:port -> pod:target port in the inner header, with the IPv4 header and
 * TCP/UDP checksums updated incrementally (RFC 1624: HC' = ~(~HC + ~m + m')),
 * and the flow recorded in flb_node_flows under the key its replies carry.
 * The caller has bounds-checked the inner IP header; the L4 header is
 * checked here.
 */
#ifndef FLB_NAT_H
#define FLB_NAT_H

#include <stdbool.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>

#include "csum.h"
#include "flb_abi.h"
#include "node_maps.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_NODE_NAT_MAX);
	__type(key, struct flb_nat_key);
	__type(value, struct flb_nat);
} flb_node_nat SEC(".maps");

enum nat_verdict { NAT_NONE, NAT_DONE, NAT_BAD, NAT_NO_FLOW };

/* Adds ~old and new (n 16-bit words each) to a running one's complement sum. */
static __always_inline __u32 csum_swap(__u32 sum, const __u16 *old, const __u16 *new, int n)
{
#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (i >= n)
			break;
		sum += (__u16)~old[i];
		sum += new[i];
	}
	return sum;
}

/* The L4 checksum field of a TCP or UDP header at l4, or NULL (truncated,
 * other protocol). */
static __always_inline __u16 *l4_check(void *l4, void *end, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		return (void *)(th + 1) > end ? NULL : &th->check;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		return (void *)(uh + 1) > end ? NULL : &uh->check;
	}
	return NULL;
}

/* Records the flow (refreshing last_seen when it is known) under the key
 * its replies carry. false: the table refused it. */
static __always_inline bool nat_record(const struct flb_nat_key *k, const __be32 *client,
				       __be16 cport, __be16 tport)
{
	struct flb_nflow_key rk = { .tport = tport, .cport = cport, .proto = k->proto,
				    .family = k->family };
	struct flb_nflow v = { .vport = k->vport }, *cur;
	__u64 now = bpf_ktime_get_ns();

	__builtin_memcpy(rk.pod, k->pod, 16);
	__builtin_memcpy(rk.client, client, 16);
	cur = bpf_map_lookup_elem(&flb_node_flows, &rk);
	if (cur && cur->vport == k->vport && cur->vip[0] == k->vip[0] && cur->vip[1] == k->vip[1] &&
	    cur->vip[2] == k->vip[2] && cur->vip[3] == k->vip[3]) {
		cur->last_seen = now;
		return true;
	}
	__builtin_memcpy(v.vip, k->vip, 16);
	v.last_seen = now;
	return !bpf_map_update_elem(&flb_node_flows, &rk, &v, BPF_ANY);
}

/* Ports of a TCP/UDP header: source at +0, destination at +2 in both. */
static __always_inline int nat_l4(struct flb_nat_key *k, void *l4, void *end, __u32 sum,
				  const __be32 *client, bool udp_zero_ok)
{
	__be16 *ports = l4;
	__u16 *check;
	struct flb_nat *t;

	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return NAT_NONE;
	check = l4_check(l4, end, k->proto);
	if (!check)
		return NAT_BAD;
	k->vport = ports[1];
	t = bpf_map_lookup_elem(&flb_node_nat, k);
	if (!t)
		return NAT_NONE;
	if (!nat_record(k, client, ports[0], t->tport))
		return NAT_NO_FLOW;
	sum = csum_swap(sum, (__u16 *)&ports[1], (__u16 *)&t->tport, 1);
	if (!(udp_zero_ok && k->proto == IPPROTO_UDP && *check == 0)) {
		*check = csum_fold(sum + (__u16)~*check);
		if (k->proto == IPPROTO_UDP && *check == 0)
			*check = 0xffff;
	}
	ports[1] = t->tport;
	return NAT_DONE;
}

/* Inner IPv4 (IHL checked by the caller, outer destination = pod). */
static __always_inline int nat4(struct iphdr *ip, void *end, const __be32 *pod)
{
	struct flb_nat_key k = { .proto = ip->protocol, .family = FLB_AF_INET };
	__be32 client[4] = { ip->saddr };
	__u32 sum;
	int v;

	if (ip->frag_off & bpf_htons(0x3fff))
		return NAT_NONE; /* a fragment carries no ports to translate */
	k.vip[0] = ip->daddr;
	k.pod[0] = pod[0];
	sum = csum_swap(0, (__u16 *)&ip->daddr, (__u16 *)pod, 2);
	v = nat_l4(&k, (void *)ip + ip->ihl * 4, end, sum, client, true);
	if (v != NAT_DONE)
		return v;
	ip->check = csum_fold(sum + (__u16)~ip->check);
	ip->daddr = pod[0];
	return NAT_DONE;
}

/* Inner IPv6 without extension headers (outer destination = pod). */
static __always_inline int nat6(struct ipv6hdr *ip6, void *end, const __be32 *pod)
{
	struct flb_nat_key k = { .proto = ip6->nexthdr, .family = FLB_AF_INET6 };
	__u32 sum;
	int v;

	if ((void *)(ip6 + 1) > end) /* checked by the caller, in a form the verifier lost */
		return NAT_BAD;
	__builtin_memcpy(k.vip, &ip6->daddr, 16);
	__builtin_memcpy(k.pod, pod, 16);
	sum = csum_swap(0, (__u16 *)&ip6->daddr, (__u16 *)pod, 8);
	v = nat_l4(&k, ip6 + 1, end, sum, (__be32 *)&ip6->saddr, false);
	if (v == NAT_DONE)
		__builtin_memcpy(&ip6->daddr, pod, 16);
	return v;
}

#endif
