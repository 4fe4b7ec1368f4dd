/* SPDX-License-Identifier: MIT */
/*
 * check.c - a full walk of the page level that checks the invariants listed
 * in internal.h and adds up what it finds.  Tests call it after every
 * phase; it is never on an allocation path.
 */
#include "page/page.h"

static void
check_failed(const char *what, const void *where)
{
    mp_panic("mp_census", what, where);
}

static void
census_segment_locked(mp_arena_t *arena, mp_segment_t *seg,
                      mp_arena_census_t *out, size_t *list_blocks)
{
    size_t free_pages = 0;
    size_t i = seg->first_page;

    if (seg->arena != arena || seg->kind != MP_SEGMENT_BUDDY)
        check_failed("segment in the wrong arena or list", seg);
    for (size_t h = 0; h < seg->first_page; h++)
        if (seg->pages[h].state != MP_PAGE_NONE ||
            seg->fast_words[h] != 0)
            check_failed("header page used as a block", seg);
    if (seg->end_page != MP_SEGMENT_PAGES &&
        seg->end_page != MP_SEGMENT_PAGES - 1)
        check_failed("segment end wrong", seg);
    for (size_t g = seg->end_page; g < MP_SEGMENT_PAGES; g++)
        if (seg->pages[g].state != MP_PAGE_NONE)
            check_failed("guard page used as a block", seg);
    while (i < seg->end_page) {
        mp_page_t *p = &seg->pages[i];
        size_t len;

        if (p->state == MP_PAGE_FREE) {
            size_t buddy = i ^ ((size_t)1 << p->count);

            if (p->count > MP_BUDDY_MAX_ORDER ||
                (i & (((size_t)1 << p->count) - 1)) != 0)
                check_failed("free block misaligned", mp_page_address(seg, i));
            if (buddy >= seg->first_page &&
                seg->pages[buddy].state == MP_PAGE_FREE &&
                seg->pages[buddy].count == p->count)
                check_failed("free buddies not joined",
                             mp_page_address(seg, i));
            len = (size_t)1 << p->count;
            out->free_blocks[p->count]++;
            list_blocks[p->count]--;
            free_pages += len;
            for (size_t j = i; j < i + len; j++) {
                out->free_committed += seg->pages[j].committed;
                /* free's fast path would push a block of it into a
                 * thread slot (pool-fast.h) */
                if (seg->fast_words[j] != 0)
                    check_failed("free page keeps a run's fast word",
                                 mp_page_address(seg, j));
            }
        } else if (p->state == MP_PAGE_RUN) {
            len = p->count;
            if (len == 0)
                check_failed("empty run", mp_page_address(seg, i));
            out->run_pages += len;
            for (size_t j = i; j < i + len; j++)
                if (!seg->pages[j].committed && !(p->flags & MP_PAGE_HOLES))
                    check_failed("run page not committed",
                                 mp_page_address(seg, j));
        } else {
            check_failed("page belongs to no block or run",
                         mp_page_address(seg, i));
            return;
        }
        if (i + len > seg->end_page)
            check_failed("block runs past the segment",
                         mp_page_address(seg, i));
        for (size_t j = i + 1; j < i + len; j++)
            if (seg->pages[j].state != MP_PAGE_NONE)
                check_failed("block overlaps another",
                             mp_page_address(seg, j));
        i += len;
    }
    if (free_pages != seg->free_pages)
        check_failed("segment free-page count wrong", seg);
    out->free_pages += free_pages;
}

void
mp_census(mp_arena_census_t *out)
{
    size_t committed = 0;

    __builtin_memset(out, 0, sizeof(*out));
    if (!mp_initialised())
        return;
    for (unsigned a = 0; a < mp_narenas; a++) {
        mp_arena_t *arena = &mp_arenas[a];
        mp_arena_census_t mine;
        size_t list_blocks[MP_ORDERS] = {0};
        size_t empty = 0;

        __builtin_memset(&mine, 0, sizeof(mine));
        mp_mutex_lock(&arena->lock);
        for (unsigned k = 0; k < MP_ORDERS; k++) {
            if (((arena->free_mask >> k) & 1) != (arena->free[k] != NULL))
                check_failed("free-order mask wrong", arena);
            for (mp_page_t *p = arena->free[k]; p != NULL; p = p->next) {
                if (p->state != MP_PAGE_FREE || p->count != k)
                    check_failed("free list holds a stranger", p);
                list_blocks[k]++;
            }
        }
        for (mp_segment_t *seg = arena->segments; seg; seg = seg->next) {
            census_segment_locked(arena, seg, &mine, list_blocks);
            mine.segments++;
            empty += seg->free_pages == mp_segment_usable(seg);
            for (size_t i = 0; i < MP_SEGMENT_PAGES; i++)
                committed += seg->pages[i].committed;
        }
        for (mp_segment_t *seg = arena->huge; seg; seg = seg->next) {
            if (seg->kind != MP_SEGMENT_HUGE || seg->arena != arena)
                check_failed("huge span in the wrong list", seg);
            mine.huge_spans++;
            mine.run_pages += seg->run_pages;
            if (seg->dirty_pages < seg->run_pages)
                check_failed("huge run not all committed", seg);
            committed += seg->first_page + seg->dirty_pages;
        }
        for (mp_segment_t *seg = arena->retained; seg; seg = seg->next) {
            if (seg->kind != MP_SEGMENT_RETAINED || seg->arena != arena)
                check_failed("retained span in the wrong list", seg);
            mine.retained_spans++;
            committed += seg->first_page + seg->dirty_pages;
        }
        for (unsigned k = 0; k < MP_ORDERS; k++)
            if (list_blocks[k] != 0)
                check_failed("free list and segments disagree", arena);
        if (mine.segments != arena->nsegments ||
            empty != arena->empty_segments ||
            mine.free_pages != arena->free_pages ||
            mine.free_committed != arena->free_committed ||
            mine.run_pages != arena->run_pages)
            check_failed("arena counters wrong", arena);
        mp_mutex_unlock(&arena->lock);

        out->segments += mine.segments;
        out->huge_spans += mine.huge_spans;
        out->retained_spans += mine.retained_spans;
        out->free_pages += mine.free_pages;
        out->free_committed += mine.free_committed;
        out->run_pages += mine.run_pages;
        for (unsigned k = 0; k < MP_ORDERS; k++)
            out->free_blocks[k] += mine.free_blocks[k];
    }
    /* usage.c's count, exact when no other thread takes pages */
    if (committed != atomic_load(&mp_committed_pages))
        check_failed("committed-page count wrong", &mp_committed_pages);
}
