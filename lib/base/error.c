/* SPDX-License-Identifier: MIT */
/*
 * error.c - the one way the library reports heap corruption: a single line
 *
 *     libmpool: <function>: <what happened> 0x<address> [cache "<name>"]
 *
 * written through the backend (stderr, or a UART on bare metal), then the
 * program is stopped.  It formats by hand, with no stdio and no allocation,
 * because the heap it would allocate from is the thing that is broken.
 */
#include "base/base.h"

size_t
mp_fmt_str(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at < cap)
        buf[at++] = *s++;
    return at;
}

size_t
mp_fmt_hex(char *buf, size_t at, size_t cap, uintptr_t v)
{
    char digits[2 * sizeof(uintptr_t)];
    size_t n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v != 0);
    at = mp_fmt_str(buf, at, cap, "0x");
    while (n > 0 && at < cap)
        buf[at++] = digits[--n];
    return at;
}

size_t
mp_fmt_uint(char *buf, size_t at, size_t cap, unsigned long v)
{
    char digits[24];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0 && at < cap)
        buf[at++] = digits[--n];
    return at;
}

void
mp_cache_panic(const char *function, const char *what, const void *addr,
               const char *cache, const char *other)
{
    char line[320];
    size_t cap = sizeof(line) - 1;
    size_t n = 0;

    n = mp_fmt_str(line, n, cap, "libmpool: ");
    n = mp_fmt_str(line, n, cap, function);
    n = mp_fmt_str(line, n, cap, ": ");
    n = mp_fmt_str(line, n, cap, what);
    n = mp_fmt_str(line, n, cap, " ");
    n = mp_fmt_hex(line, n, cap, (uintptr_t)addr);
    if (cache != NULL) {
        n = mp_fmt_str(line, n, cap, " cache \"");
        n = mp_fmt_str(line, n, cap, cache);
        n = mp_fmt_str(line, n, cap, "\"");
    }
    if (other != NULL) {
        n = mp_fmt_str(line, n, cap, " (it belongs to cache \"");
        n = mp_fmt_str(line, n, cap, other);
        n = mp_fmt_str(line, n, cap, "\")");
    }
    line[n++] = '\n';
    mp_backend_write_error(line, n);
    mp_backend_abort();
}

void
mp_panic(const char *function, const char *what, const void *addr)
{
    mp_cache_panic(function, what, addr, NULL, NULL);
}

void
mp_assert_fail(const char *expr, const char *file, unsigned line)
{
    char buf[256];
    size_t n = 0, cap = sizeof(buf) - 1;

    n = mp_fmt_str(buf, n, cap, "libmpool: assertion failed: ");
    n = mp_fmt_str(buf, n, cap, expr);
    n = mp_fmt_str(buf, n, cap, " at ");
    n = mp_fmt_str(buf, n, cap, file);
    n = mp_fmt_str(buf, n, cap, ":");
    n = mp_fmt_uint(buf, n, cap, line);
    buf[n++] = '\n';
    mp_backend_write_error(buf, n);
    mp_backend_abort();
}
