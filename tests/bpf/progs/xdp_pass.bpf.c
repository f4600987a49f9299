// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Test fixture: passes every frame. XDP_TX into a veth is delivered only
 * when the peer runs an XDP program (FIELD-NOTES), so the e2e topology puts
 * this on the client's end of its link to the balancer.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
