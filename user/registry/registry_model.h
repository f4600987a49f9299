/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The registry's data model, without I/O: a service instance as the Consul
 * agent API registers it, validated and normalized to the JSON stored in
 * etcd; its health record (durations: duration.h, DURATION_GO); and the Consul-shaped JSON
 * that the read endpoints answer. Everything here is a pure function of its
 * input, so the unit tests and the fuzzer call it directly.
 *
 * Registration body (PUT /v1/agent/service/register). Keys are matched the
 * way Consul matches them: case-insensitively, underscores ignored
 * ("ID", "id", "Id"; "tls_skip_verify" = "TLSSkipVerify"). A key given twice
 * (in any spelling) is an error, and so is an unknown key: a typo must not
 * silently drop a setting.
 *   ID       [A-Za-z0-9_.-]{1,128}; default: Name
 *   Name     [A-Za-z0-9_.-]{1,63}; required
 *   Address  an IPv4 or IPv6 literal (stored in canonical form); empty or
 *            absent: the registering peer's address, as a Consul agent uses
 *            its own. Host names are refused: fluxlbd programs addresses
 *            into BPF maps and the registry does not resolve names.
 *   Port     integer 1..65535; required
 *   Tags     array of at most 64 strings of at most 255 bytes
 *   Meta     object of at most 64 string values (Consul's limits: keys
 *            [A-Za-z0-9_-]{1,128} not starting with "consul-", values at most
 *            512 bytes)
 *   Weights  {"Passing": 1..10000 (default 1), "Warning": 0..10000 (default 1)}
 *   Check    one of HTTP (http:// or https:// URL), TCP ("host:port") or
 *            TTL (duration), with Interval (default 10s; below 1s runs every
 *            1s, as Consul does), Timeout (default 10s), TLSSkipVerify,
 *            Status (initial status), Method (GET only),
 *            DeregisterCriticalServiceAfter (checked, then ignored: the lease
 *            does that job), Name, Notes, CheckID (ignored: the check is always
 *            "service:<ID>"). Other check kinds (Args, GRPC, ...) are refused.
 *   Checks   only null or [] (several checks per instance are not supported)
 *   EnableTagOverride, TaggedAddresses, Namespace, Partition: accepted, ignored
 *   Kind must be empty; Proxy, Connect, SocketPath are refused.
 * Durations are strings in Go's syntax ("10s", "1m30s", "1.5s", "500ms").
 * All strings must be valid UTF-8.
 */
#ifndef FLB_REGISTRY_MODEL_H
#define FLB_REGISTRY_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#define REG_BODY_MAX (64 * 1024) /* larger request bodies get 413 */
#define REG_NAME_MAX 63
#define REG_ID_MAX 128
#define REG_OUTPUT_MAX 4096       /* check output kept, as Consul */
#define REG_DEFAULT_INTERVAL_MS 10000
#define REG_DEFAULT_TIMEOUT_MS 10000
#define REG_MIN_INTERVAL_MS 1000
#define REG_NOCHECK_LEASE_S 30

enum reg_check_kind { REG_CHECK_NONE, REG_CHECK_HTTP, REG_CHECK_TCP, REG_CHECK_TTL };
enum reg_status { REG_PASSING, REG_WARNING, REG_CRITICAL };

struct reg_check {
	enum reg_check_kind kind;
	const char *target;   /* HTTP: the URL; TCP: host:port; else NULL */
	uint64_t interval_ms; /* HTTP/TCP: effective (default applied, >= 1 s) */
	uint64_t timeout_ms;  /* HTTP/TCP: effective */
	uint64_t ttl_ms;      /* TTL */
	bool tls_skip_verify;
	bool has_status;      /* Check.Status was given: the initial status */
	enum reg_status status;
};

/* A validated instance. Strings point into json, the canonical object that
 * is stored in etcd (see reg_instance_to_json). */
struct reg_instance {
	cJSON *json;
	const char *id;
	const char *name;
	const char *address;
	uint16_t port;
	int weight_passing;
	int weight_warning;
	struct reg_check check;
};

/*
 * Parses and validates a registration body (len bytes, not necessarily
 * NUL-terminated) into *out. peer is the registering client's address,
 * used when Address is empty; NULL makes Address required (the stored form
 * always has it). Returns 0, or -EINVAL with a one-line reason in err
 * (e.g. "Port: must be an integer 1..65535"), or -ENOMEM.
 */
int reg_parse_instance(const char *body, size_t len, const char *peer,
		       struct reg_instance *out, char *err, size_t errlen);
void reg_instance_free(struct reg_instance *in);

/* The stored JSON (compact), malloc'd; NULL on ENOMEM. Parsing it back with
 * reg_parse_instance(..., NULL, ...) gives the same instance. */
char *reg_instance_to_json(const struct reg_instance *in);

/*
 * The TTL of the instance's etcd lease, in seconds:
 *   HTTP/TCP: max(min_s, 3 x Interval, Interval + Timeout + 1 s)
 *   TTL:      max(2, the check's TTL) (renewed by check pass/warn)
 *   no check: max(min_s, 30)
 * min_s covers a health-check leader fail-over (see registry_leader.h).
 */
int64_t reg_lease_ttl_s(const struct reg_instance *in, int64_t min_s);

/* True when both checks are the same kind on the same target. */
bool reg_same_check(const struct reg_check *a, const struct reg_check *b);

/* [A-Za-z0-9_.-]{1,max} */
bool reg_valid_name(const char *s, size_t max);
bool reg_valid_utf8(const char *s, size_t len);


const char *reg_status_name(enum reg_status s); /* "passing", ... */
int reg_status_parse(const char *s, enum reg_status *out);

/* The initial status of a new instance: Check.Status when given, else
 * critical with a check (Consul's default) and passing without one. */
enum reg_status reg_initial_status(const struct reg_instance *in);

/* Health record, stored at P/health/<name>/<id>:
 *   {"Status": "passing", "Output": "...", "Updated": "2024-01-02T03:04:05Z"} */
struct reg_health {
	enum reg_status status;
	char *output;
	char *updated;
};
char *reg_health_json(enum reg_status status, const char *output, time_t when);
int reg_health_parse(const char *json, size_t len, struct reg_health *out);
void reg_health_free(struct reg_health *h);

/* Response shapes (Consul's). h may be NULL: the initial status applies. */
cJSON *reg_render_agent_service(const struct reg_instance *in);
cJSON *reg_render_health_entry(const struct reg_instance *in,
			       const struct reg_health *h);
enum reg_status reg_effective_status(const struct reg_instance *in,
				     const struct reg_health *h);

#endif
