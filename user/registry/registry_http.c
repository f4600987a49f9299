// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP endpoints of fluxlb-registry (see registry_http.h for the contract,
 * registry_request.h for the routes, registry_store.h for what they do in
 * etcd).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http_server.h"
#include "log.h"
#include "registry_http.h"
#include "registry_request.h"

struct reg_http {
	const struct reg_cfg *cfg;
	struct http_server *http;
	volatile int *stop;
};

/* Per request: the body as it arrives. */
struct req {
	char *body;
	size_t len;
	size_t dropped;  /* bytes read past REG_BODY_MAX */
	bool too_big;
	bool answered;
};

#define DROP_MAX (16u << 20)

static pthread_key_t etcd_key;
static pthread_once_t etcd_key_once = PTHREAD_ONCE_INIT;

static void etcd_key_free(void *p)
{
	etcd_free(p);
}

static void etcd_key_init(void)
{
	pthread_key_create(&etcd_key, etcd_key_free);
}

/* The calling thread's etcd handle. */
static struct etcd *thread_etcd(const struct reg_cfg *cfg)
{
	struct etcd *e;

	pthread_once(&etcd_key_once, etcd_key_init);
	e = pthread_getspecific(etcd_key);
	if (!e) {
		e = reg_etcd_new(cfg);
		if (e)
			pthread_setspecific(etcd_key, e);
	}
	return e;
}

/* ---- answers ---------------------------------------------------------- */

static enum MHD_Result send_body(struct MHD_Connection *c, unsigned status,
				 const char *type, const char *body, int64_t index)
{
	char idx[24];
	const char *const consul[] = {
		"X-Consul-Index", idx, "X-Consul-KnownLeader", "true",
		"X-Consul-LastContact", "0", NULL,
	};

	snprintf(idx, sizeof(idx), "%lld", (long long)index);
	return http_reply(c, status, type, (void *)body, strlen(body), MHD_RESPMEM_MUST_COPY,
			  index > 0 ? consul : NULL);
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status,
				 cJSON *j, int64_t index)
{
	char *s = j ? cJSON_PrintUnformatted(j) : NULL;
	enum MHD_Result ret;

	cJSON_Delete(j);
	if (!s)
		return send_body(c, 500, "application/json", "{\"error\":\"out of memory\"}\n", 0);
	ret = send_body(c, status, "application/json", s, index);
	free(s);
	return ret;
}

__attribute__((format(printf, 3, 4)))
static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status,
				  const char *fmt, ...)
{
	char msg[512];
	cJSON *j = cJSON_CreateObject();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status < 500) {
		char q[sizeof(msg) + 16];

		log_info("request refused", "status=%u error=%s", status,
			 log_quote(q, sizeof(q), msg));
	}
	if (!j || !cJSON_AddStringToObject(j, "error", msg)) {
		cJSON_Delete(j);
		j = NULL;
	}
	return send_json(c, status, j, 0);
}

/* An etcd failure: 503 when no member could be reached, else 500. */
static enum MHD_Result send_etcd_error(struct MHD_Connection *c, int err)
{
	unsigned st = err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EAGAIN ? 503 : 500;

	return send_error(c, st, "etcd: %s", strerror(-err));
}

/* ---- request details ---------------------------------------------------- */

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* "?passing" without a value: present, and MHD gives NULL for its value. */
static bool has_arg(struct MHD_Connection *c, const char *name)
{
	const char *v = NULL;

	return MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, name, strlen(name),
					     &v, NULL) == MHD_YES;
}

/* The TCP peer's address as text; an IPv4-mapped IPv6 address as IPv4. */
static void peer_addr(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	buf[0] = 0;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a, buf, (socklen_t)len);
	}
}

static bool authorized(const struct reg_http *h, struct MHD_Connection *c)
{
	const char *t;

	if (!h->cfg->token)
		return true;
	t = reg_request_token(
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Consul-Token"),
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
		arg(c, "token"));
	return reg_token_equal(h->cfg->token, t);
}

/* ---- blocking queries ------------------------------------------------------ */

struct block_ctx {
	char services[600]; /* key prefixes that count as a change */
	char health[600];
	size_t ls, lh;
	int64_t last;
};

static int block_cb(void *ctx, enum etcd_event type, const struct etcd_kv *kv,
		    int64_t revision)
{
	struct block_ctx *b = ctx;

	(void)type;
	b->last = revision;
	return !strncmp(kv->key, b->services, b->ls) || (b->lh && !strncmp(kv->key, b->health, b->lh));
}

/* Waits until a key of name (NULL: any service key) changed after index, or
 * wait_ms passed. Errors end the wait early: the read that follows reports
 * them. */
static void block(struct reg_http *h, struct etcd *e, const char *name,
		  uint64_t index, uint64_t wait_ms)
{
	struct block_ctx b = { .last = 0 };
	int64_t rev = 0, deadline;
	size_t n;
	int64_t start = (int64_t)index + 1;

	if (etcd_count_prefix(e, h->cfg->prefix, &n, &rev) || (int64_t)index > rev ||
	    index > INT64_MAX - 1)
		return;
	if (reg_key(b.services, sizeof(b.services), h->cfg, "services", name, NULL))
		return;
	if (name && reg_key(b.health, sizeof(b.health), h->cfg, "health", name, NULL))
		return;
	b.ls = strlen(b.services);
	b.lh = name ? strlen(b.health) : 0;
	wait_ms += (uint64_t)rand() % (wait_ms / 16 + 1);
	deadline = (int64_t)clock_ms() + (int64_t)wait_ms;
	for (;;) {
		int64_t left = deadline - (int64_t)clock_ms();
		int err;

		if (left <= 0 || *h->stop)
			return;
		err = etcd_watch_for(e, h->cfg->prefix, start, block_cb, &b, h->stop, (long)left);
		if (err != -ECONNRESET && err != -EIO)
			return; /* a change, the end of the wait, compaction, etcd down */
		if (b.last >= start)
			start = b.last + 1;
		/* the stream broke: watch again, from another member */
	}
}

/* ---- endpoints ------------------------------------------------------------- */

static enum MHD_Result do_register(struct reg_http *h, struct MHD_Connection *c,
				   struct etcd *e, const struct req *rq)
{
	struct reg_instance in;
	char peer[64], why[300];
	int err;

	peer_addr(c, peer, sizeof(peer));
	err = reg_parse_instance(rq->body, rq->len, peer[0] ? peer : NULL, &in, why, sizeof(why));
	if (err)
		return send_error(c, err == -ENOMEM ? 500 : 400, "%s", why);
	err = reg_store_register(e, h->cfg, &in);
	if (!err)
		log_info("registered", "id=%s name=%s address=%s port=%u check=%s peer=%s", in.id,
			 in.name, in.address, in.port,
			 in.check.kind == REG_CHECK_HTTP ? "http" :
			 in.check.kind == REG_CHECK_TCP ? "tcp" :
			 in.check.kind == REG_CHECK_TTL ? "ttl" : "none", peer);
	reg_instance_free(&in);
	if (err)
		return send_etcd_error(c, err);
	return send_body(c, 200, "text/plain", "", 0);
}

static enum MHD_Result do_deregister(struct reg_http *h, struct MHD_Connection *c,
				     struct etcd *e, const char *id)
{
	int err;

	if (!reg_valid_name(id, REG_ID_MAX))
		return send_error(c, 400, "service ID \"%.64s\" must be [A-Za-z0-9_.-]{1,%d}", id,
				  REG_ID_MAX);
	err = reg_store_deregister(e, h->cfg, id);
	if (err == -ENOENT)
		return send_error(c, 404, "unknown service ID \"%s\"", id);
	if (err)
		return send_etcd_error(c, err);
	log_info("deregistered", "id=%s", id);
	return send_body(c, 200, "text/plain", "", 0);
}

static enum MHD_Result do_check(struct reg_http *h, struct MHD_Connection *c,
				struct etcd *e, const struct reg_route *rt)
{
	const char *id = reg_check_service_id(rt->arg);
	const char *note = arg(c, "note");
	int err;

	if (!id)
		return send_error(c, 404, "unknown check ID \"%.64s\" (checks are named service:<ID>)",
				  rt->arg);
	if (note && (strlen(note) > REG_OUTPUT_MAX || !reg_valid_utf8(note, strlen(note))))
		return send_error(c, 400, "note: at most %d bytes of UTF-8", REG_OUTPUT_MAX);
	err = reg_store_set_ttl_status(e, h->cfg, id, rt->status, note);
	if (err == -ENOENT)
		return send_error(c, 404, "unknown check ID \"%s\"", rt->arg);
	if (err == -EINVAL)
		return send_error(c, 400, "check \"%s\" is not a TTL check", rt->arg);
	if (err)
		return send_etcd_error(c, err);
	return send_body(c, 200, "application/json", "true", 0);
}

static enum MHD_Result do_agent_services(struct reg_http *h, struct MHD_Connection *c,
					 struct etcd *e)
{
	struct reg_entry *es;
	int64_t rev;
	size_t n;
	cJSON *o;
	int err = reg_store_list(e, h->cfg, NULL, &es, &n, &rev);

	if (err)
		return send_etcd_error(c, err);
	o = cJSON_CreateObject();
	for (size_t i = 0; o && i < n; i++) {
		if (!cJSON_AddItemToObject(o, es[i].in.id, reg_render_agent_service(&es[i].in))) {
			cJSON_Delete(o);
			o = NULL;
		}
	}
	reg_entries_free(es, n);
	return send_json(c, 200, o, rev);
}

/* ?index= and ?wait= of a blocking read; false when one is bad (answered). */
static bool blocking_args(struct MHD_Connection *c, uint64_t *index, uint64_t *wait,
			  enum MHD_Result *ret)
{
	const char *iv = arg(c, "index"), *wv = arg(c, "wait");

	*index = 0;
	if (iv && reg_parse_index(iv, index)) {
		*ret = send_error(c, 400, "index: \"%.32s\" is not a non-negative integer", iv);
		return false;
	}
	if (reg_parse_wait(wv, wait)) {
		*ret = send_error(c, 400, "wait: \"%.32s\" is not a duration (e.g. \"10s\")", wv);
		return false;
	}
	return true;
}

static enum MHD_Result do_health_service(struct reg_http *h, struct MHD_Connection *c,
					 struct etcd *e, const char *name)
{
	const char *pv = arg(c, "passing"), *tag = arg(c, "tag");
	uint64_t index, wait;
	bool passing = false;
	enum MHD_Result ret;
	struct reg_entry *es;
	int64_t rev;
	size_t n;
	cJSON *a;
	int err;

	if (!reg_valid_name(name, REG_NAME_MAX))
		return send_error(c, 400, "service name \"%.64s\" must be [A-Za-z0-9_.-]{1,%d}", name,
				  REG_NAME_MAX);
	if (has_arg(c, "passing") && reg_parse_bool_param(pv, &passing))
		return send_error(c, 400, "passing: \"%.16s\" is not a boolean", pv);
	if (!blocking_args(c, &index, &wait, &ret))
		return ret;
	if (index)
		block(h, e, name, index, wait);
	err = reg_store_list(e, h->cfg, name, &es, &n, &rev);
	if (err)
		return send_etcd_error(c, err);
	a = cJSON_CreateArray();
	for (size_t i = 0; a && i < n; i++) {
		const struct reg_health *hh = es[i].has_health ? &es[i].health : NULL;
		bool tagged = !tag;
		const cJSON *t;

		if (passing && reg_effective_status(&es[i].in, hh) != REG_PASSING)
			continue;
		if (tag)
			cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(es[i].in.json, "Tags"))
				tagged |= !strcmp(t->valuestring, tag);
		if (!tagged)
			continue;
		if (!cJSON_AddItemToArray(a, reg_render_health_entry(&es[i].in, hh))) {
			cJSON_Delete(a);
			a = NULL;
		}
	}
	reg_entries_free(es, n);
	return send_json(c, 200, a, rev);
}

static enum MHD_Result do_catalog_services(struct reg_http *h, struct MHD_Connection *c,
					   struct etcd *e)
{
	uint64_t index, wait;
	enum MHD_Result ret;
	struct reg_entry *es;
	int64_t rev;
	size_t n;
	cJSON *o;
	int err;

	if (!blocking_args(c, &index, &wait, &ret))
		return ret;
	if (index)
		block(h, e, NULL, index, wait);
	err = reg_store_list(e, h->cfg, NULL, &es, &n, &rev);
	if (err)
		return send_etcd_error(c, err);
	o = cJSON_CreateObject();
	for (size_t i = 0; o && i < n; i++) {
		cJSON *tags = cJSON_GetObjectItemCaseSensitive(o, es[i].in.name);
		const cJSON *t, *u;

		if (!tags && !(tags = cJSON_AddArrayToObject(o, es[i].in.name)))
			break;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(es[i].in.json, "Tags")) {
			bool dup = false;

			cJSON_ArrayForEach(u, tags)
				dup |= !strcmp(u->valuestring, t->valuestring);
			if (!dup)
				cJSON_AddItemToArray(tags, cJSON_CreateString(t->valuestring));
		}
	}
	reg_entries_free(es, n);
	return send_json(c, 200, o, rev);
}

static enum MHD_Result dispatch(struct reg_http *h, struct MHD_Connection *c,
				const char *method, const char *url, const struct req *rq)
{
	struct reg_route rt;
	struct etcd *e;
	int err;

	reg_route_parse(method, url, &rt);
	switch (rt.kind) {
	case RT_NOT_FOUND:
		return send_error(c, 404, "no such endpoint: %.100s", url);
	case RT_BAD_METHOD:
		return send_error(c, 405, "method %s not allowed on %.100s", method, url);
	case RT_HEALTH:
		return send_body(c, 200, "text/plain", "ok\n", 0);
	default:
		break;
	}
	if (rt.write && !authorized(h, c))
		return send_error(c, 403, "Permission denied: a valid token is required "
				  "(X-Consul-Token, Authorization: Bearer, or ?token=)");
	e = thread_etcd(h->cfg);
	if (!e)
		return send_error(c, 500, "out of memory");
	switch (rt.kind) {
	case RT_READY:
		err = reg_store_ready(e, h->cfg);
		if (err) {
			char why[400];

			/* Why, and the TLS and login failures counted since start. */
			snprintf(why, sizeof(why),
				 "etcd unreachable: %s\netcd_tls_failures %llu\netcd_auth_failures %llu\n",
				 *etcd_last_error(e) ? etcd_last_error(e) : strerror(-err),
				 etcd_failures(ETCD_FAIL_TLS), etcd_failures(ETCD_FAIL_AUTH));
			return send_body(c, 503, "text/plain", why, 0);
		}
		return send_body(c, 200, "text/plain", "ready\n", 0);
	case RT_REGISTER:
		return do_register(h, c, e, rq);
	case RT_DEREGISTER:
		return do_deregister(h, c, e, rt.arg);
	case RT_CHECK:
		return do_check(h, c, e, &rt);
	case RT_AGENT_SERVICES:
		return do_agent_services(h, c, e);
	case RT_HEALTH_SERVICE:
		return do_health_service(h, c, e, rt.arg);
	case RT_CATALOG_SERVICES:
		return do_catalog_services(h, c, e);
	default:
		return send_error(c, 404, "no such endpoint: %.100s", url);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct reg_http *h = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* Refuse a declared large body before reading it. */
		if (cl && strtoull(cl, NULL, 10) > REG_BODY_MAX) {
			rq->answered = true;
			return send_error(c, 413, "body larger than %d bytes", REG_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (rq->answered)
			return MHD_YES;
		if (rq->too_big || rq->len + n > REG_BODY_MAX) {
			/* A chunked body that grew too large: libmicrohttpd sends no
			 * answer queued in the middle of a body, so read and drop
			 * the rest (up to a bound, then hang up) and answer 413 at
			 * its end. */
			rq->too_big = true;
			free(rq->body);
			rq->body = NULL;
			rq->dropped += n;
			return rq->dropped > DROP_MAX ? MHD_NO : MHD_YES;
		}
		char *p = realloc(rq->body, rq->len + n + 1);

		if (!p)
			return MHD_NO;
		memcpy(p + rq->len, upload_data, n);
		rq->body = p;
		rq->len += n;
		rq->body[rq->len] = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->too_big)
		return send_error(c, 413, "body larger than %d bytes", REG_BODY_MAX);
	return dispatch(h, c, method, url, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

struct reg_http *reg_http_start(const struct reg_cfg *cfg, const char *listen,
				volatile int *stop)
{
	struct reg_http *h = calloc(1, sizeof(*h));
	struct http_server_cfg http = {
		.name = "registry",
		.listen = listen,
		.threads = HTTP_THREAD_PER_CONNECTION,
		.max_connections = 1024,
		.timeout_s = 120,
		.handler = on_request,
		.handler_ctx = h,
		.completed = on_completed,
		/* clients hanging up on blocking queries are routine here */
		.mhd_log_level = LOG_DEBUG,
	};

	if (!h)
		return NULL;
	h->cfg = cfg;
	h->stop = stop;
	h->http = http_server_start(&http);
	if (!h->http) {
		free(h);
		return NULL;
	}
	return h;
}

void reg_http_stop(struct reg_http *h)
{
	if (!h)
		return;
	http_server_stop(h->http);
	free(h);
}
