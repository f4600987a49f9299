// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_walk.h"

int map_walk(int fd, size_t key_size, size_t val_size, unsigned batch, map_visit_fn visit,
	     void *arg)
{
	/* The batch token: a hash map's bucket index (4 bytes); room for more. */
	unsigned char in_batch[64], out_batch[64];
	unsigned char *keys = malloc(batch * key_size), *vals = malloc(batch * val_size);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!err) {
		__u32 count = batch;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : in_batch, out_batch, keys, vals,
					      &count, &opts);

		if (rc && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 i = 0; i < count && !err; i++)
			err = visit(keys + i * key_size, vals + i * val_size, arg);
		if (rc) /* ENOENT: that was the last batch */
			break;
		memcpy(in_batch, out_batch, sizeof(in_batch));
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

struct gone {
	map_keep_fn keep;
	void *arg;
	size_t key_size, n, cap;
	unsigned char *keys;
};

/* Collects the keys keep() does not keep. */
static int collect(const void *key, const void *val, void *arg)
{
	struct gone *g = arg;

	if (g->keep(key, val, g->arg))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		unsigned char *k = realloc(g->keys, cap * g->key_size);

		if (!k)
			return -ENOMEM;
		g->keys = k;
		g->cap = cap;
	}
	memcpy(g->keys + g->n++ * g->key_size, key, g->key_size);
	return 0;
}

int map_prune(int fd, size_t key_size, size_t val_size, map_keep_fn keep, void *arg)
{
	struct gone g = { .keep = keep, .arg = arg, .key_size = key_size };
	int err = map_walk(fd, key_size, val_size, 256, collect, &g);

	for (size_t i = 0; !err && i < g.n; i++)
		if (bpf_map_delete_elem(fd, g.keys + i * key_size) && errno != ENOENT)
			err = -errno;
	free(g.keys);
	return err;
}
