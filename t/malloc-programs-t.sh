#!/bin/sh
# SPDX-License-Identifier: MIT
# t/malloc-programs-t.sh - real programs run unchanged with libmpool-malloc
# preloaded: python3 on an allocation-heavy script, sqlite3 on a database
# workload, and t/malloc-mt (threads with cross-thread frees); each one's
# output must equal its output without the preload.  Then memcheck sees a
# use after free through the override (the library's client requests, with
# --soname-synonyms=somalloc=nouserintercepts), and MPOOL_STATS=1 prints
# the report of a preloaded program.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${VALGRIND:=valgrind}"
. "$top_srcdir/t/preload.sh" # lib, tmp; or the test skips
n=0
echo "1..6"
# same NAME COMMAND...: the output with the preload equals the output without
same() {
    name=$1; shift
    n=$((n + 1))
    if ! command -v "$1" > /dev/null 2>&1 && [ ! -x "$1" ]; then
        echo "ok $n # SKIP $1 is not installed"; return
    fi
    "$@" > "$tmp/plain.out" 2>&1; rc1=$?
    LD_PRELOAD=$lib "$@" > "$tmp/mpool.out" 2>&1; rc2=$?
    if [ $rc1 -eq 0 ] && [ $rc2 -eq 0 ] && cmp -s "$tmp/plain.out" "$tmp/mpool.out"; then
        echo "ok $n - $name: the same output with libmpool-malloc preloaded"
    else
        echo "not ok $n - $name: the same output with libmpool-malloc preloaded (exit $rc1, $rc2)"
        diff "$tmp/plain.out" "$tmp/mpool.out" | head -20 | sed 's/^/# /'
    fi
}
same python3 python3 "$top_srcdir/t/malloc-programs.py"
same sqlite3 sqlite3 :memory: ".read $top_srcdir/t/malloc-programs.sql"
same "threads with cross-thread frees" "$top_builddir/t/malloc-mt"

n=$((n + 1))
if LD_PRELOAD=$lib MPOOL_STATS=1 "$top_builddir/t/malloc-mt" 2> "$tmp/stats" > /dev/null &&
   grep -q "^default:" "$tmp/stats"; then
    echo "ok $n - MPOOL_STATS=1 reports a preloaded program's size classes at exit"
else
    echo "not ok $n - MPOOL_STATS=1 reports a preloaded program's size classes at exit"
    sed 's/^/# /' "$tmp/stats" | head
fi

# memcheck through the override (free's stack shows the library's free
# path: mp_pool_default_free, pool/pool-fast.h, inlined into free, its
# cold half mp_pool_default_free_cold, or mpool_free).  By default memcheck replaces malloc in
# every shared object, libmpool-malloc's included, with its own; with
# --soname-synonyms=somalloc=nouserintercepts it leaves ours in place, and
# the library's client requests show memcheck the freed block.
cat > "$tmp/uaf.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void)
{
    char *p = malloc(48);
    memset(p, 1, 48);
    free(p);
    printf("%d\n", p[10]);
    return 0;
}
C
n=$((n + 1))
if ! command -v "$VALGRIND" > /dev/null 2>&1 ||
   ! grep -q '^#define MPOOL_VALGRIND 1' "$top_builddir/config.h"; then
    echo "ok $n # SKIP no valgrind, or built without client requests"
    n=$((n + 1)); echo "ok $n # SKIP the same"
    exit 0
fi
${CC:-cc} -g -O0 -o "$tmp/uaf" "$tmp/uaf.c"
LD_PRELOAD=$lib "$VALGRIND" --soname-synonyms=somalloc=nouserintercepts \
    "$tmp/uaf" > /dev/null 2> "$tmp/uaf.log"
if grep -q "Invalid read of size 1" "$tmp/uaf.log" &&
   grep -q "inside a block of size 48 free'd" "$tmp/uaf.log" &&
   grep -Eq "by 0x.*: (mpool_free|mp_pool_default_free(_cold)?) " "$tmp/uaf.log"; then
    echo "ok $n - with somalloc=nouserintercepts memcheck sees a use after free through libmpool-malloc itself"
else
    echo "not ok $n - with somalloc=nouserintercepts memcheck sees a use after free through libmpool-malloc itself"
    sed 's/^/# /' "$tmp/uaf.log" | head -30
fi
n=$((n + 1))
LD_PRELOAD=$lib "$VALGRIND" "$tmp/uaf" > /dev/null 2> "$tmp/default.log"
if grep -q "Invalid read of size 1" "$tmp/default.log" &&
   grep -q "vgpreload_memcheck" "$tmp/default.log" &&
   ! grep -q "mpool_free" "$tmp/default.log"; then
    echo "ok $n - by default memcheck's own malloc takes the place of libmpool-malloc's"
else
    echo "not ok $n - by default memcheck's own malloc takes the place of libmpool-malloc's"
    sed 's/^/# /' "$tmp/default.log" | head -30
fi
