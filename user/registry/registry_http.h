/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The registry's HTTP server (libmicrohttpd, one thread per connection, so
 * a blocking query simply blocks its own thread). Each connection thread
 * has its own etcd handle, made on first use and freed when the thread ends.
 *
 * Answers: 200 with Consul's JSON (writes: an empty body, or "true" for
 * check updates); errors as {"error": "<one line>"} with 400 (bad request),
 * 403 (token), 404 (unknown endpoint, ID or check), 405 (method), 413 (body
 * over 64 KiB), 500 (an etcd error) or 503 (etcd unreachable). Every answer
 * of /v1/health/service and /v1/catalog/services carries X-Consul-Index (the
 * etcd revision of the read).
 *
 * Blocking queries (?index=N with N > 0, ?wait=, default 5 min, at most
 * 10 min, plus up to wait/16 of jitter as Consul adds): the handler watches
 * etcd from revision N + 1 for a change to the service's keys (or to any
 * service's, for the catalog), so a change made between the client's last
 * read and its new request is seen at once, and answers when one arrives
 * or the wait ends. An index from the future (a restored etcd) and a
 * compacted one are answered at once.
 */
#ifndef FLB_REGISTRY_HTTP_H
#define FLB_REGISTRY_HTTP_H

#include "registry_store.h"

struct reg_http;

/* Listens on listen (see reg_parse_listen) and serves until stopped.
 * *stop, when set, ends blocking queries within 200 ms. NULL on failure
 * (logged). */
struct reg_http *reg_http_start(const struct reg_cfg *cfg, const char *listen,
				volatile int *stop);
void reg_http_stop(struct reg_http *h);

#endif
