// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The node's name (see node_name.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>

#include "node_name.h"

char *node_name(char *buf, size_t len)
{
	const char *env = getenv("FLUXLB_NODE_NAME");
	struct utsname u;

	if (!env || !*env)
		env = getenv("NODE_NAME");
	if ((!env || !*env) && !uname(&u)) {
		snprintf(buf, len, "%s", u.nodename);
		return buf;
	}
	snprintf(buf, len, "%s", env ? env : "");
	return buf;
}
