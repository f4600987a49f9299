// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The kubernetes keys of the source section (config_source.c). */
#include <string.h>

#include "config.h"
#include "flb_test.h"

static int parse(const char *yaml, struct flb_config *cfg, char *err, size_t len)
{
	return config_parse("t.yaml", yaml, strlen(yaml), cfg, err, len);
}

TEST(kubernetes_keys)
{
	struct flb_config cfg;
	char err[512];
	const char *y =
		"interfaces: [eth0]\n"
		"source:\n  type: kubernetes\n  api_server: https://127.0.0.1:6443\n"
		"  token_file: /run/t\n  ca_file: /run/ca.crt\n  namespace: shop\n"
		"  load_balancer_class: example.com/lb\n"
		"services:\n  - {name: web, vip: 10.100.0.1, port: 80, source_service: \"shop/web:http\"}\n";

	if (!ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_EQ(cfg.source.type, FLB_SRC_KUBERNETES, "type");
	ASSERT_STREQ(cfg.source.api_server, "https://127.0.0.1:6443", "api_server");
	ASSERT_STREQ(cfg.source.token_file, "/run/t", "token_file");
	ASSERT_STREQ(cfg.source.ca_file, "/run/ca.crt", "ca_file");
	ASSERT_STREQ(cfg.source.k8s_namespace, "shop", "namespace");
	ASSERT_STREQ(cfg.source.lb_class, "example.com/lb", "class");
	ASSERT_STREQ(cfg.services[0].source_service, "shop/web:http", "source_service");
	config_free(&cfg);
}

TEST(kubernetes_defaults_are_left_to_the_source)
{
	struct flb_config cfg;
	char err[512];
	const char *y = "interfaces: [eth0]\nsource: {type: kubernetes, kubeconfig: /root/.kube/config}\nservices: []\n";

	if (!ASSERT_OK(parse(y, &cfg, err, sizeof(err)), err))
		return;
	ASSERT_STREQ(cfg.source.kubeconfig, "/root/.kube/config", "kubeconfig");
	ASSERT_STREQ(cfg.source.api_server, "", "no env read while parsing");
	ASSERT_STREQ(cfg.source.lb_class, "", "class default applied at start");
	config_free(&cfg);
}

TEST(kubernetes_refusals)
{
	struct flb_config cfg;
	char err[512];

	ASSERT_FALSE(parse("interfaces: [eth0]\nsource: {type: kubernetes, token_file: relative}\nservices: []\n",
			   &cfg, err, sizeof(err)) == 0, "relative token_file");
	ASSERT_STRCONTAINS(err, "not an absolute path", "why");
	ASSERT_FALSE(parse("interfaces: [eth0]\nsource: {type: kubernetes, namespace: Shop_1}\nservices: []\n",
			   &cfg, err, sizeof(err)) == 0, "namespace");
	ASSERT_STRCONTAINS(err, "not a namespace name", "why");
	ASSERT_FALSE(parse("interfaces: [eth0]\nsource: {type: kubernetes, token: abc}\nservices: []\n",
			   &cfg, err, sizeof(err)) == 0, "inline token");
	ASSERT_STRCONTAINS(err, "never an inline token", "why");
}
