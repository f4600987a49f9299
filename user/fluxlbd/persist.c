// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Health verdicts and drain starts kept in the pinned flb_state map (see persist.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "flb_abi.h"
#include "log.h"
#include "persist.h"

enum { KIND_HEALTH = 1, KIND_DRAIN = 2 };

/* Zeroed before it is filled: hash keys compare every byte. */
struct state_key {
	__u8 kind;        /* KIND_* */
	__u8 family;      /* AF_INET / AF_INET6 (health) */
	__u16 port;       /* check port, host order (health) */
	__u32 id;         /* backend id (drain) */
	__u8 addr[16];    /* backend address (health) */
	char service[64]; /* service name (health) */
};
_Static_assert(sizeof(struct state_key) == 88, "state_key layout");

struct state_val {
	__u64 value;      /* drain: start, CLOCK_MONOTONIC ns */
	__u32 state;      /* health: enum flb_be_health */
	__u32 pad;
};
_Static_assert(sizeof(struct state_val) == 16, "state_val layout");

struct persist {
	int fd;
	uint64_t saved_drain[FLB_MAX_BACKENDS];
};

struct persist *persist_open(const char *pin_dir)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct persist *p = calloc(1, sizeof(*p));
	char path[4096];
	int err;

	if (!p)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, FLB_STATE_MAP);
	p->fd = bpf_obj_get(path);
	if (p->fd >= 0 && (bpf_obj_get_info_by_fd(p->fd, &info, &len) ||
			   info.key_size != sizeof(struct state_key) ||
			   info.value_size != sizeof(struct state_val))) {
		log_warn("saved state has another layout; starting without it", "path=%s", path);
		close(p->fd);
		unlink(path);
		p->fd = -1;
	}
	if (p->fd < 0) {
		p->fd = bpf_map_create(BPF_MAP_TYPE_HASH, FLB_STATE_MAP, sizeof(struct state_key),
				       sizeof(struct state_val), FLB_STATE_MAX, &opts);
		if (p->fd < 0 || bpf_obj_pin(p->fd, path)) {
			err = -errno;
			log_warn("cannot keep health and drain state across restarts",
				 "path=%s err=\"%s\"", path, strerror(-err));
			if (p->fd >= 0)
				close(p->fd);
			free(p);
			errno = -err;
			return NULL;
		}
	}
	return p;
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}

static void health_key(struct state_key *k, const char *service, const struct flb_addr *a,
		       uint16_t port)
{
	memset(k, 0, sizeof(*k));
	k->kind = KIND_HEALTH;
	k->family = (__u8)a->family;
	k->port = port;
	memcpy(k->addr, a->bytes, sizeof(k->addr));
	snprintf(k->service, sizeof(k->service), "%s", service);
}

static void key_addr(const struct state_key *k, struct flb_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = k->family;
	memcpy(a->bytes, k->addr, sizeof(a->bytes));
}

/* Every key of the map, malloc'ed; NULL (and *n 0) when empty or on ENOMEM. */
static struct state_key *all_keys(const struct persist *p, size_t *n)
{
	struct state_key *keys = NULL, *tmp, k, *prev = NULL;
	size_t cap = 0;

	*n = 0;
	while (!bpf_map_get_next_key(p->fd, prev, &k)) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			tmp = realloc(keys, cap * sizeof(*keys));
			if (!tmp)
				break;
			keys = tmp;
		}
		keys[(*n)++] = k;
		prev = &keys[*n - 1];
		if (*n >= FLB_STATE_MAX)
			break;
	}
	return keys;
}

int persist_load_health(struct persist *p, struct health *h)
{
	struct state_key *keys;
	struct state_val v;
	size_t n;
	int got = 0;

	if (!p)
		return 0;
	keys = all_keys(p, &n);
	for (size_t i = 0; i < n; i++) {
		struct flb_addr a;

		if (keys[i].kind != KIND_HEALTH || bpf_map_lookup_elem(p->fd, &keys[i], &v) ||
		    v.state != FLB_HEALTH_DOWN)
			continue;
		keys[i].service[sizeof(keys[i].service) - 1] = '\0';
		key_addr(&keys[i], &a);
		if (!health_restore(h, keys[i].service, &a, keys[i].port, FLB_HEALTH_DOWN))
			got++;
	}
	free(keys);
	if (got)
		log_info("health verdicts restored: these backends start down and return after rise checks",
			 "down=%d", got);
	return got;
}

struct save_ctx {
	struct persist *p;
	int err;
};

static void save_one(void *ctx, const char *service, const struct flb_addr *a, uint16_t port,
		     enum flb_be_health state)
{
	struct save_ctx *c = ctx;
	struct state_val v = { .state = FLB_HEALTH_DOWN };
	struct state_key k;

	if (state != FLB_HEALTH_DOWN)
		return;
	health_key(&k, service, a, port);
	if (bpf_map_update_elem(c->p->fd, &k, &v, BPF_ANY) && !c->err)
		c->err = -errno;
}

void persist_save_health(struct persist *p, const struct health *h)
{
	struct save_ctx c = { .p = p };
	struct state_key *keys;
	size_t n;

	if (!p)
		return;
	keys = all_keys(p, &n);
	for (size_t i = 0; i < n; i++) {
		struct flb_addr a;

		if (keys[i].kind != KIND_HEALTH)
			continue;
		keys[i].service[sizeof(keys[i].service) - 1] = '\0';
		key_addr(&keys[i], &a);
		if (health_target(h, keys[i].service, &a, keys[i].port) != FLB_HEALTH_DOWN)
			bpf_map_delete_elem(p->fd, &keys[i]);
	}
	free(keys);
	health_each(h, save_one, &c);
	if (c.err)
		log_warn("cannot save a health verdict; after a restart it starts unknown",
			 "err=\"%s\"", strerror(-c.err));
}

void persist_load_drain(struct persist *p, uint64_t *start)
{
	struct state_key k = { .kind = KIND_DRAIN };
	struct state_val v;

	memset(start, 0, FLB_MAX_BACKENDS * sizeof(*start));
	if (!p)
		return;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		k.id = id;
		if (!bpf_map_lookup_elem(p->fd, &k, &v))
			start[id] = p->saved_drain[id] = v.value;
	}
}

void persist_save_drain(struct persist *p, const uint64_t *start)
{
	struct state_key k = { .kind = KIND_DRAIN };

	if (!p)
		return;
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct state_val v = { .value = start[id] };

		if (start[id] == p->saved_drain[id])
			continue;
		k.id = id;
		if (start[id] ? bpf_map_update_elem(p->fd, &k, &v, BPF_ANY) :
				bpf_map_delete_elem(p->fd, &k) && errno != ENOENT) {
			log_warn("cannot save a drain start; after a restart its drain starts again",
				 "id=%u err=\"%s\"", id, strerror(errno));
			continue;
		}
		p->saved_drain[id] = start[id];
	}
}
