#!/bin/sh
# SPDX-License-Identifier: MIT
# t/mallopt-preload-t.sh - mallopt(3) under LD_PRELOAD: t/mallopt-prog, a
# program linked with nothing of libmpool, calls mallopt(M_TRIM_THRESHOLD,
# 1 MiB) between two rounds of 20 MB of malloc'd blocks freed; with
# libmpool-malloc preloaded the call reaches libmpool (it returns 1, and
# the default pool then keeps at most 1 MiB of empty slabs, where before
# it kept its default 4 MiB), not glibc's idle heap.
: "${top_builddir:=.}" "${top_srcdir:=.}"
. "$top_srcdir/t/preload.sh" # lib, tmp; or the test skips
echo "1..3"
out=$(LD_PRELOAD=$lib "$top_builddir/t/mallopt-prog" 2>&1)
status=$?
echo "# $out"
if [ $status -eq 0 ]; then
    echo "ok 1 - preloaded, the program runs with libmpool-malloc"
else
    echo "not ok 1 - preloaded, the program runs with libmpool-malloc (exit $status)"
fi
rc=$(printf '%s\n' "$out" | sed -n 's/.*rc=\([-0-9]*\).*/\1/p')
before=$(printf '%s\n' "$out" | sed -n 's/.*before=\([0-9]*\).*/\1/p')
after=$(printf '%s\n' "$out" | sed -n 's/.*after=\([0-9]*\).*/\1/p')
# before it the default cap (4 MiB, 1024 pages) keeps more than 1 MiB
if [ "${rc:-0}" = 1 ] && [ "${before:-0}" -gt 656 ]; then
    echo "ok 2 - mallopt(M_TRIM_THRESHOLD) returns 1; before it the default pool kept $before pages of empty slabs"
else
    echo "not ok 2 - mallopt(M_TRIM_THRESHOLD) returns 1 (rc=$rc), the default pool kept its empty slabs before ($before pages)"
fi
# 1 MiB is 256 pages; magazines and the depot hold a few hundred blocks
if [ -n "$after" ] && [ "$after" -lt 656 ]; then
    echo "ok 3 - after it at most 1 MiB of empty slabs is kept ($after pages reclaimed)"
else
    echo "not ok 3 - after it at most 1 MiB of empty slabs is kept ($after pages reclaimed)"
fi
