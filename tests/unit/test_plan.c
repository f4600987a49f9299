// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The planner (user/fluxlbd/plan.h): ids and generations, drain, panic,
 * weights, table sizes, disruption figures, VIP ids and the order of the
 * map writes, driven as the reconciler drives it (plan, apply, commit) over
 * a simulated VIP map: no kernel, no maps. What the writes do to the
 * datapath is tests/bpf/test_balancer.c's part.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "flb_test.h"
#include "maglev.h"
#include "plan.h"
#include "tables.h"

#define MAX_VIPS 16

/* The planner's state plus the VIP map as a kernel would hold it. */
struct world {
	struct plan_state st;
	struct flb_vip_key keys[MAX_VIPS];
	struct flb_vip vips[MAX_VIPS];
	size_t n_vips;
	uint64_t now;
};

static struct world *world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));

	if (w)
		w->now = 1000000000ULL;
	return w;
}

static void world_free(struct world *w)
{
	if (!w)
		return;
	tables_free(&w->st.tables);
	free(w);
}

/* The VIP map follows SET_VIP and DEL_VIP; the rest is read from the ops. */
static void fake_apply(struct world *w, const struct plan *p)
{
	for (size_t i = 0; i < p->n_ops; i++) {
		const struct plan_op *op = &p->ops[i];
		size_t j;

		for (j = 0; j < w->n_vips; j++)
			if (!memcmp(&w->keys[j], &op->key, sizeof(op->key)))
				break;
		if (op->kind == PLAN_SET_VIP && j == w->n_vips && j < MAX_VIPS) {
			w->keys[w->n_vips] = op->key;
			w->vips[w->n_vips++] = op->vip;
		} else if (op->kind == PLAN_SET_VIP && j < w->n_vips) {
			w->vips[j] = op->vip;
		} else if (op->kind == PLAN_DEL_VIP && j < w->n_vips) {
			w->keys[j] = w->keys[--w->n_vips];
			w->vips[j] = w->vips[w->n_vips];
		}
	}
}

static bool parse(const char *services, struct flb_config *cfg)
{
	char yaml[4096], err[256];

	/* services: the list's items, or whole sections from "defaults:" on. */
	snprintf(yaml, sizeof(yaml), "interfaces: [eth0]\n%s%s",
		 strncmp(services, "defaults:", 9) ? "services:\n" : "", services);
	return ASSERT_OK(config_parse("t.yaml", yaml, strlen(yaml), cfg, err, sizeof(err)), err);
}

/* Plans cfg against w; on success applies every op and commits. p is the
 * caller's to inspect and free (its tables have moved into the cache). */
static int step(struct world *w, const struct flb_config *cfg, struct plan *p)
{
	struct plan_input in = {
		.cfg = cfg,
		.state = &w->st,
		.old_keys = w->keys,
		.old_vips = w->vips,
		.n_old = w->n_vips,
	};
	int err = plan_make(&in, p);

	if (err)
		return err;
	fake_apply(w, p);
	plan_commit(&w->st, p, p->n_ops, w->now);
	return 0;
}

/* Parses services, steps, frees the configuration. */
static bool run(struct world *w, const char *services, struct plan *p)
{
	struct flb_config cfg = {};
	bool ok = false;

	memset(p, 0, sizeof(*p));
	if (parse(services, &cfg))
		ok = ASSERT_OK(step(w, &cfg, p), "plan");
	config_free(&cfg);
	return ok;
}

/* Index of the first op of kind (from), or -1. */
static long find_op(const struct plan *p, enum plan_op_kind kind, size_t from)
{
	for (size_t i = from; i < p->n_ops; i++)
		if (p->ops[i].kind == kind)
			return (long)i;
	return -1;
}

static long last_op(const struct plan *p, enum plan_op_kind kind)
{
	long last = -1;

	for (size_t i = 0; i < p->n_ops; i++)
		if (p->ops[i].kind == kind)
			last = (long)i;
	return last;
}

static size_t count_ops(const struct plan *p, enum plan_op_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_ops; i++)
		n += p->ops[i].kind == kind;
	return n;
}

/* The SET_BACKEND op of id, or NULL. */
static const struct plan_op *backend_op(const struct plan *p, uint32_t id)
{
	for (size_t i = 0; i < p->n_ops; i++)
		if (p->ops[i].kind == PLAN_SET_BACKEND && p->ops[i].id == id)
			return &p->ops[i];
	return NULL;
}

/* Drains with flows[] against w, applies and commits. Returns the ops done. */
static long drain(struct world *w, const long *flows, uint32_t timeout_ms, struct plan *p)
{
	long err = plan_drain(&w->st, flows, w->now, timeout_ms, p);

	if (err)
		return err;
	plan_commit(&w->st, p, p->n_ops, w->now);
	return (long)p->n_ops;
}

static const char two[] =
	"  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]}\n";

TEST(same_address_keeps_its_id_and_generation)
{
	struct world *w = world_new();
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") || !run(w, two, &p))
		goto out;
	ASSERT_EQ(p.svc[0].ids[0], 1, "first free id");
	ASSERT_EQ(p.svc[0].ids[1], 2, "next free id");
	ASSERT_EQ(w->st.be[1].gen, 1, "a new id's first generation");
	ASSERT_EQ(w->st.be[1].state, FLB_BE_ACTIVE, "serving");
	ASSERT_EQ(count_ops(&p, PLAN_SET_BACKEND), 2, "both written");
	ASSERT_EQ(p.rep.backends, 2, "report: ids in use");
	ASSERT_EQ(p.rep.tables_built, 1, "report: one table");
	plan_free(&p);
	/* The same state again: nothing to write but the VIPs and ctl. */
	if (!run(w, two, &p))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_SET_BACKEND), 0, "no backend written");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 0, "unchanged table not swapped");
	ASSERT_EQ(p.rep.tables_built, 0, "report: no table");
	ASSERT_EQ(w->st.be[2].gen, 1, "generation kept");
	plan_free(&p);
	/* The order of the list does not matter: the address does. */
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.11}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].ids[0], 2, "10.10.2.12 keeps id 2");
	ASSERT_EQ(p.svc[0].ids[1], 1, "10.10.2.11 keeps id 1");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 0, "tables hash names, not positions");
out:
	plan_free(&p);
	world_free(w);
}

TEST(freed_id_goes_to_a_new_address_with_the_next_generation)
{
	struct world *w = world_new();
	long flows[FLB_MAX_BACKENDS] = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !run(w, "  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n", &p))
		goto out;
	plan_free(&p);
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}]}\n", &p))
		goto out;
	ASSERT_EQ(p.svc[0].ids[0], 2, "id 1 still drains: a new id");
	ASSERT_EQ(w->st.be[1].state, FLB_BE_DRAINING, "the old backend drains");
	plan_free(&p);
	if (!ASSERT_EQ(drain(w, flows, 30000, &p), 1, "no flow left: freed"))
		goto out;
	ASSERT_EQ(w->st.be[1].state, FLB_BE_UNUSED, "id 1 unused");
	ASSERT_EQ(w->st.be[1].gen, 1, "a freed id keeps its generation");
	ASSERT_EQ(w->st.drain_start[1], 0, "drain over");
	plan_free(&p);
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].ids[1], 1, "the lowest free id is reused");
	ASSERT_EQ(w->st.be[1].gen, 2, "by a new address: next generation");
	ASSERT_EQ(w->st.be[1].addr[0], htonl(0x0a0a020d), "10.10.2.13");
	ASSERT_EQ(w->st.be[2].gen, 1, "the other id untouched");
out:
	plan_free(&p);
	world_free(w);
}

TEST(weight_zero_drains_then_stays_down)
{
	struct world *w = world_new();
	long flows[FLB_MAX_BACKENDS] = {};
	const struct plan_op *op;
	struct plan p = {};
	static const char cfg[] =
		"  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12, weight: 0}]}\n";

	if (!ASSERT_TRUE(w, "world") || !run(w, cfg, &p))
		goto out;
	op = backend_op(&p, 2);
	if (!ASSERT_TRUE(op, "id 2 written"))
		goto out;
	ASSERT_EQ(op->be.state, FLB_BE_DRAINING, "weight 0 drains");
	ASSERT_STREQ(op->note.msg, "backend draining: no new flows, existing flows continue", "logged");
	ASSERT_EQ(p.svc[0].weights[1], 0, "no slots");
	ASSERT_EQ(p.rep.backends_draining, 1, "report: draining");
	ASSERT_EQ(w->st.drain_start[2], w->now, "drain starts at the commit");
	plan_free(&p);
	/* Flows left and time left: nothing to do. */
	flows[2] = 3;
	w->now += 1000000000ULL;
	ASSERT_EQ(drain(w, flows, 30000, &p), 0, "still draining");
	plan_free(&p);
	/* Past the timeout: down, the id kept (still configured). */
	w->now += 30ULL * 1000000000ULL;
	if (!ASSERT_EQ(drain(w, flows, 30000, &p), 1, "timed out"))
		goto out;
	ASSERT_EQ(p.ops[0].be.state, FLB_BE_DOWN, "configured: down, not freed");
	ASSERT_STREQ(p.ops[0].note.msg, "drain timed out; remaining flows are re-steered", "logged");
	ASSERT_STRCONTAINS(p.ops[0].note.fields, "flows=3 after_ms=31000 state=down", "fields");
	plan_free(&p);
	/* The same configuration again: it does not drain a second time. */
	if (!run(w, cfg, &p))
		goto out;
	ASSERT_TRUE(!backend_op(&p, 2), "no write");
	ASSERT_EQ(w->st.be[2].state, FLB_BE_DOWN, "stays down");
out:
	plan_free(&p);
	world_free(w);
}

TEST(removed_backend_drains_and_a_down_one_is_freed_at_once)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	const struct plan_op *op;
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: web, vip: 10.100.0.1, port: 80, on_unhealthy: reset, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n",
		   &cfg))
		goto out;
	cfg.services[0].backends[2].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_FALSE(p.svc[0].panic, "2 of 3 healthy");
	ASSERT_EQ(w->st.be[3].state, FLB_BE_DOWN, "check down: DOWN");
	plan_free(&p);
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n", &p))
		goto out;
	op = backend_op(&p, 2);
	if (ASSERT_TRUE(op, "id 2 written"))
		ASSERT_EQ(op->be.state, FLB_BE_DRAINING, "removed: drains");
	op = backend_op(&p, 3);
	if (ASSERT_TRUE(op, "id 3 written")) {
		ASSERT_EQ(op->be.state, FLB_BE_UNUSED, "removed while down: freed now");
		ASSERT_EQ(op->be.gen, 1, "generation kept");
	}
	ASSERT_EQ(p.state[3], PLAN_FREE, "planned free");
	ASSERT_FALSE(p.configured[2], "not configured any more");
	ASSERT_FALSE(w->st.configured[2], "committed");
	ASSERT_EQ(p.rep.backends, 2, "report: 11 serving, 12 draining");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(panic_when_too_few_are_healthy)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};
	long note_at, ring_at;

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11, weight: 3}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n",
		   &cfg))
		goto out;
	cfg.services[0].backends[0].check_down = true;
	cfg.services[0].backends[1].down = true; /* the registry's word counts too */
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_TRUE(p.svc[0].panic, "1 of 3 healthy, threshold 50%");
	ASSERT_EQ(p.svc[0].weights[0], 3, "panic: configured weight");
	ASSERT_EQ(p.svc[0].weights[1], 1, "panic: configured weight");
	ASSERT_EQ(w->st.be[1].state, FLB_BE_ACTIVE, "panic: serving");
	note_at = find_op(&p, PLAN_NOTE, 0);
	ring_at = find_op(&p, PLAN_SET_RING, 0);
	if (ASSERT_NE(note_at, -1, "panic logged")) {
		ASSERT_EQ(p.ops[note_at].note.level, LOG_WARN, "as a warning");
		ASSERT_STRCONTAINS(p.ops[note_at].note.msg, "panic mode: too few healthy", "text");
		ASSERT_TRUE(note_at < ring_at, "before the table");
	}
	plan_free(&p);
	/* Two of three healthy again: panic over. */
	cfg.services[0].backends[1].down = false;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_FALSE(p.svc[0].panic, "2 of 3 healthy");
	note_at = find_op(&p, PLAN_NOTE, 0);
	if (ASSERT_NE(note_at, -1, "end of panic logged")) {
		ASSERT_EQ(p.ops[note_at].note.level, LOG_INFO, "as info");
		ASSERT_STREQ(p.ops[note_at].note.msg, "panic mode over", "text");
	}
	ASSERT_EQ(p.svc[0].weights[0], 0, "down again: no slots");
	plan_free(&p);
	config_free(&cfg);
	if (!parse("  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]}\n",
		   &cfg))
		goto out;
	cfg.services[0].backends[0].check_down = true;
	if (ASSERT_OK(step(w, &cfg, &p), "plan"))
		ASSERT_FALSE(p.svc[0].panic, "1 of 2 is the threshold itself: no panic");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(down_backend_gets_no_slot)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	const struct table_entry *e;
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: web, vip: 10.100.0.1, port: 80, on_unhealthy: reset, backends: [{address: 10.10.2.11}, {address: 10.10.2.12, weight: 2}, {address: 10.10.2.13}]}\n",
		   &cfg))
		goto out;
	cfg.services[0].backends[2].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].weights[0], 1, "configured weight");
	ASSERT_EQ(p.svc[0].weights[1], 2, "configured weight");
	ASSERT_EQ(p.svc[0].weights[2], 0, "down: none");
	ASSERT_EQ(w->st.be[3].state, FLB_BE_DOWN, "state DOWN");
	e = tables_find(&w->st.tables, &p.svc[0].key);
	if (!ASSERT_TRUE(e && e->ids, "table cached"))
		goto out;
	for (uint32_t i = 0; i < e->size; i++)
		if (!ASSERT_NE(e->ids[i], 3, "no slot for the down backend") ||
		    !ASSERT_NE(e->ids[i], 0, "no empty slot"))
			break;
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(table_size_is_configured_or_follows_the_serving_backends)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13, weight: 0}]}\n"
		   "  - {name: b, vip: 10.100.0.2, port: 80, table_size: 251, backends: [{address: 10.10.2.11}]}\n",
		   &cfg))
		goto out;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].table.size, maglev_auto_size(2), "auto: two with a weight");
	ASSERT_EQ(p.svc[1].table.size, 251, "configured");
	ASSERT_EQ(w->st.tables.n, 2, "both cached");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

/* auto never shrinks: not when a backend goes down (a resize would move
 * every flow on LB nodes without its conntrack entry), drains or leaves,
 * nor after a restart (the size in the maps is adopted as the floor); it
 * grows with the backends, and a resize counts as full disruption. */
/* Unhealthy stops new flows only: with on_unhealthy: drain (the default)
 * the backend leaves the service's table and its id stays ACTIVE, so its
 * established flows stay, whatever else the address serves; with reset
 * its id is DOWN (flows re-steered). Registry critical is the same. */
TEST(unhealthy_drains_by_default_and_resets_on_request)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n"
		   "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.14}, {address: 10.10.2.15}, {address: 10.10.2.16}]}\n",
		   &cfg))
		goto out;
	ASSERT_EQ(cfg.services[0].on_unhealthy, FLB_UNHEALTHY_DRAIN, "default: drain");
	cfg.services[0].backends[0].check_down = true;
	cfg.services[1].backends[0].down = true; /* the registry's critical */
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].weights[0], 0, "no new flows");
	ASSERT_EQ(p.svc[1].weights[0], 0, "no new flows (registry)");
	ASSERT_EQ(w->st.be[p.svc[0].ids[0]].state, FLB_BE_ACTIVE, "flows stay");
	ASSERT_EQ(w->st.be[p.svc[1].ids[0]].state, FLB_BE_ACTIVE, "flows stay (registry)");
	for (uint32_t i = 0; i < p.svc[0].table.size; i++)
		if (!ASSERT_NE(tables_find(&w->st.tables, &p.svc[0].key)->ids[i], p.svc[0].ids[0],
			       "no slot"))
			break;
	plan_free(&p);
	config_free(&cfg);

	if (!parse("defaults: {on_unhealthy: reset}\n"
		   "services:\n"
		   "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n"
		   "  - {name: b, vip: 10.100.0.2, port: 80, on_unhealthy: drain, backends: [{address: 10.10.2.14}, {address: 10.10.2.15}, {address: 10.10.2.16}]}\n",
		   &cfg) ||
	    !ASSERT_EQ(cfg.services[0].on_unhealthy, FLB_UNHEALTHY_RESET, "from defaults") ||
	    !ASSERT_EQ(cfg.services[1].on_unhealthy, FLB_UNHEALTHY_DRAIN, "its own"))
		goto out;
	cfg.services[0].backends[0].check_down = true;
	cfg.services[1].backends[0].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(w->st.be[p.svc[0].ids[0]].state, FLB_BE_DOWN, "reset: flows re-steered");
	ASSERT_EQ(w->st.be[p.svc[1].ids[0]].state, FLB_BE_ACTIVE, "drain: flows stay");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(auto_table_size_never_shrinks)
{
	static const char three[] = "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n";
	struct world *w = world_new(), *w2 = world_new();
	struct flb_config cfg = {};
	struct table_entry *e;
	struct plan p = {};
	uint32_t survivors = 0;

	if (!ASSERT_TRUE(w && w2, "world") || !parse(three, &cfg))
		goto out;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].table.size, 509, "3 backends");
	plan_free(&p);
	cfg.services[0].backends[0].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan, one down"))
		goto out;
	ASSERT_EQ(p.svc[0].table.size, 509, "one down: same size");
	ASSERT_TRUE(p.svc[0].table.swap, "its slots moved");
	ASSERT_LE(p.svc[0].table.excess, 509 / 10, "and few others");
	plan_free(&p);
	config_free(&cfg);
	if (!run(w, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13, weight: 0}]}\n", &p))
		goto out;
	ASSERT_EQ(p.svc[0].table.size, 509, "one left, one drains: same size");
	plan_free(&p);

	/* A restarted daemon: the table in the maps (its size) is the floor. */
	e = tables_get(&w2->st.tables, &w->st.tables.e[0].key);
	if (!ASSERT_TRUE(e, "adopted"))
		goto out;
	e->size = 509;
	if (!run(w2, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}]}\n", &p))
		goto out;
	ASSERT_EQ(p.svc[0].table.size, 509, "after a restart: same size");
	ASSERT_EQ(p.svc[0].table.changed, 0, "nothing known to compare with");
	plan_free(&p);

	/* Grows with the backends: a resize is full disruption. */
	if (!run(w2, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}, {address: 10.10.2.14}, {address: 10.10.2.15}, {address: 10.10.2.16}, {address: 10.10.2.17}]}\n", &p))
		goto out;
	e = tables_get(&w2->st.tables, &p.svc[0].key);
	ASSERT_EQ(p.svc[0].table.size, 1021, "6 backends");
	ASSERT_EQ(p.svc[0].table.changed, 1021, "every slot changed");
	for (uint32_t i = 0; e && e->ids && i < e->size; i++)
		survivors += e->ids[i] == p.svc[0].ids[0];
	ASSERT_EQ(p.svc[0].table.excess, survivors, "every slot of the survivor is excess");
	ASSERT_STRCONTAINS(p.ops[find_op(&p, PLAN_SET_RING, 0)].note.fields, "size=1021", "logged");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
	world_free(w2);
}

/* changed and excess between two tables, computed here the long way. */
static void figures(const uint32_t *a, const uint32_t *b, uint32_t m, uint32_t *changed,
		    uint32_t *excess)
{
	*changed = *excess = 0;
	for (uint32_t i = 0; i < m; i++) {
		bool a_in_b = false, b_in_a = false;

		if (a[i] == b[i])
			continue;
		(*changed)++;
		for (uint32_t j = 0; j < m; j++) {
			a_in_b |= b[j] == a[i];
			b_in_a |= a[j] == b[i];
		}
		*excess += a[i] && b[i] && a_in_b && b_in_a;
	}
}

TEST(disruption_figures_between_two_plans)
{
	struct world *w = world_new();
	const struct table_entry *e;
	uint32_t *old = NULL, changed, excess, removed = 0;
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !run(w, "  - {name: web, vip: 10.100.0.1, port: 80, table_size: 251, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}, {address: 10.10.2.14, weight: 2}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].table.changed, 0, "a first table changes nothing");
	e = tables_find(&w->st.tables, &p.svc[0].key);
	if (!ASSERT_TRUE(e && e->size == 251, "cached"))
		goto out;
	old = malloc(251 * sizeof(*old));
	if (!ASSERT_TRUE(old, "copy"))
		goto out;
	memcpy(old, e->ids, 251 * sizeof(*old));
	for (uint32_t i = 0; i < 251; i++)
		removed += old[i] == 3;
	plan_free(&p);
	/* 10.10.2.13 (id 3) goes: its slots move, and a few others. */
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, table_size: 251, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.14, weight: 2}]}\n",
		 &p))
		goto out;
	e = tables_find(&w->st.tables, &p.svc[0].key);
	if (!ASSERT_TRUE(p.svc[0].table.swap && e, "swapped"))
		goto out;
	figures(old, e->ids, 251, &changed, &excess);
	ASSERT_EQ(p.svc[0].table.changed, changed, "changed");
	ASSERT_EQ(p.svc[0].table.excess, excess, "excess");
	ASSERT_EQ(changed, removed + excess, "the removed backend's slots, plus the excess");
	ASSERT_LE(excess, 251 / 10, "Maglev moves few others");
	ASSERT_EQ(e->rebuilds, 2, "two tables swapped in");
	ASSERT_EQ(e->last_excess, excess, "cached figures");
	ASSERT_EQ(e->excess_total, excess, "first excess");
	ASSERT_STRCONTAINS(p.ops[find_op(&p, PLAN_SET_RING, 0)].note.fields, "size=251", "logged");
	plan_free(&p);
	/* A new size moves everything. */
	if (!run(w, "  - {name: web, vip: 10.100.0.1, port: 80, table_size: 509, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.14, weight: 2}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].table.changed, 509, "resized: every slot");
	ASSERT_EQ(p.svc[0].table.excess, 509, "resized: every slot of a survivor is excess");
out:
	free(old);
	plan_free(&p);
	world_free(w);
}

TEST(writes_are_ordered_so_the_datapath_always_has_a_table)
{
	struct world *w = world_new();
	struct plan p = {};
	long first_ring, last_raise = -1, last_vip, first_addr, last_addr, del, ring, prune;
	long first_lower = -1;

	if (!ASSERT_TRUE(w, "world") ||
	    !run(w, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]}\n"
		    "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.13}]}\n",
		 &p))
		goto out;
	plan_free(&p);
	if (!run(w, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.14}]}\n"
		    "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.15}]}\n",
		 &p))
		goto out;
	for (size_t i = 0; i < p.n_ops; i++) {
		if (p.ops[i].kind != PLAN_SET_BACKEND)
			continue;
		if (p.ops[i].be.state == FLB_BE_ACTIVE)
			last_raise = (long)i;
		else if (first_lower < 0)
			first_lower = (long)i;
	}
	first_ring = find_op(&p, PLAN_SET_RING, 0);
	last_vip = last_op(&p, PLAN_SET_VIP);
	first_addr = find_op(&p, PLAN_SET_VIP_ADDR, 0);
	last_addr = last_op(&p, PLAN_SET_VIP_ADDR);
	del = find_op(&p, PLAN_DEL_VIP, 0);
	ring = find_op(&p, PLAN_DEL_RING, 0);
	prune = find_op(&p, PLAN_PRUNE_VIP_ADDRS, 0);
	ASSERT_EQ(count_ops(&p, PLAN_SET_BACKEND), 4, "14 and 15 raised, 11 and 13 drain");
	ASSERT_TRUE(last_raise >= 0 && last_raise < first_ring, "backends serve before a table names them");
	for (size_t s = 0; s < p.n_svc; s++) {
		long r = -1, v = -1;

		for (size_t i = 0; i < p.n_ops; i++) {
			if (p.ops[i].kind == PLAN_SET_RING && p.ops[i].svc == s)
				r = (long)i;
			if (p.ops[i].kind == PLAN_SET_VIP &&
			    !memcmp(&p.ops[i].key, &p.svc[s].key, sizeof(p.svc[s].key)))
				v = (long)i;
		}
		ASSERT_TRUE(r >= 0 && r >= (long)p.svc[s].first_op, "a and c get a table");
		/* a's entry is in the map as it should be: not written again. */
		if (s == 0)
			ASSERT_EQ(v, -1, "a's entry unchanged");
		else if (ASSERT_TRUE(r < v, "c's table before its entry"))
			ASSERT_EQ(p.ops[v].vip.id, p.svc[s].vip_id, "entry names the VIP id");
	}
	ASSERT_TRUE(last_vip < first_addr, "fragment VIPs after the VIPs");
	ASSERT_TRUE(last_addr < del && del + 1 == ring && ring + 1 == prune,
		    "removal after the new state serves: entry, table, fragments");
	ASSERT_EQ(p.ops[ring].id, 1, "b's table");
	ASSERT_STREQ(p.ops[prune + 1].note.msg, "VIP removed", "logged after the last step");
	ASSERT_TRUE(prune < first_lower, "backends drain after the tables stop naming them");
	ASSERT_EQ(p.ops[p.n_ops - 1].kind, PLAN_SET_CTL, "ctl last");
	ASSERT_EQ(p.ops[p.n_ops - 1].ctl.ready, 1, "ready");
	ASSERT_EQ(p.rep.vips_removed, 1, "report: b removed");
	ASSERT_EQ(p.rep.vips, 2, "report: a and c");
	ASSERT_EQ(p.rep.tables_built, 2, "report: a changed, c new");
	ASSERT_EQ(p.rep.backends_draining, 2, "report: 11, 13");
	ASSERT_EQ(w->st.tables.n, 2, "b's table forgotten");
out:
	plan_free(&p);
	world_free(w);
}

TEST(shared_address_takes_the_most_serving_state)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11, weight: 0}, {address: 10.10.2.12}]}\n"
		   "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.11}]}\n"
		   "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}, {address: 10.10.2.14}]}\n",
		   &cfg))
		goto out;
	cfg.services[2].backends[0].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].ids[0], p.svc[1].ids[0], "one id per address");
	ASSERT_EQ(p.state[p.svc[0].ids[0]], FLB_BE_ACTIVE, "draining in a, active in b: active");
	ASSERT_EQ(p.svc[0].ids[1], p.svc[2].ids[0], "one id per address");
	ASSERT_EQ(p.state[p.svc[0].ids[1]], FLB_BE_ACTIVE, "active in a, down in c: active");
	plan_free(&p);
	config_free(&cfg);
	if (!parse("  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12, weight: 0}]}\n"
		   "  - {name: c, vip: 10.100.0.3, port: 80, on_unhealthy: reset, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}, {address: 10.10.2.14}]}\n",
		   &cfg))
		goto out;
	cfg.services[1].backends[0].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.state[p.svc[0].ids[0]], FLB_BE_DRAINING, "draining in a, down in c: draining");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(vip_ids_are_kept_and_a_removed_vips_id_waits_a_run)
{
	struct world *w = world_new();
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !run(w, "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}]}\n"
		    "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.11}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].vip_id, 0, "a: lowest free");
	ASSERT_EQ(p.svc[1].vip_id, 1, "b: next");
	plan_free(&p);
	if (!run(w, "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.11}]}\n"
		    "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.11}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[0].vip_id, 1, "b keeps its id");
	ASSERT_EQ(p.svc[1].vip_id, 2, "c does not take a's: a's table goes after c serves");
	ASSERT_EQ(p.vip_ids[1], 2, "the ids that stay");
	plan_free(&p);
	if (!run(w, "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.11}]}\n"
		    "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.11}]}\n"
		    "  - {name: d, vip: 10.100.0.4, port: 80, backends: [{address: 10.10.2.11}]}\n",
		 &p))
		goto out;
	ASSERT_EQ(p.svc[2].vip_id, 0, "next run: a's id is free again");
out:
	plan_free(&p);
	world_free(w);
}

/* Defensive: a configuration built in memory that the validator would
 * refuse (config_validate.c) is refused by the planner too, nothing written. */
TEST(ipv6_vip_with_an_ipv4_backend_is_refused)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: v6, vip: 'fd00::1', port: 80, backends: [{address: 'fd00::11'}]}\n", &cfg))
		goto out;
	addr_parse("10.10.2.11", &cfg.services[0].backends[0].addr);
	ASSERT_EQ(step(w, &cfg, &p), -EOPNOTSUPP, "refused");
	ASSERT_STRCONTAINS(p.err_msg, "refused by the validator", "why");
	ASSERT_STRCONTAINS(p.err_fields, "services[0].backends[0].address", "what");
	ASSERT_STRCONTAINS(p.err_fields, "an IPv6 VIP needs IPv6 backends", "reason");
	ASSERT_EQ(p.n_ops, 0, "nothing to write");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(failed_apply_commits_only_the_writes_done)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan_input in = {};
	struct plan p = {};
	long ring;

	if (!ASSERT_TRUE(w, "world") || !parse(two, &cfg))
		goto out;
	in = (struct plan_input){ .cfg = &cfg, .state = &w->st };
	if (!ASSERT_OK(plan_make(&in, &p), "plan"))
		goto out;
	ring = find_op(&p, PLAN_SET_RING, 0);
	if (!ASSERT_EQ(ring, 2, "two backends, then the table"))
		goto out;
	/* The table's write failed: the backends are in, the table is not. */
	plan_commit(&w->st, &p, (size_t)ring, w->now);
	ASSERT_EQ(w->st.be[1].state, FLB_BE_ACTIVE, "written backend committed");
	ASSERT_TRUE(!tables_find(&w->st.tables, &p.svc[0].key), "table not cached");
	ASSERT_FALSE(w->st.configured[1], "configured only after a full apply");
	plan_free(&p);
	if (!ASSERT_OK(plan_make(&in, &p), "plan again"))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_SET_BACKEND), 0, "backends not written twice");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 1, "the table is written again");
	ASSERT_EQ(w->st.be[1].gen, 1, "no generation lost to the failure");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

/* ---- incremental planning: the cost of a run follows what changed ---- */

static const char three_svcs[] =
	"  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]}\n"
	"  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}]}\n"
	"  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.14}]}\n";

TEST(unchanged_services_are_neither_rebuilt_nor_written)
{
	struct world *w = world_new();
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") || !run(w, three_svcs, &p))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 3, "first run: every table");
	ASSERT_EQ(count_ops(&p, PLAN_SET_VIP), 3, "first run: every entry");
	plan_free(&p);
	if (!run(w, three_svcs, &p))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 0, "no table written");
	ASSERT_EQ(count_ops(&p, PLAN_SET_VIP), 0, "no entry written: the map has them");
	ASSERT_EQ(count_ops(&p, PLAN_SET_BACKEND), 0, "no backend written");
	ASSERT_EQ(p.rep.tables_built, 0, "report: none built");
	for (size_t s = 0; s < p.n_svc; s++) {
		const struct table_entry *e = tables_find(&w->st.tables, &p.svc[s].key);

		ASSERT_TRUE(p.svc[s].table.reused, "the cached table, not rebuilt");
		ASSERT_TRUE(!p.svc[s].table.slots, "no slots built");
		if (ASSERT_TRUE(e, "still cached")) {
			ASSERT_EQ(p.svc[s].table.size, e->size, "size of the cached table");
			ASSERT_EQ(p.svc[s].table.fingerprint, e->fingerprint, "its fingerprint");
			ASSERT_EQ(e->rebuilds, 1, "swapped in once");
		}
	}
	ASSERT_EQ(p.ops[p.n_ops - 1].kind, PLAN_SET_CTL, "ctl still written last");
out:
	plan_free(&p);
	world_free(w);
}

TEST(one_changed_service_rebuilds_and_writes_only_its_table)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};
	long ring;

	if (!ASSERT_TRUE(w, "world") || !run(w, three_svcs, &p))
		goto out;
	plan_free(&p);
	/* b gains a backend: only b's table changes. */
	if (!run(w,
		 "  - {name: a, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}]}\n"
		 "  - {name: b, vip: 10.100.0.2, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.13}, {address: 10.10.2.15}]}\n"
		 "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.14}]}\n",
		 &p))
		goto out;
	ring = find_op(&p, PLAN_SET_RING, 0);
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 1, "one table");
	if (ASSERT_TRUE(ring >= 0, "b's table"))
		ASSERT_EQ(p.ops[ring].svc, 1, "b's table");
	ASSERT_TRUE(p.svc[0].table.reused && p.svc[2].table.reused, "a and c not rebuilt");
	ASSERT_FALSE(p.svc[1].table.reused, "b rebuilt");
	ASSERT_EQ(count_ops(&p, PLAN_SET_VIP), 0, "entries unchanged");
	plan_free(&p);
	/* A health verdict is an input too: 10.10.2.11 down in a rebuilds a only. */
	if (!parse(three_svcs, &cfg))
		goto out;
	plan_free(&p);
	cfg.services[0].backends[0].check_down = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_FALSE(p.svc[0].table.reused, "a rebuilt: a backend went down");
	ASSERT_FALSE(p.svc[1].table.reused, "b rebuilt: back to two backends");
	ASSERT_TRUE(p.svc[2].table.reused, "c untouched");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 2, "a and b");
	plan_free(&p);
	if (!ASSERT_OK(step(w, &cfg, &p), "plan again"))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 0, "same verdicts: nothing rebuilt");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

TEST(a_table_built_equal_to_the_cached_one_is_reused_next_time)
{
	struct world *w = world_new();
	struct plan p = {};
	static const char swapped[] =
		"  - {name: web, vip: 10.100.0.1, port: 80, backends: [{address: 10.10.2.12}, {address: 10.10.2.11}]}\n";

	if (!ASSERT_TRUE(w, "world") || !run(w, two, &p))
		goto out;
	plan_free(&p);
	/* Other order, same set: inputs differ, so it is built; the table is
	 * the same (Maglev does not depend on the order), so not written. */
	if (!run(w, swapped, &p))
		goto out;
	ASSERT_FALSE(p.svc[0].table.reused, "built");
	ASSERT_FALSE(p.svc[0].table.swap, "equal: not swapped");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), 0, "not written");
	plan_free(&p);
	if (!run(w, swapped, &p))
		goto out;
	ASSERT_TRUE(p.svc[0].table.reused, "its inputs were recorded: reused");
	ASSERT_EQ(tables_find(&w->st.tables, &p.svc[0].key)->rebuilds, 1, "swapped in once");
out:
	plan_free(&p);
	world_free(w);
}

TEST(removals_are_grouped_entries_then_tables_then_one_prune)
{
	struct world *w = world_new();
	struct plan p = {};
	long first_ring, last_del, prune;

	if (!ASSERT_TRUE(w, "world") || !run(w, three_svcs, &p))
		goto out;
	plan_free(&p);
	if (!run(w, "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.14}]}\n", &p))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_DEL_VIP), 2, "a and b's entries");
	ASSERT_EQ(count_ops(&p, PLAN_DEL_RING), 2, "a and b's tables");
	ASSERT_EQ(count_ops(&p, PLAN_PRUNE_VIP_ADDRS), 1, "one walk of the fragment map");
	first_ring = find_op(&p, PLAN_DEL_RING, 0);
	last_del = last_op(&p, PLAN_DEL_VIP);
	prune = find_op(&p, PLAN_PRUNE_VIP_ADDRS, 0);
	ASSERT_TRUE(last_del < first_ring, "every entry goes before any table");
	ASSERT_EQ(prune, last_op(&p, PLAN_DEL_RING) + 1, "then the fragment entries");
	ASSERT_STREQ(p.ops[prune + 1].note.msg, "VIP removed", "then one line per VIP");
	ASSERT_STREQ(p.ops[prune + 2].note.msg, "VIP removed", "then one line per VIP");
	ASSERT_EQ(p.rep.vips_removed, 2, "report");
	ASSERT_EQ(w->st.tables.n, 1, "a and b forgotten");
	ASSERT_TRUE(p.svc[0].table.reused, "c untouched");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING) + count_ops(&p, PLAN_SET_VIP), 0, "c not written");
out:
	plan_free(&p);
	world_free(w);
}

/* A VIP entry this daemon never wrote (left by another process, or added
 * with bpftool) that names the id of a VIP that stays: its entry goes, the
 * table of that id does not. */
TEST(a_foreign_vip_on_a_staying_id_goes_without_its_table)
{
	struct world *w = world_new();
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !run(w, "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.14}]}\n", &p))
		goto out;
	plan_free(&p);
	w->keys[1] = w->keys[0];
	w->keys[1].port = htons(8080);
	w->vips[1] = w->vips[0];
	w->n_vips = 2;
	if (!run(w, "  - {name: c, vip: 10.100.0.3, port: 80, backends: [{address: 10.10.2.14}]}\n", &p))
		goto out;
	ASSERT_EQ(count_ops(&p, PLAN_DEL_VIP), 1, "the foreign entry goes");
	ASSERT_EQ(count_ops(&p, PLAN_DEL_RING), 0, "the table of the id that stays does not");
	ASSERT_EQ(p.rep.vips_removed, 1, "counted as a removed VIP");
	ASSERT_EQ(w->n_vips, 1, "one VIP left");
out:
	plan_free(&p);
	world_free(w);
}

TEST(many_services_plan_with_indexed_lookups)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan_input in = {};
	struct plan p = {};
	char *y = malloc(200 * 1024), err[256];
	size_t o = 0;
	bool ids_ok = true;

	if (!ASSERT_TRUE(w && y, "alloc"))
		goto out;
	/* 1024 services, 3 backends each, one address shared by all. */
	o += snprintf(y + o, 200 * 1024 - o, "interfaces: [eth0]\nservices:\n");
	for (int i = 0; i < FLB_CFG_MAX_SERVICES; i++)
		o += snprintf(y + o, 200 * 1024 - o,
			      "  - {name: s%d, vip: 10.200.%d.%d, port: 80, backends: [{address: 10.10.2.11}, {address: 10.99.%d.%d}, {address: 10.98.%d.%d}]}\n",
			      i, i / 250, i % 250 + 1, i / 250, i % 250 + 1, i / 250, i % 250 + 1);
	if (!ASSERT_OK(config_parse("big.yaml", y, o, &cfg, err, sizeof(err)), err))
		goto out;
	in = (struct plan_input){ .cfg = &cfg, .state = &w->st };
	if (!ASSERT_OK(plan_make(&in, &p), "plan"))
		goto out;
	ASSERT_EQ(p.rep.backends, 1 + 2 * FLB_CFG_MAX_SERVICES, "one id per address");
	ASSERT_EQ(count_ops(&p, PLAN_SET_RING), FLB_CFG_MAX_SERVICES, "every table");
	ASSERT_EQ(count_ops(&p, PLAN_SET_VIP_ADDR), FLB_CFG_MAX_SERVICES, "one fragment VIP each");
	for (size_t s = 0; s < p.n_svc; s++) {
		ids_ok &= p.svc[s].ids[0] == 1; /* the shared address, first named */
		ids_ok &= p.svc[s].ids[1] == 2 + 2 * s && p.svc[s].ids[2] == 3 + 2 * s;
		ids_ok &= p.svc[s].vip_id == s;
	}
	ASSERT_TRUE(ids_ok, "lowest free ids in order, shared address found again");
	plan_commit(&w->st, &p, p.n_ops, w->now);
	plan_free(&p);
	/* The maps now hold every VIP (the world keeps only 16: list them all). */
	{
		struct flb_vip_key *keys = calloc(cfg.n_services, sizeof(*keys));
		struct flb_vip *vips = calloc(cfg.n_services, sizeof(*vips));

		if (ASSERT_TRUE(keys && vips, "alloc")) {
			for (size_t s = 0; s < cfg.n_services; s++) {
				plan_vip_key(&cfg.services[s], &keys[s]);
				vips[s].id = (uint32_t)s;
			}
			in.old_keys = keys;
			in.old_vips = vips;
			in.n_old = cfg.n_services;
			if (ASSERT_OK(plan_make(&in, &p), "plan again")) {
				ASSERT_EQ(count_ops(&p, PLAN_SET_RING) + count_ops(&p, PLAN_SET_VIP) +
						  count_ops(&p, PLAN_SET_BACKEND),
					  0, "nothing changed: no table, entry or backend written");
				ASSERT_EQ(p.rep.tables_built, 0, "nothing built");
			}
		}
		free(keys);
		free(vips);
	}
out:
	free(y);
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}

/* An outlier-ejected backend (outlier.h) leaves the table like a down one
 * but keeps its flows even with on_unhealthy: reset; panic counts it as
 * unhealthy. */
TEST(ejected_backend_leaves_the_table_and_keeps_its_flows)
{
	struct world *w = world_new();
	struct flb_config cfg = {};
	struct plan p = {};

	if (!ASSERT_TRUE(w, "world") ||
	    !parse("  - {name: web, vip: 10.100.0.1, port: 80, on_unhealthy: reset, backends: [{address: 10.10.2.11}, {address: 10.10.2.12}, {address: 10.10.2.13}]}\n",
		   &cfg))
		goto out;
	cfg.services[0].backends[2].ejected = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_EQ(p.svc[0].weights[2], 0, "ejected: no slots");
	ASSERT_EQ(w->st.be[3].state, FLB_BE_ACTIVE, "ejected: its flows stay (not DOWN)");
	plan_free(&p);
	cfg.services[0].backends[1].ejected = true;
	if (!ASSERT_OK(step(w, &cfg, &p), "plan"))
		goto out;
	ASSERT_TRUE(p.svc[0].panic, "two of three ejected: panic");
	ASSERT_EQ(p.svc[0].weights[2], 1, "panic: the ejected serve again");
out:
	plan_free(&p);
	config_free(&cfg);
	world_free(w);
}
