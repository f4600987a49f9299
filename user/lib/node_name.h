/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The name of the node this process runs on, as per-node settings and the
 * metrics' node label use it: $FLUXLB_NODE_NAME, else $NODE_NAME (the
 * DaemonSet sets it from spec.nodeName), else the host name (uname).
 */
#ifndef FLB_NODE_NAME_H
#define FLB_NODE_NAME_H

#include <stddef.h>

/* Writes the name into buf (truncated to len - 1); returns buf. */
char *node_name(char *buf, size_t len);

#endif
