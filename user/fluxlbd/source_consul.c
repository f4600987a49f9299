// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The consul source: one blocking query loop per watched service on
 * GET /v1/health/service/<name>?index=N&wait=..., the Consul HTTP API that
 * both Consul and fluxlb-registry serve. X-Consul-Index gives the next
 * index (reset to 0 when it goes backwards, as Consul's docs require). An
 * instance's status is its worst check (critical > warning > passing); its
 * weight is Weights.Passing or Weights.Warning (default 1). Errors back off
 * one second and keep the last view.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "source.h"

#define WAIT_S 5            /* blocking query wait; stop is checked meanwhile */
#define MAX_BODY (16u << 20)

struct loop {
	struct source *s;
	const struct flb_source_cfg *cfg;
	const char *service;
	pthread_t thread;
};

struct reply {
	char *body;
	size_t len;
	unsigned long long index;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;
	size_t add = size * n;
	char *grown;

	if (r->len + add > MAX_BODY) {
		r->too_big = true;
		return 0;
	}
	grown = realloc(r->body, r->len + add + 1);
	if (!grown)
		return 0;
	r->body = grown;
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = 0;
	return add;
}

static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct reply *r = ctx;

	if (size * n > 15 && !strncasecmp(p, "X-Consul-Index:", 15))
		r->index = strtoull(p + 15, NULL, 10);
	return size * n;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return source_stopping(ctx) ? 1 : 0; /* non-zero aborts the transfer */
}

static int worst(const cJSON *checks)
{
	int st = SRC_PASSING;
	const cJSON *c;

	cJSON_ArrayForEach(c, checks) {
		const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "Status");

		if (!cJSON_IsString(s))
			continue;
		if (!strcmp(s->valuestring, "critical"))
			st = SRC_CRITICAL;
		else if (!strcmp(s->valuestring, "warning") && st == SRC_PASSING)
			st = SRC_WARNING;
	}
	return st;
}

static uint32_t weight_of(const cJSON *svc, int status)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(svc, "Weights");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(w, status == SRC_WARNING ? "Warning" : "Passing");

	if (!cJSON_IsNumber(v))
		return 1;
	return v->valuedouble < 0 ? 0 : v->valuedouble > 10000 ? 10000 : (uint32_t)v->valuedouble;
}

/* One entry of the health answer; false when it cannot be a backend. */
static bool parse_entry(const cJSON *e, struct src_instance *out, const char *service)
{
	const cJSON *svc = cJSON_GetObjectItemCaseSensitive(e, "Service");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(e, "Node");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(svc, "ID");
	const cJSON *addr = cJSON_GetObjectItemCaseSensitive(svc, "Address");
	const cJSON *port = cJSON_GetObjectItemCaseSensitive(svc, "Port");
	const char *a;

	if (!cJSON_IsString(addr) || !*addr->valuestring)
		addr = cJSON_GetObjectItemCaseSensitive(node, "Address"); /* Consul's fallback */
	a = cJSON_IsString(addr) ? addr->valuestring : "";
	if (!cJSON_IsString(id) || !cJSON_IsNumber(port) || port->valuedouble < 1 ||
	    port->valuedouble > 65535 || addr_parse(a, &out->addr)) {
		log_warn("registry instance skipped: needs an ID, a port and an IP address",
			 "service=%s address=\"%s\"", service, a);
		return false;
	}
	snprintf(out->id, sizeof(out->id), "%s", id->valuestring);
	out->port = (uint16_t)port->valuedouble;
	out->status = worst(cJSON_GetObjectItemCaseSensitive(e, "Checks"));
	out->weight = weight_of(svc, out->status);
	return true;
}

static int publish_body(struct loop *l, const char *body)
{
	cJSON *root = cJSON_Parse(body), *e;
	struct src_instance *inst;
	size_t n = 0;

	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	inst = calloc(cJSON_GetArraySize(root) + 1, sizeof(*inst));
	if (!inst) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_ArrayForEach(e, root)
		n += parse_entry(e, &inst[n], l->service);
	cJSON_Delete(root);
	source_publish(l->s, l->service, inst, n);
	return 0;
}

/* The ACL token, re-read from token_file for each request (rotation needs
 * no restart): the header into hdr, "" when none; -1 when the file cannot
 * be read (logged once per change of reason, the request is not sent). */
static int token_header(const struct flb_source_cfg *cfg, char *hdr, size_t len, char *why,
			size_t wlen)
{
	char tok[160];
	FILE *f;
	size_t n;

	hdr[0] = 0;
	if (!cfg->token_file[0])
		return 0;
	f = fopen(cfg->token_file, "re");
	if (!f) {
		snprintf(why, wlen, "cannot read token_file %s: %s", cfg->token_file, strerror(errno));
		return -1;
	}
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	tok[n] = 0;
	tok[strcspn(tok, "\r\n")] = 0;
	if (!tok[0] || strpbrk(tok, " \t")) {
		snprintf(why, wlen, "token_file %s: empty or not one word", cfg->token_file);
		return -1;
	}
	snprintf(hdr, len, "X-Consul-Token: %s", tok);
	memset(tok, 0, sizeof(tok));
	return 0;
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	unsigned long long index = 0;
	CURL *c = curl_easy_init();
	char url[512], token[200], why[400];

	while (c && !source_stopping(l->s)) {
		struct curl_slist *hdrs = NULL;
		struct reply r = {};
		long code = 0;
		CURLcode rc;

		snprintf(url, sizeof(url), "%s/v1/health/service/%s?index=%llu&wait=%ds",
			 l->cfg->address, l->service, index, WAIT_S);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)WAIT_S + 10);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 2L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, l->s);
		if (l->cfg->ca_file[0])
			curl_easy_setopt(c, CURLOPT_CAINFO, l->cfg->ca_file);
		if (token_header(l->cfg, token, sizeof(token), why, sizeof(why))) {
			source_set_up(l->s, false, why);
			for (int i = 0; i < 10 && !source_stopping(l->s); i++)
				usleep(100 * 1000);
			continue;
		}
		if (token[0]) {
			hdrs = curl_slist_append(NULL, token);
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		}
		rc = curl_easy_perform(c);
		curl_slist_free_all(hdrs);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (rc == CURLE_OK && code == 200 && r.body && !publish_body(l, r.body)) {
			source_set_up(l->s, true, NULL);
			index = r.index < index ? 0 : r.index;
		} else if (!source_stopping(l->s)) {
			snprintf(why, sizeof(why), "%s (HTTP %ld)%s",
				 rc == CURLE_OK ? "bad answer" : curl_easy_strerror(rc), code,
				 r.too_big ? ", body over 16 MiB" : "");
			source_set_up(l->s, false, why);
			for (int i = 0; i < 10 && !source_stopping(l->s); i++)
				usleep(100 * 1000);
		}
		free(r.body);
	}
	curl_easy_cleanup(c);
	return NULL;
}

static void run(struct source *s, const struct flb_source_cfg *cfg, const char *const *services,
		size_t n)
{
	struct loop *loops = calloc(n + 1, sizeof(*loops));
	size_t started = 0;

	if (!loops)
		return;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (size_t i = 0; i < n; i++) {
		loops[i] = (struct loop){ .s = s, .cfg = cfg, .service = services[i] };
		if (!pthread_create(&loops[i].thread, NULL, loop_main, &loops[i]))
			started = i + 1;
		else
			break;
	}
	for (size_t i = 0; i < started; i++)
		pthread_join(loops[i].thread, NULL);
	free(loops);
}

const struct source_kind source_consul = { .name = "consul", .run = run };
