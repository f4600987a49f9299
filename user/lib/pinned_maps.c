// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Map writer (see pinned_maps.h). Wraps the balancer skeleton. Every write is a
 * single bpf_map_update_elem, so the datapath never sees half an entry.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "balancer.skel.h"
#include "log.h"
#include "pinned_maps.h"

/* One fd per map, from the skeleton (daemon, tests) or from the pins (CLI). */
struct flb_maps {
	struct balancer *skel; /* NULL when opened from pins */
#define MAP_FD_FIELD(name) int name;
	FLB_MAP_NAMES(MAP_FD_FIELD)
#undef MAP_FD_FIELD
};

static int mkdir_p(const char *path)
{
	char tmp[512];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

struct flb_maps *maps_open(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir);
	struct flb_maps *m;
	struct bpf_map *map;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (pin_dir) {
		err = mkdir_p(pin_dir);
		if (err) {
			log_error("cannot create pin folder", "path=%s err=\"%s\"", pin_dir,
				  strerror(-err));
			goto fail;
		}
	}
	m->skel = balancer__open_opts(&opts);
	if (!m->skel) {
		err = -errno;
		log_error("cannot open balancer object", "err=\"%s\"", strerror(-err));
		goto fail;
	}
	if (!pin_dir) {
		bpf_object__for_each_map(map, m->skel->obj)
			bpf_map__set_pin_path(map, NULL);
	}
	err = balancer__load(m->skel);
	if (err) {
		log_error("cannot load balancer object (verifier log above at debug level)",
			  "err=\"%s\" pin_dir=%s", strerror(-err), pin_dir ? pin_dir : "none");
		goto fail;
	}
#define MAP_FD_FROM_SKEL(name) m->name = bpf_map__fd(m->skel->maps.name);
	FLB_MAP_NAMES(MAP_FD_FROM_SKEL)
#undef MAP_FD_FROM_SKEL
	return m;
fail:
	maps_close(m);
	errno = -err;
	return NULL;
}

struct flb_maps *maps_open_pinned(const char *pin_dir)
{
	struct flb_maps *m = calloc(1, sizeof(*m));
	char path[512];
	int err = 0;

	if (!m)
		return NULL;
#define MAP_FD_FROM_PIN(name)                                                  \
	if (!err) {                                                            \
		snprintf(path, sizeof(path), "%s/%s", pin_dir, #name);         \
		m->name = bpf_obj_get(path);                                   \
		if (m->name < 0)                                               \
			err = -errno;                                          \
	} else {                                                               \
		m->name = -1;                                                  \
	}
	FLB_MAP_NAMES(MAP_FD_FROM_PIN)
#undef MAP_FD_FROM_PIN
	if (err) {
		maps_close(m);
		errno = -err;
		return NULL;
	}
	return m;
}

void maps_close(struct flb_maps *m)
{
	if (!m)
		return;
	if (m->skel) {
		balancer__destroy(m->skel);
	} else {
#define MAP_FD_CLOSE(name) if (m->name >= 0) close(m->name);
		FLB_MAP_NAMES(MAP_FD_CLOSE)
#undef MAP_FD_CLOSE
	}
	free(m);
}

int maps_prog_fd(const struct flb_maps *m)
{
	return m->skel ? bpf_program__fd(m->skel->progs.balancer) : -EBADF;
}

struct bpf_object *maps_object(const struct flb_maps *m)
{
	return m->skel ? m->skel->obj : NULL;
}

static int update(int fd, const void *key, const void *val)
{
	return bpf_map_update_elem(fd, key, val, BPF_ANY) ? -errno : 0;
}

static int lookup(int fd, const void *key, void *val)
{
	return bpf_map_lookup_elem(fd, key, val) ? -errno : 0;
}

int maps_get_ctl(const struct flb_maps *m, struct flb_ctl *ctl)
{
	__u32 zero = 0;

	return lookup(m->flb_ctl, &zero, ctl);
}

int maps_set_ctl(struct flb_maps *m, const struct flb_ctl *ctl)
{
	__u32 zero = 0;

	return update(m->flb_ctl, &zero, ctl);
}

int maps_get_backend(const struct flb_maps *m, uint32_t id, struct flb_backend *be)
{
	return lookup(m->flb_backends, &id, be);
}

int maps_set_backend(struct flb_maps *m, uint32_t id, const struct flb_backend *be)
{
	if (!id || id >= FLB_MAX_BACKENDS)
		return -ERANGE;
	return update(m->flb_backends, &id, be);
}

int maps_set_vip(struct flb_maps *m, const struct flb_vip_key *key, const struct flb_vip *vip)
{
	return update(m->flb_vips, key, vip);
}

int maps_del_vip(struct flb_maps *m, const struct flb_vip_key *key)
{
	if (bpf_map_delete_elem(m->flb_vips, key) && errno != ENOENT)
		return -errno;
	return 0;
}

int maps_set_vip_addr(struct flb_maps *m, const struct flb_vip_addr *a, uint32_t vip_id)
{
	return update(m->flb_vip_addrs, a, &vip_id);
}

int maps_prune_vip_addrs(struct flb_maps *m, const uint32_t *keep, size_t n_keep)
{
	enum { BATCH = 256 };
	struct flb_vip_addr keys[BATCH], in_batch, out_batch;
	uint32_t ids[BATCH];
	bool kept[FLB_MAX_VIPS] = {}, first = true;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct flb_vip_addr *gone = NULL;
	size_t n_gone = 0, cap = 0;
	int err = 0;

	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] < FLB_MAX_VIPS)
			kept[keep[i]] = true;
	/* Read the whole map first, delete after: a delete during a walk of a
	 * hash map may restart or skip the walk. */
	for (;;) {
		__u32 count = BATCH;
		int rc = bpf_map_lookup_batch(m->flb_vip_addrs, first ? NULL : &in_batch, &out_batch,
					      keys, ids, &count, &opts);

		if (rc && errno != ENOENT) {
			err = -errno;
			goto out;
		}
		for (__u32 i = 0; i < count; i++) {
			if (ids[i] < FLB_MAX_VIPS && kept[ids[i]])
				continue;
			if (n_gone == cap) {
				struct flb_vip_addr *g;

				cap = cap ? 2 * cap : 64;
				g = realloc(gone, cap * sizeof(*gone));
				if (!g) {
					err = -ENOMEM;
					goto out;
				}
				gone = g;
			}
			gone[n_gone++] = keys[i];
		}
		if (rc) /* ENOENT: that was the last batch */
			break;
		in_batch = out_batch;
		first = false;
	}
	for (size_t i = 0; i < n_gone; i++)
		if (bpf_map_delete_elem(m->flb_vip_addrs, &gone[i]) && errno != ENOENT) {
			err = -errno;
			break;
		}
out:
	free(gone);
	return err;
}

int maps_list_vips(const struct flb_maps *m, struct flb_vip_key *keys, struct flb_vip *vips,
		   size_t max)
{
	int fd = m->flb_vips;
	struct flb_vip_key k, next;
	size_t n = 0;
	void *prev = NULL;

	while (n < max && !bpf_map_get_next_key(fd, prev, &next)) {
		if (!bpf_map_lookup_elem(fd, &next, &vips[n]))
			keys[n++] = next;
		k = next;
		prev = &k;
	}
	return n;
}

static int ring_fd(const uint32_t *ids, uint32_t size);

int maps_set_ring(struct flb_maps *m, uint32_t vip_id, const uint32_t *ids, uint32_t size)
{
	int fd, err = 0;

	if (vip_id >= FLB_MAX_VIPS || !size)
		return -ERANGE;
	fd = ring_fd(ids, size);
	if (fd < 0)
		return fd;
	/* The swap: one pointer update in the array-of-maps. */
	if (bpf_map_update_elem(m->flb_rings, &vip_id, &fd, BPF_ANY))
		err = -errno;
	close(fd); /* the outer map holds its own reference */
	return err;
}

int maps_del_ring(struct flb_maps *m, uint32_t vip_id)
{
	if (bpf_map_delete_elem(m->flb_rings, &vip_id) && errno != ENOENT)
		return -errno;
	return 0;
}

/* A new inner table [size, ids[0..size)], not yet swapped in: its fd. */
static int ring_fd(const uint32_t *ids, uint32_t size)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_INNER_MAP);
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t *keys = NULL, *vals = NULL, count = size + 1;
	int fd, err = 0;

	if (!size)
		return -ERANGE;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "flb_ring", 4, 4, size + 1, &opts);
	if (fd < 0)
		return -errno;
	keys = malloc(count * sizeof(*keys));
	vals = malloc(count * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++)
		keys[i] = i;
	vals[0] = size;
	memcpy(vals + 1, ids, size * sizeof(*ids));
	/* One syscall for the whole table: 65537 single updates take ~30 ms. */
	if (bpf_map_update_batch(fd, keys, vals, &count, &bopts))
		err = -errno;
out:
	free(keys);
	free(vals);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int maps_set_rings(struct flb_maps *m, size_t n, const uint32_t *vip_ids,
		   const uint32_t *const *ids, const uint32_t *sizes, size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	uint32_t *keys = calloc(n + 1, sizeof(*keys));
	int *fds = calloc(n + 1, sizeof(*fds));
	size_t built = 0;
	__u32 count;
	int err = 0;

	*done = 0;
	if (!keys || !fds) {
		err = -ENOMEM;
		goto out;
	}
	for (; built < n; built++) {
		if (vip_ids[built] >= FLB_MAX_VIPS) {
			err = -ERANGE;
			break;
		}
		fds[built] = ring_fd(ids[built], sizes[built]);
		if (fds[built] < 0) {
			err = fds[built];
			break;
		}
		keys[built] = vip_ids[built];
	}
	/* Those built before a failure go in: they come first in the order. */
	count = built;
	if (count && bpf_map_update_batch(m->flb_rings, keys, fds, &count, &bopts) && !err)
		err = -errno;
	*done = count;
out:
	for (size_t i = 0; i < built; i++)
		close(fds[i]); /* the outer map holds its own reference */
	free(keys);
	free(fds);
	return err;
}

struct del_rings {
	int fd;
	const uint32_t *vip_ids;
	size_t n, stride, first;
	size_t failed_at; /* lowest index that failed; n: none */
	int err;
};

static void *del_rings_worker(void *arg)
{
	struct del_rings *d = arg;

	for (size_t i = d->first; i < d->n; i += d->stride)
		if (bpf_map_delete_elem(d->fd, &d->vip_ids[i]) && errno != ENOENT) {
			d->failed_at = i;
			d->err = -errno;
			break;
		}
	return NULL;
}

int maps_del_rings(struct flb_maps *m, size_t n, const uint32_t *vip_ids, size_t *done)
{
	enum { THREADS = 16, PER_THREAD = 8 };
	struct del_rings w[THREADS];
	pthread_t th[THREADS];
	bool started[THREADS] = {};
	size_t k = (n + PER_THREAD - 1) / PER_THREAD;
	int err = 0;

	k = k < 1 ? 1 : k > THREADS ? THREADS : k;
	for (size_t t = 0; t < k; t++) {
		w[t] = (struct del_rings){ .fd = m->flb_rings, .vip_ids = vip_ids, .n = n,
					   .stride = k, .first = t, .failed_at = n };
		/* Share 0 runs here, and any share whose thread did not start. */
		started[t] = t && !pthread_create(&th[t], NULL, del_rings_worker, &w[t]);
	}
	del_rings_worker(&w[0]);
	for (size_t t = 1; t < k; t++) {
		if (started[t])
			pthread_join(th[t], NULL);
		else
			del_rings_worker(&w[t]);
	}
	*done = n;
	for (size_t t = 0; t < k; t++)
		if (w[t].failed_at < *done) {
			*done = w[t].failed_at;
			err = w[t].err;
		}
	return err;
}

/* Slots 1..n of an inner table into ids: in batches (65537 single lookups
 * take tens of ms), one element at a time where batches are refused. */
static int ring_read(int fd, uint32_t *ids, uint32_t n)
{
	uint32_t *keys = malloc((n + 1) * sizeof(*keys)), *vals = malloc((n + 1) * sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 got = 0, token = 0, cnt;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (got < n + 1) {
		int r;

		cnt = n + 1 - got;
		r = bpf_map_lookup_batch(fd, got ? &token : NULL, &token, keys + got, vals + got,
					 &cnt, &bopts);
		if (r && errno != ENOENT)
			break;
		got += cnt;
		if (r || !cnt)
			break;
	}
	if (got >= n + 1) {
		memcpy(ids, vals + 1, n * sizeof(*ids));
		goto out;
	}
	for (__u32 i = 0; i < n; i++) {
		__u32 k = i + 1;

		if (bpf_map_lookup_elem(fd, &k, &ids[i])) {
			err = -errno;
			break;
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

/* Opens the table of vip_id and reads its size M (slot 0), checked against
 * the inner map's own size. Returns 0 with *fd open, or -errno. */
static int ring_open(const struct flb_maps *m, uint32_t vip_id, int *fd, uint32_t *size)
{
	struct bpf_map_info info = {};
	__u32 inner_id, info_len = sizeof(info), zero = 0, n;
	int err;

	if (lookup(m->flb_rings, &vip_id, &inner_id))
		return -ENOENT;
	*fd = bpf_map_get_fd_by_id(inner_id);
	if (*fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(*fd, &info, &info_len) || bpf_map_lookup_elem(*fd, &zero, &n)) {
		err = -errno;
		goto fail;
	}
	/* Never trust a size read back from the kernel more than the map's own. */
	if (!n || n + 1 > info.max_entries) {
		err = -EBADMSG;
		goto fail;
	}
	*size = n;
	return 0;
fail:
	close(*fd);
	return err;
}

int maps_get_ring_size(const struct flb_maps *m, uint32_t vip_id, uint32_t *size)
{
	int fd, err = ring_open(m, vip_id, &fd, size);

	if (!err)
		close(fd);
	return err;
}

int maps_get_ring(const struct flb_maps *m, uint32_t vip_id, uint32_t **ids, uint32_t *size)
{
	uint32_t n;
	int fd, err;

	*ids = NULL;
	*size = 0;
	err = ring_open(m, vip_id, &fd, &n);
	if (err)
		return err;
	*ids = malloc(n * sizeof(**ids));
	if (!*ids) {
		err = -ENOMEM;
		goto out;
	}
	err = ring_read(fd, *ids, n);
	if (err) {
		free(*ids);
		*ids = NULL;
		goto out;
	}
	*size = n;
out:
	close(fd);
	return err;
}

int percpu_sum(int fd, uint32_t key, uint64_t *out, size_t n_u64)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpu, n_u64 * sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		int err = -errno;

		free(vals);
		return err;
	}
	memset(out, 0, n_u64 * sizeof(*out));
	for (int c = 0; c < ncpu; c++)
		for (size_t f = 0; f < n_u64; f++)
			out[f] += vals[(size_t)c * n_u64 + f];
	free(vals);
	return 0;
}

static int read_counters(int fd, uint64_t *out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		int err = percpu_sum(fd, i, &out[i], 1);

		if (err)
			return err;
	}
	return 0;
}

int maps_read_reasons(const struct flb_maps *m, uint64_t out[FLB_R_MAX])
{
	return read_counters(m->flb_reasons, out, FLB_R_MAX);
}

int maps_read_events(const struct flb_maps *m, uint64_t out[FLB_E_MAX])
{
	return read_counters(m->flb_events, out, FLB_E_MAX);
}

int maps_read_flood(const struct flb_maps *m, uint64_t now_ns, uint32_t *cpus_in_flood,
		    uint64_t *window_new_flows)
{
	int ncpu = libbpf_num_possible_cpus();
	struct flb_flood *v;
	uint32_t zero = 0;

	*cpus_in_flood = 0;
	*window_new_flows = 0;
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->flb_flood, &zero, v)) {
		int err = -errno;

		free(v);
		return err;
	}
	for (int c = 0; c < ncpu; c++) {
		uint64_t age = now_ns - v[c].window;

		if (v[c].mode && age < 2000000000ULL)
			(*cpus_in_flood)++;
		if (age < 1000000000ULL)
			*window_new_flows += v[c].new_flows;
	}
	free(v);
	return 0;
}

int maps_read_vip_stats(const struct flb_maps *m, uint32_t vip_id, struct flb_traffic *out)
{
	return percpu_sum(m->flb_vip_stats, vip_id, (uint64_t *)out, 3);
}

int maps_read_be_stats(const struct flb_maps *m, uint32_t id, struct flb_traffic *out)
{
	return percpu_sum(m->flb_be_stats, id, (uint64_t *)out, 3);
}

int maps_ct_scan(const struct flb_maps *m, ct_visit_fn fn, void *ctx)
{
	enum { BATCH = 4096 };
	struct flb_flow *keys = malloc(BATCH * sizeof(*keys));
	struct flb_ct *vals = malloc(BATCH * sizeof(*vals));
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct flb_flow in_batch, out_batch;
	bool first = true;
	int err = 0;

	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		__u32 count = BATCH;
		int rc = bpf_map_lookup_batch(m->flb_conntrack, first ? NULL : &in_batch, &out_batch,
					      keys, vals, &count, &opts);

		if (rc && errno != ENOENT) {
			err = -errno;
			break;
		}
		for (__u32 i = 0; i < count; i++)
			fn(&keys[i], &vals[i], ctx);
		if (rc) /* ENOENT: that was the last batch */
			break;
		in_batch = out_batch;
		first = false;
	}
out:
	free(keys);
	free(vals);
	return err;
}

int maps_ct_lookup(const struct flb_maps *m, const struct flb_flow *flow, struct flb_ct *ct)
{
	return lookup(m->flb_conntrack, flow, ct);
}
