/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one clock of fluxlb's userspace: CLOCK_MONOTONIC, which is also the
 * clock of bpf_ktime_get_ns(), so a conntrack entry's last_seen and a drain
 * start compare directly. Wall-clock time is only for log timestamps.
 */
#ifndef FLB_CLOCK_H
#define FLB_CLOCK_H

#include <stdint.h>

uint64_t clock_ns(void); /* monotonic nanoseconds */
uint64_t clock_ms(void); /* monotonic milliseconds */

#endif
