#!/bin/sh
# SPDX-License-Identifier: MIT
# t/k210/nofloat-t.sh - the k210 build of the library contains no
# floating-point instruction.  It is built for rv64gc with the lp64d ABI,
# to link with kernels built that way, but a kernel may run it with the FPU
# off (mstatus.FS = 0), where any such instruction traps; RISC-V GCC has no
# -mgeneral-regs-only to promise it, so this reads the disassembly.
#
# Environment: RV_OBJDUMP, an objdump that reads RISC-V; RV_OBJECTS, the
# objects or archives to check (relative to the build directory);
# RV_FP_CONTROL, optionally, an object that does use the FPU (start.S
# writes fcsr), to show that the check can fail.
set -u
: "${RV_OBJDUMP:=}" "${RV_OBJECTS:=}" "${RV_FP_CONTROL:=}"
if [ -z "$RV_OBJDUMP" ] || [ -z "$RV_OBJECTS" ]; then
    echo "1..0 # SKIP no RISC-V objdump or no objects to check"
    exit 0
fi

# The floating-point instructions of an object, one per line: every
# RISC-V F/D mnemonic starts with "f" (fld, fsd, fmv.x.d, fcvt, fscsr, ...)
# and "fence" is the only other one that does.
fp_insns() {
    "$RV_OBJDUMP" -d --no-show-raw-insn "$1" |
        awk -F'\t' '$2 ~ /^f/ && $2 !~ /^fence/ { print $2 "\t" $3 }'
}

n=0
count=0
for obj in $RV_OBJECTS; do count=$((count + 1)); done
[ -n "$RV_FP_CONTROL" ] && count=$((count + 1))
echo "1..$count"

for obj in $RV_OBJECTS; do
    n=$((n + 1))
    if [ ! -f "$obj" ]; then
        echo "not ok $n - $obj: not built"
        continue
    fi
    found=$(fp_insns "$obj")
    if [ -z "$found" ]; then
        echo "ok $n - $obj has no floating-point instruction"
    else
        echo "not ok $n - $obj has floating-point instructions"
        echo "$found" | head -n 10 | sed 's/^/#   /'
    fi
done

if [ -n "$RV_FP_CONTROL" ]; then
    n=$((n + 1))
    if [ -f "$RV_FP_CONTROL" ] && [ -n "$(fp_insns "$RV_FP_CONTROL")" ]; then
        echo "ok $n - the check finds the FPU use in $RV_FP_CONTROL"
    else
        echo "not ok $n - the check finds no FPU use in $RV_FP_CONTROL"
    fi
fi
