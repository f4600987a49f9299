/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One logger for the daemon and the CLI: one line per event on stderr, in
 * logfmt (`ts=... level=info msg="..." key=value`) or JSON. libbpf's and
 * libxdp's messages are routed in one level lower than they say, so their
 * warnings (often harmless probes) do not look like ours.
 */
#ifndef FLB_LOG_H
#define FLB_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_setup(enum log_level level, bool json);
int log_parse_level(const char *s, enum log_level *out);

/* msg is a fixed text; the variadic part is "key=value ..." printf style,
 * and may be NULL. Values with spaces must be quoted by the caller with %q
 * semantics: use log_quote() for free text. */
void log_msg(enum log_level level, const char *msg, const char *kv_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free text (an error from a peer, a check's output, a library's message)
 * as one quoted logfmt value, quotes included: `"a \"b\" c"`. '"' and '\'
 * are escaped with a backslash, control characters become spaces; the text
 * is cut to fit len - 1 bytes (escapes are never split, the closing quote
 * is always there). NULL is "". Returns buf, for use as an argument:
 *   char q[256];
 *   log_warn("check failed", "output=%s", log_quote(q, sizeof(q), text));
 * len below 3 gives "". */
const char *log_quote(char *buf, size_t len, const char *s);

#define log_error(msg, ...) log_msg(LOG_ERROR, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_msg(LOG_WARN, msg, __VA_ARGS__)
#define log_info(msg, ...)  log_msg(LOG_INFO, msg, __VA_ARGS__)
#define log_debug(msg, ...) log_msg(LOG_DEBUG, msg, __VA_ARGS__)

/* Logs at error level and returns err (a -errno): `return log_err(err, ...)`. */
#define log_err(err, msg, ...) (log_msg(LOG_ERROR, msg, __VA_ARGS__), (err))

/* Whether a line of this level is written. */
bool log_enabled(enum log_level level);
/* Routes libbpf and libxdp output into log_msg (log_libs.c). */
void log_route_libs(void);

#endif
