// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The real decap object through BPF_PROG_TEST_RUN: an IPIP packet to one of
 * the host's addresses comes out as the inner packet with the original
 * MACs; anything else passes unchanged; each outcome counts its reason.
 * Nothing is attached or pinned.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "decap.skel.h"
#include "flb_test.h"
#include "pinned_maps.h"
#include "pkt.h"

static struct decap *skel;

int flb_test_setup(char *why, size_t len)
{
	struct flb_dcp_addr key = { .family = FLB_AF_INET };
	__u32 val = 0;

	if (geteuid()) {
		snprintf(why, len, "needs root (BPF)");
		return 1;
	}
	skel = decap__open_and_load();
	if (!skel) {
		snprintf(why, len, "cannot load the decap program");
		return -1;
	}
	key.addr[0] = inet_addr("10.10.2.11");
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.flb_dcp_addrs), &key, &val, 0))
		return -1;
	memset(&key, 0, sizeof(key));
	key.family = FLB_AF_INET6;
	inet_pton(AF_INET6, "fd00:10:2::11", key.addr);
	return bpf_map_update_elem(bpf_map__fd(skel->maps.flb_dcp_addrs), &key, &val, 0) ? -1 : 0;
}

void flb_test_teardown(void)
{
	decap__destroy(skel);
}

static uint64_t reason(int r)
{
	uint64_t v = 0;

	percpu_sum(bpf_map__fd(skel->maps.flb_dcp_reasons), r, &v, 1);
	return v;
}

/* IPIP frame: Ethernet, outer IPv4 (ihl words) to dst, then the inner
 * packet of `inner` (a full frame whose Ethernet header is dropped). */
static size_t ipip(uint8_t *buf, const uint8_t *inner, size_t inner_len, const char *dst,
		   int ihl)
{
	size_t ip_len = inner_len - 14, olen = ihl * 4;
	uint8_t *o = buf + 14;
	uint32_t d = inet_addr(dst), sa = inet_addr("172.16.1.2");
	uint16_t c;

	memcpy(buf, inner, 14);
	memset(o, 0, olen);
	o[0] = 0x40 | ihl;
	o[2] = (ip_len + olen) >> 8;
	o[3] = (ip_len + olen) & 0xff;
	o[8] = 64;
	o[9] = IPPROTO_IPIP;
	memcpy(o + 12, &sa, 4);
	memcpy(o + 16, &d, 4);
	for (size_t i = 20; i < olen; i++)
		o[i] = 1;
	c = csum_rfc1071(o, olen);
	memcpy(o + 10, &c, 2);
	memcpy(o + olen, inner + 14, ip_len);
	return 14 + olen + ip_len;
}

static int run(const uint8_t *in, size_t len, uint8_t *out, uint32_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = 2048, .repeat = 1);

	if (!ASSERT_OK(bpf_prog_test_run_opts(bpf_program__fd(skel->progs.decap), &opts),
		       "test run"))
		return -1;
	*out_len = opts.data_size_out;
	return opts.retval;
}

static size_t inner_frame(uint8_t *buf)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
			      .tcp_flags = 0x02, .payload = 32, .smac = "\x02\0\0\0\0\xaa",
			      .dmac = "\x02\0\0\0\0\xbb" };

	s.saddr = inet_addr("10.10.1.2");
	s.daddr = inet_addr("10.100.0.1");
	return pkt_build(&s, buf, 2048);
}

TEST(ipip_to_host_is_stripped_to_the_inner_packet)
{
	for (int ihl = 5; ihl <= 6; ihl++) {
		uint8_t inner[2048], in[2048], out[2048];
		size_t ilen = inner_frame(inner), len = ipip(in, inner, ilen, "10.10.2.11", ihl);
		uint64_t ok = reason(FLB_R_DECAP_OK);
		uint32_t out_len;

		ASSERT_EQ(run(in, len, out, &out_len), XDP_PASS, "action");
		ASSERT_EQ(out_len, ilen, "outer header removed");
		ASSERT_MEMEQ(out, inner, 12, "MACs kept");
		ASSERT_MEMEQ(out + 12, "\x08\x00", 2, "ethertype IPv4");
		ASSERT_MEMEQ(out + 14, inner + 14, ilen - 14, "inner packet byte for byte");
		ASSERT_EQ(reason(FLB_R_DECAP_OK) - ok, 1, "decap_ok counted");
	}
}

static void expect_unchanged(const uint8_t *in, size_t len, int r)
{
	uint8_t out[2048];
	uint64_t before = reason(r);
	uint32_t out_len;

	ASSERT_EQ(run(in, len, out, &out_len), XDP_PASS, "action");
	ASSERT_EQ(out_len, len, "length unchanged");
	ASSERT_MEMEQ(out, in, len, "packet unchanged");
	ASSERT_EQ(reason(r) - before, 1, "reason counted");
}

TEST(ipip_to_another_host_passes_unchanged)
{
	uint8_t inner[2048], in[2048];
	size_t ilen = inner_frame(inner);

	expect_unchanged(in, ipip(in, inner, ilen, "10.10.2.99", 5), FLB_R_DECAP_PASS_OTHER);
}

TEST(plain_traffic_passes_unchanged)
{
	uint8_t inner[2048];

	expect_unchanged(inner, inner_frame(inner), FLB_R_DECAP_PASS_OTHER);
}

TEST(truncated_ipip_passes_unchanged_counted)
{
	uint8_t inner[2048], in[2048];
	size_t len = ipip(in, inner, inner_frame(inner), "10.10.2.11", 5);

	(void)len;
	expect_unchanged(in, 14 + 10, FLB_R_DECAP_BAD);      /* half an outer header */
	expect_unchanged(in, 14 + 20 + 8, FLB_R_DECAP_BAD);  /* half an inner header */
}

/* An IPv6 outer header (next header 41 or 4) in front of an inner frame. */
static size_t ip6_tunnel(uint8_t *buf, const uint8_t *inner, size_t inner_len, const char *dst)
{
	size_t ip_len = inner_len - 14;
	uint8_t *o = buf + 14;

	memcpy(buf, inner, 12);
	buf[12] = 0x86, buf[13] = 0xdd;
	memset(o, 0, 40);
	o[0] = 0x60;
	o[4] = ip_len >> 8, o[5] = ip_len & 0xff;
	o[6] = (inner[12] == 0x86) ? 41 : 4;
	o[7] = 64;
	inet_pton(AF_INET6, "fd00:f1b::1", o + 8);
	inet_pton(AF_INET6, dst, o + 24);
	memcpy(o + 40, inner + 14, ip_len);
	return 14 + 40 + ip_len;
}

TEST(ipv6_tunnels_to_host_are_stripped)
{
	struct pkt_spec s6 = { .v6 = 1, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
			       .tcp_flags = 0x02, .payload = 32 };
	uint8_t inner[2048], in[2048], out[2048];
	size_t ilen, len;
	uint32_t out_len;

	inet_pton(AF_INET6, "fd00:10:1::2", s6.saddr6);
	inet_pton(AF_INET6, "fd00:100::1", s6.daddr6);
	ilen = pkt_build(&s6, inner, sizeof(inner));
	len = ip6_tunnel(in, inner, ilen, "fd00:10:2::11");
	ASSERT_EQ(run(in, len, out, &out_len), XDP_PASS, "IP6IP6 action");
	ASSERT_EQ(out_len, ilen, "IP6IP6 outer removed");
	ASSERT_MEMEQ(out, inner, ilen, "IPv6 inner frame byte for byte");

	ilen = inner_frame(inner); /* IPv4 inner: 4in6 */
	len = ip6_tunnel(in, inner, ilen, "fd00:10:2::11");
	ASSERT_EQ(run(in, len, out, &out_len), XDP_PASS, "4in6 action");
	ASSERT_EQ(out_len, ilen, "4in6 outer removed");
	ASSERT_MEMEQ(out + 12, "\x08\x00", 2, "ethertype back to IPv4");
	ASSERT_MEMEQ(out + 14, inner + 14, ilen - 14, "IPv4 inner byte for byte");

	len = ip6_tunnel(in, inner, ilen, "fd00:10:2::99");
	expect_unchanged(in, len, FLB_R_DECAP_PASS_OTHER);
}
