/* SPDX-License-Identifier: MIT */
/*
 * t/k210/guard-t.c - guard pages on bare metal (QEMU virt, one hart), in
 * checking mode turned on as a kernel does, with mpool_set_debug(1).  With
 * no MMU in use a guard page is a pattern, which the library checks when
 * the memory in front of it is freed and on every mpool_reclaim(): a write
 * past the end of a large pool block, of a page run, or of a segment must
 * be reported there, naming the block.  The library's fatal error is
 * caught here (rv_halt_hook jumps back), its message checked, and the
 * pattern put back so the next case starts clean.
 */
#include "kernel.h"

#define PAGE 4096u
#define SEGMENT (256u * 1024u) /* the k210 backend's segments */

static void *jump[5]; /* __builtin_setjmp's buffer */

static void
halted(void)
{
    __builtin_longjmp(jump, 1);
}

static bool
contains(const char *s, const char *what)
{
    for (; *s != '\0'; s++) {
        size_t i = 0;
        while (what[i] != '\0' && s[i] == what[i])
            i++;
        if (what[i] == '\0')
            return true;
    }
    return false;
}

/* Corrupt the guard byte at *at, run the call that must find it; then put
 * the byte back.  True if the library stopped, naming block. */
#define EXPECT_REPORT(at, call, block)                                     \
    ({                                                                     \
        volatile char *at_ = (volatile char *)(at);                        \
        char saved_ = *at_;                                                \
        bool stopped_ = false;                                             \
        rv_last_error[0] = '\0';                                           \
        *at_ = (char)(saved_ ^ 0xff);                                      \
        if (__builtin_setjmp(jump) == 0) {                                 \
            call;                                                          \
        } else {                                                           \
            stopped_ = true;                                               \
        }                                                                  \
        *at_ = saved_;                                                     \
        stopped_ && contains(rv_last_error, "into its guard page") &&      \
            contains(rv_last_error, hex(block));                           \
    })

/* "0x..." of an address, as the library prints it. */
static const char *
hex(const void *p)
{
    static char buf[2 + 16 + 1];
    uintptr_t v = (uintptr_t)p;
    char digits[16];
    size_t n = 0, at = 0;

    do {
        digits[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v != 0);
    buf[at++] = '0';
    buf[at++] = 'x';
    while (n > 0)
        buf[at++] = digits[--n];
    buf[at] = '\0';
    return buf;
}

void
test_main(void)
{
    size_t len = (size_t)(__ram_end - __free_start);
    mpool_t *pool;
    char *block, *run, *last;

    plan(9);
    ok(mpool_set_debug(1) == 0, "mpool_set_debug(1): checking mode, as a "
                                "kernel turns it on");
    is_u((unsigned long)mpool_k210_init(__free_start, len), 0,
         "mpool_k210_init(%p, %zu KiB)", (void *)__free_start, len / 1024);
    rv_halt_hook = halted;
    pool = mpool_create(NULL);
    if (pool == NULL)
        bail("mpool_create");

    /* A large block (a page run of its own): 3 pages, the 4th a guard. */
    block = mpool_aligned_alloc(pool, PAGE, 3 * PAGE);
    if (block == NULL)
        bail("mpool_aligned_alloc");
    rv_fill(block, 3 * PAGE, 1);
    ok(EXPECT_REPORT(block + 3 * PAGE, mpool_free(pool, block), block),
       "a write into a large block's guard page is reported at free");
    ok(EXPECT_REPORT(block + 3 * PAGE + 100, mpool_reclaim(NULL), block),
       "and by mpool_reclaim while the block is live");
    ok(rv_check(block, 3 * PAGE, 1) == SIZE_MAX,
       "the block itself is intact");
    mpool_free(pool, block);
    ok(true, "with the pattern back, the block frees");

    /* A run of pages from mpool_pages_alloc. */
    run = mpool_pages_alloc(2);
    if (run == NULL)
        bail("mpool_pages_alloc");
    ok(EXPECT_REPORT(run + 2 * PAGE + PAGE - 1, mpool_pages_free(run, 2),
                     run),
       "a write into a page run's guard page is reported at free");
    ok(mpool_pages_free(run, 2) == 0, "with the pattern back, it frees");

    /* The last page of a segment. */
    block = mpool_alloc(pool, 100);
    if (block == NULL)
        bail("mpool_alloc");
    last = (char *)(((uintptr_t)block & ~(uintptr_t)(SEGMENT - 1)) +
                    SEGMENT - PAGE);
    ok(EXPECT_REPORT(last + 7, mpool_reclaim(NULL), last),
       "a write into the last page of a segment is reported by "
       "mpool_reclaim");
    mpool_free(pool, block);
    mpool_destroy(pool);
    rv_halt_hook = NULL;
    mpool_reclaim(NULL); /* every guard intact again, or the run fails */
}

void
test_secondary(unsigned hart)
{
    (void)hart; /* one hart is enough: nothing here is concurrent */
}
