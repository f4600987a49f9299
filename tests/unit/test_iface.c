// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Unit tests for per-node interfaces (config.c: interfaces auto/globs,
 * nodes:, $FLUXLB_INTERFACES; iface_resolve.c): the specs each form leaves,
 * first-match-wins overrides by node name, the environment over both,
 * errors with their line, and a glob that finds nothing kept as written
 * (the daemon reports it missing). Auto-detection against a real default
 * route runs in a namespace in tests/e2e/test_iface_auto.sh.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "iface_resolve.h"

static int parse(const char *yaml, struct flb_config *cfg, char *err, size_t errlen)
{
	return config_parse("t.yaml", yaml, strlen(yaml), cfg, err, errlen);
}

#define SERVICES "services: []\n"

TEST(auto_and_globs_are_specs)
{
	struct flb_config cfg;
	char err[256];

	unsetenv("FLUXLB_INTERFACES");
	if (!ASSERT_OK(parse("interfaces: auto\n" SERVICES, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_iface_spec, 1, "one spec");
	ASSERT_STREQ(cfg.iface_spec[0], "auto", "auto");
	ASSERT_TRUE(iface_is_pattern("auto") && iface_is_pattern("eth*") &&
		    iface_is_pattern("ens[0-9]") && !iface_is_pattern("eth0"), "patterns");
	config_free(&cfg);
	if (!ASSERT_OK(parse("interfaces: [\"eth*\", bond0]\n" SERVICES, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.n_iface_spec, 2, "two specs");
	ASSERT_STREQ(cfg.iface_spec[1], "bond0", "plain name kept");
	config_free(&cfg);
}

/* lo never matches a glob; a glob that finds nothing stays as written. */
TEST(glob_finding_nothing_is_kept_for_the_missing_report)
{
	struct flb_config cfg;
	char err[256];

	unsetenv("FLUXLB_INTERFACES");
	if (!ASSERT_OK(parse("interfaces: [\"l?\", \"zz-none*\"]\n" SERVICES, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_FALSE(iface_resolve(&cfg), "not every entry found something");
	ASSERT_EQ(cfg.n_ifaces, 2, "both kept");
	ASSERT_STREQ(cfg.ifaces[0], "l?", "lo excluded");
	ASSERT_STREQ(cfg.ifaces[1], "zz-none*", "kept as written");
	config_free(&cfg);
}

TEST(nodes_first_match_wins)
{
	static const char yaml[] =
		"interfaces: [eth0]\n"
		"node: {xdp_mode: native}\n"
		"nodes:\n"
		"  - {name: \"core-*\", interfaces: [c0]}\n"
		"  - {name: \"edge-*\", interfaces: [e0, e1], xdp_mode: skb}\n"
		"  - {name: \"*\", interfaces: [any0]}\n"
		SERVICES;
	struct flb_config cfg;
	char err[256];

	unsetenv("FLUXLB_INTERFACES");
	setenv("FLUXLB_NODE_NAME", "edge-7", 1);
	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(cfg.n_iface_spec, 2, "edge entry");
	ASSERT_STREQ(cfg.iface_spec[0], "e0", "e0");
	ASSERT_STREQ(cfg.ifaces[1], "e1", "resolved as named");
	ASSERT_EQ(cfg.xdp_mode, FLB_XDP_SKB, "mode overridden");
	config_free(&cfg);
	setenv("FLUXLB_NODE_NAME", "db-1", 1);
	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		goto out;
	ASSERT_STREQ(cfg.iface_spec[0], "any0", "catch-all");
	ASSERT_EQ(cfg.xdp_mode, FLB_XDP_NATIVE, "mode kept");
	config_free(&cfg);
	/* $FLUXLB_INTERFACES over nodes: and interfaces. */
	setenv("FLUXLB_INTERFACES", "x1,x2", 1);
	if (!ASSERT_OK(parse(yaml, &cfg, err, sizeof(err)), err))
		goto out;
	ASSERT_EQ(cfg.n_iface_spec, 2, "env");
	ASSERT_STREQ(cfg.iface_spec[1], "x2", "env x2");
	config_free(&cfg);
out:
	unsetenv("FLUXLB_INTERFACES");
	unsetenv("FLUXLB_NODE_NAME");
}

TEST(errors_name_the_place)
{
	struct flb_config cfg;
	char err[256];

	unsetenv("FLUXLB_INTERFACES");
	ASSERT_NE(parse("interfaces: [eth0]\nnodes:\n  - {interfaces: [a]}\n" SERVICES, &cfg, err,
			sizeof(err)), 0, "name required");
	ASSERT_STRCONTAINS(err, "t.yaml:3: nodes[0]", err);
	ASSERT_NE(parse("interfaces: [eth0]\nnodes:\n  - {name: x, mtu: 9000}\n" SERVICES, &cfg, err,
			sizeof(err)), 0, "unknown key");
	ASSERT_STRCONTAINS(err, "mtu", err);
	setenv("FLUXLB_INTERFACES", "a b,c", 1);
	ASSERT_NE(parse("interfaces: [eth0]\n" SERVICES, &cfg, err, sizeof(err)), 0, "bad env");
	ASSERT_STRCONTAINS(err, "FLUXLB_INTERFACES", err);
	unsetenv("FLUXLB_INTERFACES");
}
