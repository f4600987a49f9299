/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Durations into milliseconds: one parser, two grammars.
 *
 *   DURATION_CONFIG  as operators write them in fluxlbd's configuration:
 *                    <integer><unit> terms with units h, m, s, ms, largest
 *                    first and none repeated: "500ms", "30s", "1h30m".
 *   DURATION_GO      Go's time.ParseDuration without negatives, as Consul
 *                    clients send them: also fractions ("1.5s", ".5s"),
 *                    units ns, us and µs, terms in any order ("30s1m"), a
 *                    leading '+', and a bare "0". The total is capped at
 *                    Go's limit (INT64_MAX ns, about 292 years); fractions
 *                    below 1 ms are truncated from the total.
 *
 * Neither grammar allows spaces, signs other than Go's '+', or exponents.
 */
#ifndef FLB_DURATION_H
#define FLB_DURATION_H

#include <stdint.h>

enum duration_syntax { DURATION_CONFIG, DURATION_GO };

/* Parses s into milliseconds. Returns 0, or -EINVAL (empty, a term without
 * digits or unit, an unknown unit, units out of order or repeated where
 * the grammar forbids it) or -ERANGE (beyond UINT64_MAX ms for CONFIG,
 * beyond INT64_MAX ns for GO). */
int duration_parse_ms(const char *s, enum duration_syntax syntax, uint64_t *ms);

#endif
