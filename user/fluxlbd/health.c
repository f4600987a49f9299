// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health checker (see health.h): the schedule and the rise/fall state of
 * each target. The probe itself (TCP connect, HTTP GET) is
 * lib/health_probe.c, shared with fluxlb-registry; its probe_set runs every
 * check in flight without blocking, and its fd is health_fd(). A probe is
 * owned by its target; health_configure() cancels every probe in flight
 * before the array changes, so a stale owner is never called back. A check
 * that has not finished by its deadline fails.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "health.h"
#include "health_probe.h"
#include "log.h"

struct target {
	char service[64];
	struct flb_addr addr;
	uint16_t port;
	struct flb_health_cfg cfg;
	enum flb_be_health state;
	uint32_t ok_streak, fail_streak;
	uint64_t checks_ok, checks_failed;
	uint64_t next_ms, deadline_ms;
	bool in_flight; /* a probe of this target is in h->probes */
};

struct health {
	struct probe_set *probes;
	struct target *t;
	size_t n;
	struct target *restored; /* from health_restore(), until the next configure */
	size_t n_restored;
	uint32_t seed;
};

struct health *health_new(void)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->probes = probe_set_new();
	if (!h->probes) {
		free(h);
		return NULL;
	}
	h->seed = (uint32_t)getpid();
	return h;
}

static void stop(struct health *h, struct target *t)
{
	if (t->in_flight)
		probe_set_cancel(h->probes, t);
	t->in_flight = false;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		stop(h, &h->t[i]);
	probe_set_free(h->probes);
	free(h->t);
	free(h->restored);
	free(h);
}

int health_fd(const struct health *h)
{
	return probe_set_fd(h->probes);
}

static bool same_target(const struct target *a, const struct target *b)
{
	return !strcmp(a->service, b->service) && !addr_cmp(&a->addr, &b->addr) &&
	       a->port == b->port;
}

static bool same_check(const struct target *a, const struct target *b)
{
	return same_target(a, b) && !memcmp(&a->cfg, &b->cfg, sizeof(a->cfg));
}

int health_restore(struct health *h, const char *service, const struct flb_addr *a,
		   uint16_t port, enum flb_be_health state)
{
	struct target *t = realloc(h->restored, (h->n_restored + 1) * sizeof(*t));

	if (!t)
		return -ENOMEM;
	h->restored = t;
	t = &h->restored[h->n_restored++];
	memset(t, 0, sizeof(*t));
	snprintf(t->service, sizeof(t->service), "%s", service);
	t->addr = *a;
	t->port = port;
	t->state = state;
	return 0;
}

/* A new target takes a restored verdict: DOWN needs `rise` successes. */
static void take_restored(const struct health *h, struct target *t)
{
	for (size_t r = 0; r < h->n_restored; r++)
		if (same_target(&h->restored[r], t))
			t->state = h->restored[r].state;
}

int health_configure(struct health *h, const struct flb_config *cfg)
{
	struct target *next;
	size_t n = 0, k = 0;

	for (size_t s = 0; s < cfg->n_services; s++)
		if (cfg->services[s].health.type != FLB_HC_NONE)
			n += cfg->services[s].n_backends;
	next = calloc(n + 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (size_t s = 0; s < cfg->n_services; s++) {
		const struct flb_service_cfg *svc = &cfg->services[s];

		if (svc->health.type == FLB_HC_NONE)
			continue;
		for (size_t b = 0; b < svc->n_backends; b++, k++) {
			struct target *t = &next[k];

			snprintf(t->service, sizeof(t->service), "%s", svc->name);
			t->addr = svc->backends[b].addr;
			/* The backend's own port: a pod's target port. */
			t->port = svc->health.port	     ? svc->health.port :
				  svc->backends[b].port ? svc->backends[b].port :
							  svc->port;
			t->cfg = svc->health;
			take_restored(h, t);
			for (size_t o = 0; o < h->n; o++) {
				if (!same_check(&h->t[o], t))
					continue;
				t->state = h->t[o].state;
				t->ok_streak = h->t[o].ok_streak;
				t->fail_streak = h->t[o].fail_streak;
				t->checks_ok = h->t[o].checks_ok;
				t->checks_failed = h->t[o].checks_failed;
				t->next_ms = h->t[o].next_ms;
			}
		}
	}
	for (size_t i = 0; i < h->n; i++)
		stop(h, &h->t[i]);
	free(h->t);
	h->t = next;
	h->n = n;
	free(h->restored);
	h->restored = NULL;
	h->n_restored = 0;
	return 0;
}

void health_each(const struct health *h, health_each_fn fn, void *ctx)
{
	for (size_t i = 0; i < h->n; i++)
		fn(ctx, h->t[i].service, &h->t[i].addr, h->t[i].port, h->t[i].state);
}

enum flb_be_health health_target(const struct health *h, const char *service,
				 const struct flb_addr *a, uint16_t port)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->t[i].port == port && !strcmp(h->t[i].service, service) &&
		    !addr_cmp(&h->t[i].addr, a))
			return h->t[i].state;
	return FLB_HEALTH_UNKNOWN;
}

static const char *state_name(enum flb_be_health s)
{
	return s == FLB_HEALTH_UP ? "up" : s == FLB_HEALTH_DOWN ? "down" : "unknown";
}

/* Records a result; true when the target crossed rise or fall. */
static bool result(struct health *h, struct target *t, bool ok, const char *why)
{
	enum flb_be_health before = t->state;
	char a[INET6_ADDRSTRLEN], q[PROBE_ERROR_LEN + 64];

	stop(h, t);
	if (ok) {
		t->checks_ok++;
		t->ok_streak++;
		t->fail_streak = 0;
		if (t->state == FLB_HEALTH_UNKNOWN ||
		    (t->state == FLB_HEALTH_DOWN && t->ok_streak >= t->cfg.rise))
			t->state = FLB_HEALTH_UP;
	} else {
		t->checks_failed++;
		t->fail_streak++;
		t->ok_streak = 0;
		if (t->state != FLB_HEALTH_DOWN && t->fail_streak >= t->cfg.fall)
			t->state = FLB_HEALTH_DOWN;
	}
	if (t->state == before)
		return false;
	addr_format(&t->addr, a, sizeof(a));
	log_msg(t->state == FLB_HEALTH_DOWN ? LOG_WARN : LOG_INFO, "backend health changed",
		"service=%s backend=%s port=%u from=%s to=%s reason=%s", t->service, a, t->port,
		state_name(before), state_name(t->state),
		log_quote(q, sizeof(q), ok ? "check passed" : why));
	/* UNKNOWN -> UP changes nothing that serves: only DOWN and back count. */
	return before == FLB_HEALTH_DOWN || t->state == FLB_HEALTH_DOWN;
}

static bool start(struct health *h, struct target *t, uint64_t now)
{
	char hostport[FLB_ADDR_PORT_STRLEN], url[FLB_ADDR_PORT_STRLEN + sizeof(t->cfg.path) + 8];
	struct probe_spec spec = {
		.kind = t->cfg.type == FLB_HC_HTTP ? PROBE_HTTP : PROBE_TCP,
		.target = hostport,
		.timeout_ms = t->cfg.timeout_ms,
		.direct = true, /* the backend itself, never a proxy */
		.user_agent = "fluxlbd-health",
	};
	int err;

	/* Next run: the interval, jittered by up to ±10 %. */
	h->seed = h->seed * 1103515245 + 12345;
	t->next_ms = now + t->cfg.interval_ms - t->cfg.interval_ms / 10 +
		     (h->seed >> 8) % (t->cfg.interval_ms / 5 + 1);
	t->deadline_ms = now + t->cfg.timeout_ms;
	err = addr_port_format(&t->addr, t->port, hostport, sizeof(hostport));
	if (err)
		return result(h, t, false, strerror(-err));
	if (spec.kind == PROBE_HTTP) {
		snprintf(url, sizeof(url), "http://%s%s", hostport, t->cfg.path);
		spec.target = url;
	}
	err = probe_set_add(h->probes, &spec, t);
	if (err)
		return result(h, t, false, strerror(-err));
	t->in_flight = true;
	return false;
}

struct run {
	struct health *h;
	bool changed;
};

/* probe_done_fn: the probe is gone; its verdict is the target's. */
static void on_probe(void *ctx, void *owner, const struct probe_result *r)
{
	struct run *run = ctx;
	struct target *t = owner;
	char why[PROBE_ERROR_LEN + 32];
	bool ok;

	t->in_flight = false;
	if (!r->answered) {
		snprintf(why, sizeof(why), "%s", r->error);
		ok = false;
	} else if (t->cfg.type == FLB_HC_HTTP) {
		ok = r->status >= t->cfg.expect_min && r->status <= t->cfg.expect_max;
		snprintf(why, sizeof(why), "unexpected HTTP status %ld", r->status);
	} else {
		ok = true;
	}
	run->changed |= result(run->h, t, ok, why);
}

bool health_run(struct health *h, uint64_t now)
{
	struct run run = { .h = h };

	probe_set_run(h->probes, on_probe, &run);
	for (size_t i = 0; i < h->n; i++) {
		struct target *t = &h->t[i];

		if (t->in_flight && now >= t->deadline_ms)
			run.changed |= result(h, t, false, "timeout");
		if (!t->in_flight && now >= t->next_ms)
			run.changed |= start(h, t, now);
	}
	return run.changed;
}

enum flb_be_health health_get(void *hp, const char *service, const struct flb_addr *a)
{
	const struct health *h = hp;

	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->t[i].service, service) && !addr_cmp(&h->t[i].addr, a))
			return h->t[i].state;
	return FLB_HEALTH_UNKNOWN;
}

void health_publish(const struct health *h, struct flb_status *st)
{
	/* Each target's address formatted once, not once per status row: with
	 * thousands of both, formatting in the inner loop took about a second. */
	char (*addr)[INET6_ADDRSTRLEN] = calloc(h->n + 1, sizeof(*addr));

	if (!addr)
		return;
	for (size_t i = 0; i < h->n; i++)
		addr_format(&h->t[i].addr, addr[i], sizeof(addr[i]));
	pthread_mutex_lock(&st->lock);
	for (size_t j = 0; j < st->n_backends; j++) {
		struct flb_status_backend *b = &st->backends[j];

		for (size_t i = 0; i < h->n; i++) {
			if (strcmp(h->t[i].service, b->service) || strcmp(addr[i], b->address))
				continue;
			b->health = h->t[i].state;
			b->checks_ok = h->t[i].checks_ok;
			b->checks_failed = h->t[i].checks_failed;
		}
	}
	pthread_mutex_unlock(&st->lock);
	free(addr);
}
