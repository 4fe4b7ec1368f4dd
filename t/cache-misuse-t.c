/* SPDX-License-Identifier: MIT */
/*
 * t/cache-misuse-t.c - checking mode catches misuse of caches and pools
 * (and, for what is caught without it, plain mode): each case runs in a
 * child (this program run again with the case's name), which must stop
 * with SIGABRT after one line on standard error naming what happened, the
 * address and the cache.  Cases run with the MPOOL_CACHE_DEBUG flag, with
 * MPOOL_DEBUG=1 in the environment instead (mpool_set_debug(1) on k210,
 * which reads no environment), and (for what is caught without checking)
 * with neither.  Pools' misuse and guard pages: t/pool-misuse-t.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

static unsigned flags; /* MPOOL_CACHE_DEBUG, or 0 when the env sets it */

static mpool_cache_t *
make(const char *name, size_t size)
{
    mpool_cache_t *c = mpool_cache_create(name, size, 0, NULL, NULL, NULL,
                                          flags);
    if (c == NULL)
        exit(3);
    return c;
}

/* Each case does one wrong thing and must not return. */
static void
case_overflow(void)
{
    mpool_cache_t *c = make("victim", 40);
    char *p = mpool_cache_alloc(c);
    p[40] = 'x'; /* one byte past the end */
    mpool_cache_free(c, p);
}

static void
case_use_after_free(void)
{
    mpool_cache_t *c = make("victim", 40);
    char *p = mpool_cache_alloc(c);
    mpool_cache_free(c, p);
    p[3] = 'x'; /* write after free */
    mpool_reclaim(NULL); /* the quarantine is checked as it empties */
}

static void
case_double_free(void)
{
    mpool_cache_t *c = make("victim", 40);
    void *p = mpool_cache_alloc(c);
    mpool_cache_free(c, p);
    mpool_cache_free(c, p);
}

static void
case_wrong_cache(void)
{
    mpool_cache_t *a = make("victim", 40);
    mpool_cache_t *b = make("owner", 40);
    void *p = mpool_cache_alloc(b);
    mpool_cache_free(a, p);
}

static void
case_foreign(void)
{
    mpool_cache_t *c = make("victim", 40);
    mpool_cache_free(c, malloc(40));
}

static void
case_interior(void)
{
    mpool_cache_t *c = make("victim", 40);
    char *p = mpool_cache_alloc(c);
    mpool_cache_free(c, p + 8);
}

static void
case_destroyed(void)
{
    mpool_cache_t *c = make("victim", 40);
    mpool_cache_destroy(c);
    mpool_cache_alloc(c);
}

/* Plain mode's hardening: a write after free over a free object's link in
 * its slab (no magazines, so the free goes straight there) makes the next
 * allocation stop, not return memory the link was pointed at. */
static void
case_link_overwrite(void)
{
    mpool_cache_t *c = mpool_cache_create("victim", 40, 0, NULL, NULL, NULL,
                                          MPOOL_CACHE_NOMAGAZINE);
    char *a, *b;
    static char elsewhere[64];
    if (c == NULL)
        exit(3);
    a = mpool_cache_alloc(c);
    b = mpool_cache_alloc(c);
    mpool_cache_free(c, a);
    void *target = elsewhere;
    memcpy(a, &target, sizeof(target)); /* write after free: the link */
    mpool_cache_alloc(c);               /* a, whose link is followed */
    if (mpool_cache_alloc(c) == (void *)elsewhere)
        exit(7); /* redirected: the hardening failed */
    (void)b;
}

static void
case_wrong_pool(void)
{
    mpool_t *victim = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "victim"});
    mpool_t *owner = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "owner"});
    void *p = mpool_alloc(owner, 100);
    mpool_free(victim, p);
}

static void
case_pool_foreign(void)
{
    mpool_t *victim = mpool_create(&(mpool_options_t){
        .size = sizeof(mpool_options_t), .name = "victim"});
    int on_stack[4];
    mpool_free(victim, on_stack);
}

static void
case_cache_to_pool(void)
{
    mpool_cache_t *c = make("victim", 40);
    mpool_free(NULL, mpool_cache_alloc(c));
}

static const struct misuse {
    const char *name;
    void (*run)(void);
    const char *message; /* what the line must say */
    bool without_checking; /* caught with no checking mode at all */
} cases[] = {
    {"overflow", case_overflow, "write past the end of an object", false},
    {"use-after-free", case_use_after_free,
     "object modified after it was freed", false},
    {"double-free", case_double_free, "double free", true},
    {"wrong-cache", case_wrong_cache,
     "object freed to the wrong cache 0x", false},
    {"foreign", case_foreign, "pointer not from any cache", false},
    {"interior", case_interior, "pointer is not the start of an object",
     false},
    {"destroyed", case_destroyed, "use of a destroyed cache", true},
    {"pool-foreign", case_pool_foreign, "pointer not from any pool", true},
    {"cache-to-pool", case_cache_to_pool,
     "object of a cache freed with mpool_free", true},
};

/* Pools are put in checking mode by MPOOL_DEBUG=1 only. */
static const struct misuse pool_cases[] = {
    {"wrong-pool", case_wrong_pool, "block freed to the wrong pool", false},
};
/* Caught in plain mode, and differently in checking mode. */
static const struct misuse plain_cases[] = {
    {"link-overwrite", case_link_overwrite,
     "free list corrupted: a free object's link overwritten", true},
};
enum { NCASES = sizeof(cases) / sizeof(cases[0]) };

/* The child: this program again, as `self CASE MODE`. */
static int
exec_case(void *arg)
{
    char *const *argv = arg;

    if (strcmp(argv[2], "env") == 0 && !tap_backend_is("k210"))
        setenv("MPOOL_DEBUG", "1", 1);
    else
        unsetenv("MPOOL_DEBUG");
    execv("/proc/self/exe", argv);
    return 4;
}

/* Run a case in a child; check what it said and how it stopped. */
static void
check_case(const struct misuse *m, const char *mode)
{
    char *argv[] = {"cache-misuse-t", (char *)m->name, (char *)mode, NULL};
    char err[1024];
    int status = tap_run_child(exec_case, argv, err, sizeof(err));

    ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT &&
           strstr(err, "libmpool: ") != NULL &&
           strstr(err, m->message) != NULL &&
           strstr(err, "cache \"victim\"") != NULL,
       "%s (%s): aborts saying \"%s\" and naming the cache", m->name, mode,
       m->message);
    if (strcmp(m->name, "wrong-cache") == 0 ||
        strcmp(m->name, "wrong-pool") == 0)
        ok(strstr(err, "belongs to cache \"owner\"") != NULL,
           "%s (%s): names the one the object belongs to", m->name, mode);
    if (!WIFSIGNALED(status) || strstr(err, m->message) == NULL)
        diag("status %d, stderr: %s", status, err);
}

int
main(int argc, char **argv)
{
    if (argc == 3) {
        flags = strcmp(argv[2], "flag") == 0 ? MPOOL_CACHE_DEBUG : 0;
        if (strcmp(argv[2], "env") == 0 && tap_backend_is("k210"))
            mpool_set_debug(1); /* a kernel's way: no environment */
        for (int i = 0; i < NCASES; i++)
            if (strcmp(argv[1], cases[i].name) == 0) {
                cases[i].run();
                return 5; /* it should not have returned */
            }
        if (strcmp(argv[1], pool_cases[0].name) == 0) {
            pool_cases[0].run();
            return 5;
        }
        if (strcmp(argv[1], plain_cases[0].name) == 0) {
            plain_cases[0].run();
            return 5;
        }
        return 6;
    }
    if (tap_under_valgrind())
        skip_all("the children abort on purpose; valgrind would report it");
    plan_lazy();
    for (int i = 0; i < NCASES; i++)
        check_case(&cases[i], "flag");
    for (int i = 0; i < NCASES; i++)
        check_case(&cases[i], "env");
    for (int i = 0; i < NCASES; i++)
        if (cases[i].without_checking)
            check_case(&cases[i], "none");
    check_case(&pool_cases[0], "env");
    check_case(&plain_cases[0], "none");
    return tap_done();
}
