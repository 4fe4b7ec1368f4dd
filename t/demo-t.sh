#!/bin/sh
# SPDX-License-Identifier: MIT
# t/demo-t.sh - the demonstration runs, and MPOOL_STATS=1 makes the library
# print its cache report on standard error at exit (without it, nothing).
: "${top_builddir:=.}"
if [ "${MPOOL_BACKEND:-}" = k210 ]; then
    # demo/Makefile.inc builds it only where HOSTED: it prints the report
    # of mpool_report(3) and allocates tens of MiB
    echo "1..0 # SKIP the demonstration is a hosted program: the k210 build has no mpool_report, no MPOOL_STATS, and 8 MiB"
    exit 0
fi
demo="$top_builddir/demo/mpool-demo"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..4"
if "$demo" > "$tmp/out" 2> "$tmp/err"; then
    echo "ok 1 - the demonstration runs"
else
    echo "not ok 1 - the demonstration runs"
fi
if grep -q '^object cache "session"' "$tmp/out" &&
   grep -q 'mpool_reclaim(NULL) gave back' "$tmp/out"; then
    echo "ok 2 - it shows a cache and what reclaim gave back"
else
    echo "not ok 2 - it shows a cache and what reclaim gave back"
fi
if grep -q '# libmpool caches' "$tmp/err"; then
    echo "not ok 3 - without MPOOL_STATS no report at exit"
else
    echo "ok 3 - without MPOOL_STATS no report at exit"
fi
MPOOL_STATS=1 "$demo" > /dev/null 2> "$tmp/err"
if grep -q '^# libmpool caches' "$tmp/err" && grep -q '^mpool_slab ' "$tmp/err"; then
    echo "ok 4 - MPOOL_STATS=1 prints the cache report at exit"
else
    echo "not ok 4 - MPOOL_STATS=1 prints the cache report at exit"
    sed 's/^/# /' "$tmp/err"
fi
