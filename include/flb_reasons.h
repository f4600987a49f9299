/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every way a packet leaves a fluxlb XDP program, as one X-macro list. The BPF
 * code counts with the enum; the exporter and CLI print the label strings.
 * Each exit path of a program counts exactly one reason (see docs/observability.md,
 * "Counters", for what each means to an operator).
 *
 * Add new reasons at the end of a block only: the index is part of the map
 * ABI (flb_reasons is indexed by it). The counter maps have room for
 * FLB_R_SLOTS reasons and FLB_E_SLOTS events, so adding one changes no map's
 * size and keeps pinned maps (and conntrack) adoptable across the upgrade.
 */
#ifndef FLB_REASONS_H
#define FLB_REASONS_H

#define FLB_REASONS(X)                                                         \
	/* balancer */                                                         \
	X(FWD_TX,           "fwd_tx")           /* encapsulated, sent back out the ingress NIC */ \
	X(FWD_REDIRECT,     "fwd_redirect")     /* encapsulated, redirected to another NIC */ \
	X(PASS_NOT_READY,   "pass_not_ready")   /* daemon has not set ready yet */ \
	X(PASS_NOT_IP,      "pass_not_ip")      /* ethertype is neither IPv4 nor IPv6 */ \
	X(PASS_QINQ,        "pass_qinq")        /* more than one VLAN tag */ \
	X(PASS_NOT_VIP,     "pass_not_vip")     /* destination is no VIP */ \
	X(PASS_L4_OTHER,    "pass_l4_other")    /* IP protocol other than TCP/UDP, ICMP that is no error */ \
	X(PASS_EXT_DEPTH,   "pass_ext_depth")   /* IPv6 extension header chain longer than we walk */ \
	X(PASS_NO_NEIGH,    "pass_no_neigh")    /* encapsulated, next hop unresolved: kernel resolves it */ \
	X(PASS_BIG_NO_DF,   "pass_big_no_df")   /* encapsulated IPv4-in-IPv4, over the MTU, DF clear: kernel fragments */ \
	X(TX_ICMP_TOO_BIG,  "tx_icmp_too_big")  /* over the MTU after encapsulation: ICMP sent to client */ \
	X(BAD_ETH,          "bad_eth")          /* truncated Ethernet or VLAN header */ \
	X(BAD_IPV4,         "bad_ipv4")         /* truncated IPv4 header, IHL < 5, bad total length */ \
	X(BAD_IPV6,         "bad_ipv6")         /* truncated IPv6 or extension header, bad payload length */ \
	X(BAD_L4,           "bad_l4")           /* truncated TCP/UDP/ICMP header or quoted header */ \
	X(DROP_NO_BACKEND,  "drop_no_backend")  /* VIP has no usable backend */ \
	X(DROP_NO_ROUTE,    "drop_no_route")    /* FIB has no route to the backend */ \
	X(DROP_ENCAP,       "drop_encap")       /* headroom could not be grown */ \
	X(DROP_TOO_BIG,     "drop_too_big")     /* over the MTU, no too-big reply allowed, cannot be fragmented */ \
	/* decap */                                                            \
	X(DECAP_OK,         "decap_ok")         /* outer header stripped, inner passed up */ \
	X(DECAP_PASS_OTHER, "decap_pass_other") /* not IPIP to this host: passed unchanged */ \
	X(DECAP_BAD,        "decap_bad")        /* truncated outer or inner header: passed */ \
	/* node side: decap's translation for pods, and the reverse NAT (docs/pods.md) */ \
	X(DECAP_DNAT,       "decap_dnat")       /* stripped, VIP:port translated to a local pod:port */ \
	X(DNAT_NO_FLOW,     "dnat_no_flow")     /* flow could not be recorded: dropped */ \
	X(RNAT_OK,          "rnat_ok")          /* reply of a translated flow: source set back to VIP:port */ \
	X(RNAT_PASS,        "rnat_pass")        /* not a reply of a translated flow: unchanged */ \
	X(RNAT_EXPIRED,     "rnat_expired")     /* flow entry idle past its timeout: unchanged */ \
	X(RNAT_BAD,         "rnat_bad")         /* truncated IP or TCP/UDP header: unchanged */ \
	/* decap: second chance (bpf/chance_decap.h, docs/bgp.md) */          \
	X(DECAP_CHANCE_SOCK, "decap_chance_sock") /* second-chance packet, a local socket: delivered */ \
	X(DECAP_CHANCE_SYN,  "decap_chance_syn")  /* second-chance packet that is a SYN (or not TCP): delivered */ \
	X(DECAP_CHANCE_FWD,  "decap_chance_fwd")  /* no socket, not a SYN: re-encapsulated to the secondary, sent */ \
	X(DECAP_CHANCE_BACK, "decap_chance_back") /* the same, host does not forward: sent back to the hop it came from */ \
	X(DECAP_CHANCE_PASS, "decap_chance_pass") /* the same, next hop unresolved: to the kernel to forward */ \
	X(DECAP_CHANCE_LOST, "decap_chance_lost") /* no route to the secondary, or truncated: delivered here */ \
	/* balancer: per-source-prefix limit (bpf/flood.h) */ \
	X(DROP_PREFIX,      "drop_prefix_limit") /* TCP SYN over its source prefix's new-flow limit (node.flood.prefix) */

enum flb_reason {
#define FLB_REASON_ENUM(name, label) FLB_R_##name,
	FLB_REASONS(FLB_REASON_ENUM)
#undef FLB_REASON_ENUM
	FLB_R_MAX
};

#define FLB_R_SLOTS 64 /* max_entries of every reasons map */
_Static_assert(FLB_R_MAX <= FLB_R_SLOTS, "more reasons than the reasons maps hold");

/*
 * Events that are not exits: a packet can count several (a conntrack miss
 * that then inserts). Separate map so that reasons sum to packets seen.
 */
#define FLB_EVENTS(X)                                                          \
	X(CT_HIT,          "ct_hit")          /* conntrack entry used */ \
	X(CT_MISS,         "ct_miss")         /* TCP non-SYN packet without an entry: predicts a reset */ \
	X(CT_STALE,        "ct_stale")        /* entry named a removed or reused backend */ \
	X(CT_INSERT,       "ct_insert")       /* entry created or replaced */ \
	X(SYN_LOOKUP,      "syn_lookup")      /* TCP SYN took a fresh Maglev lookup */ \
	X(CT_EXPIRED,      "ct_expired")      /* entry idle past its life (timeout, or close grace): ignored */ \
	X(CT_RST,          "ct_rst")          /* client RST: entry closing */ \
	X(ICMP_STEERED,    "icmp_steered")    /* ICMP error steered by the flow it quotes */ \
	X(FRAG_FIRST,      "frag_first")      /* first fragment: datagram recorded */ \
	X(FRAG_FOLLOW,     "frag_follow")     /* later fragment followed its datagram */ \
	X(FRAG_UNKNOWN,    "frag_unknown")    /* later fragment before its first: 3-tuple hash */ \
	X(CT_FIN,          "ct_fin")          /* client FIN: entry closing */ \
	X(UDP_NEW_FLOW,    "udp_new_flow")    /* UDP datagram without an entry: a new flow */ \
	X(FLOOD_SYN,       "flood_syn")       /* flood mode: SYN steered by Maglev, no entry made */ \
	X(FLOOD_ENTER,     "flood_enter")     /* a CPU went over flood_nfps: flood mode for this second and the next */ \
	X(CHANCE_SENT,     "chance_sent")     /* TCP non-SYN miss, previous table names another backend: sent with it as secondary */ \
	X(CHANCE_SAME,     "chance_same")     /* TCP non-SYN miss, previous table names the same backend (or none usable) */ \
	X(CHANCE_NO_PREV,  "chance_no_prev")  /* TCP non-SYN miss, no previous table within its window */ \
	X(CHANCE_FAMILY,   "chance_family")   /* TCP non-SYN miss, a backend is not IPv4: plain encapsulation */ \
	X(AFF_HIT,         "affinity_hit")    /* a sticky client's new flow went to its backend */ \
	X(AFF_NEW,         "affinity_new")    /* a client's backend (re)recorded for affinity */ \
	X(SYN_RETRANS,     "syn_retransmit")  /* a SYN again for an entry made by a SYN and nothing since */ \
	X(POLICY_SPILL,    "policy_spill")    /* new flow passed over a candidate (bound or cap) to a later one */ \
	X(CAP_DROP,        "cap_drop")        /* new flow dropped: every candidate over a per-backend cap */

enum flb_event {
#define FLB_EVENT_ENUM(name, label) FLB_E_##name,
	FLB_EVENTS(FLB_EVENT_ENUM)
#undef FLB_EVENT_ENUM
	FLB_E_MAX
};

#define FLB_E_SLOTS 32 /* max_entries of flb_events */
_Static_assert(FLB_E_MAX <= FLB_E_SLOTS, "more events than flb_events holds");

#endif
