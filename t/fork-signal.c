/* SPDX-License-Identifier: MIT */
/*
 * t/fork-signal.c - fork() from a signal handler in a single-threaded
 * program, run with libmpool-malloc preloaded by t/fork-preload-t.sh (it
 * does not link libmpool).
 *
 * A timer signal arrives every millisecond; its handler forks and
 * the child leaves at once.  Meanwhile the one thread mallocs, frees and
 * forks.  The signal often lands while the thread is inside malloc or
 * inside fork's own handlers; the nested fork must neither wait for a lock
 * the interrupted code holds nor upset the outer fork's handlers, so a
 * malloc must keep fork async-signal-safe in a single-threaded process
 * (doc/design.md §9).  It runs FORK_SIGNAL_SECONDS (10 by default) and
 * must finish; a hang is left to the wrapper's timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handler_forks;
static volatile sig_atomic_t handler_error;

/* Forks and reaps; what it finds wrong goes into handler_error. */
static void
on_timer(int sig)
{
    int saved = errno, status;
    pid_t pid;

    (void)sig;
    pid = fork();
    if (pid == 0)
        _exit(0);
    if (pid < 0)
        handler_error = 1;
    else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
             WEXITSTATUS(status) != 0)
        handler_error = 2;
    else
        handler_forks++;
    errno = saved;
}

static int
set_timer(long usec)
{
    struct itimerval it = {{0, usec}, {0, usec}};

    return setitimer(ITIMER_REAL, &it, NULL);
}

int
main(void)
{
    struct sigaction sa;
    const char *env = getenv("FORK_SIGNAL_SECONDS");
    int seconds = env != NULL ? atoi(env) : 10;
    long forks = 0, rounds = 0;
    void *held[16] = {0};
    unsigned seed = 777;
    int failed = 0;
    time_t end;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_timer;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) != 0 || set_timer(1000) != 0) {
        perror("fork-signal: the timer");
        return 1;
    }
    end = time(NULL) + seconds;
    while (time(NULL) < end && !failed) {
        for (int i = 0; i < 16; i++) {
            seed = seed * 1103515245u + 12345u;
            free(held[i]);
            held[i] = malloc(8 + (seed >> 8) % 5000);
            if (held[i] == NULL)
                failed = 1;
        }
        if (rounds++ % 8 == 0) {
            int status;
            pid_t pid = fork();

            if (pid == 0)
                _exit(0);
            if (pid < 0 || waitpid(pid, &status, 0) != pid ||
                !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                failed = 1;
            else
                forks++;
        }
    }
    set_timer(0);
    for (int i = 0; i < 16; i++)
        free(held[i]);
    printf("fork-signal: %ld forks, %ld from the handler, %ld rounds in %d s\n",
           forks, (long)handler_forks, rounds, seconds);
    if (failed || handler_error != 0) {
        fprintf(stderr, "fork-signal: %s\n",
                failed ? "malloc or fork failed in the main loop"
                       : "fork failed in the signal handler");
        return 1;
    }
    if (forks == 0 || handler_forks == 0) {
        fprintf(stderr, "fork-signal: no fork completed\n");
        return 1;
    }
    return 0;
}
