/* SPDX-License-Identifier: MIT */
/*
 * malloc-info.c - libmpool-malloc's answers to glibc's statistics calls,
 * mallinfo2, mallinfo, malloc_stats and malloc_info, so that a program
 * that asks them under LD_PRELOAD gets libmpool's numbers, not those of
 * glibc's idle heap (0 bytes in use with 100 MB live).
 *
 * The numbers are the public ones, mpool_system_stats() for the whole
 * library and mpool_stats(NULL) for the default pool, which serves
 * malloc; nothing is counted here.  glibc's fields, as filled:
 *
 *   arena     bytes_committed: memory the library holds from the system
 *             (its segments' pages that are not purged), all pools
 *   uordblks  bytes_in_use: bytes in live blocks, objects and page runs
 *             of every pool and cache, large blocks included
 *   fordblks  arena - uordblks: memory held and free (free objects,
 *             empty slabs, free pages not yet purged), so that, as with
 *             glibc, arena = uordblks + fordblks
 *   keepcost  the default pool's bytes in empty slabs, which malloc_trim
 *             gives back at once
 *   hblks, hblkhd   0: libmpool maps nothing outside its segments (a large
 *             block is a page run in them, counted in arena and, while
 *             live, uordblks), so the idioms arena + hblkhd (memory held)
 *             and uordblks + hblkhd (memory in use) come out right
 *   ordblks, smblks, fsmblks, usmblks   0 (no bins; usmblks is 0 in glibc)
 *
 * mallinfo is the same with int fields, each saturating at INT_MAX (glibc
 * truncates).  malloc_stats prints the default pool as "Arena 0" and the
 * library as the total; malloc_info writes glibc's XML shape, the default
 * pool as heap 0, with libmpool's address space (bytes_mapped) as the
 * total aspace.
 *
 * The structures are declared here with glibc's layout rather than taken
 * from <malloc.h>, which other C libraries lack and whose mallinfo glibc
 * marks deprecated.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "mpool.h"

#define EXPORT __attribute__((visibility("default")))

struct mallinfo2 {
    size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks,
        uordblks, fordblks, keepcost;
};
struct mallinfo {
    int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks,
        fordblks, keepcost;
};

EXPORT struct mallinfo2 mallinfo2(void);
EXPORT struct mallinfo mallinfo(void);
EXPORT void malloc_stats(void);
EXPORT int malloc_info(int options, FILE *fp);

/* The library's numbers and the default pool's; zeros where a call fails
 * (it cannot with these arguments).  errno is left as it was. */
typedef struct heap_numbers {
    mpool_system_stats_t sys;
    mpool_stats_t pool;
} heap_numbers_t;

static void
heap_numbers(heap_numbers_t *n)
{
    int saved = errno;

    memset(n, 0, sizeof(*n));
    n->sys.size = sizeof(n->sys);
    n->pool.size = sizeof(n->pool);
    if (mpool_system_stats(&n->sys) != 0) {
        memset(&n->sys, 0, sizeof(n->sys));
    }
    if (mpool_stats(NULL, &n->pool) != 0) {
        memset(&n->pool, 0, sizeof(n->pool));
    }
    errno = saved;
}

static size_t
held_free(const mpool_system_stats_t *sys)
{
    return sys->bytes_committed > sys->bytes_in_use
               ? sys->bytes_committed - sys->bytes_in_use
               : 0;
}

struct mallinfo2
mallinfo2(void)
{
    heap_numbers_t n;
    struct mallinfo2 mi;

    heap_numbers(&n);
    memset(&mi, 0, sizeof(mi));
    mi.arena = n.sys.bytes_committed;
    mi.uordblks = n.sys.bytes_in_use;
    mi.fordblks = held_free(&n.sys);
    mi.keepcost = n.pool.bytes_empty;
    return mi;
}

static int
saturated(size_t v)
{
    return v > (size_t)INT_MAX ? INT_MAX : (int)v;
}

struct mallinfo
mallinfo(void)
{
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi;

    mi.arena = saturated(m2.arena);
    mi.ordblks = saturated(m2.ordblks);
    mi.smblks = saturated(m2.smblks);
    mi.hblks = saturated(m2.hblks);
    mi.hblkhd = saturated(m2.hblkhd);
    mi.usmblks = saturated(m2.usmblks);
    mi.fsmblks = saturated(m2.fsmblks);
    mi.uordblks = saturated(m2.uordblks);
    mi.fordblks = saturated(m2.fordblks);
    mi.keepcost = saturated(m2.keepcost);
    return mi;
}

/* glibc's lines, with the default pool as its one arena. */
void
malloc_stats(void)
{
    heap_numbers_t n;
    int saved = errno;

    heap_numbers(&n);
    fprintf(stderr,
            "Arena 0:\n"
            "system bytes     = %10zu\n"
            "in use bytes     = %10zu\n"
            "Total (incl. mmap):\n"
            "system bytes     = %10zu\n"
            "in use bytes     = %10zu\n"
            "max mmap regions = %10u\n"
            "max mmap bytes   = %10u\n",
            n.pool.bytes_held, n.pool.bytes_in_use, n.sys.bytes_committed,
            n.sys.bytes_in_use, 0u, 0u);
    errno = saved;
}

/* glibc's XML, without its per-bin <size> lines (libmpool has size
 * classes, not bins).  -1 with errno EINVAL for options other than 0, as
 * glibc documents it, or no stream; -1 with the stream's errno when
 * writing fails; else 0. */
int
malloc_info(int options, FILE *fp)
{
    heap_numbers_t n;
    int rc;

    if (options != 0 || fp == NULL) {
        errno = EINVAL;
        return -1;
    }
    heap_numbers(&n);
    rc = fprintf(fp,
                 "<malloc version=\"1\">\n"
                 "<heap nr=\"0\">\n"
                 "<sizes>\n"
                 "</sizes>\n"
                 "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                 "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                 "<system type=\"current\" size=\"%zu\"/>\n"
                 "<system type=\"max\" size=\"%zu\"/>\n"
                 "<aspace type=\"total\" size=\"%zu\"/>\n"
                 "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                 "</heap>\n"
                 "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
                 "<total type=\"rest\" count=\"0\" size=\"%zu\"/>\n"
                 "<total type=\"mmap\" count=\"0\" size=\"0\"/>\n"
                 "<system type=\"current\" size=\"%zu\"/>\n"
                 "<system type=\"max\" size=\"%zu\"/>\n"
                 "<aspace type=\"total\" size=\"%zu\"/>\n"
                 "<aspace type=\"mprotect\" size=\"%zu\"/>\n"
                 "</malloc>\n",
                 n.pool.bytes_free, n.pool.bytes_held,
                 n.pool.bytes_held_peak, n.pool.bytes_held,
                 n.pool.bytes_held, held_free(&n.sys), n.sys.bytes_committed,
                 n.sys.bytes_committed_peak, n.sys.bytes_mapped,
                 n.sys.bytes_mapped);
    return rc < 0 ? -1 : 0;
}
