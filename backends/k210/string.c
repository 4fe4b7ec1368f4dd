/* SPDX-License-Identifier: MIT */
/*
 * backends/k210/string.c - memset, memcpy, memmove and memcmp for the
 * target build, where there is no C library.  GCC emits calls to them even
 * in freestanding code (a large structure zeroed, __builtin_memcpy of an
 * unknown size), so the library must find them somewhere.
 *
 * They are weak: a kernel that has its own (faster ones, or picolibc's)
 * links them instead, and these are never used.  Plain loops, a word at a
 * time where the pointers allow it, each marked so that the compiler does
 * not recognise the loop and turn it back into a call to itself.
 *
 * Compiled only in the target build (backends/k210/Makefile.inc); the host
 * build uses the C library's.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ != 0 &&                   \
    !defined(MPOOL_FREESTANDING)
#error "backends/k210/string.c belongs to the target build, not the host's"
#endif

#if defined(__clang__)
#define K210_NO_LIBCALL __attribute__((no_builtin))
#else
#define K210_NO_LIBCALL                                                    \
    __attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
#define K210_STRING_FN __attribute__((weak)) K210_NO_LIBCALL

typedef uint64_t __attribute__((may_alias)) k210_word_t;
#define WORD sizeof(k210_word_t)

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

K210_STRING_FN void *
memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    k210_word_t w = (unsigned char)c * (k210_word_t)0x0101010101010101ull;

    while (n > 0 && ((uintptr_t)d & (WORD - 1)) != 0) {
        *d++ = (unsigned char)c;
        n--;
    }
    for (; n >= WORD; n -= WORD, d += WORD)
        *(k210_word_t *)d = w;
    while (n > 0) {
        *d++ = (unsigned char)c;
        n--;
    }
    return dst;
}

/* Front to back, a word at a time when both are equally aligned: right
 * for memcpy, and for memmove when dst is below src. */
static K210_NO_LIBCALL void
copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    if ((((uintptr_t)d ^ (uintptr_t)s) & (WORD - 1)) == 0) {
        while (n > 0 && ((uintptr_t)d & (WORD - 1)) != 0) {
            *d++ = *s++;
            n--;
        }
        for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
            *(k210_word_t *)d = *(const k210_word_t *)s;
    }
    while (n > 0) {
        *d++ = *s++;
        n--;
    }
}

K210_STRING_FN void *
memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

K210_STRING_FN void *
memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if ((uintptr_t)d - (uintptr_t)s >= n) { /* d below s, or no overlap */
        copy_forward(d, s, n);
        return dst;
    }
    d += n; /* d above s, overlapping: back to front */
    s += n;
    while (n > 0) {
        *--d = *--s;
        n--;
    }
    return dst;
}

K210_STRING_FN int
memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;

    for (; n > 0; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}
