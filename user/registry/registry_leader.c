// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Leader election and the health-check scheduler (see registry_leader.h).
 * One thread owns all the state here (the schedule, the leader lease) and
 * does every etcd call with its own handle; checks run on short-lived
 * detached threads that only run the check and queue the result. The queue
 * is reference-counted, so a check that outlives the leader thread (a slow
 * Timeout at shutdown) finds it still there and nothing waits for it.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "registry_check.h"
#include "registry_leader.h"

#define TICK_MS 100
#define TRY_MS 1000       /* a follower's election attempts */
#define RENEW_MS 1000     /* the leader's lease renewals */
#define SYNC_MS 1000      /* the leader's listing of instances */
#define MARGIN_MS 500     /* stop leading this long before the lease could expire */
#define OUTPUT_EVERY_MS (5 * 60 * 1000)
#define MAX_IN_FLIGHT 256

struct result {
	struct result *next;
	char id[REG_ID_MAX + 1];
	uint64_t gen;
	enum reg_status st;
	char output[REG_OUTPUT_MAX];
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct result *head, **tail;
	int refs;
};

struct job {
	struct queue *q;
	char id[REG_ID_MAX + 1];
	uint64_t gen;
	enum reg_check_kind kind;
	char *target;
	long timeout_ms;
	bool tls_skip_verify;
};

/* The leader's view of one instance. */
struct sched {
	struct reg_instance in;
	int64_t lease;
	int64_t mod_revision;
	enum reg_status stored;  /* the status in etcd, as last known */
	char *stored_output;
	int64_t next_due;        /* HTTP/TCP: next check; none: next renewal */
	int64_t last_write;      /* 0: not written by this leader yet */
	uint64_t gen;            /* results of older generations are dropped */
	bool in_flight;
	bool seen;
};

struct reg_leader {
	const struct reg_cfg *cfg;
	pthread_t thread;
	atomic_int stop;
	atomic_bool leading;
	struct queue *q;
	struct etcd *e;
	char leader_key[512];
	int64_t lease;           /* the leader lease while leading */
	int64_t lease_until;     /* stop leading at this time without a renewal */
	int64_t next_try, next_renew, next_sync;
	struct sched *s;
	size_t ns, cap;
	int in_flight;
	uint64_t gen;
};

/* ---- the result queue ---------------------------------------------------- */

static void queue_unref(struct queue *q)
{
	struct result *r;
	int refs;

	pthread_mutex_lock(&q->mu);
	refs = --q->refs;
	pthread_mutex_unlock(&q->mu);
	if (refs)
		return;
	while ((r = q->head)) {
		q->head = r->next;
		free(r);
	}
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct result *r = calloc(1, sizeof(*r));

	if (r) {
		snprintf(r->id, sizeof(r->id), "%s", j->id);
		r->gen = j->gen;
		r->st = reg_check_run(j->kind, j->target, j->timeout_ms, j->tls_skip_verify,
				      r->output, sizeof(r->output));
		pthread_mutex_lock(&j->q->mu);
		*j->q->tail = r;
		j->q->tail = &r->next;
		pthread_cond_signal(&j->q->cv);
		pthread_mutex_unlock(&j->q->mu);
	}
	queue_unref(j->q);
	free(j->target);
	free(j);
	return NULL;
}

/* ---- the schedule ---------------------------------------------------------- */

static struct sched *find(struct reg_leader *l, const char *id)
{
	for (size_t i = 0; i < l->ns; i++)
		if (!strcmp(l->s[i].in.id, id))
			return &l->s[i];
	return NULL;
}

static void sched_clear(struct sched *s)
{
	reg_instance_free(&s->in);
	free(s->stored_output);
	memset(s, 0, sizeof(*s));
}

static void schedule_reset(struct reg_leader *l)
{
	for (size_t i = 0; i < l->ns; i++)
		sched_clear(&l->s[i]);
	l->ns = 0;
}

/* The health as the listing found it (or the initial one). */
static void take_health(struct sched *s, const struct reg_entry *en)
{
	const char *out = en->has_health && en->health.output ? en->health.output : "";

	s->stored = reg_effective_status(&en->in, en->has_health ? &en->health : NULL);
	if (!s->stored_output || strcmp(s->stored_output, out)) {
		free(s->stored_output);
		s->stored_output = strdup(out);
	}
}

static int64_t renew_every_ms(const struct sched *s, const struct reg_cfg *cfg)
{
	return reg_lease_ttl_s(&s->in, cfg->lease_min_s) * 1000 / 3;
}

static void sync_schedule(struct reg_leader *l, int64_t now)
{
	struct reg_entry *es = NULL;
	size_t n = 0;

	if (reg_store_list(l->e, l->cfg, NULL, &es, &n, NULL))
		return; /* logged by the etcd client; keep the schedule we have */
	for (size_t i = 0; i < l->ns; i++)
		l->s[i].seen = false;
	for (size_t i = 0; i < n; i++) {
		struct reg_entry *en = &es[i];
		struct sched *s = find(l, en->in.id);

		if (!s) {
			if (l->ns == l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 64;
				struct sched *p = realloc(l->s, cap * sizeof(*p));

				if (!p)
					break;
				l->s = p;
				l->cap = cap;
			}
			s = &l->s[l->ns++];
			memset(s, 0, sizeof(*s));
			s->next_due = now;
		} else if (s->mod_revision != en->mod_revision) {
			/* re-registered: a changed check is checked at once */
			if (!reg_same_check(&s->in.check, &en->in.check) ||
			    s->in.check.interval_ms != en->in.check.interval_ms) {
				s->next_due = now;
				s->in_flight = false;
			}
			reg_instance_free(&s->in);
		} else {
			s->lease = en->lease;
			take_health(s, en);
			s->seen = true;
			continue;
		}
		s->in = en->in; /* moved */
		memset(&en->in, 0, sizeof(en->in));
		s->lease = en->lease;
		s->mod_revision = en->mod_revision;
		s->gen = ++l->gen;
		s->seen = true;
		s->in_flight = false;
		take_health(s, en);
		if (s->in.check.kind == REG_CHECK_NONE)
			s->next_due = now + renew_every_ms(s, l->cfg);
	}
	/* sweep what is gone */
	for (size_t i = 0; i < l->ns;) {
		if (l->s[i].seen) {
			i++;
			continue;
		}
		sched_clear(&l->s[i]);
		l->s[i] = l->s[--l->ns];
	}
	reg_entries_free(es, n);
}

static void launch(struct reg_leader *l, struct sched *s, int64_t now)
{
	struct job *j = calloc(1, sizeof(*j));
	pthread_attr_t attr;
	pthread_t t;
	int err = -ENOMEM;

	if (j)
		j->target = strdup(s->in.check.target);
	if (j && j->target) {
		snprintf(j->id, sizeof(j->id), "%s", s->in.id);
		j->gen = s->gen;
		j->kind = s->in.check.kind;
		j->timeout_ms = (long)s->in.check.timeout_ms;
		j->tls_skip_verify = s->in.check.tls_skip_verify;
		j->q = l->q;
		pthread_mutex_lock(&l->q->mu);
		l->q->refs++;
		pthread_mutex_unlock(&l->q->mu);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 256 * 1024);
		err = -pthread_create(&t, &attr, job_run, j);
		pthread_attr_destroy(&attr);
		if (err)
			queue_unref(l->q);
	}
	if (err) {
		if (j)
			free(j->target);
		free(j);
		log_warn("cannot start a health check", "id=%s error=%d", s->in.id, err);
		s->next_due = now + 1000;
		return;
	}
	s->in_flight = true;
	l->in_flight++;
	/* Consul runs a check every Interval from its start. */
	s->next_due = now + (int64_t)s->in.check.interval_ms;
}

static void run_due(struct reg_leader *l, int64_t now)
{
	for (size_t i = 0; i < l->ns; i++) {
		struct sched *s = &l->s[i];
		int64_t ttl;

		if (s->in_flight || now < s->next_due)
			continue;
		switch (s->in.check.kind) {
		case REG_CHECK_HTTP:
		case REG_CHECK_TCP:
			if (l->in_flight < MAX_IN_FLIGHT)
				launch(l, s, now);
			break;
		case REG_CHECK_NONE:
			/* always passing: keep it while it is registered */
			if (!etcd_lease_keepalive(l->e, s->lease, &ttl) && ttl == 0)
				l->next_sync = now;
			s->next_due = now + renew_every_ms(s, l->cfg);
			break;
		default:
			s->next_due = INT64_MAX; /* TTL: renewed by its own calls */
		}
	}
}

/* ---- leadership ------------------------------------------------------------- */

static void step_down(struct reg_leader *l, const char *why)
{
	if (!atomic_load(&l->leading))
		return;
	log_warn("no longer the health-check leader", "replica=%s reason=\"%s\"",
		 l->cfg->replica_id, why);
	atomic_store(&l->leading, false);
	/* Best effort: if the lease is still ours, give the key up now. */
	etcd_lease_revoke(l->e, l->lease);
	l->lease = 0;
	schedule_reset(l);
	l->next_try = (int64_t)clock_ms() + TRY_MS;
}

static void try_lead(struct reg_leader *l, int64_t now)
{
	const char *id = l->cfg->replica_id;
	int64_t lease;
	bool created = false;

	if (etcd_lease_grant(l->e, REG_LEADER_TTL_S, &lease))
		return;
	if (etcd_create(l->e, l->leader_key, id, strlen(id), lease, &created) || !created) {
		etcd_lease_revoke(l->e, lease);
		return;
	}
	l->lease = lease;
	l->lease_until = now + REG_LEADER_TTL_S * 1000 - MARGIN_MS;
	l->next_renew = now + RENEW_MS;
	l->next_sync = now;
	schedule_reset(l);
	atomic_store(&l->leading, true);
	log_info("became the health-check leader", "replica=%s key=%s", id, l->leader_key);
}

static void renew(struct reg_leader *l, int64_t now)
{
	int64_t ttl;

	if (etcd_lease_keepalive(l->e, l->lease, &ttl))
		return; /* unreachable: lease_until decides */
	if (ttl == 0) {
		step_down(l, "leader lease expired");
		return;
	}
	l->lease_until = now + ttl * 1000 - MARGIN_MS;
}

/* A conditional write did not apply: is it the leadership or the instance? */
static void check_leadership(struct reg_leader *l)
{
	struct etcd_kv kv;
	int err = etcd_get(l->e, l->leader_key, &kv);

	if (err == -ENOENT || (!err && kv.lease != l->lease))
		step_down(l, "another replica holds the leader key");
	if (!err)
		etcd_kv_free(&kv);
}

static void handle_result(struct reg_leader *l, struct result *r, int64_t now)
{
	struct sched *s = find(l, r->id);
	bool changed, applied = false;
	int64_t ttl;

	if (!s || s->gen != r->gen)
		return;
	s->in_flight = false;
	changed = r->st != s->stored ||
		  (strcmp(r->output, s->stored_output ? s->stored_output : "") &&
		   (!s->last_write || now - s->last_write >= OUTPUT_EVERY_MS));
	if (changed) {
		if (reg_store_write_health(l->e, l->cfg, s->in.name, s->in.id, s->lease, r->st,
					   r->output, l->lease, &applied))
			return; /* etcd down: the next result tries again */
		if (!applied) {
			check_leadership(l);
			l->next_sync = now;
			return;
		}
		if (r->st != s->stored) {
			char q[300];

			log_info("health changed", "id=%s name=%s from=%s to=%s output=%s",
				 s->in.id, s->in.name, reg_status_name(s->stored),
				 reg_status_name(r->st), log_quote(q, sizeof(q), r->output));
		}
		s->stored = r->st;
		free(s->stored_output);
		s->stored_output = strdup(r->output);
		s->last_write = now;
	}
	/* What passes or warns is kept; what is critical runs out. */
	if (r->st != REG_CRITICAL && !etcd_lease_keepalive(l->e, s->lease, &ttl) && ttl == 0)
		l->next_sync = now; /* expired or replaced meanwhile */
}

static void drain_results(struct reg_leader *l, int64_t now)
{
	struct result *list, *r;

	pthread_mutex_lock(&l->q->mu);
	list = l->q->head;
	l->q->head = NULL;
	l->q->tail = &l->q->head;
	pthread_mutex_unlock(&l->q->mu);
	while ((r = list)) {
		list = r->next;
		l->in_flight--;
		if (atomic_load(&l->leading))
			handle_result(l, r, now);
		free(r);
	}
}

static void *leader_main(void *arg)
{
	struct reg_leader *l = arg;

	while (!atomic_load(&l->stop)) {
		int64_t now = (int64_t)clock_ms();
		struct timespec until;

		if (!atomic_load(&l->leading)) {
			if (now >= l->next_try) {
				l->next_try = now + TRY_MS;
				try_lead(l, now);
			}
		} else {
			if (now >= l->next_renew) {
				l->next_renew = now + RENEW_MS;
				renew(l, now);
			}
			if (atomic_load(&l->leading) && (int64_t)clock_ms() >= l->lease_until)
				step_down(l, "leader lease not renewed in time (etcd unreachable?)");
		}
		if (atomic_load(&l->leading) && now >= l->next_sync) {
			l->next_sync = now + SYNC_MS;
			sync_schedule(l, now);
		}
		if (atomic_load(&l->leading))
			run_due(l, (int64_t)clock_ms());
		drain_results(l, (int64_t)clock_ms());

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&l->q->mu);
		if (!l->q->head && !atomic_load(&l->stop))
			pthread_cond_timedwait(&l->q->cv, &l->q->mu, &until);
		pthread_mutex_unlock(&l->q->mu);
	}
	if (atomic_load(&l->leading)) {
		etcd_lease_revoke(l->e, l->lease);
		atomic_store(&l->leading, false);
		log_info("gave up the health-check leadership", "replica=%s", l->cfg->replica_id);
	}
	schedule_reset(l);
	return NULL;
}

struct reg_leader *reg_leader_start(const struct reg_cfg *cfg)
{
	struct reg_leader *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return NULL;
	l->cfg = cfg;
	snprintf(l->leader_key, sizeof(l->leader_key), "%sleader", cfg->prefix);
	l->q = calloc(1, sizeof(*l->q));
	l->e = reg_etcd_new(cfg);
	if (!l->q || !l->e)
		goto fail;
	pthread_mutex_init(&l->q->mu, NULL);
	pthread_cond_init(&l->q->cv, NULL);
	l->q->tail = &l->q->head;
	l->q->refs = 1;
	err = pthread_create(&l->thread, NULL, leader_main, l);
	if (err) {
		errno = err;
		queue_unref(l->q);
		l->q = NULL;
		goto fail;
	}
	return l;
fail:
	free(l->q);
	etcd_free(l->e);
	free(l);
	return NULL;
}

void reg_leader_stop(struct reg_leader *l)
{
	if (!l)
		return;
	atomic_store(&l->stop, 1);
	pthread_mutex_lock(&l->q->mu);
	pthread_cond_signal(&l->q->cv);
	pthread_mutex_unlock(&l->q->mu);
	pthread_join(l->thread, NULL);
	queue_unref(l->q);
	etcd_free(l->e);
	free(l->s);
	free(l);
}

bool reg_leader_leading(struct reg_leader *l)
{
	return atomic_load(&l->leading);
}
