// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Map writer (see pinned_maps.h). Wraps the balancer skeleton. Every write is a
 * single bpf_map_update_elem, so the datapath never sees half an entry.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "balancer.skel.h"
#include "log.h"
#include "map_walk.h"
#include "pinned_chance.h"
#include "pinned_maps.h"

/* One fd per map, from the skeleton (daemon, tests) or from the pins (CLI). */
struct flb_maps {
	struct balancer *skel; /* NULL when opened from pins */
	char ring_dir[512];    /* <pin_dir>/FLB_RING_PIN_DIR; "": tables not pinned */
	int names;             /* FLB_NAMES_MAP; -1: none */
	uint32_t chance_window_s; /* second chance: keep replaced tables this long; 0 off */
	bool chance_known;     /* chance_window_s was set (the pinned windows are ours) */
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

/* The names map pinned in pin_dir; create: made and pinned when missing or
 * of another layout (the daemon). -1 when there is none. */
static int names_open(const char *pin_dir, bool create)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, FLB_NAMES_MAP);
	fd = bpf_obj_get(path);
	if (fd >= 0 && (bpf_obj_get_info_by_fd(fd, &info, &len) ||
			info.key_size != sizeof(struct maps_name_key) ||
			info.value_size != sizeof(struct maps_name))) {
		close(fd);
		fd = -1;
		if (!create)
			return -1;
		unlink(path);
	}
	if (fd >= 0 || !create)
		return fd;
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, FLB_NAMES_MAP, sizeof(struct maps_name_key),
			    sizeof(struct maps_name), FLB_NAMES_MAX, &opts);
	if (fd < 0 || bpf_obj_pin(fd, path)) {
		log_warn("cannot keep service names for the CLI", "path=%s err=\"%s\"", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
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
	m->names = -1;
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
	if (pin_dir) {
		snprintf(m->ring_dir, sizeof(m->ring_dir), "%s/%s", pin_dir, FLB_RING_PIN_DIR);
		err = mkdir_p(m->ring_dir);
		if (err) {
			log_error("cannot create pin folder", "path=%s err=\"%s\"", m->ring_dir,
				  strerror(-err));
			goto fail;
		}
		maps_sync_ring_pins(m);
		m->names = names_open(pin_dir, true);
	}
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
	snprintf(m->ring_dir, sizeof(m->ring_dir), "%s/%s", pin_dir, FLB_RING_PIN_DIR);
	m->names = names_open(pin_dir, false);
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
	if (m->names >= 0)
		close(m->names);
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

static bool vip_addr_kept(const void *key, const void *val, void *arg)
{
	const uint32_t *id = val;
	const bool *kept = arg;

	(void)key;
	return *id < FLB_MAX_VIPS && kept[*id];
}

int maps_prune_vip_addrs(struct flb_maps *m, const uint32_t *keep, size_t n_keep)
{
	bool kept[FLB_MAX_VIPS] = {};

	for (size_t i = 0; i < n_keep; i++)
		if (keep[i] < FLB_MAX_VIPS)
			kept[keep[i]] = true;
	return map_prune(m->flb_vip_addrs, sizeof(struct flb_vip_addr), sizeof(uint32_t),
			 vip_addr_kept, kept);
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

/* Pins of the inner tables: <ring_dir>/<vip_id>. The kernel opens a map by
 * id only for CAP_SYS_ADMIN, which the DaemonSet does not grant; a pinned
 * path opens with the pod's own capabilities (and file permissions). A pin
 * is written after the swap, by rename over the previous one, so a reader
 * finds the old table or the new one under the name; readers check the
 * pinned table's id against the outer map's (ring_open). Failing to pin
 * costs inspection only: logged, never an apply error. */
static void ring_pin_path(const struct flb_maps *m, uint32_t vip_id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%u", m->ring_dir, vip_id);
}

static void ring_pin(const struct flb_maps *m, uint32_t vip_id, int fd)
{
	char path[560], tmp[576];

	if (!m->skel || !m->ring_dir[0])
		return;
	ring_pin_path(m, vip_id, path, sizeof(path));
	/* bpffs refuses names with a dot. */
	snprintf(tmp, sizeof(tmp), "%s/new_%u", m->ring_dir, vip_id);
	unlink(tmp);
	if (bpf_obj_pin(fd, tmp) || rename(tmp, path)) {
		log_warn("cannot pin a Maglev table; the CLI needs CAP_SYS_ADMIN to read it",
			 "path=%s err=\"%s\"", path, strerror(errno));
		unlink(tmp);
	}
}

static void ring_unpin(const struct flb_maps *m, uint32_t vip_id)
{
	char path[560];

	if (!m->skel || !m->ring_dir[0])
		return;
	ring_pin_path(m, vip_id, path, sizeof(path));
	if (unlink(path) && errno != ENOENT)
		log_warn("cannot remove the pin of a Maglev table", "path=%s err=\"%s\"", path,
			 strerror(errno));
}

/* The id of the map behind fd, or 0. */
static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? 0 : info.id;
}

int maps_sync_ring_pins(struct flb_maps *m)
{
	bool pinned[FLB_MAX_VIPS] = {};
	int unpinnable = 0, gone = 0, added = 0;
	struct dirent *d;
	DIR *dir;

	if (!m->skel || !m->ring_dir[0])
		return 0;
	dir = opendir(m->ring_dir);
	if (!dir)
		return -errno;
	/* Pins that name no table in the outer map, or another one, go. */
	while ((d = readdir(dir))) {
		char *end, path[800];
		unsigned long id = strtoul(d->d_name, &end, 10);
		__u32 inner, vid = (__u32)id;
		int fd;

		if (!strncmp(d->d_name, "new_", 4)) {
			snprintf(path, sizeof(path), "%s/%s", m->ring_dir, d->d_name);
			unlink(path); /* a pin interrupted before its rename */
			continue;
		}
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->ring_dir, d->d_name);
		if (*end || end == d->d_name || id >= FLB_MAX_VIPS ||
		    lookup(m->flb_rings, &vid, &inner)) {
			gone += !unlink(path);
			continue;
		}
		fd = bpf_obj_get(path);
		if (fd >= 0 && map_id(fd) == inner)
			pinned[id] = true;
		else
			gone += !unlink(path);
		if (fd >= 0)
			close(fd);
	}
	closedir(dir);
	/* Tables swapped in by a fluxlbd that did not pin them (before this
	 * layout): pinned now where the kernel lets us open them by id. */
	for (__u32 id = 0; id < FLB_MAX_VIPS; id++) {
		__u32 inner;
		int fd;

		if (pinned[id] || lookup(m->flb_rings, &id, &inner))
			continue;
		fd = bpf_map_get_fd_by_id(inner);
		if (fd < 0) {
			unpinnable++;
			continue;
		}
		ring_pin(m, id, fd);
		close(fd);
		added++;
	}
	if (gone || added || unpinnable)
		log_info("pins of Maglev tables synced with the maps",
			 "dir=%s removed=%d added=%d unpinned=%d", m->ring_dir, gone, added,
			 unpinnable);
	return 0;
}

int maps_unpin_rings(const char *pin_dir)
{
	char dirpath[512], path[800];
	struct dirent *d;
	int err = 0;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "%s/%s", pin_dir, FLB_RING_PIN_DIR);
	dir = opendir(dirpath);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, d->d_name);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	closedir(dir);
	if (rmdir(dirpath) && errno != ENOENT)
		err = -errno;
	return err;
}

static int ring_fd(const uint32_t *ids, uint32_t size);
static int ring_get_fd(const struct flb_maps *m, uint32_t vip_id);

/* Second chance (pinned_chance.h): the tables about to be replaced become
 * the previous ones, before the swap. */
static void keep_prev(struct flb_maps *m, size_t n, const uint32_t *vip_ids,
		      const uint32_t *const *ids, const uint32_t *sizes)
{
	int *old = calloc(n + 1, sizeof(*old));

	if (!old)
		return;
	for (size_t i = 0; i < n; i++)
		old[i] = m->chance_window_s && vip_ids[i] < FLB_MAX_VIPS ?
				 ring_get_fd(m, vip_ids[i]) : -1;
	chance_keep(m->flb_rings_prev, m->flb_chance, m->chance_window_s, n, vip_ids, old, ids,
		    sizes);
	for (size_t i = 0; i < n; i++)
		if (old[i] >= 0)
			close(old[i]);
	free(old);
}

void maps_set_chance_window(struct flb_maps *m, uint32_t window_s)
{
	/* Off: every window ends, also those a previous run left pinned. */
	if (!window_s && (m->chance_window_s || !m->chance_known))
		chance_forget_all(m->flb_chance);
	m->chance_window_s = window_s;
	m->chance_known = true;
}

int maps_set_ring(struct flb_maps *m, uint32_t vip_id, const uint32_t *ids, uint32_t size)
{
	int fd, err = 0;

	if (vip_id >= FLB_MAX_VIPS || !size)
		return -ERANGE;
	fd = ring_fd(ids, size);
	if (fd < 0)
		return fd;
	keep_prev(m, 1, &vip_id, &ids, &size);
	/* The swap: one pointer update in the array-of-maps. */
	if (bpf_map_update_elem(m->flb_rings, &vip_id, &fd, BPF_ANY))
		err = -errno;
	else
		ring_pin(m, vip_id, fd);
	close(fd); /* the outer map holds its own reference */
	return err;
}

int maps_del_ring(struct flb_maps *m, uint32_t vip_id)
{
	chance_forget(m->flb_rings_prev, m->flb_chance, 1, &vip_id);
	if (bpf_map_delete_elem(m->flb_rings, &vip_id) && errno != ENOENT)
		return -errno;
	ring_unpin(m, vip_id);
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
	keep_prev(m, built, keys, ids, sizes);
	if (count && bpf_map_update_batch(m->flb_rings, keys, fds, &count, &bopts) && !err)
		err = -errno;
	*done = count;
	for (size_t i = 0; i < count; i++)
		ring_pin(m, keys[i], fds[i]);
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
	chance_forget(m->flb_rings_prev, m->flb_chance, n, vip_ids);
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
	for (size_t i = 0; i < *done; i++)
		ring_unpin(m, vip_ids[i]);
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

/* An fd of the table the outer map holds for vip_id: its pin when that is
 * the same table (a reader racing the daemon's swap may see the pin one
 * table behind: looked up again), else by id, which the kernel allows only
 * with CAP_SYS_ADMIN (tables of a fluxlbd before the pins, or not pinned). */
static int ring_get_fd(const struct flb_maps *m, uint32_t vip_id)
{
	char path[560];
	__u32 inner_id;
	int fd;

	for (int attempt = 0; attempt < 5; attempt++) {
		if (lookup(m->flb_rings, &vip_id, &inner_id))
			return -ENOENT;
		if (!m->ring_dir[0])
			break;
		ring_pin_path(m, vip_id, path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0)
			break;
		if (map_id(fd) == inner_id)
			return fd;
		close(fd);
		nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
	}
	fd = bpf_map_get_fd_by_id(inner_id);
	return fd < 0 ? -errno : fd;
}

/* Opens the table of vip_id and reads its size M (slot 0), checked against
 * the inner map's own size. Returns 0 with *fd open, or -errno. */
static int ring_open(const struct flb_maps *m, uint32_t vip_id, int *fd, uint32_t *size)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info), zero = 0, n;
	int err;

	*fd = ring_get_fd(m, vip_id);
	if (*fd < 0)
		return *fd;
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

struct ct_visit {
	ct_visit_fn fn;
	void *ctx;
};

static int ct_entry(const void *key, const void *val, void *arg)
{
	const struct ct_visit *v = arg;

	v->fn(key, val, v->ctx);
	return 0;
}

int maps_ct_scan(const struct flb_maps *m, ct_visit_fn fn, void *ctx)
{
	return map_walk(m->flb_conntrack, sizeof(struct flb_flow), sizeof(struct flb_ct), 4096,
			ct_entry, &(struct ct_visit){ .fn = fn, .ctx = ctx });
}

static int count_entry(const void *key, const void *val, void *arg)
{
	(void)key;
	(void)val;
	++*(uint64_t *)arg;
	return 0;
}

int maps_fill(const struct flb_maps *m, enum maps_fill_map which, uint64_t *entries,
	      uint32_t *capacity)
{
	int fd = which == MAPS_FILL_CONNTRACK ? m->flb_conntrack : m->flb_frags;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	*entries = 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*capacity = info.max_entries;
	if (!info.key_size || info.key_size > 4096 || !info.value_size || info.value_size > 4096)
		return -EBADMSG;
	return map_walk(fd, info.key_size, info.value_size, 8192, count_entry, entries);
}

static int key_cmp(const void *a, const void *b)
{
	const struct maps_name_key *x = a, *y = b;

	if (x->vip_id != y->vip_id)
		return x->vip_id < y->vip_id ? -1 : 1;
	return x->backend_id < y->backend_id ? -1 : x->backend_id > y->backend_id;
}

struct names_keep {
	const struct maps_name_key *sorted;
	size_t n;
};

static bool name_kept(const void *key, const void *val, void *arg)
{
	const struct names_keep *k = arg;

	(void)val;
	return bsearch(key, k->sorted, k->n, sizeof(*k->sorted), key_cmp);
}

int maps_set_names(struct flb_maps *m, const struct maps_name_key *keys,
		   const struct maps_name *vals, size_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct maps_name_key *sorted;
	__u32 count;
	int err;

	if (m->names < 0)
		return 0;
	if (n > FLB_NAMES_MAX)
		return -E2BIG;
	count = (__u32)n;
	if (n && bpf_map_update_batch(m->names, keys, vals, &count, &opts))
		return -errno;
	sorted = malloc((n + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	if (n)
		memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), key_cmp);
	err = map_prune(m->names, sizeof(struct maps_name_key), sizeof(struct maps_name),
			name_kept, &(struct names_keep){ .sorted = sorted, .n = n });
	free(sorted);
	return err;
}

int maps_get_name(const struct flb_maps *m, uint32_t vip_id, uint32_t backend_id,
		  struct maps_name *out)
{
	struct maps_name_key k = { .vip_id = vip_id, .backend_id = backend_id };

	if (m->names < 0)
		return -ENOENT;
	return lookup(m->names, &k, out);
}

int maps_ct_lookup(const struct flb_maps *m, const struct flb_flow *flow, struct flb_ct *ct)
{
	return lookup(m->flb_conntrack, flow, ct);
}

int maps_fd(const struct flb_maps *m, const char *name)
{
#define MAP_FD_BY_NAME(n) if (!strcmp(name, #n)) return m->n;
	FLB_MAP_NAMES(MAP_FD_BY_NAME)
#undef MAP_FD_BY_NAME
	return -ENOENT;
}
