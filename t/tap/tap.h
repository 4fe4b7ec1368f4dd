/* SPDX-License-Identifier: MIT */
/*
 * t/tap/tap.h - a small TAP producer for libmpool's C tests, read by
 * automake's tap-driver.sh.  Each check prints one "ok N - ..." or
 * "not ok N - ..." line and returns whether it passed, so a test can stop
 * early when a failure would make the rest meaningless.
 */
#ifndef MPOOL_TAP_H
#define MPOOL_TAP_H

#include <stdbool.h>
#include <stddef.h>

#define TAP_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define TAP_NORETURN __attribute__((noreturn))

/* Announce the number of tests, or that the count comes at the end. */
void plan(int count);
void plan_lazy(void);
/* Skip the whole program (prints "1..0 # SKIP why") and exit 0. */
void skip_all(const char *fmt, ...) TAP_PRINTF(1, 2) TAP_NORETURN;

bool ok(bool pass, const char *fmt, ...) TAP_PRINTF(2, 3);
bool is_int(long long got, long long want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
bool is_size(size_t got, size_t want, const char *fmt, ...) TAP_PRINTF(3, 4);
bool is_ptr(const void *got, const void *want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
bool is_string(const char *got, const char *want, const char *fmt, ...)
    TAP_PRINTF(3, 4);
/* Record `count` tests as skipped, with a reason. */
void skip(int count, const char *fmt, ...) TAP_PRINTF(2, 3);

/* A comment line ("# ..."), shown by the driver. */
void diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/* Abort the whole test ("Bail out!"); sysbail appends strerror(errno). */
void bail(const char *fmt, ...) TAP_PRINTF(1, 2) TAP_NORETURN;
void sysbail(const char *fmt, ...) TAP_PRINTF(1, 2) TAP_NORETURN;

/* Run child(arg) in a forked child whose standard error goes to err (at
 * most cap - 1 bytes, then a NUL); the child exits with what child
 * returns.  Returns the child's wait status.  For tests of what stops the
 * program: each case dies in its own process. */
int tap_run_child(int (*child)(void *), void *arg, char *err, size_t cap);

/* Whether this process runs under valgrind or a sanitizer; tests that
 * change resource limits cannot run there. */
bool tap_under_valgrind(void);
bool tap_under_asan(void);
/* Under ThreadSanitizer, which owns malloc, and whose shadow of the heap
 * counts in the resident set. */
bool tap_under_tsan(void);
/* Under valgrind's memcheck, with the library's client requests built in:
 * caches have no magazines and realloc always moves (libmpool(7)). */
bool tap_under_memcheck_requests(void);

/* Skip the whole program when a lowered RLIMIT_AS cannot work: under
 * valgrind or AddressSanitizer, which need far more address space. */
void tap_skip_if_rlimit_as_unusable(void);

/* Whether the library was configured with this backend (MPOOL_BACKEND_NAME
 * in config.h).  A test scales down, or skips saying why, what a backend
 * cannot do: "k210" has 8 MiB of RAM in its host build and no operating
 * system under it (nothing mapped, purged or resident to measure). */
bool tap_backend_is(const char *name);

/* Skip the whole program when the sbrk backend is compiled in and the
 * program break cannot grow by 64 MiB: valgrind emulates the break in
 * 8 MiB of its own, room for one segment, not for a test that needs more
 * (doc/backends.md). */
void tap_skip_if_break_capped(void);

/* Keep the calling thread on the CPU it runs on now (Linux; nothing
 * elsewhere): the library's arenas are per CPU, so a test that frees and
 * allocates again and counts what was reused must stay in one arena. */
void tap_stay_on_this_cpu(void);

/* Resident memory of this process, in bytes, from /proc/self/statm. */
size_t tap_resident_bytes(void);

/* Address space mapped by this process, in bytes (/proc/self/statm). */
size_t tap_mapped_bytes(void);

/* Run child() in a forked process; each bit i of its exit status reports
 * check i failed.  Prints one test that the child finished (exit status
 * 0x7f means it could not set up), then one per check, skipped when the
 * child did not finish. */
void tap_child_checks(int (*child)(void), const char *const *checks,
                      int nchecks);

/* Exit with the status the plan and the results call for. */
int tap_done(void);

#endif /* MPOOL_TAP_H */
