/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the benchmark's BPF programs (bench/bpf/) and their drivers share:
 * the packet-restoring wrapper's settings (bwrap) and the forwarding
 * benchmark's generator settings and sink counters (bfwd). Compiled by
 * clang -target bpf and by gcc, so only <linux/types.h> types.
 */
#ifndef FLB_BENCH_ABI_H
#define FLB_BENCH_ABI_H

#include <linux/types.h>

#define BW_PKT_MAX 256

/* bw_jmp slots: what the wrapper tail-calls. */
enum { BW_SLOT_EMPTY = 0, BW_SLOT_PARSE = 1, BW_SLOT_BALANCER = 2,
       BW_SLOT_BASE = 3, /* bench_dp -b: a baseline build of the balancer */
       BW_SLOT_PCPU = 4, /* bench_dp -p: the per-CPU-LRU conntrack build */
       BW_SLOT_SHARED = 5, /* bench_dp -s: this build again, own conntrack */
       BW_SLOTS = 6 };

/*
 * bw_cfg[0]: the packet the wrapper writes over the frame before every
 * iteration, and an optional per-iteration rewrite of one 32-bit field (a
 * source address): value base + ctr (a new flow every packet) or
 * base + ctr % nflows (cycling over nflows flows). ctr counts iterations.
 */
struct bw_cfg {
	__u32 slot;    /* bw_jmp index */
	__u32 len;     /* bytes of pkt[] that make the frame */
	__u32 off;     /* 0: no rewrite; else offset of the field in the frame */
	__u32 nflows;  /* 0: base + ctr; else base + ctr % nflows */
	__u32 base;    /* host order */
	__u32 ctr;
	/*
	 * Set in bw_cfg[0] only: use bw_cfg[1 + cpu] instead, the calling CPU's
	 * (bench_dp's multi-CPU row, one pinned thread per CPU). Not the
	 * default, because BPF_PROG_TEST_RUN may move a run to another CPU at
	 * a reschedule point, which would restart a per-CPU counter.
	 */
	__u32 per_cpu;
	__u32 pad;
	__u8 pkt[BW_PKT_MAX];
};
#define BW_MAX_CPUS 64

/* bw_cnt[]: per-CPU counters of the wrapper and the parse-only program. */
enum { BW_C_PARSED = 0, BW_C_PARSE_FAIL, BW_C_WRAP_FAIL, BW_C_TAIL_FAIL, BW_C_MAX };

/* The generator's settings (a global of bfwd, written before each run). */
struct bf_gen_cfg {
	__u8 dmac[6];
	__u8 smac[6];
	__be32 daddr;
	__u32 saddr;   /* host order: first client address, + flow index */
	__u32 nflows;  /* power of two */
	__u32 ctr;
	__be16 dport;
	__u8 proto;    /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 syn;      /* TCP: 1: SYNs from scattered flows (a SYN flood), 0: ACKs */
};

/* bf_kinds[] (counted by bf_sink): what reached the generator's side again, by kind. */
enum { BF_K_IPIP = 0, BF_K_TO_VIP, BF_K_TO_BACKEND, BF_K_OTHER, BF_K_MAX };

#endif
