// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP exporter (see exporter.h): routing on lib/http_server.c, and
 * the snapshot each scrape renders (maps read through the pinned fds,
 * status copied under its lock). libmicrohttpd runs one internal
 * polling thread and calls the handler from it only, so the maps handle and
 * the scratch arrays below are used by one thread at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "exporter.h"
#include "http_server.h"
#include "log.h"
#include "pinned_maps.h"
#include "metrics.h"
#include "metrics_policy.h"
#include "node_metrics.h"

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define MAX_CONNECTIONS 32u   /* scrapers and probes; more wait in the backlog */
#define CONN_TIMEOUT_S 10u
#define FILL_EVERY_NS (5ull * 1000000000ull)

struct flb_exporter {
	struct http_server *http;
	struct flb_status *st;
	char pin_dir[PATH_MAX];
	/* Server thread only: */
	struct flb_maps *maps;       /* NULL until the pins exist */
	bool maps_warned;
	struct flb_vip_key *keys;    /* [FLB_MAX_VIPS] */
	struct flb_vip *vips;        /* [FLB_MAX_VIPS] */
	struct metrics_vip *mvips;   /* [FLB_MAX_VIPS] */
	struct metrics_backend *mbes; /* [FLB_MAX_BACKENDS] */
	struct metrics_fill fill[4]; /* the balancer's two, then the node role's (node_metrics.h) */
	size_t n_fill;
	uint64_t fill_at_ns;         /* when fill[] was counted; 0: never */
	struct metrics_iface ifaces[FLB_CFG_MAX_IFACES];
	char node[256];              /* under the status lock */
};

/* ---- snapshot ---- */

/* Opens the pins on first use and after they were missing. */
static struct flb_maps *maps(struct flb_exporter *e)
{
	if (e->maps)
		return e->maps;
	e->maps = maps_open_pinned(e->pin_dir);
	if (!e->maps) {
		if (!e->maps_warned)
			log_warn("exporter: pinned maps not there yet; dataplane metrics missing until they are",
				 "pin_dir=%s err=\"%s\"", e->pin_dir, strerror(errno));
		e->maps_warned = true;
		return NULL;
	}
	log_info("exporter: pinned maps opened", "pin_dir=%s", e->pin_dir);
	return e->maps;
}

static int by_id(const void *a, const void *b)
{
	const struct metrics_vip *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Map families: reasons, events, every VIP (by id) and backend id in use. */
static bool collect_maps(struct flb_exporter *e, struct metrics_snapshot *s)
{
	struct flb_maps *m = maps(e);
	int n;

	struct flb_ctl ctl;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!m || maps_read_reasons(m, s->reasons) || maps_read_events(m, s->events))
		return false;
	node_metrics_reasons(e->pin_dir, s->reasons); /* -ENOENT: no node role */
	if (!maps_get_ctl(m, &ctl)) {
		s->flood_nfps_cpu = ctl.flood_nfps;
		s->flood_nfps_node = ctl.flood_nfps * (uint32_t)(cpus > 0 ? cpus : 1);
	}
	maps_read_flood(m, clock_ns(), &s->flood_cpus, &s->flood_window_flows);
	n = maps_list_vips(m, e->keys, e->vips, FLB_MAX_VIPS);
	for (int i = 0; i < n; i++) {
		struct metrics_vip *v = &e->mvips[s->n_vips];

		memset(v, 0, sizeof(*v));
		v->id = e->vips[i].id;
		vip_name(&e->keys[i], v->vip, sizeof(v->vip));
		if (!maps_read_vip_stats(m, v->id, &v->traffic))
			s->n_vips++;
	}
	qsort(e->mvips, s->n_vips, sizeof(*e->mvips), by_id);
	for (uint32_t id = 1; id < FLB_MAX_BACKENDS; id++) {
		struct metrics_backend *b = &e->mbes[s->n_backends];
		struct flb_backend be;

		if (maps_get_backend(m, id, &be) || be.state == FLB_BE_UNUSED)
			continue;
		memset(b, 0, sizeof(*b));
		b->id = id;
		b->gen = be.gen;
		b->state = be.state;
		inet_ntop(be.family == FLB_AF_INET6 ? AF_INET6 : AF_INET, be.addr, b->address,
			  sizeof(b->address));
		if (!maps_read_be_stats(m, id, &b->traffic))
			s->n_backends++;
	}
	s->vips = e->mvips;
	s->backends = e->mbes;
	/* LRU fill: a walk of each table (pinned_maps.h), 0.25-0.3 s for a
	 * full conntrack table here (tests/bpf/test_fill.c), so counted at
	 * most every FILL_EVERY_NS; scrapes in between repeat the last count. */
	if (!e->fill_at_ns || clock_ns() - e->fill_at_ns >= FILL_EVERY_NS) {
		e->fill[0] = (struct metrics_fill){ .map = "flb_conntrack" };
		e->fill[1] = (struct metrics_fill){ .map = "flb_frags" };
		e->fill_at_ns = 0;
		if (!maps_fill(m, MAPS_FILL_CONNTRACK, &e->fill[0].entries, &e->fill[0].capacity) &&
		    !maps_fill(m, MAPS_FILL_FRAGS, &e->fill[1].entries, &e->fill[1].capacity))
			e->fill_at_ns = clock_ns();
		e->n_fill = 2 + node_metrics_fill(e->pin_dir, &e->fill[2]);
	}
	if (e->fill_at_ns) {
		s->fill = e->fill;
		s->n_fill = e->n_fill;
	}
	return true;
}

/* Field by field: the copy's lock is never initialised nor used. When
 * status.h grows a field the renderer needs, copy it here too. */
static int copy_status(struct flb_status *src, struct flb_status *dst)
{
	int err = 0;

	memset(dst, 0, sizeof(*dst));
	pthread_mutex_lock(&src->lock);
	dst->ready = src->ready;
	dst->reloads_ok = src->reloads_ok;
	dst->reloads_rejected = src->reloads_rejected;
	dst->last_reload_ok = src->last_reload_ok;
	dst->last_reload_success_s = src->last_reload_success_s;
	memcpy(dst->reconcile_buckets, src->reconcile_buckets, sizeof(dst->reconcile_buckets));
	dst->reconcile_count = src->reconcile_count;
	dst->reconcile_sum_s = src->reconcile_sum_s;
	dst->has_source = src->has_source;
	dst->source_up = src->source_up;
	dst->source_updates = src->source_updates;
	dst->announce_on = src->announce_on;
	dst->vips_announced = src->vips_announced;
	dst->announces = src->announces;
	dst->withdraws = src->withdraws;
	dst->announce_errors = src->announce_errors;
	dst->vips = calloc(src->n_vips + 1, sizeof(*dst->vips));
	dst->backends = calloc(src->n_backends + 1, sizeof(*dst->backends));
	if (dst->vips && dst->backends) {
		if (src->n_vips)
			memcpy(dst->vips, src->vips, src->n_vips * sizeof(*dst->vips));
		if (src->n_backends)
			memcpy(dst->backends, src->backends, src->n_backends * sizeof(*dst->backends));
		dst->n_vips = src->n_vips;
		dst->n_backends = src->n_backends;
	} else {
		err = -ENOMEM;
	}
	pthread_mutex_unlock(&src->lock);
	return err;
}

static int render(struct flb_exporter *e, struct metrics_buf *out)
{
	struct metrics_snapshot s = {};
	struct proc_stats proc;
	struct flb_status st;
	int err;

	char node[sizeof(e->node)];

	s.maps_ok = collect_maps(e, &s);
	s.n_ifaces = xdp_query_pinned(e->pin_dir, e->ifaces, FLB_CFG_MAX_IFACES);
	s.ifaces = e->ifaces;
	pthread_mutex_lock(&e->st->lock);
	memcpy(node, e->node, sizeof(node));
	pthread_mutex_unlock(&e->st->lock);
	s.node = node;
	if (!proc_stats_read(&proc))
		s.proc = &proc;
	err = copy_status(e->st, &st);
	if (!err) {
		s.st = &st;
		err = metrics_render(&s, out);
		if (!err && s.maps_ok)
			metrics_policy_render(e->maps, &st, node, out);
	}
	free(st.vips);
	free(st.backends);
	return err;
}

/* ---- HTTP ---- */

static enum MHD_Result text(struct MHD_Connection *c, unsigned int code, const char *body)
{
	static const char *const allow[] = { MHD_HTTP_HEADER_ALLOW, "GET, HEAD", NULL };

	return http_reply(c, code, "text/plain; charset=utf-8", (void *)body, strlen(body),
			  MHD_RESPMEM_PERSISTENT,
			  code == MHD_HTTP_METHOD_NOT_ALLOWED ? allow : NULL);
}

static enum MHD_Result serve_metrics(struct flb_exporter *e, struct MHD_Connection *c)
{
	struct metrics_buf out = {};
	int err = render(e, &out);

	if (err) {
		log_warn("exporter: cannot render metrics", "err=\"%s\"", strerror(-err));
		metrics_buf_free(&out);
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot render metrics\n");
	}
	/* The response frees out.data. */
	return http_reply(c, MHD_HTTP_OK, CONTENT_TYPE_METRICS, out.data, out.len,
			  MHD_RESPMEM_MUST_FREE, NULL);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **req_ctx)
{
	struct flb_exporter *e = cls;
	bool ready;

	(void)version, (void)upload_data, (void)upload_size, (void)req_ctx;
	/* Answered on the first call: no request here has a body to wait for
	 * (a body sent anyway is discarded and the connection closed). */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (!strcmp(url, "/metrics"))
		return serve_metrics(e, c);
	if (!strcmp(url, "/health"))
		return text(c, MHD_HTTP_OK, "ok\n");
	if (!strcmp(url, "/ready")) {
		pthread_mutex_lock(&e->st->lock);
		ready = e->st->ready;
		pthread_mutex_unlock(&e->st->lock);
		return ready ? text(c, MHD_HTTP_OK, "ready\n") :
			       text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n");
	}
	return text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* ---- start and stop ---- */

struct flb_exporter *exporter_start(const char *listen_at, const char *pin_dir,
				    struct flb_status *st)
{
	struct flb_exporter *e = calloc(1, sizeof(*e));
	struct http_server_cfg http = {
		.name = "metrics",
		.listen = listen_at,
		.threads = HTTP_ONE_THREAD,
		.max_connections = MAX_CONNECTIONS,
		.timeout_s = CONN_TIMEOUT_S,
		.handler = handle,
		.handler_ctx = e,
		.mhd_log_level = LOG_WARN,
	};
	int err = -ENOMEM;

	if (!e)
		goto fail;
	e->st = st;
	e->keys = calloc(FLB_MAX_VIPS, sizeof(*e->keys));
	e->vips = calloc(FLB_MAX_VIPS, sizeof(*e->vips));
	e->mvips = calloc(FLB_MAX_VIPS, sizeof(*e->mvips));
	e->mbes = calloc(FLB_MAX_BACKENDS, sizeof(*e->mbes));
	if (!e->keys || !e->vips || !e->mvips || !e->mbes)
		goto fail;
	if (snprintf(e->pin_dir, sizeof(e->pin_dir), "%s", pin_dir) >= (int)sizeof(e->pin_dir)) {
		err = log_err(-ENAMETOOLONG, "exporter: pin folder name too long", "pin_dir=%s",
			      pin_dir);
		goto fail;
	}
	e->http = http_server_start(&http);
	if (!e->http) {
		err = -errno;
		goto fail;
	}
	log_debug("metrics exporter started", "listen=%s pin_dir=%s",
		  http_server_address(e->http), e->pin_dir);
	return e;
fail:
	exporter_stop(e);
	errno = -err;
	return NULL;
}

void exporter_set_node(struct flb_exporter *e, const char *node)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->st->lock);
	snprintf(e->node, sizeof(e->node), "%s", node ? node : "");
	pthread_mutex_unlock(&e->st->lock);
}

void exporter_stop(struct flb_exporter *e)
{
	if (!e)
		return;
	http_server_stop(e->http); /* joins the thread */
	maps_close(e->maps);
	free(e->keys);
	free(e->vips);
	free(e->mvips);
	free(e->mbes);
	free(e);
}
