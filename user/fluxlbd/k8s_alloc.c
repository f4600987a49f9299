// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* VIP assignment for Services (see k8s_alloc.h): pure, no network. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "k8s_alloc.h"
#include "source_kubernetes.h"

struct cand {
	const cJSON *svc;
	const char *key, *created;
	bool has_req, has_status;
	struct flb_addr req, status;
	struct k8s_vip *out;
};

static const cJSON *get(const cJSON *o, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = get(o, k);

	return cJSON_IsString(v) && *v->valuestring ? v->valuestring : NULL;
}

static int by_age(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = strcmp(x->created ? x->created : "", y->created ? y->created : "");

	return c ? c : strcmp(x->key, y->key);
}

static const char *first_ingress_ip(const cJSON *svc)
{
	const cJSON *ing = get(get(get(svc, "status"), "loadBalancer"), "ingress");

	return str(cJSON_GetArrayItem(ing, 0), "ip");
}

bool k8s_status_is(const cJSON *svc, const struct flb_addr *addr)
{
	const cJSON *ing = get(get(get(svc, "status"), "loadBalancer"), "ingress");
	const char *ip;
	struct flb_addr a;

	if (!addr)
		return cJSON_GetArraySize(ing) == 0;
	if (cJSON_GetArraySize(ing) != 1 || !(ip = str(cJSON_GetArrayItem(ing, 0), "ip")))
		return false;
	return !addr_parse(ip, &a) && !addr_cmp(&a, addr);
}

static bool in_pool(const struct flb_addr *a, const struct flb_pool_range *pool, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a->family == pool[i].first.family && addr_cmp(a, &pool[i].first) >= 0 &&
		    addr_cmp(a, &pool[i].last) <= 0)
			return true;
	return false;
}

static const struct cand *holder(const struct cand *c, size_t n, const struct flb_addr *a)
{
	for (size_t i = 0; i < n; i++)
		if (c[i].out->result <= K8S_VIP_POOL && c[i].out->key[0] && !addr_cmp(&c[i].out->addr, a))
			return &c[i];
	return NULL;
}

static void next_addr(struct flb_addr *a)
{
	for (int i = a->family == AF_INET ? 3 : 15; i >= 0 && !++a->bytes[i]; i--)
		;
}

static int addr_qcmp(const void *a, const void *b)
{
	return addr_cmp(a, b);
}

/* Walks the pool in order, skipping the addresses held before it starts
 * (sorted): each call returns the next free one, so that a whole pass
 * costs one walk of the pool, however many Services it serves. */
struct pool_walk {
	const struct flb_pool_range *pool;
	size_t n_pool, range;
	struct flb_addr next;
	bool started, done;
	const struct flb_addr *held;
	size_t n_held;
};

static bool walk_next(struct pool_walk *w, struct flb_addr *out)
{
	while (!w->done && w->range < w->n_pool) {
		const struct flb_pool_range *r = &w->pool[w->range];
		struct flb_addr a;

		if (!w->started) {
			w->next = r->first;
			w->started = true;
		}
		a = w->next;
		if (addr_cmp(&a, &r->last) >= 0) { /* the range's last address: move on */
			w->range++;
			w->started = false;
		} else {
			next_addr(&w->next);
		}
		if (addr_cmp(&a, &r->last) > 0)
			continue;
		if (!bsearch(&a, w->held, w->n_held, sizeof(*w->held), addr_qcmp)) {
			*out = a;
			return true;
		}
	}
	w->done = true;
	return false;
}

const struct k8s_vip *k8s_vip_find(const struct k8s_vip *v, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].key, key))
			return &v[i];
	return NULL;
}

int k8s_allocate(const cJSON *services, const char *class, const struct flb_pool_range *pool,
		 size_t n_pool, struct k8s_vip **out, size_t *n)
{
	size_t cap = (size_t)cJSON_GetArraySize(services), m = 0;
	struct cand *c = calloc(cap + 1, sizeof(*c));
	struct k8s_vip *v = calloc(cap + 1, sizeof(*v));
	const cJSON *svc;

	*out = NULL;
	*n = 0;
	if (!c || !v) {
		free(c);
		free(v);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(svc, services) {
		const cJSON *spec = get(svc, "spec");
		const char *type = str(spec, "type"), *lbc = str(spec, "loadBalancerClass"), *req, *st;
		struct cand *x = &c[m];

		if (m == cap || !svc->string || !type || strcmp(type, "LoadBalancer") || !lbc ||
		    strcmp(lbc, class))
			continue;
		x->svc = svc;
		x->key = svc->string;
		x->created = str(get(svc, "metadata"), "creationTimestamp");
		req = str(get(get(svc, "metadata"), "annotations"), K8S_VIP_ANNOTATION);
		if (!req)
			req = str(spec, "loadBalancerIP");
		st = first_ingress_ip(svc);
		x->has_status = st && !addr_parse(st, &x->status);
		x->out = &v[m];
		snprintf(v[m].key, sizeof(v[m].key), "%s", x->key);
		v[m].result = K8S_VIP_NONE;
		if (req && addr_parse(req, &x->req)) {
			v[m].result = K8S_VIP_BAD;
			snprintf(v[m].why, sizeof(v[m].why), "requested VIP \"%.64s\" is not an address", req);
		}
		x->has_req = req && v[m].result != K8S_VIP_BAD;
		m++;
	}
	qsort(c, m, sizeof(*c), by_age);
	/* The result of an entry decided in a pass is <= K8S_VIP_POOL; holder()
	 * only looks at those, so an entry claims an address by being decided. */
	for (size_t i = 0; i < m; i++) { /* 1: keep */
		struct cand *x = &c[i];

		if (!x->has_status || x->out->result == K8S_VIP_BAD || holder(c, m, &x->status))
			continue;
		if (x->has_req ? !addr_cmp(&x->req, &x->status) : in_pool(&x->status, pool, n_pool)) {
			x->out->addr = x->status;
			x->out->result = x->has_req ? K8S_VIP_REQUESTED : K8S_VIP_KEPT;
		}
	}
	for (size_t i = 0; i < m; i++) { /* 2: requests */
		struct cand *x = &c[i];
		const struct cand *h;
		char a[64];

		if (!x->has_req || x->out->result <= K8S_VIP_POOL)
			continue;
		if ((h = holder(c, m, &x->req))) {
			addr_format(&x->req, a, sizeof(a));
			x->out->result = K8S_VIP_CONFLICT;
			snprintf(x->out->why, sizeof(x->out->why), "requested VIP %s is held by Service %.128s", a,
				 h->key);
			continue;
		}
		x->out->addr = x->req;
		x->out->result = K8S_VIP_REQUESTED;
	}
	/* 3: the pool, past what passes 1 and 2 took. */
	struct flb_addr *held = calloc(m + 1, sizeof(*held));
	struct pool_walk walk = { .pool = pool, .n_pool = n_pool, .held = held };

	if (!held) {
		free(c);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m; i++)
		if (v[i].result <= K8S_VIP_POOL)
			held[walk.n_held++] = v[i].addr;
	qsort(held, walk.n_held, sizeof(*held), addr_qcmp);
	for (size_t i = 0; i < m; i++) {
		struct cand *x = &c[i];

		if (x->has_req || x->out->result != K8S_VIP_NONE)
			continue;
		if (!n_pool) {
			snprintf(x->out->why, sizeof(x->out->why),
				 "no VIP: no annotation %s, no spec.loadBalancerIP, no address_pool", K8S_VIP_ANNOTATION);
			continue;
		}
		if (walk_next(&walk, &x->out->addr)) {
			x->out->result = K8S_VIP_POOL;
			continue;
		}
		x->out->result = K8S_VIP_EXHAUSTED;
		snprintf(x->out->why, sizeof(x->out->why), "address_pool exhausted");
	}
	free(held);
	free(c);
	*out = v;
	*n = m;
	return 0;
}

const char *k8s_vip_result_name(enum k8s_vip_result r)
{
	static const char *const names[] = { "requested", "kept", "pool", "conflict", "exhausted", "none",
					     "bad" };

	return r <= K8S_VIP_BAD ? names[r] : "?";
}
