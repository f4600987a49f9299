// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health checker (see health.h). Each target is a small state machine:
 * IDLE -> CONNECTING (non-blocking connect, EPOLLOUT) -> for HTTP: SENT
 * (request written, EPOLLIN) -> IDLE with a result. A check that has not
 * finished by its deadline fails. Epoll data carries the target's index;
 * health_configure() closes every socket in flight before the array
 * changes, so a stale index can never be delivered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "health.h"
#include "log.h"

enum phase { IDLE, CONNECTING, SENT };

struct target {
	char service[64];
	struct flb_addr addr;
	uint16_t port;
	struct flb_health_cfg cfg;
	enum flb_be_health state;
	uint32_t ok_streak, fail_streak;
	uint64_t checks_ok, checks_failed;
	uint64_t next_ms, deadline_ms;
	enum phase phase;
	int fd;
	char buf[64];
	size_t got;
};

struct health {
	int ep;
	struct target *t;
	size_t n;
	uint32_t seed;
};

struct health *health_new(void)
{
	struct health *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ep = epoll_create1(EPOLL_CLOEXEC);
	if (h->ep < 0) {
		free(h);
		return NULL;
	}
	h->seed = (uint32_t)getpid();
	return h;
}

static void stop(struct health *h, struct target *t)
{
	if (t->fd >= 0) {
		epoll_ctl(h->ep, EPOLL_CTL_DEL, t->fd, NULL);
		close(t->fd);
	}
	t->fd = -1;
	t->phase = IDLE;
	t->got = 0;
}

void health_free(struct health *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		stop(h, &h->t[i]);
	close(h->ep);
	free(h->t);
	free(h);
}

int health_fd(const struct health *h)
{
	return h->ep;
}

static bool same_check(const struct target *a, const struct target *b)
{
	return !strcmp(a->service, b->service) && !addr_cmp(&a->addr, &b->addr) &&
	       a->port == b->port && !memcmp(&a->cfg, &b->cfg, sizeof(a->cfg));
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
			t->port = svc->health.port ? svc->health.port : svc->port;
			t->cfg = svc->health;
			t->fd = -1;
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
	return 0;
}

static const char *state_name(enum flb_be_health s)
{
	return s == FLB_HEALTH_UP ? "up" : s == FLB_HEALTH_DOWN ? "down" : "unknown";
}

/* Records a result; true when the target crossed rise or fall. */
static bool result(struct health *h, struct target *t, bool ok, const char *why)
{
	enum flb_be_health before = t->state;
	char a[INET6_ADDRSTRLEN];

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
		"service=%s backend=%s port=%u from=%s to=%s reason=\"%s\"", t->service, a, t->port,
		state_name(before), state_name(t->state), ok ? "check passed" : why);
	/* UNKNOWN -> UP changes nothing that serves: only DOWN and back count. */
	return before == FLB_HEALTH_DOWN || t->state == FLB_HEALTH_DOWN;
}

static bool start(struct health *h, struct target *t, uint64_t now)
{
	struct sockaddr_storage ss = {};
	struct epoll_event ev = { .events = EPOLLOUT };
	socklen_t len;
	int fd;

	/* Next run: the interval, jittered by up to ±10 %. */
	h->seed = h->seed * 1103515245 + 12345;
	t->next_ms = now + t->cfg.interval_ms - t->cfg.interval_ms / 10 +
		     (h->seed >> 8) % (t->cfg.interval_ms / 5 + 1);
	t->deadline_ms = now + t->cfg.timeout_ms;
	if (t->addr.family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(t->port);
		memcpy(&s6->sin6_addr, t->addr.bytes, 16);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(t->port);
		memcpy(&s4->sin_addr, t->addr.bytes, 4);
		len = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return result(h, t, false, strerror(errno));
	t->fd = fd;
	t->phase = CONNECTING;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
		return result(h, t, false, strerror(errno));
	ev.data.u64 = t - h->t;
	if (epoll_ctl(h->ep, EPOLL_CTL_ADD, fd, &ev))
		return result(h, t, false, strerror(errno));
	return false;
}

/* "HTTP/1.x NNN ..." within the first bytes of the answer. */
static bool http_status_ok(const struct target *t, bool *done)
{
	unsigned code;

	*done = memchr(t->buf, '\n', t->got) != NULL || t->got == sizeof(t->buf) - 1;
	if (!*done)
		return false;
	return sscanf(t->buf, "HTTP/1.%*1u %3u", &code) == 1 && code >= t->cfg.expect_min &&
	       code <= t->cfg.expect_max;
}

static bool on_io(struct health *h, struct target *t)
{
	char req[256], host[INET6_ADDRSTRLEN];
	int soerr = 0, n;
	socklen_t sl = sizeof(soerr);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = t - h->t };
	bool done;

	if (t->phase == CONNECTING) {
		getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr)
			return result(h, t, false, strerror(soerr));
		if (t->cfg.type == FLB_HC_TCP)
			return result(h, t, true, NULL);
		addr_format(&t->addr, host, sizeof(host));
		n = snprintf(req, sizeof(req),
			     "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: fluxlbd-health\r\n\r\n",
			     t->cfg.path, host);
		if (write(t->fd, req, n) != n)
			return result(h, t, false, "cannot send the request");
		t->phase = SENT;
		epoll_ctl(h->ep, EPOLL_CTL_MOD, t->fd, &ev);
		return false;
	}
	n = read(t->fd, t->buf + t->got, sizeof(t->buf) - 1 - t->got);
	if (n < 0 && errno == EAGAIN)
		return false;
	if (n <= 0)
		return result(h, t, false, n ? strerror(errno) : "connection closed before a status line");
	t->got += n;
	t->buf[t->got] = 0;
	if (http_status_ok(t, &done))
		return result(h, t, true, NULL);
	return done ? result(h, t, false, "unexpected HTTP status") : false;
}

bool health_run(struct health *h, uint64_t now)
{
	struct epoll_event ev[64];
	bool changed = false;
	int n;

	while ((n = epoll_wait(h->ep, ev, 64, 0)) > 0)
		for (int i = 0; i < n; i++)
			if (ev[i].data.u64 < h->n && h->t[ev[i].data.u64].fd >= 0)
				changed |= on_io(h, &h->t[ev[i].data.u64]);
	for (size_t i = 0; i < h->n; i++) {
		struct target *t = &h->t[i];

		if (t->phase != IDLE && now >= t->deadline_ms)
			changed |= result(h, t, false, "timeout");
		if (t->phase == IDLE && now >= t->next_ms)
			changed |= start(h, t, now);
	}
	return changed;
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
	pthread_mutex_lock(&st->lock);
	for (size_t j = 0; j < st->n_backends; j++) {
		struct flb_status_backend *b = &st->backends[j];

		for (size_t i = 0; i < h->n; i++) {
			char a[INET6_ADDRSTRLEN];

			addr_format(&h->t[i].addr, a, sizeof(a));
			if (strcmp(h->t[i].service, b->service) || strcmp(a, b->address))
				continue;
			b->health = h->t[i].state;
			b->checks_ok = h->t[i].checks_ok;
			b->checks_failed = h->t[i].checks_failed;
		}
	}
	pthread_mutex_unlock(&st->lock);
}
