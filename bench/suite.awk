# SPDX-License-Identifier: MIT
# bench/suite.awk - bench/suite's tables and plot data, from its data files:
#   results  "ROW ALLOC key=value ...": ns_op and hwm_kib from every
#            workload (bench_report in bench/bench.h), and its own keys
#   insns    "SHAPE SIZE ALLOC INSTRUCTIONS-PER-PAIR OWN-SHARE": SHAPE is
#            pair, batch (malloc + free), new (new + delete) or usable
#            (one malloc_usable_size call)
# Variables: names (the allocators, in column order), threads (THREADS),
# runs (RUNS), data (the directory for throughput.dat, scaling.dat and
# insns.dat, which bench/suite.gp plots).
#
# "mpool-malloc" and "mpool-pool" are libmpool; the others are the peers.
# Ratios are libmpool's figure over the peer's, so below 1 is better for
# time and memory; geometric means are over the rows shown.

function get(r, a, k) { return ((r, a, k) in v) ? v[r, a, k] : "" }
function rat(x, y) { return (x == "" || y == "" || y + 0 == 0) ? "" : x / y }
function fmt(x, f) { return x == "" ? "-" : sprintf(f, x) }
# mib_rows(ROW, KEYS, LABELS): one table line a key of ROW's results,
# each allocator's figure in KiB shown in MiB
function mib_rows(r, keys, labels,    key, label, n, k, a, x, line) {
    n = split(keys, key, " ")
    split(labels, label, "|")
    for (k = 1; k <= n; k++) {
        line = sprintf("| %-15s |", label[k])
        for (a = 1; a <= nname; a++) {
            x = get(r, name[a], key[k])
            line = line sprintf(" %12s |", x == "" ? "-" : sprintf("%.1f", x / 1024))
        }
        print line
    }
}
function short(a) {
    if (a == "mpool-malloc") return "M"
    if (a == "mpool-pool") return "P"
    return a
}
# geo(KEY, X): add X to the geometric mean KEY; mean(KEY): the mean
function geo(k, x) { if (x != "" && x > 0) { gsum[k] += log(x); gn[k]++ } }
function mean(k) { return gn[k] ? exp(gsum[k] / gn[k]) : "" }
function header(first, cols,    i, n, c, line, rule) {
    n = split(cols, c, " ")
    line = sprintf("| %-15s |", first)
    rule = "|-----------------|"
    for (i = 1; i <= n; i++) {
        line = line sprintf(" %12s |", c[i])
        rule = rule "-------------:|"
    }
    print line
    print rule
}
function verdict(x, target, below) {
    if (x == "") return "not measured"
    if (below) return (x <= target) ? "met" : "NOT met"
    return (x >= target) ? "met" : "NOT met"
}

# itable(A): the instruction table of A[SHAPE, SIZE, ALLOC], the ratios
# of libmpool's figures to mimalloc's and glibc's after the allocators
function itable(A,    cols, m, r, sz, line, a, x) {
    print ""
    cols = names
    for (m = 1; m <= nmine; m++)
        cols = cols " " short(mine[m]) "/mimalloc " short(mine[m]) "/glibc"
    header("shape, size", cols)
    for (r = 1; r <= nirow; r++) {
        split(irow[r], sz, " ")
        line = sprintf("| %-15s |", sz[1] ", " sz[2])
        for (a = 1; a <= nname; a++)
            line = line sprintf(" %12s |", fmt(A[sz[1], sz[2], name[a]], "%d"))
        for (m = 1; m <= nmine; m++) {
            x = rat(A[sz[1], sz[2], mine[m]], A[sz[1], sz[2], "mimalloc"])
            line = line sprintf(" %12s |", fmt(x, "%.2f"))
            line = line sprintf(" %12s |", fmt(rat(A[sz[1], sz[2], mine[m]],
                A[sz[1], sz[2], "glibc"]), "%.2f"))
        }
        print line
    }
}

FILENAME ~ /results$/ {
    if (!($1 in seen)) { seen[$1]; row[++nrow] = $1 }
    for (i = 3; i <= NF; i++) {
        eq = index($i, "=")
        v[$1, $2, substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    next
}
FILENAME ~ /insns$/ {
    if (!(($1, $2) in iseen)) { iseen[$1, $2]; irow[++nirow] = $1 " " $2 }
    ins[$1, $2, $3] = $4
    if (NF >= 5) own[$1, $2, $3] = $5
}

END {
    nname = split(names, name, " ")
    npeer = nmine = 0
    for (i = 1; i <= nname; i++)
        if (name[i] ~ /^mpool-/) mine[++nmine] = name[i]
        else peer[++npeer] = name[i]
    nt = split(threads, thr, " ")

    # --- the table of ratios -------------------------------------------
    print ""
    print "## Ratios: libmpool / peer (below 1: libmpool takes less time or memory)"
    print ""
    print "M = libmpool-malloc preloaded, P = libmpool's pools (its own API)."
    print "M/peer, P/peer: time (ns per operation, median of " runs " runs);"
    print "M-rss/mimalloc, P-rss/mimalloc: peak resident memory (VmHWM)."
    print ""
    cols = ""
    for (m = 1; m <= nmine; m++)
        for (p = 1; p <= npeer; p++)
            cols = cols " " short(mine[m]) "/" peer[p]
    for (m = 1; m <= nmine; m++)
        cols = cols " " short(mine[m]) "-rss/mimalloc"
    header("workload", cols)
    for (r = 1; r <= nrow; r++) {
        line = sprintf("| %-15s |", row[r])
        for (m = 1; m <= nmine; m++)
            for (p = 1; p <= npeer; p++) {
                x = rat(get(row[r], mine[m], "ns_op"), get(row[r], peer[p], "ns_op"))
                geo("t" mine[m] peer[p], x)
                line = line sprintf(" %12s |", fmt(x, "%.2f"))
            }
        for (m = 1; m <= nmine; m++) {
            x = rat(get(row[r], mine[m], "hwm_kib"), get(row[r], "mimalloc", "hwm_kib"))
            geo("r" mine[m], x)
            line = line sprintf(" %12s |", fmt(x, "%.2f"))
            # for issue 16's targets, below
            for (p = 1; p <= npeer; p++)
                geo("r" mine[m] peer[p], rat(get(row[r], mine[m], "hwm_kib"),
                    get(row[r], peer[p], "hwm_kib")))
        }
        print line
    }
    line = sprintf("| %-15s |", "**geomean**")
    for (m = 1; m <= nmine; m++)
        for (p = 1; p <= npeer; p++)
            line = line sprintf(" %12s |", fmt(mean("t" mine[m] peer[p]), "**%.2f**"))
    for (m = 1; m <= nmine; m++)
        line = line sprintf(" %12s |", fmt(mean("r" mine[m]), "**%.2f**"))
    print line

    # --- the figures behind it ------------------------------------------
    print ""
    print "## Time, ns per operation (median of " runs " runs; lower is better)"
    print ""
    header("workload", names)
    for (r = 1; r <= nrow; r++) {
        line = sprintf("| %-15s |", row[r])
        for (a = 1; a <= nname; a++)
            line = line sprintf(" %12s |", fmt(get(row[r], name[a], "ns_op"), "%.1f"))
        print line
    }
    print ""
    print "## Peak resident memory, MiB (VmHWM of the median run)"
    print ""
    header("workload", names)
    for (r = 1; r <= nrow; r++) {
        line = sprintf("| %-15s |", row[r])
        for (a = 1; a <= nname; a++) {
            x = get(row[r], name[a], "hwm_kib")
            line = line sprintf(" %12s |", x == "" ? "-" : sprintf("%.1f", x / 1024))
        }
        print line
    }

    print ""
    print "## Memory: fragmentation, and what goes back to the system"
    print ""
    print "frag: peak resident / peak live bytes (bench/frag.c); frag kept and"
    print "frag trimmed: MiB resident above the start at its end, a quarter of"
    print "its bytes still live (8 MiB by default), before and after the"
    print "allocator's trim call.  release: MiB resident above the start after"
    print "allocating (peak), after freeing everything (kept), and after the"
    print "trim call (trimmed)."
    print ""
    header("", names)
    line = sprintf("| %-15s |", "frag")
    for (a = 1; a <= nname; a++)
        line = line sprintf(" %12s |", fmt(get("frag", name[a], "frag"), "%.2f"))
    print line
    mib_rows("frag", "kept_kib trimmed_kib", "frag kept|frag trimmed")
    mib_rows("release", "peak_kib kept_kib trimmed_kib",
        "release peak|release kept|release trimmed")
    line = sprintf("| %-15s |", "trim call")
    for (a = 1; a <= nname; a++) {
        x = get("release", name[a], "trim")
        line = line sprintf(" %12s |", x == "" ? "-" : x)
    }
    print line

    print ""
    print "## realloc: share of the reallocs that moved the block (a copy)"
    print ""
    header("", names)
    line = sprintf("| %-15s |", "moved")
    for (a = 1; a <= nname; a++)
        line = line sprintf(" %12s |", fmt(get("realloc", name[a], "moved"), "%.2f"))
    print line

    print ""
    print "## Scaling: Larson throughput on N threads / on " thr[1]
    print ""
    print "larson: with hand-over between threads; local: without."
    print ""
    header("threads", names)
    split("|-local", kind, "|")
    for (k = 1; k <= 2; k++)
        for (t = 2; t <= nt; t++) {
            line = sprintf("| %-15s |", (k == 1 ? "larson " : "local ") \
                thr[t] "/" thr[1])
            for (a = 1; a <= nname; a++) {
                x = rat(get("larson-" thr[1] "t" kind[k], name[a], "ns_op"),
                        get("larson-" thr[t] "t" kind[k], name[a], "ns_op"))
                scale[k, thr[t], name[a]] = x
                line = line sprintf(" %12s |", fmt(x, "%.2f"))
            }
            print line
        }

    if (nirow > 0) {
        print ""
        print "## Instructions per pair or call (callgrind, benchmark loop included)"
        print ""
        print "pair: malloc + free, one block at a time; batch: 1000 live blocks of"
        print "SIZE/2 .. 3*SIZE/2 freed in another order (bench/cache-bench.c); P is"
        print "mpool_alloc + mpool_free on a pool.  new: C++ new + sized delete"
        print "(bench/newdelete.cc; no P).  usable: one malloc_usable_size call on"
        print "one of 1000 live blocks (P: mpool_usable_size)."
        itable(ins)
        print ""
        print "## The allocator's own instructions per pair or call (callgrind, by object)"
        print ""
        print "The same runs, less the benchmark program's own instructions (the"
        print "loop, its PLT stubs) and the dynamic linker's: the allocator's"
        print "library, and for new under an allocator that does not export"
        print "operator new (glibc), the C++ runtime's operator new around malloc."
        itable(own)
    }

    # --- issue 7's targets -----------------------------------------------
    print ""
    print "## Against issue 7's targets"
    print ""
    for (m = 1; m <= nmine; m++) {
        s = short(mine[m]) " (" mine[m] ")"
        x = mean("t" mine[m] "mimalloc")
        print "- " s ": geomean time / mimalloc " fmt(x, "%.2f") \
            " (target <= 0.95: " verdict(x, 0.95, 1) ")"
        x = mean("t" mine[m] "glibc")
        print "- " s ": geomean time / glibc " fmt(x, "%.2f") \
            " (target <= 0.70: " verdict(x, 0.70, 1) ")"
        x = mean("r" mine[m])
        print "- " s ": geomean peak RSS / mimalloc " fmt(x, "%.2f") \
            " (target <= 1.00: " verdict(x, 1.00, 1) ")"
        for (k = 1; k <= 2; k++)
            for (t = 2; t <= nt; t++) {
                x = scale[k, thr[t], mine[m]]
                target = thr[t] == 2 ? 1.9 : (thr[t] == 16 ? 14 : "")
                print "- " s ": Larson" (k == 1 ? "" : " (local)") " " \
                    thr[t] "/" thr[1] " thread scaling " fmt(x, "%.2f") \
                    (target == "" ? "" : " (target >= " target ": " \
                    verdict(x, target, 0) ")")
            }
    }

    # --- issue 16's targets ----------------------------------------------
    print ""
    print "## Against issue 16's targets (the suite's part of them)"
    print ""
    for (m = 1; m <= nmine; m++) {
        s = short(mine[m]) " (" mine[m] ")"
        line = ""
        all = 1
        for (p = 1; p <= npeer; p++) {
            x = mean("t" mine[m] peer[p])
            line = line (p > 1 ? ", " : "") peer[p] " " fmt(x, "%.2f")
            if (x == "" || x >= 1)
                all = 0
        }
        print "- " s ": geomean time / each peer: " line \
            " (target: each below 1: " (npeer ? (all ? "met" : "NOT met") : "not measured") ")"
        x = mean("r" mine[m] "glibc")
        print "- " s ": geomean peak RSS / glibc " fmt(x, "%.2f") \
            " (target <= 1.00: " verdict(x, 1.00, 1) ")"
    }

    # --- data for bench/suite.gp --------------------------------------------
    f = data "/throughput.dat"
    printf "workload" > f
    for (a = 1; a <= nname; a++) printf " %s", name[a] > f
    printf "\n" > f
    for (r = 1; r <= nrow; r++) {
        printf "%s", row[r] > f
        for (a = 1; a <= nname; a++)
            printf " %s", fmt(rat(get(row[r], "glibc", "ns_op"),
                get(row[r], name[a], "ns_op")), "%.3f") > f
        printf "\n" > f
    }
    close(f)
    # scaling.dat: threads, then Mop/s of each allocator with hand-over,
    # then of each without
    f = data "/scaling.dat"
    printf "threads" > f
    for (k = 1; k <= 2; k++)
        for (a = 1; a <= nname; a++)
            printf " %s%s", name[a], k == 1 ? "" : "-local" > f
    printf "\n" > f
    for (t = 1; t <= nt; t++) {
        printf "%s", thr[t] > f
        for (k = 1; k <= 2; k++)
            for (a = 1; a <= nname; a++) {
                x = get("larson-" thr[t] "t" kind[k], name[a], "ns_op")
                printf " %s", x == "" ? "-" : sprintf("%.3f", 1000 / x) > f
            }
        printf "\n" > f
    }
    close(f)
    f = data "/insns.dat"
    printf "size" > f
    for (a = 1; a <= nname; a++) printf " %s", name[a] > f
    printf "\n" > f
    for (r = 1; r <= nirow; r++) {
        split(irow[r], sz, " ")
        if (sz[1] != "pair") continue
        printf "%s", sz[2] > f
        for (a = 1; a <= nname; a++)
            printf " %s", fmt(ins["pair", sz[2], name[a]], "%d") > f
        printf "\n" > f
    }
    close(f)
}
