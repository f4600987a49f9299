// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The libmicrohttpd wrapper (see http_server.h). The listen socket is ours,
 * handed over with MHD_OPTION_LISTEN_SOCKET: so the dual-stack choice, the
 * IPv4 fall-back and the address reported are decided in one place.
 * libmicrohttpd closes the socket when it stops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_server.h"

struct http_server {
	struct MHD_Daemon *mhd;
	const char *name;
	enum log_level mhd_log_level;
	char bound[HTTP_ADDR_STRLEN];
};

int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *any)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *p;
	unsigned long port = 0;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	*any = false;
	if (!s)
		return -EINVAL;
	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return -EINVAL;
		hl = (size_t)(rb - s - 1);
		if (!hl || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hl);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, hl);
	}
	host[hl] = 0;
	if (!colon[1] || strlen(colon + 1) > 5)
		return -EINVAL;
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (port > 65535)
		return -EINVAL;
	if (*s == '[' || !host[0]) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (host[0] && inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		*any = !host[0];
		*len = sizeof(*a6);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
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

static void format_bound(const struct sockaddr_storage *got, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (got->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)got;

		inet_ntop(AF_INET6, &a6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(a6->sin6_port));
	} else {
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)got;

		inet_ntop(AF_INET, &a4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(a4->sin_port));
	}
}

/* A listening socket or -errno (logged); the bound address into s->bound. */
static int listen_on(struct http_server *s, const char *listen_at)
{
	struct sockaddr_storage ss, got;
	socklen_t len, got_len = sizeof(got);
	bool any;
	int fd, err;
	char q[128];

	if (http_parse_listen(listen_at, &ss, &len, &any))
		return log_err(-EINVAL, "listen address is not ADDRESS:PORT, [ADDRESS]:PORT or :PORT",
			       "server=%s listen=%s", s->name, log_quote(q, sizeof(q), listen_at));
	fd = open_socket(ss.ss_family, any);
	if (fd == -EAFNOSUPPORT && any) {
		/* No IPv6 on this host: every IPv4 address then. */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
		uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;

		memset(&ss, 0, sizeof(ss));
		a4->sin_family = AF_INET;
		a4->sin_addr.s_addr = htonl(INADDR_ANY);
		a4->sin_port = port;
		len = sizeof(*a4);
		fd = open_socket(AF_INET, false);
	}
	if (fd < 0)
		return log_err(fd, "cannot create a listen socket", "server=%s err=\"%s\"", s->name,
			       strerror(-fd));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&got, &got_len)) {
		err = -errno;
		close(fd);
		return log_err(err, "cannot listen", "server=%s listen=%s err=\"%s\"", s->name,
			       log_quote(q, sizeof(q), listen_at), strerror(-err));
	}
	format_bound(&got, s->bound, sizeof(s->bound));
	return fd;
}

/* libmicrohttpd's messages: one log line each, at the level the server chose. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct http_server *s = cls;
	char msg[256], q[300];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	log_msg(s->mhd_log_level, "libmicrohttpd", "server=%s detail=%s", s->name,
		log_quote(q, sizeof(q), msg));
}

struct http_server *http_server_start(const struct http_server_cfg *cfg)
{
	struct http_server *s = calloc(1, sizeof(*s));
	unsigned flags = MHD_USE_ERROR_LOG;
	sigset_t all, old;
	int fd;

	if (!s)
		return NULL;
	s->name = cfg->name;
	s->mhd_log_level = cfg->mhd_log_level;
	fd = listen_on(s, cfg->listen);
	if (fd < 0) {
		free(s);
		errno = -fd;
		return NULL;
	}
	if (cfg->threads == HTTP_THREAD_PER_CONNECTION)
		flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
	else
		flags |= MHD_USE_AUTO_INTERNAL_THREAD;
	/* The server threads inherit this mask: signals stay with the caller. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, cfg->handler, cfg->handler_ctx,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_NOTIFY_COMPLETED, cfg->completed, cfg->handler_ctx,
				  MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
				  MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
				  MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!s->mhd) {
		close(fd);
		log_error("cannot start the HTTP server", "server=%s listen=%s", s->name, s->bound);
		free(s);
		errno = EIO;
		return NULL;
	}
	log_info("listening", "server=%s listen=%s", s->name, s->bound);
	return s;
}

const char *http_server_address(const struct http_server *s)
{
	return s->bound;
}

void http_server_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd); /* joins the threads, closes the listen socket */
	free(s);
}

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned code, const char *type,
			   void *body, size_t len, enum MHD_ResponseMemoryMode mode,
			   const char *const *headers)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO; /* libmicrohttpd closes the connection */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
		MHD_add_response_header(r, headers[i], headers[i + 1]);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}
