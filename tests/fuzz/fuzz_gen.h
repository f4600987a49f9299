/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packets for the fuzz test: a deterministic random source, builders for
 * well-formed seed frames (IPv4 and IPv6 with TCP, UDP, ICMP, extension
 * headers, VLAN tags, ARP) and the mutations that turn a seed into hostile
 * input. A packet remembers where its headers are, so a mutation can aim at
 * a length field instead of a random byte. Written from the RFCs, not from
 * bpf/, so a parsing mistake there cannot shape what is tested here.
 */
#ifndef FLB_FUZZ_GEN_H
#define FLB_FUZZ_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FZ_FRAME_MAX 2048	/* largest frame made: 1514 plus tags */
#define FZ_RANDOM_MAX 1514	/* random frames: 14..1514 bytes */
#define FZ_MAX_EXT 32		/* IPv6 extension headers a packet records */
#define FZ_MAX_TARGETS 32

/* The MACs seeds carry: from the client to the balancer's NIC. The test's
 * namespace gives its NIC this address. */
#define FZ_MAC_NIC    "\x02\x00\x00\x00\x00\xa0"
#define FZ_MAC_CLIENT "\x02\x00\x00\x00\x00\xcc"

/* splitmix64: small, fast, and the same sequence on every machine. */
struct fz_rng {
	uint64_t s;
};

uint64_t fz_rand(struct fz_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t fz_below(struct fz_rng *r, uint32_t n);

struct fz_pkt {
	uint8_t b[FZ_FRAME_MAX];
	uint16_t len;
	uint16_t l3;		/* offset of the IP header; 0: none */
	uint16_t l4;		/* offset of the upper-layer header; 0: none */
	uint16_t quote;		/* ICMP errors: offset of the quoted IP header; 0: none */
	uint16_t hdr_end;	/* end of the last header the seed has */
	uint16_t ext[FZ_MAX_EXT]; /* IPv6 extension header offsets */
	uint8_t n_ext;
	uint8_t family;		/* 4, 6; 0: not IP */
	uint8_t proto;		/* upper-layer protocol */
	char what[96];		/* seed name and mutations, for reports */
};

/* A well-formed frame. Zero fields take the defaults named. */
struct fz_spec {
	const char *name;
	uint8_t family;		/* 4 or 6 */
	const char *src, *dst;	/* addresses as text */
	uint8_t proto;		/* IPPROTO_TCP (also 0), _UDP, _ICMP, _ICMPV6 or any other */
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t tcp_doff;	/* 0: 5; more adds NOP options */
	uint8_t ihl;		/* IPv4; 0: 5; more adds NOP options */
	uint16_t frag_off;	/* IPv4 flags + offset, host order; 0: DF */
	bool no_df;		/* IPv4: frag_off 0 (frag_off above must be 0) */
	uint16_t payload;	/* bytes after the upper-layer header */
	/* IPv6 extension headers, in order, before the upper layer. */
	uint8_t ext[FZ_MAX_EXT];
	uint8_t n_ext;
	uint16_t frag6_off;	/* fragment header (if in ext): offset << 3 | M */
	bool endless;		/* IPv6: hop-by-hop then destination options to the end */
	/* ICMP errors: type/code and the packet they quote, which went from
	 * dst (a VIP) back to quote_peer (a client) with the ports reversed. */
	uint8_t icmp_type, icmp_code;
	const char *quote_peer;
	uint8_t quote_proto;
	/* 802.1Q / 802.1ad tags, outermost first (TPIDs). */
	uint16_t tags[4];
	uint8_t n_tags;
};

/* Returns 0, or -1 when the spec does not fit or an address does not parse. */
int fz_build(const struct fz_spec *s, struct fz_pkt *p);
/* An ARP request "who has target, tell sender". */
int fz_build_arp(struct fz_pkt *p, const char *name, const char *sender, const char *target);

/* Where random frames and mutated addresses point now and then: the VIPs. */
struct fz_targets {
	uint8_t v4[FZ_MAX_TARGETS][4];
	size_t n_v4;
	uint8_t v6[FZ_MAX_TARGETS][16];
	size_t n_v6;
};

/* Systematic mutations of one seed, numbered 0..fz_systematic_count()-1:
 * the seed cut at every length 0..len-1, then every header byte of the seed
 * replaced by another value. */
size_t fz_systematic_count(const struct fz_pkt *seed);
void fz_systematic(struct fz_rng *r, const struct fz_pkt *seed, size_t i, struct fz_pkt *out);

/* One random hostile packet: a mutated seed (byte overwrites, length
 * fields, VLAN tags, endless chains, new flows, truncation, stacked) or a
 * random frame. */
void fz_random(struct fz_rng *r, const struct fz_pkt *seeds, size_t n_seeds,
	       const struct fz_targets *t, struct fz_pkt *out);

/* Parses hex (whitespace ignored) into a packet; -1 on bad input. */
int fz_from_hex(const char *hex, struct fz_pkt *p);
/* Prints "label <hex>" on one line: a reproducer to paste into FLB_FUZZ_REPLAY. */
void fz_print_hex(FILE *f, const char *label, const uint8_t *b, size_t len);

#endif
