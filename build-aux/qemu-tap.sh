#!/bin/sh
# SPDX-License-Identifier: MIT
# build-aux/qemu-tap.sh IMAGE - boot a bare-metal test image (t/k210/*.elf)
# on QEMU's RISC-V virt machine, K210-sized: 8 MiB of RAM at 0x80000000 and
# two harts, no firmware (-bios none: both harts start at the image in
# M-mode).  The image prints TAP on the serial port, which -nographic puts
# on stdout for tap-driver.sh, and ends QEMU through the test finisher:
# exit status 0 when every test passed.  A hang is cut off after
# QEMU_TIMEOUT seconds and reported as "Bail out!".
#
# Environment: QEMU_RV64 (default qemu-system-riscv64), QEMU_TIMEOUT
# (default 60), QEMU_SMP (default 2).  QEMU's default multi-threaded TCG
# runs the harts in parallel host threads; -accel tcg,thread=single would
# hide races.
: "${QEMU_RV64:=qemu-system-riscv64}" "${QEMU_TIMEOUT:=60}" "${QEMU_SMP:=2}"
[ -f "$1" ] || { echo "Bail out! no image $1"; exit 99; }
timeout -k 5 "$QEMU_TIMEOUT" "$QEMU_RV64" -machine virt -bios none -m 8M \
    -smp "$QEMU_SMP" -nographic -monitor none -kernel "$1" </dev/null
rc=$?
if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    echo "Bail out! qemu timed out after ${QEMU_TIMEOUT}s"
fi
exit $rc
