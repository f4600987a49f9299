// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The acceptance rules of the fuzz test (see fuzz_check.h). An outcome is
 * accepted when it satisfies the rule its action allows:
 *
 *   R1 action      XDP_ABORTED (or any unknown action) is never allowed.
 *   R2 not-a-VIP   A frame that is surely not for a VIP (not IPv4/IPv6, or
 *                  a destination that is no VIP) is passed unchanged. A
 *                  frame too short to name its destination is passed or
 *                  dropped unchanged.
 *   R3 unchanged   XDP_PASS and XDP_DROP leave the frame as it came,
 *                  byte for byte and length, except as R4 allows.
 *   R4 encap       The frame is the input's IP packet, byte for byte, behind
 *                  one valid outer header (R4a-e). Allowed for XDP_TX and
 *                  XDP_REDIRECT (MACs from the FIB), for XDP_PASS with the
 *                  original MACs (next hop unresolved, or too big without
 *                  DF: the kernel does the rest), and for XDP_DROP (a drop
 *                  after the header was written, e.g. no route: the frame is
 *                  freed, but it must not be garbage either).
 *   R5 too-big     XDP_TX of our own "fragmentation needed" (IPv4, RFC
 *                  1191) or "packet too big" (ICMPv6, RFC 4443) reply to
 *                  the input's source, quoting the input.
 *
 * Which reason each shape goes with is checked per batch (test_fuzz.c), not
 * here: a verdict sees one packet, the counters a batch.
 */
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fuzz_check.h"
#include "pkt.h"

#define ETH_HLEN 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define NH_HOP 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60
#define MAX_EXT_WALK 64

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool failf(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool failf(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

const char *fz_action_name(int action)
{
	switch (action) {
	case XDP_ABORTED: return "XDP_ABORTED";
	case XDP_DROP: return "XDP_DROP";
	case XDP_PASS: return "XDP_PASS";
	case XDP_TX: return "XDP_TX";
	case XDP_REDIRECT: return "XDP_REDIRECT";
	default: return "unknown action";
	}
}

const char *fz_shape_name(enum fz_shape s)
{
	switch (s) {
	case FZ_UNCHANGED: return "unchanged";
	case FZ_ENCAP: return "encapsulated";
	case FZ_ICMP_REPLY: return "too-big reply";
	default: return "?";
	}
}

static const char *ntop(int family, const uint8_t *a, char *buf, size_t len)
{
	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 0;

	while (i < len && a[i] == b[i])
		i++;
	return i;
}

static bool mac_in(const uint8_t *mac, const uint8_t (*set)[6], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(mac, set[i], 6))
			return true;
	return false;
}

/* ---- L2: Ethernet and any number of tags (more than any parser takes) ---- */

struct l2 {
	size_t l3;		/* offset of what follows the last ethertype */
	uint16_t type;		/* 0: tags cut short */
};

static bool is_tpid(uint16_t t)
{
	return t == 0x8100 || t == 0x88a8 || t == 0x9100;
}

static struct l2 parse_l2(const uint8_t *f, size_t len)
{
	struct l2 l = { .l3 = 12 };

	if (len < ETH_HLEN)
		return (struct l2){ .l3 = len, .type = 0 };
	l.type = rd16(f + 12);
	while (is_tpid(l.type)) {
		if (l.l3 + 8 > len)
			return (struct l2){ .l3 = len, .type = 0 };
		l.l3 += 4;
		l.type = rd16(f + l.l3);
	}
	l.l3 += 2;
	return l;
}

/* ---- R2: which frames may be for a VIP ---- */

enum bound { NOT_VIP, DST_UNKNOWN, MAYBE_VIP };

static bool is_vip(const struct fz_world *w, uint8_t family, const uint8_t *a)
{
	size_t alen = family == 4 ? 4 : 16;

	for (size_t i = 0; i < w->n_vips; i++)
		if (w->vips[i].vip.family == family && !memcmp(w->vips[i].vip.a, a, alen))
			return true;
	return false;
}

/* Errs toward MAYBE_VIP (any number of tags, any IP version nibble), so
 * that the strict rule R2 only judges frames no correct parser could take
 * for VIP traffic. */
static enum bound vip_bound(const struct fz_world *w, const uint8_t *in, size_t len)
{
	struct l2 l = parse_l2(in, len);

	if (l.type == 0x0800) {
		if (l.l3 + IPV4_HLEN > len)
			return DST_UNKNOWN;
		return is_vip(w, 4, in + l.l3 + 16) ? MAYBE_VIP : NOT_VIP;
	}
	if (l.type == 0x86dd) {
		if (l.l3 + IPV6_HLEN > len)
			return DST_UNKNOWN;
		return is_vip(w, 6, in + l.l3 + 24) ? MAYBE_VIP : NOT_VIP;
	}
	return l.type == 0 ? DST_UNKNOWN : NOT_VIP;
}

/* ---- R4e: what may be steered at all ---- */

/* DESIGN.md: "Truncated or malformed headers are never steered." What
 * steering reads (the fixed TCP header with ports and flags, the UDP
 * header, an ICMP error's quoted IP header and ports) lies inside the IP
 * datagram as its own length field bounds it: bytes past that are Ethernet
 * padding or a trailer, not the packet. Only TCP, UDP and ICMP errors are
 * steered; a later fragment has no upper-layer header to check. What is
 * left to the backend's stack is not judged: TCP options (data offset),
 * the UDP length field, checksums. */
static bool steered_whole_l4(uint8_t proto, const uint8_t *l4, size_t rest, uint8_t family,
			     char *why, size_t wl)
{
	switch (proto) {
	case IPPROTO_TCP:
		if (rest < 20)
			return failf(why, wl, "steered a TCP segment of %zu bytes (header cut)", rest);
		return true;
	case IPPROTO_UDP:
		if (rest < 8)
			return failf(why, wl, "steered a UDP datagram of %zu bytes (header cut)", rest);
		return true;
	case IPPROTO_ICMP:
		if (family != 4)
			break;
		if (rest < 8 + IPV4_HLEN || (l4[8] >> 4) != 4 || (l4[8] & 0xf) < 5 ||
		    rest < 8 + (size_t)(l4[8] & 0xf) * 4 + 4)
			return failf(why, wl, "steered an ICMP message of %zu bytes without a whole quoted header and ports",
				     rest);
		return true;
	case IPPROTO_ICMPV6:
		if (family != 6)
			break;
		if (rest < 8 + IPV6_HLEN + 4)
			return failf(why, wl, "steered an ICMPv6 message of %zu bytes without a whole quoted header and ports",
				     rest);
		return true;
	default:
		break;
	}
	return failf(why, wl, "steered IPv%u protocol %u: only TCP, UDP and ICMP errors are balanced",
		     family, proto);
}

/* ip: the inner packet, len: its own length field (already within the frame). */
static bool steered_whole(const uint8_t *ip, size_t len, uint8_t family, char *why, size_t wl)
{
	if (family == 4) {
		size_t hl = (size_t)(ip[0] & 0xf) * 4;

		if (rd16(ip + 6) & 0x1fff)
			return true; /* later fragment */
		return steered_whole_l4(ip[9], ip + hl, len - hl, 4, why, wl);
	}
	{
		uint8_t nh = ip[6];
		size_t off = IPV6_HLEN;

		for (int i = 0; i < MAX_EXT_WALK; i++) {
			size_t sz;

			switch (nh) {
			case NH_HOP:
			case NH_ROUTING:
			case NH_DSTOPTS:
			case NH_AH:
				if (off + 2 > len)
					return failf(why, wl, "steered an IPv6 packet whose extension header at %zu is cut", off);
				sz = nh == NH_AH ? ((size_t)ip[off + 1] + 2) * 4 : ((size_t)ip[off + 1] + 1) * 8;
				break;
			case NH_FRAGMENT:
				if (off + 8 > len)
					return failf(why, wl, "steered an IPv6 packet whose fragment header is cut");
				if (rd16(ip + off + 2) & 0xfff8)
					return true; /* later fragment */
				sz = 8;
				break;
			default:
				return steered_whole_l4(nh, ip + off, len - off, 6, why, wl);
			}
			if (off + sz > len)
				return failf(why, wl, "steered an IPv6 packet whose extension header at %zu runs past the payload (%zu > %zu)",
					     off, off + sz, len);
			nh = ip[off];
			off += sz;
		}
		return failf(why, wl, "steered an IPv6 packet with more than %d extension headers", MAX_EXT_WALK);
	}
}

/* The inner packet's family and length (its own length field), checked to
 * be a well-formed IP header that fits in the frame. */
static bool inner_packet(const uint8_t *ip, size_t avail, uint16_t type, uint8_t *family,
			 size_t *len, char *why, size_t wl)
{
	if (type == 0x0800) {
		size_t hl;

		if (avail < IPV4_HLEN || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
			return failf(why, wl, "steered a frame whose IPv4 header is cut or bad (first byte %02x, %zu bytes)",
				     avail ? ip[0] : 0, avail);
		hl = (size_t)(ip[0] & 0xf) * 4;
		*len = rd16(ip + 2);
		if (hl > avail || *len < hl || *len > avail)
			return failf(why, wl, "steered an IPv4 packet with a %zu-byte header, total length %zu in %zu bytes",
				     hl, *len, avail);
		*family = 4;
		return true;
	}
	if (type == 0x86dd) {
		if (avail < IPV6_HLEN || (ip[0] >> 4) != 6)
			return failf(why, wl, "steered a frame whose IPv6 header is cut or bad");
		*len = IPV6_HLEN + (size_t)rd16(ip + 4);
		if (*len > avail)
			return failf(why, wl, "steered an IPv6 packet with payload length %u in %zu bytes",
				     rd16(ip + 4), avail - IPV6_HLEN);
		*family = 6;
		return true;
	}
	return failf(why, wl, "steered a frame of ethertype %04x: only IP is balanced", type);
}

/* ---- R4: encapsulation ---- */

enum mac_rule {
	MACS_KEPT,	/* XDP_PASS: the kernel must still take the frame as its own */
	MACS_TX,	/* from the ingress NIC to a next hop the FIB knows */
	MACS_REDIRECT,	/* from another NIC to a next hop the FIB knows */
	MACS_ANY,	/* XDP_DROP: nobody reads them */
};

static bool l2_rule(const struct fz_world *w, const uint8_t *in, struct l2 li, const uint8_t *out,
		    struct l2 lo, enum mac_rule m, char *why, size_t wl)
{
	size_t tags_in = li.l3 - ETH_HLEN, tags_out = lo.l3 - ETH_HLEN;

	/* R4a: VLAN tags kept as they came, or all removed. */
	if (tags_out && (tags_out != tags_in || memcmp(out + 12, in + 12, tags_in)))
		return failf(why, wl, "L2 header: %zu bytes of tags, neither the input's %zu nor none",
			     tags_out, tags_in);
	switch (m) {
	case MACS_KEPT:
		if (memcmp(out, in, 12))
			return failf(why, wl, "passed to the kernel with MACs changed: it would not take the frame as its own");
		return true;
	case MACS_TX:
		if (memcmp(out + 6, w->ingress_mac, 6))
			return failf(why, wl, "sent back out with a source MAC that is not the ingress NIC's");
		break;
	case MACS_REDIRECT:
		if (!mac_in(out + 6, w->egress_macs, w->n_egress))
			return failf(why, wl, "redirected with a source MAC of no other NIC");
		break;
	case MACS_ANY:
		return true;
	}
	if (!mac_in(out, w->neigh_macs, w->n_neigh))
		return failf(why, wl, "destination MAC %02x:%02x:%02x:%02x:%02x:%02x is no next hop",
			     out[0], out[1], out[2], out[3], out[4], out[5]);
	return true;
}

/* R4d: the outer destination is a backend of a VIP at the inner destination. */
static bool backend_rule(const struct fz_world *w, uint8_t inner_family, const uint8_t *inner_dst,
			 uint8_t outer_family, const uint8_t *outer_dst, char *why, size_t wl)
{
	size_t ilen = inner_family == 4 ? 4 : 16, olen = outer_family == 4 ? 4 : 16;
	bool vip = false;
	char a[64], b[64];

	for (size_t i = 0; i < w->n_vips; i++) {
		const struct fz_vip_view *v = &w->vips[i];

		if (v->vip.family != inner_family || memcmp(v->vip.a, inner_dst, ilen))
			continue;
		vip = true;
		for (size_t j = 0; j < v->n_backends; j++)
			if (v->backends[j].family == outer_family &&
			    !memcmp(v->backends[j].a, outer_dst, olen))
				return true;
	}
	if (!vip)
		return failf(why, wl, "encapsulated a packet to %s, which is no VIP",
			     ntop(inner_family, inner_dst, a, sizeof(a)));
	return failf(why, wl, "outer destination %s is no backend of VIP %s",
		     ntop(outer_family, outer_dst, b, sizeof(b)),
		     ntop(inner_family, inner_dst, a, sizeof(a)));
}

/* R4b: one outer IPv4 header: version 4, IHL 5, checksum, not a fragment,
 * TTL, protocol 4 (IPv4 inside) or 41 (IPv6 inside), total length = inner
 * length + 20, source in the encapsulation /16. */
static bool outer_ipv4(const struct fz_world *w, const uint8_t *o, uint8_t inner_family,
		       size_t inner_len, char *why, size_t wl)
{
	uint8_t want = inner_family == 4 ? 4 : 41;

	if (o[0] != 0x45)
		return failf(why, wl, "outer IPv4 header starts %02x, not 45", o[0]);
	if (csum_rfc1071(o, IPV4_HLEN))
		return failf(why, wl, "outer IPv4 checksum does not verify");
	if (rd16(o + 6) & 0x3fff)
		return failf(why, wl, "outer IPv4 header is a fragment (%04x)", rd16(o + 6));
	if (!o[8])
		return failf(why, wl, "outer TTL 0");
	if (o[9] != want)
		return failf(why, wl, "outer protocol %u for an IPv%u packet, expected %u", o[9],
			     inner_family, want);
	if (rd16(o + 2) != inner_len + IPV4_HLEN)
		return failf(why, wl, "outer total length %u, inner length %zu + 20", rd16(o + 2), inner_len);
	if (memcmp(o + 12, w->src4, sizeof(w->src4)))
		return failf(why, wl, "outer source %u.%u.%u.%u outside the encapsulation prefix",
			     o[12], o[13], o[14], o[15]);
	return true;
}

/* R4b for IPv6 (RFC 2473): version 6, next header 41 (IPv6 inside) or 4
 * (IPv4 inside), payload length = inner length, hop limit, source in the
 * encapsulation /96. */
static bool outer_ipv6(const struct fz_world *w, const uint8_t *o, uint8_t inner_family,
		       size_t inner_len, char *why, size_t wl)
{
	uint8_t want = inner_family == 6 ? 41 : 4;

	if ((o[0] >> 4) != 6)
		return failf(why, wl, "outer IPv6 header version %u", o[0] >> 4);
	if (o[6] != want)
		return failf(why, wl, "outer next header %u for an IPv%u packet, expected %u", o[6],
			     inner_family, want);
	if (!o[7])
		return failf(why, wl, "outer hop limit 0");
	if (rd16(o + 4) != inner_len)
		return failf(why, wl, "outer payload length %u, inner length %zu", rd16(o + 4), inner_len);
	if (memcmp(o + 8, w->src6, sizeof(w->src6)))
		return failf(why, wl, "outer IPv6 source outside the encapsulation prefix");
	return true;
}

static bool encap_rule(const struct fz_world *w, const uint8_t *in, size_t in_len,
		       const uint8_t *out, size_t out_len, enum mac_rule m, char *why, size_t wl)
{
	struct l2 li = parse_l2(in, in_len), lo = parse_l2(out, out_len);
	const uint8_t *inner = in + li.l3, *o = out + lo.l3, *body;
	size_t avail = in_len - li.l3, inner_len, hl, body_len;
	uint8_t family, outer_family;

	/* R4e: only a whole, well-formed IP packet is steered. */
	if (!inner_packet(inner, avail, li.type, &family, &inner_len, why, wl) ||
	    !steered_whole(inner, inner_len, family, why, wl))
		return false;
	if (!l2_rule(w, in, li, out, lo, m, why, wl))
		return false;
	if (lo.type == 0x0800 && lo.l3 + IPV4_HLEN <= out_len) {
		outer_family = 4;
		hl = IPV4_HLEN;
		if (!outer_ipv4(w, o, family, inner_len, why, wl))
			return false;
	} else if (lo.type == 0x86dd && lo.l3 + IPV6_HLEN <= out_len) {
		outer_family = 6;
		hl = IPV6_HLEN;
		if (!outer_ipv6(w, o, family, inner_len, why, wl))
			return false;
	} else {
		return failf(why, wl, "no outer IPv4/IPv6 header (ethertype %04x, %zu bytes)", lo.type,
			     out_len);
	}
	/* R4c: the input's IP packet follows, byte for byte: with whatever
	 * trailer the frame had, or cut at its own length. */
	body = o + hl;
	body_len = out_len - lo.l3 - hl;
	if (body_len != avail && body_len != inner_len)
		return failf(why, wl, "%zu bytes after the outer header, expected %zu (or %zu without the trailer)",
			     body_len, avail, inner_len);
	if (memcmp(body, inner, body_len))
		return failf(why, wl, "inner packet differs from the input at byte %zu of it",
			     first_diff(body, inner, body_len));
	return backend_rule(w, family, inner + (family == 4 ? 16 : 24), outer_family,
			    o + (outer_family == 4 ? 16 : 24), why, wl);
}

/* ---- R5: our "too big" reply ---- */

static uint16_t icmp6_csum(const uint8_t *ip6, const uint8_t *msg, size_t len)
{
	uint8_t buf[40 + 2048];

	if (len > 2048)
		return 1;
	memcpy(buf, ip6 + 8, 32);
	buf[32] = (uint8_t)(len >> 24);
	buf[33] = (uint8_t)(len >> 16);
	buf[34] = (uint8_t)(len >> 8);
	buf[35] = (uint8_t)len;
	buf[36] = buf[37] = buf[38] = 0;
	buf[39] = IPPROTO_ICMPV6;
	memcpy(buf + 40, msg, len);
	return csum_rfc1071(buf, 40 + len);
}

static bool quote_rule(const uint8_t *quote, size_t qlen, const uint8_t *orig, size_t orig_len,
		       size_t min, char *why, size_t wl)
{
	if (qlen < min)
		return failf(why, wl, "reply quotes %zu bytes of the packet, at least %zu needed", qlen, min);
	if (qlen > orig_len || memcmp(quote, orig, qlen))
		return failf(why, wl, "reply does not quote the packet as it came");
	return true;
}

static bool icmp_rule(const uint8_t *in, size_t in_len, const uint8_t *out, size_t out_len,
		      char *why, size_t wl)
{
	struct l2 li = parse_l2(in, in_len), lo = parse_l2(out, out_len);
	const uint8_t *orig = in + li.l3, *ip = out + lo.l3;
	size_t avail = in_len - li.l3, room = out_len - lo.l3, orig_len;
	uint8_t family;

	if (!inner_packet(orig, avail, li.type, &family, &orig_len, why, wl))
		return false;
	/* R5a: tags kept or removed, as for R4a; MACs are not judged: the
	 * reply goes back toward the client by whatever next hop. */
	if (lo.l3 != ETH_HLEN && (lo.l3 != li.l3 || memcmp(out + 12, in + 12, li.l3 - ETH_HLEN)))
		return failf(why, wl, "reply's VLAN tags are neither the input's nor none");
	if (family == 4) {
		size_t hl, tot, ilen;
		const uint8_t *ic;
		uint16_t mtu;

		if (lo.type != 0x0800 || room < IPV4_HLEN + 8 || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
			return failf(why, wl, "not an IPv4 reply");
		hl = (size_t)(ip[0] & 0xf) * 4;
		tot = rd16(ip + 2);
		if (tot < hl + 8 || tot > room || csum_rfc1071(ip, hl))
			return failf(why, wl, "reply IPv4 header bad (length %zu in %zu, checksum)", tot, room);
		if (ip[9] != IPPROTO_ICMP || memcmp(ip + 16, orig + 12, 4) || !ip[8])
			return failf(why, wl, "reply is not ICMP to the original source");
		ic = ip + hl;
		ilen = tot - hl;
		if (ic[0] != 3 || ic[1] != 4 || csum_rfc1071(ic, ilen))
			return failf(why, wl, "reply is not a valid ICMP fragmentation needed (type %u code %u)",
				     ic[0], ic[1]);
		/* RFC 1191: only for DF packets, and the MTU named is one the
		 * packet does not fit. */
		mtu = rd16(ic + 6);
		if (!(rd16(orig + 6) & 0x4000))
			return failf(why, wl, "fragmentation needed for a packet without DF");
		if (mtu < 68 || mtu >= orig_len)
			return failf(why, wl, "reply names MTU %u for a packet of %zu bytes", mtu, orig_len);
		/* RFC 792: the IP header and the first 8 bytes of its data. */
		{
			size_t want = (size_t)(orig[0] & 0xf) * 4 + 8;

			return quote_rule(ic + 8, ilen - 8, orig, avail, want < orig_len ? want : orig_len,
					  why, wl);
		}
	}
	{
		size_t plen;
		const uint8_t *ic;
		uint32_t mtu;

		if (lo.type != 0x86dd || room < IPV6_HLEN + 8 || (ip[0] >> 4) != 6)
			return failf(why, wl, "not an IPv6 reply");
		plen = rd16(ip + 4);
		if (plen < 8 || IPV6_HLEN + plen > room)
			return failf(why, wl, "reply IPv6 payload length %zu in %zu", plen, room);
		if (ip[6] != IPPROTO_ICMPV6 || memcmp(ip + 24, orig + 8, 16) || !ip[7])
			return failf(why, wl, "reply is not ICMPv6 to the original source");
		ic = ip + IPV6_HLEN;
		if (ic[0] != 2 || ic[1] != 0 || icmp6_csum(ip, ic, plen))
			return failf(why, wl, "reply is not a valid ICMPv6 packet too big (type %u code %u)",
				     ic[0], ic[1]);
		mtu = rd32(ic + 4);
		if (mtu < 1280 || mtu >= orig_len)
			return failf(why, wl, "reply names MTU %u for a packet of %zu bytes", mtu, orig_len);
		/* RFC 4443 2.4(c): as much of the packet as fits in 1280. */
		/* At least the header and the ports (a quote may stop at a
		 * whole 16-bit word, RFC 4443 leaves the cut to the sender). */
		return quote_rule(ic + 8, plen - 8, orig, avail, orig_len < 48 ? orig_len & ~(size_t)1 : 48,
				  why, wl);
	}
}

/* ---- the verdict ---- */

static bool looks_like_icmp(const uint8_t *out, size_t out_len)
{
	struct l2 l = parse_l2(out, out_len);

	if (l.type == 0x0800 && l.l3 + IPV4_HLEN <= out_len)
		return out[l.l3 + 9] == IPPROTO_ICMP;
	if (l.type == 0x86dd && l.l3 + IPV6_HLEN <= out_len)
		return out[l.l3 + 6] == IPPROTO_ICMPV6;
	return false;
}

#define ACCEPT(s) (*shape = (s), true)

static bool judge(const struct fz_world *w, const uint8_t *in, size_t in_len, int action,
		  const uint8_t *out, size_t out_len, enum fz_shape *shape, char *why, size_t wl)
{
	bool same = out_len == in_len && !memcmp(in, out, in_len);
	char e[FZ_WHY_LEN], i[FZ_WHY_LEN];

	if (action < XDP_DROP || action > XDP_REDIRECT) /* R1 */
		return failf(why, wl, "R1: action %d (%s) is never allowed", action,
			     fz_action_name(action));
	switch (vip_bound(w, in, in_len)) { /* R2 */
	case NOT_VIP:
		if (action == XDP_PASS && same)
			return ACCEPT(FZ_UNCHANGED);
		return failf(why, wl, "R2: not for a VIP, so it must pass unchanged: got %s%s",
			     fz_action_name(action), same ? "" : ", bytes changed");
	case DST_UNKNOWN:
		if ((action == XDP_PASS || action == XDP_DROP) && same)
			return ACCEPT(FZ_UNCHANGED);
		return failf(why, wl, "R2: too short to name a VIP, so it must pass or drop unchanged: got %s%s",
			     fz_action_name(action), same ? "" : ", bytes changed");
	case MAYBE_VIP:
		break;
	}
	switch (action) {
	case XDP_PASS:
	case XDP_DROP:
		if (same)
			return ACCEPT(FZ_UNCHANGED);
		if (encap_rule(w, in, in_len, out, out_len, action == XDP_PASS ? MACS_KEPT : MACS_ANY,
			       e, sizeof(e)))
			return ACCEPT(FZ_ENCAP);
		if (out_len == in_len)
			return failf(why, wl, "R3: %s with byte %zu changed", fz_action_name(action),
				     first_diff(out, in, in_len));
		return failf(why, wl, "R3/R4: %s with %zu bytes out of %zu, not a valid encapsulation: %s",
			     fz_action_name(action), out_len, in_len, e);
	case XDP_TX:
		if (same)
			return failf(why, wl, "R4: XDP_TX of the frame as it came");
		if (encap_rule(w, in, in_len, out, out_len, MACS_TX, e, sizeof(e)))
			return ACCEPT(FZ_ENCAP);
		if (icmp_rule(in, in_len, out, out_len, i, sizeof(i)))
			return ACCEPT(FZ_ICMP_REPLY);
		/* Explain by what the output claims to be. */
		if (looks_like_icmp(out, out_len))
			return failf(why, wl, "R5: XDP_TX of no valid too-big reply: %s", i);
		return failf(why, wl, "R4: XDP_TX of no valid encapsulation: %s", e);
	default: /* XDP_REDIRECT */
		if (encap_rule(w, in, in_len, out, out_len, MACS_REDIRECT, e, sizeof(e)))
			return ACCEPT(FZ_ENCAP);
		return failf(why, wl, "R4: XDP_REDIRECT of no valid encapsulation: %s", e);
	}
}

void fz_check(const struct fz_world *w, const uint8_t *in, size_t in_len, int action,
	      const uint8_t *out, size_t out_len, struct fz_verdict *v)
{
	v->shape = FZ_UNCHANGED;
	v->why[0] = '\0';
	v->ok = judge(w, in, in_len, action, out, out_len, &v->shape, v->why, sizeof(v->why));
}
