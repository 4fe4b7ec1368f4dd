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

static size_t
append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at < cap)
        buf[at++] = *s++;
    return at;
}

static size_t
append_hex(char *buf, size_t at, size_t cap, uintptr_t v)
{
    char digits[2 * sizeof(uintptr_t)];
    size_t n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v & 0xf];
        v >>= 4;
    } while (v != 0);
    at = append(buf, at, cap, "0x");
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

    n = append(line, n, cap, "libmpool: ");
    n = append(line, n, cap, function);
    n = append(line, n, cap, ": ");
    n = append(line, n, cap, what);
    n = append(line, n, cap, " ");
    n = append_hex(line, n, cap, (uintptr_t)addr);
    if (cache != NULL) {
        n = append(line, n, cap, " cache \"");
        n = append(line, n, cap, cache);
        n = append(line, n, cap, "\"");
    }
    if (other != NULL) {
        n = append(line, n, cap, " (it belongs to cache \"");
        n = append(line, n, cap, other);
        n = append(line, n, cap, "\")");
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
    char digits[12];
    size_t n = 0, cap = sizeof(buf) - 1, d = 0;

    n = append(buf, n, cap, "libmpool: assertion failed: ");
    n = append(buf, n, cap, expr);
    n = append(buf, n, cap, " at ");
    n = append(buf, n, cap, file);
    n = append(buf, n, cap, ":");
    do {
        digits[d++] = (char)('0' + line % 10);
        line /= 10;
    } while (line != 0);
    while (d > 0 && n < cap)
        buf[n++] = digits[--d];
    buf[n++] = '\n';
    mp_backend_write_error(buf, n);
    mp_backend_abort();
}
