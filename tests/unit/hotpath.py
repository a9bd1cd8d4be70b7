#!/usr/bin/env python3
"""The hot path's rules, as the objects show them.

Files on the per-message path are named *_fp.c. Their objects, read from
each layer's static library, may not reference allocation, locks, system
calls, clocks, file or terminal I/O, the logger or process exit: what a
pass or a claim must never do. The slow work they start lives in other
files (app.c, tick.c, viewchange.c, the datagram layer), which they call by
name; every other symbol they reference must be one of Gale's own (dp_*,
gb_*, gale_*) or a plain memory function, so that a new libc call is seen
here and judged.

usage: hotpath.py BUILD_DIR
"""
import re
import subprocess
import sys

LIBS = ["dataplane/libgale-dataplane.a", "api/libgale-api.a"]
FORBIDDEN = re.compile(
    r"^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|valloc|mmap|munmap|mremap"
    r"|pthread_\w+|sem_\w+|mtx_\w+|cnd_\w+"
    r"|clock_gettime|gettimeofday|time|nanosleep|usleep|sleep|sched_yield"
    r"|syscall|read|write|open|openat|close|poll|ppoll|epoll_\w+|select|ioctl|fcntl"
    r"|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|pidfd_\w+"
    r"|\w*printf\w*|puts|fputs|fputc|putc|putchar|fwrite|fread|fopen|fclose|fflush|perror"
    r"|gb_log\w*|gb_now_ns|gb_sleep_ns|gb_process_exiting|abort|exit|_exit|__assert_fail)$")
ALLOWED = re.compile(r"^(dp_\w+|gb_\w+|gale_\w+|memcpy|memmove|memset|memcmp"
                     r"|__mem\w+_chk|__stack_chk_fail"
                     r"|_GLOBAL_OFFSET_TABLE_)$")  # the linker's, under sanitizers
SANITIZER = re.compile(r"^(__asan_|__ubsan_|__tsan_|__msan_|__lsan_|__sanitizer_|__gcov_)")


def undefined_by_member(lib):
    out = subprocess.run(["nm", "-u", lib], check=True, capture_output=True,
                         text=True).stdout
    member, syms = None, {}
    for line in out.splitlines():
        line = line.strip()
        if line.endswith(":"):
            member = line[:-1]
            syms[member] = []
        elif line and member:
            syms[member].append(line.split()[-1])
    return syms


def main():
    build = sys.argv[1]
    bad, checked = [], 0
    for lib in LIBS:
        for member, syms in undefined_by_member(f"{build}/{lib}").items():
            if not re.search(r"_fp\.c\.o$", member):
                continue
            checked += 1
            for s in syms:
                s = s.split("@")[0]
                if SANITIZER.match(s):
                    continue
                if FORBIDDEN.match(s) or not ALLOWED.match(s):
                    bad.append(f"{lib}({member}) references {s}")
            print(f"{member}: {' '.join(sorted(syms)) or '(nothing)'}")
    if checked < 4:
        bad.append(f"only {checked} hot-path objects found: the *_fp.c files moved?")
    for b in bad:
        print("hotpath: " + b, file=sys.stderr)
    print(f"hotpath: {checked} objects, {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
