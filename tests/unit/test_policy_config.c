// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The new-flow policy keys of a service (config_policy.c): what each
 * accepts, the defaults, and the exact error of each bad input; and the
 * planner's round robin sequence (plan_policy.c).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "plan.h"

static int parse(const char *svc_keys, struct flb_config *cfg, char *err, size_t len)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
		 "interfaces: [eth0]\n"
		 "services:\n"
		 "  - name: web\n"
		 "    vip: 10.100.0.1\n"
		 "    port: 80\n"
		 "%s"
		 "    backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]\n",
		 svc_keys);
	memset(cfg, 0, sizeof(*cfg));
	return config_parse("t.yaml", yaml, strlen(yaml), cfg, err, len);
}

TEST(defaults_are_maglev_without_caps)
{
	struct flb_config cfg;
	char err[256] = "";

	if (!ASSERT_OK(parse("", &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.services[0].policy.sched, FLB_SCHED_CFG_MAGLEV, "scheduler");
	ASSERT_EQ(cfg.services[0].policy.epsilon_pm, 250, "epsilon 0.25");
	ASSERT_EQ(cfg.services[0].policy.candidates, 4, "candidates");
	ASSERT_EQ(cfg.services[0].policy.max_nfps, 0, "no rate cap");
	ASSERT_EQ(cfg.services[0].policy.max_active, 0, "no active cap");
	config_free(&cfg);
}

TEST(every_key_parses)
{
	struct flb_config cfg;
	char err[256] = "";

	if (!ASSERT_OK(parse("    scheduler: least_conn\n"
			     "    least_conn: {epsilon: 0.5}\n"
			     "    candidates: 8\n"
			     "    caps: {max_new_flows_per_second: 100, burst: 7, max_active_flows: 9}\n",
			     &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.services[0].policy.sched, FLB_SCHED_CFG_LEAST_CONN, "scheduler");
	ASSERT_EQ(cfg.services[0].policy.epsilon_pm, 500, "epsilon");
	ASSERT_EQ(cfg.services[0].policy.candidates, 8, "candidates");
	ASSERT_EQ(cfg.services[0].policy.max_nfps, 100, "rate");
	ASSERT_EQ(cfg.services[0].policy.burst, 7, "burst");
	ASSERT_EQ(cfg.services[0].policy.max_active, 9, "active");
	config_free(&cfg);
	if (ASSERT_OK(parse("    scheduler: round_robin\n", &cfg, err, sizeof(err)), err))
		ASSERT_EQ(cfg.services[0].policy.sched, FLB_SCHED_CFG_RR, "round_robin");
	config_free(&cfg);
}

static void expect_err(const char *keys, const char *want)
{
	struct flb_config cfg;
	char err[256] = "";

	ASSERT_NE(parse(keys, &cfg, err, sizeof(err)), 0, keys);
	if (!strstr(err, want))
		flb_test_fail(__FILE__, __LINE__, "error \"%s\" lacks \"%s\"", err, want);
	config_free(&cfg);
}

TEST(bad_values_are_refused_with_the_line_and_key)
{
	expect_err("    scheduler: fastest\n", "t.yaml:6: services[0].scheduler:");
	expect_err("    scheduler: least_conn\n    least_conn: {epsilon: 0}\n",
		   "least_conn.epsilon: \"0\" is not a number within 0.01..10");
	expect_err("    scheduler: least_conn\n    least_conn: {epsilon: abc}\n",
		   "is not a number within 0.01..10");
	expect_err("    least_conn: {epsilon: 0.3}\n", "least_conn: needs scheduler: least_conn");
	expect_err("    candidates: 9\n", "services[0].candidates:");
	expect_err("    candidates: 0\n", "services[0].candidates:");
	expect_err("    caps: {max_new_flows_per_second: 0}\n", "caps.max_new_flows_per_second:");
	expect_err("    caps: {max_active_flows: -1}\n", "caps.max_active_flows:");
	expect_err("    caps: {burst: 5}\n", "burst needs max_new_flows_per_second");
	expect_err("    caps: {max_flows: 5}\n", "caps.max_flows:");
}

TEST(round_robin_sequence_is_smooth_and_weighted)
{
	uint32_t w[] = { 1, 2, 0, 1 }, out[256], counts[4] = {};
	uint32_t n = plan_rr_sequence(w, 4, out, 256);

	if (!ASSERT_EQ(n, 4, "1 + 2 + 1 after the gcd"))
		return;
	for (uint32_t i = 0; i < n; i++)
		counts[out[i]]++;
	ASSERT_EQ(counts[0], 1, "weight 1");
	ASSERT_EQ(counts[1], 2, "weight 2");
	ASSERT_EQ(counts[2], 0, "weight 0: left out");
	ASSERT_NE(out[0], out[1], "smooth: the heavy backend is not taken twice in a row first");
}

TEST(round_robin_sequence_is_scaled_to_fit)
{
	uint32_t w[] = { 1000, 3000, 1 }, out[256], counts[3] = {};
	uint32_t n = plan_rr_sequence(w, 3, out, 256);

	ASSERT_LE(n, 256, "fits");
	for (uint32_t i = 0; i < n; i++)
		counts[out[i]]++;
	ASSERT_EQ(counts[2], 1, "the smallest weight keeps one place");
	ASSERT_TRUE(counts[1] >= 3 * counts[0] - 3 && counts[1] <= 3 * counts[0] + 3, "3:1 kept");
	ASSERT_EQ(plan_rr_sequence((uint32_t[]){ 0, 0 }, 2, out, 256), 0, "no weight: empty");
}
