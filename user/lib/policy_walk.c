// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The daemon's correction of active-flow counts (policy_maps.h,
 * docs/policies.md "What active means"). The dataplane counts a flow at
 * its entry's making and at its client's first FIN/RST; an entry that
 * expires, goes stale or is evicted from the LRU leaves without a word.
 * Once a second the daemon walks conntrack, counts the live counted entries
 * of each (VIP, backend) pair and writes adjust = walked - dataplane count,
 * so the dataplane's reading (count + adjust) is the walk's number. Flows
 * opened or closed while the walk runs make the slack (docs/policies.md).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "flb_ct.h"
#include "policy_maps.h"

struct pair_count {
	struct flb_pair key;
	int64_t walked;
};

struct walk {
	struct flb_vip_key *keys;   /* sorted */
	struct flb_vip *vips;       /* same order */
	size_t n_vips;
	struct pair_count *pairs;   /* sorted by key */
	size_t n_pairs;
	struct flb_ctl ctl;
	uint64_t now;
};

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct flb_vip_key));
}

static int cmp_pair(const void *a, const void *b)
{
	const struct flb_pair *x = a, *y = b;

	if (x->vip != y->vip)
		return x->vip < y->vip ? -1 : 1;
	return x->backend < y->backend ? -1 : x->backend > y->backend;
}

/* The VIP id of a flow as the dataplane finds it (exact port, else the
 * port-less VIP); FLB_MAX_VIPS when none. */
static uint32_t vip_of(const struct walk *w, const struct flb_flow *f)
{
	struct flb_vip_key k = { .port = f->dport, .proto = f->proto, .family = f->family };
	struct flb_vip_key *hit;

	memcpy(k.addr, f->dst, sizeof(k.addr));
	for (int pass = 0; pass < 2; pass++) {
		hit = bsearch(&k, w->keys, w->n_vips, sizeof(k), cmp_key);
		if (hit)
			return w->vips[hit - w->keys].id;
		k.port = 0;
	}
	return FLB_MAX_VIPS;
}

static void visit(const struct flb_flow *flow, const struct flb_ct *ct, void *ctx)
{
	struct walk *w = ctx;
	struct flb_pair key;
	struct pair_count *pc;

	if ((ct->flags & (FLB_CT_COUNTED | FLB_CT_CLOSING)) != FLB_CT_COUNTED ||
	    flb_ct_expired(ct, flow->proto, &w->ctl, w->now))
		return;
	key.vip = vip_of(w, flow);
	key.backend = ct->backend;
	pc = bsearch(&key, w->pairs, w->n_pairs, sizeof(*w->pairs), cmp_pair);
	if (pc)
		pc->walked++;
}

/* The VIPs (sorted, keys and values together) and the pairs of counting VIPs. */
static int walk_init(struct flb_maps *m, struct walk *w)
{
	int fbe = maps_fd(m, "flb_pol_be"), n;
	struct flb_pair key, next;
	void *prev = NULL;
	size_t cap = 0;

	w->keys = calloc(FLB_MAX_VIPS, sizeof(*w->keys));
	w->vips = calloc(FLB_MAX_VIPS, sizeof(*w->vips));
	if (!w->keys || !w->vips)
		return -ENOMEM;
	n = maps_list_vips(m, w->keys, w->vips, FLB_MAX_VIPS);
	w->n_vips = n < 0 ? 0 : (size_t)n;
	/* Sort both by key: an index permutation through a temporary. */
	for (size_t i = 1; i < w->n_vips; i++)
		for (size_t j = i; j > 0 && cmp_key(&w->keys[j - 1], &w->keys[j]) > 0; j--) {
			struct flb_vip_key tk = w->keys[j];
			struct flb_vip tv = w->vips[j];

			w->keys[j] = w->keys[j - 1];
			w->vips[j] = w->vips[j - 1];
			w->keys[j - 1] = tk;
			w->vips[j - 1] = tv;
		}
	while (!bpf_map_get_next_key(fbe, prev, &next)) {
		struct flb_policy pol;

		key = next;
		prev = &key;
		if (policy_get(m, key.vip, &pol) || !(pol.flags & FLB_POL_COUNT))
			continue;
		if (w->n_pairs == cap) {
			struct pair_count *p = realloc(w->pairs, (cap = cap ? 2 * cap : 64) * sizeof(*p));

			if (!p)
				return -ENOMEM;
			w->pairs = p;
		}
		w->pairs[w->n_pairs++] = (struct pair_count){ .key = key };
	}
	qsort(w->pairs, w->n_pairs, sizeof(*w->pairs), cmp_pair);
	return 0;
}

int policy_correct(struct flb_maps *m, uint64_t now_ns)
{
	int fbe = maps_fd(m, "flb_pol_be"), fpol = maps_fd(m, "flb_policy");
	struct walk w = { .now = now_ns };
	int err, done = 0;

	err = walk_init(m, &w);
	if (err || !w.n_pairs)
		goto out;
	maps_get_ctl(m, &w.ctl);
	err = maps_ct_scan(m, visit, &w);
	if (err)
		goto out;
	for (size_t i = 0; i < w.n_pairs;) {
		uint32_t vip = w.pairs[i].key.vip;
		int64_t walked_sum = 0;
		struct flb_policy pol;

		for (; i < w.n_pairs && w.pairs[i].key.vip == vip; i++) {
			struct flb_pol_be pb;
			struct flb_be_load ld;

			walked_sum += w.pairs[i].walked;
			if (policy_pair(m, vip, w.pairs[i].key.backend, &pb, &ld))
				continue;
			if (pb.adjust == w.pairs[i].walked - ld.active)
				continue;
			pb.adjust = w.pairs[i].walked - ld.active;
			if (!bpf_map_update_elem(fbe, &w.pairs[i].key, &pb, BPF_EXIST))
				done++;
		}
		if (!policy_get(m, vip, &pol) && pol.adjust != walked_sum - policy_vip_load(m, vip)) {
			pol.adjust = walked_sum - policy_vip_load(m, vip);
			bpf_map_update_elem(fpol, &vip, &pol, BPF_EXIST);
		}
	}
out:
	free(w.keys);
	free(w.vips);
	free(w.pairs);
	return err ? err : done;
}
