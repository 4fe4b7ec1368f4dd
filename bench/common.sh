# SPDX-License-Identifier: MIT
# bench/common.sh - what bench/run and bench/suite share; each sources it.
# The peers, the machine, and three helpers.  insns and median read N
# (pairs counted) and RUNS, and write in $tmp, which the caller sets.

libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# name:library to preload ("glibc:" preloads nothing)
peers="glibc: jemalloc:$libdir/libjemalloc.so.2 mimalloc:$libdir/libmimalloc.so.2 tcmalloc:$libdir/libtcmalloc_minimal.so.4"

# machine TITLE: two comment lines saying what ran where and when
machine() {
    echo "# $1, $(date -u +%Y-%m-%d), $(uname -m), $(nproc) CPUs"
    echo "# $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
}

# ratio A B: A / B to two places, "-" when either is missing or B is 0
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}

# insns PRELOAD PROGRAM ARGS...: instructions per pair in bench_loop
insns() {
    preload=$1; shift
    LD_PRELOAD=$preload valgrind --tool=callgrind \
        --callgrind-out-file="$tmp/cg.out" --toggle-collect=bench_loop \
        "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
    total=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.out")
    echo $((total / N))
}

# own_insns PROGRAM: from the last insns run, the instructions per pair
# outside PROGRAM (the loop, its PLT stubs) and the dynamic linker: the
# allocator's own share, and for a C++ new where the allocator does not
# export operator new, the C++ runtime's wrapper around malloc.  Each
# object's exclusive cost, summed from callgrind's output file: "ob=" and
# "cob=" lines name the objects ("(id) name" the first time, "(id)"
# after), and the cost line after a "calls=" line is a call's inclusive
# cost, counted where the callee's own lines are.
own_insns() {
    awk -v prog="/${1##*/}" -v n="$N" '
        /^c?ob=/ {
            s = $0; sub(/^c?ob=/, "", s)
            id = s; sub(/\).*/, ")", id)
            nm = s; sub(/^\([0-9]+\) ?/, "", nm)
            if (nm != "") name[id] = nm
            if ($0 ~ /^ob=/) cur = id
            next
        }
        /^calls=/ { skip = 1; next }
        /^[0-9+*-]/ { if (skip) skip = 0; else self[cur] += $2; next }
        END {
            for (o in self) {
                nm = name[o]
                if (substr(nm, length(nm) - length(prog) + 1) == prog ||
                    nm ~ /\/ld-linux[^\/]*$/)
                    continue
                t += self[o]
            }
            printf "%d\n", t / n
        }' "$tmp/cg.out"
}

# median PRELOAD PROGRAM ARGS...: the median of RUNS runs' one number
median() {
    preload=$1; shift
    i=0
    while [ $i -lt "$RUNS" ]; do
        LD_PRELOAD=$preload "$@"
        i=$((i + 1))
    done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
