/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One active health check, run to completion on the calling thread:
 *   HTTP: GET the URL (redirects followed, at most 10, as Go's client
 *         does for Consul); 2xx -> passing, 429 -> warning, anything else
 *         or no answer within the timeout -> critical. The output is
 *         "HTTP GET <url>: <status> Output: <first bytes of the body>".
 *   TCP:  connect to host:port within the timeout -> passing, else critical.
 * Host names in targets are resolved (the registry only refuses them as an
 * instance's Address). Thread-safe: each call uses its own curl handle.
 * The probe is lib/health_probe.c, shared with fluxlbd; the verdict and the
 * output text are Consul's and live here.
 */
#ifndef FLB_REGISTRY_CHECK_H
#define FLB_REGISTRY_CHECK_H

#include <stddef.h>

#include "registry_model.h"

/* kind is REG_CHECK_HTTP or REG_CHECK_TCP; output gets a NUL-terminated
 * line (at most outlen - 1 bytes). Returns the status. */
enum reg_status reg_check_run(enum reg_check_kind kind, const char *target,
			      long timeout_ms, bool tls_skip_verify,
			      char *output, size_t outlen);

#endif
