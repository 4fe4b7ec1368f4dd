#!/bin/sh
# SPDX-License-Identifier: MIT
# t/malloc-ext-preload-t.sh - glibc's malloc extensions under LD_PRELOAD:
# t/malloc-ext-prog, which knows nothing of libmpool, gets libmpool's
# numbers from mallinfo2 (100 MB in use while 100 MB live, where glibc's
# idle heap would say 0), malloc_trim(0) returns 1 after they are freed and
# resident memory drops, and malloc_info answers.
: "${top_builddir:=.}" "${top_srcdir:=.}"
. "$top_srcdir/t/preload.sh" # lib, tmp; or the test skips
echo "1..3"
out=$(LD_PRELOAD=$lib "$top_builddir/t/malloc-ext-prog") || out="failed ($?)"
echo "# $out"
grew=$(printf '%s\n' "$out" | sed -n 's/.*grew=\([0-9]*\).*/\1/p')
trim=$(printf '%s\n' "$out" | sed -n 's/.*trim=\([0-9]*\).*/\1/p')
dropped=$(printf '%s\n' "$out" | sed -n 's/.*dropped=\([0-9]*\).*/\1/p')
info=$(printf '%s\n' "$out" | sed -n 's/.*info=\(-*[0-9]*\).*/\1/p')
if [ -n "$grew" ] && [ "$grew" -ge 100000000 ] && [ "$grew" -le 112500000 ]; then
    echo "ok 1 - mallinfo2().uordblks grows by the 100 MB live ($grew)"
else
    echo "not ok 1 - mallinfo2().uordblks grows by the 100 MB live (${grew:-?})"
fi
if [ "$trim" = 1 ] && [ -n "$dropped" ] && [ "$dropped" -ge 80000000 ]; then
    echo "ok 2 - malloc_trim(0) returns 1 and resident memory drops by $dropped bytes"
else
    echo "not ok 2 - malloc_trim(0) returns 1 and resident memory drops by 80 MB (trim ${trim:-?}, ${dropped:-?} bytes)"
fi
if [ "$info" = 0 ]; then
    echo "ok 3 - malloc_info(0, fp) returns 0"
else
    echo "not ok 3 - malloc_info(0, fp) returns 0 (${info:-?})"
fi
