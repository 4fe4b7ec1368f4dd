/* SPDX-License-Identifier: MIT */
/*
 * guard.c - guard pages, in checking mode (MPOOL_DEBUG=1, mpool_set_debug):
 * one page that must never be touched after each run served straight from
 * the page level (a pool's large blocks, mpool_pages_alloc runs) and at the
 * end of every buddy segment, the way seeds/004 puts one between kernel
 * stacks.  Running off the end of such memory then stops at the guard
 * instead of landing in a neighbour's block or a segment header.
 *
 * A guard is filled with a pattern, then made inaccessible where the
 * backend can protect memory (mmap and sbrk: mprotect), so the first byte
 * written past the end faults.  Where it cannot (k210, which runs without
 * the MMU) the pattern is the guard: it is checked when the memory in front
 * of it is freed, when its segment is given back, and by every
 * mpool_reclaim(), and a write into it is reported then with the address
 * of the block it follows.  A protection call that fails (the kernel's
 * limit of mappings reached) leaves a guard of the second kind, which the
 * check at free still watches.
 *
 * The page level records which runs end with a guard (MP_PAGE_GUARDED on
 * the run's head, or on a huge span), so callers free a run by the length
 * they asked for and the guard goes with it.
 */
#include "page/page.h"

#define GUARD_FILL 0x5au

/* The checking-mode switch, read here and by every layer above when a
 * thing is created; set by mpool_set_debug and MPOOL_DEBUG. */
MP_HIDDEN int mp_debug_all;
MP_HIDDEN _Atomic size_t mp_guards_poisoned;

static void
guard_fill(void *page)
{
    __builtin_memset(page, GUARD_FILL, MP_PAGE_SIZE);
}

static bool
guard_intact(const void *page)
{
    const uint64_t *w = page;
    const uint64_t fill = 0x0101010101010101ull * GUARD_FILL;

    for (size_t i = 0; i < MP_PAGE_SIZE / sizeof(*w); i++)
        if (w[i] != fill)
            return false;
    return true;
}

void
mp_guard_arm(void *page)
{
    guard_fill(page);
    if (mp_config.can_protect)
        mp_backend_protect(page, MP_PAGE_SIZE, false); /* else: pattern */
    else
        atomic_fetch_add_explicit(&mp_guards_poisoned, 1,
                                  memory_order_relaxed);
}

void
mp_guard_report(const char *caller, const void *block)
{
    mp_panic(caller, "write past the end of a block into its guard page",
             block);
}

bool
mp_guard_disarm(void *page)
{
    if (mp_config.can_protect)
        mp_backend_protect(page, MP_PAGE_SIZE, true);
    if (!guard_intact(page))
        return false; /* still counted: the caller reports it */
    if (!mp_config.can_protect)
        atomic_fetch_sub_explicit(&mp_guards_poisoned, 1,
                                  memory_order_relaxed);
    return true;
}

/* The first broken guard of a buddy segment (its last page, or a guarded
 * run's), as the block it follows; NULL if none. */
static const void *
broken_in_segment_locked(mp_segment_t *seg)
{
    if (seg->end_page < MP_SEGMENT_PAGES &&
        !guard_intact(mp_page_address(seg, seg->end_page)))
        return mp_page_address(seg, seg->end_page);
    for (size_t i = seg->first_page; i < seg->end_page;) {
        const mp_page_t *p = &seg->pages[i];

        if (p->state == MP_PAGE_FREE) {
            i += (size_t)1 << p->count;
        } else if (p->state == MP_PAGE_RUN) {
            if ((p->flags & MP_PAGE_GUARDED) &&
                !guard_intact(mp_page_address(seg, i + p->count - 1)))
                return mp_page_address(seg, i);
            i += p->count;
        } else {
            return NULL; /* not ours to judge: census reports it */
        }
    }
    return NULL;
}

static const void *
broken_in_arena_locked(mp_arena_t *arena)
{
    const void *broken = NULL;

    for (mp_segment_t *seg = arena->segments; seg && !broken;
         seg = seg->next)
        broken = broken_in_segment_locked(seg);
    for (mp_segment_t *seg = arena->huge; seg && !broken; seg = seg->next)
        if ((seg->flags & MP_PAGE_GUARDED) &&
            !guard_intact(mp_page_address(seg, seg->first_page +
                                                    seg->run_pages - 1)))
            broken = mp_page_address(seg, seg->first_page);
    return broken;
}

void
mp_guard_check_all(void)
{
    /* Protected guards cannot be read, and need no check: a write into
     * one faulted.  The few left unprotected are checked at free. */
    if (mp_config.can_protect ||
        atomic_load_explicit(&mp_guards_poisoned, memory_order_relaxed) == 0)
        return;
    for (unsigned a = 0; a < mp_narenas; a++) {
        mp_arena_t *arena = &mp_arenas[a];
        const void *broken;

        mp_mutex_lock(&arena->lock);
        broken = broken_in_arena_locked(arena);
        mp_mutex_unlock(&arena->lock); /* never stop holding a lock */
        if (broken != NULL)
            mp_guard_report("mpool_reclaim", broken);
    }
}
