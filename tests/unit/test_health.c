// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fluxlbd's health checker (health.h) against an HTTP server on 127.0.0.1
 * in this process, driven the way the daemon drives it (wait on
 * health_fd(), then health_run()): a backend's first success makes it UP,
 * `fall` failures in a row DOWN, `rise` successes UP again, each crossing
 * reported once; an unchanged reconfiguration keeps the state; a TCP check
 * follows the listening socket; a verdict restored after a restart starts
 * DOWN and needs `rise` successes. Needs loopback only. Timing is loose on
 * purpose: each wait allows seconds for what takes a few intervals.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "flb_test.h"
#include "health.h"

struct server {
	int fd;
	uint16_t port;
	atomic_int code; /* the status every answer carries */
	atomic_int cpu;  /* body {"cpu_percent": cpu}; -1: none, -2: not JSON */
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	for (;;) {
		char req[1024], ans[192], body[48] = "";
		int c = accept(s->fd, NULL, NULL), n, cpu = atomic_load(&s->cpu);

		if (c < 0)
			return NULL;
		if (cpu >= 0)
			snprintf(body, sizeof(body), "{\"cpu_percent\": %d}", cpu);
		else if (cpu == -2)
			snprintf(body, sizeof(body), "not json");
		n = snprintf(ans, sizeof(ans), "HTTP/1.0 %d X\r\nContent-Length: %zu\r\n\r\n%s",
			     atomic_load(&s->code), strlen(body), body);
		if (read(c, req, sizeof(req)) > 0 && write(c, ans, n) < 0)
			n = 0;
		close(c);
	}
}

static bool server_start(struct server *s, int code)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	atomic_store(&s->code, code);
	atomic_store(&s->cpu, -1);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) || listen(s->fd, 16) ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len))
		return false;
	s->port = ntohs(a.sin_port);
	return !pthread_create(&s->thread, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static struct flb_backend_cfg backend = {
	.addr = { .family = AF_INET, .bytes = { 127, 0, 0, 1 } },
	.weight = 1,
};

static void make_config(struct flb_config *cfg, struct flb_service_cfg *svc,
			enum flb_hc_type type, uint16_t port)
{
	memset(cfg, 0, sizeof(*cfg));
	memset(svc, 0, sizeof(*svc));
	snprintf(svc->name, sizeof(svc->name), "web");
	svc->port = port;
	svc->proto = IPPROTO_TCP;
	svc->backends = &backend;
	svc->n_backends = 1;
	svc->health = (struct flb_health_cfg){
		.type = type, .path = "/health", .expect_min = 200, .expect_max = 399,
		.interval_ms = 100, .timeout_ms = 80, .rise = 2, .fall = 2,
	};
	cfg->services = svc;
	cfg->n_services = 1;
}

/* Runs h until the backend is in state want; the transitions reported. */
static bool run_until(struct health *h, enum flb_be_health want, int *reported)
{
	uint64_t end = clock_ms() + 5000;

	while (clock_ms() < end) {
		struct pollfd p = { .fd = health_fd(h), .events = POLLIN };

		poll(&p, 1, 20);
		*reported += health_run(h, clock_ms());
		if (health_get(h, "web", &backend.addr) == want)
			return true;
	}
	return false;
}

/* Runs h until the backend's load factor is want_pm (or 5 s pass). */
static bool run_until_load(struct health *h, uint32_t want_pm, int *reported)
{
	uint64_t end = clock_ms() + 5000;

	while (clock_ms() < end) {
		struct pollfd p = { .fd = health_fd(h), .events = POLLIN };

		poll(&p, 1, 20);
		*reported += health_run(h, clock_ms());
		if (health_load_pm(h, "web", &backend.addr) == want_pm)
			return true;
	}
	return false;
}

TEST(load_factor_follows_the_body)
{
	struct health *h = health_new();
	struct flb_service_cfg svc;
	struct flb_config cfg;
	struct server s;
	int reported = 0;
	uint64_t end;

	if (!ASSERT_TRUE(h != NULL, "health_new") || !ASSERT_TRUE(server_start(&s, 200), "server"))
		return;
	make_config(&cfg, &svc, FLB_HC_HTTP, s.port);
	ASSERT_OK(health_configure(h, &cfg), "configure without load_weights");
	ASSERT_EQ(health_load_pm(h, "web", &backend.addr), 0u, "not load-weighted: 0");
	svc.load = (struct flb_load_cfg){ .from = FLB_LOAD_CPU, .min_pm = 100, .max_pm = 1000,
					  .steps = 10, .hysteresis_pm = 50, .interval_ms = 100 };
	ASSERT_OK(health_configure(h, &cfg), "configure with load_weights");
	ASSERT_EQ(health_load_pm(h, "web", &backend.addr), 1000u, "starts at max");
	atomic_store(&s.cpu, 90);
	ASSERT_TRUE(run_until_load(h, 100, &reported), "90 % cpu: factor 0.1");
	ASSERT_TRUE(reported >= 1, "a factor change is reported like a health change");
	atomic_store(&s.cpu, -2);
	for (end = clock_ms() + 600; clock_ms() < end;) { /* several checks */
		struct pollfd p = { .fd = health_fd(h), .events = POLLIN };

		poll(&p, 1, 20);
		health_run(h, clock_ms());
	}
	ASSERT_EQ(health_get(h, "web", &backend.addr), FLB_HEALTH_UP, "a bad body fails no check");
	ASSERT_EQ(health_load_pm(h, "web", &backend.addr), 100u, "a bad body keeps the factor");
	atomic_store(&s.cpu, 10);
	ASSERT_TRUE(run_until_load(h, 900, &reported), "10 % cpu: factor 0.9");
	health_free(h);
	server_stop(&s);
}

TEST(http_rise_and_fall)
{
	struct health *h = health_new();
	struct flb_service_cfg svc;
	struct flb_config cfg;
	struct server s;
	int reported = 0;

	if (!ASSERT_TRUE(h != NULL, "health_new") || !ASSERT_TRUE(server_start(&s, 200), "server"))
		return;
	make_config(&cfg, &svc, FLB_HC_HTTP, s.port);
	ASSERT_OK(health_configure(h, &cfg), "configure");
	ASSERT_EQ(health_get(h, "web", &backend.addr), FLB_HEALTH_UNKNOWN, "starts unknown");

	ASSERT_TRUE(run_until(h, FLB_HEALTH_UP, &reported), "first success: up");
	ASSERT_EQ(reported, 0, "unknown -> up changes nothing that serves");

	atomic_store(&s.code, 503);
	ASSERT_TRUE(run_until(h, FLB_HEALTH_DOWN, &reported), "503 twice: down");
	ASSERT_EQ(reported, 1, "down reported once");

	ASSERT_OK(health_configure(h, &cfg), "same configuration again");
	ASSERT_EQ(health_get(h, "web", &backend.addr), FLB_HEALTH_DOWN, "state kept");

	atomic_store(&s.code, 302); /* in 200..399 */
	ASSERT_TRUE(run_until(h, FLB_HEALTH_UP, &reported), "302 twice: up");
	ASSERT_EQ(reported, 2, "up reported once");
	health_free(h);
	server_stop(&s);
}

TEST(tcp_follows_the_listener)
{
	struct health *h = health_new();
	struct flb_service_cfg svc;
	struct flb_config cfg;
	struct server s;
	int reported = 0;

	if (!ASSERT_TRUE(h != NULL, "health_new") || !ASSERT_TRUE(server_start(&s, 200), "server"))
		return;
	make_config(&cfg, &svc, FLB_HC_TCP, s.port);
	ASSERT_OK(health_configure(h, &cfg), "configure");
	ASSERT_TRUE(run_until(h, FLB_HEALTH_UP, &reported), "connects: up");
	server_stop(&s); /* refused from now on */
	ASSERT_TRUE(run_until(h, FLB_HEALTH_DOWN, &reported), "refused: down");
	ASSERT_EQ(reported, 1, "down reported once");
	health_free(h);
}

/* A verdict saved before a restart: the new target starts DOWN (the
 * daemon keeps it out of the table) and needs `rise` successes; restored
 * verdicts are taken by the next configure only, and per (service,
 * address, port): another service of the same address starts unknown. */
TEST(restored_down_needs_rise_successes)
{
	struct health *h = health_new();
	struct flb_service_cfg svc;
	struct flb_config cfg;
	struct server s;
	int reported = 0;
	uint64_t t0;

	if (!ASSERT_TRUE(h != NULL, "health_new") || !ASSERT_TRUE(server_start(&s, 200), "server"))
		return;
	make_config(&cfg, &svc, FLB_HC_HTTP, s.port);
	ASSERT_OK(health_restore(h, "web", &backend.addr, s.port, FLB_HEALTH_DOWN), "restore");
	ASSERT_OK(health_restore(h, "other", &backend.addr, s.port, FLB_HEALTH_DOWN), "restore");
	ASSERT_OK(health_configure(h, &cfg), "configure");
	ASSERT_EQ(health_get(h, "web", &backend.addr), FLB_HEALTH_DOWN, "starts down");
	ASSERT_EQ(health_target(h, "web", &backend.addr, s.port), FLB_HEALTH_DOWN, "by port");
	ASSERT_EQ(health_target(h, "web", &backend.addr, s.port + 1), FLB_HEALTH_UNKNOWN,
		  "another port is another target");
	t0 = clock_ms();
	ASSERT_TRUE(run_until(h, FLB_HEALTH_UP, &reported), "up again");
	ASSERT_GE(clock_ms() - t0, 80, "after rise (2) checks, 100 ms apart, not the first");
	ASSERT_EQ(reported, 1, "down -> up reported");
	snprintf(svc.name, sizeof(svc.name), "other");
	ASSERT_OK(health_configure(h, &cfg), "a new target, after the restore was taken");
	ASSERT_EQ(health_get(h, "other", &backend.addr), FLB_HEALTH_UNKNOWN, "restore used once");
	health_free(h);
	server_stop(&s);
}

TEST(unconfigured_backend_is_unknown)
{
	struct health *h = health_new();
	struct flb_addr other = { .family = AF_INET, .bytes = { 127, 0, 0, 2 } };

	if (!ASSERT_TRUE(h != NULL, "health_new"))
		return;
	ASSERT_EQ(health_get(h, "web", &other), FLB_HEALTH_UNKNOWN, "unknown");
	health_free(h);
}
