// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The registry's health checks (see registry_check.h): lib/health_probe.c
 * makes the check, this file gives Consul's verdict and output text.
 */
#include <stdio.h>
#include <string.h>

#include "health_probe.h"
#include "registry_check.h"

/* Output text must be UTF-8 without control characters for JSON and logs. */
static void clean(char *s)
{
	size_t l = strlen(s);

	while (l && !reg_valid_utf8(s, l))
		s[--l] = 0;
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	while (l && s[l - 1] == ' ')
		s[--l] = 0;
}

enum reg_status reg_check_run(enum reg_check_kind kind, const char *target,
			      long timeout_ms, bool tls_skip_verify,
			      char *output, size_t outlen)
{
	const struct probe_spec spec = {
		.kind = kind == REG_CHECK_TCP ? PROBE_TCP : PROBE_HTTP,
		.target = target,
		.timeout_ms = timeout_ms,
		.follow_redirects = true,
		.tls_skip_verify = tls_skip_verify,
		.user_agent = "Consul Health Check",
	};
	enum reg_status st = REG_CRITICAL;
	struct probe_result r;

	if (outlen)
		output[0] = 0;
	if (probe_run(&spec, &r)) {
		snprintf(output, outlen, "out of memory");
		return REG_CRITICAL;
	}
	if (kind == REG_CHECK_TCP) {
		if (r.answered) {
			st = REG_PASSING;
			snprintf(output, outlen, "TCP connect %s: Success", target);
		} else {
			snprintf(output, outlen, "dial tcp %s: %s", target, r.error);
		}
	} else if (!r.answered) {
		snprintf(output, outlen, "Get \"%s\": %s", target, r.error);
	} else {
		if (r.status >= 200 && r.status <= 299)
			st = REG_PASSING;
		else if (r.status == 429)
			st = REG_WARNING;
		snprintf(output, outlen, "HTTP GET %s: %ld Output: %s", target, r.status, r.body);
	}
	clean(output);
	return st;
}
