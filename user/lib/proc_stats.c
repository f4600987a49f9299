// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* process_* figures from /proc/self (see proc_stats.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proc_stats.h"

int proc_stats_parse(const char *stat, uint64_t btime, long ticks, long page,
		     struct proc_stats *out)
{
	const char *p = strrchr(stat, ')');
	unsigned long long utime, stime, start, vsize;
	long long rss;

	if (!p || ticks <= 0 || page <= 0)
		return -EINVAL;
	/* After "pid (comm)": field 3 (state) ... 14 utime, 15 stime, 22
	 * starttime, 23 vsize, 24 rss (proc(5)). */
	if (sscanf(p + 1,
		   " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %lld",
		   &utime, &stime, &start, &vsize, &rss) != 5)
		return -EINVAL;
	out->cpu_seconds = (double)(utime + stime) / ticks;
	out->start_time_s = (double)btime + (double)start / ticks;
	out->vsize_bytes = vsize;
	out->rss_bytes = rss > 0 ? (uint64_t)rss * (uint64_t)page : 0;
	return 0;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return n ? 0 : -EINVAL;
}

/* The btime line of /proc/stat, which follows lines (intr) of any length. */
static int boot_time(unsigned long long *btime)
{
	FILE *f = fopen("/proc/stat", "r");
	size_t cap = 0;
	char *line = NULL;
	int err = -EINVAL;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0)
		if (sscanf(line, "btime %llu", btime) == 1) {
			err = 0;
			break;
		}
	free(line);
	fclose(f);
	return err;
}

int proc_stats_read(struct proc_stats *out)
{
	unsigned long long btime = 0;
	char stat[1024];
	struct rlimit rl;
	struct dirent *e;
	DIR *fds;
	int err;

	memset(out, 0, sizeof(*out));
	err = read_file("/proc/self/stat", stat, sizeof(stat));
	if (!err)
		err = boot_time(&btime);
	if (!err)
		err = proc_stats_parse(stat, btime, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE), out);
	if (err)
		return err;
	fds = opendir("/proc/self/fd");
	if (fds) {
		while ((e = readdir(fds)))
			out->open_fds += e->d_name[0] != '.';
		closedir(fds);
		out->open_fds--; /* the one opendir() holds */
	}
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		out->max_fds = rl.rlim_cur;
	return 0;
}
