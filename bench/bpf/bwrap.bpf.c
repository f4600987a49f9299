// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-packet cost through BPF_PROG_TEST_RUN without the repeat > 1 trap
 * (the kernel does not reset the frame between iterations, so a naive loop
 * times the balancer on its own encapsulated output). bw_run restores the
 * original frame before every iteration: it moves the head back to where
 * the original started (the balancer grows it by one outer header), writes
 * the stored packet over it, optionally rewrites a source address so that
 * iterations cycle over many flows or make a new flow each, and tail-calls
 * the program under test through bw_jmp. Its own cost is timed by the same
 * wrapper tail-calling bw_empty, and subtracted by the driver
 * (bench/bench_dp.c).
 *
 * bw_parse is the parse-only floor: Ethernet, IPv4 or IPv6, TCP or UDP
 * ports, one per-CPU counter, XDP_PASS; what any program that reads a
 * 5-tuple and counts must pay. Written here rather than reusing bpf/parse.h
 * so that the floor does not move with the balancer's code.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 + BW_MAX_CPUS);
	__type(key, __u32);
	__type(value, struct bw_cfg);
} bw_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, BW_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} bw_jmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BW_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} bw_cnt SEC(".maps");

static __always_inline int count(__u32 idx, int action)
{
	__u64 *v = bpf_map_lookup_elem(&bw_cnt, &idx);

	if (v)
		*v += 1;
	return action;
}

SEC("xdp")
int bw_run(struct xdp_md *ctx)
{
	struct bw_cfg *c;
	__u32 zero = 0, len, off, n;
	__be32 v;
	int cur;

	c = bpf_map_lookup_elem(&bw_cfg, &zero);
	if (c && c->per_cpu) {
		__u32 key = 1 + bpf_get_smp_processor_id();

		c = key <= BW_MAX_CPUS ? bpf_map_lookup_elem(&bw_cfg, &key) : NULL;
	}
	if (!c)
		return count(BW_C_WRAP_FAIL, XDP_ABORTED);
	len = c->len;
	if (len < ETH_HLEN || len > BW_PKT_MAX)
		return count(BW_C_WRAP_FAIL, XDP_ABORTED);
	/* data_end never moves (the balancer only grows the head), so the
	 * original frame is the last len bytes before it. */
	cur = bpf_xdp_get_buff_len(ctx);
	if (bpf_xdp_adjust_head(ctx, cur - (int)len))
		return count(BW_C_WRAP_FAIL, XDP_ABORTED);
	if (bpf_xdp_store_bytes(ctx, 0, c->pkt, len))
		return count(BW_C_WRAP_FAIL, XDP_ABORTED);
	off = c->off;
	if (off) {
		n = c->ctr++;
		if (c->nflows)
			n %= c->nflows;
		v = bpf_htonl(c->base + n);
		if (bpf_xdp_store_bytes(ctx, off & (BW_PKT_MAX - 1), &v, sizeof(v)))
			return count(BW_C_WRAP_FAIL, XDP_ABORTED);
	}
	bpf_tail_call(ctx, &bw_jmp, c->slot);
	return count(BW_C_TAIL_FAIL, XDP_ABORTED);
}

SEC("xdp")
int bw_empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

struct ports {
	__be16 src;
	__be16 dst;
};

SEC("xdp")
int bw_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ports *l4;
	__u8 proto, *ip;
	__u32 hlen;

	if ((void *)(eth + 1) > end)
		return count(BW_C_PARSE_FAIL, XDP_PASS);
	ip = (void *)(eth + 1);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		if ((void *)(ip + 20) > end)
			return count(BW_C_PARSE_FAIL, XDP_PASS);
		hlen = (ip[0] & 0xf) * 4;
		if (hlen < 20 || (void *)ip + hlen > end)
			return count(BW_C_PARSE_FAIL, XDP_PASS);
		proto = ip[9];
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		if ((void *)(ip + 40) > end)
			return count(BW_C_PARSE_FAIL, XDP_PASS);
		hlen = 40;
		proto = ip[6];
	} else {
		return count(BW_C_PARSE_FAIL, XDP_PASS);
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return count(BW_C_PARSE_FAIL, XDP_PASS);
	l4 = (void *)ip + hlen;
	if ((void *)(l4 + 1) > end)
		return count(BW_C_PARSE_FAIL, XDP_PASS);
	/* Use the ports so the loads stay (our packets never have equal ports). */
	if (l4->src == l4->dst)
		return count(BW_C_PARSE_FAIL, XDP_PASS);
	return count(BW_C_PARSED, XDP_PASS);
}
