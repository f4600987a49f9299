/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Registry sources: where the backends of a service come from when the
 * configuration names a registry service (services[].source_service)
 * instead of listing backends. A source runs in its own thread, keeps the
 * last complete view of every service it watches, and signals an eventfd
 * when the view changes. An outage never empties a view: the last good one
 * stays until the registry answers again.
 *
 * Kinds: consul (the Consul HTTP API with blocking queries; works against
 * Consul and fluxlb-registry), etcd (watches fluxlb-registry's keys) and
 * kubernetes (Services and EndpointSlices, source_kubernetes.h), which also
 * publishes the services to serve (discovered: VIP, port, protocol and
 * instances) that no configured name asked for.
 */
#ifndef FLB_SOURCE_H
#define FLB_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"

enum src_status { SRC_PASSING, SRC_WARNING, SRC_CRITICAL };

struct src_instance {
	char id[128];
	struct flb_addr addr;
	uint16_t port;
	uint32_t weight;         /* Weights.Passing or .Warning by status */
	enum src_status status;
	bool local;              /* runs on this node (kubernetes: the endpoint's nodeName) */
};

struct src_service {
	char name[64];
	bool known;              /* the registry answered for it at least once */
	struct src_instance *inst;
	size_t n;
	/* Discovered services (kubernetes): the source says what to serve,
	 * not only its backends. name is "<namespace>/<service>:<port>", the
	 * port being the Service port's name, else its number. */
	bool discovered;
	struct flb_addr vip;
	uint16_t port;
	uint8_t proto;           /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t affinity_timeout_s; /* sessionAffinity: ClientIP (docs/affinity.md); 0: none */
};

struct src_view {
	struct src_service *svc;
	size_t n;
	uint64_t version;        /* bumps on every change */
	bool up;                 /* the last attempt reached the registry */
	bool discovered_known;   /* the discovered set was published at least once */
};

struct source;

/* NULL with errno 0 when cfg's source is the file itself; NULL with errno
 * set on failure. Watches every services[].source_service of cfg. */
struct source *source_start(const struct flb_config *cfg);
void source_stop(struct source *s);
int source_fd(const struct source *s);
/* Copies the current view (caller frees with src_view_free). */
int source_view(struct source *s, struct src_view *out);
void src_view_free(struct src_view *v);

/* ---- for the kinds' implementations (source_*.c) ---- */

/* Replaces one service's instances (takes ownership of inst) and signals
 * the daemon when they differ from the last ones. */
void source_publish(struct source *s, const char *service, struct src_instance *inst, size_t n);
/* Replaces the whole set of discovered services (entries with
 * .discovered; takes ownership of svc and of each inst) and signals the
 * daemon when it differs from the last one. Only a complete answer may be
 * published: an outage publishes nothing, so the last set keeps serving. */
void source_publish_discovered(struct source *s, struct src_service *svc, size_t n);
/* Records whether the registry was reachable; logs transitions. */
void source_set_up(struct source *s, bool up, const char *why);
/* True once source_stop() was called: threads must return. */
bool source_stopping(const struct source *s);
/* The same as a flag for APIs that poll one (etcd_watch). */
volatile int *source_stop_flag(struct source *s);

struct source_kind {
	const char *name;
	/* Runs in the source's thread until source_stopping(). */
	void (*run)(struct source *s, const struct flb_source_cfg *cfg, const char *const *services,
		    size_t n_services);
};

extern const struct source_kind source_consul, source_etcd, source_kubernetes;

#endif
