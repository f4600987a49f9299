// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The fuzz test's checker (fuzz_check.c) on hand-made outcomes: valid
 * encapsulations (IPv4 and IPv6 outer, tags kept or removed, trailer kept
 * or cut) and too-big replies must be accepted, and each way of breaking
 * one must be rejected, so that a fuzz run that finds nothing means the
 * balancer is right, not that the checker accepts anything. Outputs are
 * built here from the RFCs, not by running the balancer; the world is its
 * own, so this holds whatever the dataplane under test supports.
 */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flb_test.h"
#include "fuzz_check.h"
#include "fuzz_gen.h"
#include "pkt.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define OUT_MAX 4096
#define C4 "10.10.1.2"
#define C6 "fd00:10:1::2"
#define TCP IPPROTO_TCP
#define SYN 0x02
#define ACK 0x10
#define T1_MAC "\x02\x00\x00\x00\x00\xa1"

#define BE11_MAC "\x02\x00\x00\x00\x00\x11"

/* A world of its own, so the checker is tested the same way whatever the
 * dataplane under test accepts. */
static void self_world(struct fz_world *w)
{
	static const char *const v[][2] = {
		{ "10.100.0.1", "10.10.2.11" },
		{ "fd00:100::1", "fd00:10:2::11" },
		{ "10.100.0.9", "fd00:10:2::11" },
	};

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct fz_vip_view *vv = &w->vips[w->n_vips++];

		vv->vip.family = strchr(v[i][0], ':') ? 6 : 4;
		inet_pton(vv->vip.family == 6 ? AF_INET6 : AF_INET, v[i][0], vv->vip.a);
		vv->backends[0].family = strchr(v[i][1], ':') ? 6 : 4;
		inet_pton(vv->backends[0].family == 6 ? AF_INET6 : AF_INET, v[i][1], vv->backends[0].a);
		vv->n_backends = 1;
	}
	w->src4[0] = 172, w->src4[1] = 16;
	w->src6[0] = 0xfd, w->src6[2] = 0x0f, w->src6[3] = 0x1b;
	memcpy(w->ingress_mac, FZ_MAC_NIC, 6);
	memcpy(w->egress_macs[w->n_egress++], T1_MAC, 6);
	memcpy(w->neigh_macs[w->n_neigh++], BE11_MAC, 6);
}

static size_t inner_len(const uint8_t *ip)
{
	return (ip[0] >> 4) == 4 ? (size_t)(ip[2] << 8 | ip[3]) : 40 + (size_t)(ip[4] << 8 | ip[5]);
}

static void v4_csum(uint8_t *ip)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = csum_rfc1071(ip, 20);
	memcpy(ip + 10, &c, 2);
}

/* RFC 2003 / RFC 2473 by hand: the frame's L2 header (tags kept), one
 * outer header to dst, then the input's IP packet and trailer. */
static size_t encap(const struct fz_pkt *in, int family, const char *dst, uint8_t *out)
{
	size_t l3 = in->l3, hl = family == 4 ? 20 : 40, n = inner_len(in->b + l3);
	uint8_t *o = out + l3, inner_v = in->b[l3] >> 4;

	memcpy(out, BE11_MAC, 6);
	memcpy(out + 6, FZ_MAC_NIC, 6);
	memcpy(out + 12, in->b + 12, l3 - 12);
	memset(o, 0, hl);
	if (family == 4) {
		out[l3 - 2] = 0x08, out[l3 - 1] = 0x00;
		o[0] = 0x45;
		o[2] = (uint8_t)((n + 20) >> 8), o[3] = (uint8_t)(n + 20);
		o[8] = 64;
		o[9] = inner_v == 4 ? 4 : 41;
		o[12] = 172, o[13] = 16, o[14] = 1, o[15] = 2;
		inet_pton(AF_INET, dst, o + 16);
		v4_csum(o);
	} else {
		out[l3 - 2] = 0x86, out[l3 - 1] = 0xdd;
		o[0] = 0x60;
		o[4] = (uint8_t)(n >> 8), o[5] = (uint8_t)n;
		o[6] = inner_v == 4 ? 4 : 41;
		o[7] = 64;
		inet_pton(AF_INET6, "fd00:f1b::1:2", o + 8);
		inet_pton(AF_INET6, dst, o + 24);
	}
	memcpy(o + hl, in->b + l3, in->len - l3);
	return in->len + hl;
}

/* RFC 1191 / RFC 4443 replies by hand, from the VIP to the client. */
static size_t too_big(const struct fz_pkt *in, uint16_t mtu, uint8_t *out)
{
	size_t l3 = in->l3, quote;
	const uint8_t *ip = in->b + l3;
	uint8_t *o = out + l3, *ic;
	uint16_t c;

	memcpy(out, in->b + 6, 6);
	memcpy(out + 6, in->b, 6);
	memcpy(out + 12, in->b + 12, l3 - 12);
	if ((ip[0] >> 4) == 4) {
		quote = (ip[0] & 0xf) * 4u + 8;
		memset(o, 0, 28);
		o[0] = 0x45;
		o[2] = (uint8_t)((28 + quote) >> 8), o[3] = (uint8_t)(28 + quote);
		o[8] = 64;
		o[9] = IPPROTO_ICMP;
		memcpy(o + 12, ip + 16, 4);
		memcpy(o + 16, ip + 12, 4);
		v4_csum(o);
		ic = o + 20;
		ic[0] = 3, ic[1] = 4;
		ic[6] = (uint8_t)(mtu >> 8), ic[7] = (uint8_t)mtu;
		memcpy(ic + 8, ip, quote);
		c = csum_rfc1071(ic, 8 + quote);
		memcpy(ic + 2, &c, 2);
		return l3 + 28 + quote;
	}
	{
		uint8_t buf[40 + 8 + 256];

		quote = 256;
		memset(o, 0, 48);
		o[0] = 0x60;
		o[4] = (uint8_t)((8 + quote) >> 8), o[5] = (uint8_t)(8 + quote);
		o[6] = IPPROTO_ICMPV6;
		o[7] = 64;
		memcpy(o + 8, ip + 24, 16);
		memcpy(o + 24, ip + 8, 16);
		ic = o + 40;
		ic[0] = 2;
		ic[6] = (uint8_t)(mtu >> 8), ic[7] = (uint8_t)mtu;
		memcpy(ic + 8, ip, quote);
		/* pseudo header (RFC 8200 8.1) + message */
		memcpy(buf, o + 8, 32);
		memset(buf + 32, 0, 8);
		buf[34] = (uint8_t)((8 + quote) >> 8), buf[35] = (uint8_t)(8 + quote);
		buf[39] = IPPROTO_ICMPV6;
		memcpy(buf + 40, ic, 8 + quote);
		c = csum_rfc1071(buf, sizeof(buf));
		memcpy(ic + 2, &c, 2);
		return l3 + 48 + quote;
	}
}

static bool expect(const struct fz_world *w, const char *what, const struct fz_pkt *in, int action,
		   const uint8_t *out, size_t out_len, bool ok, enum fz_shape shape)
{
	struct fz_verdict v;

	fz_check(w, in->b, in->len, action, out, out_len, &v);
	if (getenv("FLB_FUZZ_VERBOSE"))
		printf("  %-45s %s\n", what, v.ok ? fz_shape_name(v.shape) : v.why);
	if (v.ok == ok && (!ok || v.shape == shape))
		return true;
	if (ok)
		return flb_test_fail(__FILE__, __LINE__, "%s: %s, expected accepted as %s", what,
				     v.ok ? fz_shape_name(v.shape) : v.why, fz_shape_name(shape));
	return flb_test_fail(__FILE__, __LINE__, "%s: accepted as %s, expected rejected", what,
			     fz_shape_name(v.shape));
}

static bool build(const struct fz_spec *s, struct fz_pkt *p)
{
	return ASSERT_OK(fz_build(s, p), s->name);
}

TEST(checker_accepts_valid_outcomes_and_rejects_broken_ones)
{
	static const struct fz_spec syn = { "syn", 4, C4, "10.100.0.1", TCP, 40001, 80, SYN,
					    .payload = 4 };
	static const struct fz_spec not_vip = { "not_vip", 4, C4, "10.200.0.1", TCP, 1, 80, SYN };
	static const struct fz_spec syn6 = { "syn6", 6, C6, "fd00:100::1", TCP, 40001, 80, SYN };
	static const struct fz_spec to6 = { "to6", 4, C4, "10.100.0.9", TCP, 40001, 80, SYN };
	static const struct fz_spec endless = { "endless", 6, C6, "fd00:100::1", .endless = true,
						.payload = 64 };
	static const struct fz_spec vlan = { "vlan", 4, C4, "10.100.0.1", TCP, 40001, 80, SYN,
					     .tags = { 0x8100 }, .n_tags = 1 };
	static const struct fz_spec big = { "big", 4, C4, "10.100.0.1", TCP, 40001, 80, ACK,
					    .payload = 1460 };
	static const struct fz_spec big6 = { "big6", 6, C6, "fd00:100::1", TCP, 40001, 80, ACK,
					     .payload = 1440 };
	static struct fz_pkt in, p;
	static struct fz_world w;
	static uint8_t out[OUT_MAX], bad[OUT_MAX];
	size_t n;

	self_world(&w);
	/* R4: one good IPv4-in-IPv4, then each way to break it. */
	if (!build(&syn, &in))
		return;
	n = encap(&in, 4, "10.10.2.11", out);
	expect(&w, "IPIP sent back out", &in, XDP_TX, out, n, true, FZ_ENCAP);
	expect(&w, "IPIP dropped after encapsulation", &in, XDP_DROP, out, n, true, FZ_ENCAP);
	expect(&w, "IPIP redirected with the ingress MAC", &in, XDP_REDIRECT, out, n, false, 0);
	expect(&w, "IPIP passed with FIB MACs", &in, XDP_PASS, out, n, false, 0);
	memcpy(bad, out, n);
	memcpy(bad, in.b, 12);
	expect(&w, "IPIP passed with the original MACs", &in, XDP_PASS, bad, n, true, FZ_ENCAP);
	expect(&w, "one byte short", &in, XDP_TX, out, n - 1, false, 0);
#define BROKEN(what, edit, fix_csum)                                                    \
	do {                                                                            \
		memcpy(bad, out, n);                                                    \
		edit;                                                                   \
		if (fix_csum)                                                           \
			v4_csum(bad + 14);                                              \
		expect(&w, what, &in, XDP_TX, bad, n, false, 0);                        \
	} while (0)
	BROKEN("outer checksum", bad[14 + 10] ^= 1, false);
	BROKEN("outer to a backend of another VIP", bad[14 + 19] = 12, true);
	BROKEN("outer total length", bad[14 + 3]++, true);
	BROKEN("outer protocol 41", bad[14 + 9] = 41, true);
	BROKEN("outer source outside the prefix", bad[14 + 13] = 17, true);
	BROKEN("outer TTL 0", bad[14 + 8] = 0, true);
	BROKEN("outer header a fragment", bad[14 + 6] = 0x20, true);
	BROKEN("outer IHL 6", bad[14] = 0x46, true);
	BROKEN("inner byte changed", bad[n - 1] ^= 0xff, false);
	BROKEN("destination MAC no next hop", bad[5] = 0x99, false);
	BROKEN("source MAC not the ingress NIC", bad[11] = 0xa1, false);
	/* R1, and XDP_TX of the frame as it came. */
	expect(&w, "XDP_ABORTED", &in, XDP_ABORTED, in.b, in.len, false, 0);
	expect(&w, "action 7", &in, 7, in.b, in.len, false, 0);
	expect(&w, "XDP_TX unchanged", &in, XDP_TX, in.b, in.len, false, 0);
	expect(&w, "VIP frame passed unchanged", &in, XDP_PASS, in.b, in.len, true, FZ_UNCHANGED);
	expect(&w, "VIP frame dropped unchanged", &in, XDP_DROP, in.b, in.len, true, FZ_UNCHANGED);
	memcpy(bad, in.b, in.len);
	bad[in.len - 1] ^= 1;
	expect(&w, "VIP frame passed with a byte changed", &in, XDP_PASS, bad, in.len, false, 0);

	/* R4c: a trailer is kept or cut at the packet's own length, no more. */
	p = in;
	memset(p.b + p.len, 0xee, 6);
	p.len += 6;
	n = encap(&p, 4, "10.10.2.11", out);
	expect(&w, "trailer kept", &p, XDP_TX, out, n, true, FZ_ENCAP);
	expect(&w, "trailer cut", &p, XDP_TX, out, n - 6, true, FZ_ENCAP);
	expect(&w, "trailer cut and one more byte", &p, XDP_TX, out, n - 7, false, 0);

	/* R4e: headers past the IP total length are not the packet's. */
	p = in;
	p.b[14 + 2] = 0, p.b[14 + 3] = 20;
	n = encap(&p, 4, "10.10.2.11", out);
	expect(&w, "TCP header outside the datagram steered", &p, XDP_TX, out, n, false, 0);
	p.b[14 + 3] = 60; /* longer than the frame */
	n = encap(&p, 4, "10.10.2.11", out);
	expect(&w, "total length past the frame steered", &p, XDP_TX, out, n, false, 0);

	/* R2: not for a VIP, or too short to say. */
	if (!build(&not_vip, &p))
		return;
	expect(&w, "not a VIP, passed", &p, XDP_PASS, p.b, p.len, true, FZ_UNCHANGED);
	expect(&w, "not a VIP, dropped", &p, XDP_DROP, p.b, p.len, false, 0);
	memcpy(bad, p.b, p.len);
	bad[20] ^= 1;
	expect(&w, "not a VIP, changed", &p, XDP_PASS, bad, p.len, false, 0);
	p.len = 14 + 19;
	expect(&w, "cut before the destination, dropped", &p, XDP_DROP, p.b, p.len, true, FZ_UNCHANGED);

	/* R4 for IPv6: IP6IP6 and IPv4-in-IPv6. */
	if (!build(&syn6, &in))
		return;
	n = encap(&in, 6, "fd00:10:2::11", out);
	expect(&w, "IP6IP6 sent", &in, XDP_TX, out, n, true, FZ_ENCAP);
	memcpy(bad, out, n);
	bad[14 + 6] = 4;
	expect(&w, "IP6IP6 with next header 4", &in, XDP_TX, bad, n, false, 0);
	memcpy(bad, out, n);
	bad[14 + 5]++;
	expect(&w, "IP6IP6 payload length", &in, XDP_TX, bad, n, false, 0);
	n = encap(&in, 4, "10.10.2.11", out);
	expect(&w, "IPv6 VIP to an IPv4 address of another VIP", &in, XDP_TX, out, n, false, 0);
	if (!build(&to6, &in))
		return;
	n = encap(&in, 6, "fd00:10:2::11", out);
	expect(&w, "IPv4 in IPv6", &in, XDP_TX, out, n, true, FZ_ENCAP);
	if (!build(&endless, &in))
		return;
	n = encap(&in, 6, "fd00:10:2::11", out);
	expect(&w, "endless extension chain steered", &in, XDP_TX, out, n, false, 0);

	/* R4a: tags kept or removed, never changed. */
	if (!build(&vlan, &in))
		return;
	n = encap(&in, 4, "10.10.2.11", out);
	expect(&w, "tag kept", &in, XDP_TX, out, n, true, FZ_ENCAP);
	memcpy(bad, out, n);
	bad[15] ^= 1;
	expect(&w, "tag changed", &in, XDP_TX, bad, n, false, 0);
	memcpy(bad, out, 12);
	memcpy(bad + 12, out + 16, n - 16);
	expect(&w, "tag removed", &in, XDP_TX, bad, n - 4, true, FZ_ENCAP);

	/* R5: our too-big replies. */
	if (!build(&big, &in))
		return;
	n = too_big(&in, 1480, out);
	expect(&w, "fragmentation needed", &in, XDP_TX, out, n, true, FZ_ICMP_REPLY);
	expect(&w, "fragmentation needed, passed", &in, XDP_PASS, out, n, false, 0);
	memcpy(bad, out, n);
	bad[14 + 20 + 2] ^= 1;
	expect(&w, "ICMP checksum", &in, XDP_TX, bad, n, false, 0);
	n = too_big(&in, 1500, out);
	expect(&w, "an MTU the packet fits", &in, XDP_TX, out, n, false, 0);
	in.b[14 + 6] = 0; /* no DF */
	in.b[14 + 10] = in.b[14 + 11] = 0;
	n = too_big(&in, 1480, out);
	expect(&w, "fragmentation needed without DF", &in, XDP_TX, out, n, false, 0);
	if (!build(&big6, &in))
		return;
	n = too_big(&in, 1460, out);
	expect(&w, "packet too big", &in, XDP_TX, out, n, true, FZ_ICMP_REPLY);
	memcpy(bad, out, n);
	bad[14 + 24 + 15] ^= 1;
	expect(&w, "packet too big to someone else", &in, XDP_TX, bad, n, false, 0);
}
