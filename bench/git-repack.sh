#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/git-repack.sh - a real program: `git -c pack.threads=2 repack -adf`
# (every delta searched again, on two threads) under glibc, jemalloc,
# mimalloc, tcmalloc and libmpool-malloc, each preloaded, taking turns run
# by run; the peak resident memory (GNU time's maximum resident set size
# of the children: pack-objects', the process that does the work) and the
# elapsed time of each, and their ratios to glibc's.  Issue 16 found
# libmpool-malloc 36 % above glibc (286 MB against 210 MB) on the
# repository it was measured on.
#
#   sh bench/git-repack.sh [BUILDDIR]      (make bench-git-repack runs it)
#
# The repository is made once, the same everywhere, by BUILDDIR/bench/
# git-repo (bench/git-repo.c: 4000 files, 1500 commits of 30 changed
# files each, 88,000 objects) through git fast-import, then packed once
# with one thread, so that every run starts from the same pack; it is kept
# in DATA for the next run of the script.  Each run repacks a fresh copy
# of it and checks that the new pack has every object.  Environment, with
# the defaults (about 4 minutes on 2 CPUs, the first time 1-2 more):
#   RUNS=1 THREADS=2 FILES=4000 COMMITS=1500 CHANGES=30
#   VARIANTS="retain=0"   MPOOL_OPTIONS settings under which libmpool-
#                         malloc runs again, each a row of its own ("":
#                         none); retain=0 is the default pool without the
#                         retention cap it has had since issue 16
#                         (lib/pool/pool.h, MP_DEFAULT_RETAIN)
#   DATA (BUILDDIR/bench/git-repack-data): where the repository is kept
set -eu
builddir=${1:-.}
srcdir=$(dirname "$0")
RUNS=${RUNS:-1}
THREADS=${THREADS:-2}
FILES=${FILES:-4000}
COMMITS=${COMMITS:-1500}
CHANGES=${CHANGES:-30}
VARIANTS=${VARIANTS-retain=0}
data=${DATA:-$builddir/bench/git-repack-data}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$srcdir/common.sh"

for need in git /usr/bin/time; do
    command -v $need >/dev/null ||
        { echo "bench/git-repack.sh: $need is needed" >&2; exit 1; }
done
[ -x "$builddir/bench/git-repo" ] ||
    { echo "bench/git-repack.sh: $builddir/bench/git-repo is not built" >&2
      exit 1; }

# The allocators, each as label:preload:MPOOL_OPTIONS.
allocs=
for peer in $peers; do
    lib=${peer#*:}
    if [ -n "$lib" ] && [ ! -e "$lib" ]; then
        echo "note: ${peer%%:*} is not installed ($lib): no row" >&2
        continue
    fi
    allocs="$allocs $peer:"
done
mpm=$builddir/lib/.libs/libmpool-malloc.so
if [ -e "$mpm" ]; then
    mpm=$(cd "$(dirname "$mpm")" && pwd)/libmpool-malloc.so
    allocs="$allocs mpool-malloc:$mpm:"
    for v in $VARIANTS; do
        allocs="$allocs mpool-malloc[$v]:$mpm:$v"
    done
else
    echo "note: $mpm is not built: no mpool-malloc row" >&2
fi

# The repository, made once for these parameters.
repo=$data/repo-$FILES-$COMMITS-$CHANGES
if [ ! -e "$repo/made" ]; then
    rm -rf "$repo"
    mkdir -p "$data"
    git init -q "$repo"
    git -C "$repo" symbolic-ref HEAD refs/heads/main
    git -C "$repo" config gc.auto 0
    echo "making the repository ($FILES files, $COMMITS commits)" >&2
    "$builddir/bench/git-repo" "$FILES" "$COMMITS" "$CHANGES" |
        git -C "$repo" fast-import --quiet
    # fast-import deltifies a file only against its previous version;
    # one packing on one thread makes a pack more like a clone's, and the
    # same on every machine
    git -C "$repo" -c pack.threads=1 repack -adfq --window=1 --depth=10
    touch "$repo/made"
fi
objects=$(git -C "$repo" count-objects -v | sed -n 's/^in-pack: //p')

machine "git repack -adf with pack.threads=$THREADS"
echo "# $(git --version); repository: $FILES files, $COMMITS commits" \
    "of $CHANGES changes, $objects objects," \
    "$(du -sk "$repo/.git" | cut -f1) KiB; RUNS=$RUNS"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# run LABEL PRELOAD OPTIONS: one repack of a fresh copy; "SECONDS KIB"
# goes to $tmp/runs.LABEL when the new pack holds every object
run() {
    rm -rf "$tmp/repo"
    cp -a "$repo" "$tmp/repo"
    if ! (cd "$tmp/repo" &&
        /usr/bin/time -f '%e %M' -o "$tmp/time" env MPOOL_OPTIONS="$3" \
            LD_PRELOAD="$2" git -c pack.threads="$THREADS" repack -adfq)
    then
        echo "warning: $1: git repack failed" >&2
        return 0
    fi
    n=$(git -C "$tmp/repo" count-objects -v | sed -n 's/^in-pack: //p')
    if [ "$n" != "$objects" ]; then
        echo "warning: $1: $n objects packed, not $objects" >&2
        return 0
    fi
    cat "$tmp/time" >>"$tmp/runs.$1"
}

printf 'repacking ' >&2
i=0
while [ $i -lt "$RUNS" ]; do
    for a in $allocs; do
        label=${a%%:*} rest=${a#*:}
        run "$label" "${rest%%:*}" "${rest#*:}"
        printf '.' >&2
    done
    i=$((i + 1))
done
echo >&2
rm -rf "$tmp/repo"

# The run with the median time of each, and the ratios to glibc's.
for a in $allocs; do
    label=${a%%:*}
    [ -s "$tmp/runs.$label" ] || continue
    sort -n "$tmp/runs.$label" |
        awk -v l="$label" '{ r[NR] = $0 } END { print l, r[int((NR + 1) / 2)] }'
done >"$tmp/median"
echo
printf '| %-24s | %7s | %13s | %12s | %11s |\n' allocator "time, s" \
    "peak RSS, MiB" "time / glibc" "RSS / glibc"
echo "|--------------------------|--------:|--------------:|-------------:|------------:|"
awk 'function rat(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
    $1 == "glibc" { t = $2; m = $3 }
    { l[NR] = $1; s[NR] = $2; k[NR] = $3 }
    END {
        for (i = 1; i <= NR; i++)
            printf "| %-24s | %7.1f | %13.1f | %12s | %11s |\n", l[i], s[i],
                k[i] / 1024, rat(s[i], t), rat(k[i], m)
    }' "$tmp/median"
echo
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
