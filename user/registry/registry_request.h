/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The registry's HTTP requests without HTTP: which endpoint a method and
 * path name, the query parameters of the read endpoints, and the token
 * rules. Pure functions (see registry_http.c for the server around them).
 *
 *   PUT         /v1/agent/service/register
 *   PUT, GET    /v1/agent/service/deregister/<id>   (python3-consul uses GET)
 *   PUT, GET    /v1/agent/check/pass|warn|fail/service:<id>
 *   GET         /v1/agent/services
 *   GET         /v1/health/service/<name>   ?passing ?tag= ?index= ?wait=
 *   GET         /v1/catalog/services        ?index= ?wait=
 *   GET         /health, /ready
 * HEAD is accepted wherever GET is. Any other method on a known path is 405.
 */
#ifndef FLB_REGISTRY_REQUEST_H
#define FLB_REGISTRY_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "registry_model.h"

enum reg_route_kind {
	RT_NOT_FOUND,
	RT_BAD_METHOD,
	RT_REGISTER,
	RT_DEREGISTER,      /* arg: the service ID */
	RT_CHECK,           /* arg: the check ID; status: what to set */
	RT_AGENT_SERVICES,
	RT_HEALTH_SERVICE,  /* arg: the service name */
	RT_CATALOG_SERVICES,
	RT_HEALTH,
	RT_READY,
};

struct reg_route {
	enum reg_route_kind kind;
	bool write;            /* needs the token when one is configured */
	const char *arg;       /* points into the path; "" when missing */
	enum reg_status status;
};

/* Never fails: unknown paths are RT_NOT_FOUND, wrong methods RT_BAD_METHOD
 * (route->kind then says nothing more). */
void reg_route_parse(const char *method, const char *path, struct reg_route *r);

/* "service:<id>" -> "<id>" when id is valid, else NULL. */
const char *reg_check_service_id(const char *check_id);

/* Query flags such as ?passing: absent value or "", "1", "true" -> true;
 * "0", "false" -> false; anything else -EINVAL. */
int reg_parse_bool_param(const char *v, bool *out);
/* ?index=N: a decimal uint64 (0 allowed). */
int reg_parse_index(const char *v, uint64_t *out);

#define REG_WAIT_DEFAULT_MS (5 * 60 * 1000)
#define REG_WAIT_MAX_MS (10 * 60 * 1000)
/* ?wait=: a Go duration, capped to 10 min; NULL or "" gives 5 min. */
int reg_parse_wait(const char *v, uint64_t *ms);

/* The token given in the request: X-Consul-Token, else
 * "Authorization: Bearer <t>", else ?token=. NULL when none. */
const char *reg_request_token(const char *x_consul_token,
			      const char *authorization,
			      const char *query_token);
/* Constant-time comparison; false when either is NULL. */
bool reg_token_equal(const char *want, const char *got);

/* --listen: http_parse_listen()'s syntax (http_server.h) with a port of
 * 1..65535. Returns 0 or -EINVAL; *any is true for ":port". */
int reg_parse_listen(const char *s, struct sockaddr_storage *ss, bool *any);

#endif
