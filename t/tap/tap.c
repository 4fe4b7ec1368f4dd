/* SPDX-License-Identifier: MIT */
/*
 * t/tap/tap.c - the TAP producer declared in tap.h.
 */
#include "tap.h"

#include "config.h"

#include <errno.h>
#ifdef __linux__
#include <sched.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_planned = -1; /* -1: none yet; 0: lazy */
static int tap_run;
static int tap_failed;

static void tap_vline(bool pass, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
tap_vline(bool pass, const char *fmt, va_list ap)
{
    tap_run++;
    if (!pass)
        tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_run);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

void
plan(int count)
{
    tap_planned = count;
    printf("1..%d\n", count);
    fflush(stdout);
}

void
plan_lazy(void)
{
    tap_planned = 0;
}

void
skip_all(const char *fmt, ...)
{
    va_list ap;

    printf("1..0 # SKIP ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    exit(0);
}

bool
ok(bool pass, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_vline(pass, fmt, ap);
    va_end(ap);
    return pass;
}

bool
is_int(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    bool pass = got == want;

    va_start(ap, fmt);
    tap_vline(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        diag("     got: %lld\n#   expected: %lld", got, want);
    return pass;
}

bool
is_size(size_t got, size_t want, const char *fmt, ...)
{
    va_list ap;
    bool pass = got == want;

    va_start(ap, fmt);
    tap_vline(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        diag("     got: %zu\n#   expected: %zu", got, want);
    return pass;
}

bool
is_ptr(const void *got, const void *want, const char *fmt, ...)
{
    va_list ap;
    bool pass = got == want;

    va_start(ap, fmt);
    tap_vline(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        diag("     got: %p\n#   expected: %p", got, want);
    return pass;
}

bool
is_string(const char *got, const char *want, const char *fmt, ...)
{
    va_list ap;
    bool pass = got != NULL && want != NULL ? strcmp(got, want) == 0
                                            : got == want;

    va_start(ap, fmt);
    tap_vline(pass, fmt, ap);
    va_end(ap);
    if (!pass)
        diag("     got: \"%s\"\n#   expected: \"%s\"",
             got ? got : "(null)", want ? want : "(null)");
    return pass;
}

void
skip(int count, const char *fmt, ...)
{
    va_list ap;

    for (int i = 0; i < count; i++) {
        tap_run++;
        printf("ok %d # SKIP ", tap_run);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
    }
    fflush(stdout);
}

void
diag(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void
bail(const char *fmt, ...)
{
    va_list ap;

    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    exit(255);
}

void
sysbail(const char *fmt, ...)
{
    va_list ap;
    int e = errno;

    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf(": %s\n", strerror(e));
    fflush(stdout);
    exit(255);
}

bool
tap_under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");

    return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

bool
tap_under_memcheck_requests(void)
{
    const char *preload = getenv("LD_PRELOAD");

    return MPOOL_VALGRIND && preload != NULL &&
           strstr(preload, "vgpreload_memcheck") != NULL;
}

int
tap_run_child(int (*child)(void *), void *arg, char *err, size_t cap)
{
    int fds[2], status;
    size_t len = 0;
    ssize_t n;
    pid_t pid;

    if (pipe(fds) != 0)
        sysbail("pipe");
    fflush(stdout);
    pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        _exit(child(arg));
    }
    close(fds[1]);
    while (len + 1 < cap && (n = read(fds[0], err + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(fds[0]);
    if (waitpid(pid, &status, 0) != pid)
        sysbail("waitpid");
    return status;
}

bool
tap_under_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

bool
tap_under_tsan(void)
{
#if defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

void
tap_skip_if_rlimit_as_unusable(void)
{
    if (tap_under_valgrind())
        skip_all("valgrind needs more address space than the test allows");
    if (tap_under_asan())
        skip_all("AddressSanitizer reserves more address space than the "
                 "test allows");
}

bool
tap_backend_is(const char *name)
{
    return strcmp(MPOOL_BACKEND_NAME, name) == 0;
}

void
tap_skip_if_break_capped(void)
{
    const intptr_t probe = (intptr_t)64 << 20;

    if (!tap_backend_is("sbrk"))
        return;
    if (sbrk(probe) != (void *)-1) {
        sbrk(-probe);
        return;
    }
    skip_all("the sbrk backend needs a program break that can grow by "
             "64 MiB%s",
             tap_under_valgrind() ? "; valgrind caps it at 8 MiB" : "");
}

void
tap_stay_on_this_cpu(void)
{
#ifdef __linux__
    cpu_set_t set;
    int cpu = sched_getcpu();

    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)sched_setaffinity(0, sizeof(set), &set);
#endif
}

size_t
tap_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size, resident;

    if (f == NULL)
        sysbail("open /proc/self/statm");
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        bail("cannot parse /proc/self/statm");
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

size_t
tap_mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0;

    if (f != NULL) {
        if (fscanf(f, "%lu", &size) != 1)
            size = 0;
        fclose(f);
    }
    return (size_t)size * (size_t)sysconf(_SC_PAGESIZE);
}

void
tap_child_checks(int (*child)(void), const char *const *checks, int nchecks)
{
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0)
        _exit(child());
    if (waitpid(pid, &status, 0) != pid)
        sysbail("waitpid");
    if (!ok(WIFEXITED(status) && WEXITSTATUS(status) != 0x7f,
            "the child ran to the end (no crash, limits settable)")) {
        skip(nchecks, "child did not finish");
        return;
    }
    for (int i = 0; i < nchecks; i++)
        ok((WEXITSTATUS(status) & (1 << i)) == 0, "%s", checks[i]);
}

int
tap_done(void)
{
    if (tap_planned == 0) {
        printf("1..%d\n", tap_run);
        tap_planned = tap_run;
    } else if (tap_planned != tap_run) {
        printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
        return 1;
    }
    fflush(stdout);
    return tap_failed == 0 ? 0 : 1;
}
