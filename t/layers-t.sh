#!/bin/sh
# SPDX-License-Identifier: MIT
# t/layers-t.sh - lib/'s layers call only downward (doc/design.md §1).
#
# Layers, bottom up: backend (lib/backend.h, lib/tcell.h, backends/), base (lib/base/),
# page (lib/page/), cache (lib/cache/), pool (lib/pool/), top (lib/*.c,
# lib/top.h, lib/hosted/).  The public headers (lib/mpool.h, lib/mpool-k210.h) and config.h
# belong to no layer: any file may include them.
#
# 1. Every #include "..." of every source and header of lib/ and
#    backends/ names a header of its own layer or of one below.
# 2. In the built objects, every mp_* symbol a layer's object uses is
#    defined by an object of its own layer or of one below, except
#    the contracts a header of a lower layer declares for a higher one to
#    fulfil: mp_init_slow (base.h: initialisation, the top layer's, drives
#    every layer bottom up), mp_tcache_empty and mp_tcache_thread_exit
#    (backend.h: the core's empty thread table and its thread-exit
#    handler, which a backend's thread hook calls).
: "${top_srcdir:=.}" "${top_builddir:=.}"
cd "$top_srcdir" || exit 1
srcdir=$(pwd)

rank_of() { # path relative to the source tree -> rank, or "any"
    case $1 in
    lib/mpool.h | mpool.h | lib/mpool-k210.h | mpool-k210.h | config.h) echo any ;;
    lib/backend.h | backend.h | lib/tcell.h | tcell.h | backend-inline.h | backends/*) echo 0 ;;
    lib/base/*) echo 1 ;;
    lib/page/*) echo 2 ;;
    lib/cache/*) echo 3 ;;
    lib/pool/*) echo 4 ;;
    lib/top.h | lib/*.c | lib/hosted/*) echo 5 ;;
    *) echo unknown ;;
    esac
}

n=0
fail=0
bad=""
files=$(find lib backends -name '*.[ch]' | sort)
for f in $files; do
    r=$(rank_of "$f")
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
        ../*) target=$(dirname "$f")/$inc ;;
        */*) target=lib/$inc ;;
        *) if [ -f "$(dirname "$f")/$inc" ]; then target=$(dirname "$f")/$inc
           elif [ -f "lib/$inc" ]; then target=lib/$inc
           else target=$inc; fi ;;
        esac
        t=$(rank_of "$target")
        if [ "$t" = unknown ] || { [ "$t" != any ] && [ "$t" -gt "$r" ]; }; then
            bad="$bad $f:$inc"
        fi
    done
done
n=$((n + 1))
if [ -z "$bad" ]; then
    echo "ok $n - every #include in lib/ and backends/ names its own layer or one below"
else
    echo "not ok $n - includes of a higher layer:$bad"
    fail=1
fi

# 2: symbols, from the objects of this build
cd "$OLDPWD" 2>/dev/null || true
cd "$top_builddir" || exit 1
# objects of sources that exist (a build tree may keep stale ones)
objs=$(find lib backends -path '*/.libs/*' -name '*libmpool_core_la-*.o' 2>/dev/null |
    sort | while read -r o; do
        src=$(echo "$o" | sed 's|/\.libs/[^/]*libmpool_core_la-|/|; s|\.o$|.c|')
        [ -f "$srcdir/$src" ] && echo "$o"
    done)
n=$((n + 1))
if [ -z "$objs" ] || ! command -v nm > /dev/null; then
    echo "ok $n # SKIP no shared-library objects of the core in this build, or no nm"
else
    defs=$(mktemp) || exit 1
    trap 'rm -f "$defs"' EXIT
    for o in $objs; do
        src=$(echo "$o" | sed 's|/\.libs/[^/]*libmpool_core_la-|/|; s|\.o$|.c|')
        r=$(rank_of "$src")
        [ "$r" = any ] && r=0
        nm "$o" | awk -v r="$r" '$2 ~ /^[TDBRC]$/ && $3 ~ /^mp_/ {print $3, r}'
    done > "$defs"
    bad=""
    for o in $objs; do
        src=$(echo "$o" | sed 's|/\.libs/[^/]*libmpool_core_la-|/|; s|\.o$|.c|')
        r=$(rank_of "$src")
        for sym in $(nm -u "$o" | awk '$2 ~ /^mp_/ {print $2}'); do
            case $sym in # the contracts (see the top of this file)
            mp_init_slow | mp_tcache_empty | mp_tcache_thread_exit) continue ;;
            esac
            d=$(awk -v s="$sym" '$1 == s {print $2; exit}' "$defs")
            [ -z "$d" ] && continue # the backend's (inline) or the C library's
            if [ "$d" -gt "$r" ]; then
                bad="$bad $src:$sym"
            fi
        done
    done
    if [ -z "$bad" ]; then
        echo "ok $n - no object of a layer uses a symbol a higher layer defines"
    else
        echo "not ok $n - symbols of a higher layer used:$bad"
        fail=1
    fi
fi
echo "1..$n"
exit 0
