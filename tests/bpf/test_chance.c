// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Second chance through BPF_PROG_TEST_RUN, both halves with the real
 * objects (docs/bgp.md "Second chance"). In a network namespace of its own
 * (a veth pair, routes and permanent neighbours for the FIB):
 *  - the balancer: a VIP whose table moved from backend .11 to .12 (the map
 *    writer kept the old one); a TCP non-SYN without an entry goes to .12
 *    with .11 named in the outer header's option, and makes no entry; a SYN,
 *    an expired window, or the same backend in both tables get plain IPIP;
 *  - decap on backend .12: such a packet with a local socket, or a SYN, is
 *    delivered; without one it is re-encapsulated as plain IPIP to .11 (FIB
 *    next hop, or back to the sender when the host does not forward), or
 *    delivered when there is no route. Every branch checks its counter.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "decap.skel.h"
#include "flb_test.h"
#include "log.h"
#include "pinned_maps.h"
#include "pkt.h"

#define T0_MAC "\x02\x00\x00\x00\x00\xa0"
#define BE11_MAC "\x02\x00\x00\x00\x00\x11"
#define CLIENT_MAC "\x02\x00\x00\x00\x00\xcc"
#define M 7 /* table size */

static struct flb_maps *maps;
static struct decap *dcp;
static int t0;

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "setup: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static void fill(uint32_t *ids, uint32_t id)
{
	for (int i = 0; i < M; i++)
		ids[i] = id;
}

/* The VIP 10.100.0.1:80/tcp (id 0) with backends 1 = .11 and 2 = .12. */
static int balancer_setup(void)
{
	struct flb_ctl ctl = { .ready = 1, .tcp_timeout_s = 60, .udp_timeout_s = 60 };
	struct flb_vip_key k = { .port = htons(80), .proto = IPPROTO_TCP, .family = FLB_AF_INET };
	struct flb_vip v = { .id = 0 };
	struct flb_backend b = { .family = FLB_AF_INET, .state = FLB_BE_ACTIVE, .gen = 1 };
	uint32_t ids[M];

	maps = maps_open(NULL);
	if (!maps)
		return -1;
	ctl.encap_src4 = inet_addr("172.16.0.0");
	k.addr[0] = inet_addr("10.100.0.1");
	b.addr[0] = inet_addr("10.10.2.11");
	if (maps_set_ctl(maps, &ctl) || maps_set_vip(maps, &k, &v) || maps_set_backend(maps, 1, &b))
		return -1;
	b.addr[0] = inet_addr("10.10.2.12");
	if (maps_set_backend(maps, 2, &b))
		return -1;
	/* The map writer keeps the replaced table: all .11, then all .12. */
	maps_set_chance_window(maps, 600);
	fill(ids, 1);
	if (maps_set_ring(maps, 0, ids, M))
		return -1;
	fill(ids, 2);
	return maps_set_ring(maps, 0, ids, M);
}

int flb_test_setup(char *why, size_t len)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add t0 address 02:00:00:00:00:a0 type veth peer name t1 address 02:00:00:00:00:a1",
		"ip link set t0 up", "ip link set t1 up",
		"ip addr add 10.10.1.1/24 dev t0",
		"ip route add 10.10.2.11/32 dev t0",
		"ip route add 10.10.2.12/32 dev t0",
		"ip neigh add 10.10.2.11 lladdr 02:00:00:00:00:11 dev t0 nud permanent",
		"ip neigh add 10.10.2.12 lladdr 02:00:00:00:00:12 dev t0 nud permanent",
		"sysctl -qw net.ipv4.ip_forward=1",
	};
	struct flb_dcp_addr key = { .family = FLB_AF_INET };
	__u32 val = 0;

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
	t0 = if_nametoindex("t0");
	log_setup(LOG_WARN, false);
	log_route_libs();
	if (balancer_setup()) {
		snprintf(why, len, "cannot set up the balancer: %s", strerror(errno));
		return -1;
	}
	dcp = decap__open_and_load();
	if (!dcp) {
		snprintf(why, len, "cannot load the decap program");
		return -1;
	}
	key.addr[0] = inet_addr("10.10.2.12");
	if (bpf_map_update_elem(bpf_map__fd(dcp->maps.flb_dcp_addrs), &key, &val, 0)) {
		snprintf(why, len, "cannot fill flb_dcp_addrs");
		return -1;
	}
	return 0;
}

void flb_test_teardown(void)
{
	decap__destroy(dcp);
	maps_close(maps);
}

static int run(int prog, const uint8_t *in, size_t len, uint8_t *out, uint32_t *out_len)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = t0 };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len, .data_out = out,
		    .data_size_out = 2048, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

	if (!ASSERT_OK(bpf_prog_test_run_opts(prog, &opts), "test run"))
		return -1;
	*out_len = opts.data_size_out;
	return opts.retval;
}

static uint64_t event(int e)
{
	uint64_t v[FLB_E_MAX];

	maps_read_events(maps, v);
	return v[e];
}

static uint64_t dreason(int r)
{
	uint64_t v = 0;

	percpu_sum(bpf_map__fd(dcp->maps.flb_dcp_reasons), r, &v, 1);
	return v;
}

static struct pkt_spec client(uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .sport = sport, .dport = 80,
			      .tcp_flags = flags, .ip_id = 0x1234, .frag_off = 0x4000,
			      .payload = 16 };

	memcpy(s.smac, CLIENT_MAC, 6);
	memcpy(s.dmac, T0_MAC, 6);
	s.saddr = inet_addr("10.10.1.2");
	s.daddr = inet_addr("10.100.0.1");
	return s;
}

static bool has_entry(const struct pkt_spec *s)
{
	struct flb_flow f;
	struct flb_ct ct;
	int fd = bpf_object__find_map_fd_by_name(maps_object(maps), "flb_conntrack");

	pkt_flow(s, &f);
	return !bpf_map_lookup_elem(fd, &f, &ct);
}

/* The balancer's output for s: IHL (5 or 7), outer destination, and the
 * option's secondary (0: none). Checks the outer checksum and that the
 * inner packet follows unchanged. */
static int balance(const struct pkt_spec *s, uint32_t *daddr, uint32_t *sec)
{
	uint8_t in[2048], out[2048];
	size_t len = pkt_build(s, in, sizeof(in));
	uint32_t out_len;
	int act = run(maps_prog_fd(maps), in, len, out, &out_len), ihl = out[14] & 0xf;

	*sec = 0;
	if (!ASSERT_EQ(act, XDP_TX, "sent back out") ||
	    !ASSERT_EQ(out_len, len + ihl * 4, "outer header added") ||
	    !ASSERT_EQ(csum_rfc1071(out + 14, ihl * 4), 0, "outer checksum valid") ||
	    !ASSERT_MEMEQ(out + 14 + ihl * 4, in + 14, len - 14, "inner packet unchanged"))
		return -1;
	memcpy(daddr, out + 14 + 16, 4);
	if (ihl == 7) {
		ASSERT_MEMEQ(out + 34, "\x1e\x08\x01\x00", 4, "option: type 30, length 8, version 1");
		memcpy(sec, out + 38, 4);
	}
	return ihl;
}

TEST(non_syn_without_entry_names_the_previous_backend_and_makes_no_entry)
{
	struct pkt_spec s = client(41000, 0x10);
	uint64_t sent = event(FLB_E_CHANCE_SENT);
	uint32_t d, sec;

	ASSERT_EQ(balance(&s, &d, &sec), 7, "IHL 7: the option");
	ASSERT_EQ(d, inet_addr("10.10.2.12"), "to the current backend");
	ASSERT_EQ(sec, inet_addr("10.10.2.11"), "the previous backend as secondary");
	ASSERT_EQ(event(FLB_E_CHANCE_SENT) - sent, 1, "chance_sent counted");
	ASSERT_FALSE(has_entry(&s), "no conntrack entry: the next packet takes the same path");
	ASSERT_EQ(balance(&s, &d, &sec), 7, "the next packet too");
}

TEST(syn_goes_plain_to_the_current_backend)
{
	struct pkt_spec s = client(41001, 0x02);
	uint32_t d, sec;

	ASSERT_EQ(balance(&s, &d, &sec), 5, "plain IPIP");
	ASSERT_EQ(d, inet_addr("10.10.2.12"), "to the current backend");
	ASSERT_TRUE(has_entry(&s), "a SYN makes its entry as always");
	s.tcp_flags = 0x10;
	ASSERT_EQ(balance(&s, &d, &sec), 5, "its ACK hits the entry: plain");
}

TEST(an_identical_swap_keeps_the_previous_table)
{
	struct pkt_spec s = client(41002, 0x10);
	uint32_t ids[M], d, sec;

	fill(ids, 2);
	ASSERT_OK(maps_set_ring(maps, 0, ids, M), "same table again (a restart re-planning)");
	ASSERT_EQ(balance(&s, &d, &sec), 7, "still a secondary");
	ASSERT_EQ(sec, inet_addr("10.10.2.11"), "the same one");
}

TEST(after_the_window_or_switched_off_packets_go_plain)
{
	int fd = bpf_object__find_map_fd_by_name(maps_object(maps), "flb_chance");
	struct flb_chance c, saved;
	struct pkt_spec s = client(41003, 0x10);
	uint64_t none = event(FLB_E_CHANCE_NO_PREV);
	uint32_t zero = 0, d, sec;

	ASSERT_OK(bpf_map_lookup_elem(fd, &zero, &saved), "read the window");
	ASSERT_EQ(saved.window_s, 600, "window recorded");
	c = saved;
	c.expires = 1; /* long past */
	ASSERT_OK(bpf_map_update_elem(fd, &zero, &c, 0), "expire");
	ASSERT_EQ(balance(&s, &d, &sec), 5, "plain IPIP");
	ASSERT_EQ(d, inet_addr("10.10.2.12"), "to the current backend");
	ASSERT_EQ(event(FLB_E_CHANCE_NO_PREV) - none, 1, "chance_no_prev counted");
	ASSERT_OK(bpf_map_update_elem(fd, &zero, &saved, 0), "window back");
	maps_set_chance_window(maps, 0);
	ASSERT_OK(bpf_map_lookup_elem(fd, &zero, &c), "read the window");
	ASSERT_EQ(c.expires, 0, "switching off ends every window");
	maps_set_chance_window(maps, 600);
	ASSERT_OK(bpf_map_update_elem(fd, &zero, &saved, 0), "window back");
}

TEST(same_backend_in_both_tables_goes_plain)
{
	struct pkt_spec s = client(41004, 0x10);
	uint64_t same = event(FLB_E_CHANCE_SAME);
	uint32_t ids[M], d, sec;

	fill(ids, 2);
	ids[0] = 1; /* a change; the replaced table is all .12 */
	ASSERT_OK(maps_set_ring(maps, 0, ids, M), "swap");
	fill(ids, 2);
	ASSERT_OK(maps_set_ring(maps, 0, ids, M), "swap back: previous is nearly all .12");
	/* Find a flow whose slot is .12 in the previous table too. */
	for (int p = 41004; p < 41100; p++) {
		s = client(p, 0x10);
		same = event(FLB_E_CHANCE_SAME);
		if (balance(&s, &d, &sec) == 5)
			break;
	}
	ASSERT_EQ(event(FLB_E_CHANCE_SAME) - same, 1, "chance_same counted");
	ASSERT_TRUE(has_entry(&s), "the usual entry is made");
	fill(ids, 1);
	ASSERT_OK(maps_set_ring(maps, 0, ids, M), "restore: all .11 ...");
	fill(ids, 2);
	ASSERT_OK(maps_set_ring(maps, 0, ids, M), "... then all .12");
}

/* ---- decap on backend .12 -------------------------------------------------- */

/* A second-chance frame as the balancer sends it: outer IHL 7 to .12 with
 * the option naming sec, around the client's packet s. */
static size_t chance_frame(const struct pkt_spec *s, const char *sec, uint8_t *buf)
{
	uint8_t inner[2048];
	size_t ilen = pkt_build(s, inner, sizeof(inner)), ip_len = ilen - 14;
	uint8_t *o = buf + 14;
	uint32_t sa = inet_addr("172.16.0.9"), da = inet_addr("10.10.2.12"), se = inet_addr(sec);
	uint16_t c;

	memcpy(buf, "\x02\x00\x00\x00\x00\x12\x02\x00\x00\x00\x00\xa0\x08\x00", 14);
	memset(o, 0, 28);
	o[0] = 0x47;
	o[2] = (ip_len + 28) >> 8;
	o[3] = (ip_len + 28) & 0xff;
	o[6] = 0x40;
	o[8] = 64;
	o[9] = IPPROTO_IPIP;
	memcpy(o + 12, &sa, 4);
	memcpy(o + 16, &da, 4);
	memcpy(o + 20, "\x1e\x08\x01\x00", 4);
	memcpy(o + 24, &se, 4);
	c = csum_rfc1071(o, 28);
	memcpy(o + 10, &c, 2);
	memcpy(o + 28, inner + 14, ip_len);
	return 14 + 28 + ip_len;
}

/* Runs decap on the frame; the action, and the reason that moved. */
static int decap_run(const uint8_t *in, size_t len, uint8_t *out, uint32_t *out_len, int reason)
{
	uint64_t before = dreason(reason);
	int act = run(bpf_program__fd(dcp->progs.decap), in, len, out, out_len);

	ASSERT_EQ(dreason(reason) - before, 1, "the branch's reason counted");
	return act;
}

static void expect_delivered(const struct pkt_spec *s, int reason)
{
	uint8_t in[2048], out[2048];
	size_t len = chance_frame(s, "10.10.2.11", in);
	uint32_t out_len;

	ASSERT_EQ(decap_run(in, len, out, &out_len, reason), XDP_PASS, "delivered");
	ASSERT_EQ(out_len, len - 28, "outer header and option stripped");
	ASSERT_MEMEQ(out + 14, in + 14 + 28, len - 42, "inner packet unchanged");
}

/* Plain IPIP from .12 to .11 around the same inner packet; MACs dmac, smac. */
static void expect_forwarded(const struct pkt_spec *s, const char *dmac, const char *smac,
			     int reason, int action)
{
	uint8_t in[2048], out[2048];
	size_t len = chance_frame(s, "10.10.2.11", in);
	uint32_t out_len, a;

	ASSERT_EQ(decap_run(in, len, out, &out_len, reason), action, "sent on");
	ASSERT_EQ(out_len, len - 8, "the option removed");
	ASSERT_MEMEQ(out, dmac, 6, "destination MAC");
	ASSERT_MEMEQ(out + 6, smac, 6, "source MAC");
	ASSERT_EQ(out[14], 0x45, "plain IPIP: IHL 5, it cannot bounce again");
	ASSERT_EQ(out[23], IPPROTO_IPIP, "protocol 4");
	ASSERT_EQ(csum_rfc1071(out + 14, 20), 0, "outer checksum valid");
	a = inet_addr("10.10.2.12");
	ASSERT_MEMEQ(out + 26, &a, 4, "from this backend");
	a = inet_addr("10.10.2.11");
	ASSERT_MEMEQ(out + 30, &a, 4, "to the secondary");
	ASSERT_MEMEQ(out + 34, in + 42, len - 42, "inner packet unchanged");
}

TEST(decap_without_socket_forwards_to_the_secondary)
{
	struct pkt_spec s = client(42000, 0x10);

	expect_forwarded(&s, BE11_MAC, T0_MAC, FLB_R_DECAP_CHANCE_FWD, XDP_TX);
}

TEST(decap_on_a_host_that_does_not_forward_sends_it_back)
{
	struct pkt_spec s = client(42001, 0x10);

	ASSERT_OK(sh("sysctl -qw net.ipv4.conf.t0.forwarding=0"), "forwarding off");
	/* Back to the frame's source MAC (the balancer's node), from ours. */
	expect_forwarded(&s, "\x02\x00\x00\x00\x00\xa0", "\x02\x00\x00\x00\x00\x12",
			 FLB_R_DECAP_CHANCE_BACK, XDP_TX);
	ASSERT_OK(sh("sysctl -qw net.ipv4.conf.t0.forwarding=1"), "forwarding on");
}

TEST(decap_delivers_a_syn)
{
	struct pkt_spec s = client(42002, 0x02);

	expect_delivered(&s, FLB_R_DECAP_CHANCE_SYN);
}

TEST(decap_delivers_to_a_local_socket)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = inet_addr("127.0.0.1") };
	socklen_t al = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), srv;
	struct pkt_spec s;

	ASSERT_OK(bind(l, (struct sockaddr *)&a, sizeof(a)), "bind");
	ASSERT_OK(listen(l, 4), "listen");
	ASSERT_OK(getsockname(l, (struct sockaddr *)&a, &al), "port");
	ASSERT_OK(connect(c, (struct sockaddr *)&a, sizeof(a)), "connect");
	srv = accept(l, NULL, NULL);
	ASSERT_GE(srv, 0, "accept");
	s = client(0, 0x10);
	s.daddr = a.sin_addr.s_addr;
	s.dport = ntohs(a.sin_port);
	al = sizeof(a);
	ASSERT_OK(getsockname(c, (struct sockaddr *)&a, &al), "client port");
	s.saddr = a.sin_addr.s_addr;
	s.sport = ntohs(a.sin_port);
	expect_delivered(&s, FLB_R_DECAP_CHANCE_SOCK);
	/* Only a listener for a non-SYN: not this host's connection. */
	s.sport = 1;
	expect_forwarded(&s, BE11_MAC, T0_MAC, FLB_R_DECAP_CHANCE_FWD, XDP_TX);
	close(srv);
	close(c);
	close(l);
}

TEST(decap_without_a_route_to_the_secondary_delivers_here)
{
	struct pkt_spec s = client(42003, 0x10);
	uint8_t in[2048], out[2048];
	size_t len = chance_frame(&s, "192.0.2.1", in);
	uint32_t out_len;

	ASSERT_EQ(decap_run(in, len, out, &out_len, FLB_R_DECAP_CHANCE_LOST), XDP_PASS,
		  "delivered");
	ASSERT_EQ(out_len, len - 28, "stripped");
}
