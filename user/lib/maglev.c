// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Maglev table builder, see maglev.h for the contract. Backends are sorted by
 * name so the input order never matters. Each active backend gets an exact
 * slot quota (largest-remainder apportionment of m by weight), then they take
 * turns claiming their next free preferred slot as in the paper, each at a
 * rate proportional to its quota: exact shares, and Maglev's small disruption
 * when the set changes. Measured on the 2-core dev VM, gcc -O2, m = 65537,
 * equal weights, best of 200 runs: 0.84 ms for n = 10, 1.04 ms for n = 100,
 * 1.20 ms for n = 1000, over 90 % of it in claim().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maglev.h"

/*
 * MurmurHash64A (Appleby, SMHasher), written out so the permutation never
 * depends on a library version. Names are operator-chosen, so seed-independent
 * collisions do not matter. Changing the hash or the seeds changes every
 * table: bump MAGLEV_VERSION.
 */
#define MURMUR_M 0xc6a4a7935bd1e995ULL
#define SEED_OFFSET 0	/* offset = murmur64a(name, 0) % m */
#define SEED_SKIP 1	/* skip = murmur64a(name, 1) % (m - 1) + 1 */
#define SEED_FP 2	/* per-name hash inside maglev_fingerprint() */
#define FP_EMPTY 0x6d61676c65766e6fULL	/* hash of an EMPTY slot */
#define FP_BAD 0x6261646261646261ULL	/* hash of an out-of-range slot */

/* Little-endian reads, so big-endian nodes build the same tables. */
static uint64_t rd_le(const char *p, size_t len)
{
	uint64_t v = 0;

	while (len--)
		v = (v << 8) | (unsigned char)p[len];
	return v;
}

/* One 8-byte block of MurmurHash64A. */
static uint64_t murmur_mix(uint64_t h, uint64_t k)
{
	k *= MURMUR_M;
	return (h ^ ((k ^ (k >> 47)) * MURMUR_M)) * MURMUR_M;
}

static uint64_t murmur_final(uint64_t h)
{
	h = (h ^ (h >> 47)) * MURMUR_M;
	return h ^ (h >> 47);
}

static uint64_t murmur64a(const char *s, uint64_t seed)
{
	size_t len = strlen(s), i;
	uint64_t h = seed ^ (len * MURMUR_M);

	for (i = 0; i + 8 <= len; i += 8)
		h = murmur_mix(h, rd_le(s + i, 8));
	if (len & 7)
		h = (h ^ rd_le(s + i, len & 7)) * MURMUR_M;
	return murmur_final(h);
}

/* One entry per backend; sorted by name, the active ones first. */
struct ent {
	const char *name;
	uint32_t idx;	/* index into the caller's b[] */
	uint32_t weight;
	uint32_t quota;	/* slots this backend must end up with */
	uint32_t pos;	/* next slot of its permutation */
	uint32_t skip;
	uint64_t rem;	/* apportionment remainder, then pacing credit */
};

static int cmp_name(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

/* Fills e[] sorted by name; -EINVAL on a NULL or duplicated name or a bad weight. */
static int sort_names(const struct maglev_backend *b, size_t n, struct ent *e)
{
	for (size_t i = 0; i < n; i++) {
		if (!b[i].name || b[i].weight > MAGLEV_MAX_WEIGHT)
			return -EINVAL;
		e[i] = (struct ent){ .name = b[i].name, .idx = i, .weight = b[i].weight };
	}
	qsort(e, n, sizeof(*e), cmp_name);
	for (size_t i = 1; i < n; i++)
		if (!strcmp(e[i - 1].name, e[i].name))
			return -EINVAL;
	return 0;
}

bool maglev_is_prime(uint32_t m)
{
	if (m < 4)
		return m >= 2;
	if (m % 2 == 0 || m % 3 == 0)
		return false;
	for (uint32_t d = 5; (uint64_t)d * d <= m; d += 6)
		if (m % d == 0 || m % (d + 2) == 0)
			return false;
	return true;
}

uint32_t maglev_auto_size(size_t n_active)
{
	static const uint32_t sizes[] = {
		251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65537,
		131071, 262139, 524287, 1048573,
	};
	size_t i;

	for (i = 0; i + 1 < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (sizes[i] / 100 >= n_active)
			break;
	return sizes[i];
}

/* Larger remainder first; ties go to the earlier name (lower address). */
static int cmp_rem(const void *a, const void *b)
{
	const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;

	if (x->rem != y->rem)
		return x->rem < y->rem ? 1 : -1;
	return x < y ? -1 : x > y;
}

/*
 * Exact quotas for e[0..k). A backend whose share is under one slot still
 * gets one, taken from the others' shares (repeat: that can push another
 * under one); the rest of m goes by largest remainder, so each of the others
 * is within one slot of its share of what is left. by_rem has room for k.
 */
static void apportion(struct ent *e, size_t k, uint32_t m, struct ent **by_rem)
{
	uint64_t w_left = 0, given = 0;
	size_t i, j = 0;
	bool more = true;

	for (i = 0; i < k; i++)
		w_left += e[i].weight;
	while (more) {
		more = false;
		for (i = 0; i < k; i++) {
			if (e[i].quota || (uint64_t)m * e[i].weight >= w_left)
				continue;
			e[i].quota = 1;
			m--;
			w_left -= e[i].weight;
			more = true;
		}
	}
	for (i = 0; i < k; i++) {
		if (e[i].quota)
			continue;
		e[i].quota = (uint64_t)m * e[i].weight / w_left;
		e[i].rem = (uint64_t)m * e[i].weight % w_left;
		given += e[i].quota;
		by_rem[j++] = &e[i];
	}
	qsort(by_rem, j, sizeof(*by_rem), cmp_rem);
	for (i = 0; given < m; i++, given++)
		by_rem[i]->quota++;
}

static inline uint64_t add_mod(uint64_t a, uint64_t b, uint64_t m)
{
	return a + b >= m ? a + b - m : a + b;
}

/*
 * Claims the backend's first free slot in permutation order from pos; one
 * exists while quotas remain. Probes four entries per step and picks the
 * first free one without a branch: the outcome of a probe is a coin toss for
 * much of the build, and this saved 10 % over one probe per step (a bitmap
 * instead of bytes was 20 % slower). For m < 5 the first four entries cover
 * every slot, so 4 * skip % m == 0 does no harm.
 */
static inline void claim(struct ent *e, uint64_t m, uint8_t *used, uint32_t *slots)
{
	uint64_t s1 = e->skip, s2 = add_mod(s1, s1, m), s3 = add_mod(s2, s1, m);
	uint64_t s4 = add_mod(s3, s1, m), c[4] = { e->pos };
	unsigned int free4;

	for (;;) {
		c[1] = add_mod(c[0], s1, m);
		c[2] = add_mod(c[0], s2, m);
		c[3] = add_mod(c[0], s3, m);
		free4 = (used[c[0]] ^ 1) | (used[c[1]] ^ 1) << 1 | (used[c[2]] ^ 1) << 2 |
			(used[c[3]] ^ 1) << 3;
		if (free4)
			break;
		c[0] = add_mod(c[0], s4, m);
	}
	c[0] = c[__builtin_ctz(free4)];
	used[c[0]] = 1;
	slots[c[0]] = e->idx;
	e->pos = add_mod(c[0], s1, m);
}

/*
 * The paper's population loop with weights: over m / k rounds, each backend
 * earns its quota in credit per round and takes one turn per m / k credit
 * (Bresenham), so each ends the last round with exactly its quota and none
 * runs deep into its permutation while others still have many turns left.
 */
static void populate(struct ent *e, size_t k, uint32_t m, uint8_t *used, uint32_t *slots)
{
	uint32_t rounds = m / k;

	for (size_t i = 0; i < k; i++) {
		e[i].pos = murmur64a(e[i].name, SEED_OFFSET) % m;
		e[i].skip = murmur64a(e[i].name, SEED_SKIP) % (m - 1) + 1;
		e[i].rem = rounds / 2;
	}
	for (uint32_t r = 0; r < rounds; r++) {
		for (size_t i = 0; i < k; i++) {
			for (e[i].rem += e[i].quota; e[i].rem >= rounds; e[i].rem -= rounds)
				claim(&e[i], m, used, slots);
		}
	}
}

int maglev_build(const struct maglev_backend *b, size_t n, uint32_t m, uint32_t *slots)
{
	struct ent *e = NULL, **by_rem = NULL;
	uint8_t *used = NULL;
	size_t i, k = 0;
	int err = -EINVAL;

	if (!maglev_is_prime(m) || !slots || (n && !b) || n >= MAGLEV_EMPTY)
		return -EINVAL;
	for (i = 0; i < m; i++)
		slots[i] = MAGLEV_EMPTY;
	e = calloc(n ? n : 1, sizeof(*e));
	by_rem = calloc(n ? n : 1, sizeof(*by_rem));
	used = calloc(m, sizeof(*used));
	if (!e || !by_rem || !used) {
		err = -ENOMEM;
		goto out;
	}
	err = sort_names(b, n, e);
	if (err)
		goto out;
	/* Active backends to the front, still in name order. */
	for (i = 0; i < n; i++)
		if (e[i].weight)
			e[k++] = e[i];
	if (k > m) {
		err = -EINVAL;
	} else if (k) {
		apportion(e, k, m, by_rem);
		populate(e, k, m, used, slots);
	}
out:
	free(used);
	free(by_rem);
	free(e);
	return err;
}

static uint64_t slot_hash(uint32_t s, const struct maglev_backend *b, size_t n,
			  const uint64_t *nh)
{
	if (s == MAGLEV_EMPTY)
		return FP_EMPTY;
	if (s >= n || !b[s].name)
		return FP_BAD;
	return nh ? nh[s] : murmur64a(b[s].name, SEED_FP);
}

/* MurmurHash64A, seed SEED_FP, of the m 64-bit per-slot hashes. */
uint64_t maglev_fingerprint(const uint32_t *slots, uint32_t m,
			    const struct maglev_backend *b, size_t n)
{
	/* Without memory, hash the name per slot: slower, same number. */
	uint64_t *nh = malloc((n ? n : 1) * sizeof(*nh));
	uint64_t h = SEED_FP ^ ((uint64_t)m * 8 * MURMUR_M);

	n = b ? n : 0;
	for (size_t i = 0; nh && i < n; i++)
		nh[i] = slot_hash(i, b, n, NULL);
	for (uint32_t i = 0; i < m; i++)
		h = murmur_mix(h, slot_hash(slots[i], b, n, nh));
	free(nh);
	return murmur_final(h);
}

/*
 * o2n[i] is the new index with old backend i's name, or MAGLEV_EMPTY; live[]
 * marks old indexes, then new ones from on, whose name has weight > 0 in both.
 */
static void match_names(const struct ent *o, size_t on, const struct ent *nw, size_t nn,
			uint32_t *o2n, bool *live)
{
	memset(o2n, 0xff, on * sizeof(*o2n));
	for (size_t i = 0, j = 0; i < on && j < nn;) {
		int c = strcmp(o[i].name, nw[j].name);

		if (!c) {
			o2n[o[i].idx] = nw[j].idx;
			live[o[i].idx] = live[on + nw[j].idx] = o[i].weight && nw[j].weight;
		}
		i += c <= 0;
		j += c >= 0;
	}
}

int maglev_diff(const uint32_t *old_slots, const struct maglev_backend *old_b,
		size_t old_n, const uint32_t *new_slots,
		const struct maglev_backend *new_b, size_t new_n, uint32_t m,
		struct maglev_disruption *out)
{
	struct maglev_disruption d = { 0 };
	struct ent *e = NULL;
	uint32_t *o2n = NULL;
	bool *live = NULL;
	int err = -EINVAL;

	if (!out || (m && (!old_slots || !new_slots)) || (old_n && !old_b) ||
	    (new_n && !new_b) || old_n >= MAGLEV_EMPTY || new_n >= MAGLEV_EMPTY)
		return -EINVAL;
	e = calloc(old_n + new_n + 1, sizeof(*e));
	o2n = calloc(old_n + 1, sizeof(*o2n));
	live = calloc(old_n + new_n + 1, sizeof(*live));
	if (!e || !o2n || !live) {
		err = -ENOMEM;
		goto out;
	}
	if (sort_names(old_b, old_n, e) || sort_names(new_b, new_n, e + old_n))
		goto out;
	match_names(e, old_n, e + old_n, new_n, o2n, live);
	for (uint32_t i = 0; i < m; i++) {
		uint32_t o = old_slots[i], w = new_slots[i];

		if ((o != MAGLEV_EMPTY && o >= old_n) || (w != MAGLEV_EMPTY && w >= new_n))
			goto out;
		if (o == MAGLEV_EMPTY ? w == MAGLEV_EMPTY : w != MAGLEV_EMPTY && o2n[o] == w)
			continue;
		d.changed++;
		d.excess += o != MAGLEV_EMPTY && w != MAGLEV_EMPTY && live[o] && live[old_n + w];
	}
	*out = d;
	err = 0;
out:
	free(live);
	free(o2n);
	free(e);
	return err;
}
