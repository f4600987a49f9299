// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * maps_fill() (the exporter's fluxlb_map_entries) on the real, unpinned
 * conntrack and fragment tables: empty, partly filled, and full to
 * FLB_CT_SIZE entries, counts exact and capacity the map's max_entries.
 * It also prints how long counting the full table took (one run, timing
 * noise of this VM applies; docs/observability.md quotes it as an order of
 * magnitude only). Not covered: counting while the datapath inserts.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "flb_test.h"
#include "log.h"
#include "pinned_maps.h"

static struct flb_maps *maps;
static int ct_fd;

int flb_test_setup(char *why, size_t len)
{
	if (geteuid()) {
		snprintf(why, len, "needs root (BPF)");
		return 1;
	}
	log_setup(LOG_ERROR, false);
	log_route_libs();
	maps = maps_open(NULL);
	if (!maps) {
		snprintf(why, len, "cannot load the balancer");
		return -1;
	}
	ct_fd = bpf_object__find_map_fd_by_name(maps_object(maps), "flb_conntrack");
	return ct_fd < 0 ? -1 : 0;
}

/* Inserts entries [from, to) with distinct source ports and addresses. */
static int insert(uint32_t from, uint32_t to)
{
	enum { BATCH = 8192 };
	struct flb_flow *k = calloc(BATCH, sizeof(*k));
	struct flb_ct *v = calloc(BATCH, sizeof(*v));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err = 0;

	if (!k || !v) {
		err = -1;
		goto out;
	}
	while (from < to) {
		__u32 n = to - from < BATCH ? to - from : BATCH;

		for (__u32 i = 0; i < n; i++) {
			memset(&k[i], 0, sizeof(k[i]));
			k[i].family = FLB_AF_INET;
			k[i].proto = 6;
			k[i].src[0] = htonl(0x0a000000 | (from + i) >> 16);
			k[i].sport = htons((from + i) & 0xffff);
			k[i].dst[0] = htonl(0x0a640001);
			k[i].dport = htons(80);
			v[i] = (struct flb_ct){ .backend = 1, .last_seen = 1 };
		}
		if (bpf_map_update_batch(ct_fd, k, v, &n, &opts)) {
			err = -1;
			break;
		}
		from += n;
	}
out:
	free(k);
	free(v);
	return err;
}

TEST(empty_tables)
{
	uint64_t n = 1;
	uint32_t cap = 0;

	ASSERT_OK(maps_fill(maps, MAPS_FILL_CONNTRACK, &n, &cap), "count");
	ASSERT_EQ(n, 0, "no entries");
	ASSERT_EQ(cap, FLB_CT_SIZE, "capacity");
	ASSERT_OK(maps_fill(maps, MAPS_FILL_FRAGS, &n, &cap), "frags");
	ASSERT_EQ(cap, FLB_FRAG_SIZE, "frag capacity");
}

TEST(partly_then_completely_full)
{
	uint64_t n = 0, t0;
	uint32_t cap = 0;

	if (!ASSERT_OK(insert(0, 12345), "insert"))
		return;
	ASSERT_OK(maps_fill(maps, MAPS_FILL_CONNTRACK, &n, &cap), "count");
	ASSERT_EQ(n, 12345, "12345 entries");
	if (!ASSERT_OK(insert(12345, FLB_CT_SIZE), "fill"))
		return;
	t0 = clock_ns();
	ASSERT_OK(maps_fill(maps, MAPS_FILL_CONNTRACK, &n, &cap), "count full");
	printf("  counting %llu conntrack entries took %.1f ms\n", (unsigned long long)n,
	       (double)(clock_ns() - t0) / 1e6);
	/* An LRU map may evict a little before max_entries (per-CPU free lists). */
	ASSERT_GE(n, FLB_CT_SIZE * 9 / 10, "nearly all entries counted");
	ASSERT_LE(n, FLB_CT_SIZE, "never above capacity");
}
