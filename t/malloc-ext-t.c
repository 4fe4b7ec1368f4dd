/* SPDX-License-Identifier: MIT */
/*
 * t/malloc-ext-t.c - libmpool-malloc where glibc's malloc goes beyond the
 * standard, linked in: memalign and aligned_alloc round an alignment up to
 * a power of two as glibc 2.36 does, alignments past 2 MiB (64 MiB) are
 * served, posix_memalign keeps POSIX's EINVAL, malloc_trim gives free
 * memory back and says so, and mallinfo2, mallinfo, malloc_stats and
 * malloc_info report libmpool's numbers (malloc-info.c).
 */
#include <errno.h>
#include <malloc.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

/* Through volatile pointers, so the compiler keeps every call. */
static void *(*volatile do_memalign)(size_t, size_t) = memalign;
static void *(*volatile do_aligned_alloc)(size_t, size_t) = aligned_alloc;
static volatile size_t big_alignment = (size_t)64 << 20;

static bool
aligned_to(const void *p, size_t a)
{
    return p != NULL && ((uintptr_t)p & (a - 1)) == 0;
}

static void
test_alignment(void)
{
    void *p, *q;
    int e;

    p = do_memalign(48, 100);
    q = do_aligned_alloc(48, 100);
    ok(aligned_to(p, 64) && aligned_to(q, 64) &&
           mpool_usable_size(p) >= 100 && mpool_usable_size(q) >= 100,
       "memalign(48, 100) and aligned_alloc(48, 100): 64-aligned, as glibc");
    free(p);
    free(q);
    p = do_memalign(3, 10);
    q = do_memalign(0, 10);
    ok(aligned_to(p, 4) && q != NULL && mpool_usable_size(q) >= 10,
       "memalign(3) is memalign(4); memalign(0) is malloc");
    free(p);
    free(q);
    p = do_memalign(4097, 5000);
    ok(aligned_to(p, 8192) && mpool_usable_size(p) >= 5000,
       "memalign(4097, 5000): 8192-aligned");
    free(p);

    p = do_memalign(big_alignment, 100);
    q = do_aligned_alloc(big_alignment, big_alignment + 1);
    if (p != NULL && q != NULL) {
        memset(p, 1, 100);
        ((char *)q)[0] = 1;
        ((char *)q)[big_alignment] = 2;
    }
    ok(aligned_to(p, big_alignment) && aligned_to(q, big_alignment) &&
           mpool_usable_size(p) >= 100 &&
           mpool_usable_size(q) >= big_alignment + 1 &&
           ((char *)q)[big_alignment] == 2,
       "memalign and aligned_alloc of 64 MiB alignment: served, aligned, "
       "writable");
    free(p);
    free(q);
    p = NULL;
    e = posix_memalign(&p, big_alignment, 1000);
    ok(e == 0 && aligned_to(p, big_alignment),
       "posix_memalign of 64 MiB alignment: 0, aligned");
    free(p);
    p = do_memalign(big_alignment * 3, 100);
    ok(aligned_to(p, big_alignment * 4),
       "memalign(192 MiB) is 256 MiB-aligned");
    free(p);

    errno = 0;
    ok(do_memalign(SIZE_MAX / 2 + 2, 10) == NULL && errno == EINVAL,
       "memalign above SIZE_MAX / 2 + 1: NULL, EINVAL (no power of two)");
    errno = 0;
    ok(do_memalign(SIZE_MAX / 2 + 1, 10) == NULL && errno == ENOMEM,
       "memalign(2^63): NULL, ENOMEM");
    errno = 0;
    ok(do_memalign(64, SIZE_MAX - 100) == NULL && errno == ENOMEM,
       "memalign(64, SIZE_MAX - 100): NULL, ENOMEM");
    errno = 12345;
    p = NULL;
    ok(posix_memalign(&p, 48, 100) == EINVAL &&
           posix_memalign(&p, 0, 100) == EINVAL &&
           posix_memalign(&p, SIZE_MAX / 2 + 1, 100) == ENOMEM &&
           p == NULL && errno == 12345,
       "posix_memalign(48) and (0): EINVAL; 2^63: ENOMEM; errno "
       "untouched, nothing stored");
}

static void
test_trim(void)
{
    enum { N = 100000, SIZE = 1000 };
    static void *blocks[N];
    size_t rss_full, rss_after;
    int first, second;

    (void)malloc_trim(0); /* start from nothing to give back */
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        if (blocks[i] == NULL)
            bail("malloc(%d) failed at %d", SIZE, i);
        memset(blocks[i], 0x5a, SIZE);
    }
    rss_full = tap_resident_bytes();
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    first = malloc_trim(0);
    second = malloc_trim(0);
    rss_after = tap_resident_bytes();
    is_int(first, 1, "malloc_trim(0) after freeing 100 MB: 1");
    ok(rss_full > rss_after &&
           rss_full - rss_after >= (size_t)N * SIZE / 10 * 8,
       "resident memory drops by at least 80%% of the 100 MB (%zu KiB)",
       rss_full > rss_after ? (rss_full - rss_after) / 1024 : 0);
    is_int(second, 0, "malloc_trim(0) again, with nothing to give: 0");
}

/* The old int mallinfo, which glibc marks deprecated. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static struct mallinfo
old_mallinfo(void)
{
    return mallinfo();
}
#pragma GCC diagnostic pop

#define MB (1000u * 1000u)

static void
test_mallinfo(void)
{
    enum { N = 100000, SIZE = 1000 };
    static void *blocks[N];
    struct mallinfo2 before, live, freed, trimmed;
    struct mallinfo old;
    mpool_stats_t st = {.size = sizeof(st)};
    char cap[32];
    size_t grew;

    /* without a retention cap, so that fordblks holds all that is freed
     * (the default pool's default cap, 4 MiB, would give the rest back as
     * it is freed); the cap is put back at the end */
    if (mpool_stats(NULL, &st) != 0 ||
        mpool_set_option("retain", "0") != 0)
        bail("mpool_stats or mpool_set_option(\"retain\") failed");
    (void)malloc_trim(0);
    before = mallinfo2();
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        if (blocks[i] == NULL)
            bail("malloc(%d) failed at %d", SIZE, i);
        memset(blocks[i], 0x5a, SIZE);
    }
    live = mallinfo2();
    grew = live.uordblks - before.uordblks;
    ok(live.uordblks > before.uordblks && grew >= 100 * MB &&
           grew <= 100 * MB + 100 * MB / 8,
       "mallinfo2: uordblks grows by the 100 MB live, within a class's "
       "12.5%% (%zu)", grew);
    ok(live.arena >= live.uordblks &&
           live.arena == live.uordblks + live.fordblks &&
           live.hblkhd == 0 && live.hblks == 0 && live.usmblks == 0,
       "arena (%zu) = uordblks + fordblks; hblks, hblkhd, usmblks 0",
       live.arena);
    old = old_mallinfo();
    ok(old.uordblks > 0 && (size_t)old.uordblks >= 100 * MB &&
           old.arena > 0 && old.hblkhd == 0,
       "mallinfo, the int one: the same numbers (uordblks %d)",
       old.uordblks);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    freed = mallinfo2();
    ok(freed.uordblks + 100 * MB <= live.uordblks &&
           freed.fordblks >= 100 * MB,
       "after free: uordblks drops by 100 MB, fordblks holds them (%zu)",
       freed.fordblks);
    is_int(malloc_trim(0), 1, "malloc_trim(0) gives them back: 1");
    trimmed = mallinfo2();
    ok(trimmed.arena + 90 * MB <= freed.arena &&
           trimmed.fordblks + 90 * MB <= freed.fordblks,
       "after malloc_trim, arena and fordblks drop by 90 MB or more "
       "(arena %zu -> %zu)",
       freed.arena, trimmed.arena);
    snprintf(cap, sizeof(cap), "%zu", st.retain);
    if (mpool_set_option("retain", cap) != 0)
        bail("mpool_set_option(\"retain\", \"%s\") failed", cap);

    {
        /* address space only: the pages are never touched */
        size_t big = (size_t)3 << 30;
        void *p = malloc(big);
        if (p == NULL) {
            skip(1, "no 3 GiB of address space for the saturation test");
        } else {
            struct mallinfo2 m2 = mallinfo2();
            old = old_mallinfo();
            ok(m2.uordblks >= big && old.uordblks == INT_MAX &&
                   (m2.arena <= (size_t)INT_MAX || old.arena == INT_MAX),
               "with 3 GiB live, mallinfo's int fields saturate at "
               "INT_MAX (mallinfo2: %zu)",
               m2.uordblks);
            free(p);
        }
    }
}

/* What f wrote to a temporary file, in buf. */
static size_t
captured(FILE *f, char *buf, size_t cap)
{
    size_t n;

    fflush(f);
    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    return n;
}

static void
test_reports(void)
{
    static char buf[8192];
    FILE *f = tmpfile();
    int saved_stderr, rc;
    void *keep = malloc(12345);
    struct mallinfo2 m;

    if (f == NULL)
        sysbail("tmpfile");
    fflush(stderr);
    saved_stderr = dup(2);
    if (saved_stderr < 0 || dup2(fileno(f), 2) < 0)
        sysbail("dup2");
    m = mallinfo2();
    malloc_stats();
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    captured(f, buf, sizeof(buf));
    ok(strncmp(buf, "Arena 0:\nsystem bytes     = ", 28) == 0 &&
           strstr(buf, "\nin use bytes     = ") != NULL &&
           strstr(buf, "\nTotal (incl. mmap):\nsystem bytes     = ") !=
               NULL &&
           strstr(buf, "\nmax mmap bytes   = ") != NULL,
       "malloc_stats writes glibc's report on stderr");
    {
        unsigned long long sys = 0, used = 0;
        const char *total = strstr(buf, "Total (incl. mmap):\n");
        bool read = total != NULL &&
                    sscanf(total,
                           "Total (incl. mmap):\nsystem bytes     = %llu\n"
                           "in use bytes     = %llu",
                           &sys, &used) == 2;
        ok(read && used >= 12345 && used == m.uordblks && sys == m.arena,
           "... its total is mallinfo2's arena and uordblks (%llu, %llu)",
           sys, used);
    }
    fclose(f);

    f = tmpfile();
    if (f == NULL)
        sysbail("tmpfile");
    rc = malloc_info(0, f);
    captured(f, buf, sizeof(buf));
    ok(rc == 0 && strncmp(buf, "<malloc version=\"1\">\n<heap nr=\"0\">", 34) == 0 &&
           strstr(buf, "<system type=\"current\" size=\"") != NULL &&
           strstr(buf, "<aspace type=\"total\" size=\"") != NULL &&
           strcmp(buf + strlen(buf) - 10, "</malloc>\n") == 0,
       "malloc_info(0, fp): 0, glibc's XML shape");
    fclose(f);

    f = tmpfile();
    if (f == NULL)
        sysbail("tmpfile");
    errno = 0;
    rc = malloc_info(1, f);
    ok(rc == -1 && errno == EINVAL && captured(f, buf, sizeof(buf)) == 0,
       "malloc_info(1, fp): -1, EINVAL, nothing written");
    fclose(f);
    errno = 0;
    ok(malloc_info(0, NULL) == -1 && errno == EINVAL,
       "malloc_info(0, NULL): -1, EINVAL");
    errno = 4321;
    (void)mallinfo2();
    ok(errno == 4321, "mallinfo2 leaves errno alone");
    free(keep);
}

int
main(void)
{
    if (tap_under_asan())
        skip_all("AddressSanitizer's malloc takes the place of "
                 "libmpool-malloc's");
    if (tap_under_tsan())
        skip_all("ThreadSanitizer's malloc takes the place of "
                 "libmpool-malloc's");
    if (tap_under_valgrind())
        skip_all("valgrind's malloc takes the place of libmpool-malloc's");
    plan_lazy();
    test_alignment();
    test_trim();
    test_mallinfo();
    test_reports();
    return tap_done();
}
