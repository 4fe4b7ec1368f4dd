#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-examples-t.sh - the C program in the EXAMPLES section of every
# section 3 manual page compiles cleanly (-Wall -Wextra -Werror) against
# lib/mpool.h and links against the library that was built.
#
# The program is the first literal display (.Bd -literal ... .Ed) of the
# EXAMPLES section, with the mdoc escapes \& (removed) and \e (a backslash)
# undone.  Pages without an EXAMPLES section are left
# out of the plan.
: "${top_srcdir:=.}"
: "${CC:=cc}" "${top_builddir:=.}"

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

pages=
for p in "$top_srcdir"/man/*.3; do
    [ -f "$p" ] || continue
    grep -q '^\.Sh EXAMPLES' "$p" && pages="$pages $p"
done
set -- $pages
echo "1..$#"

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
    if [ ! -s "$tmp/ex.c" ]; then
        echo "not ok $i - $name: EXAMPLES has no .Bd -literal program"
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
