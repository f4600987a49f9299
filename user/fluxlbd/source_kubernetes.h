/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The Kubernetes source's model, apart from its network code so that tests
 * drive it with JSON alone: a store of the Services and EndpointSlices a
 * list returned and a watch stream changed, and the mapping from a store
 * to the instances of one configured service (docs/kubernetes.md).
 *
 * A configured source_service names "<namespace>/<service>[:<port>]", the
 * port being the Service port's number or name (optional when the Service
 * has one port). Mapping: the Service must be type LoadBalancer with our
 * loadBalancerClass and have a served VIP (k8s_alloc.h: annotation
 * fluxlb.io/vip, spec.loadBalancerIP, or a pool address in its status); its EndpointSlices (label kubernetes.io/service-name)
 * give the instances, with the port of the slice port of the same name and
 * protocol: ready -> passing, weight 1; serving and terminating -> passing,
 * weight 0 (drains); otherwise -> critical (out of the table).
 */
#ifndef FLB_SOURCE_KUBERNETES_H
#define FLB_SOURCE_KUBERNETES_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "source.h"

#define K8S_DEFAULT_CLASS "fluxlb.io/l4"
#define K8S_VIP_ANNOTATION "fluxlb.io/vip"

enum k8s_kind { K8S_SERVICES, K8S_SLICES, K8S_KINDS };

/* The objects of one kind, keyed "<namespace>/<name>", and the
 * resourceVersion to resume a watch from. */
struct k8s_objects {
	cJSON *byname;       /* a JSON object: key -> the resource */
	char rv[64];
	bool synced;         /* listed at least once */
};

struct k8s_store {
	struct k8s_objects kind[K8S_KINDS];
	char node[64];    /* this node's name (node_name.h); an endpoint whose
			   * nodeName it is runs here (src_instance.local) */
};

/* What one watch line did. */
enum k8s_event_result {
	K8S_EV_APPLIED,      /* ADDED, MODIFIED or DELETED */
	K8S_EV_BOOKMARK,     /* only the resourceVersion moved */
	K8S_EV_GONE,         /* ERROR 410: list again */
	K8S_EV_ERROR,        /* any other ERROR status: reconnect */
};

void k8s_store_free(struct k8s_store *st);
/* Replaces every object of a kind with a list answer's items and takes its
 * metadata.resourceVersion. 0 or -EBADMSG (the store is then unchanged). */
int k8s_store_list(struct k8s_store *st, enum k8s_kind kind, const char *body);
/* Applies one line of a watch stream: an enum k8s_event_result, or
 * -EBADMSG for a line that is not a watch event. */
int k8s_store_event(struct k8s_store *st, enum k8s_kind kind, const char *line);

/* The instances of source_service (see above) into *out (caller frees),
 * n into *n. Returns 0; when the service cannot be mapped it returns 0
 * with no instances and why says what is missing (why[0] == 0 otherwise). */
int k8s_instances(const struct k8s_store *st, const char *class, const char *source_service,
		  struct src_instance **out, size_t *n, char *why, size_t why_len);

struct k8s_vip;
/* The same with the VIPs of k8s_allocate() (k8s_alloc.h): a Service is
 * mapped only when its VIP is served (requested, or kept in its status).
 * k8s_instances() above allocates with no pool itself. */
int k8s_instances_at(const struct k8s_store *st, const char *class, const struct k8s_vip *vips, size_t n_vips,
		     const char *source_service, struct src_instance **out, size_t *n, char *why, size_t why_len);

/* Every Service of our class with a served VIP (k8s_vip_served()), one
 * discovered service per TCP or UDP Service port (source.h): name
 * "<namespace>/<service>:<port name, else number>", the VIP, the port, the
 * protocol and the instances k8s_instances_at() gives for that name.
 * Ports whose name would not fit are skipped. Order: vips' order, then the
 * Service's ports. *out (caller frees each inst, then *out), *n. 0 or
 * -ENOMEM (nothing to free then). */
int k8s_discover(const struct k8s_store *st, const char *class, const struct k8s_vip *vips, size_t n_vips,
		 struct src_service **out, size_t *n);

/* How to reach and authenticate to the API server: from the source's
 * configuration (in-cluster service-account files by default) or from a
 * kubeconfig (source_kubernetes_config.c). *_data are PEM texts decoded
 * from a kubeconfig's *-data keys; token is a kubeconfig user's inline
 * token (fluxlbd's own configuration only ever names a token file). */
struct k8s_auth {
	char server[256];
	char ca_file[256];
	char token_file[256];
	char cert_file[256];
	char key_file[256];
	char *ca_data, *cert_data, *key_data, *token;
	bool insecure;       /* the kubeconfig's insecure-skip-tls-verify */
};

/* Fills auth from cfg: a kubeconfig when cfg->kubeconfig is set, else
 * api_server/token_file/ca_file with the in-cluster defaults (env
 * KUBERNETES_SERVICE_HOST/PORT, the service-account folder). 0 or -errno
 * with why filled. */
int k8s_auth_load(const struct flb_source_cfg *cfg, struct k8s_auth *auth, char *why, size_t why_len);
/* The kubeconfig subset: current-context -> its cluster's server,
 * certificate-authority(-data), insecure-skip-tls-verify and its user's
 * token, tokenFile, client-certificate(-data), client-key(-data). Relative
 * paths are relative to the kubeconfig's folder. No exec or auth-provider
 * plugins. 0 or -errno with why filled. */
int k8s_kubeconfig_load(const char *path, struct k8s_auth *auth, char *why, size_t why_len);
void k8s_auth_free(struct k8s_auth *auth);

/* A Service's sessionAffinity as affinity_timeout_s: ClientIP ->
 * sessionAffinityConfig.clientIP.timeoutSeconds (default 10800, 1..86400);
 * else 0 (docs/affinity.md). */
uint32_t k8s_affinity_timeout(const cJSON *svc);

#endif
