/* SPDX-License-Identifier: MIT */
/*
 * t/string-t.c - mpool_strdup, mpool_strndup and (hosted builds)
 * mpool_asprintf, mpool_vasprintf: copies that are equal, NUL-terminated
 * and blocks of the pool; empty strings; n shorter and longer than the
 * string; bad arguments (EINVAL, nothing allocated); a pool at its limit
 * (ENOMEM, the pool and its strings intact); a region pool and a
 * single-threaded pool; formats with %s, %d, output past 4 KiB, and a
 * format the C library cannot encode.
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "mpool.h"
#include "tap/tap.h"

/* The string is a block of the pool, of its length plus the NUL at least. */
static bool
is_block(const char *s, const char *want)
{
    return s != NULL && strcmp(s, want) == 0 &&
           mpool_usable_size(s) >= strlen(want) + 1;
}

static void
test_strdup(mpool_t *pool, const char *what)
{
    char text[] = "a string of the program";
    char *a = mpool_strdup(pool, text);
    char *e = mpool_strdup(pool, "");

    ok(is_block(a, text) && a != text, "%s: strdup copies a string", what);
    text[0] = 'A';
    ok(a != NULL && a[0] == 'a', "%s: the copy is its own memory", what);
    ok(is_block(e, "") && e[0] == '\0', "%s: strdup of \"\" is \"\"", what);
    mpool_free(pool, a);
    mpool_free(pool, e);
}

static void
test_strndup(mpool_t *pool, const char *what)
{
    const char *s = "0123456789";
    char *shorter = mpool_strndup(pool, s, 4);
    char *exact = mpool_strndup(pool, s, 10);
    char *longer = mpool_strndup(pool, s, 1000);
    char *huge = mpool_strndup(pool, s, SIZE_MAX);
    char *none = mpool_strndup(pool, s, 0);
    /* not NUL-terminated within n: strndup reads no further than n */
    char unterminated[4] = {'w', 'x', 'y', 'z'};
    char *part = mpool_strndup(pool, unterminated, sizeof(unterminated));
    /* a NUL inside the n bytes ends the copy there */
    char *embedded = mpool_strndup(pool, "ab\0cd", 5);

    ok(is_block(shorter, "0123"), "%s: strndup with n shorter: n bytes",
       what);
    ok(is_block(exact, s), "%s: strndup with n the length: all", what);
    ok(is_block(longer, s) && is_block(huge, s),
       "%s: strndup with n longer (1000, SIZE_MAX): the string", what);
    ok(is_block(none, ""), "%s: strndup with n 0: \"\"", what);
    ok(is_block(part, "wxyz"),
       "%s: strndup of n bytes with no NUL among them: terminated", what);
    ok(is_block(embedded, "ab") && mpool_usable_size(embedded) >= 3,
       "%s: strndup stops at a NUL within n", what);
    mpool_free(pool, shorter);
    mpool_free(pool, exact);
    mpool_free(pool, longer);
    mpool_free(pool, huge);
    mpool_free(pool, none);
    mpool_free(pool, part);
    mpool_free(pool, embedded);
}

static void
test_bad_arguments(void)
{
    mpool_t *pool = mpool_create(NULL);
    /* zeroed, as big as a pool: a pointer to something not a pool */
    void *stranger = calloc(1, 64 * 1024);

    errno = 0;
    ok(mpool_strdup(NULL, "x") == NULL && errno == EINVAL,
       "strdup with a NULL pool: EINVAL");
    errno = 0;
    ok(mpool_strdup(pool, NULL) == NULL && errno == EINVAL,
       "strdup of NULL: EINVAL");
    errno = 0;
    ok(mpool_strndup(NULL, "x", 1) == NULL && errno == EINVAL,
       "strndup with a NULL pool: EINVAL");
    errno = 0;
    ok(mpool_strndup(pool, NULL, 1) == NULL && errno == EINVAL,
       "strndup of NULL: EINVAL");
    errno = 0;
    ok(stranger != NULL && mpool_strdup(stranger, "x") == NULL &&
           errno == EINVAL,
       "strdup into something not a pool: EINVAL");
    errno = 0;
    ok(stranger != NULL && mpool_strndup(stranger, "x", 1) == NULL &&
           errno == EINVAL,
       "strndup into something not a pool: EINVAL");
#ifdef MPOOL_HAVE_REPORT
    errno = 0;
    ok(mpool_asprintf(NULL, "%d", 1) == NULL && errno == EINVAL,
       "asprintf with a NULL pool: EINVAL");
    errno = 0;
    ok(mpool_asprintf(pool, NULL) == NULL && errno == EINVAL,
       "asprintf with a NULL format: EINVAL");
    errno = 0;
    ok(stranger != NULL && mpool_asprintf(stranger, "x") == NULL &&
           errno == EINVAL,
       "asprintf into something not a pool: EINVAL");
#else
    skip(3, "no mpool_asprintf in this build");
#endif
    free(stranger);
    mpool_destroy(pool);
}

/* A pool at its limit: ENOMEM, and the strings it holds stay as they were. */
static void
test_out_of_memory(void)
{
    mpool_options_t o = {.size = sizeof(o), .name = "strings-limited",
                         .limit = 1u << 20};
    mpool_t *pool = mpool_create(&o);
    char *big = malloc(2u << 20);
    char *kept[64];
    int n = 0, intact = 0;
    char *s;

    if (pool == NULL || big == NULL)
        bail("no pool or no buffer");
    memset(big, 'q', (2u << 20) - 1);
    big[(2u << 20) - 1] = '\0';
    for (n = 0; n < 64; n++)
        kept[n] = mpool_strdup(pool, "kept");
    errno = 0;
    s = mpool_strdup(pool, big);
    ok(s == NULL && errno == ENOMEM,
       "strdup of 2 MiB into a pool limited to 1 MiB: ENOMEM");
    errno = 0;
    s = mpool_strndup(pool, big, 1u << 20);
    ok(s == NULL && errno == ENOMEM,
       "strndup of 1 MiB into it: ENOMEM");
#ifdef MPOOL_HAVE_REPORT
    errno = 0;
    s = mpool_asprintf(pool, "%s", big);
    ok(s == NULL && errno == ENOMEM, "asprintf of 2 MiB into it: ENOMEM");
#else
    skip(1, "no mpool_asprintf in this build");
#endif
    for (n = 0; n < 64; n++)
        intact += kept[n] != NULL && strcmp(kept[n], "kept") == 0;
    is_int(intact, 64, "the strings the pool held are intact");
    s = mpool_strndup(pool, big, 1000);
    ok(s != NULL && strlen(s) == 1000,
       "and the pool still gives a string that fits");
    mpool_free(pool, s);
    free(big);
    mpool_destroy(pool);
}

static void
test_region_and_single(void)
{
    static char region[256 * 1024] __attribute__((aligned(64)));
    mpool_options_t ro = {.size = sizeof(ro), .name = "strings-region",
                          .region = region, .region_size = sizeof(region)};
    mpool_options_t so = {.size = sizeof(so), .name = "strings-single",
                          .flags = MPOOL_SINGLE_THREADED};
    mpool_t *rp = mpool_create(&ro);
    mpool_t *sp = mpool_create(&so);
    char *s;

    if (rp == NULL || sp == NULL)
        bail("no region or single-threaded pool");
    test_strdup(rp, "region pool");
    test_strndup(rp, "region pool");
    s = mpool_strdup(rp, "inside");
    ok(s != NULL && s >= region && s < region + sizeof(region),
       "region pool: the copy lies in the region");
    mpool_free(rp, s);
    test_strdup(sp, "single-threaded pool");
    test_strndup(sp, "single-threaded pool");
    mpool_destroy(rp);
    mpool_destroy(sp);
}

#ifdef MPOOL_HAVE_REPORT
static char *format_v(mpool_t *pool, const char *fmt, ...)
    MPOOL_ATTR_PRINTF(2, 3);

static char *
format_v(mpool_t *pool, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = mpool_vasprintf(pool, fmt, ap);
    va_end(ap);
    return s;
}

static void
test_asprintf(mpool_t *pool, const char *what)
{
    char want[8192];
    char *long_arg = malloc(6000);
    char *s;

    s = mpool_asprintf(pool, "%s=%d", "answer", 42);
    ok(is_block(s, "answer=42"), "%s: asprintf %%s=%%d", what);
    mpool_free(pool, s);
    s = mpool_asprintf(pool, "%s", "");
    ok(is_block(s, ""), "%s: asprintf of an empty output", what);
    mpool_free(pool, s);
    s = format_v(pool, "%d-%s-%x", -7, "v", 255u);
    ok(is_block(s, "-7-v-ff"), "%s: vasprintf", what);
    mpool_free(pool, s);
    if (long_arg == NULL)
        bail("no memory");
    memset(long_arg, 'L', 5999);
    long_arg[5999] = '\0';
    snprintf(want, sizeof(want), "[%s] %d", long_arg, 123456);
    s = mpool_asprintf(pool, "[%s] %d", long_arg, 123456);
    ok(is_block(s, want) && strlen(s) > 4096,
       "%s: asprintf of %zu bytes, past 4 KiB", what, strlen(want));
    mpool_free(pool, s);
    free(long_arg);
}

static void
test_asprintf_encoding(mpool_t *pool)
{
    /* In the C locale a wide character past ASCII has no multibyte form:
     * vsnprintf fails with EILSEQ, which mpool_asprintf reports as EINVAL. */
    static const wchar_t wide[] = {0x263a, 0};
    char probe[16];

    setlocale(LC_ALL, "C");
    if (snprintf(probe, sizeof(probe), "%ls", wide) >= 0) {
        skip(1, "this C library encodes U+263A in the C locale");
        return;
    }
    errno = 0;
    ok(mpool_asprintf(pool, "%ls", wide) == NULL && errno == EINVAL,
       "asprintf with a wide string the locale cannot encode: EINVAL");
}
#endif

int
main(void)
{
    mpool_t *pool = mpool_create(NULL);

    plan_lazy();
    if (pool == NULL)
        bail("mpool_create: %s", strerror(errno));
    test_strdup(pool, "class pool");
    test_strndup(pool, "class pool");
    test_strdup(mpool_default(), "default pool");
    test_strndup(mpool_default(), "default pool");
    test_bad_arguments();
    test_out_of_memory();
    test_region_and_single();
#ifdef MPOOL_HAVE_REPORT
    test_asprintf(pool, "class pool");
    test_asprintf(mpool_default(), "default pool");
    test_asprintf_encoding(pool);
#endif
    mpool_destroy(pool);
    return tap_done();
}
