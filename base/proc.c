/* SPDX-License-Identifier: MIT */
#include "base/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PF_EXITING_FLAG 0x4u /* include/linux/sched.h */

bool
gb_process_exiting(int32_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT; /* reaped already */
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* Fields after the command name, which may hold anything but ends at the last ')'. */
	const char *p = strrchr(buf, ')');
	unsigned long long flags = 0;
	char state;
	int ppid, pgrp, session, tty, tpgid;
	if (!p || sscanf(p + 1, " %c %d %d %d %d %d %llu", &state, &ppid, &pgrp, &session, &tty,
			 &tpgid, &flags) != 7)
		return false;
	return (flags & PF_EXITING_FLAG) || state == 'Z' || state == 'X';
}
