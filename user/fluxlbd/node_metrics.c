// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The node role's counters and table fill from its pins (see node_metrics.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "flb_abi.h"
#include "node_metrics.h"
#include "pinned_maps.h"

static int open_pin(const char *pin_dir, const char *name)
{
	char path[512];
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int node_metrics_reasons(const char *pin_dir, uint64_t reasons[FLB_R_MAX])
{
	static const char *const maps[] = { "flb_dcp_reasons", "flb_rnat_counts" };

	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		int fd = open_pin(pin_dir, maps[i]);

		if (fd < 0)
			return fd;
		for (uint32_t r = 0; r < FLB_R_MAX; r++) {
			uint64_t v = 0;

			if (!percpu_sum(fd, r, &v, 1))
				reasons[r] += v;
		}
		close(fd);
	}
	return 0;
}

/* Entries (a key walk; sizes from the kernel) and max_entries of a pin. */
static int count(const char *pin_dir, const char *name, struct metrics_fill *f)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	void *k = NULL, *next = NULL;
	int fd = open_pin(pin_dir, name), err = 0;

	f->map = name;
	f->entries = 0;
	if (fd < 0)
		return fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !info.key_size || info.key_size > 256) {
		err = -EINVAL;
		goto out;
	}
	f->capacity = info.max_entries;
	k = malloc(info.key_size);
	next = malloc(info.key_size);
	if (!k || !next) {
		err = -ENOMEM;
		goto out;
	}
	for (void *prev = NULL; !bpf_map_get_next_key(fd, prev, next) && f->entries < info.max_entries;
	     prev = k) {
		void *t = k;

		k = next;
		next = t;
		f->entries++;
	}
out:
	free(k);
	free(next);
	close(fd);
	return err;
}

size_t node_metrics_fill(const char *pin_dir, struct metrics_fill fill[2])
{
	if (count(pin_dir, "flb_node_nat", &fill[0]) || count(pin_dir, "flb_node_flows", &fill[1]))
		return 0;
	return 2;
}
