/* SPDX-License-Identifier: MIT */
/*
 * t/fork-stdio.c - fork() while other threads are inside stdio, run with
 * libmpool-malloc preloaded by t/fork-preload-t.sh (it does not link
 * libmpool: the program's malloc is whatever the process has).
 *
 * getline() grows its line with realloc while it holds the stream's lock,
 * and fflush(NULL) holds the C library's list of streams while it waits
 * for each stream's lock.  A malloc whose fork handler takes its own locks
 * before the C library's fork takes that list would deadlock with them
 * (doc/design.md §9): so threads flush every stream, threads read one
 * 50000-byte line again and again, one thread mallocs and frees, and four
 * threads fork, their children leaving at once.  One more thread forks ten
 * times a second a child that uses stdio and malloc itself, from its one
 * thread and then from a new one: the list of streams must be free there
 * (no count of it left to the thread that forked).  It runs
 * FORK_STDIO_SECONDS (20 by default), then every thread must stop and none
 * may have seen an error; a hang is left to the wrapper's timeout.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LINE_BYTES 50000 /* the line getline returns, newline included */
#define FLUSHERS 2
#define READERS 2
#define FORKERS 4

static atomic_int running = 1;
static atomic_int failed;
static atomic_long forks, lines, flushes, allocs;
static char path[] = "/tmp/mpool-fork-stdio-XXXXXX";

static void
fail(const char *what)
{
    fprintf(stderr, "fork-stdio: %s\n", what);
    atomic_store(&failed, 1);
    atomic_store(&running, 0);
}

static void *
flusher(void *arg)
{
    (void)arg;
    while (atomic_load(&running)) {
        fflush(NULL);
        atomic_fetch_add(&flushes, 1);
    }
    return NULL;
}

/* Its own stream on the file: rewind, read the line into a new buffer. */
static void *
reader(void *arg)
{
    FILE *f = fopen(path, "r");

    (void)arg;
    if (f == NULL) {
        fail("fopen of the line's file failed");
        return NULL;
    }
    while (atomic_load(&running)) {
        char *line = NULL;
        size_t cap = 0;

        rewind(f);
        ssize_t n = getline(&line, &cap, f);
        if (n != LINE_BYTES || line[0] != 'x' || line[n - 1] != '\n') {
            free(line);
            fail("getline did not return the 50000-byte line");
            break;
        }
        free(line);
        atomic_fetch_add(&lines, 1);
    }
    fclose(f);
    return NULL;
}

static void *
allocator(void *arg)
{
    void *held[32] = {0};
    unsigned seed = 12345;

    (void)arg;
    while (atomic_load(&running)) {
        for (int i = 0; i < 32; i++) {
            seed = seed * 1103515245u + 12345u;
            free(held[i]);
            held[i] = malloc(16 + (seed >> 8) % 9000);
            if (held[i] == NULL) {
                fail("malloc failed");
                break;
            }
        }
        atomic_fetch_add(&allocs, 1);
    }
    for (int i = 0; i < 32; i++)
        free(held[i]);
    return NULL;
}

static void *
forker(void *arg)
{
    (void)arg;
    while (atomic_load(&running)) {
        int status;
        pid_t pid = fork();

        if (pid == 0)
            _exit(0);
        if (pid < 0) {
            fail("fork failed");
            break;
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fail("a child did not exit with 0");
            break;
        }
        atomic_fetch_add(&forks, 1);
    }
    return NULL;
}

/* In a child: the line read through a new stream, every stream flushed. */
static void *
child_stdio(void *arg)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    int ok = f != NULL && getline(&line, &cap, f) == LINE_BYTES;

    (void)arg;
    free(line);
    if (f != NULL)
        fclose(f);
    ok &= fflush(NULL) == 0;
    return ok ? arg : NULL;
}

static void *
child_checker(void *arg)
{
    (void)arg;
    while (atomic_load(&running)) {
        struct timespec tenth = {0, 100000000};
        int status;
        pid_t pid = fork();

        if (pid == 0) {
            pthread_t t;
            void *res = NULL;

            alarm(10); /* a lock left taken fails the child, not the test */
            if (child_stdio(path) == NULL ||
                pthread_create(&t, NULL, child_stdio, path) != 0 ||
                pthread_join(t, &res) != 0 || res == NULL)
                _exit(1);
            _exit(0);
        }
        if (pid < 0) {
            fail("fork failed");
            break;
        }
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
            fail("a child could not use stdio and malloc");
            break;
        }
        nanosleep(&tenth, NULL);
    }
    return NULL;
}

static int
write_line_file(void)
{
    int fd = mkstemp(path);
    FILE *f;

    if (fd < 0)
        return -1;
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -1;
    }
    for (int i = 0; i < LINE_BYTES - 1; i++)
        putc('x', f);
    putc('\n', f);
    return fclose(f);
}

int
main(void)
{
    void *(*kinds[])(void *) = {flusher, reader, allocator, forker,
                                child_checker};
    int counts[] = {FLUSHERS, READERS, 1, FORKERS, 1};
    pthread_t threads[FLUSHERS + READERS + 1 + FORKERS + 1];
    const char *env = getenv("FORK_STDIO_SECONDS");
    int seconds = env != NULL ? atoi(env) : 20;
    unsigned n = 0;

    if (write_line_file() != 0) {
        perror("fork-stdio: the line's file");
        return 1;
    }
    for (unsigned k = 0; k < 5; k++)
        for (int i = 0; i < counts[k]; i++)
            if (pthread_create(&threads[n++], NULL, kinds[k], NULL) != 0) {
                fail("pthread_create failed");
                n--;
            }
    for (int s = 0; s < seconds * 10 && atomic_load(&running); s++) {
        struct timespec tenth = {0, 100000000};
        nanosleep(&tenth, NULL);
    }
    atomic_store(&running, 0);
    for (unsigned i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    unlink(path);
    printf("fork-stdio: %ld forks, %ld lines, %ld flushes, %ld alloc rounds "
           "in %d s\n", atomic_load(&forks), atomic_load(&lines),
           atomic_load(&flushes), atomic_load(&allocs), seconds);
    if (atomic_load(&forks) == 0 || atomic_load(&lines) == 0)
        fail("no fork or no line completed");
    return atomic_load(&failed) ? 1 : 0;
}
