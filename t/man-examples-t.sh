#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-examples-t.sh - the program in the EXAMPLES section of every
# manual page compiles (with -Wall -Wextra -Werror) and links against the
# library that was built.
: "${top_srcdir:=.}" "${top_builddir:=.}" "${CC:=cc}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pages=
for p in "$top_srcdir"/man/*.3; do
    grep -q '^\.Sh EXAMPLES' "$p" && pages="$pages $p"
done
set -- $pages
echo "1..$#"
i=0
for p in "$@"; do
    i=$((i + 1))
    name=$(basename "$p")
    # the first literal display after .Sh EXAMPLES, with mdoc escapes undone
    awk '/^\.Sh EXAMPLES/ { ex = 1; next }
         /^\.Sh / { ex = 0 }
         ex && /^\.Bd -literal/ { lit = 1; next }
         lit && /^\.Ed/ { exit }
         lit { print }' "$p" | sed -e 's/\\e/\\/g' -e 's/\\&//g' > "$tmp/ex.c"
    if $CC ${SANITIZER_FLAGS:-} -Wall -Wextra -Werror -I"$top_srcdir/lib" \
        -o "$tmp/ex" "$tmp/ex.c" \
        -L"$top_builddir/lib/.libs" -lmpool > "$tmp/out" 2>&1; then
        echo "ok $i - the example in $name compiles and links"
    else
        echo "not ok $i - the example in $name compiles and links"
        sed 's/^/# /' "$tmp/out"
    fi
done
