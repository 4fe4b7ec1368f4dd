#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-examples-t.sh - the C program in the EXAMPLES section of every
# section 3 manual page compiles cleanly (-Wall -Wextra -Werror) against
# the public headers in lib/ (mpool.h, mpool-k210.h) and links against the
# library that was built.
#
# The program is the first literal display (.Bd -literal ... .Ed) of the
# EXAMPLES section, with the mdoc escapes \& (removed) and \e (a backslash)
# undone.  Pages without an EXAMPLES section are left
# out of the plan.
#
# A program that calls a function this build of the library does not have
# (mpool_k210_init outside the k210 build, mpool_report in it) is compiled
# but not linked, and the test says which function kept it from linking.
#
# The last test: every function added after 0.1 (a node of lib/libmpool.sym
# past MPOOL_1.0) is called in some page's example, and mpool_options_t's
# parent (0.2) is set in one, so that each new call has an example that
# this test compiles (issue 15's closing note quotes them).
: "${top_srcdir:=.}"
: "${CC:=cc}" "${top_builddir:=.}" "${NM:=nm}"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

pages=
for p in "$top_srcdir"/man/*.3; do
    [ -f "$p" ] || continue
    grep -q '^\.Sh EXAMPLES' "$p" && pages="$pages $p"
done
set -- $pages
echo "1..$(($# + 1))"
: > "$tmp/all.c"

lib="$top_builddir/lib/.libs/libmpool.so"
exports=
[ -f "$lib" ] && exports=$($NM -D --defined-only "$lib" |
    awk '{ sub(/@.*/, "", $3); print $3 }')

i=0
for p in "$@"; do
    i=$((i + 1))
    name=$(basename "$p")
    # \& first, so that \e& (a backslash, then &) is not taken for \&.
    awk '/^\.Sh / { ex = ($2 == "EXAMPLES"); next }
         ex && !lit && /^\.Bd -literal/ { lit = 1; next }
         lit && /^\.Ed/ { exit }
         lit { print }' "$p" |
        sed -e 's/\\&//g' -e 's/\\e/\\/g' > "$tmp/ex.c"
    cat "$tmp/ex.c" >> "$tmp/all.c"
    if [ ! -s "$tmp/ex.c" ]; then
        echo "not ok $i - $name: EXAMPLES has no .Bd -literal program"
        continue
    fi
    absent=
    if [ -n "$exports" ]; then
        for f in $(grep -o 'mpool_[a-z0-9_]*(' "$tmp/ex.c" | tr -d '(' | sort -u); do
            printf '%s\n' "$exports" | grep -qx "$f" || absent="$absent $f"
        done
    fi
    if [ -n "$absent" ]; then
        if $CC ${SANITIZER_FLAGS:-} -Wall -Wextra -Werror -I"$top_srcdir/lib" \
            -c -o "$tmp/ex.o" "$tmp/ex.c" > "$tmp/out" 2>&1; then
            echo "ok $i - the example in $name compiles (not linked: the ${MPOOL_BACKEND:-configured} build has no$absent)"
        else
            echo "not ok $i - the example in $name compiles"
            sed 's/^/# /' "$tmp/out"
            echo "# the program, as extracted:"
            sed 's/^/#   /' "$tmp/ex.c"
        fi
        continue
    fi
    # $CC is left unquoted: it may carry flags (cc -std=c11).
    if $CC ${SANITIZER_FLAGS:-} -Wall -Wextra -Werror -I"$top_srcdir/lib" \
        -o "$tmp/ex" "$tmp/ex.c" -L"$top_builddir/lib/.libs" -lmpool -pthread \
        > "$tmp/out" 2>&1; then
        echo "ok $i - the example in $name compiles and links"
    else
        echo "not ok $i - the example in $name compiles and links"
        sed 's/^/# /' "$tmp/out"
        echo "# the program, as extracted:"
        sed 's/^/#   /' "$tmp/ex.c"
    fi
done

# Functions of the nodes after MPOOL_1.0, and the 0.2 field, that no
# example uses.
i=$((i + 1))
missing=
for f in $(awk '!/^#/ && NF >= 2 && $1 != "MPOOL_1.0" { print $2 }' \
               "$top_srcdir/lib/libmpool.sym"); do
    grep -Eq "(^|[^a-z0-9_])$f\(" "$tmp/all.c" || missing="$missing $f"
done
grep -Eq '\.parent([^a-z0-9_]|$)' "$tmp/all.c" ||
    missing="$missing mpool_options_t.parent"
if [ -z "$missing" ]; then
    echo "ok $i - every function since 0.1, and mpool_options_t.parent," \
         "has an example"
else
    echo "not ok $i - with no example in any page:$missing"
fi
