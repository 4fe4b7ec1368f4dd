#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz-replay-t.sh - replay the fuzz target's seed corpus (t/fuzz/corpus/)
# through the target linked with the ordinary library (t/fuzz/replay), one
# TAP point per corpus file.  Each input runs in its own process, so a
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
echo "1..$#"
n=0
for f in "$@"; do
    n=$((n + 1))
    name=${f##*/}
    if out=$("$replay" "$f" 2>&1); then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name"
        printf '%s\n' "$out" | tail -n 20 | sed 's/^/# /'
    fi
done
