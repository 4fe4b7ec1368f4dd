#!/bin/sh
# SPDX-License-Identifier: MIT
# t/exports-t.sh - the shared library exports what lib/libmpool.sym lists
# for the configured backend and nothing else, each symbol with the version
# node the list gives it; every function the installed headers declare is
# exported; libmpool-malloc exports the malloc family, glibc's extensions,
# C++ operator new and delete, and mpool_*; and the libtool version moves
# with the map as doc/abi.md says.
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
backend=${MPOOL_BACKEND:-mmap}
echo "1..6"
exports=$($NM -D --defined-only "$lib" |
    awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print $3 }')
strangers=$(printf '%s\n' "$exports" | grep -v '^mpool_' | grep -v '^MPOOL_')
if [ -z "$strangers" ]; then
    echo "ok 1 - only mpool_* symbols are exported"
else
    echo "not ok 1 - only mpool_* symbols are exported"
    printf '# exported by mistake: %s\n' $strangers
fi

# name@@NODE, as the list says for this backend and as the library has it
listed=$(awk -v backend="$backend" '/^[ \t]*(#|$)/ { next }
    { ok = (NF == 2); for (i = 3; i <= NF; i++) if ($i == backend) ok = 1 }
    ok { print $2 "@@" $1 }' "$top_srcdir/lib/libmpool.sym" | sort)
have=$($NM -D --defined-only --with-symbol-versions "$lib" 2>/dev/null |
    awk '$3 ~ /^mpool_/ { print $3 }' | sort)
if [ -n "$listed" ] && [ "$listed" = "$have" ]; then
    echo "ok 2 - the $(printf '%s\n' "$have" | wc -l) exports and their versions are lib/libmpool.sym's for $backend"
else
    echo "not ok 2 - the exports and their versions are lib/libmpool.sym's for $backend"
    printf '%s\n' "$listed" > exports-t.listed.tmp
    printf '%s\n' "$have" | diff exports-t.listed.tmp - | sed 's/^/# /'
    rm -f exports-t.listed.tmp
fi

case $backend in
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
    family="aligned_alloc calloc free mallinfo mallinfo2 malloc malloc_info malloc_stats malloc_trim malloc_usable_size mallopt memalign posix_memalign pvalloc realloc reallocarray valloc"
    # C++ operator new and delete (malloc-new.c), size_t being unsigned long
    family="$family _Znwm _Znam _ZnwmRKSt9nothrow_t _ZnamRKSt9nothrow_t
        _ZnwmSt11align_val_t _ZnamSt11align_val_t
        _ZnwmSt11align_val_tRKSt9nothrow_t _ZnamSt11align_val_tRKSt9nothrow_t
        _ZdlPv _ZdaPv _ZdlPvm _ZdaPvm _ZdlPvRKSt9nothrow_t _ZdaPvRKSt9nothrow_t
        _ZdlPvSt11align_val_t _ZdaPvSt11align_val_t
        _ZdlPvmSt11align_val_t _ZdaPvmSt11align_val_t
        _ZdlPvSt11align_val_tRKSt9nothrow_t _ZdaPvSt11align_val_tRKSt9nothrow_t"
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

# doc/abi.md: every node after the first was added by a release that added
# to the interface, which raised CURRENT and AGE by one each; nothing was
# ever removed, so CURRENT = AGE = that number and the soname stays .so.0.
nodes=$(awk '/^[ \t]*(#|$)/ { next } !($1 in s) { s[$1]; n++ } END { print n + 0 }' \
    "$top_srcdir/lib/libmpool.sym")
lt=$(sed -n 's/^AC_SUBST(\[MPOOL_LT_\([A-Z]*\)\], \[\([0-9]*\)\])$/\1=\2/p' \
    "$top_srcdir/configure.ac" | tr '\n' ' ')
eval "$lt"
if [ -n "$CURRENT" ] && [ "$CURRENT" -eq $((nodes - 1)) ] && [ "$AGE" -eq "$CURRENT" ]; then
    echo "ok 5 - version-info $CURRENT:$REVISION:$AGE matches the $nodes version nodes"
else
    echo "not ok 5 - version-info ${CURRENT:-?}:${REVISION:-?}:${AGE:-?} matches the $nodes version nodes (doc/abi.md)"
fi
soname=$(${OBJDUMP:-objdump} -p "$lib" 2>/dev/null | awk '$1 == "SONAME" { print $2 }')
if [ "$soname" = "libmpool.so.$((CURRENT - AGE))" ]; then
    echo "ok 6 - the soname is $soname"
else
    echo "not ok 6 - the soname is libmpool.so.$((CURRENT - AGE)) (it is '$soname')"
fi
