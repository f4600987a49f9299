/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The CLI's output, text or JSON from the same calls (iproute2's
 * print_*(PRINT_ANY, key, fmt, value) pattern): each field is one call that
 * prints `fmt` with the value in text mode and `"key": value` in JSON mode,
 * so the two views never drift apart. Output is buffered until cli_out_end(),
 * so a command that fails half-way prints only its error (JSON on stdout
 * with -j, a line on stderr otherwise).
 */
#ifndef FLB_CLI_OUT_H
#define FLB_CLI_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

void cli_out_begin(bool json);
bool cli_out_json(void);
/* Writes the buffered output to stdout. Returns 0 or -errno. */
int cli_out_end(void);
/* Drops what was buffered (before printing an error). */
void cli_out_discard(void);

/* Containers: JSON only (text mode prints nothing). key is NULL inside an
 * array and for the outermost object. */
void cli_obj_open(const char *key);
void cli_obj_close(void);
void cli_arr_open(const char *key);
void cli_arr_close(void);

/* Fields. fmt is printf-style for the text view (one conversion for the
 * value), NULL to leave the field out of the text view. */
void cli_str(const char *key, const char *fmt, const char *v);    /* v NULL: null, text "-" */
void cli_u64(const char *key, const char *fmt, uint64_t v);       /* fmt takes unsigned long long */
void cli_i64(const char *key, const char *fmt, int64_t v);        /* fmt takes long long */
void cli_dbl(const char *key, const char *fmt, double v);         /* JSON: 3 decimals */
void cli_bool(const char *key, const char *fmt, bool v);          /* text: "yes"/"no" for %s */
/* Text view only. */
void cli_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes s as a JSON string (RFC 8259 escaping) to f. */
void cli_json_string(FILE *f, const char *s);

#endif
