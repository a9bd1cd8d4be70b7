/* SPDX-License-Identifier: MIT */
/* What the kernel says of another process. */
#ifndef GALE_BASE_PROC_H
#define GALE_BASE_PROC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * True if process pid has begun to die (PF_EXITING in /proc/PID/stat), is a
 * zombie, or is gone. A pidfd turns readable only at the end of an exit,
 * after the process's memory is torn down, which takes milliseconds for a
 * process with large shared mappings; this sees the start. One open/read.
 */
bool gb_process_exiting(int32_t pid);

#endif
