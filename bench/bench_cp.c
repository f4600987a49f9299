// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Part 3 of `make bench`: the control plane.
 *
 * Maglev build time of user/lib/maglev.c against a straightforward
 * implementation of the paper's algorithm (Eisenbud et al., NSDI 2016,
 * Pseudocode 1: per-backend offset and skip, permutation entry
 * (offset + j * skip) % M computed on the fly, backends take turns claiming
 * their next free preferred slot), same names, same M, interleaved rounds.
 *
 * Config change -> maps updated: a 1,000-backend service (M = 65537); each
 * change replaces one backend; timed from the YAML text to reconcile()
 * returning (parse + diff + Maglev build + table swap), against the floor
 * of what any writer must do (maglev_build + maps_set_ring of the same
 * table).
 *
 * The largest configuration (1024 services): reconciles through one
 * long-lived reconciler (grow, no change, one change, one health verdict,
 * shrink) against a fresh reconciler applying the same 1024 services in the
 * same round, which builds and swaps every table.
 *
 * Memory: bytes_memlock of the balancer's maps from `bpftool map show -j`,
 * per VIP (its Maglev table, its share of the per-VIP arrays) and per
 * million flows (conntrack bytes per entry, scaled: the LRU holds
 * FLB_CT_SIZE entries and is preallocated, so a million flows cannot be
 * inserted, and the size does not depend on how many are), against the
 * kernel conntrack entry (nf_conntrack slab object) that iptables DNAT
 * keeps per flow.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"
#include "config.h"
#include "flb_abi.h"
#include "log.h"
#include "maglev.h"
#include "pinned_maps.h"
#include "reconcile.h"

#define M 65537
#define MAX_ROUNDS 64
#define NCHANGES 100
#define NBACKENDS 1000

/* ---- the paper's algorithm, as written there ---- */

#define MURMUR_M 0xc6a4a7935bd1e995ULL

/* MurmurHash64A, the hash user/lib/maglev.c uses too, so both pay the same
 * for hashing and only the population loop differs. */
static uint64_t murmur64a(const char *s, uint64_t seed)
{
	size_t len = strlen(s), i;
	uint64_t h = seed ^ (len * MURMUR_M), k;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&k, s + i, 8);
		k *= MURMUR_M;
		k ^= k >> 47;
		k *= MURMUR_M;
		h ^= k;
		h *= MURMUR_M;
	}
	if (len & 7) {
		k = 0;
		memcpy(&k, s + i, len & 7);
		h ^= k;
		h *= MURMUR_M;
	}
	h ^= h >> 47;
	h *= MURMUR_M;
	return h ^ (h >> 47);
}

static int paper_build(const char *const *names, size_t n, uint32_t m, int32_t *entry)
{
	uint64_t *offset = malloc(n * sizeof(*offset)), *skip = malloc(n * sizeof(*skip));
	uint64_t *next = calloc(n, sizeof(*next));
	uint32_t filled = 0;

	if (!offset || !skip || !next) {
		free(offset);
		free(skip);
		free(next);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		offset[i] = murmur64a(names[i], 0) % m;
		skip[i] = murmur64a(names[i], 1) % (m - 1) + 1;
	}
	for (uint32_t j = 0; j < m; j++)
		entry[j] = -1;
	while (n) {
		for (size_t i = 0; i < n; i++) {
			uint64_t c = (offset[i] + next[i] * skip[i]) % m;

			while (entry[c] >= 0) {
				next[i]++;
				c = (offset[i] + next[i] * skip[i]) % m;
			}
			entry[c] = i;
			next[i]++;
			if (++filled == m)
				goto out;
		}
	}
out:
	free(offset);
	free(skip);
	free(next);
	return 0;
}

/* ---- helpers ---- */

static char **make_names(size_t n, int third)
{
	char **v = calloc(n, sizeof(*v));

	for (size_t i = 0; i < n; i++) {
		v[i] = malloc(32);
		snprintf(v[i], 32, "10.%d.%zu.%zu:80", third, i / 250, i % 250 + 1);
	}
	return v;
}

/* Percent of slots whose backend name differs between two tables. */
static double changed_pct(const uint32_t *a, char **na, const uint32_t *b, char **nb, uint32_t m)
{
	uint32_t changed = 0;

	for (uint32_t i = 0; i < m; i++)
		if (strcmp(na[a[i]], nb[b[i]]))
			changed++;
	return 100.0 * changed / m;
}

static void spread(const uint32_t *slots, size_t n, uint32_t m, uint32_t *mn, uint32_t *mx)
{
	uint32_t *cnt = calloc(n, sizeof(*cnt));

	for (uint32_t i = 0; i < m; i++)
		cnt[slots[i]]++;
	*mn = UINT32_MAX;
	*mx = 0;
	for (size_t i = 0; i < n; i++) {
		*mn = cnt[i] < *mn ? cnt[i] : *mn;
		*mx = cnt[i] > *mx ? cnt[i] : *mx;
	}
	free(cnt);
}

static void bench_maglev(int rounds)
{
	static const size_t ns[] = { 10, 100, 1000 };
	uint32_t *slots = malloc(M * sizeof(*slots)), *slots2 = malloc(M * sizeof(*slots2));
	int32_t *entry = malloc(M * sizeof(*entry)), *entry2 = malloc(M * sizeof(*entry2));

	printf("### Maglev table build, M = %d (%d rounds, interleaved)\n\n", M, rounds);
	printf("| backends | fluxlb min ms | fluxlb median ms | paper min ms | paper median ms | fluxlb / paper (median) | slots per backend fluxlb | paper |\n");
	printf("|---:|---:|---:|---:|---:|---:|---|---|\n");
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
		size_t n = ns[k];
		char **names = make_names(n, 1);
		struct maglev_backend *b = calloc(n, sizeof(*b));
		double ours[MAX_ROUNDS], paper[MAX_ROUNDS];
		uint32_t mn1, mx1, mn2, mx2;

		for (size_t i = 0; i < n; i++)
			b[i] = (struct maglev_backend){ .name = names[i], .weight = 1 };
		for (int r = 0; r < rounds; r++) {
			uint64_t t0 = now_ns();

			maglev_build(b, n, M, slots);
			ours[r] = (now_ns() - t0) / 1e6;
			t0 = now_ns();
			paper_build((const char *const *)names, n, M, entry);
			paper[r] = (now_ns() - t0) / 1e6;
		}
		spread(slots, n, M, &mn1, &mx1);
		spread((uint32_t *)entry, n, M, &mn2, &mx2);
		{
			double om = stat_min(ours, rounds), pm = stat_min(paper, rounds);
			double omed = stat_median(ours, rounds), pmed = stat_median(paper, rounds);

			printf("| %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %u..%u | %u..%u |\n", n, om,
			       omed, pm, pmed, omed / pmed, mn1, mx1, mn2, mx2);
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(b);
	}

	/* Disruption: remove 1 of 100 backends. */
	{
		size_t n = 100;
		char **names = make_names(n, 1), **fewer = calloc(n - 1, sizeof(*fewer));
		struct maglev_backend *b = calloc(n, sizeof(*b));
		double ours, paper;

		for (size_t i = 0, j = 0; i < n; i++) {
			b[i] = (struct maglev_backend){ .name = names[i], .weight = 1 };
			if (i != 50)
				fewer[j++] = names[i];
		}
		maglev_build(b, n, M, slots);
		memmove(&b[50], &b[51], (n - 51) * sizeof(*b));
		maglev_build(b, n - 1, M, slots2);
		ours = changed_pct(slots, names, slots2, fewer, M);
		paper_build((const char *const *)names, n, M, entry);
		paper_build((const char *const *)fewer, n - 1, M, entry2);
		paper = changed_pct((uint32_t *)entry, names, (uint32_t *)entry2, fewer, M);
		printf("\nRemoving 1 of 100 backends changes %.2f %% of slots with fluxlb, %.2f %% with the paper's algorithm (the removed backend held ~1 %%).\n\n",
		       ours, paper);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		free(fewer);
		free(b);
	}
	free(slots);
	free(slots2);
	free(entry);
	free(entry2);
}

static char *service_yaml(int changed)
{
	size_t cap = 64 * (NBACKENDS + 10), o;
	char *y = malloc(cap);

	o = snprintf(y, cap, "interfaces: [eth0]\nservices:\n  - name: big\n    vip: 10.100.0.1\n"
		     "    port: 80\n    protocol: tcp\n    table_size: %d\n    backends:\n", M);
	for (int i = 0; i < NBACKENDS; i++) {
		/* Change k replaces backend k % NBACKENDS by a fresh address. */
		int third = i == changed % NBACKENDS ? 30 + changed / NBACKENDS : 20;

		o += snprintf(y + o, cap - o, "      - {address: 10.%d.%d.%d}\n",
			      i == changed % NBACKENDS && changed >= 0 ? third : 20, i / 250,
			      i % 250 + 1);
	}
	return y;
}

static int apply(struct flb_maps *m, const char *yaml, double *parse_ms, double *total_ms)
{
	struct flb_config cfg = {};
	struct reconcile_report rep;
	char err[256];
	uint64_t t0 = now_ns(), t1;
	int rc = config_parse("bench.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));

	t1 = now_ns();
	if (rc) {
		fprintf(stderr, "bench_cp: %s\n", err);
		return rc;
	}
	rc = reconcile(m, &cfg, &rep);
	*parse_ms = (t1 - t0) / 1e6;
	*total_ms = (now_ns() - t0) / 1e6;
	config_free(&cfg);
	return rc;
}

static void bench_reconcile(struct flb_maps *m)
{
	double total[NCHANGES], parse[NCHANGES], rec[NCHANGES], floor_ms[NCHANGES], p, t;
	char **names = make_names(NBACKENDS, 20);
	struct maglev_backend *b = calloc(NBACKENDS, sizeof(*b));
	uint32_t *slots = malloc(M * sizeof(*slots));
	char *y = service_yaml(-1);

	if (apply(m, y, &p, &t)) {
		printf("config change -> maps: n/a (the 1,000-backend service does not apply)\n\n");
		free(y);
		return;
	}
	free(y);
	for (int i = 0; i < NBACKENDS; i++)
		b[i] = (struct maglev_backend){ .name = names[i], .weight = 1 };
	for (int k = 0; k < NCHANGES; k++) {
		uint64_t t0;

		y = service_yaml(k);
		if (apply(m, y, &parse[k], &total[k])) {
			free(y);
			printf("config change -> maps: n/a (change %d failed)\n\n", k);
			return;
		}
		free(y);
		rec[k] = total[k] - parse[k];
		/* The floor: build the same-size table and swap it in (VIP id 1
		 * is unused by the service, so the datapath never sees it). */
		snprintf(names[k % NBACKENDS], 32, "10.%d.%d.%d:80", 30 + k / NBACKENDS,
			 (k % NBACKENDS) / 250, (k % NBACKENDS) % 250 + 1);
		t0 = now_ns();
		maglev_build(b, NBACKENDS, M, slots);
		maps_set_ring(m, 1, slots, M);
		floor_ms[k] = (now_ns() - t0) / 1e6;
	}
	maps_del_ring(m, 1);
	printf("### Config change -> maps updated (1 service, %d backends, M = %d, %d changes of one backend)\n\n",
	       NBACKENDS, M, NCHANGES);
	printf("| step | p50 ms | p99 ms | floor: maglev_build + table swap p50 ms | p99 ms | p50 / floor p50 |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	{
		double fp50 = stat_pct(floor_ms, NCHANGES, 50), fp99 = stat_pct(floor_ms, NCHANGES, 99);
		double tp50 = stat_pct(total, NCHANGES, 50), tp99 = stat_pct(total, NCHANGES, 99);

		printf("| YAML -> reconcile() returned (maps updated) | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
		       tp50, tp99, fp50, fp99, tp50 / fp50);
		printf("| of which config_parse | %.2f | %.2f | - | - | - |\n",
		       stat_pct(parse, NCHANGES, 50), stat_pct(parse, NCHANGES, 99));
		printf("| of which reconcile() | %.2f | %.2f | %.2f | %.2f | %.2f |\n\n",
		       stat_pct(rec, NCHANGES, 50), stat_pct(rec, NCHANGES, 99), fp50, fp99,
		       stat_pct(rec, NCHANGES, 50) / fp50);
	}
	for (int i = 0; i < NBACKENDS; i++)
		free(names[i]);
	free(names);
	free(b);
	free(slots);
}

/* ---- the largest configuration: 1024 services ---- */

#define BIG_SVCS FLB_CFG_MAX_SERVICES
#define BIG_ROUNDS 5

/* n services of 3 backends each (10.99.x.y, unique per service); the
 * changed-th one (< 0: none) has a fourth backend. */
static char *big_yaml(int n, int changed)
{
	size_t cap = 160 * (size_t)(n + 2), o;
	char *y = malloc(cap);

	o = snprintf(y, cap, "interfaces: [eth0]\nservices:\n");
	for (int i = 0; i < n; i++) {
		o += snprintf(y + o, cap - o,
			      "  - {name: s%d, vip: 10.200.%d.%d, port: 80, backends: [", i,
			      i / 250, i % 250 + 1);
		for (int k = 0; k < 3; k++)
			o += snprintf(y + o, cap - o, "{address: 10.99.%d.%d}, ", (3 * i + k) / 250,
				      (3 * i + k) % 250 + 1);
		o += snprintf(y + o, cap - o, "%s]}\n", i == changed ? "{address: 10.98.0.1}" : "");
	}
	return y;
}

static int big_parse(int n, int changed, struct flb_config *cfg)
{
	char *y = big_yaml(n, changed), err[256];
	int rc = config_parse("big.yaml", y, strlen(y), cfg, err, sizeof(err));

	if (rc)
		fprintf(stderr, "bench_cp: %s\n", err);
	free(y);
	return rc;
}

/* ms of one reconciler_apply(r, cfg); < 0 on failure. */
static double big_apply(struct reconciler *r, const struct flb_config *cfg, uint32_t *built)
{
	struct reconcile_report rep;
	uint64_t t0 = now_ns();
	int rc = reconciler_apply(r, cfg, &rep);

	*built = rep.tables_built;
	return rc ? -1 : (now_ns() - t0) / 1e6;
}

/* Reconcile of the largest configuration (parsing not included), each step
 * against the baseline of the same run: a fresh reconciler (a restart, or
 * a planner without a cache) applying the same 1024 services, which builds
 * and swaps every table. */
static void bench_big(struct flb_maps *m)
{
	enum { GROW, SAME, ONE, HEALTH, SHRINK, FULL, NSTEP };
	static const char *const label[NSTEP] = {
		[GROW] = "2 -> 1024 services (1022 new VIPs)",
		[SAME] = "1024 -> 1024, nothing changed",
		[ONE] = "1024, one service gains a backend",
		[HEALTH] = "1024, one backend's health check fails",
		[SHRINK] = "1024 -> 2 services (1022 VIPs removed)",
		[FULL] = "baseline: fresh reconciler, 1024 services",
	};
	double t[NSTEP][BIG_ROUNDS];
	uint32_t built[NSTEP] = {};
	struct flb_config small = {}, big = {}, one = {};
	int rounds = 0;

	if (big_parse(2, -1, &small) || big_parse(BIG_SVCS, -1, &big) ||
	    big_parse(BIG_SVCS, 5, &one))
		goto out;
	for (int k = 0; k < BIG_ROUNDS; k++, rounds++) {
		struct reconciler *r = reconciler_new(m, NULL), *fresh;
		bool ok;

		if (!r)
			break;
		ok = big_apply(r, &small, &built[GROW]) >= 0;
		t[GROW][k] = big_apply(r, &big, &built[GROW]);
		t[SAME][k] = big_apply(r, &big, &built[SAME]);
		t[ONE][k] = big_apply(r, &one, &built[ONE]);
		one.services[7].backends[1].check_down = true;
		t[HEALTH][k] = big_apply(r, &one, &built[HEALTH]);
		one.services[7].backends[1].check_down = false;
		fresh = reconciler_new(m, NULL);
		t[FULL][k] = fresh ? big_apply(fresh, &big, &built[FULL]) : -1;
		reconciler_free(fresh);
		t[SHRINK][k] = big_apply(r, &small, &built[SHRINK]);
		reconciler_free(r);
		for (int s = 0; s < NSTEP; s++)
			ok &= t[s][k] >= 0;
		if (!ok) {
			printf("1024-service reconcile: n/a (an apply failed)\n\n");
			goto out;
		}
	}
	printf("### Reconcile of the largest configuration (%d services of 3 backends, table_size auto; %d rounds)\n\n",
	       BIG_SVCS, rounds);
	printf("| step | tables built | min ms | median ms | median / baseline median |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (int s = 0; s < NSTEP; s++)
		printf("| %s | %u | %.1f | %.1f | %.3f |\n", label[s], built[s],
		       stat_min(t[s], rounds), stat_median(t[s], rounds),
		       stat_median(t[s], rounds) / stat_median(t[FULL], rounds));
	printf("\n");
out:
	config_free(&small);
	config_free(&big);
	config_free(&one);
}

/* bytes_memlock (and max_entries) of map `id` as bpftool reports them. */
static int bpftool_memlock(uint32_t id, unsigned long long *bytes, unsigned long long *entries)
{
	char cmd[128], out[4096], *p;
	size_t n;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "bpftool map show id %u -j 2>/dev/null", id);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	n = fread(out, 1, sizeof(out) - 1, f);
	pclose(f);
	out[n] = 0;
	p = strstr(out, "\"bytes_memlock\":");
	if (!p)
		return -ENOENT;
	*bytes = strtoull(p + 16, NULL, 10);
	p = strstr(out, "\"max_entries\":");
	*entries = p ? strtoull(p + 14, NULL, 10) : 0;
	return 0;
}

static uint32_t map_id(int fd)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

static long slab_objsize(const char *name)
{
	char line[512], n[64];
	long active, num, objsize = -1;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %ld %ld %ld", n, &active, &num, &objsize) == 4 &&
		    !strcmp(n, name))
			break;
		else
			objsize = -1;
	fclose(f);
	return objsize;
}

static void bench_memory(struct flb_maps *m)
{
	struct bpf_object *obj = maps_object(m);
	unsigned long long bytes, entries, total = 0, ring = 0, ct = 0, ct_entries = 0;
	unsigned long long vstats = 0, vips = 0;
	struct bpf_map *map;
	uint32_t zero = 0, inner_id = 0;
	int rings_fd = bpf_object__find_map_fd_by_name(obj, "flb_rings");
	long ctsz = slab_objsize("nf_conntrack");

	printf("### Memory of the maps (bytes_memlock from `bpftool map show -j`)\n\n");
	printf("| map | max entries | bytes |\n|---|---:|---:|\n");
	bpf_object__for_each_map(map, obj) {
		const char *name = bpf_map__name(map);

		if (bpftool_memlock(map_id(bpf_map__fd(map)), &bytes, &entries))
			continue;
		total += bytes;
		if (!strcmp(name, "flb_conntrack")) {
			ct = bytes;
			ct_entries = entries;
		} else if (!strcmp(name, "flb_vip_stats")) {
			vstats = bytes;
		} else if (!strcmp(name, "flb_vips")) {
			vips = bytes;
		}
		printf("| %s | %llu | %llu |\n", name, entries, bytes);
	}
	if (rings_fd >= 0 && !bpf_map_lookup_elem(rings_fd, &zero, &inner_id) &&
	    !bpftool_memlock(inner_id, &ring, &entries)) {
		printf("| flb_ring (inner table of VIP 0, M = %d) | %llu | %llu |\n", M, entries, ring);
		total += ring;
	}
	printf("| total (1 VIP) | | %llu |\n\n", total);

	printf("| per unit | fluxlb bytes | baseline | baseline bytes | fluxlb / baseline |\n");
	printf("|---|---:|---|---:|---:|\n");
	printf("| per VIP (Maglev table M = %d + its share of flb_vips, flb_vip_stats) | %llu | - | - | - |\n",
	       M, ring + vips / FLB_MAX_VIPS + vstats / FLB_MAX_VIPS);
	if (ct_entries) {
		double per = (double)ct / ct_entries;

		if (ctsz > 0)
			printf("| per million flows (conntrack %.1f B/entry x 1e6, scaled) | %.0f | iptables DNAT: nf_conntrack slab object (%ld B) x 1e6 | %ld | %.2f |\n\n",
			       per, per * 1e6, ctsz, ctsz * 1000000L, per * 1e6 / (ctsz * 1e6));
		else
			printf("| per million flows (conntrack %.1f B/entry x 1e6, scaled) | %.0f | nf_conntrack slab: n/a | - | - |\n\n",
			       per, per * 1e6);
	}
	printf("Array maps round each value up to 8 bytes, so a Maglev table of 4-byte ids costs 8 B per slot (%d slots: %llu B). ",
	       M + 1, ring);
	printf("The conntrack LRU holds %d entries and is preallocated: its memory is the same empty or full, and a million flows cannot be inserted, so the per-million figure is bytes per entry scaled. The kernel's figure leaves out the conntrack hash buckets (8 B per bucket).\n\n",
	       FLB_CT_SIZE);
}

int main(int argc, char **argv)
{
	int rounds = 21, opt;
	struct flb_maps *m;

	while ((opt = getopt(argc, argv, "r:")) != -1)
		if (opt == 'r')
			rounds = atoi(optarg);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 21;
	bench_maglev(rounds);
	if (geteuid()) {
		printf("Config change and memory: n/a (need root to load the balancer)\n");
		return 0;
	}
	log_setup(LOG_ERROR, false);
	log_route_libs();
	m = maps_open(NULL);
	if (!m) {
		fprintf(stderr, "bench_cp: cannot load the balancer: %s\n", strerror(errno));
		return 1;
	}
	bench_reconcile(m);
	bench_big(m);
	bench_memory(m);
	maps_close(m);
	return 0;
}
