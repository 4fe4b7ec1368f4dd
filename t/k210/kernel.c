/* SPDX-License-Identifier: MIT */
/*
 * t/k210/kernel.c - console, exit, harts and TAP for the bare-metal test
 * images (see kernel.h).  QEMU virt devices: a 16550 UART at 0x10000000,
 * polled; the SiFive test finisher at 0x100000 (0x5555 exits 0,
 * 0x3333 | code << 16 exits code & 0xff, so failure codes stay in 1..255);
 * the CLINT's mtime at 0x0200bff8.
 */
#include <stdarg.h>

#include "kernel.h"

#define UART_BASE 0x10000000ul
#define UART_THR 0 /* transmit holding register */
#define UART_LSR 5 /* line status register */
#define UART_LSR_THRE 0x20
#define FINISHER ((volatile uint32_t *)0x100000ul)
#define FINISHER_PASS 0x5555u
#define FINISHER_FAIL 0x3333u
#define CLINT_MTIME ((volatile uint64_t *)0x0200bff8ul)

/* Exit statuses of a failed run, besides tap_status()'s 1 and 2. */
#define EXIT_BAIL 3
#define EXIT_HALT 4
#define EXIT_TRAP 5

int main(void);
void rv_secondary_entry(unsigned hart) RV_NORETURN;
void rv_trap(uint64_t mcause, uint64_t mepc, uint64_t mtval) RV_NORETURN;

static rv_lock_t console_lock;
static atomic_uint secondary_go;   /* hart 0 -> hart 1: start the tests */
static atomic_uint secondary_done; /* hart 1 -> hart 0: test_secondary
                                      returned */
static atomic_uint barrier_count;
static atomic_uint barrier_generation;
static unsigned tap_planned, tap_run, tap_failed; /* hart 0 only */

/* ------------------------------------------------------------------------
 * Machine
 * ------------------------------------------------------------------------ */

unsigned
rv_hartid(void)
{
    unsigned long id;

    __asm__ volatile("csrr %0, mhartid" : "=r"(id));
    return (unsigned)id;
}

uint64_t
rv_mtime(void)
{
    return *CLINT_MTIME;
}

void
rv_exit(int code)
{
    if (code == 0)
        *FINISHER = FINISHER_PASS;
    else {
        uint32_t c = (uint32_t)code & 0xff;
        *FINISHER = FINISHER_FAIL | ((c != 0 ? c : 1) << 16);
    }
    for (;;)
        __asm__ volatile("wfi");
}

static void
uart_putc(char c)
{
    volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;

    while ((uart[UART_LSR] & UART_LSR_THRE) == 0)
        ;
    uart[UART_THR] = (uint8_t)c;
}

void
rv_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        uart_putc(s[i]);
}

void
rv_lock(rv_lock_t *lock)
{
    unsigned me = rv_hartid() + 1;

    for (;;) {
        unsigned expected = 0;
        if (atomic_compare_exchange_weak_explicit(&lock->owner, &expected, me,
                                                  memory_order_acquire,
                                                  memory_order_relaxed))
            return;
        while (atomic_load_explicit(&lock->owner, memory_order_relaxed) != 0)
            ;
    }
}

void
rv_unlock(rv_lock_t *lock)
{
    atomic_store_explicit(&lock->owner, 0, memory_order_release);
}

/* ------------------------------------------------------------------------
 * Formatting, without libc
 * ------------------------------------------------------------------------ */

/* Where formatted output goes: straight to the UART, a byte at a time. */
static void
put_padded(const char *s, size_t len, unsigned width, bool left, char pad)
{
    size_t fill = width > len ? width - len : 0;

    if (!left)
        for (size_t i = 0; i < fill; i++)
            uart_putc(pad);
    rv_write(s, len);
    if (left)
        for (size_t i = 0; i < fill; i++)
            uart_putc(' ');
}

/* Digits of v in base 10 or 16, written backwards from the end of buf;
 * returns where they start. */
static char *
format_unsigned(char *end, unsigned long long v, unsigned base)
{
    static const char digits[] = "0123456789abcdef";
    char *p = end;

    do {
        *--p = digits[v % base];
        v /= base;
    } while (v != 0);
    return p;
}

static void
rv_vprintf(const char *fmt, va_list ap)
{
    char buf[24]; /* 2^64 - 1 is 20 digits; a sign and "0x" fit too */

    for (const char *f = fmt; *f != '\0'; f++) {
        bool left = false;
        char pad = ' ';
        unsigned width = 0, longs = 0;
        unsigned long long v;
        bool neg = false;
        char *p, *end = buf + sizeof(buf);

        if (*f != '%') {
            uart_putc(*f);
            continue;
        }
        f++;
        for (;; f++) {
            if (*f == '-')
                left = true;
            else if (*f == '0')
                pad = '0';
            else
                break;
        }
        while (*f >= '0' && *f <= '9')
            width = width * 10 + (unsigned)(*f++ - '0');
        while (*f == 'l' || *f == 'z') {
            longs += *f == 'z' ? 2 : 1;
            f++;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            long long s = longs >= 2 ? va_arg(ap, long long)
                          : longs == 1 ? va_arg(ap, long)
                                       : va_arg(ap, int);
            neg = s < 0;
            v = neg ? 0ull - (unsigned long long)s : (unsigned long long)s;
            p = format_unsigned(end, v, 10);
            if (neg)
                *--p = '-';
            put_padded(p, (size_t)(end - p), width, left, pad);
            break;
        }
        case 'u':
        case 'x':
            v = longs >= 2 ? va_arg(ap, unsigned long long)
                : longs == 1 ? va_arg(ap, unsigned long)
                             : va_arg(ap, unsigned);
            p = format_unsigned(end, v, *f == 'u' ? 10 : 16);
            put_padded(p, (size_t)(end - p), width, left, pad);
            break;
        case 'p':
            p = format_unsigned(end, (uintptr_t)va_arg(ap, void *), 16);
            *--p = 'x';
            *--p = '0';
            put_padded(p, (size_t)(end - p), width, left, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            size_t len = 0;
            if (s == NULL)
                s = "(null)";
            while (s[len] != '\0')
                len++;
            put_padded(s, len, width, left, ' ');
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            put_padded(buf, 1, width, left, ' ');
            break;
        case '%':
            uart_putc('%');
            break;
        default: /* not supported: show it, so a test's author notices */
            uart_putc('%');
            if (*f == '\0')
                return;
            uart_putc(*f);
            break;
        }
    }
}

void
rv_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rv_lock(&console_lock);
    rv_vprintf(fmt, ap);
    rv_unlock(&console_lock);
    va_end(ap);
}

/* ------------------------------------------------------------------------
 * TAP
 * ------------------------------------------------------------------------ */

void
plan(unsigned count)
{
    tap_planned = count;
    rv_printf("1..%u\n", count);
}

/* rv_printf without the lock, for callers that hold it. */
static void RV_PRINTF(1, 2)
printf_locked(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rv_vprintf(fmt, ap);
    va_end(ap);
}

static bool
vok(bool pass, const char *fmt, va_list ap)
{
    rv_lock(&console_lock);
    tap_run++;
    if (!pass)
        tap_failed++;
    printf_locked("%sok %u - ", pass ? "" : "not ", tap_run);
    rv_vprintf(fmt, ap);
    uart_putc('\n');
    rv_unlock(&console_lock);
    return pass;
}

bool
ok(bool pass, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vok(pass, fmt, ap);
    va_end(ap);
    return pass;
}

bool
is_u(unsigned long got, unsigned long want, const char *fmt, ...)
{
    va_list ap;
    bool pass = got == want;

    va_start(ap, fmt);
    vok(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        diag("    got: %lu, expected: %lu", got, want);
    return pass;
}

void
diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rv_lock(&console_lock);
    rv_write("# ", 2);
    rv_vprintf(fmt, ap);
    uart_putc('\n');
    rv_unlock(&console_lock);
    va_end(ap);
}

void
bail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rv_lock(&console_lock);
    printf_locked("Bail out! hart %u: ", rv_hartid());
    rv_vprintf(fmt, ap);
    uart_putc('\n');
    rv_unlock(&console_lock);
    va_end(ap);
    rv_exit(EXIT_BAIL);
}

int
tap_status(void)
{
    if (tap_run != tap_planned) {
        diag("planned %u tests but ran %u", tap_planned, tap_run);
        return 2;
    }
    if (tap_failed != 0) {
        diag("failed %u of %u tests", tap_failed, tap_run);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Harts
 * ------------------------------------------------------------------------ */

int
main(void)
{
    test_main();
    return tap_status();
}

/* Hart 1 from start.S: wait for hart 0 to set the library up, run the
 * image's part, say so, park.  Harts >= RV_NHARTS never get here. */
void
rv_secondary_entry(unsigned hart)
{
    while (atomic_load_explicit(&secondary_go, memory_order_acquire) == 0)
        ;
    test_secondary(hart);
    atomic_store_explicit(&secondary_done, 1, memory_order_release);
    for (;;)
        __asm__ volatile("wfi");
}

void
rv_release_secondary(void)
{
    atomic_store_explicit(&secondary_go, 1, memory_order_release);
}

uint64_t
rv_deadline(void)
{
    return rv_mtime() + (uint64_t)RV_WAIT_SECONDS * RV_MTIME_HZ;
}

void
rv_check_deadline(uint64_t deadline, const char *what)
{
    if (rv_mtime() > deadline)
        bail("waited %u s for the other hart (%s)", RV_WAIT_SECONDS, what);
}

/* Spin until *flag is value or RV_WAIT_SECONDS have passed. */
static void
wait_for(atomic_uint *flag, unsigned value, const char *what)
{
    uint64_t deadline = rv_deadline();

    while (atomic_load_explicit(flag, memory_order_acquire) != value)
        rv_check_deadline(deadline, what);
}

void
rv_wait_secondary(const char *what)
{
    wait_for(&secondary_done, 1, what);
}

/* A sense-reversing barrier for RV_NHARTS harts. */
void
rv_barrier(const char *what)
{
    unsigned gen = atomic_load_explicit(&barrier_generation,
                                        memory_order_acquire);

    if (atomic_fetch_add_explicit(&barrier_count, 1, memory_order_acq_rel) ==
        RV_NHARTS - 1) {
        atomic_store_explicit(&barrier_count, 0, memory_order_relaxed);
        atomic_store_explicit(&barrier_generation, gen + 1,
                              memory_order_release);
        return;
    }
    wait_for(&barrier_generation, gen + 1, what);
}

bool
rv_mbox_put(rv_mbox_t *mbox, void *p)
{
    _Atomic(uintptr_t) *slot = &mbox->slot[mbox->head % RV_MBOX_SLOTS];

    if (atomic_load_explicit(slot, memory_order_acquire) != 0)
        return false;
    atomic_store_explicit(slot, (uintptr_t)p, memory_order_release);
    mbox->head++;
    return true;
}

void *
rv_mbox_get(rv_mbox_t *mbox)
{
    _Atomic(uintptr_t) *slot = &mbox->slot[mbox->tail % RV_MBOX_SLOTS];
    uintptr_t p = atomic_load_explicit(slot, memory_order_acquire);

    if (p == 0)
        return NULL;
    atomic_store_explicit(slot, 0, memory_order_release);
    mbox->tail++;
    return (void *)p;
}

/* ------------------------------------------------------------------------
 * Traps and the library's hooks
 * ------------------------------------------------------------------------ */

/* From start.S's trap vector: any trap is a bug.  If this hart held the
 * console lock when it trapped, take it back rather than wait forever. */
void
rv_trap(uint64_t mcause, uint64_t mepc, uint64_t mtval)
{
    unsigned me = rv_hartid() + 1;

    if (atomic_load_explicit(&console_lock.owner, memory_order_relaxed) == me)
        rv_unlock(&console_lock);
    rv_lock(&console_lock);
    printf_locked("Bail out! trap mcause=%lu mepc=%p mtval=0x%lx hart=%u\n",
                  (unsigned long)mcause, (void *)(uintptr_t)mepc,
                  (unsigned long)mtval, me - 1);
    rv_exit(EXIT_TRAP);
}

/* The library's diagnostics, as TAP comments: "# " before each line. */
void
mpool_k210_write(const char *msg, size_t len)
{
    bool line_start = true;
    size_t keep = len < sizeof(rv_last_error) - 1 ? len
                                                   : sizeof(rv_last_error) - 1;

    __builtin_memcpy(rv_last_error, msg, keep); /* for an expected halt */
    rv_last_error[keep] = '\0';
    rv_lock(&console_lock);
    for (size_t i = 0; i < len; i++) {
        if (line_start)
            rv_write("# ", 2);
        uart_putc(msg[i]);
        line_start = msg[i] == '\n';
    }
    if (!line_start)
        uart_putc('\n');
    rv_unlock(&console_lock);
}

/* A fatal error in the library fails the run at once, unless the image
 * expects it (rv_halt_hook, which does not return). */
void (*rv_halt_hook)(void);
char rv_last_error[256];

void
mpool_k210_halt(void)
{
    if (rv_halt_hook != NULL)
        rv_halt_hook();
    rv_printf("Bail out! hart %u: libmpool halted after a fatal error\n",
              rv_hartid());
    rv_exit(EXIT_HALT);
}

/* ------------------------------------------------------------------------
 * Test helpers
 * ------------------------------------------------------------------------ */

uint64_t
rv_rand(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static inline uint8_t
pattern_byte(uint64_t seed, size_t i)
{
    uint64_t x = (seed + (i >> 3)) * 0x9e3779b97f4a7c15ull;
    return (uint8_t)(x >> (8 * (i & 7)));
}

void
rv_fill(void *p, size_t len, uint64_t seed)
{
    uint8_t *c = p;
    size_t i = 0;

    if (((uintptr_t)c & 7) == 0)
        for (; i + 8 <= len; i += 8)
            *(uint64_t *)(void *)(c + i) =
                (seed + (i >> 3)) * 0x9e3779b97f4a7c15ull;
    for (; i < len; i++)
        c[i] = pattern_byte(seed, i);
}

size_t
rv_check(const void *p, size_t len, uint64_t seed)
{
    const uint8_t *c = p;
    size_t i = 0;

    if (((uintptr_t)c & 7) == 0)
        for (; i + 8 <= len; i += 8)
            if (*(const uint64_t *)(const void *)(c + i) !=
                (seed + (i >> 3)) * 0x9e3779b97f4a7c15ull)
                break;
    for (; i < len; i++)
        if (c[i] != pattern_byte(seed, i))
            return i;
    return SIZE_MAX;
}
