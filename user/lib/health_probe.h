/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one health check probe of fluxlbd and fluxlb-registry, on libcurl:
 *   TCP:  connect to host:port within the timeout; nothing is sent.
 *   HTTP: GET the URL within the timeout (redirects followed when asked,
 *         at most 10, as Go's client does for Consul); the answer's status
 *         and the first PROBE_BODY_KEEP bytes of its body are kept, the
 *         rest is read and dropped (a server may not like a reset).
 * A probe reports what happened, not a verdict: which statuses pass, and
 * rise/fall or Consul's passing/warning/critical, stay with each program,
 * and so does the scheduling.
 *
 * Run a probe to completion on the calling thread with probe_run() (the
 * registry: one thread per check), or many at once without blocking in a
 * probe_set driven from an epoll loop (the daemon). Host names in targets
 * are resolved; libcurl's signal use is off (CURLOPT_NOSIGNAL).
 */
#ifndef FLB_HEALTH_PROBE_H
#define FLB_HEALTH_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROBE_BODY_KEEP 512
#define PROBE_ERROR_LEN 256 /* libcurl's CURL_ERROR_SIZE */

enum probe_kind { PROBE_TCP, PROBE_HTTP };

struct probe_spec {
	enum probe_kind kind;
	const char *target;      /* TCP: "host:port" or "[v6]:port"; HTTP: a URL */
	long timeout_ms;         /* for the whole probe, connect included */
	bool follow_redirects;   /* HTTP */
	bool direct;             /* HTTP: ignore http_proxy and the like (TCP always does) */
	bool tls_skip_verify;    /* HTTPS */
	const char *user_agent;  /* HTTP; NULL: libcurl sends none */
};

struct probe_result {
	bool answered;                /* TCP: connected; HTTP: a status came back */
	long status;                  /* HTTP, when answered */
	char error[PROBE_ERROR_LEN];  /* when not answered: why, one line */
	char body[PROBE_BODY_KEEP + 1]; /* HTTP: the body's first bytes, NUL-terminated */
};

/* Runs one probe to completion. Returns 0 (see r->answered) or -ENOMEM. */
int probe_run(const struct probe_spec *spec, struct probe_result *r);

/* Probes in flight together, without blocking. */
struct probe_set;
/* Called from probe_set_run() for each probe that finished; owner is what
 * probe_set_add() was given. */
typedef void (*probe_done_fn)(void *ctx, void *owner, const struct probe_result *r);

struct probe_set *probe_set_new(void); /* NULL with errno set */
void probe_set_free(struct probe_set *ps); /* drops the probes in flight */
/* An epoll fd that becomes readable when a probe has I/O to do. */
int probe_set_fd(const struct probe_set *ps);
/* Starts a probe on behalf of owner (one probe per owner at a time; the
 * spec's strings are copied). Returns 0 or -errno. */
int probe_set_add(struct probe_set *ps, const struct probe_spec *spec, void *owner);
/* Drops owner's probe in flight, if any: done is not called for it. */
void probe_set_cancel(struct probe_set *ps, void *owner);
/* Does the I/O that is ready and fails probes past their timeout, then
 * calls done for each probe that finished (it may add and cancel). */
void probe_set_run(struct probe_set *ps, probe_done_fn done, void *ctx);

#endif
