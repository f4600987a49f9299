/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's configuration file: YAML read into struct flb_config and fully
 * validated, so that later stages (desired state, Maglev builder, map writer)
 * can trust every field. A file either loads whole or is rejected with one
 * line naming the file, the line and the key path of the first problem; the
 * caller keeps its last good configuration. The accepted shape is described
 * in config.c and config_service.c, beside the key tables that
 * define it.
 */
#ifndef FLB_CONFIG_H
#define FLB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "flb_abi.h"

#define FLB_CFG_MAX_IFACES 16
#define FLB_CFG_MAX_SERVICES 1024
#define FLB_CFG_MAX_BACKENDS 4096	/* per service */
#define FLB_CFG_MAX_WEIGHT 10000
/* node.flood.new_flows_per_second: auto: the rate at which new entries
 * would turn the whole conntrack table over in a minute, so an idle
 * established connection keeps its entry for at least a minute of flood. */
#define FLB_CFG_FLOOD_AUTO (FLB_CT_SIZE / 60)
#define FLB_CFG_FLOOD_MAX 100000000u
#define FLB_CFG_TABLE_MIN 251		/* smallest prime table_size */
#define FLB_CFG_TABLE_MAX 1048573	/* largest prime below 2^20 */
#define FLB_CFG_DEFAULT_BPFFS "/sys/fs/bpf/fluxlb"
#define FLB_CFG_DEFAULT_TCP_TIMEOUT_S 3600
#define FLB_CFG_DEFAULT_UDP_TIMEOUT_S 30
#define FLB_CFG_DEFAULT_DRAIN_MS 30000
#define FLB_CFG_DEFAULT_PANIC_PERCENT 50

enum flb_xdp_mode {
	FLB_XDP_NATIVE,
	FLB_XDP_SKB,
};

enum flb_hc_type {
	FLB_HC_NONE = 0,	/* no checks: backends count as healthy */
	FLB_HC_TCP,		/* connect() succeeds */
	FLB_HC_HTTP,		/* GET path answers a status in [expect_min, expect_max] */
};

struct flb_health_cfg {
	enum flb_hc_type type;
	uint16_t port;		/* 0: the service port */
	char path[128];		/* HTTP path, default "/health" */
	uint16_t expect_min, expect_max; /* default 200..399 */
	uint32_t interval_ms;	/* default 2 s */
	uint32_t timeout_ms;	/* default 1 s, at most interval */
	uint32_t rise, fall;	/* successes to come back, failures to go down: 2, 3 */
};

/* What a backend's failed health check (or a registry's critical) does to
 * the flows it already has; new flows of the service stop either way. */
enum flb_on_unhealthy {
	FLB_UNHEALTHY_DRAIN = 0,	/* established flows stay on it (default) */
	FLB_UNHEALTHY_RESET,		/* its flows are re-steered (they break) */
};

enum flb_source_type {
	FLB_SRC_FILE = 0,	/* backends listed in this file */
	FLB_SRC_CONSUL,		/* Consul HTTP API (Consul or fluxlb-registry) */
	FLB_SRC_ETCD,		/* fluxlb-registry's keys in etcd */
	FLB_SRC_KUBERNETES,	/* Services and EndpointSlices from the Kubernetes API */
};

struct flb_source_cfg {
	enum flb_source_type type;
	char address[256];	/* consul: base URL, default http://127.0.0.1:8500 */
	char endpoints[512];	/* etcd: comma-separated URLs, default http://127.0.0.1:2379 */
	char prefix[128];	/* etcd: key prefix, default /fluxlb/ */
	/* kubernetes: "" = the default (docs/configuration.md), filled in when
	 * the source starts so that --check-config does not read the env. */
	char api_server[256];	/* URL; default https://$KUBERNETES_SERVICE_HOST:$..._PORT */
	char token_file[256];	/* bearer token file (re-read per request) */
	char ca_file[256];	/* CA bundle for the API server's certificate */
	char kubeconfig[256];	/* instead of the three above */
	char k8s_namespace[64];	/* "" = all namespaces */
	char lb_class[128];	/* spec.loadBalancerClass we serve; default fluxlb.io/l4 */
	/* kubernetes: VIPs and the one status writer (k8s_alloc.h, k8s_status.h) */
	struct flb_pool_range {
		struct flb_addr first, last;	/* inclusive, one family */
	} pool[16];		/* address_pool: where Services without a VIP get one */
	size_t n_pool;
	bool no_write_status;	/* write_status: false (default true) */
	char node_name[128];	/* Lease holderIdentity; "" = $NODE_NAME, else the hostname */
	char lease_name[64];	/* "" = fluxlbd-status-writer */
	char lease_namespace[64];	/* "" = namespace, else default */
	uint32_t lease_duration_ms;	/* 0 = 15 s */
	/* etcd TLS and credentials (token_file: consul's ACL token, ca_file: the
	 * CA of any https:// source); secrets only as files, never inline. */
	char cert_file[256];	/* etcd: client certificate (PEM) */
	char key_file[256];	/* etcd: its key */
	char username[64];	/* etcd: user for /v3/auth/authenticate */
	char password_file[256];/* etcd: that user's password, read at each login */
};

/* load_weights of a service (config_load.c, load_weight.h): scale each
 * backend's weight by the load its HTTP health check reports. */
enum flb_load_from {
	FLB_LOAD_OFF = 0,	/* not load-weighted (default) */
	FLB_LOAD_CPU,		/* body's cpu_percent: factor 1 - p / 100 */
	FLB_LOAD_MEMORY,	/* body's memory_percent: factor 1 - p / 100 */
	FLB_LOAD_WEIGHT,	/* body's weight (percent of the configured weight) */
};

struct flb_load_cfg {
	enum flb_load_from from;
	uint32_t min_pm, max_pm;	/* bounds of the factor, per mille: 100, 1000 */
	uint32_t steps;			/* quantisation levels of the factor: 10 */
	uint32_t hysteresis_pm;		/* beyond half a step, per mille: 50 */
	uint32_t interval_ms;		/* at most one table change per interval: 10 s */
};

/* The new-flow policy of a service (config_policy.c, docs/policies.md). */
enum flb_sched_cfg {
	FLB_SCHED_CFG_MAGLEV = 0,	/* default */
	FLB_SCHED_CFG_RR,		/* round_robin */
	FLB_SCHED_CFG_LEAST_CONN,	/* least_conn: Maglev with bounded load */
};
#define FLB_CFG_DEFAULT_EPSILON_PM 250	/* least_conn.epsilon 0.25 */
#define FLB_CFG_DEFAULT_CANDIDATES 4

struct flb_policy_cfg {
	enum flb_sched_cfg sched;
	uint32_t epsilon_pm;	/* least_conn.epsilon, per mille (10..10000) */
	uint32_t candidates;	/* candidates a new flow may try (1..8) */
	uint32_t max_nfps;	/* caps.max_new_flows_per_second per backend; 0: off */
	uint32_t burst;		/* caps.burst; 0: max(1, max_nfps / 10) */
	uint32_t max_active;	/* caps.max_active_flows per backend; 0: off */
};

struct flb_backend_cfg {
	struct flb_addr addr;
	uint32_t weight;	/* 0..FLB_CFG_MAX_WEIGHT; 0 = drain: no new flows */
	char id[64];		/* "addr:port" identity from addr_port_format with the service port */
	uint16_t port;		/* the backend's own port (a pod's target port); 0: the service port */
	int line;		/* where the entry starts, for later messages */
	bool down;		/* from a registry: critical (out of the table, flows re-steered) */
	bool check_down;	/* our health check says DOWN: never parsed, set by the daemon
				 * from health_get() before each reconcile (health as data) */
	uint32_t load_pm;	/* load_weights factor (per mille) from the health checker,
				 * set like check_down; 0 = not load-weighted */
	bool ejected;		/* the passive outlier detector ejected it (outlier.h): no new
				 * flows, its flows stay; set by the daemon like check_down */
	bool on_node;		/* a registry says it runs on this node (kubernetes
				 * nodeName): a local pod for the node role (pods.md) */
};

/* outlier_detection of a service (config_guard.c, docs/circuit-breaking.md). */
struct flb_outlier_cfg {
	bool enabled;			/* the section is present */
	uint32_t ratio_pm;		/* syn_retransmit_ratio, per mille: 500 */
	uint32_t min_new_flows;		/* in a window, to judge at all: 20 */
	uint32_t window_ms;		/* 10 s */
	uint32_t base_ejection_ms;	/* 30 s; times the backend's ejection count */
	uint32_t max_ejection_percent;	/* of the service's backends at once: 50 */
};

struct flb_service_cfg {
	char name[64];
	struct flb_addr vip;
	uint16_t port;		/* 0 = port-less VIP: matches every port */
	uint8_t proto;		/* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t table_size;	/* prime Maglev table size; 0 = auto */
	struct flb_health_cfg health; /* from defaults.health_check, then its own */
	enum flb_on_unhealthy on_unhealthy; /* from defaults.on_unhealthy, then its own */
	struct flb_load_cfg load;	/* load_weights; from OFF unless given */
	struct flb_policy_cfg policy;	/* scheduler, least_conn, candidates, caps */
	char source_service[64];	/* registry service whose instances are the backends; "" = listed */
	uint32_t affinity_timeout_s;	/* affinity: source_ip; 0 = none (config_guard.c) */
	struct flb_outlier_cfg outlier;	/* outlier_detection; off unless given */
	struct flb_backend_cfg *backends;
	size_t n_backends;
	int line;
};

#define FLB_CFG_MAX_PEERS 8
#define FLB_CFG_MAX_COMMUNITIES 8
#define FLB_CFG_DEFAULT_ANNOUNCE_TABLE 4242
#define FLB_CFG_DEFAULT_ANNOUNCE_GRACE_MS 2000

struct flb_bgp_peer_cfg {
	struct flb_addr addr;
	uint32_t asn;
};

/* announce: (config_announce.c). The daemon only writes host routes into
 * the kernel table `table`; the bgp keys feed `fluxlbd --bird-config`,
 * which renders the BIRD configuration that exports that table. */
struct flb_announce_cfg {
	bool enabled;		/* the section is present */
	uint32_t table;		/* kernel routing table of the VIP routes */
	uint32_t grace_ms;	/* after the withdraw on shutdown, before exiting */
	uint32_t asn;		/* bgp.asn: this node's ASN (0: not set) */
	struct flb_addr router_id; /* bgp.router_id (family 0: BIRD picks one) */
	struct flb_bgp_peer_cfg peers[FLB_CFG_MAX_PEERS];
	size_t n_peers;
	uint32_t communities[FLB_CFG_MAX_COMMUNITIES]; /* "A:B" as A << 16 | B */
	size_t n_communities;
};

/* second_chance: (config_chance.c, docs/bgp.md "Second chance"). */
#define FLB_CFG_DEFAULT_CHANCE_WINDOW_S 600
struct flb_chance_cfg {
	bool enabled;		/* default false */
	uint32_t window_s;	/* how long a replaced table is kept */
};

/* node.pods: this host's pods are backends (docs/pods.md). */
#define FLB_CFG_MAX_POD_CIDRS 16
struct flb_pod_cidr {
	struct flb_addr net;	/* host bits zero */
	uint8_t len;		/* prefix length */
};
struct flb_pods_cfg {
	char iface[16];		/* the NIC toward the balancers; "" = node role off */
	struct flb_pod_cidr cidrs[FLB_CFG_MAX_POD_CIDRS];
	size_t n_cidrs;
};

struct flb_config {
	char ifaces[FLB_CFG_MAX_IFACES][16];	/* IFNAMSIZ; resolved from iface_spec; none when only the node role runs */
	size_t n_ifaces;
	/* interfaces as written (after nodes: and $FLUXLB_INTERFACES): names,
	 * globs or "auto" (iface_resolve.h) */
	char iface_spec[FLB_CFG_MAX_IFACES][16];
	size_t n_iface_spec;
	char bpffs[256];	/* folder under which maps are pinned */
	enum flb_xdp_mode xdp_mode;
	/*
	 * Outer source prefixes of the encapsulated packets: a /16 (IPv4) and
	 * a /96 (IPv6) whose low 16 / 32 bits the dataplane fills per flow.
	 * Those low bits are zero here.
	 */
	struct flb_addr encap_src4, encap_src6;
	/* Idle conntrack entries older than these are ignored (node.conntrack). */
	uint32_t ct_tcp_timeout_s, ct_udp_timeout_s;
	/* node.flood.new_flows_per_second: node-wide new flows per second above
	 * which SYNs get no conntrack entry (docs/operating.md, "Flood
	 * defence"); 0 = off. "auto" is FLB_CFG_FLOOD_AUTO. */
	uint32_t flood_nfps;
	/* node.flood.prefix (config_guard.c): SYNs per second per source
	 * prefix (0: off) and the prefix lengths. */
	uint32_t flood_pfx_nfps;
	uint8_t flood_pfx_len4, flood_pfx_len6;
	char metrics_listen[64];	/* metrics.listen; "" = no exporter */
	bool metrics_node_label;	/* metrics.node_label: node="<node_name()>" on every sample */
	uint32_t drain_timeout_ms;	/* defaults.drain_timeout, default 30 s */
	uint32_t panic_percent;		/* defaults.panic_threshold, default 50 */
	struct flb_health_cfg health;	/* defaults.health_check (type NONE if absent) */
	enum flb_on_unhealthy on_unhealthy; /* defaults.on_unhealthy, default drain */
	struct flb_source_cfg source;
	struct flb_announce_cfg announce;	/* VIP routes for BGP (docs/bgp.md) */
	struct flb_chance_cfg chance;	/* second_chance: (config_chance.c) */
	struct flb_pods_cfg pods;	/* node.pods (config_node.c) */
	struct flb_service_cfg *services;
	size_t n_services;
};

/*
 * Parse from a file / from a buffer (name is used in error messages). On
 * error returns -EINVAL (or -errno for I/O, -ENOMEM), fills err with one line
 * "FILE:LINE: key.path: problem" (I/O errors: "FILE: problem"), and leaves
 * *out zeroed (nothing to free). On success the caller frees with
 * config_free(). err may be NULL.
 */
int config_load_file(const char *path, struct flb_config *out, char *err,
		     size_t errlen);
int config_parse(const char *name, const char *buf, size_t len,
		 struct flb_config *out, char *err, size_t errlen);

/*
 * The checks across the whole configuration that decide whether the
 * dataplane can serve it (config_validate.c): an IPv6 VIP has only IPv6
 * backends, at most FLB_MAX_BACKENDS - 1 distinct backend addresses over
 * all services (an id each), a fixed table_size holds every weighted
 * backend. config_parse() runs it, and so does everything that builds a
 * configuration another way (desired.c, the planner): --check-config and
 * apply refuse the same files. name prefixes the message ("FILE:LINE: path:
 * problem"; the line is left out when unknown). Returns 0, -EINVAL or
 * -ENOMEM. err may be NULL.
 */
int config_validate(const struct flb_config *cfg, const char *name, char *err, size_t errlen);

/* True when addr lies in one of the node's pod CIDRs (config_node.c). */
bool config_pod_local(const struct flb_pods_cfg *pods, const struct flb_addr *addr);

/* Frees what a successful parse allocated and zeroes *cfg; safe to repeat. */
void config_free(struct flb_config *cfg);

#endif
