// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Human units (see cli_units.h). */
#include <stdio.h>

#include "cli_units.h"

static const char *fmt(double v, bool human, double base, const char *const *suffix,
		       char *buf, size_t len)
{
	int k = 0;

	if (!human || v < base) {
		/* Rates are fractional; counts print as integers. */
		if (v != (double)(long long)v && v < 100)
			snprintf(buf, len, "%.1f", v);
		else
			snprintf(buf, len, "%.0f", v);
		return buf;
	}
	while (v >= base && suffix[k + 1]) {
		v /= base;
		k++;
	}
	snprintf(buf, len, v < 10 ? "%.2f%s" : v < 100 ? "%.1f%s" : "%.0f%s", v, suffix[k]);
	return buf;
}

const char *cli_fmt_count(double v, bool human, char *buf, size_t len)
{
	static const char *const si[] = { "", "k", "M", "G", "T", "P", NULL };

	return fmt(v, human, 1000, si, buf, len);
}

const char *cli_fmt_bytes(double v, bool human, char *buf, size_t len)
{
	static const char *const iec[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", NULL };

	return fmt(v, human, 1024, iec, buf, len);
}
