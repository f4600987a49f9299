// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reverse NAT for pods (docs/pods.md), attached at tc egress of the node's
 * NIC, the one toward the clients: a reply of a flow that decap translated
 * (bpf/nat.h, keyed in flb_node_flows by pod, pod port, client, client port)
 * leaves with VIP:port as its source again, so the client sees the VIP answer
 * and the reply goes straight to it (direct server return). Egress of the NIC
 * rather than each pod's veth: one attach point whatever pods come and go,
 * and the rewrite happens after the node's routing and reverse-path checks
 * saw the pod's own address. Checksums go through the kernel's helpers,
 * which know a CHECKSUM_PARTIAL packet from a pod's stack.
 * Every packet leaves unchanged except those; nothing is dropped.
 */
#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "node_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_R_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} flb_rnat_counts SEC(".maps");

#define FLB_REASON_MAP flb_rnat_counts
#include "count.h"

/* Idle flow entries older than these are ignored; set before load. */
const volatile __u64 tcp_timeout_ns = FLB_NODE_TCP_TIMEOUT_S * 1000000000ull;
const volatile __u64 udp_timeout_ns = FLB_NODE_UDP_TIMEOUT_S * 1000000000ull;

/* Where the reply's fields are, as offsets from the start of the frame. */
struct reply {
	struct flb_nflow_key key;
	__u32 saddr_off, l4_off, check_off, ip_check_off;
};

/* Ethernet + the longest IPv4 header + a TCP header: what must be linear. */
#define PULL_LEN (ETH_HLEN + 60 + sizeof(struct tcphdr))

static __always_inline int parse_l4(struct __sk_buff *skb, struct reply *r, __u8 proto)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__be16 *ports = data + r->l4_off;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	if (r->l4_off > PULL_LEN ||
	    data + r->l4_off + (proto == IPPROTO_TCP ? sizeof(struct tcphdr) : sizeof(struct udphdr)) > end)
		return 1;
	r->key.proto = proto;
	r->key.tport = ports[0];
	r->key.cport = ports[1];
	r->check_off = r->l4_off + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
							 : offsetof(struct udphdr, check));
	return 0;
}

/* -1: not IPv4/IPv6 TCP/UDP (or a fragment); 1: truncated; 0: parsed. */
static __always_inline int parse(struct __sk_buff *skb, struct reply *r)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return skb->len < ETH_HLEN ? 1 : -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return 1;
		if (ip->ihl < 5)
			return 1;
		if (ip->frag_off & bpf_htons(0x3fff))
			return -1;
		r->key.family = FLB_AF_INET;
		r->key.pod[0] = ip->saddr;
		r->key.client[0] = ip->daddr;
		r->saddr_off = ETH_HLEN + offsetof(struct iphdr, saddr);
		r->ip_check_off = ETH_HLEN + offsetof(struct iphdr, check);
		r->l4_off = ETH_HLEN + ip->ihl * 4;
		return parse_l4(skb, r, ip->protocol);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return 1;
		r->key.family = FLB_AF_INET6;
		__builtin_memcpy(r->key.pod, &ip6->saddr, 16);
		__builtin_memcpy(r->key.client, &ip6->daddr, 16);
		r->saddr_off = ETH_HLEN + offsetof(struct ipv6hdr, saddr);
		r->l4_off = ETH_HLEN + sizeof(*ip6);
		return parse_l4(skb, r, ip6->nexthdr);
	}
	return -1;
}

/* Source address and port become VIP:port; the IPv4 header checksum and
 * the L4 checksum (pseudo-header included) follow. */
static __always_inline int rewrite(struct __sk_buff *skb, const struct reply *r,
				   const struct flb_nflow *f)
{
	__u64 l4flags = BPF_F_PSEUDO_HDR | (r->key.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);
	int words = r->key.family == FLB_AF_INET ? 1 : 4, err = 0;

	for (int i = 0; i < 4; i++) {
		if (i >= words)
			break;
		err |= bpf_l4_csum_replace(skb, r->check_off, r->key.pod[i], f->vip[i], l4flags | 4);
		if (words == 1)
			err |= bpf_l3_csum_replace(skb, r->ip_check_off, r->key.pod[i], f->vip[i], 4);
	}
	err |= bpf_l4_csum_replace(skb, r->check_off, r->key.tport, f->vport,
				   (r->key.proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0) | 2);
	err |= bpf_skb_store_bytes(skb, r->saddr_off, f->vip, words * 4, 0);
	err |= bpf_skb_store_bytes(skb, r->l4_off, &f->vport, 2, 0);
	return err;
}

SEC("tc")
int rnat(struct __sk_buff *skb)
{
	struct reply r = {};
	struct flb_nflow *f;
	__u64 now, timeout;
	int p;

	if (skb->len < PULL_LEN)
		bpf_skb_pull_data(skb, skb->len);
	else
		bpf_skb_pull_data(skb, PULL_LEN);
	p = parse(skb, &r);
	if (p > 0)
		return count_reason(FLB_R_RNAT_BAD, TC_ACT_OK);
	if (p < 0)
		return count_reason(FLB_R_RNAT_PASS, TC_ACT_OK);
	f = bpf_map_lookup_elem(&flb_node_flows, &r.key);
	if (!f)
		return count_reason(FLB_R_RNAT_PASS, TC_ACT_OK);
	now = bpf_ktime_get_ns();
	timeout = r.key.proto == IPPROTO_TCP ? tcp_timeout_ns : udp_timeout_ns;
	if (now - f->last_seen > timeout)
		return count_reason(FLB_R_RNAT_EXPIRED, TC_ACT_OK);
	f->last_seen = now;
	if (rewrite(skb, &r, f))
		return count_reason(FLB_R_RNAT_BAD, TC_ACT_OK);
	return count_reason(FLB_R_RNAT_OK, TC_ACT_OK);
}
