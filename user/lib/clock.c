// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The monotonic clock (see clock.h). */
#include <time.h>

#include "clock.h"

uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t clock_ms(void)
{
	return clock_ns() / 1000000;
}
