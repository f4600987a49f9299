// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The conntrack life rule (include/flb_ct.h) that the balancer, the daemon's
 * drain count and the CLI share: an open entry lives the protocol's timeout
 * after its last packet, a closing one the close grace (or the timeout when
 * shorter), timeout 0 is forever for open entries only, and a last_seen
 * newer than the reader's now is not idle. The balancer's use of it is
 * checked in tests/bpf.
 */
#include <stdint.h>

#include "flb_ct.h"
#include "flb_test.h"

#define S 1000000000ULL

static const struct flb_ctl ctl = { .tcp_timeout_s = 3600, .udp_timeout_s = 30 };
static const uint64_t now = 100000 * S;

static int expired(uint32_t flags, uint8_t proto, uint64_t idle_ns, const struct flb_ctl *c)
{
	struct flb_ct ct = { .backend = 1, .last_seen = now - idle_ns, .flags = flags };

	return flb_ct_expired(&ct, proto, c, now);
}

TEST(open_entries_live_their_protocols_timeout)
{
	ASSERT_EQ(expired(0, 6, 3600 * S, &ctl), 0, "TCP at the timeout");
	ASSERT_EQ(expired(0, 6, 3600 * S + 1, &ctl), 1, "TCP past it");
	ASSERT_EQ(expired(0, 17, 30 * S + 1, &ctl), 1, "UDP past its own");
	ASSERT_EQ(expired(0, 17, 29 * S, &ctl), 0, "UDP within");
}

TEST(closing_entries_live_the_grace_after_their_last_packet)
{
	ASSERT_EQ(expired(FLB_CT_CLOSING, 6, FLB_CT_CLOSE_GRACE_S * S, &ctl), 0, "at the grace");
	ASSERT_EQ(expired(FLB_CT_CLOSING, 6, FLB_CT_CLOSE_GRACE_S * S + 1, &ctl), 1, "past it");
	ASSERT_EQ(expired(0, 6, FLB_CT_CLOSE_GRACE_S * S + 1, &ctl), 0, "an open one lives on");
}

TEST(timeout_shorter_than_grace_or_none)
{
	struct flb_ctl short_tmo = { .tcp_timeout_s = 5 }, none = {};

	ASSERT_EQ(expired(FLB_CT_CLOSING, 6, 6 * S, &short_tmo), 1, "a 5 s timeout wins");
	ASSERT_EQ(expired(0, 6, 1000000 * S, &none), 0, "timeout 0: open entries never expire");
	ASSERT_EQ(expired(FLB_CT_CLOSING, 6, FLB_CT_CLOSE_GRACE_S * S + 1, &none), 1,
		  "timeout 0: closing entries still do");
}

TEST(entry_touched_after_now_was_read_is_not_idle)
{
	ASSERT_EQ(expired(FLB_CT_CLOSING, 6, -(uint64_t)S, &ctl), 0, "last_seen 1 s in the future");
	ASSERT_EQ(expired(0, 6, -(uint64_t)S, &ctl), 0, "open, too");
}
