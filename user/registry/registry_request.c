// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Routing, query parameters and tokens (see registry_request.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "http_server.h"
#include "registry_request.h"

static const char *after(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(path, prefix, n) ? NULL : path + n;
}

static bool is_read(const char *m)
{
	return !strcmp(m, "GET") || !strcmp(m, "HEAD");
}

void reg_route_parse(const char *method, const char *path, struct reg_route *r)
{
	static const struct {
		const char *prefix;
		enum reg_status status;
	} checks[] = {
		{ "/v1/agent/check/pass/", REG_PASSING },
		{ "/v1/agent/check/warn/", REG_WARNING },
		{ "/v1/agent/check/fail/", REG_CRITICAL },
	};
	const char *a;
	bool ok = false;

	memset(r, 0, sizeof(*r));
	r->arg = "";
	if (!method || !path) {
		r->kind = RT_NOT_FOUND;
		return;
	}
	if (!strcmp(path, "/v1/agent/service/register")) {
		r->kind = RT_REGISTER;
		r->write = true;
		ok = !strcmp(method, "PUT");
	} else if ((a = after(path, "/v1/agent/service/deregister/"))) {
		r->kind = RT_DEREGISTER;
		r->write = true;
		r->arg = a;
		ok = !strcmp(method, "PUT") || !strcmp(method, "GET");
	} else if (!strcmp(path, "/v1/agent/services")) {
		r->kind = RT_AGENT_SERVICES;
		ok = is_read(method);
	} else if ((a = after(path, "/v1/health/service/"))) {
		r->kind = RT_HEALTH_SERVICE;
		r->arg = a;
		ok = is_read(method);
	} else if (!strcmp(path, "/v1/catalog/services")) {
		r->kind = RT_CATALOG_SERVICES;
		ok = is_read(method);
	} else if (!strcmp(path, "/health")) {
		r->kind = RT_HEALTH;
		ok = is_read(method);
	} else if (!strcmp(path, "/ready")) {
		r->kind = RT_READY;
		ok = is_read(method);
	} else {
		for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
			if ((a = after(path, checks[i].prefix))) {
				r->kind = RT_CHECK;
				r->write = true;
				r->arg = a;
				r->status = checks[i].status;
				ok = !strcmp(method, "PUT") || !strcmp(method, "GET");
			}
		}
		if (r->kind != RT_CHECK) {
			r->kind = RT_NOT_FOUND;
			return;
		}
	}
	if (!ok)
		r->kind = RT_BAD_METHOD;
}

const char *reg_check_service_id(const char *check_id)
{
	const char *id = check_id ? after(check_id, "service:") : NULL;

	return id && reg_valid_name(id, REG_ID_MAX) ? id : NULL;
}

int reg_parse_bool_param(const char *v, bool *out)
{
	if (!v || !*v || !strcmp(v, "1") || !strcasecmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "0") || !strcasecmp(v, "false")) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int reg_parse_index(const char *v, uint64_t *out)
{
	uint64_t n = 0;

	if (!v || !*v)
		return -EINVAL;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		n = n * 10 + (uint64_t)(*v - '0');
	}
	*out = n;
	return 0;
}

int reg_parse_wait(const char *v, uint64_t *ms)
{
	int e;

	if (!v || !*v) {
		*ms = REG_WAIT_DEFAULT_MS;
		return 0;
	}
	e = duration_parse_ms(v, DURATION_GO, ms);
	if (e == -ERANGE) {
		*ms = REG_WAIT_MAX_MS;
		return 0;
	}
	if (e)
		return e;
	if (*ms > REG_WAIT_MAX_MS)
		*ms = REG_WAIT_MAX_MS;
	return 0;
}

const char *reg_request_token(const char *x_consul_token,
			      const char *authorization,
			      const char *query_token)
{
	if (x_consul_token && *x_consul_token)
		return x_consul_token;
	if (authorization && !strncasecmp(authorization, "Bearer ", 7)) {
		const char *t = authorization + 7;

		while (*t == ' ')
			t++;
		if (*t)
			return t;
	}
	if (query_token && *query_token)
		return query_token;
	return NULL;
}

bool reg_token_equal(const char *want, const char *got)
{
	size_t lw, lg;
	unsigned char diff = 0;

	if (!want || !got)
		return false;
	lw = strlen(want);
	lg = strlen(got);
	/* Walk the full length of what was given, so the time depends only
	 * on the caller's own input. */
	for (size_t i = 0; i < lg; i++)
		diff |= (unsigned char)(got[i] ^ (i < lw ? want[i] : 0));
	return diff == 0 && lw == lg;
}

int reg_parse_listen(const char *s, struct sockaddr_storage *ss, bool *any)
{
	socklen_t len;

	if (http_parse_listen(s, ss, &len, any))
		return -EINVAL;
	/* a registry clients can find: no port picked by the kernel */
	if (ss->ss_family == AF_INET)
		return ((struct sockaddr_in *)ss)->sin_port ? 0 : -EINVAL;
	return ((struct sockaddr_in6 *)ss)->sin6_port ? 0 : -EINVAL;
}
