/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Durations as operators write them: a sequence of <integer><unit> with
 * units h, m, s, ms, in that order, e.g. "500ms", "30s", "1h", "1h30m".
 */
#ifndef FLB_DURATION_H
#define FLB_DURATION_H

#include <stdint.h>

/* Parses s into milliseconds. Returns 0, or -EINVAL (no unit, unknown
 * unit, units out of order or repeated, empty) or -ERANGE (overflow). */
int duration_parse_ms(const char *s, uint64_t *ms);

#endif
