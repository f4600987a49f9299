// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The new-flow policy maps (policy_maps.h, bpf/choose.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "flb_ct.h"
#include "policy_maps.h"

static int fd_of(const struct flb_maps *m, const char *name)
{
	return maps_fd(m, name);
}

static int put(int fd, const void *key, const void *val, __u64 flags)
{
	return bpf_map_update_elem(fd, key, val, flags) ? -errno : 0;
}

int policy_get(const struct flb_maps *m, uint32_t vip_id, struct flb_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	return bpf_map_lookup_elem(fd_of(m, "flb_policy"), &vip_id, pol) ? -errno : 0;
}

/* The value, keeping the daemon's correction (adjust) the map holds. */
static int set_policy(int fd, uint32_t vip_id, const struct flb_policy *want)
{
	struct flb_policy cur = {}, next = *want;

	if (bpf_map_lookup_elem(fd, &vip_id, &cur))
		return -errno;
	next.adjust = (want->flags & FLB_POL_COUNT) ? cur.adjust : 0;
	if (!memcmp(&cur, &next, sizeof(cur)))
		return 0;
	return put(fd, &vip_id, &next, BPF_ANY);
}

int policy_set(struct flb_maps *m, uint32_t vip_id, const struct flb_policy *pol,
	       const uint32_t *ids, const uint32_t *weights, size_t n,
	       const uint32_t *rr, uint32_t rr_len)
{
	int fpol = fd_of(m, "flb_policy"), fbe = fd_of(m, "flb_pol_be");
	int fload = fd_of(m, "flb_be_load"), fseq = fd_of(m, "flb_rr_seq");
	bool on = pol->sched || pol->flags || pol->max_nfps;
	int err;

	if (vip_id >= FLB_MAX_VIPS)
		return -EINVAL;
	/* Pairs first: the policy that uses them comes last. */
	for (size_t i = 0; on && i < n; i++) {
		struct flb_pair key = { .vip = vip_id, .backend = ids[i] };
		struct flb_pol_be cur = {}, next = { .weight = weights[i] };
		struct flb_be_load zero = {};

		if (!ids[i])
			continue;
		err = put(fload, &key, &zero, BPF_NOEXIST);
		if (err && err != -EEXIST)
			return err;
		if (!bpf_map_lookup_elem(fbe, &key, &cur)) {
			next.adjust = cur.adjust;
			if (!memcmp(&cur, &next, sizeof(cur)))
				continue;
		}
		err = put(fbe, &key, &next, BPF_ANY);
		if (err)
			return err;
	}
	for (uint32_t k = 0; on && k < rr_len && k < FLB_RR_LEN; k++) {
		uint32_t idx = vip_id * FLB_RR_LEN + k, cur = 0;

		if (!bpf_map_lookup_elem(fseq, &idx, &cur) && cur == rr[k])
			continue;
		err = put(fseq, &idx, &rr[k], BPF_ANY);
		if (err)
			return err;
	}
	return set_policy(fpol, vip_id, pol);
}

/* Whether (vip, backend) is among the n sorted keep pairs. */
static int cmp_pair(const void *a, const void *b)
{
	const struct flb_pair *x = a, *y = b;

	if (x->vip != y->vip)
		return x->vip < y->vip ? -1 : 1;
	return x->backend < y->backend ? -1 : x->backend > y->backend;
}

static void prune_map(int fd, const struct flb_pair *keep, size_t n)
{
	struct flb_pair key, next, *del = NULL;
	size_t n_del = 0, cap = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bsearch(&key, keep, n, sizeof(*keep), cmp_pair))
			continue;
		if (n_del == cap) {
			struct flb_pair *d = realloc(del, (cap = cap ? 2 * cap : 64) * sizeof(*d));

			if (!d)
				break;
			del = d;
		}
		del[n_del++] = key;
	}
	for (size_t i = 0; i < n_del; i++)
		bpf_map_delete_elem(fd, &del[i]);
	free(del);
}

int policy_prune(struct flb_maps *m, const struct flb_pair *keep, size_t n_keep,
		 const bool *vip_on)
{
	int fpol = fd_of(m, "flb_policy");
	struct flb_pair *sorted = calloc(n_keep + 1, sizeof(*sorted));
	static const struct flb_policy zero;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, keep, n_keep * sizeof(*keep));
	qsort(sorted, n_keep, sizeof(*sorted), cmp_pair);
	prune_map(fd_of(m, "flb_pol_be"), sorted, n_keep);
	prune_map(fd_of(m, "flb_be_load"), sorted, n_keep);
	free(sorted);
	/* VIP ids with no policy any more: back to plain Maglev. */
	for (uint32_t id = 0; id < FLB_MAX_VIPS; id++) {
		struct flb_policy cur;

		if (vip_on[id] || bpf_map_lookup_elem(fpol, &id, &cur))
			continue;
		if (memcmp(&cur, &zero, sizeof(cur)) && put(fpol, &id, &zero, BPF_ANY))
			return -errno;
	}
	return 0;
}

int policy_pair(const struct flb_maps *m, uint32_t vip_id, uint32_t backend,
		struct flb_pol_be *pb, struct flb_be_load *ld)
{
	struct flb_pair key = { .vip = vip_id, .backend = backend };

	memset(pb, 0, sizeof(*pb));
	memset(ld, 0, sizeof(*ld));
	if (bpf_map_lookup_elem(fd_of(m, "flb_be_load"), &key, ld))
		return -errno;
	bpf_map_lookup_elem(fd_of(m, "flb_pol_be"), &key, pb);
	return 0;
}

int64_t policy_vip_load(const struct flb_maps *m, uint32_t vip_id)
{
	int64_t v = 0;

	bpf_map_lookup_elem(fd_of(m, "flb_vip_load"), &vip_id, &v);
	return v;
}

int policy_rr_seq(const struct flb_maps *m, uint32_t vip_id, uint32_t k, uint32_t *id)
{
	uint32_t idx = vip_id * FLB_RR_LEN + k;

	return bpf_map_lookup_elem(fd_of(m, "flb_rr_seq"), &idx, id) ? -errno : 0;
}
