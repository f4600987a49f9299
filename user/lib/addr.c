// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Address parsing and formatting (see addr.h). inet_pton and inet_ntop do the
 * work: glibc's inet_pton for AF_INET takes exactly four decimal parts with
 * no leading zeros, so "10.1", "010.0.0.1" and "0x0a.0.0.1" (which inet_aton
 * would accept) are rejected, and inet_ntop gives RFC 5952 text for IPv6.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

int addr_parse(const char *s, struct flb_addr *out)
{
	struct flb_addr a;

	if (!s)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.bytes) == 1) {
		a.family = AF_INET6;
	} else {
		return -EINVAL;
	}
	*out = a;
	return 0;
}

int addr_format(const struct flb_addr *a, char *buf, size_t len)
{
	if (a->family != AF_INET && a->family != AF_INET6)
		return -EAFNOSUPPORT;
	/* inet_ntop takes a socklen_t: clamp rather than let a huge len wrap. */
	if (len > INET6_ADDRSTRLEN)
		len = INET6_ADDRSTRLEN;
	if (!inet_ntop(a->family, a->bytes, buf, len))
		return -errno;
	return 0;
}

int addr_port_format(const struct flb_addr *a, uint16_t port, char *buf,
		     size_t len)
{
	char host[INET6_ADDRSTRLEN];
	int err, n;

	if (len)
		buf[0] = '\0';
	err = addr_format(a, host, sizeof(host));
	if (err)
		return err;
	/* Brackets keep the port separable from an IPv6 address (RFC 3986). */
	if (a->family == AF_INET6)
		n = snprintf(buf, len, "[%s]:%u", host, port);
	else
		n = snprintf(buf, len, "%s:%u", host, port);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int addr_cmp(const struct flb_addr *a, const struct flb_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}
