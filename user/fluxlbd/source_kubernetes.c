// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The Kubernetes source: list and watch Services and EndpointSlices with
 * the API's protocol (list, then ?watch=1&resourceVersion=RV&
 * allowWatchBookmarks=true, a chunked stream of one JSON event per line),
 * one thread per kind, into the store of source_kubernetes_model.c, and
 * publish the configured services' instances and the discovered services
 * (every Service of our class with a VIP) whenever either kind changed.
 * 410 Gone, as an HTTP status or as an ERROR event, lists again; any other
 * failure (401/403, refused, dropped or stalled stream) backs off 0.5 s
 * doubling to 8 s and keeps the last view, as every source does (source.h).
 * The token file is read again for every request: service-account tokens
 * rotate. Nothing is published before both kinds were listed once, so a
 * start never sees Services without their endpoints. A Service is mapped
 * with the VIP k8s_allocate() gives it (k8s_alloc.h); the status writer
 * (k8s_status.h) is a thread of its own beside the two watchers that only
 * reads the store: writes come back through the watch like anyone's.
 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "k8s_alloc.h"
#include "k8s_http.h"
#include "k8s_status.h"
#include "log.h"
#include "node_name.h"
#include "source_kubernetes.h"

#define WATCH_S 30            /* timeoutSeconds of a watch: the server ends it */
#define STALL_S 45            /* no byte for this long: the stream is dead */
#define MAX_BODY (64u << 20)

struct k8s {
	struct source *s;
	struct flb_source_cfg cfg;
	struct k8s_auth auth;        /* the server and credentials (defaults resolved) */
	const char *const *names;
	size_t n_names;
	char (*why)[160];            /* last reason a name was not mapped */
	pthread_mutex_t lock;        /* store and why */
	struct k8s_store store;
	bool dirty;                  /* the store changed: for the status writer */
	unsigned long errors;
};

struct watcher {
	struct k8s *k;
	enum k8s_kind kind;
	pthread_t thread;
	CURL *c;
	char *buf;                   /* body (list) or the unfinished line (watch) */
	size_t len;
	bool watching, gone, failed, too_big;
};

static const char *const kind_path[K8S_KINDS] = {
	[K8S_SERVICES] = "api/v1/%sservices",
	[K8S_SLICES] = "apis/discovery.k8s.io/v1/%sendpointslices",
};
static const char *const kind_name[K8S_KINDS] = { "services", "endpointslices" };

/* Every Service of our class with a served VIP is served, named or not
 * in the file (k8s_discover()); k->lock held. */
static void publish_discovered(struct k8s *k, const struct k8s_vip *vips, size_t nv)
{
	struct src_service *d;
	size_t n;

	if (!k8s_discover(&k->store, k->cfg.lb_class, vips, nv, &d, &n))
		source_publish_discovered(k->s, d, n);
}

/* Publishes every configured name and the discovered services; k->lock held. */
static void publish_all(struct k8s *k)
{
	struct k8s_vip *vips;
	size_t nv;

	k->dirty = true;
	if (!k->store.kind[K8S_SERVICES].synced || !k->store.kind[K8S_SLICES].synced)
		return;
	/* Every node computes the same VIPs from the same objects; it serves
	 * requested ones and pool addresses once they are in the status. */
	if (k8s_allocate(k->store.kind[K8S_SERVICES].byname, k->cfg.lb_class, k->cfg.pool, k->cfg.n_pool, &vips,
			 &nv))
		return;
	for (size_t i = 0; i < k->n_names; i++) {
		struct src_instance *inst;
		char why[160];
		size_t n;

		if (k8s_instances_at(&k->store, k->cfg.lb_class, vips, nv, k->names[i], &inst, &n, why, sizeof(why)))
			continue;
		if (strcmp(why, k->why[i]) && *why)
			log_warn("kubernetes service skipped; it has no backends", "service=%s reason=\"%s\"",
				 k->names[i], why);
		strcpy(k->why[i], why);
		source_publish(k->s, k->names[i], inst, n);
	}
	publish_discovered(k, vips, nv);
	free(vips);
}

static void on_line(struct watcher *w, const char *line)
{
	struct k8s *k = w->k;
	int r;

	pthread_mutex_lock(&k->lock);
	r = k8s_store_event(&k->store, w->kind, line);
	if (r == K8S_EV_APPLIED)
		publish_all(k);
	pthread_mutex_unlock(&k->lock);
	if (r == K8S_EV_GONE)
		w->gone = true;
	else if (r == K8S_EV_ERROR || r < 0)
		w->failed = true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct watcher *w = ctx;
	size_t add = size * n;
	long code = 0;
	char *grown, *nl;

	if (w->len + add > MAX_BODY) {
		w->too_big = true;
		return 0;
	}
	grown = realloc(w->buf, w->len + add + 1);
	if (!grown)
		return 0;
	w->buf = grown;
	memcpy(w->buf + w->len, p, add);
	w->len += add;
	w->buf[w->len] = 0;
	curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &code);
	if (!w->watching || code != 200)
		return add;
	/* A watch: apply every complete line, keep the rest. */
	while ((nl = memchr(w->buf, '\n', w->len))) {
		*nl = 0;
		if (nl > w->buf)
			on_line(w, w->buf);
		w->len -= nl + 1 - w->buf;
		memmove(w->buf, nl + 1, w->len + 1);
		if (w->gone || w->failed)
			return 0; /* ends the transfer */
	}
	return add;
}

/* A watch answers 200 and then streams for minutes: the API server is
 * reachable as soon as the headers end, not when the stream does. */
static size_t on_header(char *p, size_t size, size_t n, void *ctx)
{
	struct watcher *w = ctx;
	long code = 0;

	if (w->watching && size * n == 2 && p[0] == '\r' && p[1] == '\n' &&
	    !curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &code) && code == 200)
		source_set_up(w->k->s, true, NULL);
	return size * n;
}

static int on_progress(void *ctx, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return source_stopping(ctx) ? 1 : 0;
}

/* One GET; returns the HTTP status or -1 with why filled. */
static long get(struct watcher *w, const char *url, long timeout, char *why, size_t why_len)
{
	const struct k8s_auth *a = &w->k->auth;
	struct curl_slist *hdrs = curl_slist_append(NULL, "Accept: application/json");
	long code = 0;
	CURLcode rc;

	curl_easy_reset(w->c);
	curl_easy_setopt(w->c, CURLOPT_URL, url);
	curl_easy_setopt(w->c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(w->c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(w->c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(w->c, CURLOPT_LOW_SPEED_TIME, (long)STALL_S);
	curl_easy_setopt(w->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(w->c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(w->c, CURLOPT_HEADERDATA, w);
	curl_easy_setopt(w->c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(w->c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(w->c, CURLOPT_XFERINFODATA, w->k->s);
	k8s_curl_auth(w->c, a, &hdrs);
	curl_easy_setopt(w->c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(w->c);
	curl_slist_free_all(hdrs);
	curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK && !(w->watching && (w->gone || w->failed) && rc == CURLE_WRITE_ERROR)) {
		snprintf(why, why_len, "%s (HTTP %ld)%s", curl_easy_strerror(rc), code,
			 w->too_big ? ", body over 64 MiB" : "");
		/* A watch that ran and then timed out or dropped is not an error
		 * of the answer: the caller resumes from its resourceVersion. */
		return w->watching && code == 200 ? 200 : -1;
	}
	if (code != 200)
		snprintf(why, why_len, "HTTP %ld from %s", code, kind_name[w->kind]);
	return code;
}

static void url_of(const struct k8s *k, enum k8s_kind kind, char *buf, size_t len, const char *query)
{
	const char *ns = k->cfg.k8s_namespace;
	const char *base = k->auth.server;
	char nsp[96] = "", path[256];
	size_t bl = strlen(base);

	if (*ns)
		snprintf(nsp, sizeof(nsp), "namespaces/%s/", ns);
	snprintf(path, sizeof(path), kind_path[kind], nsp);
	if (bl && base[bl - 1] == '/')
		bl--;
	snprintf(buf, len, "%.*s/%s%s", (int)bl, base, path, query);
}

static void backoff(struct k8s *k, unsigned *ms)
{
	for (unsigned t = 0; t < *ms && !source_stopping(k->s); t += 100)
		usleep(100 * 1000);
	*ms = *ms >= 8000 ? 8000 : *ms * 2;
}

static void failed(struct watcher *w, const char *why)
{
	struct k8s *k = w->k;
	unsigned long n;

	pthread_mutex_lock(&k->lock);
	n = ++k->errors;
	pthread_mutex_unlock(&k->lock);
	log_warn("kubernetes API request failed; the last view keeps serving", "kind=%s errors=%lu reason=\"%s\"",
		 kind_name[w->kind], n, why);
	source_set_up(k->s, false, why);
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	struct k8s *k = w->k;
	unsigned delay = 500;
	bool listed = false;
	char url[768], q[160], why[200];

	while (w->c && !source_stopping(k->s)) {
		long code;

		w->len = 0;
		w->gone = w->failed = w->too_big = false;
		w->watching = listed;
		if (!listed) {
			url_of(k, w->kind, url, sizeof(url), "");
			code = get(w, url, 60, why, sizeof(why));
			pthread_mutex_lock(&k->lock);
			if (code == 200 && w->buf && !k8s_store_list(&k->store, w->kind, w->buf)) {
				listed = true;
				publish_all(k);
			} else if (code == 200) {
				snprintf(why, sizeof(why), "%s list is not a %sList", kind_name[w->kind],
					 w->kind == K8S_SERVICES ? "Service" : "EndpointSlice");
			}
			pthread_mutex_unlock(&k->lock);
			if (listed) {
				source_set_up(k->s, true, NULL);
				delay = 500;
				continue;
			}
			failed(w, why);
			backoff(k, &delay);
			continue;
		}
		pthread_mutex_lock(&k->lock);
		snprintf(q, sizeof(q), "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s",
			 WATCH_S, k->store.kind[w->kind].rv);
		pthread_mutex_unlock(&k->lock);
		url_of(k, w->kind, url, sizeof(url), q);
		code = get(w, url, WATCH_S + 15, why, sizeof(why));
		if (code == 410 || w->gone) {
			log_info("kubernetes resourceVersion expired (410 Gone); listing again", "kind=%s",
				 kind_name[w->kind]);
			listed = false;
			continue;
		}
		if (code != 200 || w->failed) {
			if (w->failed)
				snprintf(why, sizeof(why), "ERROR event or bad line in the %s watch", kind_name[w->kind]);
			failed(w, why);
			backoff(k, &delay);
			continue;
		}
		source_set_up(k->s, true, NULL);
		delay = 500;
	}
	return NULL;
}

static void run(struct source *s, const struct flb_source_cfg *cfg, const char *const *names, size_t n)
{
	struct k8s k = { .s = s, .cfg = *cfg, .names = names, .n_names = n };

	node_name(k.store.node, sizeof(k.store.node));
	struct watcher w[K8S_KINDS] = {};
	struct k8s_writer wr = { .s = s, .cfg = &k.cfg, .auth = &k.auth, .lock = &k.lock, .store = &k.store,
				 .dirty = &k.dirty };
	bool writing = false;
	int started = 0;
	char why[300];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	k.why = calloc(n + 1, sizeof(*k.why));
	if (!k.cfg.lb_class[0])
		strcpy(k.cfg.lb_class, K8S_DEFAULT_CLASS);
	if (!k.why || k8s_auth_load(&k.cfg, &k.auth, why, sizeof(why))) {
		/* Stays unknown: the daemon waits for the registry, and says so. */
		log_error("kubernetes source cannot start", "reason=\"%s\"", k.why ? why : "out of memory");
		source_set_up(s, false, "kubernetes source misconfigured");
		free(k.why);
		return;
	}
	pthread_mutex_init(&k.lock, NULL);
	log_info("kubernetes source", "api_server=%s namespace=%s load_balancer_class=%s",
		 k.auth.server, k.cfg.k8s_namespace[0] ? k.cfg.k8s_namespace : "(all)", k.cfg.lb_class);
	if (!strncmp(k.auth.server, "http://", 7))
		log_warn("kubernetes api_server is plain http: the bearer token travels unencrypted",
			 "api_server=%s", k.auth.server);
	for (int i = 0; i < K8S_KINDS; i++) {
		w[i] = (struct watcher){ .k = &k, .kind = i, .c = curl_easy_init() };
		if (pthread_create(&w[i].thread, NULL, watch_main, &w[i]))
			break;
		started = i + 1;
	}
	if (!k.cfg.no_write_status && started == K8S_KINDS && !(writing = !k8s_writer_start(&wr)))
		log_error("kubernetes status writer cannot start", "reason=\"%s\"", "no thread");
	for (int i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	if (writing)
		k8s_writer_join(&wr);
	for (int i = 0; i < K8S_KINDS; i++) {
		curl_easy_cleanup(w[i].c);
		free(w[i].buf);
	}
	k8s_store_free(&k.store);
	k8s_auth_free(&k.auth);
	pthread_mutex_destroy(&k.lock);
	free(k.why);
}

const struct source_kind source_kubernetes = { .name = "kubernetes", .run = run };
