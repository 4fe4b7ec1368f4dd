#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz-replay-t.sh - replay the fuzz target's seed corpus (t/fuzz/corpus/)
# through the target linked with the ordinary library (t/fuzz/replay), one
# TAP point per corpus file and mode (plain, and checking mode).  Each input runs in its own process, so a
# failing one (the target aborts with what the shadow model disagreed
# with) fails only its point.  t/fuzz/Makefile.inc says how `make fuzz`
# grows the corpus.
: "${top_srcdir:=.}" "${top_builddir:=.}"
replay=$top_builddir/t/fuzz/replay
corpus=$top_srcdir/t/fuzz/corpus

if [ ! -x "$replay" ]; then
    echo "1..0 # SKIP $replay not built"
    exit 0
fi
set -- "$corpus"/*
if [ ! -f "$1" ]; then
    echo "Bail out! no corpus in $corpus"
    exit 1
fi
# Each input twice: plainly, and in checking mode (MPOOL_DEBUG=1, which
# the target reads too, to expect what checking mode changes).  The k210
# build reads no environment: once only there.
modes="plain debug"
grep -q 'MPOOL_BACKEND_NAME "k210"' "$top_builddir/config.h" 2>/dev/null &&
    modes=plain
nmodes=$(echo $modes | wc -w)
echo "1..$(($# * nmodes))"
n=0
for mode in $modes; do
    for f in "$@"; do
        n=$((n + 1))
        name=${f##*/}
        if [ "$mode" = debug ]; then
            out=$(MPOOL_DEBUG=1 "$replay" "$f" 2>&1)
        else
            out=$(env -u MPOOL_DEBUG "$replay" "$f" 2>&1)
        fi
        if [ $? -eq 0 ]; then
            echo "ok $n - $name ($mode)"
        else
            echo "not ok $n - $name ($mode)"
            printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
        fi
    done
done
