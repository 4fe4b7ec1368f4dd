#!/bin/sh
# SPDX-License-Identifier: MIT
# t/cxx-new-memcheck-t.sh - t/cxx-new-t under memcheck with libmpool-malloc
# left in place (--soname-synonyms=somalloc=nouserintercepts: by default
# memcheck puts its own operator new there): every form of new and delete,
# the throw, with no memcheck error and no leak.  MPOOL_TEST_OWN_NEW=1
# tells the program that the allocator is still libmpool-malloc's.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${VALGRIND:=valgrind}"
echo "1..1"
prog="$top_builddir/t/cxx-new-t"
if [ -n "$SANITIZER_FLAGS" ]; then
    echo "ok 1 # SKIP a sanitized build cannot run under valgrind"; exit 0
fi
if ! command -v "$VALGRIND" > /dev/null 2>&1 ||
   ! grep -q '^#define MPOOL_VALGRIND 1' "$top_builddir/config.h"; then
    echo "ok 1 # SKIP no valgrind, or built without client requests"; exit 0
fi
log=$(mktemp) || exit 1
trap 'rm -f "$log" "$log.out"' EXIT
MPOOL_TEST_OWN_NEW=1 "$VALGRIND" --soname-synonyms=somalloc=nouserintercepts \
    --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect \
    --suppressions="$top_srcdir/t/valgrind.supp" \
    "$prog" > "$log.out" 2> "$log"
rc=$?
if [ $rc -eq 0 ] && grep -q '^1\.\.14$' "$log.out" &&
   ! grep -q '^not ok' "$log.out" &&
   grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    echo "ok 1 - t/cxx-new-t under memcheck with libmpool-malloc's operator new: 14 passed, no error, no leak"
else
    echo "not ok 1 - t/cxx-new-t under memcheck with libmpool-malloc's operator new (exit $rc)"
    sed 's/^/# /' "$log.out" | grep -v '^# ok' | head -20
    sed 's/^/# /' "$log" | head -30
fi
