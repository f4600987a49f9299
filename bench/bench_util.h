/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small helpers shared by the benchmark drivers: a monotonic clock,
 * statistics over rounds (min, median, percentiles), a packet builder that
 * also does IPv6 and ICMP "too big" (tests/lib/pkt.h is IPv4 only), and a
 * shell-command runner for namespace setup.
 */
#ifndef FLB_BENCH_UTIL_H
#define FLB_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

uint64_t now_ns(void);

/* Sorts v in place. */
double stat_min(double *v, size_t n);
double stat_median(double *v, size_t n);
/* p in [0, 100], nearest rank. */
double stat_pct(double *v, size_t n, double p);

/* Runs cmd with sh -c; logs and returns its status when not 0. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

enum bp_kind { BP_TCP, BP_UDP, BP_ICMP_TOO_BIG };

struct bpkt {
	int v6;                  /* 0: IPv4, 1: IPv6 */
	enum bp_kind kind;
	uint8_t smac[6], dmac[6];
	uint8_t saddr[16], daddr[16]; /* network order; IPv4 in the first 4 */
	uint16_t sport, dport;   /* host order */
	uint8_t tcp_flags;
	size_t payload;
	/*
	 * ICMP too big: the message goes from saddr (a router) to daddr (the
	 * VIP) and quotes a packet the VIP sent: inner source = daddr:dport,
	 * inner destination = isaddr:sport (the client). mtu is the next-hop
	 * MTU it announces.
	 */
	uint8_t isaddr[16];
	uint16_t mtu;
};

/* Returns the frame length, or 0 when buf is too small. Checksums valid. */
size_t bpkt_build(const struct bpkt *p, uint8_t *buf, size_t len);
/* Offset in the frame of the last 32 bits of the (outer) source address. */
size_t bpkt_saddr_off(const struct bpkt *p);

#endif
