// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Part 2 of `make bench`: packets per second forwarded on veth in native
 * XDP mode, run by bench/run.sh, which builds the two namespaces (gen, lb),
 * the veth pair g0 <-> l0, routes, neighbours and the iptables rules, and
 * removes them all. This program attaches the programs, drives the
 * generator and counts:
 *
 *   gen ns: bf_gen (BPF_PROG_TEST_RUN, BPF_F_TEST_XDP_LIVE_FRAMES) sends
 *           64-byte UDP or TCP frames to the VIP out of g0, each from one of
 *           4096 client addresses; bf_sink on g0 counts what comes back.
 *   lb ns:  l0 runs, in turn, bf_drop (what the generator can offer),
 *           bf_txswap (XDP_TX ceiling), the fluxlb balancer (IPIP to a
 *           backend whose next hop is back out l0: XDP_TX), and bf_pass with
 *           iptables DNAT to the same backends (kube-proxy style), which
 *           the kernel forwards back out l0.
 *
 * Everything runs on one CPU (the generator's; veth's NAPI runs where the
 * frames were queued), so packets per second and CPU per packet rank the
 * paths. Variants are interleaved round by round.
 *
 * bench_fwd -F IFACE -m DMAC -d VIP -p PORT -s SECS [-n FLOWS]: the generator
 * alone, in the current namespace: TCP SYNs from FLOWS (a power of two, 2^10
 * .. 2^22, default 2^22) scattered sources in 10.64.0.0/10 to VIP:PORT out of
 * IFACE at its full rate for SECS seconds, each flow again every FLOWS frames,
 * then one line "sent N frames in T s (R pps)". tests/e2e/test_flood.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "bench_abi.h"
#include "bench_util.h"
#include "bfwd.skel.h"
#include "config.h"
#include "flb_reasons.h"
#include "log.h"
#include "pinned_maps.h"
#include "reconcile.h"

#define G0_MAC "\x02\x00\x00\x00\x0b\x01"
#define L0_MAC "\x02\x00\x00\x00\x0b\x02"
#define MAX_ROUNDS 16
#define NFLOWS 4096

enum variant { V_DROP, V_TXSWAP, V_FLUXLB, V_IPTABLES, V_MAX };
static const char *const vname[V_MAX] = {
	"generator -> XDP_DROP on l0 (offered load)",
	"XDP_TX ceiling (swap MACs, XDP_TX)",
	"fluxlb (IPIP encap, XDP_TX)",
	"iptables DNAT (XDP_PASS, kernel forwarding)",
};

static int gen_ns, lb_ns, g0, l0;
static struct bfwd *skel;
static struct flb_maps *maps;

static int enter(int fd)
{
	if (setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "bench_fwd: setns: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int attach(int ifindex, int prog_fd)
{
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	if (bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL)) {
		fprintf(stderr, "bench_fwd: native XDP attach failed: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* CPU time of this thread: the scheduler's exact runtime, which here
 * (no IRQ time accounting) includes the softirq work done in its context:
 * veth NAPI on both sides, the XDP programs, the kernel's forwarding. */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void sink_read(uint64_t out[BF_K_MAX])
{
	int fd = bpf_map__fd(skel->maps.bf_kinds);

	for (uint32_t k = 0; k < BF_K_MAX; k++)
		percpu_sum(fd, k, &out[k], 1);
}

struct result {
	double mpps, offered, cpu_ns, busy;
	uint64_t delivered, fwd;
};

/* Runs the generator for secs seconds from the gen namespace. */
static int generate(uint8_t proto, double secs, struct result *res, enum variant v)
{
	uint8_t frame[60] = {};
	struct xdp_md ctx = { .data_end = sizeof(frame), .ingress_ifindex = g0 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1 << 20,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	uint64_t k0[BF_K_MAX], k1[BF_K_MAX], r0[FLB_R_MAX], r1[FLB_R_MAX], sent = 0;
	uint64_t t0, t1, c0, c1;
	int prog = bpf_program__fd(skel->progs.bf_gen);

	memcpy(skel->bss->gen.dmac, L0_MAC, 6);
	memcpy(skel->bss->gen.smac, G0_MAC, 6);
	skel->bss->gen.daddr = inet_addr("10.100.0.1");
	skel->bss->gen.saddr = 0x0a0b0000; /* 10.11.0.0 + flow */
	skel->bss->gen.nflows = NFLOWS;
	skel->bss->gen.dport = htons(80);
	skel->bss->gen.proto = proto;
	t0 = now_ns();
	memcpy(frame, L0_MAC, 6);
	memcpy(frame + 6, G0_MAC, 6);
	frame[12] = 0x08;

	/* Each call sets up and tears down a page pool, which costs tens of
	 * ms: a calibration call (which also creates the flows' state), then
	 * one call sized to last about secs, timed alone. */
	if (bpf_prog_test_run_opts(prog, &o)) {
		fprintf(stderr, "bench_fwd: live-frames generator: %s\n", strerror(errno));
		return -1;
	}
	o.repeat = (uint32_t)fmin(fmax(o.repeat / ((now_ns() - t0) / 1e9) * secs, 1 << 20), 1u << 30);
	usleep(20000);
	sink_read(k0);
	maps_read_reasons(maps, r0);
	c0 = thread_cpu_ns();
	t0 = now_ns();
	if (bpf_prog_test_run_opts(prog, &o)) {
		fprintf(stderr, "bench_fwd: live-frames generator: %s\n", strerror(errno));
		return -1;
	}
	sent = o.repeat;
	t1 = now_ns();
	usleep(20000); /* let the last batches drain */
	c1 = thread_cpu_ns();
	sink_read(k1);
	maps_read_reasons(maps, r1);

	switch (v) {
	case V_DROP:
		res->delivered = sent;
		break;
	case V_TXSWAP:
		res->delivered = k1[BF_K_TO_VIP] - k0[BF_K_TO_VIP];
		break;
	case V_FLUXLB:
		res->delivered = k1[BF_K_IPIP] - k0[BF_K_IPIP];
		break;
	case V_IPTABLES:
		res->delivered = k1[BF_K_TO_BACKEND] - k0[BF_K_TO_BACKEND];
		break;
	default:
		break;
	}
	res->fwd = r1[FLB_R_FWD_TX] - r0[FLB_R_FWD_TX];
	res->offered = sent / ((t1 - t0) / 1e9) / 1e6;
	res->mpps = res->delivered / ((t1 - t0) / 1e9) / 1e6;
	res->cpu_ns = res->delivered ? (double)(c1 - c0) / res->delivered : 0;
	res->busy = (double)(c1 - c0) / (t1 - t0);
	return 0;
}

static int apply_config(void)
{
	static const char yaml[] =
		"interfaces: [l0]\nservices:\n"
		"  - name: u\n    vip: 10.100.0.1\n    port: 80\n    protocol: udp\n    backends:\n"
		"      - {address: 10.10.2.11}\n      - {address: 10.10.2.12}\n      - {address: 10.10.2.13}\n"
		"  - name: t\n    vip: 10.100.0.1\n    port: 80\n    protocol: tcp\n    backends:\n"
		"      - {address: 10.10.2.11}\n      - {address: 10.10.2.12}\n      - {address: 10.10.2.13}\n";
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char err[256];
	int rc = config_parse("bench.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (rc) {
		fprintf(stderr, "bench_fwd: %s\n", err);
		return rc;
	}
	rc = reconcile(maps, &cfg, &rep);
	config_free(&cfg);
	return rc;
}

static int cmp_res(const void *a, const void *b)
{
	double x = ((const struct result *)a)->mpps, y = ((const struct result *)b)->mpps;

	return x < y ? -1 : x > y;
}

/* The -F mode: a SYN flood out of ifname until secs have passed. */
static int syn_flood(const char *ifname, const char *dmac, const char *vip, int port,
		     double secs, uint32_t nflows)
{
	uint8_t frame[60] = {};
	struct xdp_md ctx = { .data_end = sizeof(frame) };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1 << 16,
		    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = 64);
	unsigned int m[6];
	uint64_t t0, sent = 0;
	double t;

	ctx.ingress_ifindex = if_nametoindex(ifname);
	if (!ctx.ingress_ifindex ||
	    sscanf(dmac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_addr(vip) == INADDR_NONE || port < 1 || port > 65535 || secs <= 0 ||
	    nflows < 1024 || nflows > 1u << 22 || (nflows & (nflows - 1))) {
		fprintf(stderr, "bench_fwd -F: bad interface, MAC, VIP, port, seconds or flows\n");
		return 2;
	}
	log_setup(LOG_ERROR, false);
	log_route_libs();
	skel = bfwd__open_and_load();
	if (!skel) {
		fprintf(stderr, "bench_fwd: cannot load the generator: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 6; i++)
		skel->bss->gen.dmac[i] = (uint8_t)m[i];
	memcpy(skel->bss->gen.smac, G0_MAC, 6);
	skel->bss->gen.daddr = inet_addr(vip);
	skel->bss->gen.saddr = 0x0a400000; /* 10.64.0.0 + flow */
	skel->bss->gen.nflows = nflows;
	skel->bss->gen.dport = htons(port);
	skel->bss->gen.proto = IPPROTO_TCP;
	skel->bss->gen.syn = 1;
	t0 = now_ns();
	while ((t = (now_ns() - t0) / 1e9) < secs) {
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.bf_gen), &o)) {
			fprintf(stderr, "bench_fwd: live-frames generator: %s\n", strerror(errno));
			bfwd__destroy(skel);
			return 1;
		}
		sent += o.repeat;
	}
	printf("sent %llu frames in %.1f s (%.0f pps)\n", (unsigned long long)sent, t, sent / t);
	bfwd__destroy(skel);
	return 0;
}

int main(int argc, char **argv)
{
	const char *gen_name = NULL, *lb_name = NULL;
	static struct result res[2][V_MAX][MAX_ROUNDS];
	int rounds = 3, opt, prog[V_MAX];
	double secs = 2, busy_sum = 0;
	int busy_n = 0;
	char path[256];
	cpu_set_t cpus;

	const char *flood_if = NULL, *dmac = "", *vip = "";
	uint32_t nflows = 1u << 22;
	int port = 0;

	while ((opt = getopt(argc, argv, "g:l:r:s:F:m:d:p:n:")) != -1) {
		if (opt == 'n')
			nflows = (uint32_t)strtoul(optarg, NULL, 0);
		else if (opt == 'F')
			flood_if = optarg;
		else if (opt == 'm')
			dmac = optarg;
		else if (opt == 'd')
			vip = optarg;
		else if (opt == 'p')
			port = atoi(optarg);
		else if (opt == 'g')
			gen_name = optarg;
		else if (opt == 'l')
			lb_name = optarg;
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 's')
			secs = atof(optarg);
	}
	if (flood_if)
		return syn_flood(flood_if, dmac, vip, port, secs, nflows);
	if (!gen_name || !lb_name || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: bench_fwd -g GEN_NETNS -l LB_NETNS [-r rounds] [-s secs] (see bench/run.sh)\n");
		return 2;
	}
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	snprintf(path, sizeof(path), "/run/netns/%s", gen_name);
	gen_ns = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/run/netns/%s", lb_name);
	lb_ns = open(path, O_RDONLY);
	if (gen_ns < 0 || lb_ns < 0) {
		fprintf(stderr, "bench_fwd: cannot open the namespaces: %s\n", strerror(errno));
		return 1;
	}
	log_setup(LOG_ERROR, false);
	log_route_libs();
	skel = bfwd__open_and_load();
	maps = maps_open(NULL);
	if (!skel || !maps) {
		fprintf(stderr, "bench_fwd: cannot load the programs: %s\n", strerror(errno));
		return 1;
	}
	skel->bss->sink_vip = inet_addr("10.100.0.1");
	skel->bss->sink_be_net = inet_addr("10.10.2.0");
	skel->bss->sink_be_mask = inet_addr("255.255.255.0");
	if (apply_config())
		return 1;
	prog[V_DROP] = bpf_program__fd(skel->progs.bf_drop);
	prog[V_TXSWAP] = bpf_program__fd(skel->progs.bf_txswap);
	prog[V_FLUXLB] = maps_prog_fd(maps);
	prog[V_IPTABLES] = bpf_program__fd(skel->progs.bf_pass);

	if (enter(gen_ns))
		return 1;
	g0 = if_nametoindex("g0");
	if (!g0 || attach(g0, bpf_program__fd(skel->progs.bf_sink)))
		return 1;
	if (enter(lb_ns))
		return 1;
	l0 = if_nametoindex("l0");
	if (!l0)
		return 1;

	fprintf(stderr, "bench_fwd: %d rounds x 2 protocols x %d paths x %.1f s\n", rounds, V_MAX,
		secs);
	for (int r = 0; r < rounds; r++)
		for (int p = 0; p < 2; p++)
			for (int v = 0; v < V_MAX; v++) {
				if (enter(lb_ns) || attach(l0, prog[v]) || enter(gen_ns))
					return 1;
				if (generate(p ? IPPROTO_TCP : IPPROTO_UDP, secs, &res[p][v][r], v))
					return 1;
			}
	enter(lb_ns);
	bpf_xdp_detach(l0, XDP_FLAGS_DRV_MODE, NULL);
	enter(gen_ns);
	bpf_xdp_detach(g0, XDP_FLAGS_DRV_MODE, NULL);

	printf("### Forwarding rate on veth, native XDP (64-byte frames, %d flows, %d rounds x %.0f s, one CPU)\n\n",
	       NFLOWS, rounds, secs);
	printf("| packets | path | delivered Mpps median (min..max) | CPU ns / packet | fluxlb / this path | proof |\n");
	printf("|---|---|---:|---:|---:|---|\n");
	for (int p = 0; p < 2; p++) {
		double med[V_MAX], cpu[V_MAX];
		struct result sorted[V_MAX][MAX_ROUNDS];

		for (int v = 0; v < V_MAX; v++) {
			double c[MAX_ROUNDS];

			memcpy(sorted[v], res[p][v], sizeof(sorted[v]));
			qsort(sorted[v], rounds, sizeof(struct result), cmp_res);
			med[v] = sorted[v][rounds / 2].mpps;
			for (int r = 0; r < rounds; r++)
				c[r] = res[p][v][r].cpu_ns;
			cpu[v] = stat_median(c, rounds);
			for (int r = 0; r < rounds; r++, busy_n++)
				busy_sum += res[p][v][r].busy;
		}
		for (int v = 0; v < V_MAX; v++) {
			char proof[160];
			struct result *m = &sorted[v][rounds / 2];

			if (v == V_DROP)
				snprintf(proof, sizeof(proof), "sent by the generator");
			else if (v == V_FLUXLB)
				snprintf(proof, sizeof(proof), "IPIP at the sink %llu, fwd_tx %llu, offered %.2f Mpps",
					 (unsigned long long)m->delivered, (unsigned long long)m->fwd,
					 m->offered);
			else
				snprintf(proof, sizeof(proof), "%s at the sink %llu, offered %.2f Mpps",
					 v == V_TXSWAP ? "to VIP" : "DNATed to a backend",
					 (unsigned long long)m->delivered, m->offered);
			printf("| %s | %s | %.2f (%.2f..%.2f) | %.0f | %s | %s |\n", p ? "TCP" : "UDP",
			       vname[v], med[v], sorted[v][0].mpps, sorted[v][rounds - 1].mpps, cpu[v],
			       v == V_FLUXLB || v == V_DROP || !med[v] ? "-" :
			       (snprintf(path, sizeof(path), "%.2f", med[V_FLUXLB] / med[v]), path),
			       proof);
		}
	}
	printf("\nCPU ns / packet: CPU time of the generator's thread (CLOCK_THREAD_CPUTIME_ID; the veth NAPI polls, the XDP programs and the kernel's forwarding run in its context) over delivered packets; it includes the generator itself (first row). That thread was busy %.0f %% of the wall time on average.\n\n", busy_sum / busy_n * 100);
	bfwd__destroy(skel);
	maps_close(maps);
	return 0;
}
