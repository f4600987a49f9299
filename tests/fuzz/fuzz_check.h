/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The property checker of the fuzz test: given one input frame, the action
 * the balancer returned and the frame it left, says whether that outcome is
 * one a correct balancer may produce, and which shape it had. It knows the
 * configuration (VIPs, their backends, the encapsulation source prefixes,
 * the MACs of the test namespace) and nothing of bpf/: every rule is
 * written from the design and the RFCs, and holds for the IPv4-only
 * walking skeleton as for a dataplane with IPv6, VLAN and ICMP. The rules
 * are listed in fuzz_check.c, one function each.
 *
 * Pure and allocation-free, so it is cheap enough for every packet and can
 * be tested on hand-made outputs (test_fuzz.c does).
 */
#ifndef FLB_FUZZ_CHECK_H
#define FLB_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_MAX_VIEWS 64
#define FZ_MAX_VIEW_BACKENDS 16
#define FZ_MAX_MACS 16
#define FZ_WHY_LEN 320

struct fz_addr {
	uint8_t family;		/* 4 or 6 */
	uint8_t a[16];		/* network order; IPv4 in a[0..3] */
};

/* One configured service: its VIP address and its backends. */
struct fz_vip_view {
	struct fz_addr vip;
	struct fz_addr backends[FZ_MAX_VIEW_BACKENDS];
	size_t n_backends;
};

struct fz_world {
	struct fz_vip_view vips[FZ_MAX_VIEWS];
	size_t n_vips;
	uint8_t src4[2];	/* outer IPv4 source /16 */
	uint8_t src6[12];	/* outer IPv6 source /96 */
	uint8_t ingress_mac[6];	/* the NIC packets arrive on (XDP_TX leaves from it) */
	uint8_t egress_macs[FZ_MAX_MACS][6]; /* other NICs (XDP_REDIRECT) */
	size_t n_egress;
	uint8_t neigh_macs[FZ_MAX_MACS][6];  /* next hops the FIB may name */
	size_t n_neigh;
};

/* What an accepted output looked like; the batch check matches these
 * against the reason counters. */
enum fz_shape {
	FZ_UNCHANGED,	/* output == input */
	FZ_ENCAP,	/* input's IP packet behind one outer IPv4/IPv6 header */
	FZ_ICMP_REPLY,	/* our "too big" reply to the client */
	FZ_SHAPE_MAX
};

struct fz_verdict {
	bool ok;
	enum fz_shape shape;
	char why[FZ_WHY_LEN];		/* when !ok: the rule broken and how */
};

void fz_check(const struct fz_world *w, const uint8_t *in, size_t in_len, int action,
	      const uint8_t *out, size_t out_len, struct fz_verdict *v);

const char *fz_action_name(int action);
const char *fz_shape_name(enum fz_shape s);

#endif
