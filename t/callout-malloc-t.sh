#!/bin/sh
# SPDX-License-Identifier: MIT
# t/callout-malloc-t.sh - a cache constructor that calls malloc, with
# libmpool-malloc preloaded, running out of memory (t/callout-malloc.c):
# under RLIMIT_AS 256 MiB the program allocates until mpool_cache_alloc
# fails, which must be NULL with ENOMEM, not a deadlock (a library that
# ran reclaim under the constructor's cache's lock hung here).  Run under
# timeout(1): a hang is a failure after $MPOOL_TEST_DEADLINE seconds (30).
: "${top_builddir:=.}" "${top_srcdir:=.}"
deadline=${MPOOL_TEST_DEADLINE:-30}
PRELOAD_NEED_TIMEOUT=1
. "$top_srcdir/t/preload.sh" # lib, tmp; or the test skips
prog="$top_builddir/t/callout-malloc"
echo "1..2"
LD_PRELOAD=$lib timeout -s KILL "$deadline" "$prog" > "$tmp/out" 2>&1
rc=$?
sed 's/^/# /' "$tmp/out"
if [ $rc -eq 137 ] || [ $rc -eq 124 ]; then
    echo "not ok 1 - a constructor calling malloc, out of memory: finished within $deadline s"
    echo "# hung: killed after $deadline s"
    echo "ok 2 # SKIP it ended with NULL and ENOMEM, objects intact: not reached (it hung)"
    exit 0
fi
echo "ok 1 - a constructor calling malloc, out of memory: finished within $deadline s"
if [ $rc -eq 0 ]; then
    echo "ok 2 - it ended with NULL and ENOMEM, objects intact, destructors balanced"
else
    echo "not ok 2 - it ended with NULL and ENOMEM, objects intact, destructors balanced (exit $rc)"
fi
