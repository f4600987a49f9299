// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lib/health_probe.c against servers on 127.0.0.1 in this process: what a
 * probe reports for an HTTP answer, a TCP connect, a refused connect and a
 * server that never answers, run alone (the registry's way) and in a
 * probe_set (the daemon's way), that a cancelled probe is never reported,
 * and that a direct probe ignores a proxy in the environment. Needs
 * loopback only; every probe here is direct, whatever the environment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flb_test.h"
#include "health_probe.h"

struct server {
	int fd;
	uint16_t port;
	const char *answer; /* NULL: accept and never answer */
	int conns;          /* connections to serve */
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	for (int i = 0; i < s->conns; i++) {
		char req[2048];
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		if (read(c, req, sizeof(req)) > 0 && s->answer &&
		    write(c, s->answer, strlen(s->answer)) < 0)
			break;
		close(c);
	}
	return NULL;
}

/* A listening socket on 127.0.0.1; a serving thread when conns > 0. */
static bool server_start(struct server *s, const char *answer, int conns)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	s->answer = answer;
	s->conns = conns;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 8) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len))
		return false;
	s->port = ntohs(a.sin_port);
	return !conns || !pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR); /* ends a blocked accept() */
	if (s->conns)
		pthread_join(s->thread, NULL);
	close(s->fd);
}

static const char *const answer_503 =
	"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
static const char *const answer_200 = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

TEST(run_http_reports_status_and_body)
{
	struct server s;
	struct probe_result r;
	char url[64];

	if (!ASSERT_TRUE(server_start(&s, answer_503, 1), "server"))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", s.port);
	struct probe_spec spec = { .kind = PROBE_HTTP, .target = url, .timeout_ms = 2000, .direct = true };

	ASSERT_OK(probe_run(&spec, &r), "run");
	ASSERT_TRUE(r.answered, "answered");
	ASSERT_EQ(r.status, 503, "status");
	ASSERT_STREQ(r.body, "busy", "body");
	server_stop(&s);
}

TEST(run_tcp_connects_and_refused_is_reported)
{
	struct server s;
	struct probe_result r;
	char target[32];

	if (!ASSERT_TRUE(server_start(&s, NULL, 0), "server"))
		return;
	snprintf(target, sizeof(target), "127.0.0.1:%u", s.port);
	struct probe_spec spec = { .kind = PROBE_TCP, .target = target, .timeout_ms = 2000 };

	ASSERT_OK(probe_run(&spec, &r), "run");
	ASSERT_TRUE(r.answered, "connected");
	server_stop(&s); /* the port is closed now */
	ASSERT_OK(probe_run(&spec, &r), "run refused");
	ASSERT_FALSE(r.answered, "refused");
	ASSERT_TRUE(r.error[0] != 0, "refused says why");
}

TEST(run_times_out_on_silence)
{
	struct server s;
	struct probe_result r;
	char url[64];

	if (!ASSERT_TRUE(server_start(&s, NULL, 0), "server"))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
	struct probe_spec spec = { .kind = PROBE_HTTP, .target = url, .timeout_ms = 200, .direct = true };

	ASSERT_OK(probe_run(&spec, &r), "run");
	ASSERT_FALSE(r.answered, "no answer");
	ASSERT_STRCONTAINS(r.error, "imed out", "why");
	server_stop(&s);
}

struct seen {
	int calls;
	void *owner;
	struct probe_result r;
};

static void on_done(void *ctx, void *owner, const struct probe_result *r)
{
	struct seen *seen = ctx;

	seen->calls++;
	seen->owner = owner;
	seen->r = *r;
}

/* Drives ps the way fluxlbd does: wait on its fd, then run. */
static void drive(struct probe_set *ps, struct seen *seen, int max_ms)
{
	for (int waited = 0; !seen->calls && waited < max_ms; waited += 20) {
		struct pollfd p = { .fd = probe_set_fd(ps), .events = POLLIN };

		poll(&p, 1, 20);
		probe_set_run(ps, on_done, seen);
	}
}

TEST(set_reports_each_probe_to_its_owner)
{
	struct probe_set *ps = probe_set_new();
	struct server s;
	struct seen seen = {};
	int owner;
	char url[64];

	if (!ASSERT_TRUE(ps != NULL, "set") || !ASSERT_TRUE(server_start(&s, answer_200, 1), "server"))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/health", s.port);
	struct probe_spec spec = { .kind = PROBE_HTTP, .target = url, .timeout_ms = 2000, .direct = true };

	ASSERT_OK(probe_set_add(ps, &spec, &owner), "add");
	drive(ps, &seen, 3000);
	ASSERT_EQ(seen.calls, 1, "reported once");
	ASSERT_TRUE(seen.owner == &owner, "to its owner");
	ASSERT_TRUE(seen.r.answered, "answered");
	ASSERT_EQ(seen.r.status, 200, "status");
	server_stop(&s);
	probe_set_free(ps);
}

TEST(set_cancelled_probe_is_never_reported)
{
	struct probe_set *ps = probe_set_new();
	struct server s;
	struct seen seen = {};
	int owner;
	char url[64];

	if (!ASSERT_TRUE(ps != NULL, "set") || !ASSERT_TRUE(server_start(&s, NULL, 0), "server"))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
	struct probe_spec spec = { .kind = PROBE_HTTP, .target = url, .timeout_ms = 200, .direct = true };

	ASSERT_OK(probe_set_add(ps, &spec, &owner), "add");
	probe_set_run(ps, on_done, &seen);
	probe_set_cancel(ps, &owner);
	drive(ps, &seen, 500);
	ASSERT_EQ(seen.calls, 0, "not reported");
	/* and a timeout is reported by the set itself */
	ASSERT_OK(probe_set_add(ps, &spec, &owner), "add again");
	drive(ps, &seen, 2000);
	ASSERT_EQ(seen.calls, 1, "timeout reported");
	ASSERT_FALSE(seen.r.answered, "timed out");
	server_stop(&s);
	probe_set_free(ps);
}

/* A proxy that refuses everything: a direct probe and a TCP probe must
 * not go through it, a non-direct HTTP probe does (the registry's way,
 * as Consul's checks honour the environment). */
TEST(direct_and_tcp_ignore_the_proxy_environment)
{
	struct server s;
	struct probe_result r;
	char url[64], target[32];
	char *saved = getenv("http_proxy") ? strdup(getenv("http_proxy")) : NULL;

	if (!ASSERT_TRUE(server_start(&s, answer_200, 2), "server"))
		return;
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", s.port);
	snprintf(target, sizeof(target), "127.0.0.1:%u", s.port);
	struct probe_spec http = { .kind = PROBE_HTTP, .target = url, .timeout_ms = 2000 };
	struct probe_spec tcp = { .kind = PROBE_TCP, .target = target, .timeout_ms = 2000 };

	ASSERT_OK(probe_run(&http, &r), "via the proxy");
	ASSERT_FALSE(r.answered, "the proxy refused");
	http.direct = true;
	ASSERT_OK(probe_run(&http, &r), "direct");
	ASSERT_EQ(r.status, 200, "direct reached the server");
	ASSERT_OK(probe_run(&tcp, &r), "tcp");
	ASSERT_TRUE(r.answered, "tcp reached the server");
	if (saved)
		setenv("http_proxy", saved, 1);
	else
		unsetenv("http_proxy");
	free(saved);
	server_stop(&s);
}
