// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The real balancer object through BPF_PROG_TEST_RUN on crafted packets.
 * The process moves into a network namespace of its own (unshare), where a
 * veth pair, routes and permanent neighbours give bpf_fib_lookup() known
 * answers; nothing is pinned, so nothing outlives the process. Maps are
 * filled by the real pipeline: YAML -> config_parse -> reconcile -> maps.
 *
 * Each case asserts the action, every byte of the output that matters
 * (outer header, checksum, MACs, the inner packet unchanged) and which
 * reason counter moved. The oracle case checks 1,000 random flows against
 * the shared flow hash and the table read back from the map.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "config.h"
#include "flb_hash.h"
#include "flb_test.h"
#include "log.h"
#include "pinned_maps.h"
#include "pkt.h"
#include "reconcile.h"

#define T0_MAC "\x02\x00\x00\x00\x00\xa0"
#define T1_MAC "\x02\x00\x00\x00\x00\xa1"
#define BE11_MAC "\x02\x00\x00\x00\x00\x11"
#define BE12_MAC "\x02\x00\x00\x00\x00\x12"
#define CLIENT_MAC "\x02\x00\x00\x00\x00\xcc"

static struct flb_maps *maps;
static struct reconciler *rec; /* one for the suite, as in the daemon */
static int t0_ifindex;

static const char base_config[] =
	"interfaces: [t0]\n"
	"services:\n"
	"  - {name: tx, vip: 10.100.0.1, port: 80, protocol: tcp, backends: [{address: 10.10.2.11}]}\n"
	"  - {name: redirect, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.12}]}\n"
	"  - {name: dns, vip: 10.100.0.3, port: 53, protocol: udp, backends: [{address: 10.10.2.11}]}\n"
	"  - {name: anyport, vip: 10.100.0.4, backends: [{address: 10.10.2.11}]}\n"
	"  - {name: empty, vip: 10.100.0.5, port: 80, backends: []}\n"
	"  - {name: noneigh, vip: 10.100.0.7, port: 80, backends: [{address: 10.10.2.13}]}\n"
	"  - {name: mtu, vip: 10.100.0.8, port: 80, backends: [{address: 10.10.2.14}]}\n"
	"  - {name: v4in6, vip: 10.100.0.9, port: 80, backends: [{address: 'fd00:10:2::12'}]}\n"
	"  - {name: v6, vip: 'fd00:100::1', port: 80, backends: [{address: 'fd00:10:2::11'}]}\n"
	"  - {name: v6mtu, vip: 'fd00:100::2', port: 80, backends: [{address: 'fd00:10:2::14'}]}\n"
	"  - name: many6\n"
	"    vip: 'fd00:100::3'\n"
	"    port: 443\n"
	"    backends: [{address: 'fd00:10:3::1'}, {address: 'fd00:10:3::2'}, {address: 'fd00:10:3::3'},\n"
	"               {address: 'fd00:10:3::4', weight: 3}, {address: 'fd00:10:3::5'}]\n"
	"  - name: many\n"
	"    vip: 10.100.0.6\n"
	"    port: 80\n"
	"    table_size: 65537\n"
	"    backends:\n"
	"      - {address: 10.10.3.1}\n"
	"      - {address: 10.10.3.2}\n"
	"      - {address: 10.10.3.3, weight: 2}\n"
	"      - {address: 10.10.3.4}\n"
	"      - {address: 10.10.3.5}\n"
	"      - {address: 10.10.3.6}\n"
	"      - {address: 10.10.3.7}\n"
	"  - {name: routed, vip: 10.100.0.10, port: 80, backends: [{address: 10.10.4.1}]}\n";

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "setup: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static int apply_config(const char *yaml)
{
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char err[256];
	int rc = config_parse("test.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "config: %s\n", err);
		return rc;
	}
	rc = reconciler_apply(rec, &cfg, &rep);
	config_free(&cfg);
	return rc;
}

int flb_test_setup(char *why, size_t len)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add t0 address 02:00:00:00:00:a0 type veth peer name t1 address 02:00:00:00:00:a1",
		"ip link set t0 up", "ip link set t1 up",
		"ip addr add 10.10.1.1/24 dev t0",
		"ip addr add 10.10.2.1/32 dev t1",
		"ip route add 10.10.2.11/32 dev t0",
		"ip route add 10.10.2.12/32 dev t1",
		"ip route add 10.10.2.13/32 dev t0",
		"ip route add 10.10.3.0/24 dev t0",
		/* A link with a smaller MTU toward the "mtu" backends. */
		"ip link add t2 mtu 1400 address 02:00:00:00:00:a2 type veth peer name t3 mtu 1400",
		"ip link set t2 up", "ip link set t3 up",
		"ip route add 10.10.2.14/32 dev t2",
		"ip neigh add 10.10.2.14 lladdr 02:00:00:00:00:14 dev t2 nud permanent",
		"ip -6 addr add fd00:10:1::1/64 dev t0 nodad",
		"ip -6 route add fd00:10:2::11/128 dev t0",
		"ip -6 route add fd00:10:2::12/128 dev t0",
		"ip -6 route add fd00:10:2::14/128 dev t2",
		"ip -6 neigh add fd00:10:2::11 lladdr 02:00:00:00:00:21 dev t0 nud permanent",
		"ip -6 neigh add fd00:10:2::12 lladdr 02:00:00:00:00:22 dev t0 nud permanent",
		"ip -6 neigh add fd00:10:2::14 lladdr 02:00:00:00:00:24 dev t2 nud permanent",
		"ip -6 route add fd00:10:3::/64 dev t0",
		"for i in 1 2 3 4 5; do ip -6 neigh add fd00:10:3::$i lladdr 02:00:00:00:06:0$i dev t0 nud permanent; done",
		"sysctl -qw net.ipv6.conf.all.forwarding=1",
		"ip neigh add 10.10.2.11 lladdr 02:00:00:00:00:11 dev t0 nud permanent",
		"ip neigh add 10.10.2.12 lladdr 02:00:00:00:00:12 dev t1 nud permanent",
		"for i in 1 2 3 4 5 6 7; do ip neigh add 10.10.3.$i lladdr 02:00:00:00:03:0$i dev t0 nud permanent; done",
		"sysctl -qw net.ipv4.ip_forward=1",
		/* A backend behind a router: the FIB's next hop is the gateway. */
		"ip route add 10.10.4.0/24 via 10.10.1.254 dev t0",
		"ip neigh add 10.10.1.254 lladdr 02:00:00:00:00:fe dev t0 nud permanent",
	};

	if (geteuid()) {
		snprintf(why, len, "needs root (BPF, a network namespace)");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh(cmds[i])) {
			snprintf(why, len, "setup command failed: %s", cmds[i]);
			return -1;
		}
	t0_ifindex = if_nametoindex("t0");
	log_setup(LOG_WARN, false);
	log_route_libs();
	maps = maps_open(NULL);
	if (!maps) {
		snprintf(why, len, "cannot load the balancer: %s", strerror(errno));
		return -1;
	}
	rec = reconciler_new(maps, NULL);
	if (!rec) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	if (apply_config(base_config)) {
		snprintf(why, len, "the base configuration did not apply");
		return -1;
	}
	return 0;
}

void flb_test_teardown(void)
{
	reconciler_free(rec);
	maps_close(maps);
}

struct run {
	int action;
	uint8_t out[2048];
	uint32_t out_len;
	uint64_t reasons[FLB_R_MAX];  /* delta over the run */
	uint64_t events[FLB_E_MAX];
};

static bool run_pkt(const uint8_t *in, size_t len, struct run *r)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = t0_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint64_t before[FLB_R_MAX], ev_before[FLB_E_MAX];
	int err;

	memset(r, 0, sizeof(*r));
	maps_read_reasons(maps, before);
	maps_read_events(maps, ev_before);
	err = bpf_prog_test_run_opts(maps_prog_fd(maps), &opts);
	if (!ASSERT_OK(err, "bpf_prog_test_run"))
		return false;
	r->action = opts.retval;
	r->out_len = opts.data_size_out;
	maps_read_reasons(maps, r->reasons);
	maps_read_events(maps, r->events);
	for (int i = 0; i < FLB_R_MAX; i++)
		r->reasons[i] -= before[i];
	for (int i = 0; i < FLB_E_MAX; i++)
		r->events[i] -= ev_before[i];
	return true;
}

/* Exactly one reason counted, and it is `reason`. */
static bool assert_reason(const struct run *r, int reason)
{
	uint64_t total = 0;

	for (int i = 0; i < FLB_R_MAX; i++)
		total += r->reasons[i];
	return ASSERT_EQ(r->reasons[reason], 1, "the expected reason counted once") &&
	       ASSERT_EQ(total, 1, "no other reason counted");
}

static struct pkt_spec spec(const char *dst, uint16_t dport, uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .dport = dport, .sport = sport,
			      .tcp_flags = flags, .ip_id = 0x1234, .frag_off = 0x4000,
			      .tos = 0x28, .payload = 16 };

	memcpy(s.smac, CLIENT_MAC, 6);
	memcpy(s.dmac, T0_MAC, 6);
	inet_pton(AF_INET, "10.10.1.2", &s.saddr);
	inet_pton(AF_INET, dst, &s.daddr);
	return s;
}

/* The outer header the program must write, built here from the RFC. */
static void expected_outer(const struct pkt_spec *s, size_t inner_len, const char *backend,
			   uint8_t *hdr)
{
	struct flb_flow flow;
	uint32_t saddr, daddr;
	uint16_t c;

	pkt_flow(s, &flow);
	saddr = htonl(0xac100000 | (flb_flow_hash(&flow) & 0xffff)); /* 172.16.x.y */
	inet_pton(AF_INET, backend, &daddr);
	memset(hdr, 0, 20);
	hdr[0] = 0x45;
	hdr[1] = s->tos;
	hdr[2] = (inner_len + 20) >> 8;
	hdr[3] = (inner_len + 20) & 0xff;
	hdr[4] = s->ip_id >> 8;
	hdr[5] = s->ip_id & 0xff;
	hdr[6] = (s->frag_off & 0x4000) >> 8;
	hdr[8] = 64;
	hdr[9] = 4; /* IPPROTO_IPIP */
	memcpy(hdr + 12, &saddr, 4);
	memcpy(hdr + 16, &daddr, 4);
	c = csum_rfc1071(hdr, 20);
	memcpy(hdr + 10, &c, 2);
}

/* Frame out = dmac, smac, 0x0800, outer header, then the inner IP packet
 * byte for byte as it came in. */
static bool assert_encap(const struct run *r, const uint8_t *in, size_t len,
			 const struct pkt_spec *s, const char *backend, const char *dmac,
			 const char *smac)
{
	uint8_t outer[20];

	expected_outer(s, len - 14, backend, outer);
	return ASSERT_EQ(r->out_len, len + 20, "output grew by one IPv4 header") &&
	       ASSERT_MEMEQ(r->out, dmac, 6, "destination MAC from the neighbour table") &&
	       ASSERT_MEMEQ(r->out + 6, smac, 6, "source MAC of the egress interface") &&
	       ASSERT_MEMEQ(r->out + 12, "\x08\x00", 2, "ethertype IPv4") &&
	       ASSERT_MEMEQ(r->out + 14, outer, 20, "outer IPv4 header") &&
	       ASSERT_EQ(csum_rfc1071(r->out + 14, 20), 0, "outer checksum verifies") &&
	       ASSERT_MEMEQ(r->out + 34, in + 14, len - 14, "inner packet unchanged");
}

static bool build(const struct pkt_spec *s, uint8_t *buf, size_t *len)
{
	*len = pkt_build(s, buf, 2048);
	return ASSERT_NE(*len, 0, "packet built");
}

static uint64_t mono_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000ULL + now.tv_nsec;
}

static int ct_map_fd(void)
{
	return bpf_object__find_map_fd_by_name(maps_object(maps), "flb_conntrack");
}

/* The conntrack entry of the packet's flow. */
static bool ct_get(const struct pkt_spec *s, struct flb_ct *ct)
{
	struct flb_flow flow;

	pkt_flow(s, &flow);
	return ASSERT_OK(maps_ct_lookup(maps, &flow, ct), "conntrack entry");
}

/* Makes the flow's last packet `ago_s` seconds old, as time would. */
static bool ct_age(const struct pkt_spec *s, uint64_t ago_s)
{
	struct flb_flow flow;
	struct flb_ct ct;

	pkt_flow(s, &flow);
	if (!ct_get(s, &ct))
		return false;
	ct.last_seen = mono_ns() - ago_s * 1000000000ULL;
	return ASSERT_OK(bpf_map_update_elem(ct_map_fd(), &flow, &ct, BPF_EXIST), "age entry");
}

static void ct_flush(void)
{
	struct flb_flow k;
	int fd = ct_map_fd();

	while (!bpf_map_get_next_key(fd, NULL, &k))
		bpf_map_delete_elem(fd, &k);
}

/* Runs the packet s with flags; false (and the test stops) if it cannot. */
static bool send_flags(struct pkt_spec *s, uint8_t flags, struct run *r)
{
	uint8_t in[2048];
	size_t len;

	s->tcp_flags = flags;
	return build(s, in, &len) && run_pkt(in, len, r);
}

TEST(syn_to_vip_is_encapsulated_and_sent_back_out)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40001, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_reason(&r, FLB_R_FWD_TX);
	ASSERT_EQ(r.events[FLB_E_SYN_LOOKUP], 1, "SYN took a Maglev lookup");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "conntrack entry made");
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
}

/* The outer destination is the backend, the frame goes to the gateway's
 * MAC: bpf_fib_lookup() writes the gateway into its ipv4_dst. Twice: the
 * first packet asks the FIB, the second takes the cached next hop. */
TEST(backend_behind_a_gateway_is_the_outer_destination)
{
	struct pkt_spec s = spec("10.100.0.10", 80, 40020, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	for (int i = 0; i < 2; i++) {
		if (!build(&s, in, &len) || !run_pkt(in, len, &r))
			return;
		ASSERT_EQ(r.action, XDP_TX, "action");
		assert_encap(&r, in, len, &s, "10.10.4.1", "\x02\x00\x00\x00\x00\xfe", T0_MAC);
		s.tcp_flags = 0x10;
	}
}

TEST(ack_after_syn_hits_conntrack_same_backend)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40002, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "conntrack hit");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 0, "no new entry");
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
}

TEST(udp_to_vip_is_forwarded)
{
	struct pkt_spec s = spec("10.100.0.3", 53, 5353, 0);
	uint8_t in[2048];
	struct run r;
	size_t len;

	s.proto = IPPROTO_UDP;
	s.frag_off = 0; /* no DF: the outer header must not set it either */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_reason(&r, FLB_R_FWD_TX);
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
}

TEST(backend_behind_other_interface_is_redirected)
{
	struct pkt_spec s = spec("10.100.0.2", 80, 40003, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_REDIRECT, "action");
	assert_reason(&r, FLB_R_FWD_REDIRECT);
	assert_encap(&r, in, len, &s, "10.10.2.12", BE12_MAC, T1_MAC);
}

TEST(unresolved_neighbour_goes_to_kernel_encapsulated)
{
	struct pkt_spec s = spec("10.100.0.7", 80, 40004, 0x02);
	uint8_t in[2048], outer[20];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_PASS, "action");
	assert_reason(&r, FLB_R_PASS_NO_NEIGH);
	expected_outer(&s, len - 14, "10.10.2.13", outer);
	/* MACs of the original frame, so the kernel takes it as ours. */
	ASSERT_MEMEQ(r.out, in, 12, "original MACs kept");
	ASSERT_MEMEQ(r.out + 14, outer, 20, "outer IPv4 header");
	ASSERT_MEMEQ(r.out + 34, in + 14, len - 14, "inner packet unchanged");
}

TEST(ipv4_options_any_ihl_forwarded_intact)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40005, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	s.ihl = 15; /* 40 bytes of options: the most there can be */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
}

TEST(portless_vip_matches_every_port)
{
	uint16_t ports[] = { 1, 443, 8080, 65535 };

	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct pkt_spec s = spec("10.100.0.4", ports[i], 40006, 0x02);
		uint8_t in[2048];
		struct run r;
		size_t len;

		if (!build(&s, in, &len) || !run_pkt(in, len, &r))
			return;
		ASSERT_EQ(r.action, XDP_TX, "action");
		assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
	}
}

/* Passed unchanged, with one reason counted. */
static void expect_pass(const uint8_t *in, size_t len, int reason)
{
	struct run r;

	if (!run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_PASS, "action");
	assert_reason(&r, reason);
	ASSERT_EQ(r.out_len, len, "length unchanged");
	ASSERT_MEMEQ(r.out, in, len, "packet unchanged");
}

TEST(not_a_vip_passes_unchanged)
{
	struct pkt_spec s = spec("10.100.0.1", 81, 40007, 0x02); /* VIP address, other port */
	uint8_t in[2048];
	size_t len;

	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_VIP);
	s = spec("10.200.0.1", 80, 40007, 0x02);
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_VIP);
	s = spec("10.100.0.1", 80, 40007, 0x02); /* VIP address and port, UDP */
	s.proto = IPPROTO_UDP;
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_VIP);
}

TEST(non_ip_and_ipv6_pass_unchanged)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40008, 0x02);
	uint8_t in[2048];
	size_t len;

	s.ethertype = 0x0806; /* ARP */
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_IP);
	s.ethertype = 0x86dd; /* an IPv4 header behind the IPv6 ethertype */
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_BAD_IPV6);
}

TEST(other_ip_protocols_pass_unchanged)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40009, 0);
	uint8_t in[2048];
	size_t len;

	s.proto = IPPROTO_ICMP;
	s.payload = 8;
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_L4_OTHER);
}

TEST(truncated_headers_pass_unchanged_counted)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40011, 0x02);
	uint8_t in[2048];
	size_t len;

	if (!build(&s, in, &len))
		return;
	/* BAD_ETH is not reachable here: BPF_PROG_TEST_RUN refuses frames
	 * shorter than an Ethernet header (EINVAL), as NICs do. */
	expect_pass(in, 14, FLB_R_BAD_IPV4);           /* no IPv4 header at all */
	expect_pass(in, 14 + 12, FLB_R_BAD_IPV4);      /* half an IPv4 header */
	expect_pass(in, 14 + 20 + 10, FLB_R_BAD_IPV4); /* shorter than total length */

	s.payload = 0;
	if (!build(&s, in, &len))
		return;
	/* IPv4 header whole and consistent, TCP header cut to 10 bytes. */
	in[14 + 3] = 30;
	in[14 + 2] = 0;
	expect_pass(in, 14 + 30, FLB_R_BAD_L4);

	if (!build(&s, in, &len))
		return;
	in[14] = 0x44; /* IHL 4: less than the header itself */
	expect_pass(in, len, FLB_R_BAD_IPV4);
	in[14] = 0x65; /* version 6 in an IPv4 frame */
	expect_pass(in, len, FLB_R_BAD_IPV4);
}

TEST(vip_without_backends_drops_counted)
{
	struct pkt_spec s = spec("10.100.0.5", 80, 40012, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_DROP, "action");
	assert_reason(&r, FLB_R_DROP_NO_BACKEND);
}

TEST(not_ready_passes_everything)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40013, 0x02);
	struct flb_ctl ctl, off;
	uint8_t in[2048];
	size_t len;

	if (!ASSERT_OK(maps_get_ctl(maps, &ctl), "read ctl"))
		return;
	off = ctl;
	off.ready = 0;
	if (!ASSERT_OK(maps_set_ctl(maps, &off), "clear ready"))
		return;
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_READY);
	ASSERT_OK(maps_set_ctl(maps, &ctl), "restore ready");
}

TEST(vip_and_backend_counters_count_exactly)
{
	struct flb_traffic v0, v1, b0, b1;
	struct pkt_spec s = spec("10.100.0.2", 80, 40014, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;
	uint32_t vip_id = 1, be_id;
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	int n = maps_list_vips(maps, keys, vips, FLB_MAX_VIPS);

	for (int i = 0; i < n; i++)
		if (keys[i].addr[0] == inet_addr("10.100.0.2"))
			vip_id = vips[i].id;
	be_id = 2; /* 10.10.2.12: the second address in the config */
	maps_read_vip_stats(maps, vip_id, &v0);
	maps_read_be_stats(maps, be_id, &b0);
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	s.tcp_flags = 0x10;
	for (int i = 0; i < 4; i++)
		if (!build(&s, in, &len) || !run_pkt(in, len, &r))
			return;
	maps_read_vip_stats(maps, vip_id, &v1);
	maps_read_be_stats(maps, be_id, &b1);
	ASSERT_EQ(v1.packets - v0.packets, 5, "VIP packets");
	ASSERT_EQ(v1.bytes - v0.bytes, 5 * len, "VIP bytes (as received)");
	ASSERT_EQ(v1.new_flows - v0.new_flows, 1, "VIP new flows");
	ASSERT_EQ(b1.packets - b0.packets, 5, "backend packets");
	ASSERT_EQ(b1.new_flows - b0.new_flows, 1, "backend new flows");
}

/* The backend address the program chose: the outer destination. */
static uint32_t chosen(const struct run *r)
{
	uint32_t a;

	memcpy(&a, r->out + 14 + 16, 4);
	return a;
}

TEST(oracle_1000_random_flows_match_shared_hash_and_table)
{
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	uint32_t *table = NULL, size = 0, vip_id = UINT32_MAX, seed = 20261128;
	int n = maps_list_vips(maps, keys, vips, FLB_MAX_VIPS), mismatches = 0;

	for (int i = 0; i < n; i++)
		if (keys[i].addr[0] == inet_addr("10.100.0.6"))
			vip_id = vips[i].id;
	if (!ASSERT_OK(maps_get_ring(maps, vip_id, &table, &size), "read table") ||
	    !ASSERT_EQ(size, 65537, "table size"))
		goto out;
	printf("  seed %u\n", seed);
	srand(seed);
	for (int i = 0; i < 1000; i++) {
		struct pkt_spec s = spec("10.100.0.6", 80, 1024 + rand() % 60000, 0x02);
		struct flb_backend be;
		struct flb_flow flow;
		uint8_t in[2048];
		struct run r;
		size_t len;

		s.saddr = htonl(0x0a000000 | (rand() & 0xffffff));
		if (!build(&s, in, &len) || !run_pkt(in, len, &r))
			goto out;
		pkt_flow(&s, &flow);
		if (maps_get_backend(maps, table[flb_flow_hash(&flow) % size], &be) ||
		    r.action != XDP_TX || chosen(&r) != be.addr[0])
			mismatches++;
	}
	ASSERT_EQ(mismatches, 0, "flows where the program and the oracle disagree");
out:
	free(table);
}

TEST(flow_keeps_backend_that_left_the_service_but_still_lives)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40015, 0x02);
	struct flb_backend before, after;
	char *cfg = malloc(sizeof(base_config) + 256);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!cfg || !build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	maps_get_backend(maps, 1, &before); /* 10.10.2.11 */
	/* Swap 10.10.2.11 for 10.10.2.12 in the "tx" service only... */
	snprintf(cfg, sizeof(base_config) + 256, "%s", base_config);
	char *p = strstr(cfg, "10.10.2.11}]}\n  - {name: redirect");
	if (!ASSERT_TRUE(p != NULL, "config edit"))
		goto out;
	memcpy(p, "10.10.2.12", 10);
	if (!ASSERT_OK(apply_config(cfg), "apply"))
		goto out;
	/* ...the established flow stays where it is (the backend lives on
	 * for other services, so it can finish the connection: drain)... */
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.action, XDP_TX, "still to 10.10.2.11");
	ASSERT_EQ(chosen(&r), inet_addr("10.10.2.11"), "same backend");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "conntrack hit");
	/* ...while a new flow takes the new table. */
	s.sport = 40115;
	s.tcp_flags = 0x02;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.action, XDP_REDIRECT, "new flow to 10.10.2.12");
	ASSERT_EQ(chosen(&r), inet_addr("10.10.2.12"), "new backend");
	/* 10.10.2.11 is still used by other services: same id, same gen. */
	maps_get_backend(maps, 1, &after);
	ASSERT_EQ(after.gen, before.gen, "shared backend keeps its generation");
	ASSERT_OK(apply_config(base_config), "restore");
out:
	free(cfg);
}

TEST(removed_backend_drains_then_its_id_is_reused_with_next_generation)
{
	static const char one[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n";
	static const char other[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}]}\n";
	struct pkt_spec s = spec("10.100.0.1", 80, 40016, 0x02);
	struct flb_backend b1, b2;
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!ASSERT_OK(apply_config(one), "apply one") || !build(&s, in, &len) ||
	    !run_pkt(in, len, &r))
		goto out;
	maps_get_backend(maps, 1, &b1);
	ASSERT_EQ(b1.addr[0], inet_addr("10.10.2.11"), "id 1 is 10.10.2.11");
	/* 10.10.2.11 leaves: it drains, its established flow continues... */
	if (!ASSERT_OK(apply_config(other), "apply other"))
		goto out;
	maps_get_backend(maps, 1, &b2);
	ASSERT_EQ(b2.state, FLB_BE_DRAINING, "removed backend drains");
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(chosen(&r), inet_addr("10.10.2.11"), "established flow stays while draining");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "conntrack hit");
	/* ...a new flow goes to the new table... */
	s.sport = 40116, s.tcp_flags = 0x02;
	if (build(&s, in, &len) && run_pkt(in, len, &r))
		ASSERT_EQ(chosen(&r), inet_addr("10.10.2.12"), "new flow to the live backend");
	/* ...until the drain ends (timeout 0 here): the id is freed and the
	 * flow is re-steered, never sent to whoever takes the id next. */
	ASSERT_GE(reconciler_drain_tick(rec, 0), 1, "drain finished");
	maps_get_backend(maps, 1, &b2);
	ASSERT_EQ(b2.state, FLB_BE_UNUSED, "id freed");
	ASSERT_EQ(b2.gen, b1.gen, "a freed id keeps its generation");
	s.sport = 40016, s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(chosen(&r), inet_addr("10.10.2.12"), "flow re-steered to the live backend");
	ASSERT_EQ(r.events[FLB_E_CT_STALE], 1, "stale conntrack entry detected");
	/* The next backend to take the id gets the next generation. */
	if (!ASSERT_OK(apply_config(base_config), "restore"))
		goto out;
	for (uint32_t id = 1; id < 64; id++) {
		struct flb_backend be;

		if (!maps_get_backend(maps, id, &be) && be.state == FLB_BE_ACTIVE && id == 1)
			ASSERT_EQ(be.gen, b1.gen + 1, "reused id carries the next generation");
	}
out:
	ASSERT_OK(apply_config(base_config), "restore");
}

static int state_of(uint32_t id)
{
	struct flb_backend be = {};

	maps_get_backend(maps, id, &be);
	return be.state;
}

/* The daemon counts a draining backend's flows by the dataplane's rule: a
 * connection the client closed stops holding the drain after the grace. */
TEST(drain_ends_when_closed_connections_pass_the_grace)
{
	static const char one[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n";
	static const char other[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}]}\n";
	struct pkt_spec s = spec("10.100.0.1", 80, 40017, 0x02);
	uint32_t id = 0;
	struct flb_ct ct;
	struct run r;

	ct_flush(); /* other cases' flows to 10.10.2.11 would hold the drain */
	if (!ASSERT_OK(apply_config(one), "apply one") || !send_flags(&s, 0x02, &r) ||
	    !send_flags(&s, 0x10, &r) || !ct_get(&s, &ct))
		goto out;
	id = ct.backend;
	if (!ASSERT_OK(apply_config(other), "apply other"))
		goto out;
	/* Ticks with a 60 s timeout: only the count of flows can end it. */
	ASSERT_GE(reconciler_drain_tick(rec, 60000), 0, "tick");
	ASSERT_EQ(state_of(id), FLB_BE_DRAINING, "an open connection holds the drain");
	if (!send_flags(&s, 0x11, &r))
		goto out;
	ASSERT_GE(reconciler_drain_tick(rec, 60000), 0, "tick");
	ASSERT_EQ(state_of(id), FLB_BE_DRAINING, "closed, within the grace: still held");
	if (!ct_age(&s, FLB_CT_CLOSE_GRACE_S + 1))
		goto out;
	ASSERT_EQ(reconciler_drain_tick(rec, 60000), 1, "closed past the grace: drained");
	ASSERT_EQ(state_of(id), FLB_BE_UNUSED, "id freed before the drain timeout");
out:
	ASSERT_OK(apply_config(base_config), "restore");
}

/* ---- IPv6, VLAN, ICMP, PMTU, fragments, timeouts ---- */

static struct pkt_spec spec6(const char *dst, uint16_t dport, uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = spec("10.100.0.1", dport, sport, flags);

	s.v6 = 1;
	s.tos = 0x28;
	inet_pton(AF_INET6, "fd00:10:1::2", s.saddr6);
	inet_pton(AF_INET6, dst, s.daddr6);
	return s;
}

/* The IPv6 outer header the program must write: traffic class copied,
 * flow label and the low 32 bits of the source from the flow hash. */
static void expected_outer6(const struct pkt_spec *s, size_t inner_len, uint8_t next,
			    const char *backend, uint8_t *hdr)
{
	struct flb_flow flow;
	uint32_t h;

	pkt_flow(s, &flow);
	h = flb_flow_hash(&flow);
	memset(hdr, 0, 40);
	hdr[0] = 0x60 | (s->tos >> 4);
	hdr[1] = (uint8_t)(s->tos << 4) | ((h >> 16) & 0x0f);
	hdr[2] = h >> 8;
	hdr[3] = h & 0xff;
	hdr[4] = inner_len >> 8;
	hdr[5] = inner_len & 0xff;
	hdr[6] = next;
	hdr[7] = 64;
	inet_pton(AF_INET6, "fd00:f1b::", hdr + 8);
	hdr[20] = h >> 24, hdr[21] = h >> 16, hdr[22] = h >> 8, hdr[23] = h & 0xff;
	inet_pton(AF_INET6, backend, hdr + 24);
}

static bool assert_encap6(const struct run *r, const uint8_t *in, size_t len, size_t l2,
			  const struct pkt_spec *s, uint8_t next, const char *backend,
			  const char *dmac)
{
	uint8_t outer[40];

	expected_outer6(s, len - l2, next, backend, outer);
	return ASSERT_EQ(r->out_len, len + 40, "output grew by one IPv6 header") &&
	       ASSERT_MEMEQ(r->out, dmac, 6, "destination MAC from the neighbour table") &&
	       ASSERT_MEMEQ(r->out + 6, T0_MAC, 6, "source MAC of the egress interface") &&
	       ASSERT_MEMEQ(r->out + l2 - 2, "\x86\xdd", 2, "ethertype IPv6") &&
	       ASSERT_MEMEQ(r->out + l2, outer, 40, "outer IPv6 header") &&
	       ASSERT_MEMEQ(r->out + l2 + 40, in + l2, len - l2, "inner packet unchanged");
}

TEST(ipv6_vip_ip6ip6_to_ipv6_backend)
{
	struct pkt_spec s = spec6("fd00:100::1", 80, 40101, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_reason(&r, FLB_R_FWD_TX);
	assert_encap6(&r, in, len, 14, &s, 41, "fd00:10:2::11", "\x02\x00\x00\x00\x00\x21");
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "IPv6 flow hits conntrack");
	assert_encap6(&r, in, len, 14, &s, 41, "fd00:10:2::11", "\x02\x00\x00\x00\x00\x21");
}

TEST(ipv4_vip_to_ipv6_backend_is_ipv4_in_ipv6)
{
	struct pkt_spec s = spec("10.100.0.9", 80, 40102, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_encap6(&r, in, len, 14, &s, 4, "fd00:10:2::12", "\x02\x00\x00\x00\x00\x22");
}

TEST(ipv6_extension_headers_walked_bounded)
{
	struct pkt_spec s = spec6("fd00:100::1", 80, 40103, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	s.n_ext = 3;
	s.ext[0] = 0, s.ext[1] = 60, s.ext[2] = 43; /* hop-by-hop, dest opts, routing */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_encap6(&r, in, len, 14, &s, 41, "fd00:10:2::11", "\x02\x00\x00\x00\x00\x21");

	s.n_ext = 8; /* eight headers before TCP: more than the walk allows */
	for (int i = 0; i < 8; i++)
		s.ext[i] = 60;
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_EXT_DEPTH);
	/* A header whose length runs past the packet. */
	s.n_ext = 1;
	if (build(&s, in, &len)) {
		in[14 + 40 + 1] = 200;
		expect_pass(in, len, FLB_R_BAD_IPV6);
	}
}

TEST(vlan_tag_kept_outer_header_after_it)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40104, 0x02);
	uint8_t in[2048], outer[20];
	struct run r;
	size_t len;

	s.vlan = 100;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	expected_outer(&s, len - 18, "10.10.2.11", outer);
	ASSERT_EQ(r.out_len, len + 20, "grew by one IPv4 header");
	ASSERT_MEMEQ(r.out, BE11_MAC, 6, "destination MAC");
	ASSERT_MEMEQ(r.out + 12, "\x81\x00\x00\x64\x08\x00", 6, "802.1Q tag kept, then IPv4");
	ASSERT_MEMEQ(r.out + 18, outer, 20, "outer IPv4 header");
	ASSERT_MEMEQ(r.out + 38, in + 18, len - 18, "inner packet unchanged");

	s.vlan2 = 200; /* QinQ: counted and passed */
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_QINQ);
}

/* The packet from the VIP to the client that a router refused: what an
 * ICMP error quotes (IP header + 8 bytes). */
static size_t reply_quote(const struct pkt_spec *flow, uint8_t *q)
{
	struct pkt_spec back = *flow;
	uint8_t frame[2048];
	size_t len, l3 = 14, ql;

	back.sport = flow->dport, back.dport = flow->sport;
	back.saddr = flow->daddr, back.daddr = flow->saddr;
	memcpy(back.saddr6, flow->daddr6, 16);
	memcpy(back.daddr6, flow->saddr6, 16);
	back.tcp_flags = 0x10;
	back.payload = 100;
	len = pkt_build(&back, frame, sizeof(frame));
	ql = flow->v6 ? 40 + 8 : 20 + 8;
	memcpy(q, frame + l3, ql);
	return len ? ql : 0;
}

TEST(icmp_errors_go_to_the_backend_of_the_quoted_flow)
{
	struct pkt_spec s = spec("10.100.0.6", 80, 40105, 0x02), router;
	uint8_t in[2048], q[128], syn_out[2048];
	struct run r;
	size_t len, ql;

	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	memcpy(syn_out, r.out, 34); /* the flow's backend is the outer destination */
	ql = reply_quote(&s, q);
	router = s;
	inet_pton(AF_INET, "10.10.9.9", &router.saddr); /* a router on the way back */
	router.daddr = s.daddr;                         /* to the VIP */
	len = pkt_icmp_error(&router, 3, 4, 1300, q, ql, in, sizeof(in));
	if (!ASSERT_NE(len, 0, "icmp built") || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	ASSERT_EQ(r.events[FLB_E_ICMP_STEERED], 1, "steered by the quoted flow");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "found the flow's conntrack entry");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 0, "an error opens no flow");
	ASSERT_MEMEQ(r.out + 14 + 16, syn_out + 14 + 16, 4, "same backend as the flow");
	ASSERT_MEMEQ(r.out + 34, in + 14, len - 14, "ICMP packet carried unchanged");

	/* ICMPv6 packet too big for an IPv6 flow. */
	s = spec6("fd00:100::1", 80, 40106, 0x02);
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ql = reply_quote(&s, q);
	router = s;
	inet_pton(AF_INET6, "fd00:10:9::9", router.saddr6);
	len = pkt_icmp_error(&router, 2, 0, 1300, q, ql, in, sizeof(in));
	if (!run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action (v6)");
	ASSERT_EQ(r.events[FLB_E_ICMP_STEERED], 1, "steered by the quoted flow (v6)");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "found the flow's entry (v6)");

	/* Echo requests to a VIP are no error: passed. */
	router = spec("10.100.0.6", 0, 0, 0);
	len = pkt_icmp_error(&router, 8, 0, 0, q, 8, in, sizeof(in));
	expect_pass(in, len, FLB_R_PASS_L4_OTHER);
}

TEST(too_big_with_df_answers_icmp_frag_needed)
{
	struct pkt_spec s = spec("10.100.0.8", 80, 40107, 0x10);
	uint8_t in[2048], want[128];
	struct run r;
	size_t len, wl;

	s.payload = 1400 - 40; /* IP packet of 1400: 1420 once encapsulated, link MTU 1400 */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_reason(&r, FLB_R_TX_ICMP_TOO_BIG);
	/* Expected: from the VIP to the client, type 3 code 4, MTU 1380,
	 * quoting the IP header + 8 bytes; MACs swapped. */
	{
		struct pkt_spec o = s;

		memcpy(o.smac, T0_MAC, 6);
		memcpy(o.dmac, CLIENT_MAC, 6);
		o.saddr = s.daddr, o.daddr = s.saddr;
		wl = pkt_icmp_error(&o, 3, 4, 1380, in + 14, 28, want, sizeof(want));
	}
	ASSERT_EQ(r.out_len, wl, "reply length");
	ASSERT_MEMEQ(r.out, want, 14 + 9, "L2 and IPv4 header up to the protocol");
	ASSERT_MEMEQ(r.out + 14 + 12, want + 14 + 12, wl - 26, "addresses, ICMP header, quote");
	ASSERT_EQ(csum_rfc1071(r.out + 14, 20), 0, "IPv4 checksum verifies");
	ASSERT_EQ(csum_rfc1071(r.out + 34, wl - 34), 0, "ICMP checksum verifies");

	/* Without DF the kernel gets it, encapsulated, and may fragment. */
	s.frag_off = 0;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_PASS, "action without DF");
	assert_reason(&r, FLB_R_PASS_BIG_NO_DF);
	ASSERT_EQ(r.out_len, len + 20, "encapsulated");
	ASSERT_EQ(r.out[14 + 6] & 0x40, 0, "outer DF clear: the kernel may fragment");

	/* One byte less fits. */
	s.frag_off = 0x4000;
	s.payload = 1380 - 40;
	if (build(&s, in, &len) && run_pkt(in, len, &r))
		ASSERT_EQ(r.action, XDP_REDIRECT, "fits: forwarded");
	ASSERT_EQ(r.reasons[FLB_R_FWD_REDIRECT], 1, "counted forwarded");
}

TEST(too_big_without_df_in_an_ipv6_tunnel_is_dropped)
{
	/* IPv4 VIP, IPv6 backend: forwarded IPv6 is never fragmented, and no
	 * too-big may answer a packet without DF. */
	struct pkt_spec s = spec("10.100.0.9", 80, 40109, 0x10);
	uint8_t in[2048];
	struct run r;
	size_t len;

	s.frag_off = 0;
	s.payload = 1480 - 40; /* 1480 + 40 > the link's 1500 */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_DROP, "action");
	assert_reason(&r, FLB_R_DROP_TOO_BIG);
}

TEST(too_big_ipv6_answers_packet_too_big)
{
	struct pkt_spec s = spec6("fd00:100::2", 80, 40108, 0x10);
	uint8_t in[2048], want[512];
	struct run r;
	size_t len, wl;

	s.payload = 1400 - 60;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "action");
	assert_reason(&r, FLB_R_TX_ICMP_TOO_BIG);
	{
		struct pkt_spec o = s;

		memcpy(o.smac, T0_MAC, 6);
		memcpy(o.dmac, CLIENT_MAC, 6);
		memcpy(o.saddr6, s.daddr6, 16);
		memcpy(o.daddr6, s.saddr6, 16);
		wl = pkt_icmp_error(&o, 2, 0, 1360, in + 14, 256, want, sizeof(want));
	}
	ASSERT_EQ(r.out_len, wl, "reply length");
	ASSERT_MEMEQ(r.out, want, 14, "MACs swapped");
	ASSERT_MEMEQ(r.out + 14 + 4, want + 14 + 4, wl - 18, "IPv6 header, ICMPv6 with checksum, quote");
}

TEST(fragments_of_one_datagram_reach_one_backend)
{
	struct pkt_spec first = spec("10.100.0.6", 80, 40109, 0x10), later;
	uint8_t in[2048], be_first[4];
	struct run r;
	size_t len;

	first.frag_off = 0x2000; /* MF, offset 0 */
	first.ip_id = 0x4242;
	if (!build(&first, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "first fragment forwarded");
	ASSERT_EQ(r.events[FLB_E_FRAG_FIRST], 1, "datagram recorded");
	memcpy(be_first, r.out + 30, 4);
	later = first;
	later.frag_off = 0x0010; /* offset 128, last */
	later.payload = 64;
	if (!build(&later, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "later fragment forwarded");
	ASSERT_EQ(r.events[FLB_E_FRAG_FOLLOW], 1, "followed the first");
	ASSERT_MEMEQ(r.out + 30, be_first, 4, "same backend");

	/* A later fragment first: steered by the 3-tuple, and the first
	 * fragment that comes after it follows it. */
	later.ip_id = 0x4343;
	if (!build(&later, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_FRAG_UNKNOWN], 1, "unknown datagram");
	memcpy(be_first, r.out + 30, 4);
	first.ip_id = 0x4343;
	for (int sport = 1; sport < 40; sport++) { /* whatever its 5-tuple says */
		first.sport = sport;
		if (!build(&first, in, &len) || !run_pkt(in, len, &r))
			return;
		if (!ASSERT_MEMEQ(r.out + 30, be_first, 4, "first fragment follows"))
			break;
	}

	/* IPv6: fragment header. */
	struct pkt_spec f6 = spec6("fd00:100::1", 80, 40110, 0x02);

	f6.n_ext = 1, f6.ext[0] = 44, f6.frag6_off = 1, f6.frag6_id = 77;
	if (!build(&f6, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "IPv6 first fragment");
	f6.frag6_off = 64 << 3, f6.payload = 64;
	if (!build(&f6, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "IPv6 later fragment");
	ASSERT_EQ(r.events[FLB_E_FRAG_FOLLOW], 1, "IPv6 later fragment followed");
}

static void set_timeouts(uint32_t tcp, uint32_t udp)
{
	struct flb_ctl ctl;

	maps_get_ctl(maps, &ctl);
	ctl.tcp_timeout_s = tcp;
	ctl.udp_timeout_s = udp;
	maps_set_ctl(maps, &ctl);
}

TEST(idle_entries_expire_and_client_rst_marks_entry_closing)
{
	struct pkt_spec s = spec("10.100.0.6", 80, 40111, 0x02);
	struct flb_flow flow;
	struct flb_ct ct;
	uint8_t in[2048];
	struct run r;
	size_t len;

	set_timeouts(1, 1);
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	usleep(1100 * 1000);
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.events[FLB_E_CT_EXPIRED], 1, "idle past 1 s: expired");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "entry made anew");

	set_timeouts(3600, 30);
	s.tcp_flags = 0x14; /* RST + ACK */
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "RST still steered by its entry");
	ASSERT_EQ(r.events[FLB_E_CT_RST], 1, "RST marked the entry closing");
	pkt_flow(&s, &flow);
	if (ASSERT_OK(maps_ct_lookup(maps, &flow, &ct), "entry still there")) {
		ASSERT_EQ(ct.flags, FLB_CT_CLOSING, "closing");
		/* Coarse clock: up to a tick behind CLOCK_MONOTONIC. */
		ASSERT_GE(ct.last_seen, mono_ns() - 1000000000ULL, "last_seen is the RST's");
	}
	/* Past the grace, not the timeout: expired. */
	if (!ct_age(&s, FLB_CT_CLOSE_GRACE_S + 1) || !send_flags(&s, 0x14, &r))
		goto out;
	ASSERT_EQ(r.events[FLB_E_CT_EXPIRED], 1, "closing entry expired after the grace");
out:
	set_timeouts(3600, 30);
}

/*
 * Under DSR the balancer sees the client's half only. A FIN: the client
 * sends no more data but may still receive, and acknowledges what it
 * receives; every such packet keeps the entry another grace, so a
 * half-closed connection keeps its backend while data flows to it. Once
 * nothing comes for the grace, the entry expires (and a straggler re-made
 * from the table stays closing: not a SYN, still the same connection).
 */
TEST(client_fin_marks_entry_closing_acks_keep_it_grace_expires_it)
{
	struct pkt_spec s = spec("10.100.0.6", 80, 40112, 0x02);
	struct flb_ct ct;
	struct run r;

	if (!send_flags(&s, 0x02, &r) || !send_flags(&s, 0x10, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "established");
	if (!send_flags(&s, 0x11, &r)) /* FIN + ACK */
		return;
	ASSERT_EQ(r.action, XDP_TX, "FIN forwarded");
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "FIN steered by its entry");
	ASSERT_EQ(r.events[FLB_E_CT_FIN], 1, "FIN marked the entry closing");
	if (ct_get(&s, &ct))
		ASSERT_EQ(ct.flags, FLB_CT_CLOSING, "closing");
	if (!send_flags(&s, 0x11, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_FIN], 0, "a retransmitted FIN counts once");

	/* Half-closed, 9 s after the last packet: an ACK of the server's data
	 * is steered and keeps the entry another grace. */
	if (!ct_age(&s, FLB_CT_CLOSE_GRACE_S - 1) || !send_flags(&s, 0x10, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "half-closed: ACK within the grace hits");
	if (ct_get(&s, &ct)) {
		ASSERT_GE(ct.last_seen, mono_ns() - 1000000000ULL, "ACK moved last_seen");
		ASSERT_EQ(ct.flags, FLB_CT_CLOSING, "still closing");
	}
	/* Nothing for longer than the grace: expired, re-made closing. */
	if (!ct_age(&s, FLB_CT_CLOSE_GRACE_S + 1) || !send_flags(&s, 0x10, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_EXPIRED], 1, "idle past the grace: expired");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "re-made from the table");
	if (ct_get(&s, &ct))
		ASSERT_EQ(ct.flags, FLB_CT_CLOSING, "the same connection: still closing");
	/* An open connection idle as long lives on (timeout 1 h). */
	s.sport = 40212;
	if (!send_flags(&s, 0x02, &r) || !ct_age(&s, FLB_CT_CLOSE_GRACE_S + 1) ||
	    !send_flags(&s, 0x10, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "open connection idle 11 s: still live");
	/* A SYN on a closed connection's 5-tuple starts a new, open entry. */
	s.sport = 40112;
	if (!send_flags(&s, 0x02, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "new connection");
	if (ct_get(&s, &ct))
		ASSERT_EQ(ct.flags & FLB_CT_CLOSING, 0, "a new connection is not closing");
	/* A FIN whose entry was lost: made closing at once. */
	s.sport = 40312;
	if (!send_flags(&s, 0x11, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_MISS], 1, "FIN without an entry: a TCP miss");
	if (ct_get(&s, &ct))
		ASSERT_EQ(ct.flags, FLB_CT_CLOSING, "made closing");
}

/* ct_miss is the TCP packet that predicts a reset, not every new flow. */
TEST(new_udp_flow_counts_udp_new_flow_tcp_without_entry_counts_ct_miss)
{
	struct pkt_spec u = spec("10.100.0.3", 53, 40113, 0), t = spec("10.100.0.1", 80, 40113, 0);
	struct run r;

	u.proto = IPPROTO_UDP;
	if (!send_flags(&u, 0, &r))
		return;
	ASSERT_EQ(r.action, XDP_TX, "UDP forwarded");
	ASSERT_EQ(r.events[FLB_E_UDP_NEW_FLOW], 1, "new UDP flow counted");
	ASSERT_EQ(r.events[FLB_E_CT_MISS], 0, "new UDP flow is no ct_miss");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "entry made");
	if (!send_flags(&u, 0, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "second datagram hits");
	ASSERT_EQ(r.events[FLB_E_UDP_NEW_FLOW], 0, "and is no new flow");

	if (!send_flags(&t, 0x10, &r)) /* ACK of a connection never seen */
		return;
	ASSERT_EQ(r.action, XDP_TX, "TCP forwarded by the table");
	ASSERT_EQ(r.events[FLB_E_CT_MISS], 1, "TCP non-SYN without entry: ct_miss");
	ASSERT_EQ(r.events[FLB_E_UDP_NEW_FLOW], 0, "no UDP event");
	if (!send_flags(&t, 0x02, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_MISS], 0, "a SYN is no miss");
	ASSERT_EQ(r.events[FLB_E_SYN_LOOKUP], 1, "SYN lookup");
}

/* A new entry keeps the flow hash, so a hit does not compute it; an entry
 * without one (0: made by userspace or an older object) still gives the
 * flow its own outer source, and gets the hash from that hit on. */
TEST(conntrack_entry_keeps_the_flow_hash_an_entry_without_one_gets_it)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40114, 0x02);
	struct flb_flow flow;
	struct flb_ct ct;
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!send_flags(&s, 0x02, &r) || !ct_get(&s, &ct))
		return;
	pkt_flow(&s, &flow);
	ASSERT_EQ(ct.hash, flb_flow_hash(&flow), "the entry keeps the flow hash");
	ct.hash = 0;
	if (!ASSERT_OK(bpf_map_update_elem(ct_map_fd(), &flow, &ct, BPF_EXIST), "entry without hash"))
		return;
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "conntrack hit");
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
	if (ct_get(&s, &ct))
		ASSERT_EQ(ct.hash, flb_flow_hash(&flow), "the hit gave the entry its hash");
}

/* A SYN of a flow that has an entry (closing, stale, old) takes the
 * Maglev pick and rewrites that entry in place: the pick's backend and
 * generation, closing cleared, last_seen the SYN's, the flow hash kept;
 * counted as an entry made, and still one entry for the flow. */
TEST(syn_of_a_known_flow_renews_its_entry)
{
	struct pkt_spec s = spec("10.100.0.1", 80, 40116, 0x02);
	struct flb_ct first, ct;
	struct flb_flow flow;
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!send_flags(&s, 0x02, &r) || !ct_get(&s, &first))
		return;
	pkt_flow(&s, &flow);
	ct = first;
	ct.gen = first.gen + 7; /* a backend this entry no longer names */
	ct.flags = FLB_CT_CLOSING;
	ct.last_seen = mono_ns() - 100 * 1000000000ULL;
	ct.hash = 0;
	if (!ASSERT_OK(bpf_map_update_elem(ct_map_fd(), &flow, &ct, BPF_EXIST), "stale entry"))
		return;
	s.tcp_flags = 0x02;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_SYN_LOOKUP], 1, "SYN took a Maglev lookup");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "counted as an entry made");
	assert_encap(&r, in, len, &s, "10.10.2.11", BE11_MAC, T0_MAC);
	if (!ct_get(&s, &ct))
		return;
	ASSERT_EQ(ct.backend, first.backend, "the pick's backend");
	ASSERT_EQ(ct.gen, first.gen, "the pick's generation");
	ASSERT_EQ(ct.flags & FLB_CT_CLOSING, 0, "closing cleared");
	ASSERT_GE(ct.last_seen, mono_ns() - 1000000000ULL, "last_seen is the SYN's");
	ASSERT_EQ(ct.hash, flb_flow_hash(&flow), "the flow hash");
}

/* The next hop is cached per CPU for at most 1 s: an established flow
 * follows a route change within that second, without a new entry. */
TEST(established_flow_follows_a_route_change_within_1s)
{
	struct pkt_spec s = spec("10.100.0.10", 80, 40115, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!ASSERT_OK(sh("ip neigh replace 10.10.1.253 lladdr 02:00:00:00:00:fd dev t0 nud permanent"),
		       "second gateway") ||
	    !send_flags(&s, 0x02, &r))
		return;
	s.tcp_flags = 0x10;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		return;
	assert_encap(&r, in, len, &s, "10.10.4.1", "\x02\x00\x00\x00\x00\xfe", T0_MAC);
	if (!ASSERT_OK(sh("ip route replace 10.10.4.0/24 via 10.10.1.253 dev t0"), "route moved"))
		return;
	usleep(1100 * 1000);
	if (!run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "still the established flow");
	assert_encap(&r, in, len, &s, "10.10.4.1", "\x02\x00\x00\x00\x00\xfd", T0_MAC);
out:
	/* Back, and past the cache's second, for the cases after this one. */
	ASSERT_OK(sh("ip route replace 10.10.4.0/24 via 10.10.1.254 dev t0"), "route back");
	usleep(1100 * 1000);
}

TEST(oracle_1000_random_ipv6_flows_match_shared_hash_and_table)
{
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	uint32_t *table = NULL, size = 0, vip_id = UINT32_MAX, seed = 20261129;
	int n = maps_list_vips(maps, keys, vips, FLB_MAX_VIPS), mismatches = 0;
	uint8_t vip6[16];

	inet_pton(AF_INET6, "fd00:100::3", vip6);
	for (int i = 0; i < n; i++)
		if (!memcmp(keys[i].addr, vip6, 16))
			vip_id = vips[i].id;
	if (!ASSERT_OK(maps_get_ring(maps, vip_id, &table, &size), "read table"))
		goto out;
	printf("  seed %u\n", seed);
	srand(seed);
	for (int i = 0; i < 1000; i++) {
		struct pkt_spec s = spec6("fd00:100::3", 443, 1024 + rand() % 60000, 0x02);
		struct flb_backend be;
		struct flb_flow flow;
		uint8_t in[2048];
		struct run r;
		size_t len;

		for (int b = 8; b < 16; b++)
			s.saddr6[b] = rand();
		if (!build(&s, in, &len) || !run_pkt(in, len, &r))
			goto out;
		pkt_flow(&s, &flow);
		if (maps_get_backend(maps, table[flb_flow_hash(&flow) % size], &be) ||
		    r.action != XDP_TX || memcmp(r.out + 14 + 24, be.addr, 16))
			mismatches++;
	}
	ASSERT_EQ(mismatches, 0, "IPv6 flows where the program and the oracle disagree");
out:
	free(table);
}

TEST(vip_replaced_in_one_reload_keeps_a_table)
{
	/* A VIP that changes its port is a VIP removed and one added in one
	 * run: the new one must not get the old id, whose table is deleted
	 * after the new state serves. */
	static const char before[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n";
	static const char after[] =
		"interfaces: [t0]\nservices:\n"
		"  - {name: tx, vip: 10.100.0.1, port: 8080, backends: [{address: 10.10.2.11}]}\n";
	struct pkt_spec s = spec("10.100.0.1", 8080, 40201, 0x02);
	uint8_t in[2048];
	struct run r;
	size_t len;

	if (!ASSERT_OK(apply_config(before), "apply before") ||
	    !ASSERT_OK(apply_config(after), "apply after"))
		goto out;
	if (!build(&s, in, &len) || !run_pkt(in, len, &r))
		goto out;
	ASSERT_EQ(r.action, XDP_TX, "the new VIP forwards");
	assert_reason(&r, FLB_R_FWD_TX);
	s.dport = 80;
	if (build(&s, in, &len))
		expect_pass(in, len, FLB_R_PASS_NOT_VIP);
out:
	ASSERT_OK(apply_config(base_config), "restore");
}

/* ---- flood defence (bpf/flood.h) ---- */

static int flood_fd(void)
{
	return bpf_object__find_map_fd_by_name(maps_object(maps), "flb_flood");
}

/* Every CPU's flb_flood slot set to f (the test runs pinned to one CPU). */
static bool flood_set(const struct flb_flood *f)
{
	int n = libbpf_num_possible_cpus();
	struct flb_flood *v = n > 0 ? calloc(n, sizeof(*v)) : NULL;
	uint32_t zero = 0;
	bool ok;

	for (int i = 0; v && i < n; i++)
		v[i] = *f;
	ok = ASSERT_TRUE(v, "alloc") &&
	     ASSERT_OK(bpf_map_update_elem(flood_fd(), &zero, v, BPF_ANY), "set flb_flood");
	free(v);
	return ok;
}

static struct flb_flood flood_get(int cpu)
{
	int n = libbpf_num_possible_cpus();
	struct flb_flood *v = n > 0 ? calloc(n, sizeof(*v)) : NULL, out = {};
	uint32_t zero = 0;

	if (v && cpu < n && !bpf_map_lookup_elem(flood_fd(), &zero, v))
		out = v[cpu];
	free(v);
	return out;
}

static void set_flood(uint32_t nfps)
{
	struct flb_ctl ctl;

	maps_get_ctl(maps, &ctl);
	ctl.flood_nfps = nfps;
	maps_set_ctl(maps, &ctl);
}

/* A SYN from a random source to the 10.100.0.6 table: its run, whether the
 * backend is the table's (oracle), whether it got an entry. */
static bool flood_syn(const uint32_t *table, uint32_t size, struct run *r, bool *oracle,
		      bool *entry)
{
	struct pkt_spec s = spec("10.100.0.6", 80, 1024 + rand() % 60000, 0x02);
	struct flb_backend be;
	struct flb_flow flow;
	struct flb_ct ct;

	s.saddr = htonl(0x0b000000 | (rand() & 0xffffff));
	if (!send_flags(&s, 0x02, r))
		return false;
	pkt_flow(&s, &flow);
	*oracle = !maps_get_backend(maps, table[flb_flow_hash(&flow) % size], &be) &&
		  r->action == XDP_TX && chosen(r) == be.addr[0];
	*entry = !maps_ct_lookup(maps, &flow, &ct);
	return true;
}

TEST(syn_flood_over_the_threshold_steers_syns_without_entries)
{
	struct pkt_spec est = spec("10.100.0.6", 80, 40300, 0x02);
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	uint32_t *table = NULL, size = 0, vip_id = UINT32_MAX, est_be;
	int n = maps_list_vips(maps, keys, vips, FLB_MAX_VIPS), cpu = sched_getcpu();
	int below_entries = 0, below_oracle = 0, above_entries = 0, above_oracle = 0;
	uint64_t flood_syns = 0, enters = 0;
	struct flb_flood zero = {}, f;
	cpu_set_t all, one;
	bool oracle, entry;
	struct flb_ct ct;
	struct run r;

	for (int i = 0; i < n; i++)
		if (keys[i].addr[0] == inet_addr("10.100.0.6"))
			vip_id = vips[i].id;
	if (!ASSERT_OK(maps_get_ring(maps, vip_id, &table, &size), "read table"))
		return;
	/* flb_flood is per CPU: every run on this one. */
	sched_getaffinity(0, sizeof(all), &all);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (!ASSERT_OK(sched_setaffinity(0, sizeof(one), &one), "pin to one CPU"))
		goto out;
	srand(20261202);
	set_flood(50);
	if (!flood_set(&zero))
		goto restore;

	/* New flow 1: the connection that must survive. */
	if (!send_flags(&est, 0x02, &r) || !send_flags(&est, 0x10, &r))
		goto restore;
	est_be = chosen(&r);
	/* New flows 2..50: at the threshold, every SYN gets its entry. */
	for (int i = 0; i < 49; i++) {
		if (!flood_syn(table, size, &r, &oracle, &entry))
			goto restore;
		below_entries += entry;
		below_oracle += oracle;
		flood_syns += r.events[FLB_E_FLOOD_SYN];
	}
	ASSERT_EQ(below_entries, 49, "below the threshold: every SYN made an entry");
	ASSERT_EQ(below_oracle, 49, "below the threshold: Maglev's backend");
	ASSERT_EQ(flood_syns, 0, "below the threshold: no flood_syn");
	ASSERT_EQ(flood_get(cpu).mode, 0, "mode normal at the threshold");

	/* New flows 51..250: over it. */
	for (int i = 0; i < 200; i++) {
		if (!flood_syn(table, size, &r, &oracle, &entry))
			goto restore;
		above_entries += entry;
		above_oracle += oracle;
		flood_syns += r.events[FLB_E_FLOOD_SYN];
		enters += r.events[FLB_E_FLOOD_ENTER];
	}
	f = flood_get(cpu);
	ASSERT_EQ(above_entries, 0, "over the threshold: no SYN made an entry");
	ASSERT_EQ(above_oracle, 200, "over the threshold: still Maglev's backend");
	ASSERT_EQ(flood_syns, 200, "flood_syn counts each");
	ASSERT_EQ(enters, 1, "flood_enter counted once");
	ASSERT_EQ(f.mode, 1, "flb_flood: this CPU in flood mode");
	ASSERT_EQ(f.new_flows, 250, "flb_flood: new flows in the window");

	/* The established flow keeps its entry and backend. */
	if (!send_flags(&est, 0x10, &r))
		goto restore;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "established flow hits conntrack in flood mode");
	ASSERT_EQ(chosen(&r), est_be, "and keeps its backend");
	/* A SYN of a known flow renews its entry in place (evicts nothing). */
	if (!send_flags(&est, 0x02, &r))
		goto restore;
	ASSERT_EQ(r.events[FLB_E_FLOOD_SYN], 0, "SYN of a known flow is no flood_syn");
	ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "its entry renewed");

	/* A flow whose SYN got no entry: its ACK misses, takes the same
	 * Maglev pick, and makes the entry. */
	{
		struct pkt_spec late = spec("10.100.0.6", 80, 40301, 0x02);
		uint32_t syn_be;

		if (!send_flags(&late, 0x02, &r))
			goto restore;
		syn_be = chosen(&r);
		ASSERT_EQ(r.events[FLB_E_FLOOD_SYN], 1, "late SYN: no entry");
		if (!send_flags(&late, 0x10, &r))
			goto restore;
		ASSERT_EQ(r.events[FLB_E_CT_MISS], 1, "its ACK misses conntrack");
		ASSERT_EQ(chosen(&r), syn_be, "and reaches the SYN's backend");
		ASSERT_EQ(r.events[FLB_E_CT_INSERT], 1, "and makes the entry");
		ASSERT_TRUE(ct_get(&late, &ct), "entry there");
	}

	/* The next second: flood holds after a window over the threshold,
	 * ends after a quiet one. */
	f = (struct flb_flood){ .window = mono_ns() - 1500000000ULL, .new_flows = 51, .mode = 1 };
	flood_set(&f);
	if (!flood_syn(table, size, &r, &oracle, &entry))
		goto restore;
	ASSERT_TRUE(!entry && r.events[FLB_E_FLOOD_SYN] == 1, "flood holds after a window over");
	f = (struct flb_flood){ .window = mono_ns() - 1500000000ULL, .new_flows = 50, .mode = 1 };
	flood_set(&f);
	if (!flood_syn(table, size, &r, &oracle, &entry))
		goto restore;
	ASSERT_TRUE(entry && !r.events[FLB_E_FLOOD_SYN], "flood ends after a window at the threshold");
	ASSERT_EQ(flood_get(cpu).mode, 0, "mode back to normal");
	f = (struct flb_flood){ .window = mono_ns() - 3000000000ULL, .new_flows = 500, .mode = 1 };
	flood_set(&f);
	if (!flood_syn(table, size, &r, &oracle, &entry))
		goto restore;
	ASSERT_TRUE(entry, "flood ends after a second without new flows");

	/* Off (0): no SYN is refused however many. */
	set_flood(0);
	f = (struct flb_flood){ .window = mono_ns(), .new_flows = 100000, .mode = 1 };
	flood_set(&f);
	if (flood_syn(table, size, &r, &oracle, &entry))
		ASSERT_TRUE(entry && !r.events[FLB_E_FLOOD_SYN], "off: SYN makes its entry");
restore:
	set_flood(0);
	flood_set(&zero);
	sched_setaffinity(0, sizeof(all), &all);
out:
	free(table);
}
