// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Previous tables for second chance (see pinned_chance.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "flb_abi.h"
#include "log.h"
#include "pinned_chance.h"

/* bpf_ktime_get_coarse_ns()'s clock. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Whether the table behind fd is [size, ids[0..size)]. */
static bool same_table(int fd, const uint32_t *ids, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t zero = 0, m, *keys = NULL, *vals = NULL, count = size + 1, out;
	bool same = false;

	if (bpf_map_lookup_elem(fd, &zero, &m) || m != size)
		return false;
	keys = malloc(count * sizeof(*keys));
	vals = malloc(count * sizeof(*vals));
	if (keys && vals && !bpf_map_lookup_batch(fd, NULL, &out, keys, vals, &count, &opts) &&
	    count == size + 1)
		same = !memcmp(vals + 1, ids, size * sizeof(*ids));
	else if (keys && vals && errno == ENOENT && count == size + 1) /* the last batch */
		same = !memcmp(vals + 1, ids, size * sizeof(*ids));
	free(keys);
	free(vals);
	return same;
}

static void set_expiry(int chance_fd, uint32_t vip_id, uint64_t expires, uint32_t window_s)
{
	struct flb_chance c = { .expires = expires, .window_s = window_s };

	if (bpf_map_update_elem(chance_fd, &vip_id, &c, BPF_ANY))
		log_warn("cannot set a second-chance window", "vip_id=%u err=\"%s\"", vip_id,
			 strerror(errno));
}

void chance_forget(int prev_fd, int chance_fd, size_t n, const uint32_t *vip_ids)
{
	for (size_t i = 0; i < n; i++) {
		if (vip_ids[i] >= FLB_MAX_VIPS)
			continue;
		uint32_t inner;

		set_expiry(chance_fd, vip_ids[i], 0, 0);
		/* Looked up first: a delete waits for a grace period. */
		if (bpf_map_lookup_elem(prev_fd, &vip_ids[i], &inner))
			continue;
		if (bpf_map_delete_elem(prev_fd, &vip_ids[i]) && errno != ENOENT)
			log_warn("cannot remove a previous table", "vip_id=%u err=\"%s\"",
				 vip_ids[i], strerror(errno));
	}
}

void chance_forget_all(int chance_fd)
{
	struct flb_chance c;

	for (uint32_t id = 0; id < FLB_MAX_VIPS; id++)
		if (!bpf_map_lookup_elem(chance_fd, &id, &c) && c.expires)
			set_expiry(chance_fd, id, 0, 0);
}

void chance_keep(int prev_fd, int chance_fd, uint32_t window_s, size_t n, const uint32_t *vip_ids,
		 const int *old, const uint32_t *const *ids, const uint32_t *sizes)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t *keys = calloc(n + 1, sizeof(*keys));
	int *fds = calloc(n + 1, sizeof(*fds));
	uint64_t expires = mono_ns() + (uint64_t)window_s * 1000000000ULL;
	uint32_t count = 0;

	if (!keys || !fds) {
		log_warn("second chance: no memory to keep previous tables", "vips=%zu", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (vip_ids[i] >= FLB_MAX_VIPS)
			continue;
		if (!window_s || old[i] < 0) {
			chance_forget(prev_fd, chance_fd, 1, &vip_ids[i]);
			continue;
		}
		if (same_table(old[i], ids[i], sizes[i]))
			continue; /* not a change: the previous table stays */
		keys[count] = vip_ids[i];
		fds[count++] = old[i];
	}
	/* One batch: every array-of-maps update waits for a grace period. */
	if (count && bpf_map_update_batch(prev_fd, keys, fds, &count, &bopts))
		log_warn("cannot keep previous tables for second chance", "kept=%u err=\"%s\"",
			 count, strerror(errno));
	for (uint32_t i = 0; i < count; i++)
		set_expiry(chance_fd, keys[i], expires, window_s);
out:
	free(keys);
	free(fds);
}
