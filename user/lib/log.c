// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Logger implementation (see log.h). Lines are built in one buffer and
 * written with one write(2), so lines from several threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum log_level max_level = LOG_INFO;
static bool as_json;
static const char *const names[] = { "error", "warn", "info", "debug" };

void log_setup(enum log_level level, bool json)
{
	max_level = level;
	as_json = json;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Appends s as a quoted string: " and \ escaped with a backslash, control
 * characters as spaces (a line stays one line). Stops before an escape
 * would not fit, so the closing quote always does. Both output formats
 * read the same escapes: logfmt as is, JSON through put_json_kv(). */
static size_t put_quoted(char *buf, size_t pos, size_t len, const char *s)
{
	if (pos < len)
		buf[pos++] = '"';
	for (; *s && pos + 2 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf[pos++] = '\\';
		buf[pos++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (pos < len)
		buf[pos++] = '"';
	return pos;
}

const char *log_quote(char *buf, size_t len, const char *s)
{
	size_t pos;

	if (len < 3) {
		if (len)
			buf[0] = 0;
		return buf;
	}
	pos = put_quoted(buf, 0, len - 1, s ? s : "");
	buf[pos] = 0;
	return buf;
}

/* kv is "a=1 b=\"x y\"": for JSON each pair becomes "a":"1". Values keep
 * their quotes when they have them. */
static size_t put_json_kv(char *buf, size_t pos, size_t len, const char *kv)
{
	const char *p = kv;

	while (*p && pos + 8 < len) {
		const char *eq = strchr(p, '=');
		char key[64], val[512];
		size_t vl = 0;

		if (!eq || eq - p >= (long)sizeof(key))
			break;
		memcpy(key, p, eq - p);
		key[eq - p] = 0;
		p = eq + 1;
		if (*p == '"') {
			for (p++; *p && *p != '"' && vl + 1 < sizeof(val); p++) {
				if (*p == '\\' && p[1])
					p++;
				val[vl++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ' ' && vl + 1 < sizeof(val))
				val[vl++] = *p++;
		}
		val[vl] = 0;
		while (*p == ' ')
			p++;
		pos += snprintf(buf + pos, len - pos, ",\"%s\":", key);
		if (pos < len)
			pos = put_quoted(buf, pos, len, val);
	}
	return pos;
}

void log_msg(enum log_level level, const char *msg, const char *kv_fmt, ...)
{
	char buf[2048], kv[1024] = "", ts[40];
	struct timespec now;
	struct tm tm;
	size_t pos;
	va_list ap;

	if (level > max_level)
		return;
	if (kv_fmt) {
		va_start(ap, kv_fmt);
		vsnprintf(kv, sizeof(kv), kv_fmt, ap);
		va_end(ap);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	pos = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + pos, sizeof(ts) - pos, ".%03ldZ", now.tv_nsec / 1000000);

	if (as_json) {
		pos = snprintf(buf, sizeof(buf), "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":", ts,
			       names[level]);
		pos = put_quoted(buf, pos, sizeof(buf), msg);
		pos = put_json_kv(buf, pos, sizeof(buf) - 2, kv);
		pos += snprintf(buf + pos, sizeof(buf) - pos, "}\n");
	} else {
		pos = snprintf(buf, sizeof(buf), "ts=%s level=%s msg=", ts, names[level]);
		pos = put_quoted(buf, pos, sizeof(buf), msg);
		pos += snprintf(buf + pos, sizeof(buf) - pos, "%s%s\n", *kv ? " " : "", kv);
	}
	if (pos >= sizeof(buf))
		pos = sizeof(buf) - 1, buf[pos - 1] = '\n';
	if (write(STDERR_FILENO, buf, pos) < 0)
		return;
}

bool log_enabled(enum log_level level)
{
	return level <= max_level;
}
