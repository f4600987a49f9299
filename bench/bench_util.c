// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark helpers (see bench_util.h). The packet builder writes every
 * header by hand from the RFCs (791, 8200, 793, 768, 792/1191, 4443) so it
 * does not depend on the code it measures.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double stat_min(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n ? v[0] : 0;
}

double stat_median(double *v, size_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double stat_pct(double *v, size_t n, double p)
{
	size_t rank;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_d);
	rank = (size_t)(p / 100.0 * n + 0.999999);
	if (rank < 1)
		rank = 1;
	return v[(rank > n ? n : rank) - 1];
}

int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc)
		fprintf(stderr, "bench: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static uint32_t sum16(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* IP header at ip (no checksum for IPv6), returns its length. */
static size_t ip_hdr(uint8_t *ip, int v6, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		     size_t l4_len)
{
	if (v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, l4_len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		return 40;
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + l4_len);
	put16(ip + 4, 0x1234);
	put16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	{
		uint16_t c = fold(sum16(ip, 20, 0));

		memcpy(ip + 10, &c, 2);
	}
	return 20;
}

/* TCP or UDP header + payload at l4 with the checksum over the pseudo
 * header; returns its length. */
static size_t l4_hdr(uint8_t *l4, int v6, const uint8_t *src, const uint8_t *dst, int tcp,
		     uint16_t sport, uint16_t dport, uint8_t flags, size_t payload)
{
	size_t hl = tcp ? 20 : 8, len = hl + payload, alen = v6 ? 16 : 4;
	uint32_t sum;
	uint16_t c;

	memset(l4, 0, len);
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (tcp) {
		l4[7] = 1;            /* seq 1 */
		l4[12] = 5 << 4;      /* doff 5 */
		l4[13] = flags;
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, len);
	}
	for (size_t i = 0; i < payload; i++)
		l4[hl + i] = (uint8_t)i;
	sum = sum16(src, alen, 0);
	sum = sum16(dst, alen, sum);
	sum += (tcp ? 6 : 17) + len;
	sum = sum16(l4, len, sum);
	c = fold(sum);
	memcpy(l4 + (tcp ? 16 : 6), &c, 2);
	return len;
}

size_t bpkt_build(const struct bpkt *p, uint8_t *buf, size_t len)
{
	size_t need = 14 + 40 + 8 + 40 + 20 + 8, l4_len, n;
	uint8_t *ip = buf + 14, *l4;
	int tcp = p->kind == BP_TCP;

	if (p->kind != BP_ICMP_TOO_BIG)
		need += p->payload; /* ICMP quotes only the headers of its packet */
	if (len < need)
		return 0;
	memcpy(buf, p->dmac, 6);
	memcpy(buf + 6, p->smac, 6);
	put16(buf + 12, p->v6 ? 0x86dd : 0x0800);
	l4 = ip + (p->v6 ? 40 : 20);

	if (p->kind != BP_ICMP_TOO_BIG) {
		l4_len = l4_hdr(l4, p->v6, p->saddr, p->daddr, tcp, p->sport, p->dport,
				p->tcp_flags, p->payload);
		return 14 + ip_hdr(ip, p->v6, p->saddr, p->daddr, tcp ? 6 : 17, l4_len) + l4_len;
	}

	/* ICMP header (8 bytes) quoting the VIP's packet: its IP header and
	 * the first 8 bytes of its TCP header (all RFC 792 promises). */
	{
		uint8_t *inner = l4 + 8, *iport;
		size_t ihl;

		memset(l4, 0, 8);
		if (p->v6) {
			l4[0] = 2;  /* ICMPv6 packet too big */
			put16(l4 + 6, p->mtu);
		} else {
			l4[0] = 3;  /* destination unreachable */
			l4[1] = 4;  /* fragmentation needed and DF set */
			put16(l4 + 6, p->mtu);
		}
		ihl = ip_hdr(inner, p->v6, p->daddr, p->isaddr, 6, 20 + p->payload);
		iport = inner + ihl;
		memset(iport, 0, 8);
		put16(iport, p->dport);
		put16(iport + 2, p->sport);
		iport[7] = 1;
		l4_len = 8 + ihl + 8;
		if (p->v6) {
			uint32_t sum = sum16(p->saddr, 16, 0);
			uint16_t c;

			sum = sum16(p->daddr, 16, sum);
			sum += 58 + l4_len;
			sum = sum16(l4, l4_len, sum);
			c = fold(sum);
			memcpy(l4 + 2, &c, 2);
		} else {
			uint16_t c = fold(sum16(l4, l4_len, 0));

			memcpy(l4 + 2, &c, 2);
		}
		n = ip_hdr(ip, p->v6, p->saddr, p->daddr, p->v6 ? 58 : 1, l4_len);
		return 14 + n + l4_len;
	}
}

size_t bpkt_saddr_off(const struct bpkt *p)
{
	return p->v6 ? 14 + 8 + 12 : 14 + 12;
}
