/* SPDX-License-Identifier: MIT */
/*
 * t/malloc-t.c - libmpool-malloc (lib/hosted/malloc.c), linked in: every function
 * of the malloc family with normal and bad inputs, errno as POSIX says,
 * malloc_usable_size consistent with realloc, frees across threads, a
 * thread's caches given back when it exits, and the blocks really coming
 * from libmpool (mpool_usable_size knows them).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpool.h"
#include "tap/tap.h"

/* Through a volatile pointer, so the compiler keeps every call. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void *(*volatile do_realloc)(void *, size_t) = realloc;
static void *(*volatile do_calloc)(size_t, size_t) = calloc;
static void *(*volatile do_reallocarray)(void *, size_t, size_t) = reallocarray;
static void *(*volatile do_aligned_alloc)(size_t, size_t) = aligned_alloc;
static void (*volatile do_free)(void *) = free;

#define N 2000
static void *handed[N];

static void *
freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < N; i++) {
        unsigned char *p = handed[i];
        if (p[0] != (unsigned char)i)
            return (void *)1;
        free(p);
    }
    return NULL;
}

static void *
short_lived(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        free(malloc(64));
    return NULL;
}

int
main(void)
{
    void *p, *q;
    pthread_t t;
    void *rc;
    int e;

    if (tap_under_asan())
        skip_all("AddressSanitizer's malloc takes the place of libmpool-malloc's");
    if (tap_under_tsan())
        skip_all("ThreadSanitizer's malloc takes the place of libmpool-malloc's");
    if (tap_under_valgrind())
        skip_all("valgrind's malloc takes the place of libmpool-malloc's "
                 "(t/malloc-programs-t.sh runs memcheck over it)");
    plan(24);
    p = do_malloc(100);
    ok(p != NULL && mpool_usable_size(p) >= 100,
       "malloc(100) comes from libmpool (mpool_usable_size knows it)");
    free(p);
    p = do_malloc(0);
    q = do_malloc(0);
    ok(p != NULL && q != NULL && p != q, "malloc(0): unique pointers");
    free(p);
    free(q);
    free(NULL);
    ok(1, "free(NULL) does nothing");
    errno = 0;
    ok(do_malloc(SIZE_MAX) == NULL && errno == ENOMEM,
       "malloc(SIZE_MAX): NULL, ENOMEM");
    errno = 0;
    ok(do_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM,
       "calloc whose product overflows: NULL, ENOMEM");
    p = do_calloc(100, 10);
    ok(p != NULL && ((char *)p)[0] == 0 && ((char *)p)[999] == 0,
       "calloc gives zeros");
    free(p);

    p = do_malloc(10);
    memset(p, 7, 10);
    q = do_realloc(p, 100000);
    ok(q != NULL && ((char *)q)[9] == 7, "realloc grows, keeping contents");
    p = do_realloc(q, malloc_usable_size(q));
    ok(p == q, "realloc to malloc_usable_size stays in place");
    errno = 0;
    q = do_realloc(p, SIZE_MAX);
    ok(q == NULL && errno == ENOMEM && ((char *)p)[9] == 7,
       "realloc to SIZE_MAX: NULL, ENOMEM, the block untouched");
    ok(do_realloc(p, 0) == NULL, "realloc(p, 0) frees p and returns NULL");
    p = do_realloc(NULL, 50);
    ok(p != NULL, "realloc(NULL, n) is malloc(n)");
    errno = 0;
    ok(do_reallocarray(p, SIZE_MAX / 2, 3) == NULL && errno == ENOMEM,
       "reallocarray overflow: NULL, ENOMEM, p kept");
    p = do_reallocarray(p, 10, 10);
    ok(p != NULL && malloc_usable_size(p) >= 100, "reallocarray(p, 10, 10)");
    free(p);
    ok(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) is 0");

    errno = 12345;
    p = NULL;
    e = posix_memalign(&p, 4096, 100);
    ok(e == 0 && p != NULL && ((uintptr_t)p & 4095) == 0 && errno == 12345,
       "posix_memalign(4096): aligned, errno untouched");
    free(p);
    ok(posix_memalign(&p, 24, 100) == EINVAL &&
           posix_memalign(&p, 4, 100) == EINVAL && errno == 12345,
       "posix_memalign: not a power of two, or under sizeof(void *): "
       "EINVAL returned, errno untouched");
    p = aligned_alloc(64, 128);
    q = memalign(1 << 20, 10);
    ok(p != NULL && ((uintptr_t)p & 63) == 0 && q != NULL &&
           ((uintptr_t)q & ((1 << 20) - 1)) == 0,
       "aligned_alloc(64) and memalign(1 MiB) align");
    free(p);
    free(q);
    errno = 0;
    ok(do_aligned_alloc(SIZE_MAX / 2 + 2, 10) == NULL && errno == EINVAL,
       "aligned_alloc(SIZE_MAX / 2 + 2): no power of two above, EINVAL");
    p = valloc(10);
    q = pvalloc(5000);
    ok(p != NULL && ((uintptr_t)p & 4095) == 0 && q != NULL &&
           ((uintptr_t)q & 4095) == 0 && malloc_usable_size(q) >= 8192,
       "valloc and pvalloc: page-aligned, pvalloc rounds up to pages");
    free(p);
    free(q);
    {
        int on_stack;
        do_free(&on_stack); /* ignored: never handed out (malloc.c) */
        ok(1, "free of a pointer the library never gave out is ignored");
    }

    for (int i = 0; i < N; i++) {
        handed[i] = malloc(16 + (size_t)i % 500);
        ((unsigned char *)handed[i])[0] = (unsigned char)i;
    }
    pthread_create(&t, NULL, freer, NULL);
    pthread_join(t, &rc);
    ok(rc == NULL, "%d blocks freed by another thread, contents intact", N);
    for (int i = 0; i < 20; i++) {
        pthread_create(&t, NULL, short_lived, NULL);
        pthread_join(t, NULL);
    }
    ok(1, "20 threads that allocate and exit");
    {
        char *s = strdup("libmpool");
        ok(s != NULL && strcmp(s, "libmpool") == 0 &&
               mpool_usable_size(s) >= 9,
           "the C library's own allocations (strdup) come from libmpool");
        free(s);
    }
    errno = 777;
    p = malloc(10);
    ok(errno == 777, "a malloc that succeeds leaves errno alone");
    free(p);
    return 0;
}
