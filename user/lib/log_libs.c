// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libbpf's and libxdp's messages, routed into the logger one level down
 * (their warnings are our info). Apart from log.c so that a program that
 * links neither library (fluxlb-registry) can log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

/* libbpf/libxdp hand us printf fragments ending in a newline. */
static void lib_line(enum log_level level, const char *lib, const char *fmt, va_list ap)
{
	char text[1024];
	size_t n;

	vsnprintf(text, sizeof(text), fmt, ap);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = 0;
	/* log_msg() quotes msg itself (log_quote()'s escapes). */
	log_msg(level, text, "lib=%s", lib);
}

static int libbpf_print(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	enum log_level level = l == LIBBPF_WARN ? LOG_INFO : LOG_DEBUG;

	if (log_enabled(level))
		lib_line(level, "libbpf", fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level l, const char *fmt, va_list ap)
{
	enum log_level level = l == LIBXDP_WARN ? LOG_INFO : LOG_DEBUG;

	if (log_enabled(level))
		lib_line(level, "libxdp", fmt, ap);
	return 0;
}

void log_route_libs(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
