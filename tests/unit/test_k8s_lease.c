// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The status writer's Lease as state transitions (k8s_lease.c, pure):
 * create when missing, renew our own, wait while another's record keeps
 * changing, take over once it stood still for leaseDurationSeconds by our
 * clock or was released, step down before anyone may take over, and the
 * Lease bodies written (resourceVersion, holder, transitions).
 */
#include <stdlib.h>
#include <string.h>

#include "flb_test.h"
#include "k8s_lease.h"

static struct k8s_lease_rec rec(const char *holder, const char *renew, const char *rv)
{
	struct k8s_lease_rec r = { .exists = true, .duration_s = 15, .transitions = 2 };

	strcpy(r.holder, holder);
	strcpy(r.renew, renew);
	strcpy(r.rv, rv);
	return r;
}

TEST(create_when_missing_then_renew)
{
	struct k8s_lease_state s = {};
	struct k8s_lease_rec none = {}, mine = rec("a", "t1", "5");

	ASSERT_EQ(k8s_lease_step(&s, &none, "a", 100), K8S_LEASE_CREATE, "missing: create");
	k8s_lease_done(&s, K8S_LEASE_CREATE, true, 100);
	ASSERT_TRUE(k8s_lease_held(&s, 100, 15), "created: held");
	ASSERT_EQ(k8s_lease_step(&s, &mine, "a", 105), K8S_LEASE_RENEW, "ours: renew");
	k8s_lease_done(&s, K8S_LEASE_RENEW, true, 105);
	ASSERT_TRUE(k8s_lease_held(&s, 114, 15), "renewed 9 s ago: held");
	ASSERT_FALSE(k8s_lease_held(&s, 115.1, 15), "not renewed for 2/3 of 15 s: stepped down");
}

TEST(lost_create_race_and_conflict)
{
	struct k8s_lease_state s = {};
	struct k8s_lease_rec none = {}, mine = rec("a", "t1", "5");

	k8s_lease_step(&s, &none, "a", 100);
	k8s_lease_done(&s, K8S_LEASE_CREATE, false, 100); /* 409 AlreadyExists */
	ASSERT_FALSE(k8s_lease_held(&s, 100, 15), "lost the create");
	k8s_lease_step(&s, &mine, "a", 101);
	k8s_lease_done(&s, K8S_LEASE_RENEW, true, 101);
	ASSERT_TRUE(k8s_lease_held(&s, 101, 15), "held");
	k8s_lease_step(&s, &mine, "a", 106);
	k8s_lease_done(&s, K8S_LEASE_RENEW, false, 106); /* 409: someone wrote it */
	ASSERT_FALSE(k8s_lease_held(&s, 106, 15), "a failed renew (409) is not leadership");
}

TEST(wait_while_the_holder_renews_take_after_expiry)
{
	struct k8s_lease_state s = {};
	struct k8s_lease_rec r1 = rec("b", "t1", "5"), r2 = rec("b", "t2", "6");

	ASSERT_EQ(k8s_lease_step(&s, &r1, "a", 100), K8S_LEASE_WAIT, "another holds it");
	ASSERT_EQ(k8s_lease_step(&s, &r2, "a", 110), K8S_LEASE_WAIT, "renewed: still wait");
	ASSERT_EQ(k8s_lease_step(&s, &r2, "a", 124), K8S_LEASE_WAIT, "unchanged for 14 s of 15: wait");
	ASSERT_EQ(k8s_lease_step(&s, &r2, "a", 125.5), K8S_LEASE_TAKE, "unchanged for 15.5 s: take over");
	k8s_lease_done(&s, K8S_LEASE_TAKE, true, 125.5);
	ASSERT_TRUE(k8s_lease_held(&s, 125.5, 15), "ours now");
}

TEST(expiry_by_our_clock_not_renew_time)
{
	struct k8s_lease_state s = {};
	/* A renewTime far in the past (a skewed clock) is not expiry: only
	 * a record that stops changing for the duration is. */
	struct k8s_lease_rec r = rec("b", "2001-01-01T00:00:00.000000Z", "5");

	ASSERT_EQ(k8s_lease_step(&s, &r, "a", 1000), K8S_LEASE_WAIT, "first sight: wait a full duration");
	ASSERT_EQ(k8s_lease_step(&s, &r, "a", 1016), K8S_LEASE_TAKE, "then take");
}

TEST(released_is_taken_at_once)
{
	struct k8s_lease_state s = {};
	struct k8s_lease_rec r = rec("", "t9", "9");

	ASSERT_EQ(k8s_lease_step(&s, &r, "a", 100), K8S_LEASE_TAKE, "empty holder: take now");
}

TEST(another_takes_it_from_us)
{
	struct k8s_lease_state s = {};
	struct k8s_lease_rec mine = rec("a", "t1", "5"), theirs = rec("b", "t2", "7");

	k8s_lease_step(&s, &mine, "a", 100);
	k8s_lease_done(&s, K8S_LEASE_RENEW, true, 100);
	ASSERT_EQ(k8s_lease_step(&s, &theirs, "a", 101), K8S_LEASE_WAIT, "theirs now: wait");
	ASSERT_FALSE(k8s_lease_held(&s, 101, 15), "and we are not the writer");
}

TEST(bodies)
{
	struct k8s_lease_rec r = rec("b", "t2", "42"), p;
	char *take, *create, *release;

	strcpy(r.acquire, "2026-01-01T00:00:00.000000Z");
	take = k8s_lease_body(&r, K8S_LEASE_TAKE, "fluxlb", "w", "a", 15, "2026-12-02T10:00:00.000000Z");
	create = k8s_lease_body(&r, K8S_LEASE_CREATE, "fluxlb", "w", "a", 15, "2026-12-02T10:00:00.000000Z");
	release = k8s_lease_body(&r, K8S_LEASE_RENEW, "fluxlb", "w", "", 15, "2026-12-02T10:00:00.000000Z");
	if (!ASSERT_TRUE(take && create && release, "bodies"))
		goto out;
	ASSERT_STRCONTAINS(take, "\"resourceVersion\":\"42\"", "an update carries the read resourceVersion");
	ASSERT_STRCONTAINS(take, "\"holderIdentity\":\"a\"", "holder");
	ASSERT_STRCONTAINS(take, "\"leaseTransitions\":3", "a takeover counts a transition");
	ASSERT_STRCONTAINS(take, "\"acquireTime\":\"2026-12-02T10:00:00.000000Z\"", "acquired now");
	ASSERT_FALSE(strstr(create, "resourceVersion") != NULL, "a create carries none");
	ASSERT_STRCONTAINS(release, "\"holderIdentity\":\"\"", "release empties the holder");
	ASSERT_STRCONTAINS(release, "\"leaseDurationSeconds\":1", "and shortens the lease");
	ASSERT_STRCONTAINS(release, "\"acquireTime\":\"2026-01-01T00:00:00.000000Z\"", "a renew keeps acquireTime");
	ASSERT_OK(k8s_lease_parse(take, &p) == 0 ? 0 : -1, "parse our own body");
	ASSERT_STREQ(p.holder, "a", "parsed holder");
	ASSERT_EQ(p.duration_s, 15, "parsed duration");
	ASSERT_FALSE(k8s_lease_parse("{\"kind\":\"Status\"}", &p) == 0, "a Status is not a Lease");
out:
	free(take);
	free(create);
	free(release);
}
