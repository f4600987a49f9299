/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Numbers as operators read them: counts and rates with SI suffixes
 * (1.2k, 3.4M, 5.6G), bytes with IEC ones (1.2Ki, 3.4Mi), three
 * significant digits; exact integers when human is false.
 */
#ifndef FLB_CLI_UNITS_H
#define FLB_CLI_UNITS_H

#include <stdbool.h>
#include <stddef.h>

const char *cli_fmt_count(double v, bool human, char *buf, size_t len);
const char *cli_fmt_bytes(double v, bool human, char *buf, size_t len);

#endif
