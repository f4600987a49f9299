/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The map ABI shared by the BPF programs and userspace: map names, keys,
 * values and limits. Compiled by clang -target bpf and by gcc, so only
 * <linux/types.h> types, explicit padding, no bitfields. Byte order is named
 * in the type: __be* fields are in network order, everything else is host
 * order. Any change to a struct here bumps FLB_ABI_VERSION: pinned maps live
 * under <bpffs>/v<FLB_ABI_VERSION>/ so an incompatible layout is never reused.
 */
#ifndef FLB_ABI_H
#define FLB_ABI_H

#include <linux/types.h>

/* 2: flb_ct.flags (closing), flb_ct.hash, two more events.
 * 3: the counter maps sized FLB_R_SLOTS/FLB_E_SLOTS (room to add reasons
 *    without a bump), node-side reasons; flb_ctl.flood_nfps (was pad: 0 = off)
 *    and flb_flood (a new pin, created when missing). */
#define FLB_ABI_VERSION 3

#define FLB_MAX_VIPS      1024
#define FLB_MAX_BACKENDS  8192   /* backend id 0 is never used: "no backend" */
#define FLB_CT_SIZE       262144 /* conntrack entries (LRU); ~30 MiB */
#define FLB_FRAG_SIZE     16384  /* datagrams being reassembled somewhere (LRU) */
#define FLB_CT_CLOSE_GRACE_S 10  /* a closing entry lives this long after its last packet */

/* Address families as stored in keys (not AF_*: the kernel's values differ
 * from nothing here, but BPF code has no <sys/socket.h>). */
#define FLB_AF_INET  4
#define FLB_AF_INET6 6

/* flb_vips: (address, port, protocol) -> VIP. Port 0 is the port-less VIP. */
struct flb_vip_key {
	__be32 addr[4]; /* IPv4 in addr[0], rest zero */
	__be16 port;    /* 0: every port */
	__u8 proto;     /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;    /* FLB_AF_INET or FLB_AF_INET6 */
};
_Static_assert(sizeof(struct flb_vip_key) == 20, "flb_vip_key layout");

struct flb_vip {
	__u32 id;         /* index into flb_rings and flb_vip_stats */
	__u32 flags;      /* FLB_VIP_* */
};
_Static_assert(sizeof(struct flb_vip) == 8, "flb_vip layout");

/* flb_backends[id] */
struct flb_backend {
	__be32 addr[4];   /* IPv4 in addr[0] */
	__u32 gen;        /* bumped whenever the id is given to another backend */
	__u8 family;      /* FLB_AF_*; 0: slot unused */
	__u8 state;       /* FLB_BE_* */
	__u16 pad;
};
_Static_assert(sizeof(struct flb_backend) == 24, "flb_backend layout");

enum flb_backend_state {
	FLB_BE_UNUSED = 0,   /* id free: flows naming it are re-steered */
	FLB_BE_ACTIVE = 1,   /* takes new and existing flows */
	FLB_BE_DRAINING = 2, /* keeps existing flows, takes no new ones */
	FLB_BE_DOWN = 3,     /* failed health checks: its flows are re-steered */
};

/* flb_conntrack key: the 5-tuple as the client sent it. Also the input of
 * the flow hash (include/flb_hash.h). */
struct flb_flow {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;
	__u16 pad;        /* zero: part of the hash key */
};
_Static_assert(sizeof(struct flb_flow) == 40, "flb_flow layout");

struct flb_ct {
	__u32 backend;    /* backend id */
	__u32 gen;        /* flb_backend.gen when the entry was made */
	__u64 last_seen;  /* bpf_ktime_get_ns() of the last packet */
	__u32 flags;      /* FLB_CT_* */
	__u32 hash;       /* flb_flow_hash() of the key, so a hit need not hash; 0: unknown */
};
_Static_assert(sizeof(struct flb_ct) == 24, "flb_ct layout");

/* The client sent a FIN or an RST: the entry lives FLB_CT_CLOSE_GRACE_S
 * after its last packet instead of the protocol's timeout (include/flb_ct.h,
 * docs/architecture.md "Conntrack"). Cleared only by a new entry (a SYN). */
#define FLB_CT_CLOSING 0x1

/* flb_ctl[0]: global settings the daemon writes. */
struct flb_ctl {
	__u32 ready;         /* 0 until the daemon has filled every map */
	__u32 flags;         /* FLB_CTL_* */
	__be32 encap_src4;   /* outer IPv4 source prefix; low 16 bits per flow */
	__u32 tcp_timeout_s; /* idle TCP conntrack entries older than this are ignored */
	__be32 encap_src6[4];/* outer IPv6 source prefix; low 32 bits per flow */
	__u32 udp_timeout_s; /* the same for UDP */
	__u32 flood_nfps;    /* new flows per second per CPU above which that CPU's
			      * SYNs get no conntrack entry (flood mode); 0: off */
};
_Static_assert(sizeof(struct flb_ctl) == 40, "flb_ctl layout");

#define FLB_CTL_PORTLESS 0x1 /* some VIP is port-less: do the second lookup */

/* flb_vip_addrs: (address, protocol) -> the VIP a non-first fragment of an
 * unknown datagram is steered by (it carries no port). The daemon picks the
 * port-less VIP of the address if there is one, else the lowest port. */
struct flb_vip_addr {
	__be32 addr[4];
	__u8 proto;
	__u8 family;
	__u16 pad;
};
_Static_assert(sizeof(struct flb_vip_addr) == 20, "flb_vip_addr layout");

/* flb_frags: a datagram being fragmented -> the backend its fragments go to,
 * so every fragment of one datagram reaches one backend. */
struct flb_frag_key {
	__be32 src[4];
	__be32 dst[4];
	__be32 id;        /* IPv4 identification (low 16 bits) or IPv6 fragment id */
	__u8 proto;
	__u8 family;
	__u16 pad;
};
_Static_assert(sizeof(struct flb_frag_key) == 40, "flb_frag_key layout");

/* flb_nexthops[backend id], per CPU: the FIB's answer for the backend,
 * reused until `expires` so the established path skips bpf_fib_lookup(). */
struct flb_nexthop {
	__u64 expires;    /* bpf_ktime_get_coarse_ns() deadline */
	__u32 gen;        /* flb_backend.gen it was resolved for */
	__u32 ingress;    /* ingress ifindex of the lookup */
	__u32 ifindex;    /* egress ifindex */
	__u32 mtu;        /* the route's MTU as the FIB checks it */
	__u8 dmac[6];
	__u8 smac[6];
	__u32 pad;
};
_Static_assert(sizeof(struct flb_nexthop) == 40, "flb_nexthop layout");

/* flb_vip_stats[vip id], flb_be_stats[backend id]: per-CPU, summed by readers. */
struct flb_traffic {
	__u64 packets;
	__u64 bytes;      /* bytes of the packet as received (before encapsulation) */
	__u64 new_flows;  /* conntrack entries created */
};
_Static_assert(sizeof(struct flb_traffic) == 24, "flb_traffic layout");

/* flb_dcp_addrs key: an address of the backend host (value: ifindex or 0). */
#define FLB_DCP_MAX_ADDRS 256
struct flb_dcp_addr {
	__be32 addr[4];
	__u8 family;
	__u8 pad[3];
};
_Static_assert(sizeof(struct flb_dcp_addr) == 20, "flb_dcp_addr layout");

/* The balancer's pinned maps (at most 15 characters: the kernel truncates
 * longer names). tests/unit checks the lengths, also of FLB_DECAP_MAP_NAMES. */
#define FLB_MAP_NAMES(X)      \
	X(flb_ctl)            \
	X(flb_vips)           \
	X(flb_vip_addrs)      \
	X(flb_frags)          \
	X(flb_rings)          \
	X(flb_backends)       \
	X(flb_conntrack)      \
	X(flb_reasons)        \
	X(flb_events)         \
	X(flb_vip_stats)      \
	X(flb_be_stats)       \
	X(flb_nexthops)       \
	X(flb_flood)          \
	X(flb_rings_prev)     \
	X(flb_chance)         \
	X(flb_affinity)       \
	X(flb_aff_vips)       \
	X(flb_outlier)        \
	X(flb_pfx_cfg)        \
	X(flb_pfx)            \
	X(flb_tail)           \
	FLB_POLICY_MAP_NAMES(X)

/* The decap program's maps (not pinned: found through the attached program). */
#define FLB_DECAP_MAP_NAMES(X) \
	X(flb_dcp_reasons)     \
	X(flb_dcp_addrs)

/* flb_flood[0], per CPU: that CPU's new-flow rate and mode (bpf/flood.h,
 * docs/operating.md "Flood defence"). A reader sums nothing: a CPU is in
 * flood mode while mode is 1 and its window began less than 2 s ago (a CPU
 * that sees no new flow never rewrites its slot). */
struct flb_flood {
	__u64 window;     /* bpf_ktime_get_coarse_ns() when this one-second window began */
	__u32 new_flows;  /* new flows (entries to create, SYNs refused one) in the window */
	__u32 mode;       /* 1: flood: SYNs without an entry are steered, none is made */
};
_Static_assert(sizeof(struct flb_flood) == 16, "flb_flood layout");

/*
 * The node side (docs/pods.md): on a host whose pods are backends, the NIC's
 * decap program (bpf/decap.bpf.c) translates a tunnelled packet for a local
 * pod from VIP:port to pod:target port and records the flow; a tc program on
 * the same NIC's egress (bpf/rnat.bpf.c) puts VIP:port back on the replies.
 */

/* flb_node_nat: (VIP, VIP port, protocol, local pod) -> the pod's port.
 * Filled by fluxlbd's node role from the desired state. */
#define FLB_NODE_NAT_MAX 16384
struct flb_nat_key {
	__be32 vip[4];    /* the inner destination; IPv4 in vip[0], rest zero */
	__be32 pod[4];    /* the outer destination: the pod (backend) address */
	__be16 vport;     /* the VIP's port; never 0 (a port-less VIP is not translated) */
	__u8 proto;       /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;      /* FLB_AF_*: of the VIP and of the pod (they are equal) */
};
_Static_assert(sizeof(struct flb_nat_key) == 36, "flb_nat_key layout");

struct flb_nat {
	__be16 tport;     /* the port the pod listens on */
	__u16 pad;
};
_Static_assert(sizeof(struct flb_nat) == 4, "flb_nat layout");

/* flb_node_flows (LRU): a translated flow keyed as its replies carry it ->
 * what the replies must carry instead. Written by decap for every forward
 * packet (last_seen), read by the reverse NAT; an entry idle longer than the
 * protocol's timeout is ignored (FLB_NODE_*_TIMEOUT_S, rodata of rnat). */
#define FLB_NODE_FLOWS 131072
#define FLB_NODE_TCP_TIMEOUT_S 3600
#define FLB_NODE_UDP_TIMEOUT_S 300
struct flb_nflow_key {
	__be32 pod[4];    /* reply source */
	__be32 client[4]; /* reply destination */
	__be16 tport;     /* reply source port: the pod's port */
	__be16 cport;     /* reply destination port: the client's port */
	__u8 proto;
	__u8 family;
	__u16 pad;        /* zero */
};
_Static_assert(sizeof(struct flb_nflow_key) == 40, "flb_nflow_key layout");

struct flb_nflow {
	__be32 vip[4];    /* the reply's new source */
	__be16 vport;     /* the reply's new source port */
	__u16 pad;
	__u32 pad2;
	__u64 last_seen;  /* bpf_ktime_get_ns() of the last packet either way */
};
_Static_assert(sizeof(struct flb_nflow) == 32, "flb_nflow layout");

/* The node side's maps, pinned by fluxlbd's node role under
 * <bpffs>/v<FLB_ABI_VERSION>/ beside the balancer's (tests/unit checks the
 * lengths). flb_dcp_reasons and flb_dcp_addrs are pinned too when the node
 * role runs (not by `fluxlb decap attach`). */
#define FLB_NODE_MAP_NAMES(X) \
	X(flb_node_nat)       \
	X(flb_node_flows)     \
	X(flb_rnat_counts)

/*
 * Second chance (bpf/chance.h, docs/bgp.md "Second chance"): when a VIP's
 * table changes, fluxlbd keeps the table it replaced in flb_rings_prev[id]
 * (same inner layout as flb_rings) and until when in flb_chance[id]. A TCP
 * non-SYN packet without a conntrack entry whose backend in that previous
 * table differs from the current one goes to the current backend with the
 * previous one named as secondary: an IPv4 option in the outer header.
 */
struct flb_chance {
	__u64 expires;    /* bpf_ktime_get_coarse_ns() until which flb_rings_prev[id] counts; 0: none */
	__u32 window_s;   /* the window it was kept for (for readers) */
	__u32 pad;
};
_Static_assert(sizeof(struct flb_chance) == 16, "flb_chance layout");

/* The outer IPv4 option naming the secondary (RFC 4727 experiment number
 * 30, not copied on fragmentation): type, length 8, version, zero, then the
 * secondary's IPv4 address. A decap without second chance strips it like
 * any option (it strips IHL * 4 bytes). */
#define FLB_CHANCE_OPT      0x1e
#define FLB_CHANCE_OPT_LEN  8
#define FLB_CHANCE_OPT_VER  1

/*
 * Session affinity (bpf/affinity.h, docs/affinity.md): a client's new flows
 * to a VIP with `affinity: source_ip` go to the backend its last flow went
 * to while that backend still takes the VIP's new flows.
 */
#define FLB_AFF_SIZE 65536 /* clients remembered (LRU), all VIPs together */

/* flb_affinity key: (VIP id, client address). */
struct flb_aff_key {
	__be32 addr[4];   /* the client (IPv4 in addr[0], rest zero) */
	__u32 vip_id;
	__u8 family;      /* FLB_AF_* */
	__u8 pad[3];      /* zero */
};
_Static_assert(sizeof(struct flb_aff_key) == 24, "flb_aff_key layout");

struct flb_aff {
	__u32 backend;    /* backend id */
	__u32 gen;        /* flb_backend.gen when the entry was written */
	__u64 last_seen;  /* bpf_ktime_get_coarse_ns() of the client's last traffic (1 s precision) */
};
_Static_assert(sizeof(struct flb_aff) == 16, "flb_aff layout");

/* flb_aff_vips[vip id]: the VIP's affinity, written by the daemon. members:
 * bit id of the backends that take the VIP's new flows now (those in its
 * Maglev table), so an entry naming one that left the table (weight 0,
 * health down, ejected) is not followed. */
#define FLB_AFF_WORDS (FLB_MAX_BACKENDS / 64)
struct flb_aff_vip {
	__u32 timeout_s;  /* entries idle longer are not followed; 0: affinity off */
	__u32 pad;
	__u64 members[FLB_AFF_WORDS];
};
_Static_assert(sizeof(struct flb_aff_vip) == 8 + FLB_MAX_BACKENDS / 8, "flb_aff_vip layout");

/* flb_outlier[backend id], per CPU, __u64: SYN retransmits seen for flows
 * the backend was given (bpf/outlier.h); with flb_be_stats.new_flows the
 * daemon's passive outlier detector (docs/circuit-breaking.md). */

/* flb_ct.flags: the entry was made by a TCP SYN and no other packet of the
 * client has been seen since (bpf/outlier.h). Readers that know only
 * FLB_CT_CLOSING ignore it. */
#define FLB_CT_SYN 0x2


/* Per-source-prefix new-flow limit (bpf/flood.h, node.flood.prefix): TCP
 * SYNs per second from one source prefix, over all CPUs; beyond it a SYN is
 * dropped (drop_prefix_limit). flb_pfx_cfg[0], written by the daemon. */
#define FLB_PFX_SIZE 65536 /* prefixes tracked (LRU) */
struct flb_pfx_cfg {
	__u32 nfps;       /* SYNs per second per prefix; 0: off */
	__u8 len4;        /* IPv4 prefix length, 1..32 */
	__u8 len6;        /* IPv6 prefix length, 1..128 */
	__u16 pad;
};
_Static_assert(sizeof(struct flb_pfx_cfg) == 8, "flb_pfx_cfg layout");

/* flb_pfx key: the source with the host bits cleared. */
struct flb_pfx_key {
	__be32 addr[4];
	__u8 family;      /* FLB_AF_* */
	__u8 len;         /* the prefix length it was cut to */
	__u16 pad;        /* zero */
};
_Static_assert(sizeof(struct flb_pfx_key) == 20, "flb_pfx_key layout");

struct flb_pfx {
	__u64 window;     /* bpf_ktime_get_coarse_ns() when this one-second window began */
	__u32 syns;       /* SYNs in the window (atomic add: all CPUs share it) */
	__u32 pad;
};
_Static_assert(sizeof(struct flb_pfx) == 16, "flb_pfx layout");

/*
 * New-flow policies (bpf/choose.h, docs/policies.md): the scheduler of a VIP
 * (Maglev, round robin, least connections with bounded load) and per-backend
 * caps. New maps only, so pinned maps of ABI v3 stay adoptable; a VIP whose
 * flb_policy element is zero is plain Maglev, as before.
 */
enum flb_sched {
	FLB_SCHED_MAGLEV = 0,
	FLB_SCHED_RR = 1,        /* new flows in turn over flb_rr_seq (per CPU) */
	FLB_SCHED_LEAST_CONN = 2,/* Maglev with bounded load: (1 + eps) x weighted mean */
};

#define FLB_POL_COUNT 0x1    /* count active flows (least_conn or max_active_flows) */
#define FLB_RR_LEN 256       /* flb_rr_seq elements per VIP */
#define FLB_POL_TRIES_MAX 8  /* candidates a new flow may try */
#define FLB_POL_PAIRS 65536  /* (VIP, backend) pairs of services with a policy */

/* flb_policy[vip id]: written by the daemon only. */
struct flb_policy {
	__u8 sched;          /* FLB_SCHED_* */
	__u8 tries;          /* candidates tried, 1..FLB_POL_TRIES_MAX (0: 1) */
	__u16 rr_len;        /* used elements of the VIP's flb_rr_seq run */
	__u32 flags;         /* FLB_POL_* */
	__u32 bound_pm;      /* least_conn: 1000 x (1 + eps) */
	__u32 weight_sum;    /* sum of the weights in flb_pol_be of this VIP */
	__u32 max_nfps;      /* per backend: new flows per second; 0: no cap */
	__u32 burst;         /* token bucket depth for max_nfps (flows) */
	__u32 max_active;    /* per backend: active flows; 0: no cap */
	__u32 pad;
	__s64 adjust;        /* daemon's correction of flb_vip_load[vip id] */
};
_Static_assert(sizeof(struct flb_policy) == 40, "flb_policy layout");

/* Key of flb_pol_be and flb_be_load. */
struct flb_pair {
	__u32 vip;           /* VIP id */
	__u32 backend;       /* backend id */
};
_Static_assert(sizeof(struct flb_pair) == 8, "flb_pair layout");

/* flb_pol_be[(vip, backend)]: written by the daemon only. */
struct flb_pol_be {
	__u32 weight;        /* effective weight in the service */
	__u32 pad;
	__s64 adjust;        /* correction of flb_be_load.active from the conntrack walk */
};
_Static_assert(sizeof(struct flb_pol_be) == 16, "flb_pol_be layout");

/* flb_be_load[(vip, backend)]: written by the dataplane (atomic adds; the
 * daemon creates and deletes elements, never rewrites one). Active flows =
 * active + flb_pol_be.adjust. */
struct flb_be_load {
	__s64 active;        /* counted entries opened minus closed by the dataplane */
	__u64 tat;           /* max_nfps token bucket as GCRA: theoretical arrival, ns */
	__u64 bound_spill;   /* new flows sent on because this backend was over its bound */
	__u64 cap_spill;     /* ... because it was over a cap */
	__u64 refused;       /* new flows dropped: every candidate over a cap (first candidate) */
};
_Static_assert(sizeof(struct flb_be_load) == 40, "flb_be_load layout");

/* Entry flag: the entry is counted in flb_be_load (bpf/choose.h). */
#define FLB_CT_COUNTED 0x4

#define FLB_POLICY_MAP_NAMES(X) \
	X(flb_policy)           \
	X(flb_pol_be)           \
	X(flb_be_load)          \
	X(flb_vip_load)         \
	X(flb_rr_seq)           \
	X(flb_rr_pos)
/* flb_tail: the balancer's PROG_ARRAY into the node role's decap program
 * when both roles share one NIC (bpf/tail.h, docs/pods.md). An empty slot
 * (node role off, or on its own NIC) leaves the balancer as it was. */
#define FLB_TAIL_DECAP 0 /* slot of the decap program */
#define FLB_TAIL_SLOTS 1

#endif
