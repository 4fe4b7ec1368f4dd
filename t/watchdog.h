/* SPDX-License-Identifier: MIT */
/*
 * t/watchdog.h - run part of a test in a forked child with a deadline, so
 * that a deadlock is a failing test and not a suite that never ends.
 *
 * The tests of callouts (t/callout-*-t.c: constructors, destructors and
 * reclaim callbacks that call back into the library) exist because such
 * calls once deadlocked: a constructor running under its cache's lock
 * allocated, ran out of memory, and the reclaim that followed took that
 * same lock again.  A hang must therefore turn into "not ok", with where it
 * hung, within a bounded time.
 *
 * The child records each check's result, and what it is doing, in a page
 * shared with the parent; the parent waits for it with alarm(2) and, past
 * the deadline, kills it and says which phase it was in.  One TAP line says
 * whether the child finished in time; then one per check: its result, or
 * a skip naming the phase the child never left.  Nothing here measures how
 * long anything takes: the deadline is many times what the work needs, and
 * MPOOL_TEST_DEADLINE (seconds) overrides it.
 *
 * Header-only, static functions: each test that includes it gets its own.
 */
#ifndef MPOOL_T_WATCHDOG_H
#define MPOOL_T_WATCHDOG_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap/tap.h"

#define WATCH_MAX_CHECKS 64

enum { WATCH_NOT_REACHED = 0, WATCH_PASS = 1, WATCH_FAIL = 2 };

struct watch_shared {
    char phase[160];                      /* what the child is doing */
    unsigned char result[WATCH_MAX_CHECKS]; /* WATCH_* per check */
};

static struct watch_shared *watch_page;

/* In the child: say what it is doing now (shown if it hangs there). */
static void watch_phase(const char *fmt, ...) TAP_PRINTF(1, 2);
static __attribute__((unused)) void
watch_phase(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(watch_page->phase, sizeof watch_page->phase, fmt, ap);
    va_end(ap);
}

/* In the child: record check i.  A check recorded twice keeps a failure. */
static __attribute__((unused)) bool
watch_check(int i, bool pass)
{
    if (watch_page->result[i] != WATCH_FAIL)
        watch_page->result[i] = pass ? WATCH_PASS : WATCH_FAIL;
    return pass;
}

/* The deadline in seconds: MPOOL_TEST_DEADLINE, or dflt (natively) and
 * four times dflt under valgrind, where everything runs far slower. */
static unsigned
watch_deadline(unsigned dflt)
{
    const char *s = getenv("MPOOL_TEST_DEADLINE");

    if (s != NULL && atoi(s) > 0)
        return (unsigned)atoi(s);
    return tap_under_valgrind() ? 4 * dflt : dflt;
}

static void
watch_alarm(int sig)
{
    (void)sig; /* only to interrupt waitpid */
}

/* Run child(arg) in a forked process with a deadline of `deadline` seconds;
 * report "name: finished within N s", then each of the nchecks checks.
 * Returns whether the child finished and passed every check. */
static bool
watch_run(const char *name, void (*child)(void *), void *arg,
          unsigned deadline, const char *const *checks, int nchecks)
{
    struct sigaction sa, old_sa;
    bool hung = false, finished, all = true;
    int status;
    pid_t pid;

    if (nchecks > WATCH_MAX_CHECKS)
        bail("watch_run: too many checks");
    if (watch_page == NULL) {
        watch_page = mmap(NULL, sizeof *watch_page, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (watch_page == MAP_FAILED)
            sysbail("mmap");
    }
    memset(watch_page, 0, sizeof *watch_page);
    strcpy(watch_page->phase, "starting");

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0)
        sysbail("fork");
    if (pid == 0) {
        child(arg);
        fflush(stdout);
        _exit(0);
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = watch_alarm; /* no SA_RESTART: waitpid gets EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old_sa);
    alarm(deadline);
    while (waitpid(pid, &status, 0) != pid) {
        if (errno != EINTR)
            sysbail("waitpid");
        hung = true;
        kill(pid, SIGKILL);
    }
    alarm(0);
    sigaction(SIGALRM, &old_sa, NULL);

    finished = !hung && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (!ok(finished, "%s: finished within %u s", name, deadline)) {
        all = false;
        if (hung)
            diag("%s: hung (killed after %u s) while %s", name, deadline,
                 watch_page->phase);
        else if (WIFSIGNALED(status))
            diag("%s: killed by signal %d while %s", name, WTERMSIG(status),
                 watch_page->phase);
        else
            diag("%s: exited with status %d while %s", name,
                 WEXITSTATUS(status), watch_page->phase);
    }
    for (int i = 0; i < nchecks; i++) {
        unsigned char r = watch_page->result[i];

        if (r == WATCH_NOT_REACHED && !finished) {
            skip(1, "%s: %s: not reached (the child did not finish)", name,
                 checks[i]);
            continue;
        }
        if (!ok(r == WATCH_PASS, "%s: %s", name, checks[i]))
            all = false;
        if (r == WATCH_NOT_REACHED)
            diag("the child finished without recording this check");
    }
    return all;
}

/* Skip what watch_run would have reported, with a reason. */
static __attribute__((unused)) void
watch_skip(const char *name, int nchecks, const char *why)
{
    skip(nchecks + 1, "%s: %s", name, why);
}

#endif /* MPOOL_T_WATCHDOG_H */
