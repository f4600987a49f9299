// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Decapsulation for backend hosts, attached at XDP on the host's NIC: an
 * IPv4-in-IPv4, IPv6-in-IPv6 or IPv4-in-IPv6 packet (RFC 2003, RFC 2473)
 * whose outer destination is one of this host's addresses (flb_dcp_addrs,
 * filled by `fluxlb decap attach` or fluxlbd's node role) loses its outer
 * header and goes up the stack as the client's original packet, addressed
 * to the VIP (which the host has on a loopback). Needed because this kernel
 * has no ipip module; also cheaper than one.
 * On a node whose pods are backends (docs/pods.md), a tunnel packet whose
 * outer destination is a local pod with an flb_node_nat entry for its inner
 * VIP:port also loses its outer header, and its inner destination becomes
 * pod:target port (bpf/nat.h); the node's stack forwards it to the pod.
 * Everything else passes unchanged.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "flb_abi.h"
#include "flb_reasons.h"
#include "nat.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_R_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} flb_dcp_reasons SEC(".maps");

#define FLB_REASON_MAP flb_dcp_reasons
#include "count.h"

/*
 * This host's addresses. Not the FIB: bpf_fib_lookup() answers "forwarding
 * disabled" before it looks at the route on a host that does not forward,
 * which is what a backend host is.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_DCP_MAX_ADDRS);
	__type(key, struct flb_dcp_addr);
	__type(value, __u32);
} flb_dcp_addrs SEC(".maps");

static __always_inline bool is_local(const struct iphdr *ip)
{
	struct flb_dcp_addr key = { .addr = { ip->daddr }, .family = FLB_AF_INET };

	return bpf_map_lookup_elem(&flb_dcp_addrs, &key) != NULL;
}

/* Removes hlen bytes of outer header after the Ethernet header; the MACs
 * move up against the inner header, which has the given ethertype. */
static __always_inline int strip(struct xdp_md *ctx, struct ethhdr *eth, void *inner, __u32 hlen,
				 __be16 proto, __u32 reason)
{
	struct ethhdr *neth = inner - sizeof(*neth);

	__builtin_memmove(neth->h_source, eth->h_source, ETH_ALEN);
	__builtin_memmove(neth->h_dest, eth->h_dest, ETH_ALEN);
	neth->h_proto = proto;
	if (bpf_xdp_adjust_head(ctx, hlen))
		return count_reason(FLB_R_DECAP_BAD, XDP_DROP);
	return count_reason(reason, XDP_PASS);
}

#include "chance_decap.h" /* second chance: uses strip() */

/* Not for this host: for a local pod when flb_node_nat says so. A pod
 * receives its own family only (flb_node_nat's key has one family): IPv4
 * inside IPv6 to an address that is not ours is not for us. */
static __always_inline int to_pod(struct xdp_md *ctx, struct ethhdr *eth, void *inner, void *end,
				  __u32 hlen, bool inner6, bool outer6, const __be32 *pod)
{
	int v;

	if (inner6 != outer6)
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	v = inner6 ? nat6(inner, end, pod) : nat4(inner, end, pod);
	if (v == NAT_NONE)
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	if (v == NAT_BAD)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	if (v == NAT_NO_FLOW)
		return count_reason(FLB_R_DNAT_NO_FLOW, XDP_DROP);
	return strip(ctx, eth, inner, hlen, bpf_htons(inner6 ? ETH_P_IPV6 : ETH_P_IP),
		     FLB_R_DECAP_DNAT);
}

/* IPv6 outer header (no extension headers) carrying IPv6 (41) or IPv4 (4). */
static __always_inline int decap6(struct xdp_md *ctx, struct ethhdr *eth, void *end)
{
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct flb_dcp_addr key = { .family = FLB_AF_INET6 };
	__u8 *inner;

	if ((void *)(ip6 + 1) > end)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	if (ip6->nexthdr != IPPROTO_IPV6 && ip6->nexthdr != IPPROTO_IPIP)
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	inner = (void *)(ip6 + 1);
	if ((void *)(inner + sizeof(struct ipv6hdr)) > end && ip6->nexthdr == IPPROTO_IPV6)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	if ((void *)(inner + sizeof(struct iphdr)) > end)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	if ((inner[0] >> 4) != (ip6->nexthdr == IPPROTO_IPV6 ? 6 : 4))
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	__builtin_memcpy(key.addr, &ip6->daddr, 16);
	if (!bpf_map_lookup_elem(&flb_dcp_addrs, &key))
		return to_pod(ctx, eth, inner, end, sizeof(*ip6), ip6->nexthdr == IPPROTO_IPV6,
			      true, key.addr);
	return strip(ctx, eth, inner, sizeof(*ip6),
		     bpf_htons(ip6->nexthdr == IPPROTO_IPV6 ? ETH_P_IPV6 : ETH_P_IP),
		     FLB_R_DECAP_OK);
}

SEC("xdp")
int decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip, *inner;
	__u32 hlen;

	if ((void *)(eth + 1) > end)
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return decap6(ctx, eth, end);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	/* A fragment of a tunnel packet (the balancer lets the kernel fragment
	 * IPv4 without DF): only the kernel can reassemble it, and decapsulate
	 * it where it has the ipip module. */
	if (ip->protocol != IPPROTO_IPIP || (ip->frag_off & bpf_htons(0x3fff)))
		return count_reason(FLB_R_DECAP_PASS_OTHER, XDP_PASS);
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || (void *)ip + hlen + sizeof(*inner) > end)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	inner = (void *)ip + hlen;
	if (inner->version != 4 || inner->ihl < 5)
		return count_reason(FLB_R_DECAP_BAD, XDP_PASS);
	if (!is_local(ip)) {
		__be32 pod[4] = { ip->daddr };

		return to_pod(ctx, eth, inner, end, hlen, false, false, pod);
	}
	if (chance_marked(ip, hlen, end)) /* a secondary named: bpf/chance_decap.h */
		return chance_decap(ctx, eth, ip, inner, end);
	return strip(ctx, eth, inner, hlen, bpf_htons(ETH_P_IP), FLB_R_DECAP_OK);
}
