// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "map_prune.h"

enum { BATCH = 256, TOKEN = 64 };

/* Appends key to the growing array *gone of *n keys (*cap allocated). */
static int gone_append(unsigned char **gone, size_t *n, size_t *cap, const void *key,
		       size_t key_size)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 64;
		unsigned char *g = realloc(*gone, c * key_size);

		if (!g)
			return -ENOMEM;
		*gone = g;
		*cap = c;
	}
	memcpy(*gone + (*n)++ * key_size, key, key_size);
	return 0;
}

int map_prune(int fd, size_t key_size, size_t val_size, map_keep_fn keep, void *arg)
{
	unsigned char in_batch[TOKEN], out_batch[TOKEN], *gone = NULL;
	unsigned char *keys = malloc(BATCH * key_size), *vals = malloc(BATCH * val_size);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	size_t n_gone = 0, cap = 0;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH;
		int rc = bpf_map_lookup_batch(fd, first ? NULL : in_batch, out_batch, keys, vals,
					      &count, &opts);

		if (rc && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		for (__u32 i = 0; i < count && !err; i++)
			if (!keep(keys + i * key_size, vals + i * val_size, arg))
				err = gone_append(&gone, &n_gone, &cap, keys + i * key_size,
						  key_size);
		if (err)
			goto out;
		if (rc) /* ENOENT: that was the last batch */
			break;
		memcpy(in_batch, out_batch, sizeof(in_batch));
		first = false;
	}
	for (size_t i = 0; i < n_gone; i++)
		if (bpf_map_delete_elem(fd, gone + i * key_size) && errno != ENOENT && !err)
			err = -errno;
out:
	free(keys);
	free(vals);
	free(gone);
	return err;
}
