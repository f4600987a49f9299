// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Health check probes on libcurl (see health_probe.h). One easy handle per
 * probe, set up by one function for both ways of running it: alone with
 * curl_easy_perform(), or in a probe_set's multi handle driven through
 * libcurl's socket API. The set's epoll fd holds the probes' sockets (as
 * libcurl asks for them, CURLMOPT_SOCKETFUNCTION) and one timerfd for
 * libcurl's timeouts (CURLMOPT_TIMERFUNCTION), so one readable fd covers
 * everything a probe waits for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <curl/curl.h>

#include "health_probe.h"

_Static_assert(PROBE_ERROR_LEN >= CURL_ERROR_SIZE, "room for libcurl's error text");

struct probe {
	CURL *c;
	enum probe_kind kind;
	void *owner;
	size_t body_len;
	struct probe_result r;
	char errbuf[CURL_ERROR_SIZE];
	struct probe *next;
};

struct probe_set {
	int ep, tfd;
	CURLM *m;
	struct probe *list;
};

static size_t keep_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct probe *p = userp;
	size_t n = size * nmemb, room = PROBE_BODY_KEEP - p->body_len;

	if (room) {
		size_t c = n < room ? n : room;

		memcpy(p->r.body + p->body_len, data, c);
		p->body_len += c;
		p->r.body[p->body_len] = 0;
	}
	return n; /* read the rest too: the server may not like a reset */
}

static void probe_free(struct probe *p)
{
	if (!p)
		return;
	curl_easy_cleanup(p->c);
	free(p);
}

/* A probe with its easy handle set up; NULL with errno set. */
static struct probe *probe_new(const struct probe_spec *s, void *owner)
{
	struct probe *p = calloc(1, sizeof(*p));
	char url[2200];
	CURL *c;

	if (!p)
		return NULL;
	p->c = c = curl_easy_init();
	if (!c) {
		free(p);
		errno = ENOMEM;
		return NULL;
	}
	p->kind = s->kind;
	p->owner = owner;
	curl_easy_setopt(c, CURLOPT_PRIVATE, p);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->timeout_ms);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	if (s->kind == PROBE_TCP || s->direct)
		curl_easy_setopt(c, CURLOPT_PROXY, ""); /* "": no proxy, whatever the environment */
	if (s->kind == PROBE_TCP) {
		/* CONNECT_ONLY: resolve and connect, send nothing. libcurl
		 * copies the URL. */
		snprintf(url, sizeof(url), "http://%s/", s->target);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
		return p;
	}
	curl_easy_setopt(c, CURLOPT_URL, s->target);
	if (s->follow_redirects) {
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	}
	if (s->user_agent)
		curl_easy_setopt(c, CURLOPT_USERAGENT, s->user_agent);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	if (s->tls_skip_verify) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return p;
}

/* Fills p->r from the transfer's outcome. */
static void probe_finish(struct probe *p, CURLcode rc)
{
	if (rc != CURLE_OK) {
		p->r.answered = false;
		snprintf(p->r.error, sizeof(p->r.error), "%s",
			 p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc));
		return;
	}
	p->r.answered = true;
	if (p->kind == PROBE_HTTP)
		curl_easy_getinfo(p->c, CURLINFO_RESPONSE_CODE, &p->r.status);
}

int probe_run(const struct probe_spec *spec, struct probe_result *r)
{
	struct probe *p = probe_new(spec, NULL);

	memset(r, 0, sizeof(*r));
	if (!p) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return -ENOMEM;
	}
	probe_finish(p, curl_easy_perform(p->c));
	*r = p->r;
	probe_free(p);
	return 0;
}

/* ---- many at once ---------------------------------------------------- */

static int on_socket(CURL *c, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct probe_set *ps = userp;
	struct epoll_event ev = { .data.fd = s };

	(void)c, (void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(ps->ep, EPOLL_CTL_DEL, s, NULL); /* may be closed already */
		return 0;
	}
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (epoll_ctl(ps->ep, EPOLL_CTL_MOD, s, &ev) && errno == ENOENT &&
	    epoll_ctl(ps->ep, EPOLL_CTL_ADD, s, &ev))
		return -1;
	return 0;
}

/* libcurl's one timer: -1 disarms, 0 means now (1 ns). */
static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct probe_set *ps = userp;
	struct itimerspec its = {};

	(void)m;
	if (timeout_ms >= 0) {
		its.it_value.tv_sec = timeout_ms / 1000;
		its.it_value.tv_nsec = (timeout_ms % 1000) * 1000000L;
		if (!timeout_ms)
			its.it_value.tv_nsec = 1;
	}
	return timerfd_settime(ps->tfd, 0, &its, NULL) ? -1 : 0;
}

struct probe_set *probe_set_new(void)
{
	struct probe_set *ps = calloc(1, sizeof(*ps));
	struct epoll_event ev = { .events = EPOLLIN };
	int err = ENOMEM;

	if (!ps)
		return NULL;
	ps->ep = ps->tfd = -1;
	/* Reference-counted, and not thread-safe on old libcurl: callers make
	 * their sets before starting threads. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		goto fail;
	ps->ep = epoll_create1(EPOLL_CLOEXEC);
	ps->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (ps->ep < 0 || ps->tfd < 0) {
		err = errno;
		goto fail;
	}
	ev.data.fd = ps->tfd;
	if (epoll_ctl(ps->ep, EPOLL_CTL_ADD, ps->tfd, &ev)) {
		err = errno;
		goto fail;
	}
	ps->m = curl_multi_init();
	if (!ps->m)
		goto fail;
	curl_multi_setopt(ps->m, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(ps->m, CURLMOPT_SOCKETDATA, ps);
	curl_multi_setopt(ps->m, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(ps->m, CURLMOPT_TIMERDATA, ps);
	return ps;
fail:
	probe_set_free(ps);
	errno = err;
	return NULL;
}

static void drop(struct probe_set *ps, struct probe *p)
{
	curl_multi_remove_handle(ps->m, p->c);
	probe_free(p);
}

void probe_set_free(struct probe_set *ps)
{
	if (!ps)
		return;
	while (ps->list) {
		struct probe *p = ps->list;

		ps->list = p->next;
		drop(ps, p);
	}
	if (ps->m)
		curl_multi_cleanup(ps->m);
	if (ps->tfd >= 0)
		close(ps->tfd);
	if (ps->ep >= 0)
		close(ps->ep);
	free(ps);
}

int probe_set_fd(const struct probe_set *ps)
{
	return ps->ep;
}

int probe_set_add(struct probe_set *ps, const struct probe_spec *spec, void *owner)
{
	struct probe *p = probe_new(spec, owner);

	if (!p)
		return -errno;
	/* Starts nothing yet: libcurl arms the timer at 0, and the next
	 * probe_set_run() begins the connect. */
	if (curl_multi_add_handle(ps->m, p->c) != CURLM_OK) {
		probe_free(p);
		return -ENOMEM;
	}
	p->next = ps->list;
	ps->list = p;
	return 0;
}

/* Unlinks the first probe that matches p (by pointer) or owner; NULL when
 * there is none. */
static struct probe *unlink_one(struct probe_set *ps, const struct probe *p, void *owner)
{
	for (struct probe **pp = &ps->list; *pp; pp = &(*pp)->next) {
		struct probe *q = *pp;

		if (p ? q == p : q->owner == owner) {
			*pp = q->next;
			return q;
		}
	}
	return NULL;
}

void probe_set_cancel(struct probe_set *ps, void *owner)
{
	struct probe *p = unlink_one(ps, NULL, owner);

	if (p)
		drop(ps, p);
}

void probe_set_run(struct probe_set *ps, probe_done_fn done, void *ctx)
{
	struct epoll_event ev[64];
	CURLMsg *msg;
	int n, running, left;

	while ((n = epoll_wait(ps->ep, ev, 64, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			int fd = ev[i].data.fd, mask = 0;

			if (fd == ps->tfd) {
				uint64_t expirations;

				if (read(ps->tfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					continue;
				curl_multi_socket_action(ps->m, CURL_SOCKET_TIMEOUT, 0, &running);
				continue;
			}
			if (ev[i].events & EPOLLIN)
				mask |= CURL_CSELECT_IN;
			if (ev[i].events & EPOLLOUT)
				mask |= CURL_CSELECT_OUT;
			if (ev[i].events & (EPOLLERR | EPOLLHUP))
				mask |= CURL_CSELECT_ERR;
			curl_multi_socket_action(ps->m, fd, mask, &running);
		}
		if (n < 64)
			break;
	}
	while ((msg = curl_multi_info_read(ps->m, &left))) {
		struct probe *p = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&p);
		probe_finish(p, msg->data.result);
		unlink_one(ps, p, NULL);
		curl_multi_remove_handle(ps->m, p->c);
		/* done may start the owner's next probe or cancel others */
		done(ctx, p->owner, &p->r);
		probe_free(p);
	}
}
