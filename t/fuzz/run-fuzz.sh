#!/bin/sh
# SPDX-License-Identifier: MIT
# run-fuzz.sh - what `make fuzz` runs (t/fuzz/Makefile.inc):
#
#   run-fuzz.sh BIN SECONDS SEEDS [LIBFUZZER-OPTION ...]
#
# Runs the libFuzzer binary BIN for SECONDS in RUN, the directory run/
# beside BIN (emptied first), on a copy of the seed corpus SEEDS (a
# directory): RUN/corpus, where the inputs libFuzzer keeps stay.  Its
# output goes to RUN/fuzz.log (with -jobs=N, each job's to RUN/fuzz-J.log),
# and a failing input to RUN/crash-* (leak-*, timeout-*, oom-*).  Options
# after SEEDS go to libFuzzer, after the defaults, so they can override
# them.
#
# It ends with one line, the same whether the run was clean or not:
#
#   fuzz: N executions in S s, cov C, ft F, corpus K inputs, 0 failures
#
# and exits 0 when libFuzzer exited 0 and left no failing input, 1
# otherwise; a failure also prints the end of each log that reports one,
# and how to replay and minimise the input.
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 BIN SECONDS SEEDS [LIBFUZZER-OPTION ...]" >&2
    exit 2
fi
bin=$1 seconds=$2 seeds=$3
shift 3
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
run=$(dirname "$bin")/run

rm -rf "$run"
mkdir -p "$run/corpus" || exit 1
cp "$seeds"/* "$run/corpus/" || exit 1
nseeds=$(find "$run/corpus" -type f | wc -l)
echo "fuzzing for $seconds s from $nseeds seeds (log: $run/fuzz.log)"

start=$(date +%s)
rc=0
(
    cd "$run" &&
        ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        exec "$bin" -max_total_time="$seconds" -timeout=60 \
        -rss_limit_mb=4096 -print_final_stats=1 "$@" corpus
) >"$run/fuzz.log" 2>&1 || rc=$?
elapsed=$(($(date +%s) - start))

# Executions: libFuzzer's final statistics, one set a process; a process
# that died before printing them counts its last status line ("#N ...").
# With -jobs, the jobs' logs (which fuzz.log repeats) are the ones read.
logs="$run/fuzz.log"
if ls "$run"/fuzz-*.log >/dev/null 2>&1; then
    logs=$(ls "$run"/fuzz-*.log)
fi
execs=0
cov=0
ft=0
for log in $logs; do
    read -r units lcov lft <<EOF
$(awk '
    /^stat::number_of_executed_units:/ { stat = $2 }
    /^#[0-9]+[ \t]/ { last = substr($1, 2) }
    / cov: / { for (i = 1; i < NF; i++) {
                   if ($i == "cov:") cov = $(i + 1)
                   if ($i == "ft:") ft = $(i + 1) } }
    END { print (stat != "" ? stat : last + 0), cov + 0, ft + 0 }
' "$log")
EOF
    execs=$((execs + units))
    [ "$lcov" -gt "$cov" ] && cov=$lcov
    [ "$lft" -gt "$ft" ] && ft=$lft
done
ninputs=$(find "$run/corpus" -type f | wc -l)

failures=0
for f in "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-*; do
    [ -f "$f" ] && failures=$((failures + 1))
done
if [ "$rc" -ne 0 ] && [ "$failures" -eq 0 ]; then
    failures=1 # libFuzzer failed without leaving an input
fi

report='^mpool-fuzz: |^libmpool: |^==[0-9]+==|runtime error: |^SUMMARY: '
if [ "$failures" -ne 0 ]; then
    for log in "$run"/fuzz.log "$run"/fuzz-*.log; do
        [ -f "$log" ] || continue
        # from the first report (the target's, the library's, a
        # sanitizer's or libFuzzer's), at most 60 lines
        first=$(grep -n -E "$report" "$log" | head -n 1 | cut -d: -f1)
        [ -n "$first" ] || continue
        echo "--- $log, from line $first"
        sed -n "$first,$((first + 59))p" "$log"
    done
    echo "libFuzzer exited $rc"
    for f in "$run"/crash-* "$run"/leak-* "$run"/timeout-* "$run"/oom-*; do
        [ -f "$f" ] || continue
        echo "failing input: $f"
        echo "  replay:   t/fuzz/replay $f (MPOOL_FUZZ_TRACE=1: each step)"
        echo "  minimise: $bin -minimize_crash=1 -runs=20000 $f"
    done
fi
echo "fuzz: $execs executions in $elapsed s, cov $cov, ft $ft," \
    "corpus $ninputs inputs, $failures failures"
[ "$failures" -eq 0 ]
