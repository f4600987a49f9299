// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The node side for pods (docs/pods.md) through BPF_PROG_TEST_RUN: the real
 * decap object translates a tunnelled packet for a local pod (VIP:80 ->
 * pod:8080) and records the flow; the real rnat object, sharing that flow
 * table as fluxlbd's node role does, turns the pod's reply back into
 * VIP:80. Every output frame is compared byte for byte with one the packet
 * builder made with the expected addresses and ports (so every checksum is
 * checked against an independent RFC 1071 sum), IPv4 and IPv6, TCP and UDP;
 * then the aged flow entry and bad input, each with its counter. Nothing is
 * attached or pinned. Not covered here: CHECKSUM_PARTIAL packets from a
 * real pod's stack (tests/e2e/test_pods.sh sends those).
 */
#include <arpa/inet.h>
#include <linux/pkt_cls.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "decap.skel.h"
#include "flb_test.h"
#include "pinned_maps.h"
#include "pkt.h"
#include "rnat.skel.h"

static struct decap *dcp;
static struct rnat *rn;

#define TIMEOUT_NS 1000000000ull /* the rnat timeouts in this test: 1 s */

static void nat_add(int family, const char *vip, uint16_t vport, uint8_t proto, const char *pod,
		    uint16_t tport)
{
	struct flb_nat_key k = { .vport = htons(vport), .proto = proto,
				 .family = family == AF_INET ? FLB_AF_INET : FLB_AF_INET6 };
	struct flb_nat v = { .tport = htons(tport) };

	inet_pton(family, vip, k.vip);
	inet_pton(family, pod, k.pod);
	if (bpf_map_update_elem(bpf_map__fd(dcp->maps.flb_node_nat), &k, &v, 0))
		fprintf(stderr, "cannot fill flb_node_nat\n");
}

int flb_test_setup(char *why, size_t len)
{
	if (geteuid()) {
		snprintf(why, len, "needs root (BPF)");
		return 1;
	}
	dcp = decap__open_and_load();
	rn = rnat__open();
	if (!dcp || !rn) {
		snprintf(why, len, "cannot open the decap or rnat program");
		return -1;
	}
	rn->rodata->tcp_timeout_ns = TIMEOUT_NS;
	rn->rodata->udp_timeout_ns = TIMEOUT_NS;
	if (bpf_map__reuse_fd(rn->maps.flb_node_flows, bpf_map__fd(dcp->maps.flb_node_flows)) ||
	    rnat__load(rn)) {
		snprintf(why, len, "cannot load rnat with decap's flow table");
		return -1;
	}
	nat_add(AF_INET, "10.100.0.1", 80, IPPROTO_TCP, "10.20.0.11", 8080);
	nat_add(AF_INET, "10.100.0.1", 53, IPPROTO_UDP, "10.20.0.11", 5353);
	nat_add(AF_INET6, "fd00:100::1", 80, IPPROTO_TCP, "fd00:20::11", 8080);
	return 0;
}

void flb_test_teardown(void)
{
	rnat__destroy(rn);
	decap__destroy(dcp);
}

static uint64_t count(struct bpf_map *m, int r)
{
	uint64_t v = 0;

	percpu_sum(bpf_map__fd(m), r, &v, 1);
	return v;
}

static int run(int prog, const uint8_t *in, size_t len, uint8_t *out, uint32_t *out_len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = 2048, .repeat = 1);

	if (!ASSERT_OK(bpf_prog_test_run_opts(prog, &opts), "test run"))
		return -1;
	*out_len = opts.data_size_out;
	return opts.retval;
}

#define DECAP(in, len, out, ol) run(bpf_program__fd(dcp->progs.decap), in, len, out, ol)
#define RNAT(in, len, out, ol) run(bpf_program__fd(rn->progs.rnat), in, len, out, ol)

/* A frame from addresses/ports in text: "v4" or "v6" by the address. */
static size_t frame(uint8_t *buf, uint8_t proto, const char *src, uint16_t sport, const char *dst,
		    uint16_t dport, uint8_t flags)
{
	struct pkt_spec s = { .proto = proto, .sport = sport, .dport = dport, .tcp_flags = flags,
			      .payload = 32, .ip_id = 7, .smac = "\x02\0\0\0\0\xaa",
			      .dmac = "\x02\0\0\0\0\xbb" };

	if (strchr(src, ':')) {
		s.v6 = 1;
		s.ethertype = 0x86dd;
		inet_pton(AF_INET6, src, s.saddr6);
		inet_pton(AF_INET6, dst, s.daddr6);
	} else {
		s.saddr = inet_addr(src);
		s.daddr = inet_addr(dst);
	}
	return pkt_build(&s, buf, 2048);
}

/* The balancer's tunnel around an inner frame: IPIP to an IPv4 outer
 * destination, IP6IP6 (or 4in6) to an IPv6 one. */
static size_t tunnel(uint8_t *buf, const uint8_t *inner, size_t ilen, const char *dst)
{
	size_t ip_len = ilen - 14;
	uint8_t *o = buf + 14;

	memcpy(buf, inner, 14);
	if (strchr(dst, ':')) {
		buf[12] = 0x86, buf[13] = 0xdd;
		memset(o, 0, 40);
		o[0] = 0x60;
		o[4] = ip_len >> 8, o[5] = ip_len & 0xff;
		o[6] = inner[12] == 0x86 ? 41 : 4;
		o[7] = 64;
		inet_pton(AF_INET6, "fd00:f1b::1", o + 8);
		inet_pton(AF_INET6, dst, o + 24);
		memcpy(o + 40, inner + 14, ip_len);
		return 14 + 40 + ip_len;
	} else {
		uint32_t d = inet_addr(dst), sa = inet_addr("172.16.1.2");
		uint16_t c;

		memset(o, 0, 20);
		o[0] = 0x45;
		o[2] = (ip_len + 20) >> 8, o[3] = (ip_len + 20) & 0xff;
		o[8] = 64;
		o[9] = IPPROTO_IPIP;
		memcpy(o + 12, &sa, 4);
		memcpy(o + 16, &d, 4);
		c = csum_rfc1071(o, 20);
		memcpy(o + 10, &c, 2);
		memcpy(o + 20, inner + 14, ip_len);
		return 14 + 20 + ip_len;
	}
}

/* client -> VIP:vport through the tunnel to pod comes out as client ->
 * pod:tport, exactly; then pod:tport's reply leaves as VIP:vport -> client. */
static void round_trip(uint8_t proto, const char *client, const char *vip, uint16_t vport,
		       const char *pod, uint16_t tport)
{
	uint8_t inner[2048], in[2048], out[2048], want[2048];
	uint64_t dnat = count(dcp->maps.flb_dcp_reasons, FLB_R_DECAP_DNAT);
	uint64_t ok = count(rn->maps.flb_rnat_counts, FLB_R_RNAT_OK);
	size_t ilen = frame(inner, proto, client, 40000, vip, vport, 0x02);
	size_t len = tunnel(in, inner, ilen, pod), wlen;
	uint32_t out_len;

	ASSERT_EQ(DECAP(in, len, out, &out_len), XDP_PASS, "decap action");
	wlen = frame(want, proto, client, 40000, pod, tport, 0x02);
	ASSERT_EQ(out_len, wlen, "outer header removed");
	ASSERT_MEMEQ(out, want, wlen, "inner frame to pod:tport byte for byte (checksums too)");
	ASSERT_EQ(count(dcp->maps.flb_dcp_reasons, FLB_R_DECAP_DNAT) - dnat, 1, "decap_dnat counted");

	len = frame(in, proto, pod, tport, client, 40000, 0x12);
	wlen = frame(want, proto, vip, vport, client, 40000, 0x12);
	ASSERT_EQ(RNAT(in, len, out, &out_len), TC_ACT_OK, "rnat action");
	ASSERT_EQ(out_len, wlen, "reply length");
	ASSERT_MEMEQ(out, want, wlen, "reply from VIP:vport byte for byte (checksums too)");
	ASSERT_EQ(count(rn->maps.flb_rnat_counts, FLB_R_RNAT_OK) - ok, 1, "rnat_ok counted");
}

TEST(ipv4_tcp_is_translated_to_the_pod_and_back)
{
	round_trip(IPPROTO_TCP, "10.10.1.2", "10.100.0.1", 80, "10.20.0.11", 8080);
}

TEST(ipv4_udp_is_translated_to_the_pod_and_back)
{
	round_trip(IPPROTO_UDP, "10.10.1.2", "10.100.0.1", 53, "10.20.0.11", 5353);
}

TEST(ipv6_tcp_is_translated_to_the_pod_and_back)
{
	round_trip(IPPROTO_TCP, "fd00:10:1::2", "fd00:100::1", 80, "fd00:20::11", 8080);
}

TEST(the_flow_entry_names_vip_and_port_under_the_reply_key)
{
	struct flb_nflow_key k = { .tport = htons(8080), .cport = htons(40000),
				   .proto = IPPROTO_TCP, .family = FLB_AF_INET };
	struct flb_nflow v;
	struct timespec ts;

	round_trip(IPPROTO_TCP, "10.10.1.2", "10.100.0.1", 80, "10.20.0.11", 8080);
	k.pod[0] = inet_addr("10.20.0.11");
	k.client[0] = inet_addr("10.10.1.2");
	if (!ASSERT_OK(bpf_map_lookup_elem(bpf_map__fd(dcp->maps.flb_node_flows), &k, &v),
		       "entry under (pod, 8080, client, 40000, tcp)"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ASSERT_EQ(v.vip[0], inet_addr("10.100.0.1"), "entry's VIP");
	ASSERT_EQ(ntohs(v.vport), 80, "entry's VIP port");
	ASSERT_LE((uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec - v.last_seen, TIMEOUT_NS,
		  "last_seen is now");
}

static void expect_unchanged(int rnat, const uint8_t *in, size_t len, struct bpf_map *m, int r)
{
	uint8_t out[2048];
	uint64_t before = count(m, r);
	uint32_t out_len;

	if (rnat)
		ASSERT_EQ(RNAT(in, len, out, &out_len), TC_ACT_OK, "action");
	else
		ASSERT_EQ(DECAP(in, len, out, &out_len), XDP_PASS, "action");
	ASSERT_EQ(out_len, len, "length unchanged");
	ASSERT_MEMEQ(out, in, len, "packet unchanged");
	ASSERT_EQ(count(m, r) - before, 1, "reason counted");
}

TEST(an_aged_flow_entry_translates_nothing_until_the_flow_is_seen_again)
{
	struct flb_nflow_key k = { .tport = htons(8080), .cport = htons(40001),
				   .proto = IPPROTO_TCP, .family = FLB_AF_INET };
	struct flb_nflow v = { .vport = htons(80) };
	uint8_t in[2048], out[2048], inner[2048], tun[2048];
	struct timespec ts;
	size_t len;
	uint32_t out_len;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	k.pod[0] = inet_addr("10.20.0.11");
	k.client[0] = inet_addr("10.10.1.2");
	v.vip[0] = inet_addr("10.100.0.1");
	v.last_seen = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec - 3 * TIMEOUT_NS;
	ASSERT_OK(bpf_map_update_elem(bpf_map__fd(dcp->maps.flb_node_flows), &k, &v, 0), "aged entry");
	len = frame(in, IPPROTO_TCP, "10.20.0.11", 8080, "10.10.1.2", 40001, 0x10);
	expect_unchanged(1, in, len, rn->maps.flb_rnat_counts, FLB_R_RNAT_EXPIRED);
	/* The client's next packet refreshes it. */
	len = tunnel(tun, inner, frame(inner, IPPROTO_TCP, "10.10.1.2", 40001, "10.100.0.1", 80, 0x10),
		     "10.20.0.11");
	ASSERT_EQ(DECAP(tun, len, out, &out_len), XDP_PASS, "forward packet");
	len = frame(in, IPPROTO_TCP, "10.20.0.11", 8080, "10.10.1.2", 40001, 0x10);
	ASSERT_EQ(RNAT(in, len, out, &out_len), TC_ACT_OK, "reply action");
	len = frame(inner, IPPROTO_TCP, "10.100.0.1", 80, "10.10.1.2", 40001, 0x10);
	ASSERT_MEMEQ(out, inner, len, "reply translated again");
}

TEST(bad_input_is_counted_and_never_translated)
{
	uint8_t inner[2048], in[2048];
	size_t ilen, len;

	/* Inner TCP header cut short. */
	ilen = frame(inner, IPPROTO_TCP, "10.10.1.2", 40000, "10.100.0.1", 80, 0x02);
	len = tunnel(in, inner, ilen, "10.20.0.11");
	expect_unchanged(0, in, 14 + 20 + 20 + 10, dcp->maps.flb_dcp_reasons, FLB_R_DECAP_BAD);
	/* A VIP port the pod does not serve, a pod that is not ours. */
	ilen = frame(inner, IPPROTO_TCP, "10.10.1.2", 40000, "10.100.0.1", 81, 0x02);
	len = tunnel(in, inner, ilen, "10.20.0.11");
	expect_unchanged(0, in, len, dcp->maps.flb_dcp_reasons, FLB_R_DECAP_PASS_OTHER);
	ilen = frame(inner, IPPROTO_TCP, "10.10.1.2", 40000, "10.100.0.1", 80, 0x02);
	len = tunnel(in, inner, ilen, "10.20.0.99");
	expect_unchanged(0, in, len, dcp->maps.flb_dcp_reasons, FLB_R_DECAP_PASS_OTHER);
	/* IPv4 inside IPv6 to an IPv6 pod: a pod gets its own family only. */
	len = tunnel(in, inner, ilen, "fd00:20::11");
	expect_unchanged(0, in, len, dcp->maps.flb_dcp_reasons, FLB_R_DECAP_PASS_OTHER);
	/* Replies: IHL below 5, truncated TCP header, non-IP, no flow. */
	len = frame(in, IPPROTO_TCP, "10.20.0.11", 8080, "10.10.1.2", 40000, 0x10);
	in[14] = 0x44;
	expect_unchanged(1, in, len, rn->maps.flb_rnat_counts, FLB_R_RNAT_BAD);
	in[14] = 0x45;
	expect_unchanged(1, in, 14 + 20 + 10, rn->maps.flb_rnat_counts, FLB_R_RNAT_BAD);
	in[12] = 0x08, in[13] = 0x06;
	expect_unchanged(1, in, len, rn->maps.flb_rnat_counts, FLB_R_RNAT_PASS);
	len = frame(in, IPPROTO_TCP, "10.20.0.11", 8080, "10.10.1.9", 40000, 0x10);
	expect_unchanged(1, in, len, rn->maps.flb_rnat_counts, FLB_R_RNAT_PASS);
}

/* Both roles on one NIC (bpf/tail.h): the balancer hands a tunnel packet to
 * decap through flb_tail. Empty slot: passed unchanged, counted
 * pass_l4_other by the balancer. Decap in the slot: the same bytes decap
 * alone makes (stripped, VIP:80 -> pod:8080), counted by decap only. The
 * encapsulate-then-hand-over path needs the FIB: tests/e2e/test_pods_same_nic.sh. */
TEST(the_balancer_tail_calls_decap_for_tunnel_packets_only_when_the_slot_is_filled)
{
	uint8_t inner[2048], in[2048], out[2048], want[2048];
	struct flb_maps *m = maps_open(NULL);
	struct flb_ctl ctl = { .ready = 1 };
	size_t ilen, len, wlen;
	uint32_t out_len, key = FLB_TAIL_DECAP;
	int bal, tail, prog = bpf_program__fd(dcp->progs.decap);
	uint64_t l4, dnat, seen[FLB_R_MAX] = {}, after[FLB_R_MAX] = {};

	if (!ASSERT_TRUE(m != NULL, "open the balancer"))
		return;
	bal = maps_prog_fd(m);
	tail = bpf_map__fd(bpf_object__find_map_by_name(maps_object(m), "flb_tail"));
	if (!ASSERT_OK(maps_set_ctl(m, &ctl), "ready") || !ASSERT_TRUE(tail >= 0, "flb_tail"))
		goto out;
	for (int fam = 0; fam < 2; fam++) {
		const char *client = fam ? "fd00:10:1::2" : "10.10.1.2";
		const char *vip = fam ? "fd00:100::1" : "10.100.0.1";
		const char *pod = fam ? "fd00:20::11" : "10.20.0.11";

		ilen = frame(inner, IPPROTO_TCP, client, 40100 + fam, vip, 80, 0x02);
		len = tunnel(in, inner, ilen, pod);
		bpf_map_delete_elem(tail, &key);
		maps_read_reasons(m, seen);
		ASSERT_EQ(run(bal, in, len, out, &out_len), XDP_PASS, "empty slot: passed");
		ASSERT_EQ(out_len, len, "empty slot: length unchanged");
		ASSERT_MEMEQ(out, in, len, "empty slot: bytes unchanged");
		maps_read_reasons(m, after);
		ASSERT_EQ(after[FLB_R_PASS_L4_OTHER] - seen[FLB_R_PASS_L4_OTHER], 1,
			  "empty slot: pass_l4_other counted by the balancer");

		if (!ASSERT_OK(bpf_map_update_elem(tail, &key, &prog, BPF_ANY), "fill the slot"))
			goto out;
		l4 = after[FLB_R_PASS_L4_OTHER];
		dnat = count(dcp->maps.flb_dcp_reasons, FLB_R_DECAP_DNAT);
		ASSERT_EQ(run(bal, in, len, out, &out_len), XDP_PASS, "filled: decap's action");
		wlen = frame(want, IPPROTO_TCP, client, 40100 + fam, pod, 8080, 0x02);
		ASSERT_EQ(out_len, wlen, "filled: outer header removed");
		ASSERT_MEMEQ(out, want, wlen, "filled: client -> pod:8080 byte for byte");
		ASSERT_EQ(count(dcp->maps.flb_dcp_reasons, FLB_R_DECAP_DNAT) - dnat, 1,
			  "filled: decap_dnat counted by decap");
		maps_read_reasons(m, after);
		ASSERT_EQ(after[FLB_R_PASS_L4_OTHER], l4, "filled: the balancer counted nothing");
	}
	/* Not a tunnel (plain TCP to no VIP): the slot is not used. */
	len = frame(in, IPPROTO_TCP, "10.10.1.2", 40200, "10.20.0.11", 80, 0x02);
	maps_read_reasons(m, seen);
	ASSERT_EQ(run(bal, in, len, out, &out_len), XDP_PASS, "not a VIP: passed");
	maps_read_reasons(m, after);
	ASSERT_EQ(after[FLB_R_PASS_NOT_VIP] - seen[FLB_R_PASS_NOT_VIP], 1,
		  "not a VIP: counted by the balancer, not handed over");
out:
	maps_close(m);
}
