// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Part 1 of `make bench`: nanoseconds per packet through the real balancer,
 * path by path, with BPF_PROG_TEST_RUN.
 *
 * repeat > 1 does not reset the frame between iterations, so the balancer
 * is never run directly: bw_run (bench/bpf/bwrap.bpf.c) restores the stored
 * packet before every iteration and tail-calls the balancer through a
 * PROG_ARRAY. Each round times, for every path, the wrapper tail-calling an
 * empty program (W) and the wrapper tail-calling the balancer (T), on the
 * same packet with the same per-iteration rewrite; the path's cost is
 * T - W. After every timed balancer run the reason and event counters must
 * have moved by exactly the number of iterations on the intended path, or
 * the path prints "n/a" with what was counted instead: no number is ever
 * reported for a path that was not taken.
 *
 * With -b OBJ, a baseline build of the balancer (another commit's
 * build/bpf/balancer.bpf.o) shares this build's maps and is timed beside
 * it on every path in every round, first and second in turn; a second
 * table gives both medians and the median of the per-round ratios.
 *
 * The process runs in a network namespace of its own (unshare), with a
 * veth pair, routes and permanent neighbours so bpf_fib_lookup() succeeds
 * and packets leave by XDP_TX; nothing is pinned, nothing outlives it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "bench_abi.h"
#include "bench_util.h"
#include "bwrap.skel.h"
#include "affinity.h"
#include "config.h"
#include "flb_abi.h"
#include "flb_reasons.h"
#include "log.h"
#include "pinned_maps.h"
#include "reconcile.h"

#define MAX_ROUNDS 64
#define ITERS_HOT 100000
#define ITERS_NEW 20000
#define CYCLE_FLOWS 100000

static const char *const reason_label[] = {
#define X(name, label) label,
	FLB_REASONS(X)
#undef X
};
static const char *const event_label[] = {
#define X(name, label) label,
	FLB_EVENTS(X)
#undef X
};

enum prep { PREP_NONE, PREP_WARM, PREP_WARM_CYCLE, PREP_CLEAR, PREP_FILL };
enum rewrite { RW_NONE, RW_CYCLE, RW_NEW };
#define WANT_ANY_FWD (-2) /* any reason labelled fwd_* */

struct dcase {
	const char *name;
	struct bpkt spec;
	bool warm_other;        /* warm with `warm` instead of the case's packet */
	struct bpkt warm;
	enum rewrite rw;
	enum prep prep;
	int slot;
	int want_reason;        /* FLB_R_*, WANT_ANY_FWD, or -1 for the parse floor */
	int want_event[2];      /* FLB_E_* or -1 */
	uint32_t iters;
	bool flood;             /* timed with every CPU in flood mode (bpf/flood.h) */
	/* filled in */
	uint8_t frame[BW_PKT_MAX];
	uint32_t len, off, base_cycle;
	double t[MAX_ROUNDS], w[MAX_ROUNDS], net[MAX_ROUNDS];
	double net_base[MAX_ROUNDS], ratio[MAX_ROUNDS]; /* -b only */
	int n;
	bool bad;
	char proof[160], why[200];
};

static struct flb_maps *maps;
static struct bwrap *skel;
static struct bpf_object *base_obj; /* -b */
static struct bpf_object *pcpu_obj, *shared_obj; /* -p, -s */
static int pcpu_ct_fd = -1, shared_ct_fd = -1;
static int t0_ifindex, cfg_fd, ct_fd, run_fd, empty_fd, cnt_fd, ncpus;
static uint32_t next_new4 = 0x0b000000, next_new6 = 0x01000000; /* new-flow sources */
static bool ct_full;
static long ct_full_count = -1;
static char v6_note[200] = "";

static const char *v4_backends(void)
{
	return "      - {address: 10.10.3.1}\n      - {address: 10.10.3.2}\n"
	       "      - {address: 10.10.3.3}\n      - {address: 10.10.3.4}\n"
	       "      - {address: 10.10.3.5}\n      - {address: 10.10.3.6}\n"
	       "      - {address: 10.10.3.7}\n      - {address: 10.10.3.8}\n"
	       "      - {address: 10.10.3.9}\n      - {address: 10.10.3.10}\n";
}

static const char *v6_backends(void)
{
	return "      - {address: \"fd00:10:3::1\"}\n      - {address: \"fd00:10:3::2\"}\n"
	       "      - {address: \"fd00:10:3::3\"}\n      - {address: \"fd00:10:3::4\"}\n"
	       "      - {address: \"fd00:10:3::5\"}\n      - {address: \"fd00:10:3::6\"}\n"
	       "      - {address: \"fd00:10:3::7\"}\n      - {address: \"fd00:10:3::8\"}\n"
	       "      - {address: \"fd00:10:3::9\"}\n      - {address: \"fd00:10:3::a\"}\n";
}

static int apply_config(bool with_v6, char *err, size_t errlen)
{
	static char yaml[8192];
	struct flb_config cfg = {};
	struct reconcile_report rep;
	int rc, n;

	n = snprintf(yaml, sizeof(yaml),
		     "interfaces: [t0]\nservices:\n"
		     "  - name: web\n    vip: 10.100.0.1\n    port: 80\n    protocol: tcp\n"
		     "    table_size: 65537\n    backends:\n%s"
		     "  - name: sticky\n    vip: 10.100.0.1\n    port: 8080\n    protocol: tcp\n"
		     "    affinity: source_ip\n    table_size: 65537\n    backends:\n%s"
		     "  - name: dns\n    vip: 10.100.0.1\n    port: 53\n    protocol: udp\n"
		     "    table_size: 65537\n    backends:\n%s"
		     /* New-flow policies (docs/policies.md): caps never reached. */
		     "  - name: rr\n    vip: 10.100.0.2\n    port: 80\n    scheduler: round_robin\n"
		     "    table_size: 65537\n    backends:\n%s"
		     "  - name: lc\n    vip: 10.100.0.3\n    port: 80\n    scheduler: least_conn\n"
		     "    table_size: 65537\n    backends:\n%s"
		     "  - name: caps\n    vip: 10.100.0.4\n    port: 80\n"
		     "    caps: {max_new_flows_per_second: 10000000, max_active_flows: 1000000000}\n"
		     "    table_size: 65537\n    backends:\n%s",
		     v4_backends(), v4_backends(), v4_backends(), v4_backends(), v4_backends(), v4_backends());
	if (with_v6)
		snprintf(yaml + n, sizeof(yaml) - n,
			 "  - name: web6\n    vip: \"fd00:100::1\"\n    port: 80\n    protocol: tcp\n"
			 "    table_size: 65537\n    backends:\n%s"
			 "  - name: dns6\n    vip: \"fd00:100::1\"\n    port: 53\n    protocol: udp\n"
			 "    table_size: 65537\n    backends:\n%s",
			 v6_backends(), v6_backends());
	rc = config_parse("bench.yaml", yaml, strlen(yaml), &cfg, err, errlen);
	if (rc)
		return rc;
	rc = reconcile(maps, &cfg, &rep);
	if (!rc)
		rc = affinity_sync(maps, &cfg); /* the sticky VIP's affinity (bpf/affinity.h) */
	if (rc)
		snprintf(err, errlen, "reconcile: %s", strerror(-rc));
	config_free(&cfg);
	return rc;
}

static int setup_netns(void)
{
	static const char *const cmds[] = {
		"ip link set lo up",
		"ip link add t0 address 02:00:00:00:00:a0 type veth peer name t1 address 02:00:00:00:00:a1",
		"ip link set t0 up && ip link set t1 up",
		"ip addr add 10.10.1.1/24 dev t0",
		"ip route add 10.10.3.0/24 dev t0",
		"for i in 1 2 3 4 5 6 7 8 9 10; do ip neigh add 10.10.3.$i lladdr 02:00:00:00:03:$i dev t0 nud permanent || exit 1; done",
		"sysctl -qw net.ipv4.ip_forward=1",
		"sysctl -qw net.ipv6.conf.all.forwarding=1",
		"ip -6 addr add fd00:10:1::1/64 dev t0 nodad",
		"ip -6 route add fd00:10:3::/64 dev t0",
		"for i in 1 2 3 4 5 6 7 8 9 a; do ip -6 neigh add fd00:10:3::$i lladdr 02:00:00:00:06:0$i dev t0 nud permanent || exit 1; done",
	};

	if (unshare(CLONE_NEWNET)) {
		fprintf(stderr, "bench_dp: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (sh("%s", cmds[i]))
			return -1;
	t0_ifindex = if_nametoindex("t0");
	return 0;
}

/* The configuration with the IPv6 services when the control plane takes
 * them, else IPv4 only (the v6 rows then say why they have no number). */
static int load_config(void)
{
	char err[256] = "";
	int saved, devnull, rc;

	fflush(stderr);
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	rc = apply_config(true, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(devnull);
	if (!rc)
		return 0;
	snprintf(v6_note, sizeof(v6_note), "IPv6 VIP not accepted: %s", err);
	rc = apply_config(false, err, sizeof(err));
	if (rc)
		fprintf(stderr, "bench_dp: the IPv4 configuration does not apply: %s\n", err);
	return rc;
}

/* Writes the wrapper's settings: cfg in bw_cfg[0], or, when bases is not
 * NULL, cfg with base = bases[cpu] in bw_cfg[1 + cpu] for every CPU and
 * bw_cfg[0] pointing there (the multi-CPU row: each pinned thread's CPU has
 * its own flows and counter). */
static int cfg_write(const struct bw_cfg *cfg, const uint32_t *bases)
{
	struct bw_cfg c = *cfg;
	uint32_t key = 0;

	c.per_cpu = 0;
	if (bases) {
		for (int i = 0; i < ncpus && i < BW_MAX_CPUS; i++) {
			c.base = bases[i];
			key = 1 + i;
			if (bpf_map_update_elem(cfg_fd, &key, &c, BPF_ANY))
				return -1;
		}
		c.per_cpu = 1;
		key = 0;
	}
	return bpf_map_update_elem(cfg_fd, &key, &c, BPF_ANY);
}

static void read_cnt(uint64_t out[BW_C_MAX])
{
	for (uint32_t i = 0; i < BW_C_MAX; i++)
		percpu_sum(cnt_fd, i, &out[i], 1);
}

/* One BPF_PROG_TEST_RUN of the wrapper over `iters` iterations; returns the
 * kernel's ns per iteration (its timer leaves out time given up to other
 * tasks), or < 0. */
static double run_case(struct dcase *c, int slot, uint32_t iters, int *retval)
{
	struct bw_cfg cfg = { .slot = slot, .len = c->len, .off = c->off };
	struct xdp_md ctx = { .data_end = c->len, .ingress_ifindex = t0_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c->frame, .data_size_in = c->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = iters);
	if (c->rw == RW_CYCLE) {
		cfg.nflows = CYCLE_FLOWS;
		cfg.base = c->base_cycle;
	} else if (c->rw == RW_NEW) {
		uint32_t *next = c->spec.v6 ? &next_new6 : &next_new4;

		cfg.base = *next;
		*next += iters;
	}
	memcpy(cfg.pkt, c->frame, c->len);
	if (cfg_write(&cfg, NULL))
		return -1;
	if (bpf_prog_test_run_opts(run_fd, &o))
		return -1;
	if (retval)
		*retval = o.retval;
	return o.duration;
}

static long ct_count(int fd)
{
	struct flb_flow key, next;
	void *prev = NULL;
	long n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		key = next;
		prev = &key;
	}
	return n;
}

static void ct_clear_fd(int fd)
{
	static struct flb_flow keys[8192];
	static struct flb_ct vals[8192];
	LIBBPF_OPTS(bpf_map_batch_opts, o);
	uint32_t in, out, n;
	bool first = true;
	int err;

	for (;;) {
		n = 8192;
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &in, &out, keys, vals,
						      &n, &o);
		if (err && errno != ENOENT)
			break;
		if (err) /* ENOENT: that was the last batch */
			goto done;
		in = out;
		first = false;
	}
	/* Batch ops refused: one key at a time. */
	{
		struct flb_flow k;

		while (!bpf_map_get_next_key(fd, NULL, &k))
			bpf_map_delete_elem(fd, &k);
	}
done:
	return;
}

static void ct_clear(void)
{
	ct_clear_fd(ct_fd);
	ct_full = false;
}

static void describe_counted(const uint64_t *r, const uint64_t *e, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (int i = 0; i < FLB_R_MAX && o < len; i++)
		if (r[i])
			o += snprintf(buf + o, len - o, "%s%s=%llu", o ? " " : "", reason_label[i],
				      (unsigned long long)r[i]);
	for (int i = 0; i < FLB_E_MAX && o < len; i++)
		if (e[i])
			o += snprintf(buf + o, len - o, "%s%s=%llu", o ? " " : "", event_label[i],
				      (unsigned long long)e[i]);
	if (!o)
		snprintf(buf, len, "no counter moved");
}

/* Did every iteration take the intended path? Fills c->proof (round 0) or
 * c->why (first failure). */
static bool check_path(struct dcase *c, const uint64_t *r, const uint64_t *e,
		       const uint64_t *cnt, uint32_t iters, int retval, bool first)
{
	char counted[180];
	uint64_t total = 0;
	int want = c->want_reason;
	bool ok = true;

	if (cnt[BW_C_WRAP_FAIL] || cnt[BW_C_TAIL_FAIL]) {
		snprintf(c->why, sizeof(c->why), "n/a (wrapper failed: restore %llu, tail call %llu)",
			 (unsigned long long)cnt[BW_C_WRAP_FAIL],
			 (unsigned long long)cnt[BW_C_TAIL_FAIL]);
		return false;
	}
	if (want == -1) {
		ok = cnt[BW_C_PARSED] == iters;
		if (first || !ok)
			snprintf(ok ? c->proof : c->why, ok ? sizeof(c->proof) : sizeof(c->why),
				 ok ? "parsed=%llu" : "n/a (parse floor: parsed=%llu)",
				 (unsigned long long)cnt[BW_C_PARSED]);
		return ok;
	}
	for (int i = 0; i < FLB_R_MAX; i++)
		total += r[i];
	if (want == WANT_ANY_FWD) {
		want = -1;
		for (int i = 0; i < FLB_R_MAX; i++)
			if (!strncmp(reason_label[i], "fwd_", 4) && r[i] == iters)
				want = i;
	}
	ok = want >= 0 && r[want] == iters && total == iters;
	for (int k = 0; k < 2; k++)
		if (c->want_event[k] >= 0 && e[c->want_event[k]] != iters)
			ok = false;
	describe_counted(r, e, counted, sizeof(counted));
	if (!ok) {
		snprintf(c->why, sizeof(c->why), "n/a (path %s: %s)",
			 first ? "not implemented" : "not taken every time", counted);
		return false;
	}
	(void)retval;
	if (first)
		snprintf(c->proof, sizeof(c->proof), "%s", counted);
	return true;
}

static void prepare(struct dcase *c, int round)
{
	switch (c->prep) {
	case PREP_WARM:
		if (c->warm_other) {
			struct dcase w = *c;

			w.len = bpkt_build(&c->warm, w.frame, sizeof(w.frame));
			w.off = 0;
			w.rw = RW_NONE;
			run_case(&w, BW_SLOT_BALANCER, 1, NULL);
		} else {
			run_case(c, BW_SLOT_BALANCER, 1, NULL);
		}
		break;
	case PREP_WARM_CYCLE:
		run_case(c, BW_SLOT_BALANCER, CYCLE_FLOWS, NULL);
		break;
	case PREP_CLEAR:
		ct_clear();
		break;
	case PREP_FILL:
		if (!ct_full) {
			run_case(c, BW_SLOT_BALANCER, FLB_CT_SIZE + FLB_CT_SIZE / 4, NULL);
			ct_full = true;
			if (round == 0)
				ct_full_count = ct_count(ct_fd);
		}
		break;
	case PREP_NONE:
		break;
	}
}

/* One timed run of slot that must take the case's path: ns per iteration,
 * or < 0 with c->why set. */
static double timed_path(struct dcase *c, int slot, int round)
{
	uint64_t r0[FLB_R_MAX], r1[FLB_R_MAX], e0[FLB_E_MAX], e1[FLB_E_MAX];
	uint64_t c0[BW_C_MAX], c1[BW_C_MAX];
	int retval = 0;
	double t;

	maps_read_reasons(maps, r0);
	maps_read_events(maps, e0);
	read_cnt(c0);
	t = run_case(c, slot, c->iters, &retval);
	maps_read_reasons(maps, r1);
	maps_read_events(maps, e1);
	read_cnt(c1);
	if (t < 0) {
		snprintf(c->why, sizeof(c->why), "n/a (BPF_PROG_TEST_RUN failed: %s)",
			 strerror(errno));
		return -1;
	}
	for (int i = 0; i < FLB_R_MAX; i++)
		r1[i] -= r0[i];
	for (int i = 0; i < FLB_E_MAX; i++)
		e1[i] -= e0[i];
	for (int i = 0; i < BW_C_MAX; i++)
		c1[i] -= c0[i];
	if (!check_path(c, r1, e1, c1, c->iters, retval, round == 0)) {
		if (slot == BW_SLOT_BASE) {
			char why[sizeof(c->why)];

			snprintf(why, sizeof(why), "baseline: %.180s", c->why);
			snprintf(c->why, sizeof(c->why), "%s", why);
		}
		return -1;
	}
	return t;
}

/* Flood mode on every CPU (threshold 1, each CPU's window already over it,
 * begun half a second ago: the coarse clock the program reads may lag
 * CLOCK_MONOTONIC by a tick, and a window "in the future" would start
 * over; the window after carries the flood on since this one was over),
 * or flood defence off again. */
static void set_flood(bool on)
{
	int fd = bpf_object__find_map_fd_by_name(maps_object(maps), "flb_flood");
	struct flb_flood *v = calloc((size_t)ncpus, sizeof(*v));
	uint32_t zero = 0;
	struct flb_ctl ctl;

	for (int i = 0; v && on && i < ncpus; i++)
		v[i] = (struct flb_flood){ .window = now_ns() - 500000000ull, .new_flows = 2, .mode = 1 };
	if (v)
		bpf_map_update_elem(fd, &zero, v, BPF_ANY);
	free(v);
	if (!maps_get_ctl(maps, &ctl)) {
		ctl.flood_nfps = on;
		maps_set_ctl(maps, &ctl);
	}
}

static void time_case(struct dcase *c, int round)
{
	bool ab = base_obj && c->slot == BW_SLOT_BALANCER;
	/* With a baseline, which one runs first alternates by round. */
	bool base_first = ab && (round & 1);
	double w, t, tb = 0;

	if (c->bad)
		return;
	prepare(c, round);
	if (c->flood)
		set_flood(true);
	w = run_case(c, BW_SLOT_EMPTY, c->iters, NULL);
	if (w < 0) {
		snprintf(c->why, sizeof(c->why), "n/a (BPF_PROG_TEST_RUN failed: %s)",
			 strerror(errno));
		c->bad = true;
		return;
	}
	if (base_first && (tb = timed_path(c, BW_SLOT_BASE, round)) < 0)
		goto bad;
	if ((t = timed_path(c, c->slot, round)) < 0)
		goto bad;
	if (ab && !base_first && (tb = timed_path(c, BW_SLOT_BASE, round)) < 0)
		goto bad;
	c->w[c->n] = w;
	c->t[c->n] = t;
	c->net[c->n] = t - w;
	if (ab) {
		c->net_base[c->n] = tb - w;
		c->ratio[c->n] = (t - w) / (tb - w);
	}
	c->n++;
	if (c->flood)
		set_flood(false);
	return;
bad:
	c->bad = true;
	if (c->flood)
		set_flood(false);
}

/* -b and -p: loads another build of the balancer over this build's maps
 * (same names and layouts: the map ABI must not differ), except the one
 * named own_map (NULL: none), which it gets a fresh copy of, and puts it in
 * bw_jmp[slot]. */
static struct bpf_object *load_other(const char *path, int jmp_fd, uint32_t slot,
				     const char *own_map)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int fd, err;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		fprintf(stderr, "bench_dp: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	bpf_object__for_each_map(map, obj) {
		bpf_map__set_pin_path(map, NULL);
		if (own_map && !strcmp(bpf_map__name(map), own_map))
			continue;
		fd = bpf_object__find_map_fd_by_name(maps_object(maps), bpf_map__name(map));
		if (fd >= 0 && bpf_map__reuse_fd(map, fd)) {
			fprintf(stderr, "bench_dp: %s: cannot share map %s\n", path, bpf_map__name(map));
			goto fail;
		}
	}
	err = bpf_object__load(obj);
	prog = bpf_object__find_program_by_name(obj, "balancer");
	if (err || !prog) {
		fprintf(stderr, "bench_dp: cannot load %s: %s\n", path, strerror(err ? -err : ENOENT));
		goto fail;
	}
	fd = bpf_program__fd(prog);
	if (bpf_map_update_elem(jmp_fd, &slot, &fd, BPF_ANY)) {
		fprintf(stderr, "bench_dp: %s cannot be tail-called from the wrapper: %s\n", path,
			strerror(errno));
		goto fail;
	}
	return obj;
fail:
	bpf_object__close(obj);
	return NULL;
}

/* -b: this build against the baseline, path by path. */
static void print_ab(const struct dcase *cases, size_t nc, const char *base_path, int rounds)
{
	printf("### This build against the baseline, same process, interleaved (%d rounds)\n\n",
	       rounds);
	printf("Baseline: `%s`, timed beside this build on every path in every round "
	       "(order alternating by round), on the same maps.\n\n", base_path);
	printf("| path | baseline median ns | this median ns | ratio of medians | median of per-round ratios |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < nc; i++) {
		const struct dcase *c = &cases[i];
		double nb[MAX_ROUNDS], nt[MAX_ROUNDS], rt[MAX_ROUNDS], mb, mt;

		if (c->slot != BW_SLOT_BALANCER)
			continue;
		if (c->bad || !c->n) {
			printf("| %s | - | - | - | %s |\n", c->name, c->why[0] ? c->why : "n/a");
			continue;
		}
		/* stat_median sorts: work on copies. */
		memcpy(nb, c->net_base, sizeof(nb));
		memcpy(nt, c->net, sizeof(nt));
		memcpy(rt, c->ratio, sizeof(rt));
		mb = stat_median(nb, c->n);
		mt = stat_median(nt, c->n);
		printf("| %s | %.1f | %.1f | %.3f | %.3f |\n", c->name, mb, mt, mt / mb,
		       stat_median(rt, c->n));
	}
	printf("\n");
}

/*
 * Multi-CPU row (-p OBJ): the timed loop on every CPU at once. One thread
 * pinned per CPU calls BPF_PROG_TEST_RUN, which runs the program on the
 * calling CPU; bw_cfg is per CPU, so each CPU restores its own packet and
 * rewrites its own flows (disjoint per CPU, as RSS would give). The same
 * work on one CPU alone is the reference: cost per packet with N CPUs ÷
 * with 1 CPU, for the shared-LRU conntrack (this build) and for the
 * per-CPU-LRU build (OBJ, bpf/maps.h with FLB_CT_PERCPU), which has its own
 * conntrack table and shares every other map. With -s OBJ (this build's
 * balancer.bpf.o), the shared-LRU side is that object loaded the same way,
 * with a fresh table of its own: an A/A run showed the main table (used by
 * every round of the main table before) ~12 % slower than a fresh copy of
 * itself on the 100k-flow path, which would be credited to the per-CPU LRU. Per CPU, the wrapper's cost
 * (W, same threads, same rewrite) is subtracted as in the main table.
 */
#define MC_MAX_CPUS BW_MAX_CPUS

struct mc_job {
	int cpu;
	uint32_t iters, len;
	const uint8_t *frame;
	pthread_barrier_t *bar;
	double ns;       /* kernel ns per iteration */
	uint64_t t0, t1; /* wall clock around the call */
	int err;
};

static void *mc_thread(void *arg)
{
	struct mc_job *j = arg;
	struct xdp_md ctx = { .data_end = j->len, .ingress_ifindex = t0_ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = j->frame, .data_size_in = j->len,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = j->iters);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(j->cpu, &set);
	j->err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(j->bar);
	if (j->err)
		return NULL;
	j->t0 = now_ns();
	if (bpf_prog_test_run_opts(run_fd, &o))
		j->err = errno;
	j->t1 = now_ns();
	j->ns = o.duration;
	return NULL;
}

struct mc_res {
	double ns;      /* mean over the CPUs of ns per iteration */
	double overlap; /* share of the longest call during which all ran */
	double oncpu;   /* lowest share of a call's wall time spent in the loop */
};

/* One run of c's packet through slot on cpus[0..n-1] at once, iters each,
 * CPU i rewriting from bases[cpu]; checks the path when check is set. */
static int mc_run(struct dcase *c, int slot, const int *cpus, int n, uint32_t iters,
		  const uint32_t *bases, bool check, struct mc_res *res)
{
	struct bw_cfg cfg = { .slot = slot, .len = c->len, .off = c->off };
	uint64_t r0[FLB_R_MAX], r1[FLB_R_MAX], e0[FLB_E_MAX], e1[FLB_E_MAX];
	uint64_t c0[BW_C_MAX], c1[BW_C_MAX], start = 0, end = UINT64_MAX;
	struct mc_job jobs[MC_MAX_CPUS] = {};
	pthread_t th[MC_MAX_CPUS];
	pthread_barrier_t bar;
	struct dcase chk = *c;
	double sum = 0, longest = 0;

	if (c->rw == RW_CYCLE)
		cfg.nflows = c->iters;
	memcpy(cfg.pkt, c->frame, c->len);
	if (cfg_write(&cfg, bases))
		return -1;
	maps_read_reasons(maps, r0);
	maps_read_events(maps, e0);
	read_cnt(c0);
	pthread_barrier_init(&bar, NULL, n);
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct mc_job){ .cpu = cpus[i], .iters = iters, .len = c->len,
					   .frame = c->frame, .bar = &bar };
		if (pthread_create(&th[i], NULL, mc_thread, &jobs[i]))
			return -1; /* not reached in practice; the barrier would hang */
	}
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&bar);
	maps_read_reasons(maps, r1);
	maps_read_events(maps, e1);
	read_cnt(c1);
	res->oncpu = 1;
	for (int i = 0; i < n; i++) {
		struct mc_job *j = &jobs[i];
		double wall = j->t1 - j->t0;

		if (j->err) {
			snprintf(c->why, sizeof(c->why), "n/a (CPU %d: %s)", j->cpu, strerror(j->err));
			return -1;
		}
		sum += j->ns;
		start = j->t0 > start ? j->t0 : start;
		end = j->t1 < end ? j->t1 : end;
		longest = wall > longest ? wall : longest;
		if (wall > 0 && j->ns * iters / wall < res->oncpu)
			res->oncpu = j->ns * iters / wall;
	}
	res->ns = sum / n;
	res->overlap = end > start && longest > 0 ? (end - start) / longest : 0;
	if (!check)
		return 0;
	for (int i = 0; i < FLB_R_MAX; i++)
		r1[i] -= r0[i];
	for (int i = 0; i < FLB_E_MAX; i++)
		e1[i] -= e0[i];
	for (int i = 0; i < BW_C_MAX; i++)
		c1[i] -= c0[i];
	if (!check_path(&chk, r1, e1, c1, iters * n, 0, true)) {
		snprintf(c->why, sizeof(c->why), "%s", chk.why);
		return -1;
	}
	return 0;
}

enum { MC_SHARED, MC_PCPU, MC_VARIANTS };
enum { MC_ONE, MC_ALL, MC_MODES };

struct mc_row {
	struct dcase *c;
	double net[MC_VARIANTS][MC_MODES][MAX_ROUNDS];
	double overlap[MC_VARIANTS][MAX_ROUNDS], oncpu[MC_VARIANTS][MAX_ROUNDS];
	int n[MC_VARIANTS];
	bool bad[MC_VARIANTS];
	char why[MC_VARIANTS][200];
};

static void multi_cpu(struct dcase *cases, size_t nc, int rounds)
{
	static const char *const vname[MC_VARIANTS] = { "shared LRU (this build)",
							 "per-CPU LRU (BPF_F_NO_COMMON_LRU)" };
	static struct mc_row rows[2];
	struct dcase est = {}, syn = {};
	uint32_t bases[MC_MAX_CPUS] = {}, next_new[MC_MAX_CPUS] = {}, flows;
	int cpus[MC_MAX_CPUS], n = 0;
	cpu_set_t set;

	/* The 100k-flow and the new-flow paths of the main table. */
	for (size_t i = 0; i < nc; i++) {
		if (!strcmp(cases[i].name, "IPv4 TCP established, 100k flows"))
			est = cases[i];
		if (!strcmp(cases[i].name, "IPv4 TCP SYN, new flow, conntrack not full"))
			syn = cases[i];
	}
	if (!est.len || !syn.len)
		return;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int i = 0; i < CPU_SETSIZE && n < MC_MAX_CPUS && n < ncpus; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = i;
	/* Each CPU cycles over flows of its own; all CPUs' flows must fit the
	 * per-CPU build's share of the table (FLB_CT_SIZE / possible CPUs). */
	flows = FLB_CT_SIZE / ncpus * 3 / 4;
	est.iters = flows < CYCLE_FLOWS ? flows : CYCLE_FLOWS;
	syn.iters = 2 * ITERS_NEW; /* at most 2 runs per CPU between clears */
	rows[0].c = &est;
	rows[1].c = &syn;
	fprintf(stderr, "bench_dp: multi-CPU, %d rounds on %d CPUs\n", rounds, n);
	for (int r = 0; r < rounds; r++) {
		for (int vi = 0; vi < MC_VARIANTS; vi++) {
			int v = vi ^ ((r >> 1) & 1); /* variant order alternates */
			int slot = v == MC_PCPU ? BW_SLOT_PCPU : shared_obj ? BW_SLOT_SHARED : BW_SLOT_BALANCER;
			int fd = v == MC_PCPU ? pcpu_ct_fd : shared_obj ? shared_ct_fd : ct_fd;

			for (int k = 0; k < 2; k++) {
				struct mc_row *row = &rows[k];
				struct dcase *c = row->c;
				double w[MC_MODES], t[MC_MODES];
				struct mc_res res;

				if (row->bad[v])
					continue;
				ct_clear_fd(fd);
				for (int i = 0; i < n; i++)
					bases[cpus[i]] = c->base_cycle + (uint32_t)i * 0x00100000;
				if (c->rw == RW_CYCLE &&
				    mc_run(c, slot, cpus, n, c->iters, bases, false, &res))
					goto bad;
				for (int mi = 0; mi < MC_MODES; mi++) {
					int m = mi ^ (r & 1); /* 1 CPU first, then all, in turn */
					const int *on = m == MC_ONE ? &cpus[r % n] : cpus;
					int non = m == MC_ONE ? 1 : n;

					if (c->rw == RW_NEW)
						for (int i = 0; i < n; i++) {
							bases[cpus[i]] = 0x0c000000 + (uint32_t)i * 0x00400000 +
									 next_new[i];
							next_new[i] = (next_new[i] + c->iters) % 0x00400000;
						}
					if (mc_run(c, BW_SLOT_EMPTY, on, non, c->iters, bases, false, &res))
						goto bad;
					w[m] = res.ns;
					if (mc_run(c, slot, on, non, c->iters, bases, true, &res))
						goto bad;
					t[m] = res.ns;
					if (m == MC_ALL) {
						row->overlap[v][row->n[v]] = res.overlap;
						row->oncpu[v][row->n[v]] = res.oncpu;
					}
				}
				for (int m = 0; m < MC_MODES; m++)
					row->net[v][m][row->n[v]] = t[m] - w[m];
				row->n[v]++;
				continue;
bad:
				row->bad[v] = true;
				snprintf(row->why[v], sizeof(row->why[v]), "%s", c->why);
			}
		}
	}
	ct_clear_fd(pcpu_ct_fd);
	if (shared_obj)
		ct_clear_fd(shared_ct_fd);
	ct_clear();

	printf("### Every CPU at once: %d CPUs against 1 (%d rounds)\n\n", n, rounds);
	printf("One pinned thread per CPU runs the timed loop at the same time, each on flows of "
	       "its own (%u per CPU on the established path, %u new flows per CPU per run); the "
	       "same work on one CPU alone is the reference. Costs are per packet (T − W, mean "
	       "over the CPUs), medians over rounds.\n\n", est.iters, syn.iters);
	printf("| path | conntrack | 1 CPU ns | %d CPUs ns | %d CPUs ÷ 1 CPU | all CPUs in the loop |\n",
	       n, n);
	printf("|---|---|---:|---:|---:|---|\n");
	for (int k = 0; k < 2; k++)
		for (int v = 0; v < MC_VARIANTS; v++) {
			struct mc_row *row = &rows[k];
			double a[MAX_ROUNDS], b[MAX_ROUNDS], q[MAX_ROUNDS], ov[MAX_ROUNDS], oc[MAX_ROUNDS];
			int m = row->n[v];

			if (row->bad[v] || !m) {
				printf("| %s | %s | - | - | - | %s |\n", row->c->name, vname[v],
				       row->why[v][0] ? row->why[v] : "n/a");
				continue;
			}
			for (int i = 0; i < m; i++) {
				a[i] = row->net[v][MC_ONE][i];
				b[i] = row->net[v][MC_ALL][i];
				q[i] = b[i] / a[i];
				ov[i] = row->overlap[v][i];
				oc[i] = row->oncpu[v][i];
			}
			printf("| %s | %s | %.1f | %.1f | %.2f | overlap %.0f %%, in the loop ≥ %.0f %% |\n",
			       row->c->name, vname[v], stat_median(a, m), stat_median(b, m),
			       stat_median(q, m), 100 * stat_median(ov, m), 100 * stat_median(oc, m));
		}
	printf("\nPer-CPU LRU ÷ shared LRU, same round, every CPU busy (median of per-round "
	       "ratios):");
	double pq[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		struct mc_row *row = &rows[k];
		double q[MAX_ROUNDS];
		int m = row->n[MC_SHARED] < row->n[MC_PCPU] ? row->n[MC_SHARED] : row->n[MC_PCPU];

		for (int i = 0; i < m; i++)
			q[i] = row->net[MC_PCPU][MC_ALL][i] / row->net[MC_SHARED][MC_ALL][i];
		if (m && !row->bad[MC_SHARED] && !row->bad[MC_PCPU]) {
			pq[k] = stat_median(q, m);
			printf(" %s %.2f%s", row->c->name, pq[k], k ? "." : ";");
		} else {
			printf(" %s n/a%s", row->c->name, k ? "." : ";");
		}
	}
	/* The rule of docs/BENCHMARKS.md: per-CPU lists only if, every CPU
	 * busy, they are clearly cheaper on one path and not dearer on the
	 * other (10 %: beyond the spread of identical runs here). */
	if (pq[0] > 0 && pq[1] > 0)
		printf(" By this run: %s.",
		       (pq[0] < 0.9 || pq[1] < 0.9) && pq[0] <= 1.1 && pq[1] <= 1.1 ?
			       "the per-CPU LRU lists would win (the build keeps the shared table: "
			       "revisit bpf/maps.h)" :
			       "keep the shared table (the build's choice)");
	printf("\n");
	printf("\n\"%d CPUs ÷ 1 CPU\" is the median of the per-round ratios. \"overlap\": share of the longest "
	       "call during which every CPU was inside its call (median over rounds); \"in the "
	       "loop\": the lowest share of a call's wall time the kernel counted as running the "
	       "loop (time given to other tasks is left out of the costs, so when it is low the "
	       "CPUs did not all really run at once).\n\n", n);
}

static struct bpkt client(bool v6, enum bp_kind kind, uint16_t dport, uint8_t flags);

/* An IPv4 TCP packet to another VIP (the policy services). */
static struct bpkt client_to(const char *vip, uint8_t flags)
{
	struct bpkt p = client(false, BP_TCP, 80, flags);

	inet_pton(AF_INET, vip, p.daddr);
	return p;
}

static struct bpkt client(bool v6, enum bp_kind kind, uint16_t dport, uint8_t flags)
{
	struct bpkt p = { .v6 = v6, .kind = kind, .sport = 40000, .dport = dport,
			  .tcp_flags = flags, .payload = 0 };

	memcpy(p.smac, "\x02\x00\x00\x00\x00\xcc", 6);
	memcpy(p.dmac, "\x02\x00\x00\x00\x00\xa0", 6);
	if (v6) {
		inet_pton(AF_INET6, "fd00:c::2", p.saddr);
		inet_pton(AF_INET6, "fd00:100::1", p.daddr);
	} else {
		inet_pton(AF_INET, "10.10.1.2", p.saddr);
		inet_pton(AF_INET, "10.100.0.1", p.daddr);
	}
	return p;
}

/* A router (10.10.9.1 / fd00:9::1) tells the VIP that its packet to the
 * client did not fit; the inner header names the client's flow. */
static struct bpkt too_big(bool v6)
{
	struct bpkt p = client(v6, BP_ICMP_TOO_BIG, 80, 0);

	memcpy(p.isaddr, p.saddr, 16);
	memset(p.saddr, 0, 16);
	if (v6) {
		inet_pton(AF_INET6, "fd00:9::1", p.saddr);
		p.mtu = 1280;
	} else {
		inet_pton(AF_INET, "10.10.9.1", p.saddr);
		p.mtu = 1400;
	}
	p.payload = 1400;
	return p;
}

#define EV(a, b) { a, b }
#define NOEV EV(-1, -1)

int main(int argc, char **argv)
{
	struct dcase cases[] = {
		{ .name = "parse-only program (floor)", .spec = client(false, BP_TCP, 80, 0x10),
		  .slot = BW_SLOT_PARSE, .want_reason = -1, .want_event = NOEV, .iters = ITERS_HOT },
		{ .name = "not a VIP (IPv4 TCP)", .spec = client(false, BP_TCP, 81, 0x10),
		  .want_reason = FLB_R_PASS_NOT_VIP, .want_event = NOEV, .iters = ITERS_HOT },
		{ .name = "IPv4 TCP established, 1 hot flow", .spec = client(false, BP_TCP, 80, 0x10),
		  .prep = PREP_WARM, .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_CT_HIT, -1),
		  .iters = ITERS_HOT },
		{ .name = "IPv4 TCP established, 100k flows", .spec = client(false, BP_TCP, 80, 0x10),
		  .rw = RW_CYCLE, .prep = PREP_WARM_CYCLE, .want_reason = FLB_R_FWD_TX,
		  .want_event = EV(FLB_E_CT_HIT, -1), .iters = CYCLE_FLOWS },
		{ .name = "IPv6 TCP established, 1 hot flow", .spec = client(true, BP_TCP, 80, 0x10),
		  .prep = PREP_WARM, .want_reason = WANT_ANY_FWD, .want_event = EV(FLB_E_CT_HIT, -1),
		  .iters = ITERS_HOT },
		{ .name = "IPv6 TCP established, 100k flows", .spec = client(true, BP_TCP, 80, 0x10),
		  .rw = RW_CYCLE, .prep = PREP_WARM_CYCLE, .want_reason = WANT_ANY_FWD,
		  .want_event = EV(FLB_E_CT_HIT, -1), .iters = CYCLE_FLOWS },
		{ .name = "IPv4 UDP established", .spec = client(false, BP_UDP, 53, 0),
		  .prep = PREP_WARM, .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_CT_HIT, -1),
		  .iters = ITERS_HOT },
		{ .name = "IPv4 TCP SYN, known flow", .spec = client(false, BP_TCP, 80, 0x02),
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_HOT },
		{ .name = "IPv4 TCP SYN, known flow, affinity VIP (sticky hit)",
		  .spec = client(false, BP_TCP, 8080, 0x02), .prep = PREP_WARM,
		  .want_reason = FLB_R_FWD_TX,
		  .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_AFF_HIT), .iters = ITERS_HOT },
		{ .name = "IPv4 TCP established, 1 hot flow, affinity VIP",
		  .spec = client(false, BP_TCP, 8080, 0x10), .prep = PREP_WARM,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_CT_HIT, -1), .iters = ITERS_HOT },
		{ .name = "ICMP frag. needed for a VIP flow", .spec = too_big(false),
		  .warm_other = true, .warm = client(false, BP_TCP, 80, 0x10), .prep = PREP_WARM,
		  .want_reason = WANT_ANY_FWD, .want_event = EV(FLB_E_ICMP_STEERED, -1), .iters = ITERS_HOT },
		{ .name = "ICMPv6 packet too big for a VIP flow", .spec = too_big(true),
		  .warm_other = true, .warm = client(true, BP_TCP, 80, 0x10), .prep = PREP_WARM,
		  .want_reason = WANT_ANY_FWD, .want_event = EV(FLB_E_ICMP_STEERED, -1), .iters = ITERS_HOT },
		{ .name = "IPv4 TCP SYN, new flow, conntrack not full",
		  .spec = client(false, BP_TCP, 80, 0x02), .rw = RW_NEW, .prep = PREP_CLEAR,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 TCP SYN, new flow, affinity VIP (new client)",
		  .spec = client(false, BP_TCP, 8080, 0x02), .rw = RW_NEW, .prep = PREP_CLEAR,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_AFF_NEW),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 TCP SYN, new flow, flood mode (no entry)",
		  .spec = client(false, BP_TCP, 80, 0x02), .rw = RW_NEW, .flood = true,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_FLOOD_SYN),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 UDP new flow, conntrack not full", .spec = client(false, BP_UDP, 53, 0),
		  .rw = RW_NEW, .want_reason = FLB_R_FWD_TX,
		  .want_event = EV(FLB_E_UDP_NEW_FLOW, FLB_E_CT_INSERT), .iters = ITERS_NEW },
		{ .name = "IPv4 TCP SYN, new flow, conntrack full (evicts)",
		  .spec = client(false, BP_TCP, 80, 0x02), .rw = RW_NEW, .prep = PREP_FILL,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_NEW },
		/* New-flow policies, beside the Maglev row "IPv4 TCP SYN, new flow,
		 * conntrack not full" of the same run (docs/policies.md). */
		{ .name = "IPv4 TCP SYN, new flow, round_robin",
		  .spec = client_to("10.100.0.2", 0x02), .rw = RW_NEW, .prep = PREP_CLEAR,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 TCP SYN, new flow, least_conn",
		  .spec = client_to("10.100.0.3", 0x02), .rw = RW_NEW, .prep = PREP_CLEAR,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 TCP SYN, new flow, maglev + caps (not reached)",
		  .spec = client_to("10.100.0.4", 0x02), .rw = RW_NEW, .prep = PREP_CLEAR,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_SYN_LOOKUP, FLB_E_CT_INSERT),
		  .iters = ITERS_NEW },
		{ .name = "IPv4 TCP established, 1 hot flow, least_conn VIP",
		  .spec = client_to("10.100.0.3", 0x10), .prep = PREP_WARM,
		  .want_reason = FLB_R_FWD_TX, .want_event = EV(FLB_E_CT_HIT, -1),
		  .iters = ITERS_HOT },
	};
	size_t nc = sizeof(cases) / sizeof(cases[0]);
	const char *base_path = NULL, *pcpu_path = NULL, *shared_path = NULL;
	int rounds = 21, opt;
	double empty_loop[MAX_ROUNDS], empty_call[MAX_ROUNDS];
	uint32_t slot;
	int fd;

	while ((opt = getopt(argc, argv, "r:b:p:s:")) != -1)
		if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'b')
			base_path = optarg;
		else if (opt == 'p')
			pcpu_path = optarg;
		else if (opt == 's')
			shared_path = optarg;
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 21;
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 1) {
		fprintf(stderr, "bench_dp: cannot count the CPUs\n");
		return 1;
	}
	if (geteuid()) {
		fprintf(stderr, "bench_dp: needs root (BPF, a network namespace)\n");
		return 1;
	}
	if (setup_netns())
		return 1;
	log_setup(LOG_ERROR, false);
	log_route_libs();
	maps = maps_open(NULL);
	if (!maps) {
		fprintf(stderr, "bench_dp: cannot load the balancer: %s\n", strerror(errno));
		return 1;
	}
	if (load_config())
		return 1;
	ct_fd = bpf_object__find_map_fd_by_name(maps_object(maps), "flb_conntrack");
	skel = bwrap__open_and_load();
	if (!skel || ct_fd < 0) {
		fprintf(stderr, "bench_dp: cannot load the wrapper: %s\n", strerror(errno));
		return 1;
	}
	cfg_fd = bpf_map__fd(skel->maps.bw_cfg);
	cnt_fd = bpf_map__fd(skel->maps.bw_cnt);
	run_fd = bpf_program__fd(skel->progs.bw_run);
	empty_fd = bpf_program__fd(skel->progs.bw_empty);
	fd = bpf_map__fd(skel->maps.bw_jmp);
	slot = BW_SLOT_EMPTY;
	bpf_map_update_elem(fd, &slot, &empty_fd, BPF_ANY);
	slot = BW_SLOT_PARSE;
	{
		int pfd = bpf_program__fd(skel->progs.bw_parse);

		bpf_map_update_elem(fd, &slot, &pfd, BPF_ANY);
	}
	slot = BW_SLOT_BALANCER;
	{
		int bfd = maps_prog_fd(maps);

		if (bpf_map_update_elem(fd, &slot, &bfd, BPF_ANY)) {
			fprintf(stderr, "bench_dp: the balancer cannot be tail-called from the wrapper: %s\n",
				strerror(errno));
			return 1;
		}
	}
	if (base_path && !(base_obj = load_other(base_path, fd, BW_SLOT_BASE, NULL)))
		return 1;
	if (pcpu_path) {
		pcpu_obj = load_other(pcpu_path, fd, BW_SLOT_PCPU, "flb_conntrack");
		if (!pcpu_obj)
			return 1;
		pcpu_ct_fd = bpf_object__find_map_fd_by_name(pcpu_obj, "flb_conntrack");
	}
	if (shared_path) {
		shared_obj = load_other(shared_path, fd, BW_SLOT_SHARED, "flb_conntrack");
		if (!shared_obj)
			return 1;
		shared_ct_fd = bpf_object__find_map_fd_by_name(shared_obj, "flb_conntrack");
	}

	for (size_t i = 0; i < nc; i++) {
		struct dcase *c = &cases[i];

		if (!c->slot)
			c->slot = BW_SLOT_BALANCER;
		c->len = bpkt_build(&c->spec, c->frame, sizeof(c->frame));
		if (!c->len) {
			snprintf(c->why, sizeof(c->why), "n/a (packet does not fit the wrapper)");
			c->bad = true;
		}
		if (c->rw != RW_NONE)
			c->off = bpkt_saddr_off(&c->spec);
		c->base_cycle = c->spec.v6 ? 0x00010000 : 0x0a140000; /* 10.20.0.0 + i */
	}

	fprintf(stderr, "bench_dp: %d rounds of %zu paths\n", rounds, nc);
	for (int r = 0; r < rounds; r++) {
		struct dcase e = cases[0];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = e.frame, .data_size_in = e.len,
			    .repeat = ITERS_HOT);
		uint64_t t0;

		ct_clear();
		/* Floors: the empty program in the kernel's loop, and one call
		 * per packet as seen from userspace (the syscall floor). */
		bpf_prog_test_run_opts(empty_fd, &o);
		empty_loop[r] = o.duration;
		o.repeat = 1;
		t0 = now_ns();
		for (int k = 0; k < 2000; k++)
			bpf_prog_test_run_opts(empty_fd, &o);
		empty_call[r] = (now_ns() - t0) / 2000.0;
		for (size_t i = 0; i < nc; i++)
			time_case(&cases[i], r);
	}

	printf("### Per-packet cost through BPF_PROG_TEST_RUN (%d rounds)\n\n", rounds);
	/* bench/ab.sh reads this table from two builds' bench_dp (this one and
	 * older ones): keep path | proof | min | median as the first columns. */
	printf("| path | proof: counters per timed run | min ns | median ns |\n");
	printf("|---|---|---:|---:|\n");
	printf("| empty XDP program, kernel test-run loop (floor) | - | %.0f | %.0f |\n",
	       stat_min(empty_loop, rounds), stat_median(empty_loop, rounds));
	printf("| empty XDP program, one syscall per packet (not used) | - | %.0f | %.0f |\n",
	       stat_min(empty_call, rounds), stat_median(empty_call, rounds));
	if (cases[2].n)
		printf("| wrapper: restore + tail call to empty (subtracted below) | - | %.0f | %.0f |\n",
		       stat_min(cases[2].w, cases[2].n), stat_median(cases[2].w, cases[2].n));
	for (size_t i = 0; i < nc; i++) {
		struct dcase *c = &cases[i];
		double mn, med, tt[MAX_ROUNDS], ww[MAX_ROUNDS], nn[MAX_ROUNDS];

		if (c->bad || !c->n) {
			printf("| %s | %s | - | - |\n", c->name, c->why[0] ? c->why : "n/a");
			continue;
		}
		/* stat_* sort in place: the multi-CPU and A/B tables need the
		 * rounds in order, so work on copies. */
		memcpy(tt, c->t, sizeof(tt));
		memcpy(ww, c->w, sizeof(ww));
		memcpy(nn, c->net, sizeof(nn));
		mn = stat_min(tt, c->n) - stat_min(ww, c->n);
		med = stat_median(nn, c->n);
		printf("| %s | %s | %.0f | %.0f |\n", c->name, c->proof, mn, med);
	}
	printf("\nIterations per timed run: %d (hot paths, 100k-flow cycles), %d (new flows). ",
	       ITERS_HOT, ITERS_NEW);
	if (ct_full_count >= 0)
		printf("Conntrack entries when the full case starts: %ld of %d. ", ct_full_count,
		       FLB_CT_SIZE);
	if (v6_note[0])
		printf("%s.", v6_note);
	printf("\n\n");
	if (base_path)
		print_ab(cases, nc, base_path, rounds);
	if (pcpu_obj)
		multi_cpu(cases, nc, rounds);
	bwrap__destroy(skel);
	bpf_object__close(pcpu_obj);
	bpf_object__close(shared_obj);
	bpf_object__close(base_obj);
	maps_close(maps);
	return 0;
}
