/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Addresses as the control plane handles them: one struct for IPv4 and IPv6,
 * parsed strictly from text and formatted in the canonical inet_ntop form.
 * addr_port_format() gives the "address:port" string that names a backend
 * for Maglev hashing, so it must be the same on every node for the same
 * backend: never change its format without changing the table builder's
 * contract (see DESIGN.md, "Backends are identified ... by a stable name").
 */
#ifndef FLB_ADDR_H
#define FLB_ADDR_H

#include <stddef.h>
#include <stdint.h>

/* Room for any addr_port_format() output: INET6_ADDRSTRLEN (46, NUL included) + "[]:65535". */
#define FLB_ADDR_PORT_STRLEN (46 + 2 + 6)

struct flb_addr {
	int family;        /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network order; IPv4 in bytes[0..3], rest zero */
};

/*
 * Parses dotted-quad IPv4 or IPv6 text (inet_pton). Rejects everything else:
 * empty strings, CIDR suffixes, zone ids, surrounding spaces.
 * Returns 0 or -EINVAL; *out is written only on success.
 */
int addr_parse(const char *s, struct flb_addr *out);

/* "10.0.0.1" or "fd00::1". Returns 0, -EAFNOSUPPORT or -ENOSPC. */
int addr_format(const struct flb_addr *a, char *buf, size_t len);

/*
 * "10.10.2.11:80" or "[fd00::1]:80": the backend identity used for Maglev
 * hashing. Returns 0, -EAFNOSUPPORT or -ENOSPC (buf then holds "").
 */
int addr_port_format(const struct flb_addr *a, uint16_t port, char *buf,
		     size_t len);

/* Orders by family, then bytes; 0 when equal. For sorting and duplicates. */
int addr_cmp(const struct flb_addr *a, const struct flb_addr *b);

#endif
