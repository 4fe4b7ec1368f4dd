#!/bin/sh
# SPDX-License-Identifier: MIT
# t/exports-t.sh - the shared library exports the mpool_* interface and
# nothing else, every export carries the symbol version MPOOL_1.0, and
# every function the installed headers declare is exported.
#
# "Declared" is what the preprocessor leaves of the headers the configured
# backend installs: mpool.h, and for k210 mpool-k210.h, which brings in
# mpool.h without mpool_report (only the hosted backends have it) and adds
# the k210 interface.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${NM:=nm}" "${CC:=cc}"
lib="$top_builddir/lib/.libs/libmpool.so"
if [ ! -f "$lib" ]; then
    echo "1..0 # SKIP no shared library was built"
    exit 0
fi
echo "1..4"
exports=$($NM -D --defined-only "$lib" |
    awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print $3 }')
strangers=$(printf '%s\n' "$exports" | grep -v '^mpool_' | grep -v '^MPOOL_')
if [ -z "$strangers" ]; then
    echo "ok 1 - only mpool_* symbols are exported"
else
    echo "not ok 1 - only mpool_* symbols are exported"
    printf '# exported by mistake: %s\n' $strangers
fi
unversioned=$($NM -D --defined-only --with-symbol-versions "$lib" 2>/dev/null |
    awk '$3 ~ /^mpool_/ && $3 !~ /@@?MPOOL_1\.0$/ { print $3 }')
if [ -z "$unversioned" ]; then
    echo "ok 2 - every export carries the version MPOOL_1.0"
else
    echo "not ok 2 - every export carries the version MPOOL_1.0"
    printf '# unversioned: %s\n' $unversioned
fi
case ${MPOOL_BACKEND:-mmap} in
k210) header=mpool-k210.h ;;
*) header=mpool.h ;;
esac
# $CC is left unquoted: it may carry flags (cc -std=c11).
declared=$($CC -E -P "$top_srcdir/lib/$header" |
    sed -n 's/^__attribute__((visibility("default"))) [^(]*[ *]\(mpool_[a-z0-9_]*\)(.*/\1/p' |
    sort -u)
missing=
for f in $declared; do
    printf '%s\n' "$exports" | grep -qx "$f" || missing="$missing $f"
done
if [ -n "$declared" ] && [ -z "$missing" ]; then
    echo "ok 3 - all $(printf '%s\n' "$declared" | wc -l) functions declared in $header are exported"
else
    echo "not ok 3 - all functions declared in $header are exported"
    echo "# missing:$missing"
fi
# libmpool-malloc exports the malloc family and the mpool_* interface,
# nothing else (its core is the same hidden code)
mlib="$top_builddir/lib/.libs/libmpool-malloc.so"
if [ -f "$mlib" ]; then
    family="aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc"
    mexports=$($NM -D --defined-only "$mlib" |
        awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print $3 }')
    extra=$(printf '%s\n' "$mexports" | grep -v '^mpool_' |
        grep -vx "$(printf '%s\n' $family)")
    absent=
    for f in $family; do
        printf '%s\n' "$mexports" | grep -qx "$f" || absent="$absent $f"
    done
    if [ -z "$extra" ] && [ -z "$absent" ]; then
        echo "ok 4 - libmpool-malloc exports the malloc family and mpool_*, nothing else"
    else
        echo "not ok 4 - libmpool-malloc exports the malloc family and mpool_*, nothing else"
        echo "# extra: $extra"; echo "# missing:$absent"
    fi
else
    echo "ok 4 # SKIP no libmpool-malloc was built"
fi
