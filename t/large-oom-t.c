/* SPDX-License-Identifier: MIT */
/*
 * t/large-oom-t.c - a pool's large block when memory is short.  A pool
 * with no retention cap keeps the slabs its freed blocks leave empty, for
 * its classes to reuse; when a large block (a page run of its own: an
 * alignment no class honours, or a size past the classes) then finds no
 * memory, the allocation gives back what every layer holds, as a class
 * block's does, and tries once more, rather than fail with the memory
 * sitting in empty slabs.
 *
 * mpool_pages_alloc, below the pools, does the same.
 *
 * In a child with a low address-space limit (the k210 backend: its 8 MiB
 * of RAM, no limit to set): small blocks until ENOMEM, all freed, then a
 * large request, for each kind of request in turn.  Each check is one bit
 * of the child's exit status.
 * Skipped under valgrind and ASan, which need far more address space than
 * the limit leaves.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#include "mpool.h"
#include "tap/tap.h"

#define BLOCK 4000
#define MAX_BLOCKS 100000
#define LIMIT ((size_t)64 << 20)
#define ALIGN ((size_t)256 << 10)
#define ALIGNED_SIZE ((size_t)512 << 10)

static const char *const checks[] = {
    "small blocks fill the memory there is: NULL, ENOMEM",
    "freed, their slabs stay with the pool (no cap): bytes_empty",
    "an aligned block (a page run of its own) is then allocated, aligned",
    "... a block past the classes (mmap and k210 backends)",
    "... and a run from mpool_pages_alloc",
    "each is writable, and the pool allocates small blocks again",
};
enum { NCHECKS = sizeof(checks) / sizeof(checks[0]) };

static void *blocks[MAX_BLOCKS];

/* A pool holding the memory there is in empty slabs: small blocks until
 * ENOMEM, all freed. */
static mpool_t *
fill_and_free(int *failed)
{
    mpool_stats_t st = {.size = sizeof(st)};
    mpool_t *p = mpool_create(NULL);
    int n = 0, err = 0;

    if (p == NULL)
        return NULL;
    while (n < MAX_BLOCKS) {
        errno = 0;
        if ((blocks[n] = mpool_alloc(p, BLOCK)) == NULL) {
            err = errno;
            break;
        }
        memset(blocks[n], 0x5a, BLOCK);
        n++;
    }
    if (n == MAX_BLOCKS || err != ENOMEM)
        *failed |= 1 << 0;
    for (int i = 0; i < n; i++)
        mpool_free(p, blocks[i]);
    mpool_stats(p, &st);
    if (st.blocks_in_use != 0 || st.bytes_empty < (size_t)n * BLOCK / 2)
        *failed |= 1 << 1;
    return p;
}

/* The large requests: each is made after a fill of its own. */
enum ask { ASK_ALIGNED, ASK_HUGE, ASK_PAGES };
static const int ask_check[] = {
    [ASK_ALIGNED] = 1 << 2, [ASK_HUGE] = 1 << 3, [ASK_PAGES] = 1 << 4};

static char *
request(enum ask kind, mpool_t *p, size_t size)
{
    char *block;

    switch (kind) {
    case ASK_ALIGNED:
        block = mpool_aligned_alloc(p, ALIGN, size);
        return block != NULL && ((uintptr_t)block & (ALIGN - 1)) == 0
                   ? block
                   : NULL;
    case ASK_HUGE:
        return mpool_alloc(p, size);
    default:
        return mpool_pages_alloc(size / mpool_page_size());
    }
}

static int
fill_free_and_ask(enum ask kind, size_t size)
{
    int failed = 0;
    mpool_t *p = fill_and_free(&failed);
    const int stamp = 0x31 + (int)kind;
    char *block;
    void *small;

    if (p == NULL)
        return 0x7f;
    if ((block = request(kind, p, size)) == NULL)
        failed |= ask_check[kind];
    else
        memset(block, stamp, size);
    small = mpool_alloc(p, BLOCK);
    if (small == NULL || (block != NULL && block[size - 1] != stamp))
        failed |= 1 << 5;
    mpool_free(p, small);
    if (block != NULL && kind == ASK_PAGES)
        mpool_pages_free(block, size / mpool_page_size());
    else
        mpool_free(p, block);
    mpool_destroy(p);
    return failed;
}

/* Every request; the block past the classes only where huge_size is not
 * 0. */
static int
ask_all(size_t huge_size)
{
    int failed = fill_free_and_ask(ASK_ALIGNED, ALIGNED_SIZE) |
                 fill_free_and_ask(ASK_PAGES, ALIGNED_SIZE);

    if (huge_size != 0)
        failed |= fill_free_and_ask(ASK_HUGE, huge_size);
    return failed;
}

static int
child(void)
{
    struct rlimit low;

    if (getrlimit(RLIMIT_AS, &low) != 0)
        return 0x7f;
    low.rlim_cur = tap_mapped_bytes() + LIMIT;
    if (setrlimit(RLIMIT_AS, &low) != 0)
        return 0x7f;
    /* half the limit: room for it only once the empty slabs' segments
     * are given back (the program break gives back only its top) */
    return ask_all(tap_backend_is("mmap") ? LIMIT / 2 : 0);
}

static int
child_k210(void)
{
    /* its huge spans are contiguous segments of the fixed RAM: 3 MiB */
    return ask_all((size_t)3 << 20);
}

int
main(void)
{
    bool k210 = tap_backend_is("k210");

    if (!k210)
        tap_skip_if_rlimit_as_unusable();
    plan(NCHECKS + 1);
    tap_child_checks(k210 ? child_k210 : child, checks, NCHECKS);
    return tap_done();
}
