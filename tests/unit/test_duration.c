// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The duration parser in both grammars: the configuration's and Go's (Consul). */
#include <errno.h>

#include "duration.h"
#include "flb_test.h"

TEST(valid_durations)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} cases[] = {
		{ "500ms", 500 }, { "10s", 10000 }, { "1m", 60000 }, { "1h", 3600000 },
		{ "1h30m", 5400000 }, { "2m5s", 125000 }, { "1s500ms", 1500 }, { "0s", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 1;

		ASSERT_OK(duration_parse_ms(cases[i].s, DURATION_CONFIG, &ms), cases[i].s);
		ASSERT_EQ(ms, cases[i].ms, cases[i].s);
	}
}

TEST(invalid_durations)
{
	static const char *const bad[] = {
		"", "10", "s", "1x", "1d", "-1s", "1.5s", " 1s", "1s ", "30s1m", "1s1s", "1mss", "1 s",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t ms;

		ASSERT_EQ(duration_parse_ms(bad[i], DURATION_CONFIG, &ms), -EINVAL, bad[i]);
	}
}

TEST(overflow_is_range_error)
{
	uint64_t ms;

	ASSERT_EQ(duration_parse_ms("99999999999999999999h", DURATION_CONFIG, &ms), -ERANGE, "digits overflow");
	ASSERT_EQ(duration_parse_ms("9999999999999999h", DURATION_CONFIG, &ms), -ERANGE, "unit overflow");
}

TEST(go_durations)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t ms;
	} cases[] = {
		{ "10s", 0, 10000 }, { "1s", 0, 1000 }, { "500ms", 0, 500 }, { "1.5s", 0, 1500 },
		{ "1m30s", 0, 90000 }, { "2h", 0, 7200000 }, { "1h1m1s1ms", 0, 3661001 },
		{ ".5s", 0, 500 }, { "1.s", 0, 1000 }, { "0", 0, 0 }, { "+3s", 0, 3000 },
		{ "1500us", 0, 1 }, { "1500\xc2\xb5s", 0, 1 }, { "999999ns", 0, 0 },
		{ "30s1m", 0, 90000 }, /* Go accepts any order */
		{ "", -EINVAL, 0 }, { "10", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "1d", -EINVAL, 0 },
		{ "-1s", -EINVAL, 0 }, { ".s", -EINVAL, 0 }, { "1 s", -EINVAL, 0 },
		{ "1s ", -EINVAL, 0 }, { "1e3s", -EINVAL, 0 },
		{ "9999999999999h", -ERANGE, 0 }, { "99999999999999999999s", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int rc = duration_parse_ms(cases[i].s, DURATION_GO, &ms);

		ASSERT_EQ(rc, cases[i].rc, cases[i].s);
		if (!rc)
			ASSERT_EQ(ms, cases[i].ms, cases[i].s);
	}
}

/* The same text under both grammars: what only Go accepts, and where the
 * CONFIG limit (UINT64_MAX ms) lies beyond Go's (INT64_MAX ns). */
TEST(grammars_differ_only_where_documented)
{
	uint64_t ms = 0;

	ASSERT_EQ(duration_parse_ms("1500us", DURATION_CONFIG, &ms), -EINVAL, "us is Go only");
	ASSERT_EQ(duration_parse_ms("0", DURATION_CONFIG, &ms), -EINVAL, "bare 0 is Go only");
	ASSERT_EQ(duration_parse_ms("+3s", DURATION_CONFIG, &ms), -EINVAL, "+ is Go only");
	ASSERT_OK(duration_parse_ms("1h30m", DURATION_GO, &ms), "1h30m under Go");
	ASSERT_EQ(ms, 5400000, "1h30m under Go");
	ASSERT_OK(duration_parse_ms("3000h", DURATION_CONFIG, &ms), "3000h under CONFIG");
	ASSERT_EQ(ms, 3000ull * 3600000, "3000h under CONFIG");
	ASSERT_EQ(duration_parse_ms("3000000h", DURATION_GO, &ms), -ERANGE, "beyond INT64_MAX ns");
	ASSERT_OK(duration_parse_ms("3000000h", DURATION_CONFIG, &ms), "within UINT64_MAX ms");
	ASSERT_OK(duration_parse_ms("500us500us", DURATION_GO, &ms), "fractions of ms add up");
	ASSERT_EQ(ms, 1, "fractions of ms add up");
	ASSERT_OK(duration_parse_ms("0.1s", DURATION_GO, &ms), "decimal fraction exact");
	ASSERT_EQ(ms, 100, "decimal fraction exact");
}
