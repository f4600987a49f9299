// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus text renderer (see metrics.h). Each family is written whole
 * (HELP, TYPE, then all its samples) because the format forbids
 * interleaving. Label values are escaped per the format (backslash, double
 * quote, newline); HELP texts escape backslash and newline.
 *
 * The service of a VIP or backend is the label vip_service: "service" is a
 * target label of the Prometheus Operator (the Kubernetes Service scraped)
 * and would be renamed exported_service without honorLabels. With
 * metrics.node_label, every sample carries node="<node name>" first.
 *
 * Labels and why: map counters are per slot, so per-backend traffic is
 * labelled by address and backend_id (an id is per address and shared by
 * the services naming it; with the id in the label a series stays
 * monotonic even when ids are recycled), per-VIP traffic by service and
 * vip. Status families are per (service, backend) or per (service, vip), as
 * the daemon knows them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"
#include "etcd.h"
#include "flb_version.h"
#include "k8s_status.h"
#include "metrics.h"
#include "outlier_run.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))


static const char *const reason_labels[] = {
#define LABEL(n, label) label,
	FLB_REASONS(LABEL)
#undef LABEL
};
static const char *const event_labels[] = {
#define LABEL(n, label) label,
	FLB_EVENTS(LABEL)
#undef LABEL
};

/* ---- buffer ---- */

static bool reserve(struct metrics_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	while (cap < b->len + more + 1)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static void vprint(struct metrics_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void metrics_buf_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(b, fmt, ap);
	va_end(ap);
}

void metrics_buf_free(struct metrics_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static void put_char(struct metrics_buf *b, char c)
{
	if (!reserve(b, 1))
		return;
	b->data[b->len++] = c;
	b->data[b->len] = 0;
}

/* in_label: also escape '"' (label values); HELP text escapes only \ and newline. */
static void put_escaped(struct metrics_buf *b, const char *s, bool in_label)
{
	for (; *s; s++) {
		if (*s == '\\') {
			metrics_buf_printf(b, "\\\\");
		} else if (*s == '\n') {
			metrics_buf_printf(b, "\\n");
		} else if (*s == '"' && in_label) {
			metrics_buf_printf(b, "\\\"");
		} else {
			put_char(b, *s);
		}
	}
}

/* ---- families and samples ---- */

static void family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
	metrics_buf_printf(b, "# HELP %s ", name);
	put_escaped(b, help, false);
	metrics_buf_printf(b, "\n# TYPE %s %s\n", name, type);
}

/* One sample: name{k1="v1",...} value. The label list is (key, value)
 * pairs ended by NULL; value is preformatted. */
static void sample(struct metrics_buf *b, const char *name, const char *value, ...)
{
	const char *key;
	bool first = true;
	va_list ap;

	metrics_buf_printf(b, "%s", name);
	if (b->node && *b->node) {
		metrics_buf_printf(b, "{node=\"");
		put_escaped(b, b->node, true);
		put_char(b, '"');
		first = false;
	}
	va_start(ap, value);
	while ((key = va_arg(ap, const char *))) {
		const char *val = va_arg(ap, const char *);

		metrics_buf_printf(b, "%s%s=\"", first ? "{" : ",", key);
		put_escaped(b, val ? val : "", true);
		put_char(b, '"');
		first = false;
	}
	va_end(ap);
	metrics_buf_printf(b, "%s %s\n", first ? "" : "}", value);
}

static const char *u64s(char *buf, uint64_t v)
{
	sprintf(buf, "%llu", (unsigned long long)v);
	return buf;
}

/* ---- map families ---- */

static const char *vip_service(const struct metrics_snapshot *s, const char *vip)
{
	for (size_t i = 0; s->st && i < s->st->n_vips; i++)
		if (!strcmp(s->st->vips[i].vip, vip))
			return s->st->vips[i].service;
	return "";
}

static void render_dataplane(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char v[24];

	family(b, "fluxlb_packets_total", "counter",
	       "Packets by the reason they left a fluxlb program (one reason per packet): the "
	       "XDP balancer, and the node role's decap and tc reverse NAT.");
	for (int r = 0; r < FLB_R_MAX; r++)
		sample(b, "fluxlb_packets_total", u64s(v, s->reasons[r]), "reason", reason_labels[r],
		       NULL);
	family(b, "fluxlb_events_total", "counter",
	       "Dataplane events; a packet may count several. ct_miss: TCP non-SYN packet without "
	       "a conntrack entry (predicts resets after a table change); udp_new_flow: UDP "
	       "datagram without an entry.");
	for (int e = 0; e < FLB_E_MAX; e++)
		sample(b, "fluxlb_events_total", u64s(v, s->events[e]), "event", event_labels[e],
		       NULL);
	family(b, "fluxlb_flood_threshold", "gauge",
	       "Flood defence: new flows per second above which SYNs get no conntrack entry "
	       "(scope cpu: each CPU's share, as the dataplane applies it; scope node: that share "
	       "times the online CPUs, the configured value rounded up); 0: off.");
	sample(b, "fluxlb_flood_threshold", u64s(v, s->flood_nfps_node), "scope", "node", NULL);
	sample(b, "fluxlb_flood_threshold", u64s(v, s->flood_nfps_cpu), "scope", "cpu", NULL);
	family(b, "fluxlb_flood_mode", "gauge",
	       "1 while some CPU is in flood mode (its SYNs without an entry are steered by "
	       "Maglev and make none), else 0.");
	sample(b, "fluxlb_flood_mode", s->flood_cpus ? "1" : "0", NULL);
	family(b, "fluxlb_flood_cpus", "gauge", "CPUs in flood mode now.");
	sample(b, "fluxlb_flood_cpus", u64s(v, s->flood_cpus), NULL);
	family(b, "fluxlb_flood_window_new_flows", "gauge",
	       "New flows counted in the CPUs' current one-second windows (0 while off).");
	sample(b, "fluxlb_flood_window_new_flows", u64s(v, s->flood_window_flows), NULL);
}

/* The three counters of struct flb_traffic, per VIP and per backend. */
static const struct {
	const char *name;
	size_t off;
	const char *help;
} traffic_fields[] = {
	{ "packets", offsetof(struct flb_traffic, packets), "packets steered, as received." },
	{ "bytes", offsetof(struct flb_traffic, bytes),
	  "bytes steered, as received (before encapsulation)." },
	{ "new_flows", offsetof(struct flb_traffic, new_flows),
	  "connections that took a fresh Maglev pick (conntrack entries created)." },
};

static uint64_t traffic_field(const struct flb_traffic *t, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)t + off, sizeof(v));
	return v;
}

static void render_vips(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char v[24], name[64], help[160];

	for (size_t f = 0; f < ARRAY_SIZE(traffic_fields); f++) {
		snprintf(name, sizeof(name), "fluxlb_vip_%s_total", traffic_fields[f].name);
		snprintf(help, sizeof(help), "Per VIP: %s", traffic_fields[f].help);
		family(b, name, "counter", help);
		for (size_t i = 0; i < s->n_vips; i++) {
			const struct metrics_vip *x = &s->vips[i];

			sample(b, name, u64s(v, traffic_field(&x->traffic, traffic_fields[f].off)),
			       "vip_service", vip_service(s, x->vip), "vip", x->vip, NULL);
		}
	}
}

static void render_backends(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char v[24], id[16], name[64], help[160];

	for (size_t f = 0; f < ARRAY_SIZE(traffic_fields); f++) {
		snprintf(name, sizeof(name), "fluxlb_backend_%s_total", traffic_fields[f].name);
		snprintf(help, sizeof(help), "Per backend address and id, all VIPs together: %s",
			 traffic_fields[f].help);
		family(b, name, "counter", help);
		for (size_t i = 0; i < s->n_backends; i++) {
			const struct metrics_backend *x = &s->backends[i];

			snprintf(id, sizeof(id), "%u", x->id);
			sample(b, name, u64s(v, traffic_field(&x->traffic, traffic_fields[f].off)),
			       "backend", x->address, "backend_id", id, NULL);
		}
	}
	family(b, "fluxlb_backend_generation", "gauge",
	       "Generation of the backend id: bumped whenever the id goes to another address.");
	for (size_t i = 0; i < s->n_backends; i++) {
		snprintf(id, sizeof(id), "%u", s->backends[i].id);
		sample(b, "fluxlb_backend_generation", u64s(v, s->backends[i].gen), "backend",
		       s->backends[i].address, "backend_id", id, NULL);
	}
}

/* ---- status families ---- */

static void render_backend_status(const struct flb_status *st, struct metrics_buf *b)
{
	static const char *const states[] = {
		[FLB_ADMIN_ACTIVE] = "up",
		[FLB_ADMIN_DRAINING] = "draining",
		[FLB_ADMIN_DOWN] = "down",
	};
	char v[24];

	family(b, "fluxlb_backend_state", "gauge",
	       "1 for the backend's state in the service (up, draining, down), 0 for the others.");
	for (size_t i = 0; i < st->n_backends; i++) {
		const struct flb_status_backend *be = &st->backends[i];

		for (unsigned k = 0; k < sizeof(states) / sizeof(states[0]); k++)
			sample(b, "fluxlb_backend_state", be->admin == k ? "1" : "0", "vip_service",
			       be->service, "backend", be->address, "state", states[k], NULL);
	}
	family(b, "fluxlb_backend_weight", "gauge", "Configured weight of the backend in the service.");
	for (size_t i = 0; i < st->n_backends; i++)
		sample(b, "fluxlb_backend_weight", u64s(v, st->backends[i].weight), "vip_service",
		       st->backends[i].service, "backend", st->backends[i].address, NULL);
	family(b, "fluxlb_backend_effective_weight", "gauge",
	       "Weight of the backend in the service's table now: 0 when down, the configured "
	       "weight scaled by its load factor (in hundredths) under load_weights.");
	for (size_t i = 0; i < st->n_backends; i++)
		sample(b, "fluxlb_backend_effective_weight",
		       u64s(v, st->backends[i].effective_weight), "vip_service",
		       st->backends[i].service, "backend", st->backends[i].address, NULL);
	family(b, "fluxlb_backend_load_reports_bad_total", "counter",
	       "load_weights health bodies that could not be read (the weight was kept).");
	for (size_t i = 0; i < st->n_backends; i++)
		sample(b, "fluxlb_backend_load_reports_bad_total",
		       u64s(v, st->backends[i].load_bad_reports), "vip_service",
		       st->backends[i].service, "backend", st->backends[i].address, NULL);
	family(b, "fluxlb_backend_health_checks_total", "counter",
	       "Health checks of the backend by result (ok, failed).");
	for (size_t i = 0; i < st->n_backends; i++) {
		const struct flb_status_backend *be = &st->backends[i];

		sample(b, "fluxlb_backend_health_checks_total", u64s(v, be->checks_ok), "vip_service",
		       be->service, "backend", be->address, "result", "ok", NULL);
		sample(b, "fluxlb_backend_health_checks_total", u64s(v, be->checks_failed),
		       "vip_service", be->service, "backend", be->address, "result", "failed", NULL);
	}
	family(b, "fluxlb_backend_flows", "gauge",
	       "Live conntrack entries naming the backend at the daemon's last count "
	       "(draining backends).");
	for (size_t i = 0; i < st->n_backends; i++)
		if (st->backends[i].flows >= 0)
			sample(b, "fluxlb_backend_flows", u64s(v, (uint64_t)st->backends[i].flows),
			       "vip_service", st->backends[i].service, "backend",
			       st->backends[i].address, NULL);
}

static uint64_t vip_table_size(const struct flb_status_vip *x) { return x->table_size; }
static uint64_t vip_rebuilds(const struct flb_status_vip *x) { return x->rebuilds; }
static uint64_t vip_last_changed(const struct flb_status_vip *x) { return x->last_changed; }
static uint64_t vip_excess_total(const struct flb_status_vip *x) { return x->excess_total; }
static uint64_t vip_panic(const struct flb_status_vip *x) { return x->panic; }
static uint64_t vip_load_changes(const struct flb_status_vip *x) { return x->load_changes; }

static const struct {
	const char *name, *type, *help;
	uint64_t (*get)(const struct flb_status_vip *x);
} vip_families[] = {
	{ "fluxlb_vip_table_size", "gauge", "Slots (M) of the VIP's current Maglev table.",
	  vip_table_size },
	{ "fluxlb_vip_table_rebuilds_total", "counter",
	  "Maglev tables built and swapped in for the VIP since the daemon started.", vip_rebuilds },
	{ "fluxlb_vip_table_last_changed_slots", "gauge",
	  "Slots whose backend changed in the VIP's last table rebuild.", vip_last_changed },
	{ "fluxlb_vip_excess_disruption_slots_total", "counter",
	  "Slots moved between backends present both before and after a rebuild "
	  "(a perfect consistent hash moves none).", vip_excess_total },
	{ "fluxlb_vip_panic", "gauge",
	  "1 while too few backends are healthy and the VIP routes to all of them.", vip_panic },
	{ "fluxlb_vip_load_weight_changes_total", "counter",
	  "Changes of load_weights factors applied to the service (each rebuilds the VIP's table).",
	  vip_load_changes },
};

static void render_vip_status(const struct flb_status *st, struct metrics_buf *b)
{
	char v[24], fp[20];

	for (size_t f = 0; f < ARRAY_SIZE(vip_families); f++) {
		family(b, vip_families[f].name, vip_families[f].type, vip_families[f].help);
		for (size_t i = 0; i < st->n_vips; i++)
			sample(b, vip_families[f].name, u64s(v, vip_families[f].get(&st->vips[i])),
			       "vip_service", st->vips[i].service, "vip", st->vips[i].vip, NULL);
	}
	family(b, "fluxlb_vip_table_info", "gauge",
	       "Always 1; fingerprint is maglev_fingerprint of the VIP's current table "
	       "(equal on every node built from the same configuration).");
	for (size_t i = 0; i < st->n_vips; i++) {
		snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)st->vips[i].fingerprint);
		sample(b, "fluxlb_vip_table_info", "1", "vip_service", st->vips[i].service, "vip",
		       st->vips[i].vip, "fingerprint", fp, NULL);
	}
}

static void render_fill(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	char v[24];

	family(b, "fluxlb_map_entries", "gauge",
	       "Entries in an LRU table (flb_conntrack, flb_frags), counted by walking it (at "
	       "most every 5 s); at fluxlb_map_max_entries the kernel evicts the least recently "
	       "used entries.");
	for (size_t i = 0; i < s->n_fill; i++)
		sample(b, "fluxlb_map_entries", u64s(v, s->fill[i].entries), "map", s->fill[i].map,
		       NULL);
	family(b, "fluxlb_map_max_entries", "gauge", "Capacity (max_entries) of an LRU table.");
	for (size_t i = 0; i < s->n_fill; i++)
		sample(b, "fluxlb_map_max_entries", u64s(v, s->fill[i].capacity), "map",
		       s->fill[i].map, NULL);
}

static void render_ifaces(const struct metrics_snapshot *s, struct metrics_buf *b)
{
	family(b, "fluxlb_interface_xdp_info", "gauge",
	       "Always 1 per interface the daemon attached to; mode is the interface's XDP hook "
	       "as the kernel reports it (native, skb, offload, none), program whether the "
	       "balancer itself is attached there (balancer), another program is (other: "
	       "libxdp's dispatcher or someone else's) or none.");
	for (size_t i = 0; i < s->n_ifaces; i++)
		sample(b, "fluxlb_interface_xdp_info", "1", "interface", s->ifaces[i].name, "mode",
		       s->ifaces[i].mode, "program", s->ifaces[i].program, NULL);
}

/* The names and meanings of the official Prometheus client libraries. */
static void render_process(const struct proc_stats *p, struct metrics_buf *b)
{
	char v[40];

	family(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
	snprintf(v, sizeof(v), "%.2f", p->cpu_seconds);
	sample(b, "process_cpu_seconds_total", v, NULL);
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sample(b, "process_resident_memory_bytes", u64s(v, p->rss_bytes), NULL);
	family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	sample(b, "process_virtual_memory_bytes", u64s(v, p->vsize_bytes), NULL);
	family(b, "process_start_time_seconds", "gauge",
	       "Start time of the process since unix epoch in seconds.");
	snprintf(v, sizeof(v), "%.2f", p->start_time_s);
	sample(b, "process_start_time_seconds", v, NULL);
	family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	sample(b, "process_open_fds", u64s(v, p->open_fds), NULL);
	family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
	sample(b, "process_max_fds", u64s(v, p->max_fds), NULL);
}

/* Only with an announce section (docs/bgp.md). */
static void render_announce(const struct flb_status *st, struct metrics_buf *b)
{
	char v[24];

	family(b, "fluxlb_announce_vips", "gauge",
	       "VIP addresses announced now (host routes in the announce table).");
	sample(b, "fluxlb_announce_vips", u64s(v, st->vips_announced), NULL);
	family(b, "fluxlb_announce_changes_total", "counter",
	       "VIP routes added (announce) and deleted (withdraw) in the announce table.");
	sample(b, "fluxlb_announce_changes_total", u64s(v, st->announces), "action", "announce",
	       NULL);
	sample(b, "fluxlb_announce_changes_total", u64s(v, st->withdraws), "action", "withdraw",
	       NULL);
	family(b, "fluxlb_announce_errors_total", "counter",
	       "Route writes to the announce table that failed (retried on the next change).");
	sample(b, "fluxlb_announce_errors_total", u64s(v, st->announce_errors), NULL);
	family(b, "fluxlb_vip_announced", "gauge",
	       "1 when the VIP's address is announced by this node, 0 when withdrawn.");
	for (size_t i = 0; i < st->n_vips; i++)
		sample(b, "fluxlb_vip_announced", st->vips[i].announced ? "1" : "0", "vip_service",
		       st->vips[i].service, "vip", st->vips[i].vip, NULL);
}

static void render_daemon_status(const struct flb_status *st, struct metrics_buf *b)
{
	const char *name = "fluxlb_reconcile_duration_seconds";
	char v[24], le[32], sum[40], key[64];
	uint64_t prev = 0;

	family(b, "fluxlb_ready", "gauge",
	       "1 once the daemon has filled the maps and attached the program.");
	sample(b, "fluxlb_ready", st->ready ? "1" : "0", NULL);
	family(b, "fluxlb_config_reloads_total", "counter",
	       "Configuration reloads by result (ok, rejected: the running state kept serving).");
	sample(b, "fluxlb_config_reloads_total", u64s(v, st->reloads_ok), "result", "ok", NULL);
	sample(b, "fluxlb_config_reloads_total", u64s(v, st->reloads_rejected), "result", "rejected",
	       NULL);
	family(b, "fluxlb_config_last_reload_successful", "gauge",
	       "1 when the last load of the configuration was applied, 0 when it was rejected.");
	sample(b, "fluxlb_config_last_reload_successful", st->last_reload_ok ? "1" : "0", NULL);
	family(b, "fluxlb_config_last_reload_success_timestamp_seconds", "gauge",
	       "When the configuration was last applied (Unix time; 0: never).");
	snprintf(v, sizeof(v), "%.3f", st->last_reload_success_s);
	sample(b, "fluxlb_config_last_reload_success_timestamp_seconds", v, NULL);

	if (st->has_source) {
		family(b, "fluxlb_source_up", "gauge",
		       "1 when the registry source answered its last attempt (only with a source).");
		sample(b, "fluxlb_source_up", st->source_up ? "1" : "0", NULL);
		family(b, "fluxlb_source_updates_total", "counter",
		       "Views of the services taken from the registry source.");
		sample(b, "fluxlb_source_updates_total", u64s(v, st->source_updates), NULL);
		k8s_writer_metrics(b); /* kubernetes only: the status writer's counters */
		/* Process-wide counters of the etcd client (0 with other sources). */
		family(b, "fluxlb_etcd_failures_total", "counter",
		       "etcd requests refused for TLS (certificate verify failed, client certificate "
		       "refused) or auth (login failed, permission denied).");
		sample(b, "fluxlb_etcd_failures_total", u64s(v, etcd_failures(ETCD_FAIL_TLS)), "kind",
		       "tls", NULL);
		sample(b, "fluxlb_etcd_failures_total", u64s(v, etcd_failures(ETCD_FAIL_AUTH)), "kind",
		       "auth", NULL);
		desired_metrics(b); /* kubernetes only: file entries refused for their vip */
	}

	if (st->announce_on)
		render_announce(st, b);

	family(b, name, "histogram", "Time to write a desired state into the maps.");
	snprintf(key, sizeof(key), "%s_bucket", name);
	for (int i = 0; i < FLB_RECONCILE_BUCKETS; i++) {
		/* The status keeps cumulative counts; never let one go down. */
		uint64_t c = st->reconcile_buckets[i] > prev ? st->reconcile_buckets[i] : prev;

		if (c > st->reconcile_count)
			c = st->reconcile_count;
		prev = c;
		snprintf(le, sizeof(le), "%g", flb_reconcile_bounds[i]);
		sample(b, key, u64s(v, c), "le", le, NULL);
	}
	sample(b, key, u64s(v, st->reconcile_count), "le", "+Inf", NULL);
	snprintf(key, sizeof(key), "%s_sum", name);
	snprintf(sum, sizeof(sum), "%.17g", st->reconcile_sum_s);
	sample(b, key, sum, NULL);
	snprintf(key, sizeof(key), "%s_count", name);
	sample(b, key, u64s(v, st->reconcile_count), NULL);
}

int metrics_render(const struct metrics_snapshot *s, struct metrics_buf *out)
{
	char abi[12];

	out->node = s->node;
	snprintf(abi, sizeof(abi), "%d", FLB_ABI_VERSION);
	family(out, "fluxlb_build_info", "gauge", "Always 1; labels name the build.");
	sample(out, "fluxlb_build_info", "1", "version", FLB_VERSION, "abi", abi, NULL);
	family(out, "fluxlb_maps_up", "gauge",
	       "1 when the pinned maps were read for this scrape; 0: the dataplane families "
	       "are missing.");
	sample(out, "fluxlb_maps_up", s->maps_ok ? "1" : "0", NULL);
	if (s->maps_ok) {
		render_dataplane(s, out);
		render_vips(s, out);
		render_backends(s, out);
		render_fill(s, out);
	}
	if (s->ifaces)
		render_ifaces(s, out);
	if (s->proc)
		render_process(s->proc, out);
	if (s->st) {
		render_daemon_status(s->st, out);
		render_vip_status(s->st, out);
		render_backend_status(s->st, out);
		outlier_metrics(out);
	}
	return out->failed ? -ENOMEM : 0;
}
