#!/bin/sh
# SPDX-License-Identifier: MIT
# t/man-t.sh - every function declared in a public header (lib/mpool.h,
# and lib/mpool-k210.h, which only the k210 backend installs) is named in
# the NAME section of a manual page (its own, or one it shares, installed
# as a link under its name) whose SYNOPSIS includes that header, and every
# page is silent under mandoc -Tlint -Wwarning and under groff -ww -z,
# read as -man and as -mdoc and laid out for a terminal and for PostScript
# (lintian's groff-message check is groff through man(1), -Tutf8).  Every
# page in the source is checked, whatever the backend configured.
: "${top_srcdir:=.}"
headers=$(ls "$top_srcdir"/lib/mpool*.h)
pages=$(ls "$top_srcdir"/man/*.[37])
n=0
for h in $headers; do
    n=$((n + $(sed -n 's/^MPOOL_API[^(]*[ *]\(mpool_[a-z0-9_]*\)(.*/\1/p' "$h" |
        sort -u | wc -l)))
done
m=$(printf '%s\n' $pages | wc -l)
echo "1..$((n + 2 * m + 1))"
i=0
for h in $headers; do
    header=$(basename "$h")
    for f in $(sed -n 's/^MPOOL_API[^(]*[ *]\(mpool_[a-z0-9_]*\)(.*/\1/p' "$h" | sort -u); do
        i=$((i + 1))
        page=$(grep -l "^\.Nm $f\( ,\)\{0,1\}\$" "$top_srcdir"/man/*.3 | head -n 1)
        if [ -z "$page" ]; then
            echo "not ok $i - $f ($header) is named in a manual page"
        elif awk -v h="$header" '/^\.Sh / { syn = ($2 == "SYNOPSIS"); next }
                syn && $1 == ".In" && $2 == h { found = 1 }
                END { exit !found }' "$page"; then
            echo "ok $i - $f is named in $(basename "$page"), whose SYNOPSIS includes <$header>"
        else
            echo "not ok $i - $f is named in $(basename "$page"), whose SYNOPSIS includes <$header>"
        fi
    done
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
for p in $pages; do
    i=$((i + 1))
    name=$(basename "$p")
    if [ -z "$GROFF" ]; then
        echo "ok $i # SKIP groff not found: $name not checked"
        continue
    fi
    out=
    for macros in man mdoc; do
        for device in utf8 ps; do
            w=$(LC_ALL=C "$GROFF" -"$macros" -T"$device" -ww -z "$p" 2>&1)
            [ -z "$w" ] || out="$out
groff -$macros -T$device: $w"
        done
    done
    if [ -z "$out" ]; then
        echo "ok $i - groff -ww -z $name is silent (-man, -mdoc; utf8, ps)"
    else
        echo "not ok $i - groff -ww -z $name is silent (-man, -mdoc; utf8, ps)"
        printf '%s\n' "$out" | sed '/^$/d; s/^/# /'
    fi
done
# every link a build installs (man/Makefile.inc, and a backend's own pages'
# in backends/*/Makefile.inc) points at a page that exists and names it
i=$((i + 1))
bad=
for l in $(sed -n 's/^\t\(mpool_[a-z0-9_]*\.3\):\(mpool_[a-z0-9_]*\.3\) \\$/\1:\2/p' \
    "$top_srcdir/man/Makefile.inc" "$top_srcdir"/backends/*/Makefile.inc); do
    target=${l%%:*}; name=${l#*:}; fn=${name%.3}
    grep -q "^\.Nm $fn\( ,\)\{0,1\}\$" "$top_srcdir/man/$target" 2>/dev/null ||
        bad="$bad $name"
done
if [ -z "$bad" ]; then
    echo "ok $i - every man link points at the page that documents its name"
else
    echo "not ok $i - man links to pages that do not document them:$bad"
fi
