#!/bin/sh
# SPDX-License-Identifier: MIT
# t/header-t.sh - the public headers this build installs compile cleanly
# on their own, laid out as installed: the files of include_HEADERS
# (MPOOL_HEADERS, from make: lib/mpool.h, and lib/mpool-k210.h in a k210
# build) copied into one directory, nothing else on the include path.  Each
# compiles in every language mode a user may include it from: C99, C11 and
# C17 with -Wall -Wextra -Wpedantic -Werror, freestanding C11
# (-ffreestanding, as a kernel is built), and C++ (98, 11, 17) the same
# way.
#
# Freestanding and k210 are separate: mpool.h alone declares no k210
# interface, hosted or freestanding, and freestanding it includes no
# <stdio.h> and declares no mpool_report.  Where mpool-k210.h is
# installed, a program that defines MPOOL_K210 and includes mpool.h gets
# the k210 interface from it, and no mpool_report.  A C++ program also
# links against the library, which shows extern "C" is right.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${CC:=cc}" "${CXX:=c++}"
: "${MPOOL_HEADERS:=lib/mpool.h}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
warn="-Wall -Wextra -Wpedantic -Werror"
inc="$tmp/include"
mkdir "$inc" || exit 1
have_k210=no
for h in $MPOOL_HEADERS; do
    cp "$top_srcdir/$h" "$inc/" || exit 1
    [ "$(basename "$h")" = mpool-k210.h ] && have_k210=yes
done

# A program for each header: it includes the header twice (the include
# guard) and calls what the header declares.
cat > "$tmp/mpool.h.c" <<'C'
#include <mpool.h>
#include <mpool.h> /* twice: the include guard */
int use(void);
int use(void)
{
    mpool_options_t opt = {sizeof opt, "header-t", 0, 0, 0, 0, 0, 0};
    mpool_t *pool = mpool_create(&opt);
    void *p = mpool_alloc(pool, 10);
    mpool_free(pool, p);
    mpool_destroy(pool);
    return MPOOL_VERSION_MAJOR;
}
C
k210_body='int use(void);
int use(void)
{
    static unsigned char ram[1];
    if (mpool_k210_init(ram, sizeof ram) != 0)
        return mpool_errno;
    mpool_k210_write("x", 1);
    return (int)mpool_k210_hart_id() + (int)mpool_page_size();
}'
{
    echo '#include <mpool-k210.h>'
    echo '#include <mpool-k210.h> /* twice: the include guard */'
    echo '#ifdef MPOOL_HAVE_REPORT'
    echo '#error "mpool-k210.h: mpool.h declared mpool_report"'
    echo '#endif'
    printf '%s\n' "$k210_body"
} > "$tmp/mpool-k210.h.c"
# What programs for the k210 build have always been: MPOOL_K210, mpool.h.
{
    echo '#define MPOOL_K210 1'
    echo '#include <mpool.h>'
    echo '#ifdef MPOOL_HAVE_REPORT'
    echo '#error "MPOOL_K210: mpool.h declared mpool_report"'
    echo '#endif'
    printf '%s\n' "$k210_body"
} > "$tmp/old-k210.c"
# mpool.h with no k210 interface, and freestanding without <stdio.h>.
cat > "$tmp/no-k210.c" <<'C'
#include <mpool.h>
#if defined(MPOOL_K210) || defined(MPOOL_K210_H) || defined(mpool_errno)
#error "mpool.h declared the k210 interface"
#endif
#if defined(MPOOL_FREESTANDING) && (defined(EOF) || defined(MPOOL_HAVE_REPORT))
#error "freestanding mpool.h included <stdio.h> or declared mpool_report"
#endif
int mpool_k210_init; /* not declared by mpool.h: no conflict */
C

n=0
check() { # description, command...
    n=$((n + 1))
    desc=$1; shift
    if "$@" > "$tmp/out" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/# /' "$tmp/out"
    fi
}
have_cxx=no
command -v "$CXX" > /dev/null 2>&1 && have_cxx=yes
nheaders=$(printf '%s\n' $MPOOL_HEADERS | wc -l)
plan=$((nheaders * 7 + 3))
[ $have_k210 = yes ] && plan=$((plan + 2))
echo "1..$plan"

for h in $MPOOL_HEADERS; do
    h=$(basename "$h")
    src="$tmp/$h.c"
    if [ ! -f "$src" ]; then
        for i in 1 2 3 4 5 6 7; do
            n=$((n + 1)); echo "not ok $n - no test program for the installed header $h"
        done
        continue
    fi
    for std in c99 c11 c17; do
        check "$h compiles as -std=$std $warn" \
            "$CC" -std=$std $warn -I"$inc" -c "$src" -o "$tmp/use.o"
    done
    check "$h compiles freestanding (-ffreestanding -std=c11 $warn)" \
        "$CC" -std=c11 -ffreestanding $warn -I"$inc" -c "$src" -o "$tmp/use.o"
    cp "$src" "$tmp/use.cc"
    for std in c++98 c++11 c++17; do
        if [ $have_cxx = yes ]; then
            check "$h compiles as C++ (-std=$std $warn)" \
                "$CXX" -std=$std $warn -I"$inc" -c "$tmp/use.cc" -o "$tmp/use-cc.o"
        else
            n=$((n + 1)); echo "ok $n # SKIP no C++ compiler ($CXX)"
        fi
    done
done

check "mpool.h alone declares no k210 interface (-std=c99 $warn)" \
    "$CC" -std=c99 $warn -I"$inc" -c "$tmp/no-k210.c" -o "$tmp/use.o"
check "freestanding mpool.h: no k210 interface, no <stdio.h>, no mpool_report" \
    "$CC" -std=c11 -ffreestanding $warn -I"$inc" -c "$tmp/no-k210.c" -o "$tmp/use.o"

if [ $have_k210 = yes ]; then
    check "MPOOL_K210 and mpool.h: the k210 interface, no mpool_report (-std=c99 $warn)" \
        "$CC" -std=c99 $warn -I"$inc" -c "$tmp/old-k210.c" -o "$tmp/use.o"
    check "MPOOL_K210 and mpool.h, freestanding (-ffreestanding -std=c11 $warn)" \
        "$CC" -std=c11 -ffreestanding $warn -I"$inc" -c "$tmp/old-k210.c" -o "$tmp/use.o"
fi

cat "$tmp/mpool.h.c" > "$tmp/use.cc"
cat >> "$tmp/use.cc" <<'C'
int main()
{
    return use();
}
C
lib="$top_builddir/lib/.libs/libmpool.so"
if [ $have_cxx = yes ] && [ -f "$lib" ]; then
    check "a C++ program links against libmpool and runs (extern \"C\")" \
        sh -c "'$CXX' -std=c++11 $SANITIZER_FLAGS -I'$inc' '$tmp/use.cc' '$lib' -o '$tmp/use-cxx' &&
               LD_LIBRARY_PATH='$top_builddir/lib/.libs' '$tmp/use-cxx'"
else
    n=$((n + 1)); echo "ok $n # SKIP no C++ compiler or no shared library"
fi
