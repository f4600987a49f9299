// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Prometheus renderer on hand-built snapshots: every family has HELP and
 * TYPE before its samples and is not interleaved with another, label values
 * are escaped, the histogram is cumulative with +Inf equal to the count,
 * labels join map data to the status, and every line parses as text format
 * 0.0.4 by the small checker below (so promtool is not needed here; the
 * e2e test runs promtool on a live scrape).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "flb_test.h"
#include "metrics.h"

static struct flb_status_vip st_vips[2] = {
	{ .service = "web", .vip = "10.100.0.1:80/tcp", .vip_id = 0, .table_size = 251,
	  .fingerprint = 0x00c0ffee12345678ULL, .rebuilds = 3, .last_changed = 84,
	  .last_excess = 2, .excess_total = 5, .panic = false },
	{ .service = "dns", .vip = "[fd00:100::1]:53/udp", .vip_id = 1, .table_size = 509,
	  .fingerprint = 0xfedcba9876543210ULL, .rebuilds = 1, .panic = true },
};

static struct flb_status_backend st_bes[3] = {
	{ .service = "web", .address = "10.10.2.11", .backend_id = 1, .weight = 1,
	  .admin = FLB_ADMIN_ACTIVE, .health = FLB_HEALTH_UP, .checks_ok = 10, .checks_failed = 1,
	  .flows = -1 },
	{ .service = "web", .address = "10.10.2.12", .backend_id = 2, .weight = 0,
	  .admin = FLB_ADMIN_DRAINING, .flows = 7 },
	{ .service = "dns", .address = "fd00:10:2::11", .backend_id = 3, .weight = 5,
	  .admin = FLB_ADMIN_DOWN, .health = FLB_HEALTH_DOWN, .checks_failed = 4, .flows = -1 },
};

static const struct metrics_vip m_vips[2] = {
	{ .vip = "10.100.0.1:80/tcp", .id = 0, .traffic = { 100, 6400, 10 } },
	{ .vip = "10.100.0.9:443/tcp", .id = 4, .traffic = { 1, 60, 1 } }, /* not in status */
};

static const struct metrics_backend m_bes[2] = {
	{ .address = "10.10.2.11", .id = 1, .gen = 1, .state = FLB_BE_ACTIVE, .traffic = { 60, 3840, 6 } },
	{ .address = "10.10.2.12", .id = 2, .gen = 4, .state = FLB_BE_DRAINING, .traffic = { 40, 2560, 4 } },
};

static void fill_status(struct flb_status *st)
{
	memset(st, 0, sizeof(*st));
	st->ready = true;
	st->reloads_ok = 2;
	st->reloads_rejected = 1;
	st->vips = st_vips;
	st->n_vips = 2;
	st->backends = st_bes;
	st->n_backends = 3;
	/* Three reconciles: 0.3 ms, 2 ms, 0.7 s (cumulative, as status keeps them). */
	for (int i = 0; i < FLB_RECONCILE_BUCKETS; i++) {
		double le = flb_reconcile_bounds[i];

		st->reconcile_buckets[i] = (0.0003 <= le) + (0.002 <= le) + (0.7 <= le);
	}
	st->reconcile_count = 3;
	st->reconcile_sum_s = 0.7023;
	st->has_source = true;
	st->source_up = true;
	st->source_updates = 12;
	st->last_reload_ok = false;
	st->last_reload_success_s = 1764669600.25;
}

static const struct proc_stats proc = {
	.cpu_seconds = 1.5, .rss_bytes = 12345678, .vsize_bytes = 987654321,
	.start_time_s = 1764669000.5, .open_fds = 17, .max_fds = 1024,
};

static const struct metrics_fill m_fill[] = { { .map = "flb_conntrack", .entries = 7, .capacity = 262144 } };
static const struct metrics_iface m_ifaces[] = { { .name = "eth0", .mode = "skb", .program = "other" } };

static void fill(struct metrics_snapshot *s, struct flb_status *st)
{
	memset(s, 0, sizeof(*s));
	s->fill = m_fill;
	s->n_fill = 1;
	s->ifaces = m_ifaces;
	s->n_ifaces = 1;
	s->maps_ok = true;
	for (int r = 0; r < FLB_R_MAX; r++)
		s->reasons[r] = 1000 + r;
	for (int e = 0; e < FLB_E_MAX; e++)
		s->events[e] = 2000 + e;
	s->vips = m_vips;
	s->n_vips = 2;
	s->backends = m_bes;
	s->n_backends = 2;
	fill_status(st);
	s->st = st;
	s->proc = &proc;
}

static char *render(const struct metrics_snapshot *s)
{
	struct metrics_buf b = {};

	if (!ASSERT_OK(metrics_render(s, &b), "render")) {
		metrics_buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* True when text has a line equal to line. */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define ASSERT_LINE(text, line)                                                     \
	(has_line((text), (line)) ? true                                            \
				  : flb_test_fail(__FILE__, __LINE__, "no line: %s", (line)))
#define ASSERT_NO_LINE_STARTING(text, start)                                        \
	(!strstr((text), "\n" start) ? true                                          \
				     : flb_test_fail(__FILE__, __LINE__, "unexpected: %s", (start)))

/* ---- a small text-format checker ---- */

static const char *metric_name(const char *p, char *out, size_t len)
{
	size_t n = 0;

	if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
		return NULL;
	while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
		n++;
	if (n >= len)
		return NULL;
	memcpy(out, p, n);
	out[n] = 0;
	return p + n;
}

/* {k="v",...}: names [a-zA-Z_][a-zA-Z0-9_]*, values with \\ \" \n only. */
static const char *labels(const char *p)
{
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		if (!(isalpha((unsigned char)*p) || *p == '_'))
			return NULL;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		if (*p++ != '=' || *p++ != '"')
			return NULL;
		while (*p != '"') {
			if (*p == '\n' || !*p)
				return NULL;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return NULL;
			}
			p++;
		}
		p++;
		if (*p == ',')
			p++;
		else if (*p != '}')
			return NULL;
	}
	return p + 1;
}

static bool value_ok(const char *p, const char *end)
{
	char buf[64], *e;

	if (end - p <= 0 || end - p >= (long)sizeof(buf))
		return false;
	memcpy(buf, p, end - p);
	buf[end - p] = 0;
	if (!strcmp(buf, "+Inf") || !strcmp(buf, "-Inf") || !strcmp(buf, "NaN"))
		return true;
	strtod(buf, &e);
	return *e == 0;
}

/* Every line is HELP, TYPE or a sample of the family last typed; no family
 * is typed twice; counters end in _total. Returns the number of samples,
 * or -1 after reporting the bad line. */
static int check_format(const char *text)
{
	char family[128] = "", type[16] = "", name[128], seen[8192] = " ";
	int samples = 0;

	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n'), *p;

		if (!eol)
			return flb_test_fail(__FILE__, __LINE__, "last line not ended: %s", line), -1;
		if (!strncmp(line, "# HELP ", 7)) {
			p = metric_name(line + 7, name, sizeof(name));
			if (!p || *p != ' ')
				goto bad;
		} else if (!strncmp(line, "# TYPE ", 7)) {
			char key[140];

			p = metric_name(line + 7, family, sizeof(family));
			if (!p || sscanf(p, " %15s", type) != 1)
				goto bad;
			if (strcmp(type, "counter") && strcmp(type, "gauge") &&
			    strcmp(type, "histogram"))
				goto bad;
			if (!strcmp(type, "counter") &&
			    strcmp(family + strlen(family) - 6, "_total"))
				goto bad;
			snprintf(key, sizeof(key), " %s ", family);
			if (strstr(seen, key))
				goto bad; /* typed twice: interleaved */
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
			/* HELP must come right before TYPE of the same name. */
			if (strcmp(name, family))
				goto bad;
		} else {
			size_t fl = strlen(family);
			const char *sp;

			p = metric_name(line, name, sizeof(name));
			if (!p || !(p = labels(p)) || *p != ' ')
				goto bad;
			sp = p + 1;
			if (!value_ok(sp, eol))
				goto bad;
			if (strncmp(name, family, fl) ||
			    (name[fl] && (strcmp(type, "histogram") ||
					  (strcmp(name + fl, "_bucket") && strcmp(name + fl, "_sum") &&
					   strcmp(name + fl, "_count")))))
				goto bad;
			samples++;
		}
		line = eol + 1;
		continue;
bad:
		flb_test_fail(__FILE__, __LINE__, "bad line: %.*s", (int)(eol - line), line);
		return -1;
	}
	return samples;
}

/* ---- tests ---- */

TEST(well_formed_text_format)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	ASSERT_GE(check_format(t), 60, "samples");
	free(t);
}

TEST(every_family_has_help_and_type)
{
	static const char *const families[][2] = {
		{ "fluxlb_build_info", "gauge" },
		{ "fluxlb_maps_up", "gauge" },
		{ "fluxlb_packets_total", "counter" },
		{ "fluxlb_events_total", "counter" },
		{ "fluxlb_flood_threshold", "gauge" },
		{ "fluxlb_flood_mode", "gauge" },
		{ "fluxlb_flood_cpus", "gauge" },
		{ "fluxlb_flood_window_new_flows", "gauge" },
		{ "fluxlb_vip_packets_total", "counter" },
		{ "fluxlb_vip_bytes_total", "counter" },
		{ "fluxlb_vip_new_flows_total", "counter" },
		{ "fluxlb_backend_packets_total", "counter" },
		{ "fluxlb_backend_bytes_total", "counter" },
		{ "fluxlb_backend_new_flows_total", "counter" },
		{ "fluxlb_backend_generation", "gauge" },
		{ "fluxlb_backend_state", "gauge" },
		{ "fluxlb_backend_weight", "gauge" },
		{ "fluxlb_backend_effective_weight", "gauge" },
		{ "fluxlb_backend_load_reports_bad_total", "counter" },
		{ "fluxlb_backend_health_checks_total", "counter" },
		{ "fluxlb_backend_flows", "gauge" },
		{ "fluxlb_vip_table_size", "gauge" },
		{ "fluxlb_vip_table_info", "gauge" },
		{ "fluxlb_vip_table_rebuilds_total", "counter" },
		{ "fluxlb_vip_table_last_changed_slots", "gauge" },
		{ "fluxlb_vip_excess_disruption_slots_total", "counter" },
		{ "fluxlb_vip_panic", "gauge" },
		{ "fluxlb_vip_load_weight_changes_total", "counter" },
		{ "fluxlb_reconcile_duration_seconds", "histogram" },
		{ "fluxlb_config_reloads_total", "counter" },
		{ "fluxlb_config_last_reload_successful", "gauge" },
		{ "fluxlb_config_last_reload_success_timestamp_seconds", "gauge" },
		{ "fluxlb_ready", "gauge" },
		{ "fluxlb_map_entries", "gauge" },
		{ "fluxlb_map_max_entries", "gauge" },
		{ "fluxlb_interface_xdp_info", "gauge" },
		{ "process_cpu_seconds_total", "counter" },
		{ "process_resident_memory_bytes", "gauge" },
		{ "process_virtual_memory_bytes", "gauge" },
		{ "process_start_time_seconds", "gauge" },
		{ "process_open_fds", "gauge" },
		{ "process_max_fds", "gauge" },
		{ "fluxlb_source_up", "gauge" },
		{ "fluxlb_source_updates_total", "counter" },
		{ "fluxlb_etcd_failures_total", "counter" },
	};
	struct metrics_snapshot s;
	struct flb_status st;
	char line[160], *t;
	int typed = 0;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		snprintf(line, sizeof(line), "# TYPE %s %s\n", families[i][0], families[i][1]);
		ASSERT_STRCONTAINS(t, line, families[i][0]);
		snprintf(line, sizeof(line), "# HELP %s ", families[i][0]);
		ASSERT_STRCONTAINS(t, line, families[i][0]);
	}
	for (const char *p = t; (p = strstr(p, "# TYPE ")); p++)
		typed++;
	/* A new family must be added to the list above (and to docs/observability.md). */
	ASSERT_EQ(typed, sizeof(families) / sizeof(families[0]), "families rendered");
	free(t);
}

TEST(every_reason_and_event_once)
{
	static const char *const reasons[] = {
#define L(n, label) label,
		FLB_REASONS(L)
	};
	static const char *const events[] = { FLB_EVENTS(L)
#undef L
	};
	struct metrics_snapshot s;
	struct flb_status st;
	char line[128], *t;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	for (int r = 0; r < FLB_R_MAX; r++) {
		snprintf(line, sizeof(line), "fluxlb_packets_total{reason=\"%s\"} %d", reasons[r],
			 1000 + r);
		ASSERT_LINE(t, line);
	}
	for (int e = 0; e < FLB_E_MAX; e++) {
		snprintf(line, sizeof(line), "fluxlb_events_total{event=\"%s\"} %d", events[e],
			 2000 + e);
		ASSERT_LINE(t, line);
	}
	ASSERT_LINE(t, "fluxlb_events_total{event=\"ct_miss\"} 2001");
	free(t);
}

TEST(traffic_labels_join_status)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_vip_packets_total{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 100");
	ASSERT_LINE(t, "fluxlb_vip_bytes_total{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 6400");
	ASSERT_LINE(t, "fluxlb_vip_new_flows_total{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 10");
	/* A VIP the status does not name keeps its vip label; vip_service is empty. */
	ASSERT_LINE(t, "fluxlb_vip_new_flows_total{vip_service=\"\",vip=\"10.100.0.9:443/tcp\"} 1");
	ASSERT_LINE(t, "fluxlb_backend_packets_total{backend=\"10.10.2.11\",backend_id=\"1\"} 60");
	ASSERT_LINE(t, "fluxlb_backend_bytes_total{backend=\"10.10.2.12\",backend_id=\"2\"} 2560");
	ASSERT_LINE(t, "fluxlb_backend_new_flows_total{backend=\"10.10.2.12\",backend_id=\"2\"} 4");
	ASSERT_LINE(t, "fluxlb_backend_generation{backend=\"10.10.2.12\",backend_id=\"2\"} 4");
	free(t);
}

TEST(status_families)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"web\",backend=\"10.10.2.11\",state=\"up\"} 1");
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"web\",backend=\"10.10.2.11\",state=\"draining\"} 0");
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"web\",backend=\"10.10.2.11\",state=\"down\"} 0");
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"web\",backend=\"10.10.2.12\",state=\"draining\"} 1");
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"dns\",backend=\"fd00:10:2::11\",state=\"down\"} 1");
	ASSERT_LINE(t, "fluxlb_backend_state{vip_service=\"dns\",backend=\"fd00:10:2::11\",state=\"up\"} 0");
	ASSERT_LINE(t, "fluxlb_backend_weight{vip_service=\"dns\",backend=\"fd00:10:2::11\"} 5");
	ASSERT_LINE(t, "fluxlb_backend_health_checks_total{vip_service=\"web\",backend=\"10.10.2.11\",result=\"ok\"} 10");
	ASSERT_LINE(t, "fluxlb_backend_health_checks_total{vip_service=\"web\",backend=\"10.10.2.11\",result=\"failed\"} 1");
	ASSERT_LINE(t, "fluxlb_backend_flows{vip_service=\"web\",backend=\"10.10.2.12\"} 7");
	ASSERT_FALSE(strstr(t, "fluxlb_backend_flows{vip_service=\"web\",backend=\"10.10.2.11\"}"),
		     "unknown flow count (-1) is left out");
	ASSERT_LINE(t, "fluxlb_vip_table_size{vip_service=\"dns\",vip=\"[fd00:100::1]:53/udp\"} 509");
	ASSERT_LINE(t, "fluxlb_vip_table_info{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\",fingerprint=\"00c0ffee12345678\"} 1");
	ASSERT_LINE(t, "fluxlb_vip_table_rebuilds_total{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 3");
	ASSERT_LINE(t, "fluxlb_vip_table_last_changed_slots{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 84");
	ASSERT_LINE(t, "fluxlb_vip_excess_disruption_slots_total{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 5");
	ASSERT_LINE(t, "fluxlb_vip_panic{vip_service=\"dns\",vip=\"[fd00:100::1]:53/udp\"} 1");
	ASSERT_LINE(t, "fluxlb_vip_panic{vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 0");
	ASSERT_LINE(t, "fluxlb_config_reloads_total{result=\"ok\"} 2");
	ASSERT_LINE(t, "fluxlb_config_reloads_total{result=\"rejected\"} 1");
	ASSERT_LINE(t, "fluxlb_ready 1");
	ASSERT_LINE(t, "fluxlb_maps_up 1");
	ASSERT_LINE(t, "fluxlb_source_up 1");
	ASSERT_LINE(t, "fluxlb_source_updates_total 12");
	free(t);
}

TEST(source_families_only_with_a_source)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	st.has_source = false;
	t = render(&s);
	if (!t)
		return;
	ASSERT_FALSE(strstr(t, "fluxlb_source_"), "no source families");
	free(t);
}

TEST(histogram_cumulative_with_inf)
{
	struct metrics_snapshot s;
	struct flb_status st;
	uint64_t prev = 0;
	char *t, *p;
	int buckets = 0;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"0.0005\"} 1");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"0.0025\"} 2");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"0.5\"} 2");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"1\"} 3");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"+Inf\"} 3");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_sum 0.70230000000000004");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_count 3");
	for (p = t; (p = strstr(p, "_bucket{le=\"")); p++) {
		char *v = strstr(p, "} ");
		uint64_t n = strtoull(v + 2, NULL, 10);

		ASSERT_GE(n, prev, "bucket counts never go down");
		prev = n;
		buckets++;
	}
	ASSERT_EQ(buckets, FLB_RECONCILE_BUCKETS + 1, "buckets incl. +Inf");
	ASSERT_TRUE(strstr(t, "le=\"+Inf\"") > strstr(t, "le=\"2.5\""), "+Inf is last");
	free(t);
}

TEST(histogram_repairs_non_cumulative_input)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	st.reconcile_buckets[5] = 0; /* a torn or buggy copy: must not go down */
	st.reconcile_buckets[11] = 9; /* nor above the count */
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"0.025\"} 2");
	ASSERT_LINE(t, "fluxlb_reconcile_duration_seconds_bucket{le=\"2.5\"} 3");
	free(t);
}

TEST(label_values_escaped)
{
	static struct flb_status_vip v = { .service = "we\"b\\x\nline2", .vip = "1.2.3.4:80/tcp" };
	static struct flb_status_backend b = { .service = "q\"", .address = "a\\b", .flows = -1 };
	struct metrics_snapshot s = {};
	struct flb_status st = {};
	char *t;

	st.vips = &v;
	st.n_vips = 1;
	st.backends = &b;
	st.n_backends = 1;
	s.st = &st;
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_vip_table_size{vip_service=\"we\\\"b\\\\x\\nline2\",vip=\"1.2.3.4:80/tcp\"} 0");
	ASSERT_LINE(t, "fluxlb_backend_weight{vip_service=\"q\\\"\",backend=\"a\\\\b\"} 0");
	ASSERT_GE(check_format(t), 1, "escaped output parses");
	free(t);
}

TEST(maps_missing_leaves_out_dataplane_families)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	s.maps_ok = false;
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_maps_up 0");
	ASSERT_FALSE(strstr(t, "fluxlb_packets_total"), "no reason family");
	ASSERT_FALSE(strstr(t, "fluxlb_backend_new_flows_total"), "no backend traffic");
	ASSERT_STRCONTAINS(t, "fluxlb_backend_state{", "status families stay");
	ASSERT_GE(check_format(t), 1, "parses");
	free(t);
}

TEST(no_status_only_maps_and_build_info)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char line[128], *t;

	fill(&s, &st);
	s.st = NULL;
	t = render(&s);
	if (!t)
		return;
	/* The version is the library's (objects built at different commits
	 * differ): check the shape only. */
	ASSERT_STRCONTAINS(t, "\nfluxlb_build_info{version=\"", "build info");
	snprintf(line, sizeof(line), "\",abi=\"%d\"} 1\n", FLB_ABI_VERSION);
	ASSERT_STRCONTAINS(strstr(t, "\nfluxlb_build_info{"), line, "abi label");
	ASSERT_FALSE(strstr(t, "fluxlb_ready"), "no status family");
	/* Without status the service label is empty (Prometheus drops it). */
	ASSERT_LINE(t, "fluxlb_vip_packets_total{vip_service=\"\",vip=\"10.100.0.1:80/tcp\"} 100");
	free(t);
}

TEST(large_snapshot_grows_buffer)
{
	enum { N = FLB_MAX_BACKENDS - 1 };
	struct metrics_backend *bes = calloc(N, sizeof(*bes));
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	if (!ASSERT_TRUE(bes != NULL, "calloc"))
		return;
	fill(&s, &st);
	for (int i = 0; i < N; i++) {
		snprintf(bes[i].address, sizeof(bes[i].address), "fd00::%x", i + 1);
		bes[i].id = i + 1;
		bes[i].traffic.new_flows = i;
	}
	s.backends = bes;
	s.n_backends = N;
	t = render(&s);
	if (t) {
		ASSERT_LINE(t, "fluxlb_backend_new_flows_total{backend=\"fd00::1fff\",backend_id=\"8191\"} 8190");
		ASSERT_GE(check_format(t), 4 * N, "samples");
	}
	free(t);
	free(bes);
}

TEST(vip_names)
{
	struct flb_vip_key k = { .port = htons(80), .proto = IPPROTO_TCP, .family = FLB_AF_INET };
	char buf[VIP_NAME_STRLEN];

	inet_pton(AF_INET, "10.100.0.1", k.addr);
	vip_name(&k, buf, sizeof(buf));
	ASSERT_STREQ(buf, "10.100.0.1:80/tcp", "ipv4");
	memset(&k, 0, sizeof(k));
	k.port = htons(53);
	k.proto = IPPROTO_UDP;
	k.family = FLB_AF_INET6;
	inet_pton(AF_INET6, "fd00:100::1", k.addr);
	vip_name(&k, buf, sizeof(buf));
	ASSERT_STREQ(buf, "[fd00:100::1]:53/udp", "ipv6 udp");
	k.port = htons(65535);
	memset(k.addr, 0xff, sizeof(k.addr));
	vip_name(&k, buf, sizeof(buf));
	ASSERT_STREQ(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535/udp", "longest fits");
}

TEST(last_reload_and_process_samples)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	t = render(&s);
	if (!t)
		return;
	ASSERT_STRCONTAINS(t, "\nfluxlb_config_last_reload_successful 0\n", "last reload rejected");
	ASSERT_STRCONTAINS(t, "\nfluxlb_config_last_reload_success_timestamp_seconds 1764669600.250\n",
			   "last success");
	ASSERT_STRCONTAINS(t, "\nprocess_cpu_seconds_total 1.50\n", "cpu");
	ASSERT_STRCONTAINS(t, "\nprocess_resident_memory_bytes 12345678\n", "rss");
	ASSERT_STRCONTAINS(t, "\nprocess_start_time_seconds 1764669000.50\n", "start");
	ASSERT_STRCONTAINS(t, "\nprocess_open_fds 17\n", "fds");
	ASSERT_STRCONTAINS(t, "\nprocess_max_fds 1024\n", "max fds");
	free(t);
	s.proc = NULL;
	t = render(&s);
	if (t)
		ASSERT_TRUE(!strstr(t, "process_"), "no process families without figures");
	free(t);
}

/* proc(5): the comm field may hold spaces and parentheses. */
TEST(proc_stat_is_parsed_from_the_last_parenthesis)
{
	const char *stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 500 0 0 0 "
			   "150 50 0 0 20 0 3 0 100000 123456789 2500 18446744073709551615";
	struct proc_stats p = {};

	if (!ASSERT_OK(proc_stats_parse(stat, 1764600000, 100, 4096, &p), "parse"))
		return;
	ASSERT_TRUE(p.cpu_seconds > 1.99 && p.cpu_seconds < 2.01, "(150 + 50) / 100 s");
	ASSERT_TRUE(p.start_time_s > 1764600999.99 && p.start_time_s < 1764601000.01,
		    "btime + 100000 / 100");
	ASSERT_EQ(p.vsize_bytes, 123456789, "vsize");
	ASSERT_EQ(p.rss_bytes, 2500 * 4096ULL, "rss pages x page size");
	ASSERT_EQ(proc_stats_parse("4242 no parenthesis", 0, 100, 4096, &p), -EINVAL, "bad");
	ASSERT_EQ(proc_stats_parse("1 (x) S 1 2", 0, 100, 4096, &p), -EINVAL, "short");
}

TEST(flood_threshold_mode_and_window_from_the_snapshot)
{
	struct metrics_snapshot s;
	struct flb_status st;
	char *text;

	fill(&s, &st);
	text = render(&s);
	if (text) {
		ASSERT_LINE(text, "fluxlb_flood_threshold{scope=\"node\"} 0");
		ASSERT_LINE(text, "fluxlb_flood_mode 0");
		ASSERT_LINE(text, "fluxlb_events_total{event=\"flood_syn\"} 2013");
	}
	free(text);
	s.flood_nfps_node = 50000;
	s.flood_nfps_cpu = 25000;
	s.flood_cpus = 1;
	s.flood_window_flows = 31000;
	text = render(&s);
	if (text) {
		ASSERT_LINE(text, "fluxlb_flood_threshold{scope=\"node\"} 50000");
		ASSERT_LINE(text, "fluxlb_flood_threshold{scope=\"cpu\"} 25000");
		ASSERT_LINE(text, "fluxlb_flood_mode 1");
		ASSERT_LINE(text, "fluxlb_flood_cpus 1");
		ASSERT_LINE(text, "fluxlb_flood_window_new_flows 31000");
	}
	free(text);
}

TEST(lru_fill_and_interface_xdp_mode)
{
	static const struct metrics_fill f[] = {
		{ .map = "flb_conntrack", .entries = 1234, .capacity = 262144 },
		{ .map = "flb_frags", .entries = 0, .capacity = 16384 },
	};
	static const struct metrics_iface ifs[] = {
		{ .name = "eth0", .mode = "native", .program = "balancer" },
		{ .name = "eth1", .mode = "none", .program = "none" },
	};
	struct metrics_snapshot s;
	struct flb_status st;
	char *t;

	fill(&s, &st);
	s.fill = f;
	s.n_fill = 2;
	s.ifaces = ifs;
	s.n_ifaces = 2;
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_map_entries{map=\"flb_conntrack\"} 1234");
	ASSERT_LINE(t, "fluxlb_map_max_entries{map=\"flb_conntrack\"} 262144");
	ASSERT_LINE(t, "fluxlb_map_entries{map=\"flb_frags\"} 0");
	ASSERT_LINE(t, "fluxlb_interface_xdp_info{interface=\"eth0\",mode=\"native\",program=\"balancer\"} 1");
	ASSERT_LINE(t, "fluxlb_interface_xdp_info{interface=\"eth1\",mode=\"none\",program=\"none\"} 1");
	ASSERT_GE(check_format(t), 60, "well formed");
	free(t);
}

/* metrics.node_label: node="..." first on every sample, labelled or not. */
TEST(node_label_on_every_sample)
{
	struct metrics_snapshot s;
	struct flb_status st;
	const char *p;
	char *t;
	int samples = 0;

	fill(&s, &st);
	s.node = "worker-\"1\"";
	t = render(&s);
	if (!t)
		return;
	ASSERT_LINE(t, "fluxlb_ready{node=\"worker-\\\"1\\\"\"} 1");
	ASSERT_LINE(t, "fluxlb_vip_packets_total{node=\"worker-\\\"1\\\"\",vip_service=\"web\",vip=\"10.100.0.1:80/tcp\"} 100");
	for (p = t; *p; p = strchr(p, '\n') + 1) {
		if (*p != '#') {
			samples++;
			if (!ASSERT_TRUE(strstr(p, "{node=\"worker-") == strpbrk(p, "{ "), "node first"))
				break;
		}
		if (!strchr(p, '\n'))
			break;
	}
	ASSERT_GE(samples, 60, "samples");
	ASSERT_GE(check_format(t), 60, "well formed");
	free(t);
}
