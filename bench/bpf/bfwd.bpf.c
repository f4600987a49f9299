// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The forwarding benchmark's own XDP programs (Debian's xdp-bench and
 * xdp-trafficgen do not load on this kernel):
 *
 *   bf_gen     the traffic generator, run by BPF_PROG_TEST_RUN with
 *              BPF_F_TEST_XDP_LIVE_FRAMES: frames are recycled page-pool
 *              buffers that keep what the last run wrote, so every header
 *              byte is written fresh in every frame. XDP_TX in live mode
 *              sends the frame out of the ingress interface. With
 *              gen.syn, TCP SYNs from scattered sources: bench_fwd -F, the
 *              SYN flood of tests/e2e/test_flood.sh.
 *   bf_txswap  the XDP_TX ceiling: swap the MAC addresses, send back.
 *   bf_pass    XDP_PASS (veth needs an XDP program on the receiving side
 *              for XDP_TX/redirected frames to arrive; the iptables
 *              baseline uses it to reach the stack).
 *   bf_drop    XDP_DROP (the generator's own ceiling).
 *   bf_sink    on the generator's side: counts what came back by kind and
 *              drops it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define GEN_LEN 60 /* 64-byte frames on the wire, less the FCS */

struct bf_gen_cfg gen;
__be32 sink_vip;
__be32 sink_be_net, sink_be_mask; /* backends' prefix */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BF_K_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bf_kinds SEC(".maps");

static __always_inline __u16 ip_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

SEC("xdp")
int bf_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	void *l4 = ip + 1;
	__u32 n, flow;

	if (data + GEN_LEN > end)
		return XDP_ABORTED;
	n = gen.ctr++;
	/* A SYN flood scatters its sources: an odd multiplier permutes the
	 * flows of a cycle (each still sent once per nflows frames). */
	flow = (gen.syn ? n * 2654435761u : n) & (gen.nflows - 1);

	__builtin_memcpy(eth->h_dest, gen.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, gen.smac, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(GEN_LEN - ETH_HLEN);
	ip->id = bpf_htons(n);
	ip->frag_off = 0;
	ip->ttl = 64;
	ip->protocol = gen.proto;
	ip->check = 0;
	ip->saddr = bpf_htonl(gen.saddr + flow);
	ip->daddr = gen.daddr;
	ip->check = ip_csum(ip);

	if (gen.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		__builtin_memset(th, 0, sizeof(*th));
		th->source = bpf_htons(10000 + (flow & 0x3fff));
		th->dest = gen.dport;
		th->seq = bpf_htonl(n);
		th->ack_seq = bpf_htonl(gen.syn ? 0 : 1);
		th->doff = 5;
		th->syn = gen.syn;
		th->ack = !gen.syn;
		th->window = bpf_htons(65535);
		/* Checksum left 0: neither XDP path checks it, and the iptables
		 * baseline runs with nf_conntrack_checksum=0 (bench/run.sh). */
	} else {
		struct udphdr *uh = l4;

		uh->source = bpf_htons(10000 + (flow & 0x3fff));
		uh->dest = gen.dport;
		uh->len = bpf_htons(GEN_LEN - ETH_HLEN - sizeof(*ip));
		uh->check = 0; /* none: allowed for UDP over IPv4 */
	}
	return XDP_TX;
}

SEC("xdp")
int bf_txswap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int bf_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int bf_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int bf_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 kind = BF_K_OTHER;
	__u64 *v;

	if ((void *)(ip + 1) <= end && eth->h_proto == bpf_htons(ETH_P_IP)) {
		if (ip->protocol == IPPROTO_IPIP)
			kind = BF_K_IPIP;
		else if (ip->daddr == sink_vip)
			kind = BF_K_TO_VIP;
		else if ((ip->daddr & sink_be_mask) == sink_be_net)
			kind = BF_K_TO_BACKEND;
	}
	v = bpf_map_lookup_elem(&bf_kinds, &kind);
	if (v)
		*v += 1;
	return XDP_DROP;
}
