/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A minimal test harness in the style of the kernel's test_progs: each test is
 * a function declared with TEST(name), found at start-up by a constructor, and
 * run in order of declaration. Assertions return bool so a test can stop early:
 *
 *	if (!ASSERT_EQ(err, 0, "load"))
 *		return;
 *
 * Every test prints exactly one result line, "PASS <suite>/<name>",
 * "FAIL <suite>/<name>" or "SKIP <suite>/<name>: <why>", which tests/run.sh
 * counts. Filter with FLB_TEST=<substring>.
 */
#ifndef FLB_TEST_H
#define FLB_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*flb_test_fn)(void);

void flb_test_register(const char *name, flb_test_fn fn);
/* Marks the running test failed and prints where and why. Returns false. */
bool flb_test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Marks the running test skipped; the reason is printed on its result line. */
void flb_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Suite name printed before each test name; defaults to the program name. */
void flb_test_set_suite(const char *suite);

/* Optional per-suite hooks: setup returns 0 to run the tests, > 0 to skip
 * them all (why says why, e.g. "needs root"), < 0 to fail them all. */
int flb_test_setup(char *why, size_t len);
void flb_test_teardown(void);

#define TEST(name)                                                            \
	static void test_##name(void);                                        \
	__attribute__((constructor)) static void register_##name(void)       \
	{                                                                     \
		flb_test_register(#name, test_##name);                        \
	}                                                                     \
	static void test_##name(void)

#define ASSERT_TRUE(cond, what)                                               \
	((cond) ? true : flb_test_fail(__FILE__, __LINE__, "%s: expected true: %s", \
				       (what), #cond))

#define ASSERT_FALSE(cond, what)                                              \
	(!(cond) ? true : flb_test_fail(__FILE__, __LINE__, "%s: expected false: %s", \
					(what), #cond))

#define ASSERT_EQ(a, b, what)                                                 \
	({                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);           \
		_a == _b ? true                                               \
			 : flb_test_fail(__FILE__, __LINE__,                  \
					 "%s: %s == %lld, expected %s == %lld", \
					 (what), #a, _a, #b, _b);             \
	})

#define ASSERT_NE(a, b, what)                                                 \
	({                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);           \
		_a != _b ? true                                               \
			 : flb_test_fail(__FILE__, __LINE__,                  \
					 "%s: %s == %lld, expected != %s",    \
					 (what), #a, _a, #b);                 \
	})

#define ASSERT_LE(a, b, what)                                                 \
	({                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);           \
		_a <= _b ? true                                               \
			 : flb_test_fail(__FILE__, __LINE__,                  \
					 "%s: %s == %lld, expected <= %lld",  \
					 (what), #a, _a, _b);                 \
	})

#define ASSERT_GE(a, b, what)                                                 \
	({                                                                    \
		long long _a = (long long)(a), _b = (long long)(b);           \
		_a >= _b ? true                                               \
			 : flb_test_fail(__FILE__, __LINE__,                  \
					 "%s: %s == %lld, expected >= %lld",  \
					 (what), #a, _a, _b);                 \
	})

#define ASSERT_OK(err, what) ASSERT_EQ((err), 0, (what))

#define ASSERT_STREQ(a, b, what)                                              \
	({                                                                    \
		const char *_a = (a), *_b = (b);                              \
		(_a && _b && strcmp(_a, _b) == 0)                             \
			? true                                                \
			: flb_test_fail(__FILE__, __LINE__,                   \
					"%s: got \"%s\", expected \"%s\"",    \
					(what), _a ? _a : "(null)",           \
					_b ? _b : "(null)");                  \
	})

#define ASSERT_STRCONTAINS(hay, needle, what)                                 \
	({                                                                    \
		const char *_h = (hay), *_n = (needle);                       \
		(_h && _n && strstr(_h, _n))                                  \
			? true                                                \
			: flb_test_fail(__FILE__, __LINE__,                   \
					"%s: \"%s\" does not contain \"%s\"", \
					(what), _h ? _h : "(null)",           \
					_n ? _n : "(null)");                  \
	})

#define ASSERT_MEMEQ(a, b, len, what)                                         \
	({                                                                    \
		const void *_a = (a), *_b = (b);                              \
		size_t _l = (len);                                            \
		memcmp(_a, _b, _l) == 0                                       \
			? true                                                \
			: flb_test_fail(__FILE__, __LINE__,                   \
					"%s: %zu bytes differ at offset %zu", \
					(what), _l,                           \
					flb_test_first_diff(_a, _b, _l));     \
	})

size_t flb_test_first_diff(const void *a, const void *b, size_t len);

#endif
