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

static uint16_t l4_csum(const uint8_t *ip, const uint8_t *l4, size_t l4len, uint8_t proto)
{
	uint8_t buf[2048];

	/* pseudo header: src, dst, zero, proto, length */
	memcpy(buf, ip + 12, 8);
	buf[8] = 0;
	buf[9] = proto;
	buf[10] = l4len >> 8;
	buf[11] = l4len & 0xff;
	memcpy(buf + 12, l4, l4len);
	return csum_rfc1071(buf, 12 + l4len);
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t len)
{
	uint8_t proto = s->proto ? s->proto : IPPROTO_TCP;
	size_t ihl = s->ihl ? s->ihl : 5, l4len, iplen, total;
	uint16_t ethertype = s->ethertype ? s->ethertype : 0x0800;
	uint8_t *ip = buf + 14, *l4;

	l4len = (proto == IPPROTO_TCP ? 20 : proto == IPPROTO_UDP ? 8 : 0) + s->payload;
	iplen = ihl * 4 + l4len;
	total = 14 + iplen;
	if (total > len || l4len + 12 > 2048)
		return 0;
	memset(buf, 0, total);
	memcpy(buf, s->dmac, 6);
	memcpy(buf + 6, s->smac, 6);
	buf[12] = ethertype >> 8;
	buf[13] = ethertype & 0xff;

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
	for (size_t i = 0; i < s->payload; i++)
		l4[l4len - s->payload + i] = (uint8_t)(i * 7 + 1);
	if (proto == IPPROTO_TCP) {
		l4[0] = s->sport >> 8, l4[1] = s->sport & 0xff;
		l4[2] = s->dport >> 8, l4[3] = s->dport & 0xff;
		l4[7] = 1;            /* seq 1 */
		l4[12] = 5 << 4;      /* data offset */
		l4[13] = s->tcp_flags;
		l4[14] = 0xff, l4[15] = 0xff;
		uint16_t c = l4_csum(ip, l4, l4len, proto);
		memcpy(l4 + 16, &c, 2);
	} else if (proto == IPPROTO_UDP) {
		l4[0] = s->sport >> 8, l4[1] = s->sport & 0xff;
		l4[2] = s->dport >> 8, l4[3] = s->dport & 0xff;
		l4[4] = l4len >> 8, l4[5] = l4len & 0xff;
		uint16_t c = l4_csum(ip, l4, l4len, proto);
		memcpy(l4 + 6, &c, 2);
	}
	uint16_t c = csum_rfc1071(ip, ihl * 4);
	memcpy(ip + 10, &c, 2);
	return total;
}

void pkt_flow(const struct pkt_spec *s, struct flb_flow *flow)
{
	memset(flow, 0, sizeof(*flow));
	flow->src[0] = s->saddr;
	flow->dst[0] = s->daddr;
	flow->sport = htons(s->sport);
	flow->dport = htons(s->dport);
	flow->proto = s->proto ? s->proto : IPPROTO_TCP;
	flow->family = FLB_AF_INET;
}
