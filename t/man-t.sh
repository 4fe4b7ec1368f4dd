#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-t.sh - every function declared in mpool.h has a manual page, and
# every page passes mandoc -Tlint.
: "${top_srcdir:=.}"
declared=$(sed -n 's/^MPOOL_API[^(]*[ *]\(mpool_[a-z0-9_]*\)(.*/\1/p' \
    "$top_srcdir/lib/mpool.h" | sort -u)
pages=$(ls "$top_srcdir"/man/*.[37])
n=$(printf '%s\n' $declared | wc -l)
m=$(printf '%s\n' $pages | wc -l)
echo "1..$((n + m))"
i=0
for f in $declared; do
    i=$((i + 1))
    if [ -f "$top_srcdir/man/$f.3" ]; then
        echo "ok $i - $f has a manual page"
    else
        echo "not ok $i - $f has a manual page"
    fi
done
for p in $pages; do
    i=$((i + 1))
    name=$(basename "$p")
    if [ -z "$MANDOC" ]; then
        echo "ok $i # SKIP mandoc not found: $name not linted"
        continue
    fi
    # a .so stub is checked through the page it names
    if head -n 1 "$p" | grep -q '^\.so '; then
        target="$top_srcdir/man/$(sed -n '1s/^\.so man[37]\///p' "$p")"
        if [ -f "$target" ]; then
            echo "ok $i - $name points to an existing page"
        else
            echo "not ok $i - $name points to a missing page"
        fi
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
