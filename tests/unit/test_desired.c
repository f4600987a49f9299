// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The desired state: a configuration plus a registry view becomes the
 * backends the reconciler writes. Pure: no kernel, no registry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "desired.h"
#include "flb_test.h"
#include "source.h"

static const char yaml[] =
	"interfaces: [eth0]\n"
	"source: {type: consul}\n"
	"services:\n"
	"  - {name: api, vip: 10.100.0.2, port: 8000, source_service: api}\n"
	"  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n";

static struct src_instance inst(const char *id, const char *addr, uint16_t port, uint32_t w,
				enum src_status st)
{
	struct src_instance i = { .port = port, .weight = w, .status = st };

	strcpy(i.id, id);
	addr_parse(addr, &i.addr);
	return i;
}

static bool load(struct flb_config *cfg)
{
	char err[256];

	return ASSERT_OK(config_parse("t.yaml", yaml, strlen(yaml), cfg, err, sizeof(err)), err);
}

TEST(unknown_registry_service_applies_nothing)
{
	struct src_service svc = { .name = "api" };
	struct src_view view = { .svc = &svc, .n = 1 };
	struct flb_config cfg, eff;

	if (!load(&cfg))
		return;
	ASSERT_EQ(desired_build(&cfg, &view, &eff), -EAGAIN, "not heard from yet");
	ASSERT_EQ(desired_build(&cfg, NULL, &eff), -EAGAIN, "no view at all");
	config_free(&cfg);
}

TEST(instances_become_backends)
{
	struct src_instance in[] = {
		inst("api-a", "10.10.3.1", 8000, 1, SRC_PASSING),
		inst("api-b", "10.10.3.2", 8000, 5, SRC_WARNING),
		inst("api-c", "10.10.3.3", 8000, 1, SRC_CRITICAL),
		inst("api-d", "10.10.3.4", 9000, 1, SRC_PASSING),  /* other port: translated */
		inst("api-e", "10.10.3.1", 8000, 7, SRC_PASSING),  /* same address: api-a wins */
	};
	struct src_service svc = { .name = "api", .known = true, .inst = in, .n = 5 };
	struct src_view view = { .svc = &svc, .n = 1 };
	struct flb_config cfg, eff;
	const struct flb_service_cfg *s;

	if (!load(&cfg))
		return;
	if (!ASSERT_OK(desired_build(&cfg, &view, &eff), "build"))
		goto out;
	s = &eff.services[0];
	ASSERT_EQ(s->n_backends, 4, "a, b, c, d");
	ASSERT_EQ(s->backends[3].port, 9000, "api-d's own port, translated on its node");
	ASSERT_EQ(s->backends[0].port, 0, "the service port: no translation");
	ASSERT_STREQ(s->backends[0].id, "10.10.3.1:8000", "identity with the service port");
	ASSERT_EQ(s->backends[0].weight, 1, "api-a's weight, not api-e's");
	ASSERT_EQ(s->backends[1].weight, 5, "warning weight as given");
	ASSERT_FALSE(s->backends[1].down, "warning serves");
	ASSERT_TRUE(s->backends[2].down, "critical is down");
	ASSERT_FALSE(s->backends[0].check_down, "our own checks are the daemon's to add");
	ASSERT_EQ(eff.services[1].n_backends, 1, "listed backends untouched");
	ASSERT_TRUE(eff.services[1].backends != cfg.services[1].backends, "a copy: eff may outlive cfg");
	ASSERT_STREQ(eff.services[1].backends[0].id, "10.10.2.11:80", "copied whole");
	desired_free(&eff);
out:
	config_free(&cfg);
}

TEST(empty_registry_service_means_no_backends)
{
	struct src_service svc = { .name = "api", .known = true };
	struct src_view view = { .svc = &svc, .n = 1 };
	struct flb_config cfg, eff;

	if (!load(&cfg))
		return;
	if (ASSERT_OK(desired_build(&cfg, &view, &eff), "build")) {
		ASSERT_EQ(eff.services[0].n_backends, 0, "known and empty");
		desired_free(&eff);
	}
	config_free(&cfg);
}

/* The registry's backends pass the file's validator (config_validate):
 * 8192 distinct addresses (the maps hold 8191 ids) are refused with
 * -EINVAL and nothing is left to free; 8191 are accepted. */
TEST(registry_backends_pass_the_same_validator)
{
	static const char two[] =
		"interfaces: [eth0]\n"
		"source: {type: consul}\n"
		"services:\n"
		"  - {name: api, vip: 10.100.0.2, port: 8000, source_service: api}\n"
		"  - {name: web, vip: 10.100.0.1, port: 80, source_service: web}\n";
	struct src_instance *in = calloc(8192, sizeof(*in));
	struct src_service svc[2] = {
		{ .name = "api", .known = true, .n = 4096 },
		{ .name = "web", .known = true, .n = 4096 },
	};
	struct src_view view = { .svc = svc, .n = 2 };
	struct flb_config cfg, eff;
	char err[256], a[32];

	if (!ASSERT_TRUE(in, "alloc") ||
	    !ASSERT_OK(config_parse("t.yaml", two, strlen(two), &cfg, err, sizeof(err)), err)) {
		free(in);
		return;
	}
	for (int i = 0; i < 8192; i++) {
		snprintf(a, sizeof(a), "10.20.%d.%d", i / 256, i % 256);
		in[i] = inst("x", a, i < 4096 ? 8000 : 80, 1, SRC_PASSING);
		snprintf(in[i].id, sizeof(in[i].id), "i%05d", i);
	}
	svc[0].inst = in;
	svc[1].inst = in + 4096;
	ASSERT_EQ(desired_build(&cfg, &view, &eff), -EINVAL, "8192 distinct backends");
	ASSERT_TRUE(!eff.services && !eff.n_services, "nothing to free");
	svc[1].n = 4095;
	if (ASSERT_OK(desired_build(&cfg, &view, &eff), "8191 fit"))
		desired_free(&eff);
	config_free(&cfg);
	free(in);
}
