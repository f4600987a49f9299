// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * New-flow policies (bpf/choose.h) in the real balancer object through
 * BPF_PROG_TEST_RUN: round robin's order, least_conn's walk past backends
 * over their bound, and the caps' spill and drop. The process moves into a
 * network namespace of its own with a veth and permanent neighbours (as
 * test_balancer.c), pins itself to one CPU (round robin's cursor is per
 * CPU), and fills the maps through the real pipeline: YAML -> config_parse
 * -> reconcile -> maps. The backend a packet went to is read from the
 * outer destination of the encapsulated frame.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
#include "plan.h"
#include "policy_maps.h"
#include "reconcile.h"

static struct flb_maps *maps;
static struct reconciler *rec;
static int t0_ifindex;

static int apply_config(const char *services)
{
	char yaml[4096];
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char err[256];
	int rc;

	snprintf(yaml, sizeof(yaml), "interfaces: [t0]\nservices:\n%s", services);
	rc = config_parse("test.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
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
		"ip route add 10.10.3.0/24 dev t0",
		"for i in 1 2 3 4 5 6; do ip neigh add 10.10.3.$i lladdr 02:00:00:00:03:0$i dev t0 nud permanent; done",
		"sysctl -qw net.ipv4.ip_forward=1",
	};
	cpu_set_t one;

	if (geteuid()) {
		snprintf(why, len, "needs root (BPF, a network namespace)");
		return 1;
	}
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		snprintf(why, len, "sched_setaffinity: %s", strerror(errno));
		return -1;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (system(cmds[i])) {
			snprintf(why, len, "setup command failed: %s", cmds[i]);
			return -1;
		}
	t0_ifindex = if_nametoindex("t0");
	log_setup(LOG_WARN, false);
	log_route_libs();
	maps = maps_open(NULL);
	rec = maps ? reconciler_new(maps, NULL) : NULL;
	if (!rec) {
		snprintf(why, len, "cannot load the balancer: %s", strerror(errno));
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
	uint32_t backend; /* outer destination (network order); 0: not encapsulated */
	uint64_t events[FLB_E_MAX];
};

static struct pkt_spec spec(const char *dst, uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .dport = 80, .sport = sport,
			      .tcp_flags = flags, .frag_off = 0x4000, .payload = 16 };

	memcpy(s.smac, "\x02\x00\x00\x00\x00\xcc", 6);
	memcpy(s.dmac, "\x02\x00\x00\x00\x00\xa0", 6);
	inet_pton(AF_INET, "10.10.1.2", &s.saddr);
	inet_pton(AF_INET, dst, &s.daddr);
	return s;
}

static bool send_pkt(const struct pkt_spec *s, struct run *r)
{
	uint8_t in[2048], out[2048];
	struct xdp_md ctx = { .ingress_ifindex = t0_ifindex };
	size_t len = pkt_build(s, in, sizeof(in));
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint64_t before[FLB_E_MAX];

	ctx.data_end = len;
	memset(r, 0, sizeof(*r));
	maps_read_events(maps, before);
	if (!ASSERT_OK(bpf_prog_test_run_opts(maps_prog_fd(maps), &opts), "test run"))
		return false;
	maps_read_events(maps, r->events);
	for (int i = 0; i < FLB_E_MAX; i++)
		r->events[i] -= before[i];
	r->action = opts.retval;
	if (r->action == XDP_TX && opts.data_size_out >= 14 + 20)
		memcpy(&r->backend, out + 14 + 16, 4);
	return true;
}

static uint32_t vip_id_of(const char *vip)
{
	struct flb_vip_key keys[FLB_MAX_VIPS];
	struct flb_vip vips[FLB_MAX_VIPS];
	int n = maps_list_vips(maps, keys, vips, FLB_MAX_VIPS);

	for (int i = 0; i < n; i++)
		if (keys[i].addr[0] == inet_addr(vip))
			return vips[i].id;
	return FLB_MAX_VIPS;
}

static uint32_t addr_of_id(uint32_t id)
{
	struct flb_backend be = {};

	maps_get_backend(maps, id, &be);
	return be.addr[0];
}

static uint32_t id_of_addr(uint32_t addr)
{
	for (uint32_t id = 1; id < 64; id++)
		if (addr_of_id(id) == addr)
			return id;
	return 0;
}

/* The Maglev slot index (0-based) of a flow. */
static uint32_t slot_of(const struct pkt_spec *s, uint32_t size)
{
	struct flb_flow flow;

	pkt_flow(s, &flow);
	return flb_flow_hash(&flow) % size;
}

static int64_t active(uint32_t vip, uint32_t id)
{
	struct flb_pol_be pb;
	struct flb_be_load ld;

	if (policy_pair(maps, vip, id, &pb, &ld))
		return -1;
	return ld.active + pb.adjust;
}

TEST(round_robin_follows_the_weighted_sequence_in_order)
{
	const char *svc = "  - {name: rr, vip: 10.100.1.1, port: 80, scheduler: round_robin,\n"
			  "     backends: [{address: 10.10.3.1}, {address: 10.10.3.2, weight: 2},\n"
			  "                {address: 10.10.3.3}]}\n";
	uint32_t vip, seq[FLB_RR_LEN], counts[4] = {}, pos0 = 0;
	struct flb_policy pol;
	struct run r;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.1"), FLB_MAX_VIPS, "vip") ||
	    !ASSERT_OK(policy_get(maps, vip, &pol), "policy") ||
	    !ASSERT_EQ(pol.sched, FLB_SCHED_RR, "scheduler in the map") ||
	    !ASSERT_EQ(pol.rr_len, 4, "sequence of 1 + 2 + 1"))
		return;
	for (uint32_t k = 0; k < pol.rr_len; k++)
		policy_rr_seq(maps, vip, k, &seq[k]);
	/* The first flow tells where the cursor is. */
	for (int i = 0; i < 400; i++) {
		struct pkt_spec s = spec("10.100.1.1", 20000 + i, 0x02);

		if (!send_pkt(&s, &r) || !ASSERT_EQ(r.action, XDP_TX, "sent"))
			return;
		if (i == 0)
			for (pos0 = 0; pos0 < pol.rr_len && addr_of_id(seq[pos0]) != r.backend; pos0++)
				;
		if (!ASSERT_EQ(r.backend, addr_of_id(seq[(pos0 + i) % pol.rr_len]),
			       "flow i takes the sequence's next backend"))
			return;
		counts[(ntohl(r.backend) & 0xff) % 4]++;
	}
	ASSERT_EQ(counts[1], 100, "weight 1 of 4: 100 of 400");
	ASSERT_EQ(counts[2], 200, "weight 2 of 4: 200 of 400");
	ASSERT_EQ(counts[3], 100, "weight 1 of 4: 100 of 400");
}

TEST(least_conn_walks_past_backends_over_their_bound)
{
	const char *svc = "  - {name: lc, vip: 10.100.1.2, port: 80, scheduler: least_conn,\n"
			  "     least_conn: {epsilon: 0.25}, candidates: 3,\n"
			  "     backends: [{address: 10.10.3.1}, {address: 10.10.3.2}, {address: 10.10.3.3}]}\n";
	uint32_t vip, *table = NULL, size = 0, target, placed = 0, walked = 0;
	int64_t total = 0;
	struct run r;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.2"), FLB_MAX_VIPS, "vip") ||
	    !ASSERT_OK(maps_get_ring(maps, vip, &table, &size), "table"))
		goto out;
	target = table[0];
	/* 60 flows whose Maglev backend is the same one: each goes to the
	 * first backend along its slots that is within its bound. */
	for (uint16_t sport = 1000; placed < 60 && sport < 60000; sport++) {
		struct pkt_spec s = spec("10.100.1.2", sport, 0x02);
		uint32_t slot = slot_of(&s, size), want = 0;

		if (table[slot] != target)
			continue;
		for (uint32_t k = 0, n = 0; k < 16 && n < 3 && !want; k++) {
			uint32_t c = table[(slot + k) % size];
			int64_t a = active(vip, c);

			/* over: a >= 1.25 x (total + 1) x 1/3 */
			if (a * 3 * 1000 < 1250 * (total + 1))
				want = c;
			n++; /* candidates repeat rarely; a repeat only delays */
		}
		if (!send_pkt(&s, &r) || !ASSERT_EQ(r.action, XDP_TX, "sent"))
			goto out;
		if (want && !ASSERT_EQ(r.backend, addr_of_id(want),
				       "first candidate within its bound"))
			goto out;
		walked += r.backend != addr_of_id(target);
		total++;
		placed++;
	}
	ASSERT_EQ(placed, 60, "flows placed");
	ASSERT_TRUE(walked > 0, "some flows walked past their Maglev backend");
	for (int i = 1; i <= 3; i++) {
		uint32_t id = id_of_addr(inet_addr(i == 1 ? "10.10.3.1" : i == 2 ? "10.10.3.2" : "10.10.3.3"));

		/* bound at the last placement: 1.25 x 60 / 3 = 25 */
		ASSERT_LE(active(vip, id), 25, "no backend over its bound");
	}
out:
	free(table);
}

TEST(fin_ends_an_active_flow)
{
	const char *svc = "  - {name: lc2, vip: 10.100.1.3, port: 80, scheduler: least_conn,\n"
			  "     backends: [{address: 10.10.3.4}]}\n";
	struct pkt_spec s = spec("10.100.1.3", 3333, 0x02);
	uint32_t vip, id;
	struct run r;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.3"), FLB_MAX_VIPS, "vip") ||
	    !send_pkt(&s, &r) || !ASSERT_EQ(r.action, XDP_TX, "SYN sent"))
		return;
	id = id_of_addr(r.backend);
	ASSERT_EQ(active(vip, id), 1, "SYN: one active flow");
	s.tcp_flags = 0x10;
	send_pkt(&s, &r);
	ASSERT_EQ(active(vip, id), 1, "ACK: still one");
	s.tcp_flags = 0x02; /* SYN again (retransmit): replaces, still one */
	send_pkt(&s, &r);
	ASSERT_EQ(active(vip, id), 1, "SYN of the same flow: still one");
	s.tcp_flags = 0x11;
	send_pkt(&s, &r);
	ASSERT_EQ(active(vip, id), 0, "FIN: none");
	send_pkt(&s, &r);
	ASSERT_EQ(active(vip, id), 0, "second FIN: still none");
}

TEST(max_active_flows_spills_then_drops)
{
	const char *svc = "  - {name: capa, vip: 10.100.1.4, port: 80, candidates: 2,\n"
			  "     caps: {max_active_flows: 2},\n"
			  "     backends: [{address: 10.10.3.5}, {address: 10.10.3.6}]}\n";
	uint32_t vip, *table = NULL, size = 0, first, placed = 0;
	uint32_t got[5] = {};
	struct flb_pol_be pb;
	struct flb_be_load ld;
	struct run r;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.4"), FLB_MAX_VIPS, "vip") ||
	    !ASSERT_OK(maps_get_ring(maps, vip, &table, &size), "table"))
		goto out;
	first = table[0];
	for (uint16_t sport = 1000; placed < 5 && sport < 60000; sport++) {
		struct pkt_spec s = spec("10.100.1.4", sport, 0x02);

		if (table[slot_of(&s, size)] != first)
			continue;
		if (!send_pkt(&s, &r))
			goto out;
		got[placed] = r.action == XDP_TX ? r.backend : 0;
		if (placed == 4) {
			ASSERT_EQ(r.action, XDP_DROP, "5th: every candidate full: dropped");
			ASSERT_EQ(r.events[FLB_E_CAP_DROP], 1, "cap_drop counted");
		}
		placed++;
	}
	ASSERT_EQ(got[0], addr_of_id(first), "1st: its Maglev backend");
	ASSERT_EQ(got[1], addr_of_id(first), "2nd: its Maglev backend (2 = the cap)");
	ASSERT_NE(got[2], addr_of_id(first), "3rd: spilled to the other backend");
	ASSERT_NE(got[2], 0, "3rd: sent");
	ASSERT_EQ(got[3], got[2], "4th: the other backend too");
	policy_pair(maps, vip, first, &pb, &ld);
	ASSERT_EQ(ld.cap_spill, 3, "first backend: 2 spills and the refused flow's try");
	ASSERT_EQ(ld.refused, 1, "first backend: one refused");
out:
	free(table);
}

TEST(new_flow_rate_cap_spills_then_drops)
{
	const char *svc = "  - {name: capr, vip: 10.100.1.5, port: 80, candidates: 2,\n"
			  "     caps: {max_new_flows_per_second: 1, burst: 1},\n"
			  "     backends: [{address: 10.10.3.1}, {address: 10.10.3.2}]}\n";
	uint32_t vip, *table = NULL, size = 0, first, placed = 0;
	uint32_t got[3] = {};
	struct run r;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.5"), FLB_MAX_VIPS, "vip") ||
	    !ASSERT_OK(maps_get_ring(maps, vip, &table, &size), "table"))
		goto out;
	first = table[0];
	for (uint16_t sport = 1000; placed < 3 && sport < 60000; sport++) {
		struct pkt_spec s = spec("10.100.1.5", sport, 0x02);

		if (table[slot_of(&s, size)] != first)
			continue;
		if (!send_pkt(&s, &r))
			goto out;
		got[placed++] = r.action == XDP_TX ? r.backend : 0;
	}
	/* Within one second: one token per backend. */
	ASSERT_EQ(got[0], addr_of_id(first), "1st: its Maglev backend's token");
	ASSERT_TRUE(got[1] && got[1] != addr_of_id(first), "2nd: spilled to the other backend");
	ASSERT_EQ(got[2], 0, "3rd: no token anywhere: dropped");
out:
	free(table);
}

TEST(plain_maglev_service_has_a_zero_policy)
{
	const char *svc = "  - {name: plain, vip: 10.100.1.6, port: 80,\n"
			  "     backends: [{address: 10.10.3.1}, {address: 10.10.3.2}]}\n";
	static const struct flb_policy zero;
	struct flb_policy pol;
	uint32_t vip;

	if (!ASSERT_OK(apply_config(svc), "apply") ||
	    !ASSERT_NE(vip = vip_id_of("10.100.1.6"), FLB_MAX_VIPS, "vip") ||
	    !ASSERT_OK(policy_get(maps, vip, &pol), "policy"))
		return;
	ASSERT_TRUE(!memcmp(&pol, &zero, sizeof(pol)), "all zero: Maglev as before");
}
