// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet builder for tests (see pkt.h). Written against the RFCs, not the
 * BPF headers, so a shared mistake cannot make a test pass.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "pkt.h"

uint16_t csum_rfc1071(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* The L4 checksum with the IPv4 (RFC 793) or IPv6 (RFC 8200) pseudo header. */
static uint16_t l4_csum(const uint8_t *src, const uint8_t *dst, int alen, const uint8_t *l4,
			size_t l4len, uint8_t proto)
{
	uint8_t buf[4096];
	size_t n = 0;

	memcpy(buf, src, alen);
	memcpy(buf + alen, dst, alen);
	n = 2 * alen;
	if (alen == 4) {
		buf[n++] = 0;
		buf[n++] = proto;
		buf[n++] = l4len >> 8;
		buf[n++] = l4len & 0xff;
	} else {
		buf[n++] = 0, buf[n++] = 0;
		buf[n++] = l4len >> 8;
		buf[n++] = l4len & 0xff;
		buf[n++] = 0, buf[n++] = 0, buf[n++] = 0;
		buf[n++] = proto;
	}
	memcpy(buf + n, l4, l4len);
	return csum_rfc1071(buf, n + l4len);
}

/* Ethernet + optional tags; returns the L3 offset. */
static size_t put_l2(const struct pkt_spec *s, uint8_t *buf, uint16_t ethertype)
{
	size_t off = 12;

	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	if (s->vlan) {
		buf[off++] = 0x81, buf[off++] = 0x00;
		buf[off++] = s->vlan >> 8, buf[off++] = s->vlan & 0xff;
	}
	if (s->vlan2) {
		buf[off++] = 0x81, buf[off++] = 0x00;
		buf[off++] = s->vlan2 >> 8, buf[off++] = s->vlan2 & 0xff;
	}
	buf[off++] = ethertype >> 8;
	buf[off++] = ethertype & 0xff;
	return off;
}

static void put_l4(uint8_t *l4, size_t l4len, uint8_t proto, const struct pkt_spec *s,
		   const uint8_t *src, const uint8_t *dst, int alen)
{
	uint16_t c;

	for (size_t i = 0; i < s->payload; i++)
		l4[l4len - s->payload + i] = (uint8_t)(i * 7 + 1);
	if (proto == IPPROTO_TCP) {
		l4[0] = s->sport >> 8, l4[1] = s->sport & 0xff;
		l4[2] = s->dport >> 8, l4[3] = s->dport & 0xff;
		l4[7] = 1;            /* seq 1 */
		l4[12] = 5 << 4;      /* data offset */
		l4[13] = s->tcp_flags;
		l4[14] = 0xff, l4[15] = 0xff;
		c = l4_csum(src, dst, alen, l4, l4len, proto);
		memcpy(l4 + 16, &c, 2);
	} else if (proto == IPPROTO_UDP) {
		l4[0] = s->sport >> 8, l4[1] = s->sport & 0xff;
		l4[2] = s->dport >> 8, l4[3] = s->dport & 0xff;
		l4[4] = l4len >> 8, l4[5] = l4len & 0xff;
		c = l4_csum(src, dst, alen, l4, l4len, proto);
		memcpy(l4 + 6, &c, 2);
	}
}

static size_t build6(const struct pkt_spec *s, uint8_t *buf, size_t len)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP, *ip, *p;
	size_t l4len = (proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 0) + s->payload;
	size_t exts = 8 * (size_t)s->n_ext, l2, total;

	if (s->frag6_off >> 3) /* a later fragment carries no L4 header here */
		l4len = s->payload;
	l2 = (s->vlan ? 4 : 0) + (s->vlan2 ? 4 : 0) + 14;
	total = l2 + 40 + exts + l4len;
	if (total > len)
		return 0;
	memset(buf, 0, total);
	put_l2(s, buf, 0x86dd);
	ip = buf + l2;
	ip[0] = 0x60 | (s->tos >> 4);
	ip[1] = (uint8_t)(s->tos << 4);
	ip[4] = (exts + l4len) >> 8;
	ip[5] = (exts + l4len) & 0xff;
	ip[6] = s->n_ext ? s->ext[0] : proto;
	ip[7] = s->ttl ? s->ttl : 64;
	memcpy(ip + 8, s->saddr6, 16);
	memcpy(ip + 24, s->daddr6, 16);
	p = ip + 40;
	for (int i = 0; i < s->n_ext; i++, p += 8) {
		p[0] = i + 1 < s->n_ext ? s->ext[i + 1] : proto;
		if (s->ext[i] == 44) {
			p[2] = s->frag6_off >> 8;
			p[3] = s->frag6_off & 0xff;
			p[4] = s->frag6_id >> 24, p[5] = s->frag6_id >> 16;
			p[6] = s->frag6_id >> 8, p[7] = s->frag6_id & 0xff;
		}
	}
	if (!(s->frag6_off >> 3))
		put_l4(p, l4len, proto, s, s->saddr6, s->daddr6, 16);
	return total;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t len)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	size_t ihl = s->ihl ? s->ihl : 5, l4len, iplen, total, l2;
	uint16_t ethertype = s->ethertype ? s->ethertype : 0x0800;
	uint8_t *ip, *l4;

	if (s->v6)
		return build6(s, buf, len);
	l4len = (proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 0) + s->payload;
	if (s->frag_off & 0x1fff) /* a later fragment carries no L4 header here */
		l4len = s->payload;
	iplen = ihl * 4 + l4len;
	l2 = (s->vlan ? 4 : 0) + (s->vlan2 ? 4 : 0) + 14;
	total = l2 + iplen;
	if (total > len || l4len + 40 > 4096)
		return 0;
	memset(buf, 0, total);
	put_l2(s, buf, ethertype);
	ip = buf + l2;

	ip[0] = 0x40 | (ihl & 0xf);
	ip[1] = s->tos;
	ip[2] = iplen >> 8;
	ip[3] = iplen & 0xff;
	ip[4] = s->ip_id >> 8;
	ip[5] = s->ip_id & 0xff;
	ip[6] = s->frag_off >> 8;
	ip[7] = s->frag_off & 0xff;
	ip[8] = s->ttl ? s->ttl : 64;
	ip[9] = proto;
	memcpy(ip + 12, &s->saddr, 4);
	memcpy(ip + 16, &s->daddr, 4);
	for (size_t i = 20; i < ihl * 4; i++)
		ip[i] = 1; /* IPOPT_NOP */
	l4 = ip + ihl * 4;
	if (!(s->frag_off & 0x1fff))
		put_l4(l4, l4len, proto, s, ip + 12, ip + 16, 4);
	else
		for (size_t i = 0; i < s->payload; i++)
			l4[i] = (uint8_t)(i * 7 + 1);
	uint16_t c = csum_rfc1071(ip, ihl * 4);
	memcpy(ip + 10, &c, 2);
	return total;
}

void pkt_flow(const struct pkt_spec *s, struct flb_flow *flow)
{
	memset(flow, 0, sizeof(*flow));
	if (s->v6) {
		memcpy(flow->src, s->saddr6, 16);
		memcpy(flow->dst, s->daddr6, 16);
		flow->family = FLB_AF_INET6;
	} else {
		flow->src[0] = s->saddr;
		flow->dst[0] = s->daddr;
		flow->family = FLB_AF_INET;
	}
	flow->sport = htons(s->sport);
	flow->dport = htons(s->dport);
	flow->proto = s->proto ? s->proto : IPPROTO_TCP;
}

size_t pkt_icmp_error(const struct pkt_spec *o, uint8_t type, uint8_t code, uint32_t mtu,
		      const uint8_t *quote, size_t qlen, uint8_t *buf, size_t len)
{
	size_t l2 = (o->vlan ? 4 : 0) + 14, iph = o->v6 ? 40 : 20, total = l2 + iph + 8 + qlen;
	uint8_t *ip, *ic;
	uint16_t c;

	if (total > len)
		return 0;
	memset(buf, 0, total);
	put_l2(o, buf, o->v6 ? 0x86dd : 0x0800);
	ip = buf + l2;
	ic = ip + iph;
	ic[0] = type;
	ic[1] = code;
	memcpy(ic + 8, quote, qlen);
	if (o->v6) {
		ip[0] = 0x60;
		ip[4] = (8 + qlen) >> 8, ip[5] = (8 + qlen) & 0xff;
		ip[6] = 58, ip[7] = 64;
		memcpy(ip + 8, o->saddr6, 16);
		memcpy(ip + 24, o->daddr6, 16);
		ic[4] = mtu >> 24, ic[5] = mtu >> 16, ic[6] = mtu >> 8, ic[7] = mtu & 0xff;
		c = l4_csum(o->saddr6, o->daddr6, 16, ic, 8 + qlen, 58);
	} else {
		ip[0] = 0x45;
		ip[2] = (20 + 8 + qlen) >> 8, ip[3] = (20 + 8 + qlen) & 0xff;
		ip[8] = 64, ip[9] = 1;
		memcpy(ip + 12, &o->saddr, 4);
		memcpy(ip + 16, &o->daddr, 4);
		c = csum_rfc1071(ip, 20);
		memcpy(ip + 10, &c, 2);
		ic[6] = mtu >> 8, ic[7] = mtu & 0xff;
		c = csum_rfc1071(ic, 8 + qlen);
	}
	memcpy(ic + 2, &c, 2);
	return total;
}
