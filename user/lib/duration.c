// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Duration parsing (see duration.h). */
#include <errno.h>
#include <string.h>

#include "duration.h"

static const struct {
	const char *name;
	uint64_t ms;
} units[] = { { "h", 3600000 }, { "ms", 1 }, { "m", 60000 }, { "s", 1000 } };

/* Units must appear largest first: the rank orders them. */
static int rank(uint64_t ms)
{
	return ms == 3600000 ? 0 : ms == 60000 ? 1 : ms == 1000 ? 2 : 3;
}

int duration_parse_ms(const char *s, uint64_t *ms)
{
	uint64_t total = 0;
	int last = -1;

	if (!s || !*s)
		return -EINVAL;
	while (*s) {
		uint64_t n = 0, unit = 0;
		size_t len = 0;

		if (*s < '0' || *s > '9')
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > (UINT64_MAX - 9) / 10)
				return -ERANGE;
			n = n * 10 + (uint64_t)(*s - '0');
		}
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			len = strlen(units[i].name);
			if (!strncmp(s, units[i].name, len) && (s[len] < 'a' || s[len] > 'z')) {
				unit = units[i].ms;
				break;
			}
		}
		if (!unit || rank(unit) <= last)
			return -EINVAL;
		last = rank(unit);
		if (n > (UINT64_MAX - total) / unit)
			return -ERANGE;
		total += n * unit;
		s += len;
	}
	*ms = total;
	return 0;
}
