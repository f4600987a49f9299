/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One way to serve HTTP with libmicrohttpd, for fluxlbd's exporter and for
 * fluxlb-registry: the listen address (parsed once, opened here so the
 * bound address can be logged and ":0" works), the thread model, the
 * signal mask of the server threads, libmicrohttpd's own messages routed
 * into log.h, and queueing an answer. What each request means stays with
 * the caller's handler.
 */
#ifndef FLB_HTTP_SERVER_H
#define FLB_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "log.h"

/* Room for the bound address: "[" INET6_ADDRSTRLEN "]:65535". */
#define HTTP_ADDR_STRLEN 64

enum http_threads {
	HTTP_ONE_THREAD,            /* one internal polling thread calls the handler */
	HTTP_THREAD_PER_CONNECTION, /* a handler may block its own connection */
};

struct http_server_cfg {
	const char *name;        /* in log lines: "metrics", "registry" */
	const char *listen;      /* see http_parse_listen() */
	enum http_threads threads;
	unsigned max_connections;
	unsigned timeout_s;      /* idle connections are closed after this */
	MHD_AccessHandlerCallback handler;
	void *handler_ctx;
	MHD_RequestCompletedCallback completed; /* may be NULL; gets handler_ctx */
	enum log_level mhd_log_level;           /* libmicrohttpd's own messages */
};

struct http_server;

/* "A.B.C.D:PORT", "[V6]:PORT" or ":PORT" (every address: IPv6 and IPv4
 * where the host has IPv6). Addresses are literals, PORT 0..65535 in
 * digits. Returns 0 or -EINVAL; *any is true for ":PORT". */
int http_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *any);

/* Opens the listen socket (":PORT" falls back to IPv4 on a host without
 * IPv6) and starts libmicrohttpd; its threads block every signal, which
 * stay with the caller's main loop. Logs "<name> listening listen=<bound
 * address>", or the failure. NULL with errno set on failure. */
struct http_server *http_server_start(const struct http_server_cfg *cfg);
/* The address actually bound ("127.0.0.1:9100", "[::]:43117"). */
const char *http_server_address(const struct http_server *s);
/* Stops the server, waiting for its threads; NULL is fine. */
void http_server_stop(struct http_server *s);

/* Queues one answer with Content-Type type and the extra headers (NULL, or
 * name, value, ..., NULL). body is len bytes handed over as mode says
 * (MHD_RESPMEM_PERSISTENT, _MUST_COPY, or _MUST_FREE: freed even when the
 * answer cannot be made). Returns what the access handler returns. */
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned code, const char *type,
			   void *body, size_t len, enum MHD_ResponseMemoryMode mode,
			   const char *const *headers);

#endif
