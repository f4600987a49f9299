/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flow hash: one function compiled into the balancer and into userspace
 * (tests, the CLI's `which`), so both compute exactly the slot the kernel
 * picks. MurmurHash3's 32-bit mixing over the words of struct flb_flow that
 * the family uses (IPv4: 4 words, IPv6: 10), seedless and fixed: changing it
 * moves every flow that has no conntrack entry, on every node.
 *
 * Words are read in host order from the key as stored (addresses and ports
 * in network order), so nodes must share endianness to agree; every
 * supported target is little-endian.
 */
#ifndef FLB_HASH_H
#define FLB_HASH_H

#include <linux/types.h>
#include "flb_abi.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define FLB_HASH_VERSION 1

static __always_inline __u32 flb_rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

static __always_inline __u32 flb_hash_mix(__u32 h, __u32 k)
{
	k *= 0xcc9e2d51;
	k = flb_rotl32(k, 15);
	k *= 0x1b873593;
	h ^= k;
	h = flb_rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 flb_hash_final(__u32 h, __u32 len)
{
	h ^= len;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Word 8 of struct flb_flow is (sport, dport), word 9 (proto, family, pad). */
static __always_inline __u32 flb_flow_hash(const struct flb_flow *f)
{
	const __u32 *w = (const __u32 *)f;
	__u32 h = 0;

	if (f->family == FLB_AF_INET) {
		h = flb_hash_mix(h, f->src[0]);
		h = flb_hash_mix(h, f->dst[0]);
		h = flb_hash_mix(h, w[8]);
		h = flb_hash_mix(h, w[9]);
		return flb_hash_final(h, 16);
	}
#ifdef __clang__
#pragma unroll
#endif
	for (int i = 0; i < 10; i++)
		h = flb_hash_mix(h, w[i]);
	return flb_hash_final(h, 40);
}

#endif
