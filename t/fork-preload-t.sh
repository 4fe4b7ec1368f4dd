#!/bin/sh
# SPDX-License-Identifier: MIT
# t/fork-preload-t.sh - fork() under libmpool-malloc in the two shapes of
# glibc's own fork tests, each program preloaded and run under timeout, so
# that a deadlock is a failure and not a hung make check:
#
#   t/fork-stdio   threads in fflush(NULL) and getline() while four
#                  threads fork (the stream locks before the library's);
#   t/fork-signal  a single-threaded program whose timer signal handler
#                  forks while the program mallocs, frees and forks.
#
# FORK_STDIO_SECONDS (20) and FORK_SIGNAL_SECONDS (10) shorten or lengthen
# the runs; the timeout is each run's length plus FORK_TIMEOUT_MARGIN (40).
: "${top_builddir:=.}" "${top_srcdir:=.}"
: "${FORK_STDIO_SECONDS:=20}" "${FORK_SIGNAL_SECONDS:=10}" "${FORK_TIMEOUT_MARGIN:=40}"
export FORK_STDIO_SECONDS FORK_SIGNAL_SECONDS
PRELOAD_NEED_TIMEOUT=1
. "$top_srcdir/t/preload.sh" # lib, tmp; or the test skips
n=0
echo "1..2"

# run NAME SECONDS DESCRIPTION: t/NAME preloaded, under a timeout
run() {
    name=$1 seconds=$2 what=$3
    n=$((n + 1))
    start=$(date +%s)
    LD_PRELOAD=$lib timeout -k 5 $((seconds + FORK_TIMEOUT_MARGIN)) \
        "$top_builddir/t/$name" > "$tmp/$name.out" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    if [ $rc -eq 0 ]; then
        echo "ok $n - $name: $what (${took} s)"
    elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        echo "not ok $n - $name: $what: no end after ${took} s, a deadlock"
    else
        echo "not ok $n - $name: $what (exit $rc)"
    fi
    sed 's/^/# /' "$tmp/$name.out" | head -20
}

run fork-stdio "$FORK_STDIO_SECONDS" \
    "fork while threads flush every stream and getline reallocs under a stream's lock"
if [ -f "$top_builddir/config.h" ] &&
   ! grep -q '^#define HAVE_LIBC_SINGLE_THREADED 1' "$top_builddir/config.h"; then
    n=$((n + 1))
    echo "ok $n # SKIP the C library has no __libc_single_threaded: every fork takes the locks, so a signal handler may not fork"
else
    run fork-signal "$FORK_SIGNAL_SECONDS" \
        "fork from a timer signal's handler while one thread mallocs, frees and forks"
fi
