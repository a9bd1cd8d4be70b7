/* SPDX-License-Identifier: MIT */
#include "base/err.h"

#include "gale/gale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
gb_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case GALE_ESTOPPED:
		return "the group stopped (a member failed or left)";
	case GALE_EVERSION:
		return "a peer speaks another protocol or layout version";
	case GALE_ECONFIG:
		return "a peer was started with another group configuration";
	case GALE_EWEDGED:
		return "the view is changing; sends are held";
	case GALE_EMINORITY:
		return "this side lost the majority and stopped";
	default:
		break;
	}
	if (err > GALE_EBASE)
		return "unknown Gale error";
	return strerror(err);
}

void
gb_verify_failed(const char *what, const char *file, int line)
{
	fprintf(stderr, "gale: invariant failed: %s (%s:%d)\n", what, file, line);
	abort();
}
