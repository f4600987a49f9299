// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Seed builders and mutations for the fuzz test (see fuzz_gen.h). Seeds are
 * correct frames, checksums included, so that an unmutated seed takes the
 * path it was made for; mutations then break exactly one thing or several.
 * Checksums are not repaired after a mutation: the balancer never verifies
 * them, and a stale checksum is one more thing a hostile packet can carry.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>

#include "fuzz_gen.h"
#include "pkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_NONE 59
#define NH_DSTOPTS 60

uint64_t fz_rand(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
	return (uint32_t)(((fz_rand(r) >> 32) * n) >> 32);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void note(struct fz_pkt *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fz_pkt *p, const char *fmt, ...)
{
	size_t used = strlen(p->what);
	va_list ap;

	if (used + 1 >= sizeof(p->what))
		return;
	va_start(ap, fmt);
	vsnprintf(p->what + used, sizeof(p->what) - used, fmt, ap);
	va_end(ap);
}

/* ---- checksums (RFC 1071 via tests/lib, pseudo headers here) ---- */

static uint16_t l4_csum(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
			const uint8_t *l4, size_t l4len)
{
	uint8_t buf[FZ_FRAME_MAX + 40];
	size_t n = 0;

	memcpy(buf, src, alen);
	memcpy(buf + alen, dst, alen);
	n = 2 * alen;
	if (alen == 4) { /* RFC 793: zero, protocol, 16-bit length */
		buf[n++] = 0;
		buf[n++] = proto;
		wr16(buf + n, (uint16_t)l4len);
		n += 2;
	} else { /* RFC 8200 8.1: 32-bit length, 3 zero bytes, next header */
		buf[n++] = 0;
		buf[n++] = 0;
		wr16(buf + n, (uint16_t)l4len);
		n += 2;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = 0;
		buf[n++] = proto;
	}
	memcpy(buf + n, l4, l4len);
	return csum_rfc1071(buf, n + l4len);
}

/* ---- builders ---- */

static int put_l2(const struct fz_spec *s, struct fz_pkt *p, uint16_t type)
{
	size_t off = 12;

	memcpy(p->b, FZ_MAC_NIC, 6);
	memcpy(p->b + 6, FZ_MAC_CLIENT, 6);
	for (size_t i = 0; i < s->n_tags && i < ARRAY_SIZE(s->tags); i++) {
		wr16(p->b + off, s->tags[i]);
		wr16(p->b + off + 2, (uint16_t)(100 + i)); /* PCP 0, VID 100.. */
		off += 4;
	}
	wr16(p->b + off, type);
	return (int)off + 2;
}

/* The 8 bytes after an ICMP header that quote a packet from the VIP. */
static size_t put_quote(const struct fz_spec *s, struct fz_pkt *p, uint8_t *q)
{
	uint8_t proto = s->quote_proto ? s->quote_proto : IPPROTO_TCP;
	uint16_t c;
	size_t n;

	if (s->family == 4) {
		q[0] = 0x45;
		wr16(q + 2, 20 + 40);
		q[6] = 0x40;
		q[8] = 63;
		q[9] = proto;
		inet_pton(AF_INET, s->dst, q + 12);        /* from the VIP */
		inet_pton(AF_INET, s->quote_peer, q + 16); /* to the client */
		c = csum_rfc1071(q, 20);
		memcpy(q + 10, &c, 2);
		n = 20;
	} else {
		q[0] = 0x60;
		wr16(q + 4, 40);
		q[6] = proto;
		q[7] = 63;
		inet_pton(AF_INET6, s->dst, q + 8);
		inet_pton(AF_INET6, s->quote_peer, q + 24);
		n = 40;
	}
	p->quote = (uint16_t)(q - p->b);
	wr16(q + n, s->dport);     /* the VIP's port ... */
	wr16(q + n + 2, s->sport); /* ... to the client's */
	q[n + 7] = 1;
	return n + 8;
}

/* Upper-layer header and payload at l4; returns its length. */
static size_t put_l4(const struct fz_spec *s, struct fz_pkt *p, uint8_t proto, uint8_t *l4)
{
	size_t n = 0;

	switch (proto) {
	case IPPROTO_TCP: {
		uint8_t doff = s->tcp_doff ? s->tcp_doff : 5;

		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		l4[7] = 1; /* seq 1 */
		l4[12] = (uint8_t)(doff << 4);
		l4[13] = s->tcp_flags;
		wr16(l4 + 14, 0xffff);
		for (size_t i = 20; i < doff * 4u; i++)
			l4[i] = 1; /* NOP */
		n = doff * 4u;
		p->hdr_end = (uint16_t)(l4 - p->b + n);
		break;
	}
	case IPPROTO_UDP:
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
		n = 8;
		p->hdr_end = (uint16_t)(l4 - p->b + n);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		n = 8;
		if (s->quote_peer) {
			if ((s->family == 4 && s->icmp_type == 3 && s->icmp_code == 4) ||
			    (s->family == 6 && s->icmp_type == 2))
				wr16(l4 + 6, 1400); /* next-hop MTU */
			n += put_quote(s, p, l4 + 8);
		} else {
			wr16(l4 + 4, 0x4242); /* echo id */
			wr16(l4 + 6, 1);      /* echo sequence */
		}
		p->hdr_end = (uint16_t)(l4 - p->b + n);
		break;
	default:
		p->hdr_end = (uint16_t)(l4 - p->b);
		break;
	}
	for (size_t i = 0; i < s->payload; i++)
		l4[n + i] = (uint8_t)(i * 7 + 1);
	return n + s->payload;
}

static void l4_checksum(struct fz_pkt *p, const uint8_t *src, const uint8_t *dst, size_t alen,
			uint8_t proto, uint8_t *l4, size_t l4len)
{
	size_t at = proto == IPPROTO_TCP ? 16 : proto == IPPROTO_UDP ? 6 : 2;
	uint16_t c;

	(void)p;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_ICMPV6)
		c = l4_csum(src, dst, alen, proto, l4, l4len);
	else if (proto == IPPROTO_ICMP)
		c = csum_rfc1071(l4, l4len);
	else
		return;
	memcpy(l4 + at, &c, 2);
}

static int build_ipv4(const struct fz_spec *s, struct fz_pkt *p, uint8_t proto)
{
	uint8_t *ip = p->b + p->l3, *l4;
	size_t ihl = s->ihl ? s->ihl : 5, l4len;
	uint16_t c;

	ip[0] = (uint8_t)(0x40 | ihl);
	wr16(ip + 4, 0x1234);
	wr16(ip + 6, s->frag_off ? s->frag_off : s->no_df ? 0 : 0x4000);
	ip[8] = 64;
	ip[9] = proto;
	if (inet_pton(AF_INET, s->src, ip + 12) != 1 || inet_pton(AF_INET, s->dst, ip + 16) != 1)
		return -1;
	for (size_t i = 20; i < ihl * 4; i++)
		ip[i] = 1; /* NOP */
	l4 = ip + ihl * 4;
	p->l4 = (uint16_t)(l4 - p->b);
	l4len = put_l4(s, p, proto, l4);
	wr16(ip + 2, (uint16_t)(ihl * 4 + l4len));
	c = csum_rfc1071(ip, ihl * 4);
	memcpy(ip + 10, &c, 2);
	l4_checksum(p, ip + 12, ip + 16, 4, proto, l4, l4len);
	p->len = (uint16_t)(l4 + l4len - p->b);
	return 0;
}

/* One extension header of type t at h; returns its length. */
static size_t put_ext(const struct fz_spec *s, uint8_t t, uint8_t next, uint8_t *h)
{
	h[0] = next;
	switch (t) {
	case NH_FRAGMENT:
		wr16(h + 2, s->frag6_off);
		h[7] = 0x77; /* identification */
		return 8;
	case NH_AH: /* RFC 4302: length in 4-byte units minus 2; 12 bytes of ICV */
		h[1] = 4;
		h[7] = 1; /* SPI */
		h[11] = 1; /* sequence */
		return 24;
	case NH_ROUTING:
		h[2] = 253; /* experimental routing type (RFC 4727), segments left 0 */
		return 8;
	default: /* hop-by-hop, destination options: one PadN option */
		h[2] = 1;
		h[3] = 4;
		return 8;
	}
}

static int build_ipv6(const struct fz_spec *s, struct fz_pkt *p, uint8_t proto)
{
	uint8_t *ip = p->b + p->l3, *h = ip + 40, *l4;
	size_t l4len;

	ip[0] = 0x60;
	ip[7] = 64;
	if (inet_pton(AF_INET6, s->src, ip + 8) != 1 || inet_pton(AF_INET6, s->dst, ip + 24) != 1)
		return -1;
	if (s->endless) {
		/* Hop-by-hop, then destination options naming destination
		 * options as next, filling every byte of the payload. */
		size_t n = (s->payload + 7) / 8;

		ip[6] = NH_HOP;
		for (size_t i = 0; i < n && h + 8 <= p->b + FZ_FRAME_MAX; i++, h += 8) {
			put_ext(s, NH_DSTOPTS, NH_DSTOPTS, h);
			if (p->n_ext < FZ_MAX_EXT)
				p->ext[p->n_ext++] = (uint16_t)(h - p->b);
		}
		wr16(ip + 4, (uint16_t)(h - ip - 40));
		p->len = (uint16_t)(h - p->b);
		p->hdr_end = p->len;
		p->proto = NH_DSTOPTS;
		return 0;
	}
	ip[6] = s->n_ext ? s->ext[0] : proto;
	for (size_t i = 0; i < s->n_ext; i++) {
		uint8_t next = i + 1 < s->n_ext ? s->ext[i + 1] : proto;

		if (p->n_ext < FZ_MAX_EXT)
			p->ext[p->n_ext++] = (uint16_t)(h - p->b);
		h += put_ext(s, s->ext[i], next, h);
	}
	l4 = h;
	p->l4 = (uint16_t)(l4 - p->b);
	l4len = put_l4(s, p, proto, l4);
	wr16(ip + 4, (uint16_t)(l4 + l4len - ip - 40));
	l4_checksum(p, ip + 8, ip + 24, 16, proto, l4, l4len);
	p->len = (uint16_t)(l4 + l4len - p->b);
	return 0;
}

int fz_build(const struct fz_spec *s, struct fz_pkt *p)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	int rc;

	/* Room for 60-byte headers, 40 of extensions per entry and payload. */
	if (s->payload + 14 + 16 + 40 + 24 * (size_t)s->n_ext + 60 + 48 > FZ_FRAME_MAX)
		return -1;
	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", s->name ? s->name : "seed");
	p->family = s->family;
	p->proto = proto;
	p->l3 = (uint16_t)put_l2(s, p, s->family == 6 ? 0x86dd : 0x0800);
	rc = s->family == 6 ? build_ipv6(s, p, proto) : build_ipv4(s, p, proto);
	return rc;
}

int fz_build_arp(struct fz_pkt *p, const char *name, const char *sender, const char *target)
{
	uint8_t *a = p->b + 14;

	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", name);
	memset(p->b, 0xff, 6);
	memcpy(p->b + 6, FZ_MAC_CLIENT, 6);
	wr16(p->b + 12, 0x0806);
	wr16(a, 1);          /* Ethernet */
	wr16(a + 2, 0x0800); /* IPv4 */
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, 1);      /* request */
	memcpy(a + 8, FZ_MAC_CLIENT, 6);
	if (inet_pton(AF_INET, sender, a + 14) != 1 || inet_pton(AF_INET, target, a + 24) != 1)
		return -1;
	p->len = 60;         /* padded to the Ethernet minimum */
	p->hdr_end = 14 + 28;
	return 0;
}

/* ---- mutations ---- */

static void fill_random(struct fz_rng *r, uint8_t *b, size_t n)
{
	while (n >= 8) {
		uint64_t v = fz_rand(r);

		memcpy(b, &v, 8);
		b += 8;
		n -= 8;
	}
	if (n) {
		uint64_t v = fz_rand(r);

		memcpy(b, &v, n);
	}
}

/* A byte value a parser is likely to get wrong. */
static uint8_t edgy_byte(struct fz_rng *r)
{
	static const uint8_t v[] = { 0x00, 0x01, 0x04, 0x05, 0x06, 0x0f, 0x10, 0x3f, 0x40,
				     0x45, 0x4f, 0x60, 0x7f, 0x80, 0x81, 0xfe, 0xff };

	return fz_below(r, 2) ? v[fz_below(r, ARRAY_SIZE(v))] : (uint8_t)fz_rand(r);
}

static bool is_tpid(uint16_t t)
{
	return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

static void shift_offsets(struct fz_pkt *p, uint16_t at, int by)
{
	uint16_t *offs[] = { &p->l3, &p->l4, &p->quote, &p->hdr_end };

	for (size_t i = 0; i < ARRAY_SIZE(offs); i++)
		if (*offs[i] && *offs[i] >= at)
			*offs[i] = (uint16_t)(*offs[i] + by);
	for (size_t i = 0; i < p->n_ext; i++)
		if (p->ext[i] >= at)
			p->ext[i] = (uint16_t)(p->ext[i] + by);
}

static bool insert(struct fz_pkt *p, uint16_t at, const uint8_t *bytes, uint16_t n)
{
	if (at > p->len || p->len + n > FZ_FRAME_MAX)
		return false;
	memmove(p->b + at + n, p->b + at, p->len - at);
	memcpy(p->b + at, bytes, n);
	p->len = (uint16_t)(p->len + n);
	shift_offsets(p, at, n);
	return true;
}

static void truncate_to(struct fz_pkt *p, uint16_t len)
{
	if (len < p->len)
		p->len = len;
}

/* 1-4 bytes anywhere in the first 80 overwritten. */
static void mut_bytes(struct fz_rng *r, struct fz_pkt *p)
{
	uint32_t n = 1 + fz_below(r, 4), span = p->len < 80 ? p->len : 80;

	if (!span)
		return;
	note(p, " +bytes");
	for (uint32_t i = 0; i < n; i++) {
		uint32_t at = fz_below(r, span);

		p->b[at] = edgy_byte(r);
		note(p, "[%u]=%02x", at, p->b[at]);
	}
}

/* A 16-bit length near the edges that matter for a header of hdr bytes
 * in a packet whose right value is actual. */
static uint16_t edgy_len(struct fz_rng *r, uint16_t hdr, uint16_t actual)
{
	switch (fz_below(r, 12)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return (uint16_t)(hdr - 1);
	case 3: return hdr;
	case 4: return (uint16_t)(hdr + 1);
	case 5: return (uint16_t)(actual - 1);
	case 6: return (uint16_t)(actual + 1);
	case 7: return (uint16_t)(actual + fz_below(r, 64));
	case 8: return 0x7fff;
	case 9: return 0xffff;
	case 10: return (uint16_t)(actual - fz_below(r, actual + 1u));
	default: return (uint16_t)fz_rand(r);
	}
}

enum field {
	F_IHL, F_TOT_LEN, F_FRAG, F_IP_PROTO, F_TCP_DOFF, F_UDP_LEN, F_IP6_PLEN, F_IP6_NEXT,
	F_EXT_LEN, F_EXT_NEXT, F_QUOTE_IHL, F_QUOTE_PROTO, F_MAX
};

static bool field_present(const struct fz_pkt *p, enum field f)
{
	bool v4 = p->family == 4 && p->l3, v6 = p->family == 6 && p->l3;

	switch (f) {
	case F_IHL: case F_TOT_LEN: case F_FRAG: case F_IP_PROTO:
		return v4 && p->l3 + 20 <= p->len;
	case F_TCP_DOFF:
		return p->l4 && p->proto == IPPROTO_TCP && p->l4 + 13 <= p->len;
	case F_UDP_LEN:
		return p->l4 && p->proto == IPPROTO_UDP && p->l4 + 6 <= p->len;
	case F_IP6_PLEN: case F_IP6_NEXT:
		return v6 && p->l3 + 40 <= p->len;
	case F_EXT_LEN: case F_EXT_NEXT:
		return p->n_ext && p->ext[0] + 2 <= p->len;
	case F_QUOTE_IHL: case F_QUOTE_PROTO:
		return p->quote && p->quote + 10 <= p->len;
	default:
		return false;
	}
}

static uint8_t edgy_next_header(struct fz_rng *r)
{
	static const uint8_t v[] = { NH_HOP, NH_ROUTING, NH_FRAGMENT, NH_AH, NH_DSTOPTS,
				     NH_NONE, 50 /* ESP */, 135 /* mobility */, IPPROTO_TCP,
				     IPPROTO_UDP, IPPROTO_ICMPV6, IPPROTO_ICMP, 4, 41 };

	return fz_below(r, 4) ? v[fz_below(r, ARRAY_SIZE(v))] : (uint8_t)fz_rand(r);
}

/* One header length (or type) field set to a boundary or random value. */
static void mut_length(struct fz_rng *r, struct fz_pkt *p)
{
	enum field avail[F_MAX];
	size_t n = 0;
	uint8_t *ip = p->b + p->l3;

	for (int f = 0; f < F_MAX; f++)
		if (field_present(p, (enum field)f))
			avail[n++] = (enum field)f;
	if (!n) {
		mut_bytes(r, p);
		return;
	}
	switch (avail[fz_below(r, (uint32_t)n)]) {
	case F_IHL:
		ip[0] = (uint8_t)((fz_below(r, 8) ? 0x40 : fz_below(r, 16) << 4) | fz_below(r, 16));
		note(p, " +ihl=%02x", ip[0]);
		break;
	case F_TOT_LEN:
		wr16(ip + 2, edgy_len(r, (ip[0] & 0xf) * 4, (uint16_t)(p->len - p->l3)));
		note(p, " +tot_len=%u", rd16(ip + 2));
		break;
	case F_FRAG: {
		static const uint16_t v[] = { 0x2000, 0x0001, 0x2001, 0x1fff, 0x3fff, 0x8000, 0x6000 };

		wr16(ip + 6, fz_below(r, 2) ? v[fz_below(r, ARRAY_SIZE(v))] : (uint16_t)fz_rand(r));
		note(p, " +frag=%04x", rd16(ip + 6));
		break;
	}
	case F_IP_PROTO:
		ip[9] = edgy_next_header(r);
		note(p, " +proto=%u", ip[9]);
		break;
	case F_TCP_DOFF:
		p->b[p->l4 + 12] = (uint8_t)(fz_below(r, 16) << 4 | (p->b[p->l4 + 12] & 0xf));
		note(p, " +doff=%u", p->b[p->l4 + 12] >> 4);
		break;
	case F_UDP_LEN:
		wr16(p->b + p->l4 + 4, edgy_len(r, 8, (uint16_t)(p->len - p->l4)));
		note(p, " +udp_len=%u", rd16(p->b + p->l4 + 4));
		break;
	case F_IP6_PLEN:
		wr16(ip + 4, edgy_len(r, (uint16_t)(p->l4 ? p->l4 - p->l3 - 40 : 0),
				      (uint16_t)(p->len - p->l3 - 40)));
		note(p, " +plen=%u", rd16(ip + 4));
		break;
	case F_IP6_NEXT:
		ip[6] = edgy_next_header(r);
		note(p, " +next=%u", ip[6]);
		break;
	case F_EXT_LEN: {
		static const uint8_t v[] = { 0, 1, 2, 3, 0x7f, 0x80, 0xff };
		uint16_t at = p->ext[fz_below(r, p->n_ext)];

		if (at + 2 > p->len)
			break;
		p->b[at + 1] = fz_below(r, 2) ? v[fz_below(r, ARRAY_SIZE(v))] : (uint8_t)fz_rand(r);
		note(p, " +ext@%u.len=%u", at, p->b[at + 1]);
		break;
	}
	case F_EXT_NEXT: {
		uint16_t at = p->ext[fz_below(r, p->n_ext)];

		if (at + 1 > p->len)
			break;
		p->b[at] = edgy_next_header(r);
		note(p, " +ext@%u.next=%u", at, p->b[at]);
		break;
	}
	case F_QUOTE_IHL:
		p->b[p->quote] = (uint8_t)((p->b[p->quote] & 0xf0) | fz_below(r, 16));
		note(p, " +quote_ihl=%u", p->b[p->quote] & 0xf);
		break;
	case F_QUOTE_PROTO:
		p->b[p->quote + (p->family == 6 ? 6 : 9)] = edgy_next_header(r);
		note(p, " +quote_proto");
		break;
	default:
		break;
	}
}

/* 1-3 tags put outermost (prepend) or innermost (append). */
static void mut_vlan(struct fz_rng *r, struct fz_pkt *p)
{
	static const uint16_t tpids[] = { 0x8100, 0x88a8, 0x9100 };
	uint32_t n = 1 + fz_below(r, 3);
	bool append = fz_below(r, 2);

	for (uint32_t i = 0; i < n; i++) {
		uint8_t tag[4];
		uint16_t at = 12;

		if (append)
			while (at + 4 <= p->len && is_tpid(rd16(p->b + at)))
				at += 4;
		wr16(tag, tpids[fz_below(r, ARRAY_SIZE(tpids))]);
		wr16(tag + 2, (uint16_t)fz_rand(r));
		if (!insert(p, at, tag, 4))
			break;
	}
	note(p, " +vlan%s%u", append ? "+" : "-", n);
}

/* A header chain that never ends within the frame: IPv6 destination
 * options to the last byte, or VLAN tags to the last byte. */
static void mut_endless(struct fz_rng *r, struct fz_pkt *p)
{
	if (p->family == 6 && p->l3 && p->l3 + 48 <= p->len) {
		uint8_t *ip = p->b + p->l3, *h = ip + 40, *end = p->b + p->len;
		uint8_t nh = fz_below(r, 2) ? NH_DSTOPTS : NH_HOP;

		ip[6] = NH_HOP;
		p->n_ext = 0;
		for (; h + 8 <= end; h += 8) {
			memset(h, 0, 8);
			h[0] = nh;
			if (p->n_ext < FZ_MAX_EXT)
				p->ext[p->n_ext++] = (uint16_t)(h - p->b);
		}
		wr16(ip + 4, (uint16_t)(h - ip - 40));
		p->l4 = 0;
		p->quote = 0;
		truncate_to(p, (uint16_t)(h - p->b));
		note(p, " +endless_ext");
		return;
	}
	for (uint16_t at = 12; at + 4 <= p->len; at += 4) {
		wr16(p->b + at, 0x8100);
		wr16(p->b + at + 2, (uint16_t)fz_rand(r));
	}
	p->l3 = p->l4 = p->quote = 0;
	p->n_ext = 0;
	p->family = 0;
	note(p, " +endless_vlan");
}

/* Another client: source address and port, so the walk reaches many
 * conntrack entries and Maglev slots, not one. */
static void mut_new_flow(struct fz_rng *r, struct fz_pkt *p)
{
	uint8_t *ip = p->b + p->l3;
	uint64_t v = fz_rand(r);

	if (!p->l3)
		return;
	if (p->family == 4 && p->l3 + 20 <= p->len && !p->quote)
		memcpy(ip + 13, &v, 3); /* keep the /8 */
	else if (p->family == 6 && p->l3 + 40 <= p->len && !p->quote)
		memcpy(ip + 16, &v, 8);
	if (p->quote && p->family == 4 && p->quote + 20 <= p->len)
		memcpy(p->b + p->quote + 17, &v, 3); /* the quoted client */
	if (p->quote && p->family == 6 && p->quote + 40 <= p->len)
		memcpy(p->b + p->quote + 32, &v, 8);
	if (p->l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) && p->l4 + 2 <= p->len)
		wr16(p->b + p->l4, (uint16_t)(1024 + (v >> 40) % 60000));
	if (p->l4 && p->proto == IPPROTO_TCP && p->l4 + 14 <= p->len && fz_below(r, 4) == 0) {
		static const uint8_t flags[] = { 0x02, 0x10, 0x12, 0x04, 0x14, 0x01, 0x11, 0x18, 0x00, 0xff };

		p->b[p->l4 + 13] = flags[fz_below(r, ARRAY_SIZE(flags))];
	}
}

/* Mostly at 14 or more: shorter frames only meet the kernel's -EINVAL,
 * which the systematic cuts have covered already. */
static void mut_truncate(struct fz_rng *r, struct fz_pkt *p)
{
	uint16_t to = p->len > 14 && fz_below(r, 16) ? (uint16_t)(14 + fz_below(r, p->len - 13u))
						     : (uint16_t)fz_below(r, p->len + 1u);

	truncate_to(p, to);
	note(p, " +cut=%u", to);
}

/* Random bytes of random length; half of them given an IP-ish start and
 * now and then a VIP as destination, so they get past the first check. */
static void random_frame(struct fz_rng *r, const struct fz_targets *t, struct fz_pkt *p)
{
	static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806 };
	uint16_t len = (uint16_t)(14 + fz_below(r, FZ_RANDOM_MAX - 14 + 1)), type;

	/* Not memset: the 2 KiB buffer is overwritten up to len anyway. */
	p->len = len;
	p->l3 = p->l4 = p->quote = p->hdr_end = 0;
	p->n_ext = p->family = p->proto = 0;
	fill_random(r, p->b, len);
	snprintf(p->what, sizeof(p->what), "random(%u)", len);
	if (fz_below(r, 2))
		return;
	type = types[fz_below(r, ARRAY_SIZE(types))];
	wr16(p->b + 12, type);
	note(p, " type=%04x", type);
	if (type == 0x0800 && len >= 34) {
		p->b[14] = (uint8_t)(0x45 + fz_below(r, 2) * fz_below(r, 11));
		if (fz_below(r, 2))
			wr16(p->b + 16, (uint16_t)(len - 14));
		if (fz_below(r, 2))
			p->b[14 + 9] = fz_below(r, 2) ? IPPROTO_TCP : fz_below(r, 2) ? IPPROTO_UDP : IPPROTO_ICMP;
		if (fz_below(r, 2))
			p->b[14 + 6] &= 0x40; /* no fragment */
		if (t->n_v4 && fz_below(r, 2))
			memcpy(p->b + 14 + 16, t->v4[fz_below(r, (uint32_t)t->n_v4)], 4);
	} else if (type == 0x86dd && len >= 54) {
		p->b[14] = (uint8_t)(0x60 | (p->b[14] & 0xf));
		if (fz_below(r, 2))
			wr16(p->b + 18, (uint16_t)(len - 54));
		if (fz_below(r, 2))
			p->b[20] = edgy_next_header(r);
		if (t->n_v6 && fz_below(r, 2))
			memcpy(p->b + 14 + 24, t->v6[fz_below(r, (uint32_t)t->n_v6)], 16);
	}
}

size_t fz_systematic_count(const struct fz_pkt *seed)
{
	return seed->len + (size_t)(seed->hdr_end < seed->len ? seed->hdr_end : seed->len);
}

void fz_systematic(struct fz_rng *r, const struct fz_pkt *seed, size_t i, struct fz_pkt *out)
{
	*out = *seed;
	if (i < seed->len) {
		truncate_to(out, (uint16_t)i);
		note(out, " +cut=%zu", i);
		return;
	}
	i -= seed->len;
	out->b[i] ^= (uint8_t)(1 + fz_below(r, 255));
	note(out, " +byte[%zu]=%02x", i, out->b[i]);
}

void fz_random(struct fz_rng *r, const struct fz_pkt *seeds, size_t n_seeds,
	       const struct fz_targets *t, struct fz_pkt *p)
{
	uint32_t kind = fz_below(r, 100), stack = 1;

	if (kind < 10 || !n_seeds) {
		random_frame(r, t, p);
		return;
	}
	*p = seeds[fz_below(r, (uint32_t)n_seeds)];
	if (fz_below(r, 2))
		mut_new_flow(r, p);
	if (kind >= 85)
		stack = 2 + fz_below(r, 2);
	for (uint32_t i = 0; i < stack; i++) {
		uint32_t k = stack > 1 ? 10 + fz_below(r, 75) : kind;

		if (k < 35)
			mut_bytes(r, p);
		else if (k < 60)
			mut_length(r, p);
		else if (k < 70)
			mut_vlan(r, p);
		else if (k < 75)
			mut_endless(r, p);
		else
			mut_truncate(r, p);
	}
	/* Any mutation may also meet a short frame. */
	if (kind < 75 && fz_below(r, 8) == 0)
		mut_truncate(r, p);
}

/* ---- hex ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int fz_from_hex(const char *hex, struct fz_pkt *p)
{
	int hi = -1;

	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "replay");
	for (; *hex; hex++) {
		int v;

		if (*hex == ' ' || *hex == '\n' || *hex == '\t' || *hex == ':')
			continue;
		v = hexval(*hex);
		if (v < 0 || p->len >= FZ_FRAME_MAX)
			return -1;
		if (hi < 0) {
			hi = v;
		} else {
			p->b[p->len++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? 0 : -1;
}

void fz_print_hex(FILE *f, const char *label, const uint8_t *b, size_t len)
{
	fprintf(f, "  %s (%zu bytes) ", label, len);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", b[i]);
	fputc('\n', f);
}
