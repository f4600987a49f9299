/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which VIP each Service of our class has: pure, over the source's store,
 * so that every node and the elected status writer arrive at the same
 * answer from the same objects (docs/kubernetes.md, "VIPs"). Services are
 * taken oldest first (metadata.creationTimestamp, then namespace/name):
 *   1. keep: a Service whose status.loadBalancer.ingress[0].ip is its
 *      requested address, or (with no request) lies in the pool, keeps it;
 *   2. request: annotation fluxlb.io/vip, else spec.loadBalancerIP; an
 *      address another Service already holds is a conflict;
 *   3. pool: the lowest address of address_pool no Service holds; none
 *      left is "exhausted"; no pool configured is "none".
 * A Service keeps its address across restarts and writer changes because
 * step 1 reads it back from its status.
 */
#ifndef FLB_K8S_ALLOC_H
#define FLB_K8S_ALLOC_H

#include <cjson/cJSON.h>

#include "config.h"

enum k8s_vip_result {
	K8S_VIP_REQUESTED,   /* annotation or spec.loadBalancerIP */
	K8S_VIP_KEPT,        /* pool address already in its status */
	K8S_VIP_POOL,        /* newly taken from the pool: status not written yet */
	K8S_VIP_CONFLICT,    /* requested an address another Service holds */
	K8S_VIP_EXHAUSTED,   /* no free pool address */
	K8S_VIP_NONE,        /* no request, no status, no pool */
	K8S_VIP_BAD,         /* a request that is not an address */
};

struct k8s_vip {
	char key[320];               /* namespace/name */
	struct flb_addr addr;        /* REQUESTED, KEPT, POOL */
	enum k8s_vip_result result;
	char why[256];               /* for CONFLICT, EXHAUSTED, NONE, BAD */
};

/* The VIPs of every Service in services (the store's namespace/name ->
 * Service object) that is type LoadBalancer with loadBalancerClass class,
 * in the order above, into *out (caller frees), *n. 0 or -ENOMEM. */
int k8s_allocate(const cJSON *services, const char *class, const struct flb_pool_range *pool,
		 size_t n_pool, struct k8s_vip **out, size_t *n);

/* The entry of key in v, or NULL. */
const struct k8s_vip *k8s_vip_find(const struct k8s_vip *v, size_t n, const char *key);

/* True when a node serves the address: requested or already in status. */
static inline bool k8s_vip_served(const struct k8s_vip *v)
{
	return v && (v->result == K8S_VIP_REQUESTED || v->result == K8S_VIP_KEPT);
}

/* True when the Service's status.loadBalancer.ingress is exactly [{ip: addr}]
 * (addr NULL: empty or absent). */
bool k8s_status_is(const cJSON *svc, const struct flb_addr *addr);

const char *k8s_vip_result_name(enum k8s_vip_result r);

#endif
