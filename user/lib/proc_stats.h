/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process_* figures every Prometheus exporter publishes (CPU time,
 * memory, file descriptors, start time), read from /proc/self as the
 * official client libraries read them. proc_stats_parse() is the pure
 * part; proc_stats_read() does the I/O.
 */
#ifndef FLB_PROC_STATS_H
#define FLB_PROC_STATS_H

#include <stdbool.h>
#include <stdint.h>

struct proc_stats {
	double cpu_seconds;      /* user + system */
	uint64_t rss_bytes;
	uint64_t vsize_bytes;
	double start_time_s;     /* Unix time */
	uint64_t open_fds;
	uint64_t max_fds;        /* RLIMIT_NOFILE soft limit */
};

/* From the text of /proc/self/stat, the btime line's value of /proc/stat,
 * the clock ticks per second and the page size. Returns 0 or -EINVAL when
 * stat does not have the kernel's format (the comm field may hold spaces
 * and parentheses: the fields are counted from the last ')'). */
int proc_stats_parse(const char *stat, uint64_t btime, long ticks, long page,
		     struct proc_stats *out);
/* Everything for this process. Returns 0 or -errno. */
int proc_stats_read(struct proc_stats *out);

#endif
