// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load-aware weights (load_weight.h): the pure steps from a health body to
 * the integer Maglev weight (bounds, quantisation, hysteresis, the
 * per-service rate limit, bad bodies) and the load_weights keys of the
 * configuration. What the dataplane does with the weights is
 * tests/e2e/test_load_weights.sh.
 */
#include <errno.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "load_weight.h"

static const struct flb_load_cfg cpu = {
	.from = FLB_LOAD_CPU, .min_pm = 100, .max_pm = 1000, .steps = 10,
	.hysteresis_pm = 50, .interval_ms = 10000,
};

TEST(body_fields)
{
	struct flb_load_cfg mem = cpu, w = cpu;
	double v = -1;

	mem.from = FLB_LOAD_MEMORY;
	w.from = FLB_LOAD_WEIGHT;
	ASSERT_OK(lw_parse_body(&cpu, "{\"cpu_percent\": 90, \"memory_percent\": 20}", &v), "cpu");
	ASSERT_TRUE(v == 90, "cpu value");
	ASSERT_OK(lw_parse_body(&mem, "{\"cpu_percent\": 90, \"memory_percent\": 20.5}", &v), "mem");
	ASSERT_TRUE(v == 20.5, "memory value");
	ASSERT_OK(lw_parse_body(&w, "{\"weight\": 0}", &v), "weight 0");
	ASSERT_TRUE(v == 0, "weight value");
}

TEST(bad_bodies_are_refused)
{
	static const char *const bad[] = {
		"", "OK", "{", "[]", "{\"memory_percent\": 10}", "{\"cpu_percent\": \"10\"}",
		"{\"cpu_percent\": -1}", "{\"cpu_percent\": 100.5}", "{\"cpu_percent\": null}",
		"{\"CPU_PERCENT\": 10}",
	};
	double v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(lw_parse_body(&cpu, bad[i], &v), -EINVAL, bad[i]);
	ASSERT_EQ(lw_parse_body(&cpu, NULL, &v), -EINVAL, "no body");
	ASSERT_TRUE(v == 7, "nothing written on error");
}

TEST(bounds_clamp_the_factor)
{
	struct flb_load_cfg c = cpu;

	ASSERT_EQ(lw_raw_pm(&c, 0), 1000u, "idle: max");
	ASSERT_EQ(lw_raw_pm(&c, 50), 500u, "half");
	ASSERT_EQ(lw_raw_pm(&c, 95), 100u, "95 %: clamped to min 0.1");
	ASSERT_EQ(lw_raw_pm(&c, 100), 100u, "100 %: min, never 0");
	c.max_pm = 800;
	ASSERT_EQ(lw_raw_pm(&c, 0), 800u, "max 0.8");
	c.from = FLB_LOAD_WEIGHT;
	ASSERT_EQ(lw_raw_pm(&c, 30), 300u, "weight: percent of the configured one");
}

TEST(quantisation_to_steps)
{
	struct flb_load_cfg c = cpu;

	ASSERT_EQ(lw_quantise_pm(&c, 940), 900u, "down to 0.9");
	ASSERT_EQ(lw_quantise_pm(&c, 950), 1000u, "half up");
	ASSERT_EQ(lw_quantise_pm(&c, 120), 100u, "0.1");
	c.steps = 4;
	ASSERT_EQ(lw_quantise_pm(&c, 600), 500u, "quarters");
	c.min_pm = 150;
	ASSERT_EQ(lw_quantise_pm(&c, 100), 150u, "a level below min is min");
}

TEST(integer_weights)
{
	ASSERT_EQ(lw_weight(1, 1000), 100u, "weight 1 at full: 100 hundredths");
	ASSERT_EQ(lw_weight(1, 100), 10u, "weight 1 at 0.1");
	ASSERT_EQ(lw_weight(3, 900), 270u, "3 x 0.9");
	ASSERT_EQ(lw_weight(1, 1), 1u, "never below 1");
	ASSERT_EQ(lw_weight(0, 500), 0u, "drain stays drain");
	ASSERT_EQ(lw_weight(7, 0), 7u, "not load-weighted: as configured");
	ASSERT_EQ(lw_weight(10000, 1000), 10000u, "saturates at MAGLEV_MAX_WEIGHT");
}

static void report(struct lw_backend *b, double v)
{
	lw_report(b, 0, v);
}

TEST(first_report_moves_at_once_then_rate_limited)
{
	struct lw_backend b[3];
	struct lw_service s = {};

	for (int i = 0; i < 3; i++)
		lw_backend_init(&cpu, &b[i]);
	ASSERT_FALSE(lw_step(&cpu, &s, b, 3, 1000), "no report: nothing moves");
	ASSERT_EQ(b[0].level_pm, 1000u, "starts at max");
	report(&b[0], 90);
	report(&b[1], 10);
	report(&b[2], 10);
	ASSERT_TRUE(lw_step(&cpu, &s, b, 3, 1000), "first change at once");
	ASSERT_EQ(b[0].level_pm, 100u, "90 % cpu: 0.1");
	ASSERT_EQ(b[0].prev_pm, 1000u, "from 1.0");
	ASSERT_EQ(b[1].level_pm, 1000u, "10 % cpu: within hysteresis of 1.0, stays");
	ASSERT_EQ(s.changes, 1u, "one change counted");
	report(&b[0], 10);
	ASSERT_FALSE(lw_step(&cpu, &s, b, 3, 1000 + 9999), "within the interval: held");
	ASSERT_EQ(b[0].level_pm, 100u, "still 0.1");
	ASSERT_TRUE(lw_step(&cpu, &s, b, 3, 1000 + 10000), "after the interval: moves");
	ASSERT_EQ(b[0].level_pm, 900u, "recovered to 0.9");
	ASSERT_EQ(s.changes, 2u, "two changes");
	ASSERT_FALSE(lw_step(&cpu, &s, b, 3, 1000 + 50000), "nothing new: no change");
	ASSERT_EQ(s.changes, 2u, "still two");
}

TEST(hysteresis_holds_a_wobbling_load)
{
	struct lw_backend b;
	struct lw_service s = {};
	uint64_t now = 0;

	lw_backend_init(&cpu, &b);
	report(&b, 50);
	ASSERT_TRUE(lw_step(&cpu, &s, &b, 1, now), "to 0.5");
	ASSERT_EQ(b.level_pm, 500u, "0.5");
	/* A raw factor must be more than half a step (50) + hysteresis (50)
	 * away from the level: 0.4 and 0.6 exactly are not. */
	static const double wobble[] = { 44, 56, 40, 60, 45.5, 54.5 };
	for (size_t i = 0; i < sizeof(wobble) / sizeof(wobble[0]); i++) {
		now += 60000;
		report(&b, wobble[i]);
		ASSERT_FALSE(lw_step(&cpu, &s, &b, 1, now), "wobble holds");
		ASSERT_EQ(b.level_pm, 500u, "still 0.5");
	}
	now += 60000;
	report(&b, 61);
	ASSERT_TRUE(lw_step(&cpu, &s, &b, 1, now), "beyond: moves");
	ASSERT_EQ(b.level_pm, 400u, "0.39 quantised to 0.4");
}

TEST(bad_body_keeps_the_level_counted_logged_once)
{
	struct lw_backend b;
	struct lw_service s = {};

	lw_backend_init(&cpu, &b);
	report(&b, 90);
	ASSERT_TRUE(lw_step(&cpu, &s, &b, 1, 0), "to 0.1");
	ASSERT_TRUE(lw_report(&b, -EINVAL, 0), "first bad: log");
	ASSERT_FALSE(lw_report(&b, -EINVAL, 0), "second bad: quiet");
	ASSERT_FALSE(lw_report(&b, -EINVAL, 0), "third bad: quiet");
	ASSERT_EQ(b.bad_reports, 3u, "all counted");
	ASSERT_FALSE(lw_step(&cpu, &s, &b, 1, 100000), "bad reports move nothing");
	ASSERT_EQ(b.level_pm, 100u, "last factor kept");
	ASSERT_TRUE(b.value == 90, "last good value kept");
	report(&b, 90);
	ASSERT_TRUE(lw_report(&b, -EINVAL, 0), "a new run of bad ones logs again");
}

static int parse_hc(const char *hc, const char *lw, const char *weight, struct flb_config *cfg,
		    char *err, size_t len)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "interfaces: [eth0]\n"
		 "services:\n"
		 "  - name: web\n"
		 "    vip: 10.100.0.1\n"
		 "    port: 80\n"
		 "    health_check: {type: %s}\n"
		 "    %s\n"
		 "    backends: [{address: 10.10.2.11, weight: %s}]\n", hc, lw, weight);
	return config_parse("t.yaml", buf, strlen(buf), cfg, err, len);
}

static int parse(const char *lw, struct flb_config *cfg, char *err, size_t len)
{
	return parse_hc("http", lw, "1", cfg, err, len);
}

TEST(config_keys)
{
	struct flb_config cfg;
	char err[256];

	ASSERT_OK(parse("on_unhealthy: drain", &cfg, err, sizeof(err)), err);
	ASSERT_EQ(cfg.services[0].load.from, FLB_LOAD_OFF, "off by default");
	config_free(&cfg);
	ASSERT_OK(parse("load_weights: {from: cpu_percent}", &cfg, err, sizeof(err)), err);
	ASSERT_EQ(cfg.services[0].load.from, FLB_LOAD_CPU, "from");
	ASSERT_EQ(cfg.services[0].load.min_pm, 100u, "default min");
	ASSERT_EQ(cfg.services[0].load.max_pm, 1000u, "default max");
	ASSERT_EQ(cfg.services[0].load.steps, 10u, "default steps");
	ASSERT_EQ(cfg.services[0].load.hysteresis_pm, 50u, "default hysteresis");
	ASSERT_EQ(cfg.services[0].load.interval_ms, 10000u, "default interval");
	config_free(&cfg);
	ASSERT_OK(parse("load_weights: {from: weight, min: 0.25, max: 0.75, steps: 20, hysteresis: 0, interval: 2s}",
			&cfg, err, sizeof(err)), err);
	ASSERT_EQ(cfg.services[0].load.min_pm, 250u, "min");
	ASSERT_EQ(cfg.services[0].load.max_pm, 750u, "max");
	ASSERT_EQ(cfg.services[0].load.steps, 20u, "steps");
	ASSERT_EQ(cfg.services[0].load.hysteresis_pm, 0u, "hysteresis");
	ASSERT_EQ(cfg.services[0].load.interval_ms, 2000u, "interval");
	config_free(&cfg);
}

TEST(config_refusals)
{
	static const struct {
		const char *lw, *want;
	} bad[] = {
		{ "load_weights: {min: 0.1}", "from" },
		{ "load_weights: {from: load}", "load" },
		{ "load_weights: {from: cpu_percent, min: 0}", "0.01..1" },
		{ "load_weights: {from: cpu_percent, min: abc}", "abc" },
		{ "load_weights: {from: cpu_percent, min: 0.8, max: 0.5}", "above max" },
		{ "load_weights: {from: cpu_percent, steps: 1}", "steps" },
		{ "load_weights: {from: cpu_percent, hysteresis: 0.6}", "hysteresis" },
		{ "load_weights: {from: cpu_percent, bogus: 1}", "bogus" },
	};
	struct flb_config cfg;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		ASSERT_EQ(parse(bad[i].lw, &cfg, err, sizeof(err)), -EINVAL, bad[i].lw);
		ASSERT_STRCONTAINS(err, bad[i].want, bad[i].lw);
	}
	ASSERT_EQ(parse_hc("tcp", "load_weights: {from: cpu_percent}", "1", &cfg, err, sizeof(err)),
		  -EINVAL, "tcp check");
	ASSERT_STRCONTAINS(err, "HTTP health_check", "tcp check");
	ASSERT_EQ(parse_hc("http", "load_weights: {from: cpu_percent}", "101", &cfg, err, sizeof(err)),
		  -EINVAL, "weight 101");
	ASSERT_STRCONTAINS(err, "weights 0..100", "weight 101");
	ASSERT_OK(parse_hc("http", "load_weights: {from: cpu_percent}", "100", &cfg, err, sizeof(err)),
		  err);
	config_free(&cfg);
}
