// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP exporter (see exporter.h): listen socket, libmicrohttpd server,
 * routing, and the snapshot each scrape renders (maps read through the
 * pinned fds, status copied under its lock). libmicrohttpd runs one internal
 * polling thread and calls the handler from it only, so the maps handle and
 * the scratch arrays below are used by one thread at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "exporter.h"
#include "log.h"
#include "pinned_maps.h"
#include "metrics.h"

#define CONTENT_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define MAX_CONNECTIONS 32u   /* scrapers and probes; more wait in the backlog */
#define CONN_TIMEOUT_S 10u

struct flb_exporter {
	struct MHD_Daemon *mhd;
	struct flb_status *st;
	char pin_dir[PATH_MAX];
	/* Server thread only: */
	struct flb_maps *maps;       /* NULL until the pins exist */
	bool maps_warned;
	struct flb_vip_key *keys;    /* [FLB_MAX_VIPS] */
	struct flb_vip *vips;        /* [FLB_MAX_VIPS] */
	struct metrics_vip *mvips;   /* [FLB_MAX_VIPS] */
	struct metrics_backend *mbes; /* [FLB_MAX_BACKENDS] */
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

	if (!m || maps_read_reasons(m, s->reasons) || maps_read_events(m, s->events))
		return false;
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
	memcpy(dst->reconcile_buckets, src->reconcile_buckets, sizeof(dst->reconcile_buckets));
	dst->reconcile_count = src->reconcile_count;
	dst->reconcile_sum_s = src->reconcile_sum_s;
	dst->has_source = src->has_source;
	dst->source_up = src->source_up;
	dst->source_updates = src->source_updates;
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
	struct flb_status st;
	int err;

	s.maps_ok = collect_maps(e, &s);
	err = copy_status(e->st, &st);
	if (!err) {
		s.st = &st;
		err = metrics_render(&s, out);
	}
	free(st.vips);
	free(st.backends);
	return err;
}

/* ---- HTTP ---- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO; /* libmicrohttpd closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned int code, const char *body)
{
	return reply(c, code, "text/plain; charset=utf-8", (void *)body, strlen(body),
		     MHD_RESPMEM_PERSISTENT);
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
	return reply(c, MHD_HTTP_OK, CONTENT_TYPE_METRICS, out.data, out.len,
		     MHD_RESPMEM_MUST_FREE);
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

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	for (char *p = msg; *p; p++)
		if (*p == '"' || *p == '\n')
			*p = '\'';
	log_warn("libmicrohttpd", "detail=\"%s\"", msg);
}

/* ---- listen socket ---- */

/* "A.B.C.D:PORT", "[V6]:PORT" or ":PORT" (every address). */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t hlen;
	char *end;
	unsigned long port;

	memset(ss, 0, sizeof(*ss));
	if (!colon || !colon[1] || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (*end || errno || port > 65535)
		return -EINVAL;
	hlen = colon - s;
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = 0;
	if (!hlen || (hlen > 2 && host[0] == '[' && host[hlen - 1] == ']')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		if (hlen) {
			host[hlen - 1] = 0;
			if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
				return -EINVAL;
		}
		*len = sizeof(*a6);
		return hlen ? 0 : 1; /* 1: every address */
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons(port);
	if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
		return -EINVAL;
	*len = sizeof(*a4);
	return 0;
}

static int open_socket(int family, bool dual_stack)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1,
	    v6only = !dual_stack;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Returns a listening socket or -errno. */
static int listen_on(const char *listen_at, char *bound, size_t bound_len)
{
	struct sockaddr_storage ss, got;
	socklen_t len, got_len = sizeof(got);
	char a[INET6_ADDRSTRLEN] = "";
	int any, fd, err;

	any = parse_listen(listen_at, &ss, &len);
	if (any < 0)
		return log_err(-EINVAL, "metrics.listen is not ADDRESS:PORT, [ADDRESS]:PORT or :PORT",
			       "listen=\"%s\"", listen_at);
	fd = open_socket(ss.ss_family, any);
	if (fd == -EAFNOSUPPORT && any) {
		/* No IPv6 on this host: every IPv4 address then. */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		a4->sin_family = AF_INET;
		a4->sin_port = port;
		len = sizeof(*a4);
		fd = open_socket(AF_INET, false);
	}
	if (fd < 0)
		return log_err(fd, "cannot create the metrics socket", "err=\"%s\"", strerror(-fd));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&got, &got_len)) {
		err = -errno;
		close(fd);
		return log_err(err, "cannot listen for metrics", "listen=\"%s\" err=\"%s\"", listen_at,
			       strerror(-err));
	}
	if (got.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&got)->sin6_addr, a, sizeof(a));
		snprintf(bound, bound_len, "[%s]:%u", a, ntohs(((struct sockaddr_in6 *)&got)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&got)->sin_addr, a, sizeof(a));
		snprintf(bound, bound_len, "%s:%u", a, ntohs(((struct sockaddr_in *)&got)->sin_port));
	}
	return fd;
}

/* ---- start and stop ---- */

struct flb_exporter *exporter_start(const char *listen_at, const char *pin_dir,
				    struct flb_status *st)
{
	struct flb_exporter *e = calloc(1, sizeof(*e));
	char bound[INET6_ADDRSTRLEN + 16];
	sigset_t all, old;
	int fd, err = -ENOMEM;

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
	fd = listen_on(listen_at, bound, sizeof(bound));
	if (fd < 0) {
		err = fd;
		goto fail;
	}
	/* The server thread inherits this mask: signals stay with the main loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e->mhd = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				  handle, e, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				  MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				  MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!e->mhd) {
		close(fd);
		err = log_err(-EIO, "cannot start the metrics server", "listen=%s", bound);
		goto fail;
	}
	log_info("metrics exporter listening", "listen=%s pin_dir=%s", bound, e->pin_dir);
	return e;
fail:
	exporter_stop(e);
	errno = -err;
	return NULL;
}

void exporter_stop(struct flb_exporter *e)
{
	if (!e)
		return;
	if (e->mhd)
		MHD_stop_daemon(e->mhd); /* joins the thread, closes the listen socket */
	maps_close(e->maps);
	free(e->keys);
	free(e->vips);
	free(e->mvips);
	free(e->mbes);
	free(e);
}
