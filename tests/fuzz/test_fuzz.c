// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Hostile input for the real balancer (issue 3, item 7): random and mutated
 * frames through BPF_PROG_TEST_RUN, one run per frame, each outcome judged
 * by the rules of fuzz_check.c (no XDP_ABORTED; what is not for a VIP, and
 * whatever is passed or dropped, leaves unchanged; what is sent is the
 * input behind one valid outer header to a configured backend, or our own
 * "too big" reply), and every batch of runs judged by the reason counters
 * (one reason per run, and the reasons agree with the shapes seen).
 *
 * Seeds are valid frames for every kind of VIP in the configuration and for
 * what is not one (ARP, IPv6 with extension header chains, one that never
 * ends, 802.1Q and QinQ, ICMP errors, fragments, frames over the MTU).
 * First every seed is cut at every length and has every header byte
 * changed; then random mutations (fuzz_gen.c) and random frames follow.
 *
 *   FLB_FUZZ_SEED   random seed (default 1; printed)
 *   FLB_FUZZ_COUNT  frames to run (default 20000; `make fuzz` runs 10^6)
 *   FLB_FUZZ_REPLAY hex of one frame: run it alone and print the verdict
 *   FLB_FUZZ_REPORTS violations printed in full (default 10)
 *   FLB_FUZZ_VERBOSE print the path of every seed and the verdict on every
 *                    hand-made case of fuzz_check_test.c
 *
 * The namespace is the one tests/bpf/test_balancer.c builds, plus IPv6
 * routes and neighbours; the IPv6 VIPs (and an IPv4 VIP with an IPv6
 * backend) are configured when the daemon's reconcile accepts them, so the
 * same test covers the walking skeleton and the IPv6 dataplane. Nothing is
 * pinned and the namespace dies with the process.
 *
 * What it cannot see: the conntrack and statistics maps (only reasons are
 * read), timing-dependent paths (conntrack timeouts), and multi-buffer
 * frames (BPF_PROG_TEST_RUN gives one linear buffer).
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
#include <linux/bpf.h>

#include "config.h"
#include "flb_test.h"
#include "fuzz_check.h"
#include "fuzz_gen.h"
#include "log.h"
#include "pinned_maps.h"
#include "reconcile.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BATCH 1024
#define MAX_REPORTS 10
#define OUT_MAX 4096
#define DEFAULT_COUNT 20000
#define DEFAULT_SEED 1

#define C4 "10.10.1.2"
#define C6 "fd00:10:1::2"
#define ROUTER4 "10.10.1.254"
#define ROUTER6 "fd00:10:1::fe"

/* ---- the configuration: every kind of VIP ---- */

/* Small tables (251 slots): building 15 of 65537 would cost more than the
 * run. YAML flow mappings may span lines, which keeps these readable. */
static const char cfg_v4[] =
	"  - {name: tx, vip: 10.100.0.1, port: 80, protocol: tcp, table_size: 251,\n"
	"     backends: [{address: 10.10.2.11}]}\n"
	"  - {name: sameaddr, vip: 10.100.0.1, port: 53, protocol: udp, table_size: 251,\n"
	"     backends: [{address: 10.10.3.1}]}\n"
	"  - {name: redirect, vip: 10.100.0.2, port: 80, table_size: 251,\n"
	"     backends: [{address: 10.10.2.12}]}\n"
	"  - {name: dns, vip: 10.100.0.3, port: 53, protocol: udp, table_size: 251,\n"
	"     backends: [{address: 10.10.2.11}]}\n"
	"  - {name: anytcp, vip: 10.100.0.4, table_size: 251, backends: [{address: 10.10.2.11}]}\n"
	"  - {name: anyudp, vip: 10.100.0.4, protocol: udp, table_size: 251,\n"
	"     backends: [{address: 10.10.2.12}]}\n"
	"  - {name: empty, vip: 10.100.0.5, port: 80, table_size: 251, backends: []}\n"
	"  - {name: many, vip: 10.100.0.6, port: 80, table_size: 251,\n"
	"     backends: [{address: 10.10.3.1}, {address: 10.10.3.2}, {address: 10.10.3.3, weight: 2},\n"
	"                {address: 10.10.3.4}, {address: 10.10.3.5}, {address: 10.10.3.6},\n"
	"                {address: 10.10.3.7}]}\n"
	"  - {name: noneigh, vip: 10.100.0.7, port: 80, table_size: 251,\n"
	"     backends: [{address: 10.10.2.13}]}\n"
	"  - {name: noroute, vip: 10.100.0.8, port: 80, table_size: 251,\n"
	"     backends: [{address: 10.99.0.1}]}\n";

/* Applied only when reconcile takes IPv6 VIPs / IPv6 backends. */
static const char cfg_v6[] =
	"  - {name: v6tcp, vip: \"fd00:100::1\", port: 80, table_size: 251,\n"
	"     backends: [{address: \"fd00:10:2::11\"}, {address: \"fd00:10:2::12\"}]}\n"
	"  - {name: v6udp, vip: \"fd00:100::2\", port: 53, protocol: udp, table_size: 251,\n"
	"     backends: [{address: \"fd00:10:2::11\"}]}\n"
	"  - {name: v6any, vip: \"fd00:100::3\", table_size: 251,\n"
	"     backends: [{address: \"fd00:10:2::11\"}]}\n"
	"  - {name: v6noneigh, vip: \"fd00:100::7\", port: 80, table_size: 251,\n"
	"     backends: [{address: \"fd00:10:2::13\"}]}\n";
static const char cfg_v4to6[] =
	"  - {name: v4to6, vip: 10.100.0.9, port: 80, table_size: 251,\n"
	"     backends: [{address: \"fd00:10:2::11\"}]}\n";

#define T1_MAC "\x02\x00\x00\x00\x00\xa1"

static const char *const netns_cmds[] = {
	"ip link set lo up",
	"sysctl -qw net.ipv4.ip_forward=1",
	"ip link add t0 address 02:00:00:00:00:a0 type veth peer name t1 address 02:00:00:00:00:a1",
	"ip link set t0 up", "ip link set t1 up",
	"ip addr add 10.10.1.1/24 dev t0",
	"ip addr add 10.10.2.1/32 dev t1",
	"ip route add 10.10.2.11/32 dev t0",
	"ip route add 10.10.2.12/32 dev t1",
	"ip route add 10.10.2.13/32 dev t0",
	"ip route add 10.10.3.0/24 dev t0",
	"ip neigh add 10.10.2.11 lladdr 02:00:00:00:00:11 dev t0 nud permanent",
	"ip neigh add 10.10.2.12 lladdr 02:00:00:00:00:12 dev t1 nud permanent",
	"for i in 1 2 3 4 5 6 7; do"
	" ip neigh add 10.10.3.$i lladdr 02:00:00:00:03:0$i dev t0 nud permanent; done",
};

static const char *const netns_cmds6[] = {
	"sysctl -qw net.ipv6.conf.all.forwarding=1",
	"ip -6 addr add fd00:10:1::1/64 dev t0 nodad",
	"ip -6 route add fd00:10:2::11/128 dev t0",
	"ip -6 route add fd00:10:2::12/128 dev t1",
	"ip -6 route add fd00:10:2::13/128 dev t0",
	"ip -6 neigh add fd00:10:2::11 lladdr 02:00:00:00:00:11 dev t0 nud permanent",
	"ip -6 neigh add fd00:10:2::12 lladdr 02:00:00:00:00:12 dev t1 nud permanent",
};

static const char *const neigh_macs[] = {
	"\x02\x00\x00\x00\x00\x11", "\x02\x00\x00\x00\x00\x12", "\x02\x00\x00\x00\x03\x01",
	"\x02\x00\x00\x00\x03\x02", "\x02\x00\x00\x00\x03\x03", "\x02\x00\x00\x00\x03\x04",
	"\x02\x00\x00\x00\x03\x05", "\x02\x00\x00\x00\x03\x06", "\x02\x00\x00\x00\x03\x07",
};

/* ---- the seeds ---- */

#define TCP IPPROTO_TCP
#define UDP IPPROTO_UDP
#define SYN 0x02
#define ACK 0x10

static const struct fz_spec seed_specs[] = {
	{ "tcp_syn_tx", 4, C4, "10.100.0.1", TCP, 40001, 80, SYN, .payload = 16 },
	{ "tcp_ack_tx", 4, C4, "10.100.0.1", TCP, 40001, 80, ACK, .payload = 100 },
	{ "tcp_rst_tx", 4, C4, "10.100.0.1", TCP, 40001, 80, 0x14 },
	{ "tcp_syn_options", 4, C4, "10.100.0.1", TCP, 40002, 80, SYN, .tcp_doff = 15 },
	{ "tcp_syn_redirect", 4, C4, "10.100.0.2", TCP, 40003, 80, SYN, .payload = 8 },
	{ "udp_dns", 4, C4, "10.100.0.3", UDP, 5353, 53, .payload = 30, .no_df = true },
	{ "udp_vip_addr_shared", 4, C4, "10.100.0.1", UDP, 5353, 53, .payload = 12 },
	{ "portless_tcp", 4, C4, "10.100.0.4", TCP, 40004, 443, SYN },
	{ "portless_udp", 4, C4, "10.100.0.4", UDP, 40004, 9999, .payload = 4 },
	{ "no_backend", 4, C4, "10.100.0.5", TCP, 40005, 80, SYN },
	{ "many_backends", 4, C4, "10.100.0.6", TCP, 40006, 80, SYN },
	{ "no_neigh", 4, C4, "10.100.0.7", TCP, 40007, 80, SYN },
	{ "no_route", 4, C4, "10.100.0.8", TCP, 40008, 80, SYN },
	{ "v4_vip_v6_backend", 4, C4, "10.100.0.9", TCP, 40009, 80, SYN },
	{ "ipv4_options_ihl6", 4, C4, "10.100.0.1", TCP, 40010, 80, SYN, .ihl = 6 },
	{ "ipv4_options_ihl15", 4, C4, "10.100.0.1", TCP, 40011, 80, ACK, .ihl = 15, .payload = 10 },
	{ "not_vip_port", 4, C4, "10.100.0.1", TCP, 40012, 81, SYN },
	{ "not_vip_addr", 4, C4, "10.200.0.1", TCP, 40012, 80, SYN },
	{ "not_vip_proto", 4, C4, "10.100.0.2", UDP, 40012, 80 },
	{ "frag_first", 4, C4, "10.100.0.1", TCP, 40013, 80, ACK, .frag_off = 0x2000, .payload = 64 },
	{ "frag_later", 4, C4, "10.100.0.1", 0, 0, 0, .frag_off = 0x0010, .payload = 64 },
	{ "ipip_to_vip", 4, C4, "10.100.0.4", 4, .payload = 40 },
	{ "gre_to_vip", 4, C4, "10.100.0.4", 47, .payload = 24 },
	{ "icmp_echo_vip", 4, C4, "10.100.0.1", IPPROTO_ICMP, .icmp_type = 8, .payload = 32 },
	{ "icmp_frag_needed_vip", 4, ROUTER4, "10.100.0.1", IPPROTO_ICMP, 40014, 80,
	  .icmp_type = 3, .icmp_code = 4, .quote_peer = C4 },
	{ "icmp_ttl_exceeded_vip", 4, ROUTER4, "10.100.0.3", IPPROTO_ICMP, 5353, 53,
	  .icmp_type = 11, .quote_peer = C4, .quote_proto = UDP },
	{ "big_df", 4, C4, "10.100.0.1", TCP, 40015, 80, ACK, .payload = 1460 },
	{ "big_no_df", 4, C4, "10.100.0.3", UDP, 40015, 53, .payload = 1472, .no_df = true },
	{ "vlan_tcp_syn", 4, C4, "10.100.0.1", TCP, 40016, 80, SYN, .tags = { 0x8100 }, .n_tags = 1 },
	{ "vlan_udp", 4, C4, "10.100.0.3", UDP, 40016, 53, .tags = { 0x8100 }, .n_tags = 1 },
	{ "qinq_tcp_syn", 4, C4, "10.100.0.1", TCP, 40017, 80, SYN, .tags = { 0x88a8, 0x8100 },
	  .n_tags = 2 },
	{ "v6_tcp_syn", 6, C6, "fd00:100::1", TCP, 40020, 80, SYN, .payload = 16 },
	{ "v6_tcp_ack", 6, C6, "fd00:100::1", TCP, 40020, 80, ACK, .payload = 100 },
	{ "v6_udp", 6, C6, "fd00:100::2", UDP, 5353, 53, .payload = 20 },
	{ "v6_portless", 6, C6, "fd00:100::3", TCP, 40021, 8080, SYN },
	{ "v6_no_neigh", 6, C6, "fd00:100::7", TCP, 40022, 80, SYN },
	{ "v6_not_vip", 6, C6, "fd00:200::1", TCP, 40023, 80, SYN },
	{ "v6_ext_hop_dst_rt", 6, C6, "fd00:100::1", TCP, 40024, 80, SYN,
	  .ext = { 0, 60, 43 }, .n_ext = 3 },
	{ "v6_ext_ah", 6, C6, "fd00:100::1", TCP, 40025, 80, ACK, .ext = { 0, 51, 60 }, .n_ext = 3 },
	{ "v6_ext_ten", 6, C6, "fd00:100::1", TCP, 40026, 80, SYN,
	  .ext = { 0, 60, 60, 60, 60, 60, 60, 60, 60, 60 }, .n_ext = 10 },
	{ "v6_frag_first", 6, C6, "fd00:100::2", UDP, 40027, 53, .ext = { 44 }, .n_ext = 1,
	  .frag6_off = 1, .payload = 64 },
	{ "v6_frag_later", 6, C6, "fd00:100::2", UDP, 40027, 53, .ext = { 44 }, .n_ext = 1,
	  .frag6_off = 185 << 3, .payload = 64 },
	{ "v6_endless_hop_dst", 6, C6, "fd00:100::1", .endless = true, .payload = 200 },
	{ "v6_icmp_too_big_vip", 6, ROUTER6, "fd00:100::1", IPPROTO_ICMPV6, 40028, 80,
	  .icmp_type = 2, .quote_peer = C6 },
	{ "v6_icmp_echo_vip", 6, C6, "fd00:100::1", IPPROTO_ICMPV6, .icmp_type = 128, .payload = 16 },
	{ "v6_big", 6, C6, "fd00:100::1", TCP, 40029, 80, ACK, .payload = 1440 },
	{ "v6_vlan", 6, C6, "fd00:100::1", TCP, 40030, 80, SYN, .tags = { 0x8100 }, .n_tags = 1 },
};

/* ---- state ---- */

static struct flb_maps *maps;
static int t0_ifindex;
static struct fz_world world;
static struct fz_targets targets;
static struct fz_pkt *seeds;
static size_t n_seeds;
static const char *layers = "IPv4";
static const char *reason_label[FLB_R_MAX] = {
#define FLB_REASON_LABEL(name, label) label,
	FLB_REASONS(FLB_REASON_LABEL)
#undef FLB_REASON_LABEL
};

static int sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc)
		fprintf(stderr, "setup: '%s' failed (%d)\n", cmd, rc);
	return rc;
}

static void addr_of(const struct flb_addr *a, struct fz_addr *out)
{
	out->family = a->family == AF_INET6 ? 6 : 4;
	memcpy(out->a, a->bytes, 16);
}

/* What the checker knows: the services as configured. */
static void fill_world(const struct flb_config *cfg)
{
	memset(&world, 0, sizeof(world));
	memset(&targets, 0, sizeof(targets));
	for (size_t s = 0; s < cfg->n_services && world.n_vips < FZ_MAX_VIEWS; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];
		struct fz_vip_view *v = &world.vips[world.n_vips++];

		addr_of(&svc->vip, &v->vip);
		for (size_t b = 0; b < svc->n_backends && b < FZ_MAX_VIEW_BACKENDS; b++)
			addr_of(&svc->backends[b].addr, &v->backends[v->n_backends++]);
		if (v->vip.family == 4 && targets.n_v4 < FZ_MAX_TARGETS)
			memcpy(targets.v4[targets.n_v4++], v->vip.a, 4);
		if (v->vip.family == 6 && targets.n_v6 < FZ_MAX_TARGETS)
			memcpy(targets.v6[targets.n_v6++], v->vip.a, 16);
	}
	memcpy(world.src4, cfg->encap_src4.bytes, sizeof(world.src4));
	memcpy(world.src6, cfg->encap_src6.bytes, sizeof(world.src6));
	memcpy(world.ingress_mac, FZ_MAC_NIC, 6);
	memcpy(world.egress_macs[world.n_egress++], T1_MAC, 6);
	for (size_t i = 0; i < ARRAY_SIZE(neigh_macs); i++)
		memcpy(world.neigh_macs[world.n_neigh++], neigh_macs[i], 6);
}

/* Applies "interfaces + services" and, on success, makes it the world. */
static int apply(const char *services)
{
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char yaml[8192], err[256];
	int rc;

	snprintf(yaml, sizeof(yaml), "interfaces: [t0]\nservices:\n%s", services);
	rc = config_parse("fuzz.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "config: %s\n", err);
		return rc;
	}
	rc = reconcile(maps, &cfg, &rep);
	if (!rc)
		fill_world(&cfg);
	config_free(&cfg);
	return rc;
}

/* Applies services with stderr caught: a refusal is expected from a
 * dataplane without IPv6, and its first line goes into `layers`. */
static int try_apply(const char *services)
{
	static char refusal[160];
	FILE *tmp = tmpfile();
	int saved = dup(2), rc;

	if (!tmp || saved < 0) {
		if (tmp)
			fclose(tmp);
		return apply(services);
	}
	fflush(stderr);
	dup2(fileno(tmp), 2);
	rc = apply(services);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	if (rc) {
		rewind(tmp);
		if (fgets(refusal, sizeof(refusal), tmp)) {
			refusal[strcspn(refusal, "\n")] = '\0';
			layers = strstr(refusal, "msg=") ? strstr(refusal, "msg=") + 4 : refusal;
		}
	}
	fclose(tmp);
	return rc;
}

/* IPv4 always; the IPv6 layers when this dataplane takes them. */
static int configure(bool have_v6)
{
	static char all[8192];

	if (apply(cfg_v4))
		return -1;
	if (!have_v6) {
		layers = "IPv4 only (IPv6 routes could not be set up)";
		return 0;
	}
	snprintf(all, sizeof(all), "%s%s%s", cfg_v4, cfg_v6, cfg_v4to6);
	if (!try_apply(all)) {
		layers = "IPv4, IPv6, IPv4 VIP with IPv6 backend";
		return 0;
	}
	snprintf(all, sizeof(all), "%s%s", cfg_v4, cfg_v6);
	if (!try_apply(all)) {
		layers = "IPv4, IPv6";
		return 0;
	}
	printf("  IPv6 VIPs not configured: %s\n", layers);
	layers = "IPv4 only";
	return apply(cfg_v4);
}

static int build_seeds(void)
{
	size_t n = ARRAY_SIZE(seed_specs) + 1;

	seeds = calloc(n, sizeof(*seeds));
	if (!seeds)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(seed_specs); i++)
		if (fz_build(&seed_specs[i], &seeds[n_seeds++])) {
			fprintf(stderr, "seed %s does not build\n", seed_specs[i].name);
			return -1;
		}
	return fz_build_arp(&seeds[n_seeds++], "arp_for_vip", C4, "10.100.0.1");
}

int flb_test_setup(char *why, size_t len)
{
	bool have_v6 = true;

	if (geteuid()) {
		snprintf(why, len, "needs root (BPF, a network namespace)");
		return 1;
	}
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, len, "unshare(CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(netns_cmds); i++)
		if (sh(netns_cmds[i])) {
			snprintf(why, len, "setup command failed: %s", netns_cmds[i]);
			return -1;
		}
	for (size_t i = 0; i < ARRAY_SIZE(netns_cmds6) && have_v6; i++)
		have_v6 = !sh(netns_cmds6[i]);
	t0_ifindex = (int)if_nametoindex("t0");
	/* libbpf's probing warnings are not news here; errors are. */
	log_setup(LOG_ERROR, false);
	log_route_libs();
	maps = maps_open(NULL);
	if (!maps) {
		snprintf(why, len, "cannot load the balancer: %s", strerror(errno));
		return -1;
	}
	if (configure(have_v6)) {
		snprintf(why, len, "the configuration did not apply");
		return -1;
	}
	if (build_seeds()) {
		snprintf(why, len, "seeds do not build");
		return -1;
	}
	printf("  configured: %s; %zu services; %zu seeds\n", layers, world.n_vips, n_seeds);
	return 0;
}

void flb_test_teardown(void)
{
	maps_close(maps);
	free(seeds);
}

/* ---- running ---- */

struct outcome {
	int action;
	uint32_t out_len;
	uint8_t out[OUT_MAX];
};

/* One BPF_PROG_TEST_RUN; returns 0 or -errno (the kernel refuses frames
 * shorter than an Ethernet header with -EINVAL). */
static int run(const uint8_t *in, size_t len, struct outcome *o)
{
	struct xdp_md ctx = { .data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)t0_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (uint32_t)len,
		    .data_out = o->out, .data_size_out = sizeof(o->out), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int err = bpf_prog_test_run_opts(maps_prog_fd(maps), &opts);

	if (err) /* libbpf 1.x: -errno */
		return err;
	o->action = (int)opts.retval;
	o->out_len = opts.data_size_out;
	return 0;
}

static int read_reasons(uint64_t r[FLB_R_MAX])
{
	return maps_read_reasons(maps, r);
}

static bool label_in(const char *label, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(label, set[i]))
			return true;
	return false;
}

static bool has_prefix(const char *s, const char *p)
{
	return !strncmp(s, p, strlen(p));
}

/*
 * Which reason goes with which shape. Named by label, not enum, so the
 * same test runs against a dataplane that has these reasons and one that
 * does not yet; a label missing from flb_reasons.h simply counts zero.
 */
/* Passed to the kernel already encapsulated. */
static const char *const pass_encap_reasons[] = { "pass_no_neigh", "pass_big_no_df" };
/* Dropped after the outer header was written (R4 for XDP_DROP). */
static const char *const drop_encap_reasons[] = { "drop_no_route", "drop_encap" };
/* Our "too big" reply sent back out (R5). */
static const char *const icmp_reasons[] = { "tx_icmp_too_big" };

static uint64_t sum_labels(const uint64_t d[FLB_R_MAX], const char *const *set, size_t n)
{
	uint64_t s = 0;

	for (int i = 0; i < FLB_R_MAX; i++)
		if (label_in(reason_label[i], set, n))
			s += d[i];
	return s;
}

static uint64_t sum_prefix(const uint64_t d[FLB_R_MAX], const char *prefix)
{
	uint64_t s = 0;

	for (int i = 0; i < FLB_R_MAX; i++)
		if (has_prefix(reason_label[i], prefix))
			s += d[i];
	return s;
}

/* Whether one run's single reason fits the action and the shape seen. */
static bool reason_fits(int reason, int action, enum fz_shape shape)
{
	const char *l = reason_label[reason];

	if (label_in(l, pass_encap_reasons, ARRAY_SIZE(pass_encap_reasons)))
		return action == XDP_PASS && shape == FZ_ENCAP;
	if (label_in(l, icmp_reasons, ARRAY_SIZE(icmp_reasons)))
		return action == XDP_TX && shape == FZ_ICMP_REPLY;
	if (!strcmp(l, "fwd_tx"))
		return action == XDP_TX && shape == FZ_ENCAP;
	if (!strcmp(l, "fwd_redirect"))
		return action == XDP_REDIRECT && shape == FZ_ENCAP;
	if (label_in(l, drop_encap_reasons, ARRAY_SIZE(drop_encap_reasons)))
		return action == XDP_DROP;
	if (has_prefix(l, "drop_"))
		return action == XDP_DROP && shape == FZ_UNCHANGED;
	if (has_prefix(l, "pass_"))
		return action == XDP_PASS && shape == FZ_UNCHANGED;
	if (has_prefix(l, "bad_"))
		return (action == XDP_PASS || action == XDP_DROP) && shape == FZ_UNCHANGED;
	return false; /* decap_* and anything unknown: not the balancer's */
}

/* ---- reports ---- */

static int reports;
static int max_reports = MAX_REPORTS;

static void report(const struct fz_pkt *p, const struct outcome *o, const char *what)
{
	if (reports++ >= max_reports) {
		if (reports == max_reports + 1)
			printf("  (further reports suppressed)\n");
		return;
	}
	printf("  VIOLATION: %s\n  packet: %s\n", what, p->what);
	fz_print_hex(stdout, "in", p->b, p->len);
	if (o) {
		printf("  action %s, output %u bytes\n", fz_action_name(o->action), o->out_len);
		if (o->out_len != p->len || memcmp(o->out, p->b, p->len))
			fz_print_hex(stdout, "out", o->out, o->out_len);
	}
}

/* ---- the batch ---- */

struct batch {
	struct fz_pkt *pkts;	/* kept for replay when the counters disagree */
	size_t n;
	uint64_t seen[XDP_REDIRECT + 1][FZ_SHAPE_MAX];
	size_t broken;		/* packets that broke a rule (reported, no shape) */
	uint64_t before[FLB_R_MAX];
};

struct totals {
	uint64_t run, refused, violations, batch_errors, systematic;
	uint64_t seen[XDP_REDIRECT + 1][FZ_SHAPE_MAX];
	uint64_t reasons[FLB_R_MAX];
};

/* Runs the batch again one packet at a time, reading the counters around
 * each, and reports the packets whose reasons do not fit. Conntrack has
 * moved on since, so a culprit may not show again: then the batch numbers
 * printed before are the evidence. */
static void replay(const struct batch *b)
{
	size_t shown = 0;

	for (size_t i = 0; i < b->n && shown < 5; i++) {
		uint64_t r0[FLB_R_MAX], r1[FLB_R_MAX], sum = 0;
		static struct outcome o;
		struct fz_verdict v;
		int reason = -1;
		char what[256];

		if (read_reasons(r0) || run(b->pkts[i].b, b->pkts[i].len, &o) || read_reasons(r1))
			continue;
		for (int k = 0; k < FLB_R_MAX; k++) {
			sum += r1[k] - r0[k];
			if (r1[k] != r0[k])
				reason = k;
		}
		fz_check(&world, b->pkts[i].b, b->pkts[i].len, o.action, o.out, o.out_len, &v);
		if (!v.ok || (sum == 1 && reason_fits(reason, o.action, v.shape)))
			continue; /* a broken rule was reported already */
		snprintf(what, sizeof(what), "%llu reasons counted (last: %s) for %s, %s",
			 (unsigned long long)sum, reason >= 0 ? reason_label[reason] : "none",
			 fz_action_name(o.action), fz_shape_name(v.shape));
		report(&b->pkts[i], &o, what);
		shown++;
	}
}

/* One batch rule: what the frames showed against what the counters say.
 * Printed for the first max_reports failing batches only. */
static bool batch_rule(bool holds, const char *rule, uint64_t frames, uint64_t counted,
		       const struct totals *t)
{
	if (!holds && t->batch_errors < (uint64_t)max_reports)
		printf("  BATCH: %s: %llu frames, %llu counted\n", rule, (unsigned long long)frames,
		       (unsigned long long)counted);
	return holds;
}

#define LABELS(set) set, ARRAY_SIZE(set)

/* The reason counters over a batch against the shapes its frames had. */
static bool batch_check(struct batch *b, struct totals *t)
{
	uint64_t after[FLB_R_MAX], d[FLB_R_MAX], sum = 0, pass = 0, drop = 0;
	const uint64_t(*s)[FZ_SHAPE_MAX] = b->seen;
	uint64_t pass_encap, drop_encap, icmp, tx, redirect;
	bool ok = true;

	if (read_reasons(after))
		return false;
	for (int i = 0; i < FLB_R_MAX; i++) {
		d[i] = after[i] - b->before[i];
		sum += d[i];
		t->reasons[i] += d[i];
	}
	for (int k = 0; k < FZ_SHAPE_MAX; k++) {
		pass += s[XDP_PASS][k];
		drop += s[XDP_DROP][k];
	}
	pass_encap = sum_labels(d, LABELS(pass_encap_reasons));
	drop_encap = sum_labels(d, LABELS(drop_encap_reasons));
	icmp = sum_labels(d, LABELS(icmp_reasons));
	tx = sum_prefix(d, "fwd_tx");
	redirect = sum_prefix(d, "fwd_redirect");

	ok = batch_rule(sum == b->n, "one reason per run", b->n, sum, t) && ok;
	/* Frames that broke a rule have no shape: then only the sum is judged. */
	if (!b->broken) {
		ok = batch_rule(s[XDP_PASS][FZ_ENCAP] == pass_encap,
				"passed encapsulated = pass_no_neigh + pass_big_no_df",
				s[XDP_PASS][FZ_ENCAP], pass_encap, t) && ok;
		ok = batch_rule(s[XDP_DROP][FZ_ENCAP] <= drop_encap,
				"dropped encapsulated <= drop_no_route + drop_encap",
				s[XDP_DROP][FZ_ENCAP], drop_encap, t) && ok;
		ok = batch_rule(s[XDP_TX][FZ_ICMP_REPLY] == icmp, "too-big replies = tx_icmp_too_big",
				s[XDP_TX][FZ_ICMP_REPLY], icmp, t) && ok;
		ok = batch_rule(s[XDP_TX][FZ_ENCAP] == tx, "sent back encapsulated = fwd_tx",
				s[XDP_TX][FZ_ENCAP], tx, t) && ok;
		ok = batch_rule(s[XDP_REDIRECT][FZ_ENCAP] == redirect, "redirected = fwd_redirect",
				s[XDP_REDIRECT][FZ_ENCAP], redirect, t) && ok;
		ok = batch_rule(sum_prefix(d, "pass_") <= pass, "pass_* <= passed", pass,
				sum_prefix(d, "pass_"), t) && ok;
		ok = batch_rule(sum_prefix(d, "drop_") <= drop, "drop_* <= dropped", drop,
				sum_prefix(d, "drop_"), t) && ok;
		ok = batch_rule(sum_prefix(d, "decap_") == 0, "no decap_* from the balancer", 0,
				sum_prefix(d, "decap_"), t) && ok;
	}
	if (!ok && t->batch_errors++ < (uint64_t)max_reports)
		replay(b);
	return ok;
}

static void batch_start(struct batch *b)
{
	b->n = 0;
	b->broken = 0;
	memset(b->seen, 0, sizeof(b->seen));
	read_reasons(b->before);
}

/* Runs and judges one packet. */
static void one(const struct fz_pkt *p, struct batch *b, struct totals *t)
{
	static struct outcome o;
	struct fz_verdict v;
	int err = run(p->b, p->len, &o);

	if (err) {
		if (err == -EINVAL && p->len < 14) {
			t->refused++;
			return;
		}
		t->violations++;
		report(p, NULL, "BPF_PROG_TEST_RUN failed");
		printf("  error %d (%s)\n", err, strerror(-err));
		return;
	}
	b->pkts[b->n++] = *p;
	t->run++;
	fz_check(&world, p->b, p->len, o.action, o.out, o.out_len, &v);
	if (!v.ok) {
		t->violations++;
		b->broken++;
		report(p, &o, v.why);
		return;
	}
	b->seen[o.action][v.shape]++;
	t->seen[o.action][v.shape]++;
}

/* ---- tests ---- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 0);
	return *end ? dflt : v;
}

static void print_totals(const struct totals *t, double secs)
{
	printf("  %llu frames run in %.2f s (%.0f ns each), %llu refused by the kernel"
	       " (< 14 bytes), %llu systematic\n", (unsigned long long)t->run, secs, t->run ? secs * 1e9 / (double)t->run : 0.0,
	       (unsigned long long)t->refused, (unsigned long long)t->systematic);
	printf("  outcomes:");
	for (int a = XDP_DROP; a <= XDP_REDIRECT; a++)
		for (int s = 0; s < FZ_SHAPE_MAX; s++)
			if (t->seen[a][s])
				printf(" %s/%s %llu", fz_action_name(a) + 4, fz_shape_name((enum fz_shape)s),
				       (unsigned long long)t->seen[a][s]);
	printf("\n  reasons:");
	for (int i = 0; i < FLB_R_MAX; i++)
		if (t->reasons[i])
			printf(" %s %llu", reason_label[i], (unsigned long long)t->reasons[i]);
	printf("\n");
}

/* FLB_FUZZ_REPLAY: one frame, everything about it. */
static void replay_one(const char *hex)
{
	uint64_t r0[FLB_R_MAX], r1[FLB_R_MAX];
	static struct outcome o;
	struct fz_verdict v;
	static struct fz_pkt p;
	int err;

	if (!ASSERT_OK(fz_from_hex(hex, &p), "FLB_FUZZ_REPLAY is hex"))
		return;
	read_reasons(r0);
	err = run(p.b, p.len, &o);
	read_reasons(r1);
	if (!ASSERT_OK(err, "BPF_PROG_TEST_RUN"))
		return;
	fz_check(&world, p.b, p.len, o.action, o.out, o.out_len, &v);
	printf("  action %s, %u bytes out, reasons:", fz_action_name(o.action), o.out_len);
	for (int i = 0; i < FLB_R_MAX; i++)
		if (r1[i] != r0[i])
			printf(" %s", reason_label[i]);
	printf("\n");
	fz_print_hex(stdout, "in", p.b, p.len);
	fz_print_hex(stdout, "out", o.out, o.out_len);
	printf("  verdict: %s%s\n", v.ok ? "accepted as " : "", v.ok ? fz_shape_name(v.shape) : v.why);
	ASSERT_TRUE(v.ok, "the outcome is allowed");
}

/* ---- every seed once: its path, for the record and as a sanity check ---- */

static const struct {
	const char *seed;
	int action;
	enum fz_shape shape;
} paths[] = {
	{ "tcp_syn_tx", XDP_TX, FZ_ENCAP },
	{ "tcp_syn_redirect", XDP_REDIRECT, FZ_ENCAP },
	{ "udp_dns", XDP_TX, FZ_ENCAP },
	{ "portless_udp", XDP_REDIRECT, FZ_ENCAP },
	{ "many_backends", XDP_TX, FZ_ENCAP },
	{ "ipv4_options_ihl15", XDP_TX, FZ_ENCAP },
	{ "no_neigh", XDP_PASS, FZ_ENCAP },
	{ "no_backend", XDP_DROP, FZ_UNCHANGED },
	{ "not_vip_addr", XDP_PASS, FZ_UNCHANGED },
	{ "arp_for_vip", XDP_PASS, FZ_UNCHANGED },
};

TEST(every_seed_takes_an_allowed_path)
{
	bool verbose = getenv("FLB_FUZZ_VERBOSE") != NULL;

	reports = 0;

	for (size_t i = 0; i < n_seeds; i++) {
		uint64_t r0[FLB_R_MAX], r1[FLB_R_MAX], sum = 0;
		static struct outcome o;
		struct fz_verdict v;
		int reason = -1;

		if (!ASSERT_OK(read_reasons(r0), "read reasons") ||
		    !ASSERT_OK(run(seeds[i].b, seeds[i].len, &o), seeds[i].what) ||
		    !ASSERT_OK(read_reasons(r1), "read reasons"))
			return;
		for (int k = 0; k < FLB_R_MAX; k++) {
			sum += r1[k] - r0[k];
			if (r1[k] != r0[k])
				reason = k;
		}
		fz_check(&world, seeds[i].b, seeds[i].len, o.action, o.out, o.out_len, &v);
		if (verbose)
			printf("  %-24s %-12s %-13s %s\n", seeds[i].what, fz_action_name(o.action),
			       v.ok ? fz_shape_name(v.shape) : "BROKEN", reason >= 0 ? reason_label[reason] : "-");
		if (!v.ok)
			report(&seeds[i], &o, v.why);
		ASSERT_TRUE(v.ok, seeds[i].what);
		ASSERT_EQ(sum, 1, "one reason per run");
		if (v.ok && sum == 1)
			ASSERT_TRUE(reason_fits(reason, o.action, v.shape), reason_label[reason]);
		for (size_t k = 0; k < ARRAY_SIZE(paths); k++)
			if (!strcmp(paths[k].seed, seeds[i].what) &&
			    (o.action != paths[k].action || v.shape != paths[k].shape))
				flb_test_fail(__FILE__, __LINE__, "%s: %s/%s, expected %s/%s", seeds[i].what,
					      fz_action_name(o.action), fz_shape_name(v.shape),
					      fz_action_name(paths[k].action), fz_shape_name(paths[k].shape));
	}
}

/* ---- frames the fuzzer found, kept as named cases ---- */

/* Each was steered by 3faed47 although a header it reads lies past the IP
 * packet's own length (R4e); d7751b5 bounds every header by that length.
 * The payload length 65535 case also wraps the 16-bit pkt.ip_len (40 +
 * 65535 = 39): harmless since d7751b5 because nothing then fits, but kept.
 * Built by hand for the configuration above; the IPv6 ones are plain
 * not-a-VIP traffic (R2) on a dataplane without IPv6 VIPs. */
static const struct {
	const char *what, *hex;
} found[] = {
	{ "IPv4 total length 20, TCP SYN to 10.100.0.1:80 in the trailer",
	  "0200000000a00200000000cc08004500001412344000400613400a0a01020a6400019c41005000000001"
	  "000000005002ffff00000000" },
	{ "IPv4 total length 24, UDP header to 10.100.0.3:53 half outside",
	  "0200000000a00200000000cc080045000018123440004011132f0a0a01020a64000314e9003500080000" },
	{ "ICMP fragmentation needed whose quoted ports lie past total length 48",
	  "0200000000a00200000000cc080045000030123440004001122d0a0a01fe0a6400010304813d00000578"
	  "4500003c000040003f0600000a6400010a0a010200509c4100000001" },
	{ "IPv6 payload length 0, TCP SYN to [fd00:100::1]:80 after it",
	  "0200000000a00200000000cc86dd6000000000000640fd000010000100000000000000000002fd000100"
	  "0000000000000000000000019c41005000000001000000005002ffff00000000" },
	{ "IPv6 payload length 65535 in a 74-byte frame (40 + 65535 wraps a 16-bit length)",
	  "0200000000a00200000000cc86dd60000000ffff0640fd000010000100000000000000000002fd000100"
	  "0000000000000000000000019c41005000000001000000005002ffff00000000" },
	{ "IPv6 payload length 8: hop-by-hop inside, destination options and TCP past it",
	  "0200000000a00200000000cc86dd6000000000080040fd000010000100000000000000000002fd000100"
	  "0000000000000000000000013c0001040000000006000104000000009c41005000000001000000005002"
	  "ffff00000000" },
	{ "IPv6 payload length 0, fragment header and UDP to [fd00:100::2]:53 past it",
	  "0200000000a00200000000cc86dd6000000000002c40fd000010000100000000000000000002fd000100"
	  "000000000000000000000002110000010000007714e9003500080000" },
};

TEST(frames_found_by_fuzzing_are_not_steered)
{
	reports = 0;
	for (size_t i = 0; i < ARRAY_SIZE(found); i++) {
		static struct outcome o;
		static struct fz_pkt p;
		struct fz_verdict v;

		if (!ASSERT_OK(fz_from_hex(found[i].hex, &p), found[i].what) ||
		    !ASSERT_OK(run(p.b, p.len, &o), found[i].what))
			return;
		snprintf(p.what, sizeof(p.what), "%s", found[i].what);
		fz_check(&world, p.b, p.len, o.action, o.out, o.out_len, &v);
		if (!v.ok)
			report(&p, &o, v.why);
		ASSERT_TRUE(v.ok, found[i].what);
	}
}

TEST(hostile_frames_keep_every_property)
{
	uint64_t seed = env_u64("FLB_FUZZ_SEED", DEFAULT_SEED);
	uint64_t count = env_u64("FLB_FUZZ_COUNT", DEFAULT_COUNT);
	struct fz_rng rng = { .s = seed };
	struct batch b = {};
	struct totals t = {};
	struct timespec t0, t1;
	size_t si = 0, sj = 0;
	static struct fz_pkt p;

	if (getenv("FLB_FUZZ_REPLAY")) {
		replay_one(getenv("FLB_FUZZ_REPLAY"));
		return;
	}
	reports = 0;
	max_reports = (int)env_u64("FLB_FUZZ_REPORTS", MAX_REPORTS);
	printf("  seed %llu, %llu frames (FLB_FUZZ_SEED, FLB_FUZZ_COUNT)\n", (unsigned long long)seed,
	       (unsigned long long)count);
	b.pkts = calloc(BATCH, sizeof(*b.pkts));
	if (!ASSERT_TRUE(b.pkts != NULL, "batch memory"))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	batch_start(&b);
	for (uint64_t i = 0; i < count; i++) {
		/* Systematic first: every cut, every header byte, every seed. */
		if (si < n_seeds) {
			fz_systematic(&rng, &seeds[si], sj, &p);
			t.systematic++;
			if (++sj == fz_systematic_count(&seeds[si])) {
				si++;
				sj = 0;
			}
		} else {
			fz_random(&rng, seeds, n_seeds, &targets, &p);
		}
		one(&p, &b, &t);
		if (b.n == BATCH) {
			batch_check(&b, &t);
			batch_start(&b);
		}
	}
	if (b.n)
		batch_check(&b, &t);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_totals(&t, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (t.violations || t.batch_errors)
		printf("  reproduce: FLB_FUZZ_SEED=%llu FLB_FUZZ_COUNT=%llu,"
		       " or one frame with FLB_FUZZ_REPLAY=<hex>\n",
		       (unsigned long long)seed, (unsigned long long)count);
	ASSERT_EQ(t.violations, 0, "frames whose outcome breaks a rule");
	ASSERT_EQ(t.batch_errors, 0, "batches whose reason counters disagree");
	/* Not vacuous: the walk reached the forwarding paths. */
	if (count >= 1000)
		ASSERT_TRUE(t.seen[XDP_TX][FZ_ENCAP] && t.seen[XDP_REDIRECT][FZ_ENCAP] &&
				    t.seen[XDP_PASS][FZ_ENCAP],
			    "some frames were sent, redirected and passed encapsulated");
	free(b.pkts);
}
