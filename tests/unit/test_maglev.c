// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Properties of the Maglev builder (user/lib/maglev.c): full tables, balance,
 * weighted shares, independence from input order and from the process,
 * disruption when one backend leaves or joins, the auto-size list and input
 * errors. Everything random uses a fixed, printed seed. Not covered here:
 * build time (measured by hand, see the note at the top of maglev.c) and
 * agreement across architectures (the hash reads bytes little-endian, but
 * only x86-64 runs these tests).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flb_test.h"
#include "maglev.h"

#define MAX_B 2048
#define M MAGLEV_DEFAULT_SIZE

static char names[MAX_B][32];
static uint32_t slots_a[1048573], slots_b[1048573];

/* Fills b[0..n) with "10.<i/250>.<i%250>.1:80"-style names, all weight w. */
static struct maglev_backend *backends(struct maglev_backend *b, size_t n, uint32_t w)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "10.%zu.%zu.1:80", i / 250, i % 250);
		b[i].name = names[i];
		b[i].weight = w;
	}
	return b;
}

/* splitmix64: a tiny fixed PRNG so every run sees the same numbers. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void shuffle(uint32_t *perm, size_t n, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(seed) % i;
		uint32_t t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
}

/* counts[i] = slots held by backend i; returns false on EMPTY or out-of-range slots. */
static bool count(const uint32_t *slots, uint32_t m, size_t n, uint32_t *counts)
{
	memset(counts, 0, n * sizeof(*counts));
	for (uint32_t i = 0; i < m; i++) {
		if (!ASSERT_LE(slots[i], n - 1, "slot holds a valid index"))
			return false;
		counts[slots[i]]++;
	}
	return true;
}

/* Equal weights: counts differ by at most one and stay within 1 % of m / n. */
static bool check_balance(size_t n, uint32_t m)
{
	struct maglev_backend b[MAX_B];
	uint32_t counts[MAX_B], lo = UINT32_MAX, hi = 0;
	double share = (double)m / n;

	if (!ASSERT_OK(maglev_build(backends(b, n, 1), n, m, slots_a), "build") ||
	    !count(slots_a, m, n, counts))
		return false;
	for (size_t i = 0; i < n; i++) {
		lo = counts[i] < lo ? counts[i] : lo;
		hi = counts[i] > hi ? counts[i] : hi;
	}
	printf("  n=%zu m=%u: slots per backend %u..%u (share %.2f)\n", n, m, lo, hi, share);
	return ASSERT_LE(hi - lo, 1, "max - min") &&
	       ASSERT_GE(lo, share * 0.99, "min within 1 %") &&
	       ASSERT_LE(hi, share * 1.01, "max within 1 %");
}

TEST(table_fully_populated_for_one_or_more_backends)
{
	struct maglev_backend b[100];
	size_t ns[] = { 1, 2, 3, 10, 100 };
	uint32_t counts[100];

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (!ASSERT_OK(maglev_build(backends(b, ns[i], 7), ns[i], M, slots_a), "build") ||
		    !count(slots_a, M, ns[i], counts))
			return;
	}
	/* The smallest prime table with the smallest non-trivial set. */
	if (!ASSERT_OK(maglev_build(backends(b, 2, 1), 2, 2, slots_a), "build m=2"))
		return;
	ASSERT_NE(slots_a[0], slots_a[1], "m=2: one slot each");
}

TEST(empty_input_gives_all_empty_table)
{
	if (!ASSERT_OK(maglev_build(NULL, 0, M, slots_a), "build"))
		return;
	for (uint32_t i = 0; i < M; i++)
		if (!ASSERT_EQ(slots_a[i], MAGLEV_EMPTY, "slot"))
			return;
}

TEST(all_weights_zero_gives_all_empty_table)
{
	struct maglev_backend b[5];

	if (!ASSERT_OK(maglev_build(backends(b, 5, 0), 5, 251, slots_a), "build"))
		return;
	for (uint32_t i = 0; i < 251; i++)
		if (!ASSERT_EQ(slots_a[i], MAGLEV_EMPTY, "slot"))
			return;
}

TEST(balance_unweighted_3_10_100_at_65537)
{
	size_t ns[] = { 3, 10, 100 };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		if (!check_balance(ns[i], M))
			return;
}

TEST(balance_unweighted_1000_at_auto_size)
{
	check_balance(1000, maglev_auto_size(1000));
}

TEST(balance_unweighted_several_sizes)
{
	uint32_t ms[] = { 251, 1021, 4093, 16381, 65537, 131071 };

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		if (!check_balance(7, ms[i]) || !check_balance(ms[i] / 100, ms[i]))
			return;
}

/*
 * Checks counts against the contract in maglev.h: a backend whose share is
 * under one slot gets exactly one (repeat with what is left, as the builder
 * does); every other backend gets its share of the rest rounded up or down,
 * which keeps it within 1 % of its plain share whenever that share is at
 * least 100 slots (no apportionment can do better below that).
 */
static int n_tiny, n_one_percent;

static bool check_weighted(const struct maglev_backend *b, size_t n, uint32_t m,
			   const uint32_t *counts)
{
	bool reserved[MAX_B] = { false }, more = true;
	uint64_t w_all = 0, w_left, m_left = m;

	for (size_t i = 0; i < n; i++)
		w_all += b[i].weight;
	w_left = w_all;
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++) {
			if (!b[i].weight || reserved[i] || m_left * b[i].weight >= w_left)
				continue;
			reserved[i] = more = true;
			m_left--;
			w_left -= b[i].weight;
		}
	}
	for (size_t i = 0; i < n; i++) {
		double exact = (double)m * b[i].weight / w_all;
		double rest = (double)m_left * b[i].weight / w_left;

		if (!b[i].weight && !ASSERT_EQ(counts[i], 0, "weight 0 gets no slot"))
			return false;
		if (b[i].weight && reserved[i] &&
		    !ASSERT_EQ(counts[i], 1, "tiny share gets one slot"))
			return false;
		n_tiny += b[i].weight && reserved[i];
		n_one_percent += b[i].weight && !reserved[i] && exact >= 100;
		if (!b[i].weight || reserved[i])
			continue;
		if (!ASSERT_TRUE(counts[i] == floor(rest) || counts[i] == ceil(rest),
				 "share of the rest, rounded"))
			return false;
		if (exact >= 100 && !ASSERT_TRUE(fabs(counts[i] - exact) <= exact * 0.01,
						 "within 1 % of weight share")) {
			printf("  backend %zu weight %u: %u slots, share %.2f\n", i,
			       b[i].weight, counts[i], exact);
			return false;
		}
	}
	return true;
}

TEST(weights_random_mixes_within_1_percent)
{
	uint64_t seed = 0x5eed0001;
	struct maglev_backend b[300];
	uint32_t counts[300];

	printf("  seed 0x%llx\n", (unsigned long long)seed);
	for (int t = 0; t < 60; t++) {
		size_t n = 2 + rnd(&seed) % 299;
		uint32_t m = t % 2 ? maglev_auto_size(n) : M;

		backends(b, n, 0);
		for (size_t i = 0; i < n; i++) {
			/* Uniform, or a heavy/light mix, or a few drained. */
			uint64_t r = rnd(&seed);

			b[i].weight = t % 3 == 0 ? 1 + r % 10000 :
				      t % 3 == 1 ? (r % 2 ? 10000 : 1 + r % 10) : r % 4;
		}
		if (!ASSERT_GE(m, 100 * n, "auto size") ||
		    !ASSERT_OK(maglev_build(b, n, m, slots_a), "build"))
			return;
		if (!count(slots_a, m, n, counts) || !check_weighted(b, n, m, counts)) {
			printf("  trial %d n=%zu m=%u\n", t, n, m);
			return;
		}
	}
	printf("  %d backends checked within 1 %%, %d with a share under one slot\n",
	       n_one_percent, n_tiny);
}

TEST(weights_1_and_10000)
{
	struct maglev_backend b[2];
	uint32_t counts[2];

	/* The share of weight 1 is 104.8 slots: the smallest list size where 1 % is reachable. */
	backends(b, 2, 10000)[0].weight = 1;
	if (!ASSERT_OK(maglev_build(b, 2, 1048573, slots_a), "build") ||
	    !count(slots_a, 1048573, 2, counts) || !check_weighted(b, 2, 1048573, counts))
		return;
	printf("  m=1048573: weight 1 -> %u slots, weight 10000 -> %u\n", counts[0], counts[1]);
	/* At 251 its share is 0.025 slots: it still gets one. */
	if (!ASSERT_OK(maglev_build(b, 2, 251, slots_a), "build") ||
	    !count(slots_a, 251, 2, counts))
		return;
	ASSERT_EQ(counts[0], 1, "weight 1 at m=251");
	ASSERT_EQ(counts[1], 250, "weight 10000 at m=251");
}

TEST(weight_zero_backend_gets_no_slots_others_keep_theirs)
{
	struct maglev_backend b[10], rest[9];
	uint32_t counts[10];

	backends(b, 10, 100)[4].weight = 0;
	if (!ASSERT_OK(maglev_build(b, 10, M, slots_a), "build") || !count(slots_a, M, 10, counts))
		return;
	ASSERT_EQ(counts[4], 0, "drained backend");
	for (int i = 0; i < 10; i++)
		if (i != 4 && !ASSERT_TRUE(counts[i] == M / 9 || counts[i] == M / 9 + 1, "others"))
			return;
	/* Draining is the same as leaving: same table by name. */
	memcpy(rest, b, 4 * sizeof(*b));
	memcpy(rest + 4, b + 5, 5 * sizeof(*b));
	if (!ASSERT_OK(maglev_build(rest, 9, M, slots_b), "build without it"))
		return;
	ASSERT_EQ(maglev_fingerprint(slots_a, M, b, 10), maglev_fingerprint(slots_b, M, rest, 9),
		  "drained == removed");
}

/* Builds b[] permuted by perm and maps the result back to indexes of b[]. */
static bool build_permuted(const struct maglev_backend *b, size_t n, const uint32_t *perm,
			   uint32_t m, uint32_t *slots, uint64_t *fp)
{
	struct maglev_backend p[MAX_B];

	for (size_t i = 0; i < n; i++)
		p[i] = b[perm[i]];
	if (!ASSERT_OK(maglev_build(p, n, m, slots), "build permuted"))
		return false;
	*fp = maglev_fingerprint(slots, m, p, n);
	for (uint32_t i = 0; i < m; i++)
		slots[i] = perm[slots[i]];
	return true;
}

TEST(same_table_for_100_input_orders)
{
	uint64_t seed = 0x5eed0002, fp0, fp;
	struct maglev_backend b[100];
	uint32_t perm[100];

	printf("  seed 0x%llx\n", (unsigned long long)seed);
	backends(b, 100, 0);
	for (int i = 0; i < 100; i++)
		b[i].weight = rnd(&seed) % 10001;
	if (!ASSERT_OK(maglev_build(b, 100, M, slots_a), "build"))
		return;
	fp0 = maglev_fingerprint(slots_a, M, b, 100);
	for (int t = 0; t < 100; t++) {
		shuffle(perm, 100, &seed);
		if (!build_permuted(b, 100, perm, M, slots_b, &fp) ||
		    !ASSERT_MEMEQ(slots_a, slots_b, M * sizeof(*slots_a), "table") ||
		    !ASSERT_EQ(fp, fp0, "fingerprint"))
			return;
	}
}

/* Moves len bytes through a pipe; returns the count moved before EOF or error. */
static size_t pipe_io(int fd, void *buf, size_t len, bool out)
{
	size_t done = 0;
	ssize_t r = 1;

	while (done < len && r > 0) {
		r = out ? write(fd, (char *)buf + done, len - done)
			: read(fd, (char *)buf + done, len - done);
		done += r > 0 ? r : 0;
	}
	return done;
}

TEST(same_table_in_another_process)
{
	struct maglev_backend b[50];
	uint32_t perm[50];
	uint64_t seed = 0x5eed0003, fp;
	size_t got;
	int fd[2], status;
	pid_t pid;

	backends(b, 50, 3);
	if (!ASSERT_OK(maglev_build(b, 50, M, slots_a), "build") || !ASSERT_OK(pipe(fd), "pipe"))
		return;
	pid = fork();
	if (pid == 0) {
		/* The child sees the backends in another order and sends indexes of b[]. */
		close(fd[0]);
		shuffle(perm, 50, &seed);
		if (!build_permuted(b, 50, perm, M, slots_b, &fp) ||
		    pipe_io(fd[1], slots_b, M * sizeof(*slots_b), true) != M * sizeof(*slots_b))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	memset(slots_b, 0xaa, sizeof(slots_b));
	got = pipe_io(fd[0], slots_b, M * sizeof(*slots_b), false);
	close(fd[0]);
	if (!ASSERT_GE(pid, 0, "fork") || !ASSERT_EQ(waitpid(pid, &status, 0), pid, "wait"))
		return;
	ASSERT_EQ(status, 0, "child status");
	ASSERT_EQ(got, M * sizeof(*slots_b), "bytes from child");
	ASSERT_MEMEQ(slots_a, slots_b, M * sizeof(*slots_a), "table from child");
}

/*
 * Pinned tables, so a change to the hash, the apportionment or the
 * population order cannot go unnoticed: nodes on different versions would
 * disagree. If this fails on purpose, bump MAGLEV_VERSION and update.
 */
#define GOLDEN_100 0x3eb3180e20eb91c6ULL
#define GOLDEN_SLOT0 72
#define GOLDEN_10W 0x0dcf94dc7f53d8ecULL
#define GOLDEN_EMPTY 0xd5eb3b7a387b190eULL

TEST(golden_fingerprints_for_maglev_version_1)
{
	struct maglev_backend b[100];

	ASSERT_EQ(MAGLEV_VERSION, 1, "version the numbers below belong to");
	if (!ASSERT_OK(maglev_build(backends(b, 100, 1), 100, M, slots_a), "build"))
		return;
	ASSERT_EQ(maglev_fingerprint(slots_a, M, b, 100), GOLDEN_100, "100 backends at 65537");
	ASSERT_EQ(slots_a[0], GOLDEN_SLOT0, "slot 0");
	for (int i = 0; i < 10; i++)
		b[i].weight = 1 + i * 1111;
	if (!ASSERT_OK(maglev_build(b, 10, 251, slots_a), "build weighted"))
		return;
	ASSERT_EQ(maglev_fingerprint(slots_a, 251, b, 10), GOLDEN_10W, "10 weighted at 251");
	for (uint32_t i = 0; i < M; i++)
		slots_a[i] = MAGLEV_EMPTY;
	ASSERT_EQ(maglev_fingerprint(slots_a, M, NULL, 0), GOLDEN_EMPTY, "empty table");
}

TEST(fingerprint_sees_one_slot_change)
{
	struct maglev_backend b[10];
	uint64_t fp;

	if (!ASSERT_OK(maglev_build(backends(b, 10, 1), 10, M, slots_a), "build"))
		return;
	fp = maglev_fingerprint(slots_a, M, b, 10);
	slots_a[M / 2] = (slots_a[M / 2] + 1) % 10;
	ASSERT_NE(maglev_fingerprint(slots_a, M, b, 10), fp, "one slot moved");
	slots_a[M / 2] = MAGLEV_EMPTY;
	ASSERT_NE(maglev_fingerprint(slots_a, M, b, 10), fp, "one slot empty");
}

/* Is name held with weight > 0 in b[]? */
static bool live(const struct maglev_backend *b, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(b[i].name, name))
			return b[i].weight > 0;
	return false;
}

/* maglev_diff() must equal this slot-by-slot diff by name. */
static bool check_diff(const uint32_t *os, const struct maglev_backend *ob, size_t on,
		       const uint32_t *ns, const struct maglev_backend *nb, size_t nn,
		       uint32_t m, struct maglev_disruption *d)
{
	bool old_both[MAX_B], new_both[MAX_B];
	struct maglev_disruption want = { 0 };

	for (size_t i = 0; i < on; i++)
		old_both[i] = ob[i].weight && live(nb, nn, ob[i].name);
	for (size_t i = 0; i < nn; i++)
		new_both[i] = nb[i].weight && live(ob, on, nb[i].name);
	for (uint32_t i = 0; i < m; i++) {
		const char *o = os[i] == MAGLEV_EMPTY ? NULL : ob[os[i]].name;
		const char *n = ns[i] == MAGLEV_EMPTY ? NULL : nb[ns[i]].name;

		if (o == n || (o && n && !strcmp(o, n)))
			continue;
		want.changed++;
		want.excess += o && n && old_both[os[i]] && new_both[ns[i]];
	}
	if (!ASSERT_OK(maglev_diff(os, ob, on, ns, nb, nn, m, d), "diff"))
		return false;
	return ASSERT_EQ(d->changed, want.changed, "changed") &&
	       ASSERT_EQ(d->excess, want.excess, "excess");
}

TEST(disruption_remove_one_of_100)
{
	struct maglev_backend b[100], rest[99];
	struct maglev_disruption d;

	backends(b, 100, 1);
	memcpy(rest, b, 37 * sizeof(*b));
	memcpy(rest + 37, b + 38, 62 * sizeof(*b));
	if (!ASSERT_OK(maglev_build(b, 100, M, slots_a), "build 100") ||
	    !ASSERT_OK(maglev_build(rest, 99, M, slots_b), "build 99") ||
	    !check_diff(slots_a, b, 100, slots_b, rest, 99, M, &d))
		return;
	printf("  changed %u (%.2f %%), excess %u (%.2f %%)\n", d.changed,
	       100.0 * d.changed / M, d.excess, 100.0 * d.excess / M);
	ASSERT_LE(d.changed, M / 50, "changed <= 2 %");
	ASSERT_LE(d.excess, M / 100, "excess <= 1 %");
}

TEST(disruption_add_one_to_100)
{
	struct maglev_backend b[101];
	struct maglev_disruption d;

	backends(b, 101, 1);
	if (!ASSERT_OK(maglev_build(b, 100, M, slots_a), "build 100") ||
	    !ASSERT_OK(maglev_build(b, 101, M, slots_b), "build 101") ||
	    !check_diff(slots_a, b, 100, slots_b, b, 101, M, &d))
		return;
	printf("  changed %u (%.2f %%), excess %u (%.2f %%)\n", d.changed,
	       100.0 * d.changed / M, d.excess, 100.0 * d.excess / M);
	ASSERT_LE(d.changed, M / 50, "changed <= 2 %");
	ASSERT_LE(d.excess, M / 100, "excess <= 1 %");
}

TEST(diff_matches_direct_diff_for_random_changes)
{
	uint64_t seed = 0x5eed0004;
	struct maglev_backend ob[60], nb[60];
	struct maglev_disruption d;

	printf("  seed 0x%llx\n", (unsigned long long)seed);
	backends(ob, 60, 1);
	for (int t = 0; t < 20; t++) {
		/* New set: a random window of the names, some reweighted or drained. */
		size_t off = rnd(&seed) % 10, nn = 40 + rnd(&seed) % 11;

		for (size_t i = 0; i < 50; i++)
			ob[i].weight = rnd(&seed) % 5;
		for (size_t i = 0; i < nn; i++) {
			nb[i] = ob[off + i];
			nb[i].weight = rnd(&seed) % 3 ? ob[off + i].weight : rnd(&seed) % 5;
		}
		if (!ASSERT_OK(maglev_build(ob, 50, 4093, slots_a), "build old") ||
		    !ASSERT_OK(maglev_build(nb, nn, 4093, slots_b), "build new") ||
		    !check_diff(slots_a, ob, 50, slots_b, nb, nn, 4093, &d))
			return;
	}
}

TEST(diff_rejects_bad_input)
{
	struct maglev_backend b[3];
	struct maglev_disruption d;
	uint32_t s[2] = { 0, 3 };

	backends(b, 3, 1);
	ASSERT_EQ(maglev_diff(s, b, 3, s, b, 3, 2, &d), -EINVAL, "index out of range");
	b[2].name = b[0].name;
	s[1] = 1;
	ASSERT_EQ(maglev_diff(s, b, 3, s, b, 3, 2, &d), -EINVAL, "duplicate name");
}

TEST(auto_size_list)
{
	size_t ns[] = { 0, 1, 2, 50, 1000, 20000 };
	uint32_t want[] = { 251, 251, 251, 8191, 131071, 1048573 };

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		uint32_t m = maglev_auto_size(ns[i]);

		if (!ASSERT_EQ(m, want[i], "auto size") ||
		    !ASSERT_TRUE(maglev_is_prime(m), "prime"))
			return;
		if (m < 1048573 && !ASSERT_GE(m, 100 * ns[i], ">= 100 per backend"))
			return;
	}
	ASSERT_EQ(maglev_auto_size(655), 65537, "655 backends fit the default size");
	ASSERT_EQ(maglev_auto_size(656), 131071, "656 do not");
	ASSERT_EQ(maglev_auto_size(10485), 1048573, "last that fits");
}

TEST(is_prime)
{
	uint32_t primes[] = { 2, 3, 5, 251, 65537, 1048573, 4294967291u };
	uint32_t others[] = { 0, 1, 4, 9, 25, 65535, 65536, 1048575, 4294967295u };

	for (size_t i = 0; i < sizeof(primes) / sizeof(primes[0]); i++)
		ASSERT_TRUE(maglev_is_prime(primes[i]), "prime");
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ASSERT_FALSE(maglev_is_prime(others[i]), "not prime");
}

TEST(input_errors)
{
	struct maglev_backend b[5];

	backends(b, 5, 1);
	ASSERT_EQ(maglev_build(b, 5, 65536, slots_a), -EINVAL, "m not prime");
	ASSERT_EQ(maglev_build(b, 5, 1, slots_a), -EINVAL, "m = 1");
	ASSERT_EQ(maglev_build(b, 5, 0, slots_a), -EINVAL, "m = 0");
	ASSERT_EQ(maglev_build(b, 5, 3, slots_a), -EINVAL, "m < active backends");
	ASSERT_EQ(maglev_build(NULL, 5, M, slots_a), -EINVAL, "NULL backends");
	ASSERT_EQ(maglev_build(b, 5, M, NULL), -EINVAL, "NULL slots");
	b[3].weight = 0;
	b[4].weight = 0;
	ASSERT_OK(maglev_build(b, 5, 3, slots_a), "m = active backends");
	b[4].weight = MAGLEV_MAX_WEIGHT + 1;
	ASSERT_EQ(maglev_build(b, 5, M, slots_a), -EINVAL, "weight > 10000");
	b[4].weight = MAGLEV_MAX_WEIGHT;
	ASSERT_OK(maglev_build(b, 5, M, slots_a), "weight 10000");
	b[4].name = b[1].name;
	ASSERT_EQ(maglev_build(b, 5, M, slots_a), -EINVAL, "duplicate name");
	b[3].weight = 0;
	b[4].name = strdup(b[1].name);
	ASSERT_EQ(maglev_build(b, 5, M, slots_a), -EINVAL, "duplicate name, other pointer");
	free((char *)b[4].name);
	b[4].name = NULL;
	ASSERT_EQ(maglev_build(b, 5, M, slots_a), -EINVAL, "NULL name");
}
