// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reconciler_resync() on real (unpinned) maps: after an apply, maps left
 * alone show no difference; a backend state, a table slot, a VIP's id
 * changed behind the reconciler's back, or a VIP it never wrote, are each
 * found once, and the next apply puts back the desired state (a foreign
 * VIP that names our VIP id goes without taking our table with it). What
 * it cannot cover: the log lines (tests/e2e/test_one_daemon.sh greps them).
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "flb_test.h"
#include "log.h"
#include "pinned_maps.h"
#include "reconcile.h"

static struct flb_maps *maps;
static struct reconciler *rec;

static const char yaml[] =
	"interfaces: [lo]\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.100.0.1\n"
	"    port: 80\n"
	"    backends: [{address: 10.10.2.11}, {address: 10.10.2.12, weight: 3}]\n";

static int apply(struct reconcile_report *rep)
{
	struct flb_config cfg = {};
	char err[256];
	int rc = config_parse("test.yaml", yaml, strlen(yaml), &cfg, err, sizeof(err));

	if (!rc)
		rc = reconciler_apply(rec, &cfg, rep);
	config_free(&cfg);
	return rc;
}

int flb_test_setup(char *why, size_t len)
{
	struct reconcile_report rep;

	if (geteuid()) {
		snprintf(why, len, "needs root (BPF)");
		return 1;
	}
	log_setup(LOG_ERROR, false);
	log_route_libs();
	maps = maps_open(NULL);
	rec = maps ? reconciler_new(maps, NULL) : NULL;
	if (!rec || apply(&rep)) {
		snprintf(why, len, "cannot load the balancer or apply the configuration");
		return -1;
	}
	return 0;
}

void flb_test_teardown(void)
{
	reconciler_free(rec);
	maps_close(maps);
}

static void web_key(struct flb_vip_key *k)
{
	memset(k, 0, sizeof(*k));
	inet_pton(AF_INET, "10.100.0.1", k->addr);
	k->port = htons(80);
	k->proto = 6;
	k->family = FLB_AF_INET;
}

static uint32_t web_id(void)
{
	struct flb_vip_key keys[4];
	struct flb_vip vips[4];
	struct flb_vip_key k;
	int n = maps_list_vips(maps, keys, vips, 4);

	web_key(&k);
	for (int i = 0; i < n; i++)
		if (!memcmp(&keys[i], &k, sizeof(k)))
			return vips[i].id;
	return UINT32_MAX;
}

TEST(untouched_maps_show_no_difference)
{
	ASSERT_EQ(reconciler_resync(rec), 0, "resync");
}

TEST(backend_state_changed_is_found_and_repaired)
{
	struct reconcile_report rep;
	struct flb_backend be, orig;

	if (!ASSERT_OK(maps_get_backend(maps, 1, &orig), "read"))
		return;
	be = orig;
	be.state = FLB_BE_DOWN;
	ASSERT_OK(maps_set_backend(maps, 1, &be), "edit");
	ASSERT_EQ(reconciler_resync(rec), 1, "resync");
	ASSERT_OK(apply(&rep), "apply");
	ASSERT_OK(maps_get_backend(maps, 1, &be), "read back");
	ASSERT_EQ(be.state, orig.state, "state");
	ASSERT_EQ(reconciler_resync(rec), 0, "resync after repair");
}

TEST(table_slot_changed_is_found_and_repaired)
{
	struct reconcile_report rep;
	uint32_t *orig, *ids, size, size2, id = web_id();

	if (!ASSERT_OK(maps_get_ring(maps, id, &orig, &size), "read"))
		return;
	ids = malloc(size * sizeof(*ids));
	memcpy(ids, orig, size * sizeof(*ids));
	ids[0] = ids[0] == 1 ? 2 : 1;
	ids[size - 1] = ids[size - 1] == 1 ? 2 : 1;
	ASSERT_OK(maps_set_ring(maps, id, ids, size), "edit");
	free(ids);
	ASSERT_EQ(reconciler_resync(rec), 1, "resync");
	ASSERT_OK(apply(&rep), "apply");
	ASSERT_EQ(rep.tables_built, 1, "the table is swapped in again");
	if (ASSERT_OK(maps_get_ring(maps, id, &ids, &size2), "read back")) {
		ASSERT_EQ(size2, size, "size");
		ASSERT_TRUE(!memcmp(ids, orig, size * sizeof(*ids)), "slots as before");
		free(ids);
	}
	free(orig);
	ASSERT_EQ(reconciler_resync(rec), 0, "resync after repair");
}

TEST(vip_id_changed_is_found_and_repaired)
{
	struct reconcile_report rep;
	struct flb_vip v = { .id = 7 };
	struct flb_vip_key k;
	uint32_t id = web_id();

	web_key(&k);
	ASSERT_OK(maps_set_vip(maps, &k, &v), "edit");
	ASSERT_EQ(reconciler_resync(rec), 1, "resync");
	ASSERT_OK(apply(&rep), "apply");
	ASSERT_EQ(web_id(), id, "id as before");
	ASSERT_EQ(reconciler_resync(rec), 0, "resync after repair");
}

TEST(foreign_vip_on_our_id_goes_without_our_table)
{
	struct reconcile_report rep;
	struct flb_vip v = { .id = web_id() };
	struct flb_vip_key k;
	uint32_t *ids, size;

	web_key(&k);
	k.port = htons(8080);
	ASSERT_OK(maps_set_vip(maps, &k, &v), "edit");
	ASSERT_EQ(reconciler_resync(rec), 1, "resync");
	ASSERT_OK(apply(&rep), "apply");
	ASSERT_EQ(rep.vips_removed, 1, "removed");
	if (ASSERT_OK(maps_get_ring(maps, web_id(), &ids, &size), "our table stays"))
		free(ids);
	ASSERT_EQ(reconciler_resync(rec), 0, "resync after repair");
}
