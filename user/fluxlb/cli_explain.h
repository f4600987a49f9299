/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `fluxlb which`'s explanation of the VIP's new-flow policy (cli_explain.c). */
#ifndef FLB_CLI_EXPLAIN_H
#define FLB_CLI_EXPLAIN_H

#include <stdint.h>

#include "flb_abi.h"
#include "pinned_maps.h"

/* Prints the policy of VIP vip for a new flow whose Maglev slot is slot of
 * the table ids[0..size): the candidates in order with their counts, caps
 * and verdicts (text and JSON key "policy"). bes: flb_backends. */
void cli_explain_policy(const struct flb_maps *m, uint32_t vip, const uint32_t *ids,
			uint32_t size, uint32_t slot, const struct flb_backend *bes);

#endif
