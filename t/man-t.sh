#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-t.sh - every function declared in mpool.h is named in the NAME
# section of a manual page (its own, or one it shares, installed as a link
# under its name), and every page passes mandoc -Tlint.
: "${top_srcdir:=.}"
declared=$(sed -n 's/^MPOOL_API[^(]*[ *]\(mpool_[a-z0-9_]*\)(.*/\1/p' \
    "$top_srcdir/lib/mpool.h" | sort -u)
pages=$(ls "$top_srcdir"/man/*.[37])
n=$(printf '%s\n' $declared | wc -l)
m=$(printf '%s\n' $pages | wc -l)
echo "1..$((n + m + 1))"
i=0
for f in $declared; do
    i=$((i + 1))
    page=$(grep -l "^\.Nm $f\( ,\)\{0,1\}\$" "$top_srcdir"/man/*.3 | head -n 1)
    if [ -n "$page" ]; then
        echo "ok $i - $f is named in $(basename "$page")"
    else
        echo "not ok $i - $f is named in a manual page"
    fi
done
for p in $pages; do
    i=$((i + 1))
    name=$(basename "$p")
    if [ -z "$MANDOC" ]; then
        echo "ok $i # SKIP mandoc not found: $name not linted"
        continue
    fi
    out=$("$MANDOC" -Tlint -W warning "$p" 2>&1)
    if [ -z "$out" ]; then
        echo "ok $i - mandoc -Tlint $name is clean"
    else
        echo "not ok $i - mandoc -Tlint $name is clean"
        printf '%s\n' "$out" | sed 's/^/# /'
    fi
done
# every link the build installs points at a page that exists and names it
i=$((i + 1))
bad=
for l in $(sed -n 's/^\t\(mpool_[a-z0-9_]*\.3\):\(mpool_[a-z0-9_]*\.3\) \\$/\1:\2/p' \
    "$top_srcdir/man/Makefile.inc"); do
    target=${l%%:*}; name=${l#*:}; fn=${name%.3}
    grep -q "^\.Nm $fn\( ,\)\{0,1\}\$" "$top_srcdir/man/$target" 2>/dev/null ||
        bad="$bad $name"
done
if [ -z "$bad" ]; then
    echo "ok $i - every man link points at the page that documents its name"
else
    echo "not ok $i - man links to pages that do not document them:$bad"
fi
