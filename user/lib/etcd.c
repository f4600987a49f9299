// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * etcd v3 client over the JSON gateway (see etcd.h for the contract).
 * Unary calls are one POST each with a reused curl easy handle (keep-alive
 * to the endpoint); a watch is a streamed POST on its own easy handle,
 * driven through a curl multi handle so that the stop flag is looked at
 * every 200 ms whatever the stream does (curl's progress callback may slow
 * down to once a second on an idle stream).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "clock.h"
#include "etcd.h"
#include "etcd_priv.h"
#include "log.h"

#define ETCD_MAX_RESPONSE (64u << 20) /* a range larger than this is refused */
#define ETCD_POLL_MS 200

struct buf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- base64 ---------------------------------------------------------- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64_encode(const void *data, size_t len)
{
	const unsigned char *d = data;
	char *out, *o;

	if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	o = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)d[i + 1] << 8;
		if (i + 2 < len)
			v |= d[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = i + 1 < len ? b64[v >> 6 & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int etcd_b64_decode(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s), o = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *p;

	while (n && s[n - 1] == '=')
		n--;
	p = malloc(n / 4 * 3 + 3 + 1);
	if (!p)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v = b64_val(s[i]);

		if (v < 0) {
			free(p);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			p[o++] = (char)(acc >> bits & 0xff);
		}
	}
	if (bits >= 6) { /* a lone trailing character carries no byte */
		free(p);
		return -EINVAL;
	}
	p[o] = 0;
	*out = p;
	*len = o;
	return 0;
}

/* ---- handle ------------------------------------------------------------ */

struct etcd *etcd_new(const char *endpoints, long timeout_ms)
{
	struct etcd *e;
	char *copy, *tok, *save = NULL;

	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK || !endpoints || timeout_ms <= 0) {
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	copy = strdup(endpoints);
	if (!e || !copy)
		goto nomem;
	e->timeout_ms = timeout_ms;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char **ep;
		size_t l;

		while (*tok == ' ')
			tok++;
		l = strlen(tok);
		while (l && (tok[l - 1] == ' ' || tok[l - 1] == '/'))
			tok[--l] = 0;
		if (!l)
			continue;
		if (strncmp(tok, "http://", 7) && strncmp(tok, "https://", 8)) {
			log_error("etcd endpoint must start with http:// or https://",
				  "endpoint=\"%s\"", tok);
			free(copy);
			etcd_free(e);
			errno = EINVAL;
			return NULL;
		}
		ep = realloc(e->ep, (e->n_ep + 1) * sizeof(*ep));
		if (!ep)
			goto nomem;
		e->ep = ep;
		e->ep[e->n_ep] = strdup(tok);
		if (!e->ep[e->n_ep])
			goto nomem;
		e->n_ep++;
	}
	free(copy);
	copy = NULL;
	if (!e->n_ep) {
		etcd_free(e);
		errno = EINVAL;
		return NULL;
	}
	e->curl = curl_easy_init();
	e->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->curl || !e->hdrs)
		goto nomem;
	return e;
nomem:
	free(copy);
	etcd_free(e);
	errno = ENOMEM;
	return NULL;
}

void etcd_free(struct etcd *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n_ep; i++)
		free(e->ep[i]);
	free(e->ep);
	if (e->curl)
		curl_easy_cleanup(e->curl);
	curl_slist_free_all(e->hdrs);
	curl_slist_free_all(e->auth_hdrs);
	free(e->ca_file);
	free(e->cert_file);
	free(e->key_file);
	free(e->username);
	free(e->password_file);
	free(e);
}

const char *etcd_endpoint(const struct etcd *e)
{
	return e->ep[e->cur];
}

const char *etcd_last_error(const struct etcd *e)
{
	return e->last_what;
}

void etcd_kv_free(struct etcd_kv *kv)
{
	if (!kv)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

void etcd_kvs_free(struct etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; kvs && i < n; i++)
		etcd_kv_free(&kvs[i]);
	free(kvs);
}

/* ---- logging once -------------------------------------------------------- */

/* kind: ETCD_FAIL_TLS, ETCD_FAIL_AUTH (counted) or -1 (anything else). */
static void report(struct etcd *e, const char *path, const char *endpoint,
		   const char *what_raw, int kind)
{
	static const char *const kinds[] = { "tls", "auth" };
	char now[sizeof(e->last_err)], what[200];
	const char *k = kind >= 0 ? kinds[kind] : "etcd";

	if (kind >= 0)
		etcd_count_failure(kind);
	snprintf(e->last_what, sizeof(e->last_what), "%s: %s", k, what_raw);
	log_quote(what, sizeof(what), what_raw);
	snprintf(now, sizeof(now), "%s %s", path, what);
	if (strcmp(now, e->last_err)) {
		log_error("etcd request failed", "endpoint=%s path=%s kind=%s error=%s", endpoint,
			  path, k, what);
		snprintf(e->last_err, sizeof(e->last_err), "%s", now);
	} else {
		log_debug("etcd request failed (again)", "endpoint=%s path=%s kind=%s error=%s",
			  endpoint, path, k, what);
	}
}

static void report_ok(struct etcd *e)
{
	if (e->last_err[0]) {
		log_info("etcd reachable again", "endpoint=%s", e->ep[e->cur]);
		e->last_err[0] = 0;
	}
	e->last_what[0] = 0;
}

/* ---- JSON helpers ------------------------------------------------------- */

/* 64-bit numbers arrive as strings; small ones (codes) as numbers. */
static int64_t get_i64(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (cJSON_IsString(v) && v->valuestring)
		return strtoll(v->valuestring, NULL, 10);
	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	return 0;
}

static bool add_i64(cJSON *o, const char *name, int64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return cJSON_AddStringToObject(o, name, s) != NULL;
}

static bool add_b64(cJSON *o, const char *name, const void *data, size_t len)
{
	char *s = etcd_b64_encode(data, len);
	bool ok = s && cJSON_AddStringToObject(o, name, s);

	free(s);
	return ok;
}

/* The end of the range of keys that start with prefix: prefix with its last
 * byte below 0xff incremented and what follows it dropped; "\0" (every key)
 * when there is none. Returns the length written into end (>= 1). */
static size_t prefix_end(const char *prefix, char *end, size_t cap)
{
	size_t n = strlen(prefix);

	if (n >= cap)
		n = cap - 1;
	memcpy(end, prefix, n);
	while (n > 0) {
		if ((unsigned char)end[n - 1] < 0xff) {
			end[n - 1]++;
			return n;
		}
		n--;
	}
	end[0] = 0;
	return 1;
}

static bool add_range(cJSON *o, const char *prefix)
{
	size_t n = strlen(prefix) + 1;
	char *end = malloc(n);
	bool ok;

	if (!end)
		return false;
	n = prefix_end(prefix, end, n);
	ok = add_b64(o, "key", prefix, strlen(prefix)) && add_b64(o, "range_end", end, n);
	free(end);
	return ok;
}

static int parse_kv(const cJSON *j, struct etcd_kv *kv)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "key");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "value");
	size_t klen;
	int err;

	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsString(k) || !k->valuestring)
		return -EPROTO;
	err = etcd_b64_decode(k->valuestring, &kv->key, &klen);
	if (err)
		return err == -ENOMEM ? err : -EPROTO;
	if (cJSON_IsString(v) && v->valuestring) {
		err = etcd_b64_decode(v->valuestring, &kv->value, &kv->value_len);
	} else {
		kv->value = calloc(1, 1);
		err = kv->value ? 0 : -ENOMEM;
	}
	if (err) {
		etcd_kv_free(kv);
		return err == -ENOMEM ? err : -EPROTO;
	}
	kv->mod_revision = get_i64(j, "mod_revision");
	kv->create_revision = get_i64(j, "create_revision");
	kv->lease = get_i64(j, "lease");
	return 0;
}

/* gRPC status codes (as the gateway reports them) to errno. */
static int grpc_errno(int64_t code)
{
	switch (code) {
	case 3: return -EINVAL;     /* INVALID_ARGUMENT */
	case 4: return -ETIMEDOUT;  /* DEADLINE_EXCEEDED */
	case 5: return -ENOENT;     /* NOT_FOUND */
	case 6: return -EEXIST;     /* ALREADY_EXISTS */
	case 7: return -EACCES;     /* PERMISSION_DENIED */
	case 8: return -ENOSPC;     /* RESOURCE_EXHAUSTED */
	case 9: return -EINVAL;     /* FAILED_PRECONDITION */
	case 11: return -ERANGE;    /* OUT_OF_RANGE (compacted) */
	case 14: return -EAGAIN;    /* UNAVAILABLE */
	case 16: return -EACCES;    /* UNAUTHENTICATED */
	default: return -EIO;
	}
}

/* ---- unary calls --------------------------------------------------------- */

static size_t buf_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct buf *b = userp;
	size_t n = size * nmemb;

	if (b->len + n + 1 > ETCD_MAX_RESPONSE) {
		b->overflow = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = 0;
	return n;
}

static void setup_common(struct etcd *e, CURL *c, const char *url)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER,
			 e->auth_hdrs && !e->authenticating ? e->auth_hdrs : e->hdrs);
	etcd_tls_setopts(e, c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	e->errbuf[0] = 0;
}

/* An answer that means "this member cannot serve now, another may". */
static bool failover_code(int64_t code)
{
	return code == 14 || code == 4; /* UNAVAILABLE, DEADLINE_EXCEEDED */
}

/*
 * POSTs req to path on each endpoint in turn, starting with the current one,
 * until one answers. On 200, *resp is the parsed answer (caller frees).
 * Otherwise returns -errno after logging once.
 */
static int call_once(struct etcd *e, const char *path, cJSON *req, cJSON **resp)
{
	char *body = cJSON_PrintUnformatted(req);
	char url[512], what[200] = "";
	struct buf b = { 0 };
	int err = -ECONNREFUSED, kind = -1;
	const char *last_ep = e->ep[e->cur];

	*resp = NULL;
	if (!body)
		return -ENOMEM;
	for (size_t tries = 0; tries < e->n_ep; tries++) {
		size_t i = (e->cur + tries) % e->n_ep;
		long status = 0;
		CURLcode rc;
		cJSON *j;

		last_ep = e->ep[i];
		snprintf(url, sizeof(url), "%s%s", e->ep[i], path);
		setup_common(e, e->curl, url);
		curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
		curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, buf_write);
		curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &b);
		b.len = 0;
		b.overflow = false;
		rc = curl_easy_perform(e->curl);
		if (rc != CURLE_OK) {
			if (b.overflow) {
				snprintf(what, sizeof(what), "answer larger than %u bytes",
					 ETCD_MAX_RESPONSE);
				err = -EFBIG;
				break;
			}
			snprintf(what, sizeof(what), "%.150s",
				 e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc));
			err = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
			kind = etcd_curl_kind(rc, what);
			continue;
		}
		curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
		j = b.p ? cJSON_ParseWithLength(b.p, b.len) : NULL;
		if (status == 200 && j) {
			e->cur = i;
			report_ok(e);
			*resp = j;
			free(body);
			free(b.p);
			return 0;
		}
		if (j) {
			const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
			int64_t code = get_i64(j, "code");

			snprintf(what, sizeof(what), "%s",
				 cJSON_IsString(m) && m->valuestring ? m->valuestring : "(no message)");
			err = grpc_errno(code);
			cJSON_Delete(j);
			/* UNAUTHENTICATED is a token etcd no longer knows (expired,
			 * etcd restarted); "revision of auth store is old" one from
			 * before a change of users or roles: log in again once. */
			e->token_rejected = code == 16 || strstr(what, "auth store is old");
			if (code == 16 || code == 7 || strstr(what, "authentication failed") ||
			    strstr(what, "user name is empty") || !strcmp(path, "/v3/auth/authenticate"))
				kind = ETCD_FAIL_AUTH;
			if (failover_code(code) || status == 503)
				continue;
		} else if (status != 200 && b.p && b.len) {
			/* The gateway's own refusals are plain text, e.g. a client
			 * certificate with a CommonName while auth is on. */
			b.p[strcspn(b.p, "\r\n")] = 0;
			snprintf(what, sizeof(what), "HTTP %ld: %.150s", status, b.p);
			err = -EIO;
			kind = strstr(b.p, "CommonName") ? ETCD_FAIL_TLS : -1;
			if (status == 503 || status == 502)
				continue;
		} else {
			snprintf(what, sizeof(what), "HTTP %ld with %s", status,
				 status == 200 ? "an unparsable body" : "no JSON body");
			err = status == 200 ? -EPROTO : -EIO;
			if (status == 503 || status == 502)
				continue;
		}
		break;
	}
	free(body);
	free(b.p);
	/* Not-found is an answer the callers expect, not a failure to report. */
	if (err != -ENOENT)
		report(e, path, last_ep, what, kind);
	return err;
}

int etcd_call(struct etcd *e, const char *path, cJSON *req, cJSON **resp)
{
	int err;

	*resp = NULL;
	if (!e->authenticating) {
		err = etcd_auth_ensure(e);
		if (err)
			return err;
	}
	e->token_rejected = false;
	err = call_once(e, path, req, resp);
	if (e->token_rejected && e->username && !e->authenticating) {
		log_info("etcd auth token rejected; logging in again", "endpoint=%s user=%s",
			 e->ep[e->cur], e->username);
		etcd_auth_drop(e);
		err = etcd_auth_ensure(e);
		if (!err)
			err = call_once(e, path, req, resp);
	}
	return err;
}

int etcd_put(struct etcd *e, const char *key, const void *val, size_t len,
	     int64_t lease)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (req && add_b64(req, "key", key, strlen(key)) && add_b64(req, "value", val, len) &&
	    (!lease || add_i64(req, "lease", lease)))
		err = etcd_call(e, "/v3/kv/put", req, &resp);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

static int parse_kvs(const cJSON *resp, struct etcd_kv **kvs, size_t *n)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(resp, "kvs"), *it;
	size_t cnt = 0, i = 0;
	struct etcd_kv *out;

	*kvs = NULL;
	*n = 0;
	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		return -EPROTO;
	cnt = (size_t)cJSON_GetArraySize(arr);
	if (!cnt)
		return 0;
	out = calloc(cnt, sizeof(*out));
	if (!out)
		return -ENOMEM;
	cJSON_ArrayForEach(it, arr) {
		int err = parse_kv(it, &out[i]);

		if (err) {
			etcd_kvs_free(out, i);
			return err;
		}
		i++;
	}
	*kvs = out;
	*n = i;
	return 0;
}

int etcd_get(struct etcd *e, const char *key, struct etcd_kv *out)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	struct etcd_kv *kvs = NULL;
	size_t n = 0;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (req && add_b64(req, "key", key, strlen(key)))
		err = etcd_call(e, "/v3/kv/range", req, &resp);
	if (!err)
		err = parse_kvs(resp, &kvs, &n);
	if (!err && n == 0)
		err = -ENOENT;
	if (!err) {
		*out = kvs[0];
		memset(&kvs[0], 0, sizeof(kvs[0]));
	}
	etcd_kvs_free(kvs, n);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

static int range_prefix(struct etcd *e, const char *prefix, bool keys_only,
			bool count_only, struct etcd_kv **kvs, size_t *n,
			int64_t *revision)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (kvs)
		*kvs = NULL;
	*n = 0;
	if (req && add_range(req, prefix) &&
	    (!keys_only || cJSON_AddTrueToObject(req, "keys_only")) &&
	    (!count_only || cJSON_AddTrueToObject(req, "count_only")))
		err = etcd_call(e, "/v3/kv/range", req, &resp);
	if (!err && count_only)
		*n = (size_t)get_i64(resp, "count");
	else if (!err)
		err = parse_kvs(resp, kvs, n);
	if (!err && revision)
		*revision = get_i64(cJSON_GetObjectItemCaseSensitive(resp, "header"), "revision");
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

int etcd_get_prefix(struct etcd *e, const char *prefix, struct etcd_kv **kvs,
		    size_t *n, int64_t *revision)
{
	return range_prefix(e, prefix, false, false, kvs, n, revision);
}

int etcd_get_prefix_keys(struct etcd *e, const char *prefix,
			 struct etcd_kv **kvs, size_t *n, int64_t *revision)
{
	return range_prefix(e, prefix, true, false, kvs, n, revision);
}

int etcd_count_prefix(struct etcd *e, const char *prefix, size_t *n,
		      int64_t *revision)
{
	return range_prefix(e, prefix, false, true, NULL, n, revision);
}

int etcd_delete(struct etcd *e, const char *key)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (req && add_b64(req, "key", key, strlen(key)))
		err = etcd_call(e, "/v3/kv/deleterange", req, &resp);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

int etcd_delete_prefix(struct etcd *e, const char *prefix)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (req && add_range(req, prefix))
		err = etcd_call(e, "/v3/kv/deleterange", req, &resp);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

static cJSON *op_json(const struct etcd_op *op)
{
	cJSON *o = cJSON_CreateObject(), *r;
	bool ok;

	if (!o)
		return NULL;
	switch (op->type) {
	case ETCD_OP_PUT:
		r = cJSON_AddObjectToObject(o, "request_put");
		ok = r && add_b64(r, "key", op->key, strlen(op->key)) &&
		     add_b64(r, "value", op->val, op->len) &&
		     (!op->lease || add_i64(r, "lease", op->lease));
		break;
	case ETCD_OP_DELETE:
		r = cJSON_AddObjectToObject(o, "request_delete_range");
		ok = r && add_b64(r, "key", op->key, strlen(op->key));
		break;
	case ETCD_OP_DELETE_PREFIX:
		r = cJSON_AddObjectToObject(o, "request_delete_range");
		ok = r && add_range(r, op->key);
		break;
	default:
		ok = false;
	}
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *cmp_json(const struct etcd_cmp *c)
{
	static const char *const target[] = { "CREATE", "MOD", "VERSION", "LEASE" };
	static const char *const field[] = { "create_revision", "mod_revision", "version", "lease" };
	cJSON *o = cJSON_CreateObject();

	if (!o || (unsigned)c->target > ETCD_CMP_LEASE ||
	    !add_b64(o, "key", c->key, strlen(c->key)) ||
	    !cJSON_AddStringToObject(o, "target", target[c->target]) ||
	    !cJSON_AddStringToObject(o, "result", "EQUAL") ||
	    !add_i64(o, field[c->target], c->value)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int etcd_txn(struct etcd *e, const struct etcd_cmp *cmps, size_t ncmp,
	     const struct etcd_op *ops, size_t nops, bool *succeeded,
	     int64_t *revision)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL, *ca, *sa;
	int err = -ENOMEM;

	if (!req)
		return -ENOMEM;
	ca = cJSON_AddArrayToObject(req, "compare");
	sa = cJSON_AddArrayToObject(req, "success");
	if (!ca || !sa)
		goto out;
	for (size_t i = 0; i < ncmp; i++) {
		cJSON *c = cmp_json(&cmps[i]);

		if (!c)
			goto out;
		cJSON_AddItemToArray(ca, c);
	}
	for (size_t i = 0; i < nops; i++) {
		cJSON *o = op_json(&ops[i]);

		if (!o)
			goto out;
		cJSON_AddItemToArray(sa, o);
	}
	err = etcd_call(e, "/v3/kv/txn", req, &resp);
	if (!err) {
		/* "succeeded": false is omitted like every default field. */
		if (succeeded)
			*succeeded = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "succeeded"));
		if (revision)
			*revision = get_i64(cJSON_GetObjectItemCaseSensitive(resp, "header"),
					    "revision");
	}
out:
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

int etcd_create(struct etcd *e, const char *key, const void *val, size_t len,
		int64_t lease, bool *created)
{
	struct etcd_cmp c = { .key = key, .target = ETCD_CMP_CREATE, .value = 0 };
	struct etcd_op op = { .type = ETCD_OP_PUT, .key = key, .val = val,
			      .len = len, .lease = lease };

	return etcd_txn(e, &c, 1, &op, 1, created, NULL);
}

int etcd_lease_grant(struct etcd *e, int64_t ttl_s, int64_t *id)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (req && add_i64(req, "TTL", ttl_s))
		err = etcd_call(e, "/v3/lease/grant", req, &resp);
	if (!err) {
		*id = get_i64(resp, "ID");
		if (!*id)
			err = -EPROTO;
	}
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

int etcd_lease_keepalive(struct etcd *e, int64_t id, int64_t *ttl_left)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	*ttl_left = 0;
	/* The gateway's keepalive is a stream: one request in, one answer
	 * out wrapped in "result"; an expired lease answers without TTL. */
	if (req && add_i64(req, "ID", id))
		err = etcd_call(e, "/v3/lease/keepalive", req, &resp);
	if (!err)
		*ttl_left = get_i64(cJSON_GetObjectItemCaseSensitive(resp, "result"), "TTL");
	if (err == -ENOENT)
		err = 0;
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

int etcd_lease_revoke(struct etcd *e, int64_t id)
{
	cJSON *req = cJSON_CreateObject(), *resp = NULL;
	int err = -ENOMEM;

	if (req && add_i64(req, "ID", id))
		err = etcd_call(e, "/v3/lease/revoke", req, &resp);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	return err;
}

/* ---- watch ---------------------------------------------------------------- */

struct watch {
	struct etcd *e;
	etcd_watch_cb cb;
	void *ctx;
	struct buf line; /* bytes of the current, unfinished message */
	bool created;
	bool done;       /* stop reading: result holds the outcome */
	int result;
	int kind;        /* ETCD_FAIL_* of the failure, or -1 */
	char what[200];
};

/* One message of the stream: {"result": {...}} or {"error": {...}}. */
static void watch_message(struct watch *w, const char *s, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(s, len), *r, *evs, *ev;

	if (!j) {
		snprintf(w->what, sizeof(w->what), "unparsable watch message");
		w->result = -EPROTO;
		w->done = true;
		return;
	}
	r = cJSON_GetObjectItemCaseSensitive(j, "result");
	if (!r) {
		const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(er, "message");

		snprintf(w->what, sizeof(w->what), "%s",
			 cJSON_IsString(m) && m->valuestring ? m->valuestring : "watch error");
		w->result = -EIO;
		w->done = true;
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "created")))
		w->created = true;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "canceled"))) {
		int64_t compact = get_i64(r, "compact_revision");
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(r, "cancel_reason");

		if (compact) {
			snprintf(w->what, sizeof(w->what),
				 "revision compacted (oldest available %" PRId64 ")", compact);
			w->result = -ERANGE;
		} else {
			snprintf(w->what, sizeof(w->what), "watch cancelled: %s",
				 cJSON_IsString(why) && why->valuestring ? why->valuestring : "no reason");
			w->result = -EIO;
			/* An expired token cancels the watch: log in again next time. */
			if (strstr(w->what, "auth token") || strstr(w->what, "permission denied")) {
				w->kind = ETCD_FAIL_AUTH;
				w->result = -EACCES;
				if (strstr(w->what, "auth token"))
					etcd_auth_drop(w->e);
			}
		}
		w->done = true;
		goto out;
	}
	evs = cJSON_GetObjectItemCaseSensitive(r, "events");
	cJSON_ArrayForEach(ev, evs) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(ev, "type");
		enum etcd_event type = cJSON_IsString(t) && t->valuestring &&
				       !strcmp(t->valuestring, "DELETE") ? ETCD_DELETE : ETCD_PUT;
		struct etcd_kv kv;
		int err = parse_kv(cJSON_GetObjectItemCaseSensitive(ev, "kv"), &kv);

		if (err) {
			snprintf(w->what, sizeof(w->what), "bad event in watch stream");
			w->result = err;
			w->done = true;
			goto out;
		}
		err = w->cb(w->ctx, type, &kv, kv.mod_revision);
		etcd_kv_free(&kv);
		if (err) {
			w->result = 0;
			w->done = true;
			goto out;
		}
	}
out:
	cJSON_Delete(j);
}

static size_t watch_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct watch *w = userp;
	size_t n = size * nmemb;

	if (w->done)
		return 0;
	if (buf_write(data, 1, n, &w->line) != n) {
		snprintf(w->what, sizeof(w->what), "watch message too large");
		w->result = -EFBIG;
		w->done = true;
		return 0;
	}
	/* Messages are newline-separated JSON objects. */
	for (;;) {
		char *nl = memchr(w->line.p, '\n', w->line.len);
		size_t l;

		if (!nl)
			break;
		l = (size_t)(nl - w->line.p);
		if (l)
			watch_message(w, w->line.p, l);
		memmove(w->line.p, nl + 1, w->line.len - l - 1);
		w->line.len -= l + 1;
		w->line.p[w->line.len] = 0;
		if (w->done)
			return 0;
	}
	return n;
}

/* Runs one watch stream on endpoint i. Returns 1 when it could not be
 * opened at all (try the next endpoint), else sets *ret. */
static int watch_once(struct etcd *e, size_t i, const char *body, struct watch *w,
		      volatile int *stop, int64_t deadline, int *ret)
{
	CURL *c = curl_easy_init();
	CURLM *m = curl_multi_init();
	char url[512];
	long status = 0;
	int running = 1, again = 0;
	CURLcode rc = CURLE_OK;

	if (!c || !m) {
		*ret = -ENOMEM;
		goto out;
	}
	snprintf(url, sizeof(url), "%s/v3/watch", e->ep[i]);
	setup_common(e, c, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 5L);
	curl_multi_add_handle(m, c);
	while (running) {
		CURLMsg *msg;
		int left;

		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &left)))
			if (msg->msg == CURLMSG_DONE)
				rc = msg->data.result;
		if (!running)
			break;
		if (stop && *stop) {
			w->result = 0;
			w->done = true;
			break;
		}
		if (deadline && (int64_t)clock_ms() >= deadline) {
			w->result = -ETIMEDOUT;
			w->done = true;
			break;
		}
		curl_multi_poll(m, NULL, 0, ETCD_POLL_MS, NULL);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (w->done) {
		*ret = w->result;
		/* A timeout is the caller's own limit; a compacted start is a
		 * normal turn of a watch's life (re-list): neither is a failure. */
		if (w->result && w->result != -ETIMEDOUT && w->result != -ERANGE)
			report(e, "/v3/watch", e->ep[i], w->what, w->kind);
		else if (w->result == -ERANGE)
			log_debug("etcd watch start compacted", "endpoint=%s error=\"%s\"",
				  e->ep[i], w->what);
	} else if (!w->created && (rc != CURLE_OK || status != 200)) {
		/* Never opened: a connection error, or an error answer. */
		snprintf(w->what, sizeof(w->what), "%.150s",
			 rc != CURLE_OK ? (e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc))
					: "watch refused");
		if (rc != CURLE_OK)
			w->kind = etcd_curl_kind(rc, w->what);
		else if (w->line.len && strstr(w->line.p, "CommonName"))
			w->kind = ETCD_FAIL_TLS;
		if (rc != CURLE_OK || status == 503) {
			again = 1;
		} else {
			*ret = -EIO;
			report(e, "/v3/watch", e->ep[i], w->line.len ? w->line.p : w->what, w->kind);
		}
	} else {
		snprintf(w->what, sizeof(w->what), "watch stream ended: %.150s",
			 rc != CURLE_OK ? (e->errbuf[0] ? e->errbuf : curl_easy_strerror(rc))
					: "closed by etcd");
		report(e, "/v3/watch", e->ep[i], w->what, w->kind);
		*ret = -ECONNRESET;
		/* The next call starts with another member. */
		e->cur = (i + 1) % e->n_ep;
	}
	if (!again && *ret == 0)
		e->cur = i;
out:
	if (m && c)
		curl_multi_remove_handle(m, c);
	if (c)
		curl_easy_cleanup(c);
	if (m)
		curl_multi_cleanup(m);
	return again;
}

int etcd_watch_for(struct etcd *e, const char *prefix, int64_t start_revision,
		   etcd_watch_cb cb, void *ctx, volatile int *stop, long max_ms)
{
	cJSON *req = cJSON_CreateObject(), *cr;
	int64_t deadline = max_ms > 0 ? (int64_t)clock_ms() + max_ms : 0;
	struct watch w = { .e = e, .cb = cb, .ctx = ctx, .kind = -1 };
	char *body = NULL;
	int ret = -ECONNREFUSED;

	ret = etcd_auth_ensure(e);
	if (ret) {
		cJSON_Delete(req);
		return ret;
	}
	ret = -ECONNREFUSED;

	cr = req ? cJSON_AddObjectToObject(req, "create_request") : NULL;
	if (!cr || !add_range(cr, prefix) ||
	    (start_revision > 0 && !add_i64(cr, "start_revision", start_revision)) ||
	    !(body = cJSON_PrintUnformatted(req))) {
		cJSON_Delete(req);
		return -ENOMEM;
	}
	cJSON_Delete(req);
	for (size_t tries = 0; tries < e->n_ep; tries++) {
		size_t i = (e->cur + tries) % e->n_ep;

		w.line.len = 0;
		if (!watch_once(e, i, body, &w, stop, deadline, &ret))
			goto out;
		if (stop && *stop) {
			ret = 0;
			goto out;
		}
	}
	report(e, "/v3/watch", e->ep[e->cur], w.what, w.kind);
	ret = -ECONNREFUSED;
out:
	if (ret == 0 || ret == -ETIMEDOUT || ret == -ERANGE)
		report_ok(e);
	free(w.line.p);
	free(body);
	return ret;
}

int etcd_watch(struct etcd *e, const char *prefix, int64_t start_revision,
	       etcd_watch_cb cb, void *ctx, volatile int *stop)
{
	return etcd_watch_for(e, prefix, start_revision, cb, ctx, stop, 0);
}
