// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Duration parsing (see duration.h). Terms are summed in nanoseconds in 128
 * bits, so both grammars share one loop and one overflow rule: an integer
 * part below 2^64 times a unit below 2^42 always fits, and the only limit
 * checked is the grammar's own.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "duration.h"

typedef unsigned __int128 u128;

#define NS_PER_MS 1000000ull

static const struct {
	const char *name;
	uint64_t ns;
	bool go_only;
} units[] = {
	{ "h", 3600000000000ull, false }, { "m", 60000000000ull, false },
	{ "s", 1000000000ull, false },    { "ms", 1000000ull, false },
	{ "us", 1000, true },             { "\xc2\xb5s", 1000, true }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000, true },      /* U+03BC Greek mu */
	{ "ns", 1, true },
};
#define N_UNITS (sizeof(units) / sizeof(units[0]))

/* The longest unit name at s ("ms" must win over "m"): its index, or -1. */
static int match_unit(const char *s, enum duration_syntax syntax)
{
	size_t best_len = 0;
	int best = -1;

	for (size_t i = 0; i < N_UNITS; i++) {
		size_t l = strlen(units[i].name);

		if (units[i].go_only && syntax != DURATION_GO)
			continue;
		if (!strncmp(s, units[i].name, l) && l > best_len) {
			best_len = l;
			best = (int)i;
		}
	}
	return best;
}

int duration_parse_ms(const char *s, enum duration_syntax syntax, uint64_t *ms)
{
	const bool go = syntax == DURATION_GO;
	/* CONFIG: any total whose milliseconds fit in 64 bits. */
	const u128 max_ns = go ? (u128)INT64_MAX : (u128)UINT64_MAX * NS_PER_MS;
	u128 total = 0;
	int last = -1;

	if (!s || !*s)
		return -EINVAL;
	if (go && *s == '+')
		s++;
	if (go && !strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t whole = 0, frac = 0, scale = 1;
		bool digits = false;
		int u;

		for (; *s >= '0' && *s <= '9'; s++) {
			if (whole > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			whole = whole * 10 + (uint64_t)(*s - '0');
			digits = true;
		}
		if (go && *s == '.') {
			for (s++; *s >= '0' && *s <= '9'; s++) {
				digits = true;
				/* more than 18 fraction digits add nothing measurable */
				if (scale < 1000000000000000000ull) {
					frac = frac * 10 + (uint64_t)(*s - '0');
					scale *= 10;
				}
			}
		}
		if (!digits)
			return -EINVAL;
		u = match_unit(s, syntax);
		/* CONFIG: units strictly largest first (the table's order). */
		if (u < 0 || (!go && u <= last))
			return -EINVAL;
		last = u;
		s += strlen(units[u].name);
		/* whole < 2^64, unit < 2^42; frac < scale <= 10^18 < 2^60 */
		total += (u128)whole * units[u].ns + (u128)frac * units[u].ns / scale;
		if (total > max_ns)
			return -ERANGE;
	}
	*ms = (uint64_t)(total / NS_PER_MS);
	return 0;
}
