// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Session affinity (bpf/affinity.h) and the SYN-retransmit counting of the
 * passive outlier detector (bpf/outlier.h) through BPF_PROG_TEST_RUN on the
 * real balancer object, its maps filled by the real pipeline (YAML ->
 * config_parse -> reconcile -> affinity_sync). Which backend a packet went
 * to is read from the outer destination the program wrote. Runs in a
 * network namespace of its own; nothing is pinned.
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

#include "affinity.h"
#include "config.h"
#include "flood_prefix.h"
#include "flb_test.h"
#include "log.h"
#include "pinned_maps.h"
#include "pkt.h"
#include "reconcile.h"

#define T0_MAC "\x02\x00\x00\x00\x00\xa0"
#define CLIENT_MAC "\x02\x00\x00\x00\x00\xcc"

static struct flb_maps *maps;
static struct reconciler *rec;
static int t0_ifindex;

/* sticky: affinity; plain: the same backends without. weight of 10.10.3.W
 * is set per test through cfg_with(). */
static const char cfg_fmt[] =
	"interfaces: [t0]\n"
	"services:\n"
	"  - name: sticky\n"
	"    vip: 10.100.0.6\n"
	"    port: 80\n"
	"    affinity: source_ip\n"
	"    affinity_timeout: 60s\n"
	"    backends: [{address: 10.10.3.1, weight: %d}, {address: 10.10.3.2, weight: %d},\n"
	"               {address: 10.10.3.3, weight: %d}, {address: 10.10.3.4, weight: %d}]\n"
	"  - name: plain\n"
	"    vip: 10.100.0.7\n"
	"    port: 80\n"
	"    backends: [{address: 10.10.3.1}, {address: 10.10.3.2}, {address: 10.10.3.3}, {address: 10.10.3.4}]\n";

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "setup: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

/* Applies the configuration with weights w[0..3], as the daemon does. */
static int apply_weights(const int *w)
{
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char yaml[2048], err[256];
	int rc;

	snprintf(yaml, sizeof(yaml), cfg_fmt, w[0], w[1], w[2], w[3]);
	rc = config_parse("test.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "config: %s\n", err);
		return rc;
	}
	rc = reconciler_apply(rec, &cfg, &rep);
	if (!rc)
		rc = affinity_sync(maps, &cfg);
	config_free(&cfg);
	return rc;
}

static const int all_up[4] = { 1, 1, 1, 1 };

int flb_test_setup(char *why, size_t len)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add t0 address 02:00:00:00:00:a0 type veth peer name t1 address 02:00:00:00:00:a1",
		"ip link set t0 up", "ip link set t1 up",
		"ip addr add 10.10.1.1/24 dev t0",
		"ip route add 10.10.3.0/24 dev t0",
		"for i in 1 2 3 4; do ip neigh add 10.10.3.$i lladdr 02:00:00:00:03:0$i dev t0 nud permanent; done",
		"sysctl -qw net.ipv4.ip_forward=1",
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
	rec = maps ? reconciler_new(maps, NULL) : NULL;
	if (!rec) {
		snprintf(why, len, "cannot load the balancer: %s", strerror(errno));
		return -1;
	}
	if (apply_weights(all_up)) {
		snprintf(why, len, "the configuration did not apply");
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
	uint64_t events[FLB_E_MAX]; /* delta over the run */
	uint64_t reasons[FLB_R_MAX];
};

static bool run_pkt(const struct pkt_spec *s, struct run *r)
{
	uint8_t in[2048];
	size_t len = pkt_build(s, in, sizeof(in));
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = t0_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	uint64_t before[FLB_E_MAX], rbefore[FLB_R_MAX];

	if (!ASSERT_NE(len, 0, "packet built"))
		return false;
	maps_read_events(maps, before);
	maps_read_reasons(maps, rbefore);
	if (!ASSERT_OK(bpf_prog_test_run_opts(maps_prog_fd(maps), &opts), "bpf_prog_test_run"))
		return false;
	r->action = opts.retval;
	r->out_len = opts.data_size_out;
	maps_read_events(maps, r->events);
	for (int i = 0; i < FLB_E_MAX; i++)
		r->events[i] -= before[i];
	maps_read_reasons(maps, r->reasons);
	for (int i = 0; i < FLB_R_MAX; i++)
		r->reasons[i] -= rbefore[i];
	return true;
}

static struct pkt_spec spec(const char *src, const char *dst, uint16_t sport, uint8_t flags)
{
	struct pkt_spec s = { .proto = IPPROTO_TCP, .dport = 80, .sport = sport,
			      .tcp_flags = flags, .ip_id = 1, .frag_off = 0x4000, .payload = 16 };

	memcpy(s.smac, CLIENT_MAC, 6);
	memcpy(s.dmac, T0_MAC, 6);
	inet_pton(AF_INET, src, &s.saddr);
	inet_pton(AF_INET, dst, &s.daddr);
	return s;
}

/* The last octet of the backend the packet was sent to (10.10.3.N); 0: not
 * forwarded. */
static int backend_of(const struct pkt_spec *s)
{
	struct run r;

	if (!run_pkt(s, &r) || r.action != XDP_TX || r.out_len < 34)
		return 0;
	return r.out[14 + 19];
}

static uint64_t mono_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000000ULL + now.tv_nsec;
}

static int map_fd(const char *name)
{
	return bpf_object__find_map_fd_by_name(maps_object(maps), name);
}

static struct flb_aff_key aff_key(const char *client, uint32_t vip_id)
{
	struct flb_aff_key k = { .vip_id = vip_id, .family = FLB_AF_INET };

	inet_pton(AF_INET, client, &k.addr[0]);
	return k;
}

/* The VIP id of the sticky service (the map's key of 10.100.0.6:80/tcp). */
static uint32_t sticky_vip_id(void)
{
	struct flb_vip_key keys[8];
	struct flb_vip vips[8];
	uint32_t want;
	int n = maps_list_vips(maps, keys, vips, 8);

	inet_pton(AF_INET, "10.100.0.6", &want);
	for (int i = 0; i < n; i++)
		if (keys[i].addr[0] == want)
			return vips[i].id;
	return FLB_MAX_VIPS;
}

static void flush(const char *name, size_t key_size)
{
	uint8_t k[64];
	int fd = map_fd(name);

	(void)key_size;
	while (!bpf_map_get_next_key(fd, NULL, k))
		bpf_map_delete_elem(fd, k);
}

/* 20 clients, 30 new flows each: every client's flows on one backend; the
 * same flows to the VIP without affinity spread over several. */
TEST(affinity_keeps_each_client_on_one_backend)
{
	int spread = 0, used[5] = {};

	flush("flb_affinity", sizeof(struct flb_aff_key));
	for (int c = 1; c <= 20; c++) {
		char src[32];
		int first = 0, plain_first = 0;
		bool same = true, plain_same = true;

		snprintf(src, sizeof(src), "10.20.0.%d", c);
		for (int f = 0; f < 30; f++) {
			struct pkt_spec s = spec(src, "10.100.0.6", 20000 + f, 0x02);
			struct pkt_spec p = spec(src, "10.100.0.7", 20000 + f, 0x02);
			int be = backend_of(&s), pb = backend_of(&p);

			if (!ASSERT_NE(be, 0, "forwarded"))
				return;
			first = first ? first : be;
			plain_first = plain_first ? plain_first : pb;
			same &= be == first;
			plain_same &= pb == plain_first;
		}
		ASSERT_TRUE(same, "all 30 flows of one client on one backend");
		spread += !plain_same;
		used[first] = 1;
	}
	ASSERT_GE(spread, 15, "without affinity the same flows spread over backends");
	ASSERT_GE(used[1] + used[2] + used[3] + used[4], 3, "clients spread over the backends");
}

TEST(affinity_hit_counts_and_records_the_backend)
{
	struct pkt_spec s = spec("10.20.1.1", "10.100.0.6", 30000, 0x02);
	struct flb_aff_key k = aff_key("10.20.1.1", sticky_vip_id());
	struct flb_aff a;
	struct run r;
	int be;

	flush("flb_affinity", sizeof(k));
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_AFF_NEW], 1, "first flow: recorded");
	ASSERT_EQ(r.events[FLB_E_AFF_HIT], 0, "first flow: no hit");
	if (!ASSERT_OK(bpf_map_lookup_elem(map_fd("flb_affinity"), &k, &a), "entry made"))
		return;
	be = r.out[14 + 19];
	ASSERT_EQ(a.backend != 0, 1, "entry names a backend");
	s.sport = 30001;
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_AFF_HIT], 1, "second flow: hit");
	ASSERT_EQ(r.out[14 + 19], be, "second flow: the same backend");
	/* A packet of an established flow does not look affinity up. */
	s.tcp_flags = 0x10;
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_CT_HIT], 1, "established: conntrack");
	ASSERT_EQ(r.events[FLB_E_AFF_HIT] + r.events[FLB_E_AFF_NEW], 0, "established: no affinity work");
}

/* The client's backend leaves the table (weight 0): its new flows are
 * re-placed and the entry rewritten; its established flow stays (drain). */
TEST(affinity_replaces_a_backend_that_left_the_table)
{
	struct pkt_spec s = spec("10.20.2.1", "10.100.0.6", 31000, 0x02);
	struct pkt_spec est = s;
	int w[4] = { 1, 1, 1, 1 }, be, be2;
	struct run r;

	flush("flb_affinity", sizeof(struct flb_aff_key));
	be = backend_of(&s);
	if (!ASSERT_NE(be, 0, "forwarded"))
		return;
	est.tcp_flags = 0x10;
	w[be - 1] = 0;
	if (!ASSERT_OK(apply_weights(w), "drain the client's backend"))
		return;
	s.sport = 31001;
	if (!run_pkt(&s, &r))
		return;
	be2 = r.out[14 + 19];
	ASSERT_NE(be2, be, "a new flow goes elsewhere");
	ASSERT_EQ(r.events[FLB_E_AFF_NEW], 1, "the entry rewritten");
	s.sport = 31002;
	ASSERT_EQ(backend_of(&s), be2, "and sticks to the new backend");
	ASSERT_EQ(backend_of(&est), be, "the established flow stays on the draining backend");
	apply_weights(all_up);
	s.sport = 31003;
	ASSERT_EQ(backend_of(&s), be2, "the old backend back: the client stays where it is now");
}

TEST(affinity_entry_expires_after_the_timeout)
{
	struct pkt_spec s = spec("10.20.3.1", "10.100.0.6", 32000, 0x02);
	struct flb_aff_key k = aff_key("10.20.3.1", sticky_vip_id());
	int fd = map_fd("flb_affinity");
	struct flb_aff a;
	struct run r;

	flush("flb_affinity", sizeof(k));
	if (!ASSERT_NE(backend_of(&s), 0, "forwarded") ||
	    !ASSERT_OK(bpf_map_lookup_elem(fd, &k, &a), "entry"))
		return;
	/* Point it at another backend and make it 61 s old (timeout 60 s). */
	a.backend = a.backend == 1 ? 2 : 1;
	{
		struct flb_backend be;

		maps_get_backend(maps, a.backend, &be);
		a.gen = be.gen;
	}
	a.last_seen = mono_ns() - 61ULL * 1000000000ULL;
	ASSERT_OK(bpf_map_update_elem(fd, &k, &a, BPF_EXIST), "aged entry");
	s.sport = 32001;
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_AFF_HIT], 0, "expired: not followed");
	ASSERT_EQ(r.events[FLB_E_AFF_NEW], 1, "expired: re-recorded");
	ASSERT_OK(bpf_map_lookup_elem(fd, &k, &a), "entry");
	ASSERT_GE(a.last_seen, mono_ns() - 2000000000ULL, "refreshed");
	/* 59 s old: still followed, and refreshed by the new flow. */
	a.last_seen = mono_ns() - 59ULL * 1000000000ULL;
	ASSERT_OK(bpf_map_update_elem(fd, &k, &a, BPF_EXIST), "aged entry");
	s.sport = 32002;
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_AFF_HIT], 1, "59 s: followed");
	ASSERT_OK(bpf_map_lookup_elem(fd, &k, &a), "entry");
	ASSERT_GE(a.last_seen, mono_ns() - 2000000000ULL, "refreshed by the hit");
}

/* An established flow's traffic keeps the client sticky: once conntrack's
 * touch is due, the affinity entry is refreshed too. */
TEST(affinity_refreshed_by_established_traffic)
{
	struct pkt_spec s = spec("10.20.4.1", "10.100.0.6", 33000, 0x02);
	struct flb_aff_key k = aff_key("10.20.4.1", sticky_vip_id());
	int fd = map_fd("flb_affinity"), ctfd = map_fd("flb_conntrack");
	struct flb_flow flow;
	struct flb_aff a;
	struct flb_ct ct;

	flush("flb_affinity", sizeof(k));
	if (!ASSERT_NE(backend_of(&s), 0, "forwarded"))
		return;
	pkt_flow(&s, &flow);
	ASSERT_OK(bpf_map_lookup_elem(fd, &k, &a), "entry");
	ASSERT_OK(bpf_map_lookup_elem(ctfd, &flow, &ct), "conntrack");
	a.last_seen = ct.last_seen = mono_ns() - 30ULL * 1000000000ULL;
	bpf_map_update_elem(fd, &k, &a, BPF_EXIST);
	bpf_map_update_elem(ctfd, &flow, &ct, BPF_EXIST);
	s.tcp_flags = 0x10;
	ASSERT_NE(backend_of(&s), 0, "established packet forwarded");
	ASSERT_OK(bpf_map_lookup_elem(fd, &k, &a), "entry");
	ASSERT_GE(a.last_seen, mono_ns() - 2000000000ULL, "refreshed");
}

static uint64_t retrans_of(uint32_t id)
{
	uint64_t v = 0;

	percpu_sum(map_fd("flb_outlier"), id, &v, 1);
	return v;
}

static uint32_t ct_backend(const struct pkt_spec *s, struct flb_ct *ct)
{
	struct flb_flow flow;

	pkt_flow(s, &flow);
	if (maps_ct_lookup(maps, &flow, ct))
		return 0;
	return ct->backend;
}

TEST(syn_retransmit_counted_against_the_entry_backend)
{
	struct pkt_spec s = spec("10.20.5.1", "10.100.0.7", 34000, 0x02);
	struct flb_ct ct;
	struct run r;
	uint32_t id;
	uint64_t before;

	if (!run_pkt(&s, &r) || !(id = ct_backend(&s, &ct)))
		return;
	ASSERT_EQ(r.events[FLB_E_SYN_RETRANS], 0, "first SYN: no retransmit");
	ASSERT_EQ(ct.flags & FLB_CT_SYN, FLB_CT_SYN, "entry marked: made by a SYN");
	before = retrans_of(id);
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_SYN_RETRANS], 1, "the same SYN again: a retransmit");
	ASSERT_EQ(retrans_of(id), before + 1, "counted in flb_outlier for its backend");
	/* The handshake goes on: the mark is cleared, a later SYN (a reused
	 * 5-tuple) is no retransmit. */
	s.tcp_flags = 0x10;
	if (!run_pkt(&s, &r) || !ct_backend(&s, &ct))
		return;
	ASSERT_EQ(ct.flags & FLB_CT_SYN, 0, "an ACK clears the mark");
	s.tcp_flags = 0x02;
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_SYN_RETRANS], 0, "a SYN after the handshake: not a retransmit");
	/* A SYN on an entry made by a SYN longer ago than the window. */
	s.sport = 34001;
	if (!run_pkt(&s, &r) || !ct_backend(&s, &ct))
		return;
	{
		struct flb_flow flow;

		pkt_flow(&s, &flow);
		ct.last_seen = mono_ns() - 11ULL * 1000000000ULL;
		bpf_map_update_elem(map_fd("flb_conntrack"), &flow, &ct, BPF_EXIST);
	}
	if (!run_pkt(&s, &r))
		return;
	ASSERT_EQ(r.events[FLB_E_SYN_RETRANS], 0, "11 s later: a new attempt, not a retransmit");
}

/* node.flood.prefix: 5 SYNs a second per /24; the sixth of one /24 is
 * dropped (drop_prefix_limit), another /24 and non-SYN packets are not
 * touched, a new window lets SYNs through again. */
TEST(prefix_limit_drops_syns_over_the_limit_per_prefix)
{
	struct flb_config cfg = { .flood_pfx_nfps = 5, .flood_pfx_len4 = 24, .flood_pfx_len6 = 64 };
	struct flb_pfx_key k = { .family = FLB_AF_INET, .len = 24 };
	struct pkt_spec s;
	struct flb_pfx e;
	struct run r;
	int fd = map_fd("flb_pfx");

	if (!ASSERT_OK(flood_prefix_sync(maps, &cfg), "limit on"))
		return;
	for (int i = 1; i <= 5; i++) {
		char src[32];

		snprintf(src, sizeof(src), "10.30.0.%d", i);
		s = spec(src, "10.100.0.7", 40000, 0x02);
		if (!run_pkt(&s, &r))
			goto out;
		ASSERT_EQ(r.action, XDP_TX, "SYNs up to the limit forwarded");
	}
	s = spec("10.30.0.77", "10.100.0.7", 40000, 0x02);
	if (!run_pkt(&s, &r))
		goto out;
	ASSERT_EQ(r.action, XDP_DROP, "the sixth SYN of the /24 dropped");
	ASSERT_EQ(r.reasons[FLB_R_DROP_PREFIX], 1, "counted drop_prefix_limit");
	s = spec("10.30.1.1", "10.100.0.7", 40000, 0x02);
	ASSERT_TRUE(run_pkt(&s, &r) && r.action == XDP_TX, "another /24: forwarded");
	s = spec("10.30.0.1", "10.100.0.7", 40000, 0x10);
	ASSERT_TRUE(run_pkt(&s, &r) && r.action == XDP_TX, "a non-SYN of the limited /24: forwarded");
	inet_pton(AF_INET, "10.30.0.0", &k.addr[0]);
	if (ASSERT_OK(bpf_map_lookup_elem(fd, &k, &e), "the /24's entry (host bits cleared)")) {
		ASSERT_EQ(e.syns, 6, "six SYNs counted");
		e.window = mono_ns() - 1100000000ULL;
		bpf_map_update_elem(fd, &k, &e, BPF_EXIST);
	}
	s = spec("10.30.0.77", "10.100.0.7", 40001, 0x02);
	ASSERT_TRUE(run_pkt(&s, &r) && r.action == XDP_TX, "a new second: forwarded again");
out:
	cfg.flood_pfx_nfps = 0;
	flood_prefix_sync(maps, &cfg);
	s = spec("10.30.0.77", "10.100.0.7", 40002, 0x02);
	for (int i = 0; i < 10; i++)
		run_pkt(&s, &r);
	ASSERT_EQ(r.action, XDP_TX, "limit off: forwarded");
}
