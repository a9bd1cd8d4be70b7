/* SPDX-License-Identifier: MIT */
/*
 * Error texts: -errno values and Gale's own codes above 4096 (the public
 * header's enum gale_error, the one contract every layer shares). What
 * gale_strerror() returns, usable by every layer for its log lines.
 */
#ifndef GALE_BASE_ERR_H
#define GALE_BASE_ERR_H

/* The text for err (negative or positive). thread: any. */
const char *gb_strerror(int err);

/*
 * gb_verify()'s failure (compiler.h): print what failed and abort. Out of
 * line and cold, so a hot-path object that verifies references only this.
 */
__attribute__((noreturn, cold)) void gb_verify_failed(const char *what, const char *file, int line);

#endif
