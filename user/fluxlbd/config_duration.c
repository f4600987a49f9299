// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Durations in the configuration: the YAML side (a scalar, a range, the
 * error message) of lib/duration.c's DURATION_CONFIG grammar.
 */
#include <stdio.h>

#include "config_parse.h"
#include "duration.h"

/* The shortest way to write ms with one unit: 168h, 90s, 500ms. */
static const char *fmt_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms && !(ms % 3600000))
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
	else if (ms && !(ms % 60000))
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else if (ms && !(ms % 1000))
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	return buf;
}

int config_parse_duration(struct yw_ctx *ctx, yaml_node_t *node, uint64_t min_ms,
			  uint64_t max_ms, uint32_t *out_ms)
{
	char lo[24], hi[24];
	const char *s;
	uint64_t ms;
	int err = yw_str(ctx, node, &s);

	if (err)
		return err;
	if (duration_parse_ms(s, DURATION_CONFIG, &ms))
		return yw_err(ctx, node, "\"%s\" is not a duration (like 500ms, 30s, 5m, 1h)", s);
	if (ms < min_ms || ms > max_ms)
		return yw_err(ctx, node, "%s is out of range %s..%s", s, fmt_ms(min_ms, lo, sizeof(lo)),
			      fmt_ms(max_ms, hi, sizeof(hi)));
	*out_ms = (uint32_t)ms;
	return 0;
}
