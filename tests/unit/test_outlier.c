// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The passive outlier detector's decision (outlier.h): windows, the ratio
 * and min_new_flows, cool-downs that grow on repeat and decay, the
 * max_ejection_percent cap, counters that restart, and the configuration
 * keys (affinity too). What the dataplane counts is tests/bpf/test_guard.c;
 * the whole loop with real traffic tests/e2e/test_outlier.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "flb_test.h"
#include "outlier.h"
#include "source_kubernetes.h"

#define NB 4

static struct flb_backend_cfg bes[NB];

static struct flb_service_cfg service(void)
{
	struct flb_service_cfg s = { .name = "web", .backends = bes, .n_backends = NB };

	for (int i = 0; i < NB; i++) {
		memset(&bes[i], 0, sizeof(bes[i]));
		addr_parse(i == 0 ? "10.0.0.1" : i == 1 ? "10.0.0.2" : i == 2 ? "10.0.0.3" : "10.0.0.4",
			   &bes[i].addr);
		bes[i].weight = 1;
	}
	s.outlier = (struct flb_outlier_cfg){ .enabled = true, .ratio_pm = 500, .min_new_flows = 20,
					      .window_ms = 10000, .base_ejection_ms = 30000,
					      .max_ejection_percent = 50 };
	return s;
}

/* Cumulative counters: good backends 100 new flows per window and no
 * retransmits; the bad ones (mask) 100 new flows, 60 retransmits. */
static void counters(struct outlier_sample *s, int window, unsigned bad)
{
	for (int b = 0; b < NB; b++) {
		s[b].present = true;
		s[b].new_flows = 100ULL * window;
		s[b].retrans = (bad & (1u << b)) ? 60ULL * window : 0;
	}
}

static int step(struct outlier *o, const struct flb_service_cfg *svc, int window, unsigned bad,
		uint64_t now_ms, struct outlier_event *ev, size_t *n)
{
	struct outlier_sample s[NB];

	counters(s, window, bad);
	return outlier_step(o, svc, s, now_ms, ev, 8, n);
}

TEST(a_backend_over_the_ratio_is_ejected_after_one_window_and_returns)
{
	struct flb_service_cfg svc = service();
	struct outlier o = {};
	struct outlier_event ev[8];
	size_t n;

	ASSERT_EQ(step(&o, &svc, 0, 1, 0, ev, &n), 0, "first look: a baseline only");
	ASSERT_EQ(step(&o, &svc, 1, 1, 5000, ev, &n), 0, "half a window: nothing judged");
	ASSERT_EQ(step(&o, &svc, 1, 1, 10000, ev, &n), 1, "a window: ejected");
	ASSERT_EQ(n, 1, "one event");
	ASSERT_EQ(ev[0].what, OUTLIER_EJECT, "an ejection");
	ASSERT_EQ(ev[0].backend, 0, "of the bad backend");
	ASSERT_EQ(ev[0].ratio_pm, 600, "ratio 60/100");
	ASSERT_EQ(ev[0].ejection_ms, 30000, "base ejection time");
	ASSERT_TRUE(outlier_ejected(&o, "web", &bes[0].addr), "ejected");
	ASSERT_FALSE(outlier_ejected(&o, "web", &bes[1].addr), "a good one is not");
	ASSERT_EQ(step(&o, &svc, 2, 1, 39999, ev, &n), 0, "cool-down not over");
	ASSERT_EQ(step(&o, &svc, 3, 0, 40000, ev, &n), 1, "cool-down over: returned");
	ASSERT_EQ(ev[0].what, OUTLIER_RETURN, "a return");
	ASSERT_FALSE(outlier_ejected(&o, "web", &bes[0].addr), "back");
	outlier_free(&o);
}

TEST(repeat_ejections_last_longer_and_are_forgiven)
{
	struct flb_service_cfg svc = service();
	struct outlier o = {};
	struct outlier_event ev[8];
	size_t n;

	step(&o, &svc, 0, 1, 0, ev, &n);
	step(&o, &svc, 1, 1, 10000, ev, &n); /* ejected 30 s: until 40 s */
	step(&o, &svc, 2, 1, 40000, ev, &n); /* returns, baseline */
	ASSERT_EQ(step(&o, &svc, 3, 1, 50000, ev, &n), 1, "bad again: ejected again");
	ASSERT_EQ(ev[0].ejection_ms, 60000, "twice the base");
	step(&o, &svc, 4, 0, 110000, ev, &n); /* returns at 110 s */
	step(&o, &svc, 5, 0, 120000, ev, &n);
	step(&o, &svc, 6, 0, 150000, ev, &n); /* a quiet cool-down: forgiven once */
	ASSERT_EQ(step(&o, &svc, 7, 1, 160000, ev, &n), 1, "bad a third time");
	ASSERT_EQ(ev[0].ejection_ms, 60000, "one ejection forgiven: twice the base, not three times");
	outlier_free(&o);
}

TEST(min_new_flows_and_the_ratio_are_thresholds)
{
	struct flb_service_cfg svc = service();
	struct outlier o = {};
	struct outlier_event ev[8];
	struct outlier_sample s[NB] = {};
	size_t n;

	for (int b = 0; b < NB; b++)
		s[b].present = true;
	outlier_step(&o, &svc, s, 0, ev, 8, &n);
	s[0].new_flows = 19;
	s[0].retrans = 19;
	ASSERT_EQ(outlier_step(&o, &svc, s, 10000, ev, 8, &n), 0, "19 new flows: too few to judge");
	s[0].new_flows += 100;
	s[0].retrans += 49;
	ASSERT_EQ(outlier_step(&o, &svc, s, 20000, ev, 8, &n), 0, "0.49: under the ratio");
	s[0].new_flows += 100;
	s[0].retrans += 50;
	ASSERT_EQ(outlier_step(&o, &svc, s, 30000, ev, 8, &n), 1, "0.50: at the ratio, ejected");
	outlier_free(&o);
}

TEST(max_ejection_percent_caps_ejections)
{
	struct flb_service_cfg svc = service();
	struct outlier o = {};
	struct outlier_event ev[8];
	size_t n, ejected = 0, capped = 0;

	step(&o, &svc, 0, 7, 0, ev, &n);
	ASSERT_EQ(step(&o, &svc, 1, 7, 10000, ev, &n), 2, "three bad of four, 50%: two ejected");
	for (size_t i = 0; i < n; i++) {
		ejected += ev[i].what == OUTLIER_EJECT;
		capped += ev[i].what == OUTLIER_CAPPED;
	}
	ASSERT_EQ(ejected, 2, "two ejections");
	ASSERT_EQ(capped, 1, "one refused by the cap");
	svc.outlier.max_ejection_percent = 0;
	outlier_free(&o);
	step(&o, &svc, 0, 1, 0, ev, &n);
	ASSERT_EQ(step(&o, &svc, 1, 1, 10000, ev, &n), 0, "max 0%: never ejects");
	outlier_free(&o);
}

TEST(detection_off_returns_ejected_backends_and_counters_restart)
{
	struct flb_service_cfg svc = service();
	struct outlier o = {};
	struct outlier_event ev[8];
	struct outlier_sample s[NB];
	size_t n;

	step(&o, &svc, 0, 1, 0, ev, &n);
	step(&o, &svc, 1, 1, 10000, ev, &n);
	svc.outlier.enabled = false;
	ASSERT_EQ(step(&o, &svc, 2, 1, 11000, ev, &n), 1, "turned off: returned at once");
	ASSERT_FALSE(outlier_ejected(&o, "web", &bes[0].addr), "not ejected");
	svc.outlier.enabled = true;
	step(&o, &svc, 5, 1, 20000, ev, &n);
	counters(s, 1, 0); /* a new dataplane: counters went down */
	ASSERT_EQ(outlier_step(&o, &svc, s, 30000, ev, 8, &n), 0, "a restart is a new baseline");
	outlier_free(&o);
}

TEST(config_keys)
{
	static const char ok[] =
		"interfaces: [eth0]\n"
		"services:\n"
		"  - name: web\n    vip: 10.0.0.1\n    port: 80\n"
		"    affinity: source_ip\n    affinity_timeout: 90s\n"
		"    outlier_detection: {syn_retransmit_ratio: 0.3, min_new_flows: 5, window: 5s,\n"
		"                        base_ejection_time: 10s, max_ejection_percent: 34}\n"
		"    backends: [{address: 10.1.0.1}]\n"
		"  - name: dflt\n    vip: 10.0.0.2\n    port: 80\n"
		"    affinity: source_ip\n    outlier_detection: {}\n"
		"    backends: [{address: 10.1.0.1}]\n"
		"  - name: off\n    vip: 10.0.0.3\n    port: 80\n    backends: [{address: 10.1.0.1}]\n";
	static const char *const bad[] = {
		"    affinity: client\n", "    affinity_timeout: 10s\n",
		"    affinity: source_ip\n    affinity_timeout: 2d\n",
		"    outlier_detection: {syn_retransmit_ratio: 2}\n",
		"    outlier_detection: {max_ejection_percent: 101}\n",
		"    outlier_detection: {window: 10ms}\n",
		"    outlier_detection: {ratio: 0.5}\n",
	};
	struct flb_config cfg = {};
	char err[256], yaml[512];

	if (!ASSERT_OK(config_parse("t.yaml", ok, strlen(ok), &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.services[0].affinity_timeout_s, 90, "affinity_timeout");
	ASSERT_EQ(cfg.services[0].outlier.ratio_pm, 300, "ratio");
	ASSERT_EQ(cfg.services[0].outlier.min_new_flows, 5, "min_new_flows");
	ASSERT_EQ(cfg.services[0].outlier.window_ms, 5000, "window");
	ASSERT_EQ(cfg.services[0].outlier.base_ejection_ms, 10000, "base_ejection_time");
	ASSERT_EQ(cfg.services[0].outlier.max_ejection_percent, 34, "max_ejection_percent");
	ASSERT_EQ(cfg.services[1].affinity_timeout_s, 10800, "default timeout 3h");
	ASSERT_TRUE(cfg.services[1].outlier.enabled, "{}: on with defaults");
	ASSERT_EQ(cfg.services[1].outlier.ratio_pm, 500, "default ratio");
	ASSERT_EQ(cfg.services[2].affinity_timeout_s, 0, "default: no affinity");
	ASSERT_FALSE(cfg.services[2].outlier.enabled, "default: no outlier detection");
	config_free(&cfg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "interfaces: [eth0]\nservices:\n  - name: web\n    vip: 10.0.0.1\n%s", bad[i]);
		ASSERT_NE(config_parse("t.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err)), 0, bad[i]);
		config_free(&cfg);
	}
}

/* More backends than the first allocation holds: records move while a
 * step makes them. */
TEST(many_backends)
{
	static struct flb_backend_cfg many[40];
	struct flb_service_cfg svc = service();
	struct outlier_sample s[40] = {};
	struct outlier_event ev[8];
	struct outlier o = {};
	size_t n;

	for (int i = 0; i < 40; i++) {
		char a[32];

		snprintf(a, sizeof(a), "10.9.0.%d", i + 1);
		memset(&many[i], 0, sizeof(many[i]));
		addr_parse(a, &many[i].addr);
		many[i].weight = 1;
		s[i].present = true;
	}
	svc.backends = many;
	svc.n_backends = 40;
	outlier_step(&o, &svc, s, 0, ev, 8, &n);
	s[39].new_flows = 100;
	s[39].retrans = 90;
	ASSERT_EQ(outlier_step(&o, &svc, s, 10000, ev, 8, &n), 1, "the 40th ejected");
	ASSERT_TRUE(outlier_ejected(&o, "web", &many[39].addr), "ejected");
	ASSERT_EQ(o.n, 40, "one record per backend");
	outlier_free(&o);
}

/* Kubernetes: sessionAffinity ClientIP and its timeoutSeconds become the
 * discovered service's affinity_timeout (source_kubernetes_model.c). */
TEST(kubernetes_session_affinity_maps_to_affinity_timeout)
{
	static const struct {
		const char *spec;
		uint32_t want;
	} cases[] = {
		{ "{\"spec\": {\"sessionAffinity\": \"None\"}}", 0 },
		{ "{\"spec\": {}}", 0 },
		{ "{\"spec\": {\"sessionAffinity\": \"ClientIP\"}}", 10800 },
		{ "{\"spec\": {\"sessionAffinity\": \"ClientIP\", \"sessionAffinityConfig\": {\"clientIP\": {\"timeoutSeconds\": 600}}}}", 600 },
		{ "{\"spec\": {\"sessionAffinity\": \"ClientIP\", \"sessionAffinityConfig\": {\"clientIP\": {\"timeoutSeconds\": 0}}}}", 10800 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *j = cJSON_Parse(cases[i].spec);

		ASSERT_EQ(k8s_affinity_timeout(j), cases[i].want, cases[i].spec);
		cJSON_Delete(j);
	}
}

TEST(flood_prefix_keys)
{
	static const char ok[] = "interfaces: [eth0]\nnode: {flood: {prefix: {new_flows_per_second: 100, ipv4: 16}}}\nservices: []\n";
	static const char bad[] = "interfaces: [eth0]\nnode: {flood: {prefix: {ipv4: 33, new_flows_per_second: 1}}}\nservices: []\n";
	struct flb_config cfg = {};
	char err[256];

	if (ASSERT_OK(config_parse("t.yaml", ok, strlen(ok), &cfg, err, sizeof(err)), err)) {
		ASSERT_EQ(cfg.flood_pfx_nfps, 100, "rate");
		ASSERT_EQ(cfg.flood_pfx_len4, 16, "ipv4");
		ASSERT_EQ(cfg.flood_pfx_len6, 64, "ipv6 default");
	}
	config_free(&cfg);
	ASSERT_NE(config_parse("t.yaml", bad, strlen(bad), &cfg, err, sizeof(err)), 0, "ipv4: 33");
	config_free(&cfg);
}
