/* SPDX-License-Identifier: MIT */
/*
 * options.c - the environment variables, read once when the library is
 * loaded.  Hosted builds only; a bare-metal kernel sets mp_debug_all
 * itself if it wants checking mode everywhere.
 *
 *   MPOOL_DEBUG=1   every cache created afterwards is in checking mode
 *                   (as if made with MPOOL_CACHE_DEBUG)
 *   MPOOL_STATS=1   print the cache report (mpool_report) on standard
 *                   error when the program exits
 *
 * Both are read with secure_getenv(), so a set-user-ID or set-group-ID
 * program ignores them.
 */
#include <stdlib.h>
#include <unistd.h>

#include "top.h"

static void
report_at_exit(void)
{
    mpool_report_fd(STDERR_FILENO);
}

static bool
option_on(const char *name)
{
    const char *v = secure_getenv(name);

    return v != NULL && v[0] == '1' && v[1] == '\0';
}

__attribute__((constructor)) static void
options_read(void)
{
    if (option_on("MPOOL_DEBUG"))
        mp_debug_all = 1;
    if (option_on("MPOOL_STATS"))
        atexit(report_at_exit);
}
