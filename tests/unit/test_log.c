// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* log_quote(): free text as one quoted logfmt value. What log_msg() writes
 * around it (timestamps, stderr) is not tested here. */
#include <string.h>

#include "flb_test.h"
#include "log.h"

TEST(quotes_and_escapes)
{
	char q[64];

	ASSERT_STREQ(log_quote(q, sizeof(q), "plain"), "\"plain\"", "plain");
	ASSERT_STREQ(log_quote(q, sizeof(q), "a \"b\" c"), "\"a \\\"b\\\" c\"", "quotes");
	ASSERT_STREQ(log_quote(q, sizeof(q), "C:\\x"), "\"C:\\\\x\"", "backslash");
	ASSERT_STREQ(log_quote(q, sizeof(q), "one\ntwo\tthree\r"), "\"one two three \"",
		     "control characters become spaces");
	ASSERT_STREQ(log_quote(q, sizeof(q), "h\xc3\xa9"), "\"h\xc3\xa9\"", "UTF-8 kept");
	ASSERT_STREQ(log_quote(q, sizeof(q), ""), "\"\"", "empty");
	ASSERT_STREQ(log_quote(q, sizeof(q), NULL), "\"\"", "NULL");
}

TEST(cut_to_fit_and_always_closed)
{
	char q[8];

	ASSERT_STREQ(log_quote(q, sizeof(q), "abcdefghij"), "\"abcd\"", "cut");
	/* an escape that does not fit whole is left out */
	ASSERT_STREQ(log_quote(q, sizeof(q), "abc\"def"), "\"abc\\\"\"", "escape fits");
	ASSERT_STREQ(log_quote(q, sizeof(q), "abcd\"ef"), "\"abcd\"", "escape not split");
	ASSERT_STREQ(log_quote(q, 3, "abc"), "\"\"", "room for the quotes only");
	ASSERT_STREQ(log_quote(q, 2, "abc"), "", "too small");
}
