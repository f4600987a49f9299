/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internet checksum (RFC 1071) for headers we build ourselves: the 20-byte
 * IPv4 header, and the ICMP/ICMPv6 messages of the "too big" replies (a
 * bounded loop over the packet, re-checking bounds at every word so the
 * verifier can follow it).
 */
#ifndef FLB_CSUM_H
#define FLB_CSUM_H

#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

#define CSUM_MAX_WORDS 160 /* the longest message we sum: 8 + 256 bytes + slack */

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* Folds a sum of up to 2^32 16-bit words (or of 32-bit words: the
 * one's-complement sum does not care how the bytes are grouped). */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	return csum_fold((__u32)sum);
}

static __always_inline __u16 ipv4_hdr_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Adds `words` 16-bit words from start (inside the packet) to sum. */
static __always_inline __u32 csum_add_words(void *start, void *end, __u32 words, __u32 sum)
{
	__u16 *w = start;

	for (int i = 0; i < CSUM_MAX_WORDS; i++) {
		if (i >= (int)words || (void *)(w + 1) > end)
			break;
		sum += *w;
		w++;
	}
	return sum;
}

#endif
