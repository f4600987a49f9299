// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Text-or-JSON output of the CLI (see cli_out.h). One open_memstream buffer;
 * a small stack remembers, per open container, whether a comma is due.
 * Strings are escaped per RFC 8259; doubles print with 3 decimals (they are
 * seconds: millisecond precision), non-finite ones as null.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_out.h"

#define MAX_DEPTH 16

static struct {
	bool json;
	FILE *f;
	char *buf;
	size_t len;
	int depth;
	bool need_comma[MAX_DEPTH];
} o;

void cli_out_begin(bool json)
{
	o.json = json;
	o.depth = 0;
	o.need_comma[0] = false;
	o.f = open_memstream(&o.buf, &o.len);
	if (!o.f) /* no memory for a buffer: unbuffered then */
		o.f = stdout;
}

bool cli_out_json(void)
{
	return o.json;
}

static void close_buffer(bool write)
{
	if (!o.f || o.f == stdout) {
		o.f = NULL;
		return;
	}
	fclose(o.f);
	if (write && o.len)
		fwrite(o.buf, 1, o.len, stdout);
	free(o.buf);
	o.buf = NULL;
	o.len = 0;
	o.f = NULL;
}

int cli_out_end(void)
{
	if (o.json)
		fputc('\n', o.f ? o.f : stdout);
	close_buffer(true);
	return fflush(stdout) ? -errno : 0;
}

void cli_out_discard(void)
{
	close_buffer(false);
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Comma and "key": before a JSON value. */
static void json_key(const char *key)
{
	if (o.need_comma[o.depth])
		fputc(',', o.f);
	o.need_comma[o.depth] = true;
	if (key) {
		cli_json_string(o.f, key);
		fputc(':', o.f);
	}
}

static void open_container(const char *key, char c)
{
	if (!o.json)
		return;
	json_key(key);
	fputc(c, o.f);
	if (o.depth + 1 < MAX_DEPTH)
		o.depth++;
	o.need_comma[o.depth] = false;
}

static void close_container(char c)
{
	if (!o.json)
		return;
	fputc(c, o.f);
	if (o.depth > 0)
		o.depth--;
}

void cli_obj_open(const char *key)
{
	open_container(key, '{');
}

void cli_obj_close(void)
{
	close_container('}');
}

void cli_arr_open(const char *key)
{
	open_container(key, '[');
}

void cli_arr_close(void)
{
	close_container(']');
}

void cli_str(const char *key, const char *fmt, const char *v)
{
	if (o.json) {
		json_key(key);
		if (v)
			cli_json_string(o.f, v);
		else
			fputs("null", o.f);
	} else if (fmt) {
		fprintf(o.f, fmt, v ? v : "-");
	}
}

void cli_u64(const char *key, const char *fmt, uint64_t v)
{
	if (o.json) {
		json_key(key);
		fprintf(o.f, "%llu", (unsigned long long)v);
	} else if (fmt) {
		fprintf(o.f, fmt, (unsigned long long)v);
	}
}

void cli_i64(const char *key, const char *fmt, int64_t v)
{
	if (o.json) {
		json_key(key);
		fprintf(o.f, "%lld", (long long)v);
	} else if (fmt) {
		fprintf(o.f, fmt, (long long)v);
	}
}

void cli_dbl(const char *key, const char *fmt, double v)
{
	if (o.json) {
		json_key(key);
		if (isfinite(v))
			fprintf(o.f, "%.3f", v);
		else
			fputs("null", o.f);
	} else if (fmt) {
		fprintf(o.f, fmt, v);
	}
}

void cli_bool(const char *key, const char *fmt, bool v)
{
	if (o.json) {
		json_key(key);
		fputs(v ? "true" : "false", o.f);
	} else if (fmt) {
		fprintf(o.f, fmt, v ? "yes" : "no");
	}
}

void cli_text(const char *fmt, ...)
{
	va_list ap;

	if (o.json)
		return;
	va_start(ap, fmt);
	vfprintf(o.f, fmt, ap);
	va_end(ap);
}
