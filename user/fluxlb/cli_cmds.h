/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The CLI's commands, each defined beside its code in cli_<topic>.c
 * (name, handler, summary, --help text); fluxlb.c dispatches to them.
 */
#ifndef FLB_CLI_CMDS_H
#define FLB_CLI_CMDS_H

#include "cli_common.h"

extern const struct cli_cmd cli_cmd_status;
extern const struct cli_cmd cli_cmd_stats;
extern const struct cli_cmd cli_cmd_vip_list;
extern const struct cli_cmd cli_cmd_backend_list;
extern const struct cli_cmd cli_cmd_flow_list;
extern const struct cli_cmd cli_cmd_which;
extern const struct cli_cmd cli_cmd_tree;
extern const struct cli_cmd cli_cmd_decap_attach;
extern const struct cli_cmd cli_cmd_decap_detach;
extern const struct cli_cmd cli_cmd_decap_stats;

#endif
