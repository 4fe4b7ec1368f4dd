/* SPDX-License-Identifier: MIT */
/*
 * demo/mpool-demo.c - a short tour of libmpool: an object cache whose
 * objects keep their constructed state, its statistics and report; runs of
 * pages from the page level; and the memory handed back to the system by
 * mpool_reclaim(), with the process's resident memory before and after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpool.h"

static size_t
resident_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;

    if (f != NULL) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) / 1024;
}

/* An object with state worth keeping between uses. */
struct session {
    unsigned id;
    unsigned uses;
    char buffer[200];
};

static unsigned constructed;

static int
session_ctor(void *obj, void *arg)
{
    struct session *s = obj;

    (void)arg;
    s->id = ++constructed;
    s->uses = 0;
    memset(s->buffer, 0, sizeof(s->buffer));
    return 0;
}

static void
demo_cache(void)
{
    enum { N = 100000 };
    static struct session *live[N];
    mpool_cache_stats_t st = {.size = sizeof(st)};
    mpool_cache_t *sessions;

    sessions = mpool_cache_create("session", sizeof(struct session), 0,
                                  session_ctor, NULL, NULL, 0);
    if (sessions == NULL) {
        perror("mpool_cache_create");
        exit(1);
    }
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < N; i++) {
            live[i] = mpool_cache_alloc(sessions);
            live[i]->uses++;
        }
        for (int i = 0; i < N; i++)
            mpool_cache_free(sessions, live[i]);
    }
    mpool_cache_stats(sessions, &st);
    printf("object cache \"%s\": %zu-byte objects, %zu per %zu-byte slab\n",
           st.name, st.object_size, st.objects_per_slab, st.slab_size);
    printf("  10 rounds of %d allocations and frees: %llu calls, %u "
           "constructor runs\n",
           N, (unsigned long long)(st.allocs + st.frees), constructed);
    printf("  served by the thread's magazines: %.1f%%\n",
           100.0 * (double)st.magazine_hits /
               (double)(st.magazine_hits + st.magazine_misses));
    printf("  slabs: %zu, pages: %zu, bytes per object held: %.3f\n\n",
           st.slabs_full + st.slabs_partial + st.slabs_empty, st.pages,
           (double)(st.pages * mpool_page_size()) /
               (double)(st.objects_total * st.object_size));
    mpool_report(stdout);
    putchar('\n');
    if (mpool_cache_destroy(sessions) != 0)
        perror("mpool_cache_destroy");
    printf("destroyed; mpool_reclaim(NULL) gave back %zu pages\n",
           mpool_reclaim(NULL));
}

int
main(void)
{
    enum { RUNS = 2000 };
    static void *runs[RUNS];
    size_t page = mpool_page_size();
    size_t pages = 0, reclaimed;

    printf("libmpool %d.%d.%d demonstration\n", MPOOL_VERSION_MAJOR,
           MPOOL_VERSION_MINOR, MPOOL_VERSION_PATCH);
    printf("page size: %zu bytes\n\n", page);
    printf("resident at start:                  %8zu KiB\n", resident_kib());

    /* Runs of 1 to 16 pages, and a few large ones, all written to. */
    for (int i = 0; i < RUNS; i++) {
        size_t n = i % 250 == 0 ? 1500 : 1 + (size_t)i % 16;
        runs[i] = mpool_pages_alloc(n);
        if (runs[i] == NULL) {
            perror("mpool_pages_alloc");
            return 1;
        }
        memset(runs[i], i & 0xff, n * page);
        pages += n;
    }
    printf("after allocating %d runs (%zu pages): %8zu KiB\n", RUNS, pages,
           resident_kib());

    for (int i = 0; i < RUNS; i++) {
        size_t n = i % 250 == 0 ? 1500 : 1 + (size_t)i % 16;
        if (mpool_pages_free(runs[i], n) != 0) {
            perror("mpool_pages_free");
            return 1;
        }
    }
    printf("after freeing them all:             %8zu KiB"
           "  (free pages are kept for reuse)\n",
           resident_kib());

    reclaimed = mpool_reclaim(NULL);
    printf("mpool_reclaim(NULL) gave back %zu pages (%zu KiB)\n", reclaimed,
           reclaimed * page / 1024);
    printf("after reclaim:                      %8zu KiB\n\n", resident_kib());
    demo_cache();
    printf("resident at the end:                %8zu KiB\n\n", resident_kib());

    /* Bad input is an error, not damage. */
    int on_stack;
    fflush(stdout);
    if (mpool_pages_free(&on_stack, 1) == -1)
        perror("mpool_pages_free(a stack address, 1)");
    if (mpool_pages_alloc(0) == NULL)
        perror("mpool_pages_alloc(0)");
    return 0;
}
