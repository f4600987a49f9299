// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Runner for tests declared with TEST() (see flb_test.h). Prints one result
 * line per test and exits non-zero when any test failed.
 */
#include <stdarg.h>
#include <stdlib.h>

#include "flb_test.h"

#define MAX_TESTS 512

static struct {
	const char *name;
	flb_test_fn fn;
} tests[MAX_TESTS];
static int n_tests;
static const char *suite;
static bool failed, skipped;
static char skip_reason[256];

void flb_test_register(const char *name, flb_test_fn fn)
{
	if (n_tests == MAX_TESTS) {
		fprintf(stderr, "flb_test: more than %d tests\n", MAX_TESTS);
		abort();
	}
	tests[n_tests].name = name;
	tests[n_tests].fn = fn;
	n_tests++;
}

void flb_test_set_suite(const char *s)
{
	suite = s;
}

bool flb_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	failed = true;
	fprintf(stdout, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return false;
}

void flb_test_skip(const char *fmt, ...)
{
	va_list ap;

	skipped = true;
	va_start(ap, fmt);
	vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
}

size_t flb_test_first_diff(const void *a, const void *b, size_t len)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < len && x[i] == y[i]; i++)
		;
	return i;
}

/* Suites that need an environment (privileges, a netns) override these. */
__attribute__((weak)) int flb_test_setup(char *why, size_t len)
{
	(void)why, (void)len;
	return 0;
}

__attribute__((weak)) void flb_test_teardown(void)
{
}

int main(int argc, char **argv)
{
	const char *filter = getenv("FLB_TEST");
	char why[256] = "";
	int n_failed = 0, rc;

	(void)argc;
	if (!suite) {
		suite = strrchr(argv[0], '/');
		suite = suite ? suite + 1 : argv[0];
	}
	rc = flb_test_setup(why, sizeof(why));
	if (rc) {
		/* Every test gets its line, so the counts stay honest. */
		for (int i = 0; i < n_tests; i++)
			printf("%s %s/%s: %s\n", rc > 0 ? "SKIP" : "FAIL", suite, tests[i].name,
			       why);
		return rc > 0 ? 0 : 1;
	}
	for (int i = 0; i < n_tests; i++) {
		if (filter && !strstr(tests[i].name, filter))
			continue;
		failed = skipped = false;
		tests[i].fn();
		if (failed) {
			printf("FAIL %s/%s\n", suite, tests[i].name);
			n_failed++;
		} else if (skipped) {
			printf("SKIP %s/%s: %s\n", suite, tests[i].name, skip_reason);
		} else {
			printf("PASS %s/%s\n", suite, tests[i].name);
		}
		fflush(stdout);
	}
	flb_test_teardown();
	return n_failed ? 1 : 0;
}
