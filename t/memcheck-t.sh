#!/bin/sh
# SPDX-License-Identifier: MIT
# t/memcheck-t.sh - valgrind's memcheck sees inside caches and pools (the
# client requests of lib/base/vg.h): each misuse in t/memcheck-prog is reported
# as memcheck reports it for malloc, and a correct program that uses every
# function gets no report at all.  Skipped, saying why, without valgrind,
# in a build without client requests, or with the sanitizers.
: "${top_builddir:=.}" "${VALGRIND:=valgrind}"
prog="$top_builddir/t/memcheck-prog"
if [ -n "$SANITIZER_FLAGS" ]; then
    echo "1..0 # SKIP valgrind cannot run sanitized programs"; exit 0
fi
if [ ! -x "$prog" ]; then
    echo "1..0 # SKIP t/memcheck-prog is built for hosted backends only"; exit 0
fi
if ! command -v "$VALGRIND" > /dev/null 2>&1; then
    echo "1..0 # SKIP valgrind is not installed"; exit 0
fi
if ! grep -q '^#define MPOOL_VALGRIND 1' "$top_builddir/config.h"; then
    echo "1..0 # SKIP built without valgrind client requests"; exit 0
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# valgrind 3.19 cannot read clang 14's default DWARF 5 (build with
# -gdwarf-4 for this test to run there)
if "$VALGRIND" "$prog" none 2>&1 | grep -q "unhandled dwarf2\|corrupted debuginfo"; then
    echo "1..0 # SKIP this valgrind cannot read the debug information (DWARF 5?)"; exit 0
fi
n=0
# expect CASE DESCRIPTION PATTERN...: every pattern appears in the report
expect() {
    case=$1 desc=$2; shift 2
    n=$((n + 1))
    "$VALGRIND" --leak-check=full --num-callers=30 "$prog" "$case" \
        > /dev/null 2> "$tmp/$case.log"
    missing=
    for pattern in "$@"; do
        grep -q -- "$pattern" "$tmp/$case.log" || missing="$missing [$pattern]"
    done
    if [ -z "$missing" ]; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        echo "# missing:$missing"
        sed 's/^/# /' "$tmp/$case.log"
    fi
}
echo "1..10"
expect cache-use-after-free "a read after mpool_cache_free is an invalid read of a freed block" \
    "Invalid read of size 1" "inside a block of size 64 free'd" "mpool_cache_free"
expect pool-use-after-free "a read after mpool_free is an invalid read of a freed block" \
    "Invalid read of size 1" "inside a block of size 40 free'd"
expect pool-overrun "a read past the end of a pool block is an invalid read" \
    "Invalid read of size 1" "0 bytes after a block of size 40 alloc'd"
expect pool-uninitialised "a decision on an uninitialised pool block is reported" \
    "Conditional jump or move depends on uninitialised value"
expect pool-reset-use "a read of a block after mpool_reset is an invalid read of a freed block" \
    "Invalid read of size 1" "inside a block of size 40 free'd" "mpool_reset"
expect region-reset-use "the same for a region pool's block" \
    "Invalid read of size 1" "inside a block of size 40 free'd" "mpool_reset"
expect cache-leak "a leaked cache object is definitely lost, allocated through mpool_cache_alloc" \
    "64 bytes in 1 blocks are definitely lost" "by 0x.*: mpool_cache_alloc" "definitely lost: 64 bytes in 1 blocks"
expect cache-double-free "a double free is an invalid free" \
    "Invalid free()" "mpool_cache_free"
n=$((n + 1))
if [ "$MPOOL_BACKEND" = sbrk ]; then
    # valgrind gives the program a break of 8 MiB, room for a segment
    # or two, less than the clean run needs
    echo "ok $n # SKIP the sbrk backend needs more than the 8 MiB break valgrind allows"
else
"$VALGRIND" --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
    --error-exitcode=99 "$prog" clean > /dev/null 2> "$tmp/clean.log"
rc=$?
if [ $rc -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$tmp/clean.log" &&
   grep -q "All heap blocks were freed" "$tmp/clean.log"; then
    echo "ok $n - a correct program using every function: no error, no leak, nothing in use at exit"
else
    echo "not ok $n - a correct program using every function: no error, no leak (exit $rc)"
    sed 's/^/# /' "$tmp/clean.log"
fi
fi
n=$((n + 1))
# negative control: the same misuse without the client requests would pass
# unnoticed; here, check that memcheck's report really comes from them by
# finding the library's allocation point in the overrun report
if grep -qE "(mp_)?slab_alloc(_locked)? " "$tmp/pool-overrun.log"; then
    echo "ok $n - the blocks memcheck knows were described by the library (allocated in the slab layer)"
else
    echo "not ok $n - the blocks memcheck knows were described by the library"
fi
