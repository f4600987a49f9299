/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small packet builder for the BPF tests: Ethernet + IPv4 (any IHL) +
 * TCP or UDP with correct checksums, from a spec whose fields default to
 * something sane when zero. Also the RFC 1071 checksum the tests use to
 * check what the program wrote, computed independently of bpf/csum.h.
 */
#ifndef FLB_TEST_PKT_H
#define FLB_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "flb_abi.h"

struct pkt_spec {
	uint8_t smac[6], dmac[6];
	uint16_t ethertype;   /* host order; 0: IPv4 */
	uint32_t saddr, daddr;/* network order */
	uint8_t proto;        /* IPPROTO_TCP (0 means TCP) or IPPROTO_UDP or other */
	uint8_t ihl;          /* 0: 5 */
	uint8_t tos;
	uint8_t ttl;          /* 0: 64 */
	uint16_t ip_id;       /* host order */
	uint16_t frag_off;    /* host order, flags included (0x4000 = DF) */
	uint16_t sport, dport;/* host order */
	uint8_t tcp_flags;    /* 0x02 SYN, 0x10 ACK ... */
	size_t payload;       /* bytes of payload after the L4 header */
	uint16_t vlan;        /* 802.1Q TCI; 0: untagged */
	uint16_t vlan2;       /* a second (inner) tag: QinQ */
	/* IPv6 instead of IPv4 when v6 is set. */
	int v6;
	uint8_t saddr6[16], daddr6[16];
	uint8_t ext[8];       /* extension headers before L4: 0, 43, 60 (8 bytes each) or 44 */
	int n_ext;
	uint16_t frag6_off;   /* for an ext 44: offset in 8-byte units << 3 | M */
	uint32_t frag6_id;
};

/* Returns the frame length, or 0 when buf is too small. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t len);

/* The flow key the balancer derives from such a packet. */
void pkt_flow(const struct pkt_spec *s, struct flb_flow *flow);

uint16_t csum_rfc1071(const void *data, size_t len);

/* An ICMP (IPv4) or ICMPv6 error from `outer` (addresses, MACs, v6 flag)
 * quoting qlen bytes of an IP packet; mtu goes in the MTU field of
 * "fragmentation needed" / "packet too big". Returns the frame length. */
size_t pkt_icmp_error(const struct pkt_spec *outer, uint8_t type, uint8_t code, uint32_t mtu,
		      const uint8_t *quote, size_t qlen, uint8_t *buf, size_t len);

#endif
