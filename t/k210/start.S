/* SPDX-License-Identifier: MIT */
/*
 * t/k210/start.S - start-up code of the bare-metal test image that runs
 * the k210 build of libmpool on QEMU's virt machine (doc/backends.md,
 * "Bare-metal test image").
 *
 * With -bios none every hart starts here at 0x80000000 in M-mode, all at
 * once, with a0 = its hart id.  Each hart sets gp, a 16 KiB stack of its
 * own (harts >= RV_NHARTS park first: they have none), the trap vector and
 * mstatus.FS (off after reset: any FP instruction would trap).  Hart 0
 * clears .bss, then releases the others through boot_release, which lives
 * in .data because .bss is what it clears; it calls main() and exits
 * through the test finisher with main's result.  The others call
 * rv_secondary_entry(hartid), which never returns.
 */
#define RV_STACK_SIZE 0x4000
#define RV_NHARTS 2

    .section .text.init, "ax", @progbits
    .globl _start
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
    csrw    mie, zero
    csrr    t0, mhartid
    li      t1, RV_NHARTS
    bgeu    t0, t1, park
    /* sp = __stack_top - hartid * RV_STACK_SIZE */
    la      sp, __stack_top
    li      t1, RV_STACK_SIZE
    mul     t1, t1, t0
    sub     sp, sp, t1
    la      t1, rv_trap_entry
    csrw    mtvec, t1
    li      t1, 1 << 13             /* mstatus.FS = Initial */
    csrs    mstatus, t1
    csrw    fcsr, zero
    bnez    t0, secondary

    /* hart 0: clear .bss, then let the others go */
    la      t1, __bss_start
    la      t2, __bss_end
1:  bgeu    t1, t2, 2f
    sd      zero, 0(t1)
    addi    t1, t1, 8
    j       1b
2:  fence   w, w
    la      t1, boot_release
    li      t2, 1
    sw      t2, 0(t1)
    call    main
    call    rv_exit                 /* a0 = main's result; does not return */
    j       park

secondary:
    la      t1, boot_release
3:  lw      t2, 0(t1)
    beqz    t2, 3b
    fence   r, rw
    csrr    a0, mhartid
    call    rv_secondary_entry
park:
    wfi
    j       park

/*
 * Any trap is a failure: take the hart's own stack from its top again (we
 * never return to the code that trapped) and report it in C.
 */
    .align  2
    .globl rv_trap_entry
rv_trap_entry:
    csrr    t0, mhartid
    la      sp, __stack_top
    li      t1, RV_STACK_SIZE
    mul     t1, t1, t0
    sub     sp, sp, t1
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    rv_trap
    j       park

    .section .data
    .align  2
    .globl boot_release
boot_release:
    .word   0
