/* SPDX-License-Identifier: MIT */
/*
 * t/pool-misuse-t.c - misuse of pools, and guard pages, in checking mode
 * (MPOOL_DEBUG=1, or mpool_set_debug(1) where there is no environment),
 * and what plain mode still catches.  Each case runs in a child (this
 * program again, with the case's name and mode), which must stop: with
 * SIGABRT after one line naming what happened, the address and the pool,
 * or, for a write into a guard page where the backend protects memory,
 * with SIGSEGV at the write itself.  On k210, which cannot protect, a
 * guard page is a pattern: the write is reported when the block is freed
 * or by mpool_reclaim().
 *
 * Also, in this process: mpool_set_debug()'s result and errors, and what
 * checking mode changes that a program can see (usable size, realloc).
 * Caches' misuse: t/cache-misuse-t.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "page/page.h"
#include "mpool.h"
#include "tap/tap.h"

/* A block of a page run of its own (a page-aligned one: the classes
 * serve alignments up to 64), here 3 pages and 100 bytes. */
#define LARGE (3 * mpool_page_size() + 100)

static char *
large_alloc(mpool_t *p, size_t size)
{
    return mpool_aligned_alloc(p, mpool_page_size(), size);
}

static mpool_t *
victim(void)
{
    mpool_t *p = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "victim"});
    if (p == NULL)
        exit(3);
    return p;
}

static char *
must(void *p)
{
    if (p == NULL)
        exit(3);
    return p;
}

/* Each case does one wrong thing and must not return. */
static void
case_double_free(void)
{
    mpool_t *p = victim();
    void *b = must(mpool_alloc(p, 40));
    mpool_free(p, b);
    mpool_free(p, b);
}

static void
case_double_free_large(void)
{
    mpool_t *p = victim();
    void *b = must(large_alloc(p, LARGE));
    mpool_free(p, b);
    mpool_free(p, b);
}

static void
case_interior(void)
{
    mpool_t *p = victim();
    char *b = must(mpool_alloc(p, 40));
    mpool_free(p, b + 8);
}

static void
case_interior_large(void)
{
    mpool_t *p = victim();
    char *b = must(large_alloc(p, LARGE));
    mpool_free(p, b + 16);
}

static void
case_overflow(void)
{
    mpool_t *p = victim();
    char *b = must(mpool_alloc(p, 40)); /* a 48-byte class */
    b[40] = 'x';                         /* past the 40 asked for */
    mpool_free(p, b);
}

static void
case_overflow_large(void)
{
    mpool_t *p = victim();
    char *b = must(large_alloc(p, LARGE + 100));
    b[LARGE + 100] = 'x'; /* short of the guard page: the red zone */
    mpool_free(p, b);
}

static void
case_use_after_free(void)
{
    mpool_t *p = victim();
    char *b = must(mpool_alloc(p, 40));
    mpool_free(p, b);
    b[3] = 'x';
    mpool_reclaim(NULL); /* the quarantine is checked as it empties */
}

static void
case_destroyed(void)
{
    mpool_t *p = victim();
    mpool_destroy(p);
    mpool_alloc(p, 40);
}

/* Guard pages: one write just past the end. */
static void
case_guard_large(void)
{
    mpool_t *p = victim();
    size_t page = mpool_page_size();
    char *b = must(mpool_aligned_alloc(p, page, 3 * page)); /* a run */
    b[3 * page] = 'x';
    mpool_free(p, b); /* k210: found here */
}

static void
case_guard_reclaim(void)
{
    mpool_t *p = victim();
    size_t page = mpool_page_size();
    char *b = must(mpool_aligned_alloc(p, page, 3 * page));
    ((volatile char *)b)[3 * page + 100] = 'x'; /* kept: b is not used */
    mpool_reclaim(NULL); /* k210: found here, the block still live */
}

static void
case_guard_pages(void)
{
    size_t page = mpool_page_size();
    char *run = must(mpool_pages_alloc(2));
    run[2 * page] = 'x';
    mpool_pages_free(run, 2); /* k210: found here */
}

static void
case_guard_segment(void)
{
    mpool_t *p = victim();
    char *b = must(mpool_alloc(p, 100));
    /* the last page of the block's segment: what the last run of the
     * segment would run into */
    char *last = (char *)(((uintptr_t)b & ~(uintptr_t)MP_SEGMENT_MASK) +
                          MP_SEGMENT_SIZE - MP_PAGE_SIZE);
    *(volatile char *)last = 'x';
    mpool_reclaim(NULL); /* k210: found here */
}

enum {
    PLAIN = 1,  /* caught without checking mode too */
    FAULT = 2,  /* a write into a guard page */
    NONAME = 4, /* the pool is gone, and its name with it */
};

static const struct misuse {
    const char *name;
    void (*run)(void);
    const char *message; /* what the line must say */
    unsigned how;
} cases[] = {
    {"double-free", case_double_free, "double free", PLAIN},
    {"double-free-large", case_double_free_large, "double free", 0},
    {"interior", case_interior, "pointer is not the start of an object", 0},
    {"interior-large", case_interior_large,
     "pointer is not the start of a block", PLAIN},
    {"overflow", case_overflow, "write past the end of an object", 0},
    {"overflow-large", case_overflow_large, "write past the end of a block",
     0},
    {"use-after-free", case_use_after_free,
     "object modified after it was freed", 0},
    {"destroyed", case_destroyed, "not a live pool", NONAME},
    {"guard-large", case_guard_large, "into its guard page", FAULT},
    {"guard-reclaim", case_guard_reclaim, "into its guard page", FAULT},
    {"guard-pages", case_guard_pages, "into its guard page", FAULT},
    {"guard-segment", case_guard_segment, "into its guard page", FAULT},
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

/* Let a SIGSEGV kill the child rather than the sanitizer report it. */
static void
sanitizer_lets_segv_through(const char *var)
{
    static char opts[512];
    const char *had = getenv(var);

    snprintf(opts, sizeof(opts), "%s%shandle_segv=0:handle_sigbus=0",
             had != NULL ? had : "", had != NULL ? ":" : "");
    setenv(var, opts, 1);
}

/* The child: this program again, as `self CASE MODE`. */
static int
exec_case(void *arg)
{
    char *const *argv = arg;

    if (strcmp(argv[2], "checking") == 0 && !tap_backend_is("k210"))
        setenv("MPOOL_DEBUG", "1", 1);
    else
        unsetenv("MPOOL_DEBUG");
    /* the fault is the test's, not the sanitizer's */
    if (tap_under_asan())
        sanitizer_lets_segv_through("ASAN_OPTIONS");
    if (tap_under_tsan())
        sanitizer_lets_segv_through("TSAN_OPTIONS");
    execv("/proc/self/exe", argv);
    return 4;
}

/* Run a case in a child; check what it said and how it stopped. */
static void
check_case(const struct misuse *m, const char *mode)
{
    bool checking = strcmp(mode, "checking") == 0;
    bool faults = checking && (m->how & FAULT) && !tap_backend_is("k210");
    char *argv[] = {"pool-misuse-t", (char *)m->name, (char *)mode, NULL};
    char err[1024];
    int status = tap_run_child(exec_case, argv, err, sizeof(err));

    if (faults) {
        ok(WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV ||
                                   WTERMSIG(status) == SIGBUS),
           "%s (%s): the write into the guard page faults", m->name, mode);
    } else {
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
               strstr(err, "libmpool: ") != NULL &&
               strstr(err, m->message) != NULL && strstr(err, " 0x") != NULL,
           "%s (%s): aborts saying \"%s\" and the address", m->name, mode,
           m->message);
        if (!(m->how & (FAULT | NONAME)))
            ok(strstr(err, "\"victim") != NULL, "%s (%s): names the pool",
               m->name, mode);
    }
    if (!WIFSIGNALED(status) || (!faults && strstr(err, m->message) == NULL))
        diag("status %d, stderr: %s", status, err);
}

/* In this process: the function itself, and what checking mode shows. */
static void
test_set_debug(void)
{
    mpool_t *p;
    char *b, *moved;
    int was;

    errno = 0;
    ok(mpool_set_debug(2) == -1 && errno == EINVAL,
       "mpool_set_debug(2): -1, EINVAL");
    errno = 0;
    ok(mpool_set_debug(-1) == -1 && errno == EINVAL,
       "mpool_set_debug(-1): -1, EINVAL");
    was = mpool_set_debug(1);
    ok(was == 0, "mpool_set_debug(1) returns the previous setting, 0");
    ok(mpool_set_debug(1) == 1, "and then 1");
    p = victim();
    b = must(mpool_alloc(p, 40));
    ok(mpool_usable_size(b) == 40,
       "checking mode: the usable size is the size asked for (%zu)",
       mpool_usable_size(b));
    memset(b, 'a', 40);
    moved = mpool_realloc(p, b, 41);
    ok(moved != NULL && moved != b && moved[39] == 'a' &&
           mpool_usable_size(moved) == 41,
       "realloc moves the block, keeping its contents");
    b = must(large_alloc(p, LARGE + 1));
    ok(mpool_usable_size(b) == LARGE + 1,
       "a large block's usable size is the size asked for too");
    b[LARGE] = 'z'; /* its last byte is the program's */
    mpool_free(p, b);
    mpool_free(p, moved);
    mpool_destroy(p);
    ok(mpool_set_debug(0) == 1, "mpool_set_debug(0) turns it off again");
    p = victim();
    b = must(mpool_alloc(p, 40));
    ok(mpool_usable_size(b) == 48, "plain mode again: the class's size");
    mpool_free(p, b);
    mpool_destroy(p);
}

int
main(int argc, char **argv)
{
    if (argc == 3) {
        if (strcmp(argv[2], "checking") == 0 && tap_backend_is("k210"))
            mpool_set_debug(1); /* a kernel's way: no environment */
        for (int i = 0; i < NCASES; i++)
            if (strcmp(argv[1], cases[i].name) == 0) {
                cases[i].run();
                return 5; /* it should not have returned */
            }
        return 6;
    }
    if (tap_under_valgrind())
        skip_all("the children abort on purpose; valgrind would report it");
    plan_lazy();
    test_set_debug();
    for (int i = 0; i < NCASES; i++)
        check_case(&cases[i], "checking");
    for (int i = 0; i < NCASES; i++)
        if (cases[i].how & PLAIN)
            check_case(&cases[i], "plain");
    return tap_done();
}
