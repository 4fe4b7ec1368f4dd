#!/bin/sh
# SPDX-License-Identifier: MIT
# t/header-t.sh - the one public header, lib/mpool.h, compiles cleanly on
# its own in every language mode a user may include it from: C99, C11 and
# C17 with -Wall -Wextra -Wpedantic -Werror, C++ (98, 11, 17) the same way,
# and freestanding C (MPOOL_FREESTANDING, as the k210 build uses).  A C++
# program also links against the library, which shows extern "C" is right.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${CC:=cc}" "${CXX:=c++}"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
warn="-Wall -Wextra -Wpedantic -Werror"
cat > "$tmp/use.c" <<'C'
#include <mpool.h>
#include <mpool.h> /* twice: the include guard */
int use(void);
int use(void)
{
    mpool_options_t opt = {sizeof opt, "header-t", 0, 0, 0, 0, 0};
    mpool_t *pool = mpool_create(&opt);
    void *p = mpool_alloc(pool, 10);
    mpool_free(pool, p);
    mpool_destroy(pool);
    return MPOOL_VERSION_MAJOR;
}
C
cp "$tmp/use.c" "$tmp/use.cc"
cat >> "$tmp/use.cc" <<'C'
int main()
{
    return use();
}
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
echo "1..8"
for std in c99 c11 c17; do
    check "mpool.h compiles as -std=$std $warn" \
        "$CC" -std=$std $warn -I"$top_srcdir/lib" -c "$tmp/use.c" -o "$tmp/use.o"
done
check "mpool.h compiles freestanding (-ffreestanding -DMPOOL_FREESTANDING -std=c11)" \
    "$CC" -std=c11 -ffreestanding -DMPOOL_FREESTANDING $warn -I"$top_srcdir/lib" \
    -c "$tmp/use.c" -o "$tmp/use-free.o"
for std in c++98 c++11 c++17; do
    if [ $have_cxx = yes ]; then
        check "mpool.h compiles as C++ (-std=$std $warn)" \
            "$CXX" -std=$std $warn -I"$top_srcdir/lib" -c "$tmp/use.cc" -o "$tmp/use-cc.o"
    else
        n=$((n + 1)); echo "ok $n # SKIP no C++ compiler ($CXX)"
    fi
done
lib="$top_builddir/lib/.libs/libmpool.so"
if [ $have_cxx = yes ] && [ -f "$lib" ]; then
    check "a C++ program links against libmpool and runs (extern \"C\")" \
        sh -c "'$CXX' -std=c++11 $SANITIZER_FLAGS -I'$top_srcdir/lib' '$tmp/use.cc' '$lib' -o '$tmp/use-cxx' &&
               LD_LIBRARY_PATH='$top_builddir/lib/.libs' '$tmp/use-cxx'"
else
    n=$((n + 1)); echo "ok $n # SKIP no C++ compiler or no shared library"
fi
