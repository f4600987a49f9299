// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Duration parsing as operators write it in the configuration. */
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

		ASSERT_OK(duration_parse_ms(cases[i].s, &ms), cases[i].s);
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

		ASSERT_EQ(duration_parse_ms(bad[i], &ms), -EINVAL, bad[i]);
	}
}

TEST(overflow_is_range_error)
{
	uint64_t ms;

	ASSERT_EQ(duration_parse_ms("99999999999999999999h", &ms), -ERANGE, "digits overflow");
	ASSERT_EQ(duration_parse_ms("9999999999999999h", &ms), -ERANGE, "unit overflow");
}
