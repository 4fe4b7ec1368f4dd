#!/bin/sh
# SPDX-License-Identifier: MIT
# t/dist-t.sh - every file of the source tree that README.md or a manual
# page names is there: a path such as `doc/benchmarks.md`, `lib/base/lock.h`
# or `doc/plots/` (a folder: it must hold files), or a test or benchmark
# program named without its extension (`t/stress-t`, from t/stress-t.c).
# Under make distcheck the source tree is the unpacked tarball, so there
# this test says that make dist carries every such file.
#
# A name is a word in backquotes or a link target in README.md, or a word
# of a manual page, that starts with one of the tree's top folders or is
# one of its top files; names with a placeholder (<name>, *) are skipped.
: "${top_srcdir:=.}"
tops='\.ci|lib|t|doc|man|backends|bench|demo|packaging|build-aux'
files='LICENSE|NEWS|README\.md|configure\.ac|Makefile\.am'
names=$( {
    grep -oE '(`[^` ]+`|\]\([^) ]+\))' "$top_srcdir/README.md" |
        sed 's/^`//; s/`$//; s/^](//; s/)$//'
    cat "$top_srcdir"/man/*.[37] | tr ' \t' '\n\n' | sed 's/[,;:.)]*$//'
} | grep -E "^(($tops)/|($files)\$)" | grep -v '[<>*$]' | sort -u)
if [ -z "$names" ]; then
    echo "1..0 # SKIP README.md names no file of the tree"
    exit 0
fi
echo "1..$(printf '%s\n' "$names" | wc -l)"
i=0
for name in $names; do
    i=$((i + 1))
    path="$top_srcdir/$name"
    case $name in
    */)
        if [ -d "$path" ] && [ -n "$(ls -A "$path")" ]; then
            echo "ok $i - $name is in the source tree, with $(ls -A "$path" | wc -l) entries"
        else
            echo "not ok $i - $name is in the source tree and holds files"
        fi
        continue ;;
    esac
    found=
    for candidate in "$path" "$path.c" "$path.sh"; do
        [ -f "$candidate" ] && { found=$candidate; break; }
    done
    if [ -n "$found" ]; then
        if [ "$found" = "$path" ]; then
            echo "ok $i - $name is in the source tree"
        else
            echo "ok $i - $name is in the source tree (as ${found#"$top_srcdir/"})"
        fi
    else
        echo "not ok $i - $name is in the source tree (README.md or a manual page names it)"
    fi
done
