// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What every registry source shares (see source.h): the thread, the view
 * under a mutex, the eventfd that wakes the daemon, and publishing only
 * real changes. The kinds (source_consul.c, source_etcd.c) talk to their
 * registry and call source_publish().
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "source.h"

struct source {
	const struct source_kind *kind;
	struct flb_source_cfg cfg;
	char (*names)[64];
	size_t n_names;
	pthread_t thread;
	bool started;
	int efd;
	volatile int stop;
	pthread_mutex_t lock;
	struct src_view view;
};

static void *thread_main(void *arg)
{
	struct source *s = arg;
	const char **names = calloc(s->n_names + 1, sizeof(*names));

	if (!names)
		return NULL;
	for (size_t i = 0; i < s->n_names; i++)
		names[i] = s->names[i];
	s->kind->run(s, &s->cfg, names, s->n_names);
	free(names);
	return NULL;
}

/* The distinct source_service names of cfg. */
static int collect_names(struct source *s, const struct flb_config *cfg)
{
	s->names = calloc(cfg->n_services + 1, sizeof(*s->names));
	if (!s->names)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_services; i++) {
		const char *n = cfg->services[i].source_service;
		bool seen = false;

		for (size_t j = 0; j < s->n_names && !seen; j++)
			seen = !strcmp(s->names[j], n);
		if (*n && !seen)
			strcpy(s->names[s->n_names++], n);
	}
	s->view.svc = calloc(s->n_names + 1, sizeof(*s->view.svc));
	if (!s->view.svc)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_names; i++)
		strcpy(s->view.svc[i].name, s->names[i]);
	s->view.n = s->n_names;
	return 0;
}

struct source *source_start(const struct flb_config *cfg)
{
	struct source *s;
	int err;

	errno = 0;
	if (cfg->source.type == FLB_SRC_FILE)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->kind = cfg->source.type == FLB_SRC_CONSUL	 ? &source_consul
		  : cfg->source.type == FLB_SRC_KUBERNETES ? &source_kubernetes
							   : &source_etcd;
	s->cfg = cfg->source;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&s->lock, NULL);
	s->view.up = true; /* so that the first failure is logged */
	err = s->efd < 0 ? -errno : collect_names(s, cfg);
	if (!err)
		err = -pthread_create(&s->thread, NULL, thread_main, s);
	if (err) {
		source_stop(s);
		errno = -err;
		return NULL;
	}
	s->started = true;
	log_info("registry source started", "kind=%s services=%zu", s->kind->name, s->n_names);
	return s;
}

void source_stop(struct source *s)
{
	if (!s)
		return;
	s->stop = 1;
	if (s->started)
		pthread_join(s->thread, NULL);
	if (s->efd >= 0)
		close(s->efd);
	src_view_free(&s->view);
	free(s->names);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

bool source_stopping(const struct source *s)
{
	return s->stop;
}

volatile int *source_stop_flag(struct source *s)
{
	return &s->stop;
}

int source_fd(const struct source *s)
{
	return s->efd;
}

void src_view_free(struct src_view *v)
{
	for (size_t i = 0; v->svc && i < v->n; i++)
		free(v->svc[i].inst);
	free(v->svc);
	memset(v, 0, sizeof(*v));
}

int source_view(struct source *s, struct src_view *out)
{
	uint64_t drain;
	int err = 0;

	if (read(s->efd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&s->lock);
	*out = s->view;
	out->svc = calloc(s->view.n + 1, sizeof(*out->svc));
	for (size_t i = 0; out->svc && i < s->view.n; i++) {
		out->svc[i] = s->view.svc[i];
		out->svc[i].inst = calloc(s->view.svc[i].n + 1, sizeof(struct src_instance));
		if (!out->svc[i].inst) {
			err = -ENOMEM;
			break;
		}
		memcpy(out->svc[i].inst, s->view.svc[i].inst, s->view.svc[i].n * sizeof(struct src_instance));
	}
	if (!out->svc)
		err = -ENOMEM;
	pthread_mutex_unlock(&s->lock);
	if (err)
		src_view_free(out);
	return err;
}

static void wake(struct source *s)
{
	uint64_t one = 1;

	if (write(s->efd, &one, sizeof(one)) < 0)
		log_debug("eventfd write failed", NULL);
}

static int cmp_inst(const void *a, const void *b)
{
	return strcmp(((const struct src_instance *)a)->id, ((const struct src_instance *)b)->id);
}

void source_publish(struct source *s, const char *service, struct src_instance *inst, size_t n)
{
	bool changed = false;

	qsort(inst, n, sizeof(*inst), cmp_inst); /* order of arrival never matters */
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->view.n; i++) {
		struct src_service *v = &s->view.svc[i];

		if (v->discovered || strcmp(v->name, service))
			continue;
		changed = !v->known || v->n != n || memcmp(v->inst, inst, n * sizeof(*inst));
		if (changed) {
			free(v->inst);
			v->inst = inst;
			v->n = n;
			v->known = true;
			inst = NULL;
			s->view.version++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	free(inst);
	if (changed) {
		log_info("registry view changed", "service=%s instances=%zu", service, n);
		wake(s);
	}
}

static bool same_discovered(const struct src_service *a, const struct src_service *b)
{
	return !strcmp(a->name, b->name) && !addr_cmp(&a->vip, &b->vip) && a->port == b->port &&
	       a->proto == b->proto && a->affinity_timeout_s == b->affinity_timeout_s && a->n == b->n && !memcmp(a->inst, b->inst, a->n * sizeof(*a->inst));
}

void source_publish_discovered(struct source *s, struct src_service *svc, size_t n)
{
	struct src_service *grown = NULL;
	size_t old, first = s->n_names;
	bool changed;

	for (size_t i = 0; i < n; i++) {
		svc[i].discovered = svc[i].known = true;
		qsort(svc[i].inst, svc[i].n, sizeof(*svc[i].inst), cmp_inst);
	}
	pthread_mutex_lock(&s->lock);
	old = s->view.n - first;
	changed = !s->view.discovered_known || old != n;
	for (size_t i = 0; i < n && !changed; i++)
		changed = !same_discovered(&s->view.svc[first + i], &svc[i]);
	if (changed)
		grown = realloc(s->view.svc, (first + n + 1) * sizeof(*grown));
	if (grown) {
		for (size_t i = first; i < first + old; i++)
			free(grown[i].inst);
		memcpy(grown + first, svc, n * sizeof(*svc));
		s->view.svc = grown;
		s->view.n = first + n;
		s->view.discovered_known = true;
		s->view.version++;
	}
	pthread_mutex_unlock(&s->lock);
	if (!grown) {
		for (size_t i = 0; i < n; i++)
			free(svc[i].inst);
	}
	free(svc);
	if (grown) {
		log_info("discovered services changed", "services=%zu", n);
		wake(s);
	}
}

void source_set_up(struct source *s, bool up, const char *why)
{
	bool was;

	pthread_mutex_lock(&s->lock);
	was = s->view.up;
	s->view.up = up;
	pthread_mutex_unlock(&s->lock);
	if (was == up)
		return;
	if (up)
		log_info("registry reachable", "kind=%s", s->kind->name);
	else
		log_warn("registry unreachable; the last tables keep serving", "kind=%s reason=\"%s\"",
			 s->kind->name, why ? why : "");
	wake(s);
}
