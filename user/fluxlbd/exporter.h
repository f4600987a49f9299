/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon's HTTP endpoints, served by libmicrohttpd on its own thread:
 *
 *   GET /metrics  Prometheus text format 0.0.4 (families: docs/observability.md, "Metrics")
 *   GET /health   200 "ok" while the process lives
 *   GET /ready    200 once st->ready is set, else 503
 *
 * Anything else is 404; methods other than GET (and HEAD, which HTTP
 * requires alongside GET) are 405. The exporter only reads: it opens the
 * pinned maps itself, and copies the status under its lock.
 */
#ifndef FLB_EXPORTER_H
#define FLB_EXPORTER_H

#include <stddef.h>

#include "metrics.h"
#include "status.h"

struct flb_exporter;

/* Starts an HTTP server (lib/http_server.h, one internal polling thread) on
 * listen: "127.0.0.1:9100", "[::1]:9100", or ":9100" for every address
 * (IPv6 and IPv4); numeric addresses only, port 0 picks a free one (logged).
 * pin_dir is the maps' pin folder (<bpffs>/v1): the exporter opens the
 * pinned maps itself with maps_open_pinned(), lazily, retrying on each
 * scrape until they exist. st is the daemon's status (locked while copied).
 * The server thread blocks every signal. Returns NULL with errno set and a
 * log line on failure. */
struct flb_exporter *exporter_start(const char *listen, const char *pin_dir,
				    struct flb_status *st);
/* The node label of every sample ("" or NULL: none); set before scrapes
 * start or between them (the string is copied). */
void exporter_set_node(struct flb_exporter *e, const char *node);

/* Stops the server (waits for its thread) and frees everything; NULL is fine. */
void exporter_stop(struct flb_exporter *e);

#endif
