/* SPDX-License-Identifier: MIT */
/*
 * bench/peak-report.c - what the allocator holds at a program's peak
 * resident memory, for a program that cannot be changed: preloaded after
 * the allocator, it starts a thread that every 200 ms reads
 * /proc/self/status, and whenever VmRSS is a new maximum rewrites
 * $PEAK_REPORT.PID with VmRSS, RssAnon and RssFile, mallinfo2() (glibc's
 * main arena, or libmpool-malloc's whole default pool) and, where the
 * process has one (libmpool-malloc), mpool_report_fd()'s cache and pool
 * report.  What is left in the file when the program ends is the state
 * nearest its peak.  doc/bench-suite.md used it on git repack.
 *
 *   cc -O2 -shared -fPIC -o peak-report.so bench/peak-report.c -lpthread
 *   PEAK_REPORT=/tmp/peak LD_PRELOAD="libmpool-malloc.so ./peak-report.so" \
 *       git -c pack.threads=2 repack -adf
 *
 * Not built by make: a diagnostic.  The report is taken while the
 * program's threads run, so it is a snapshot, not an exact count; and
 * preload it into the program measured only (not into /usr/bin/time, say,
 * whose own thread would outlive what it waits for).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long
status_kib(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);

    return p != NULL ? atol(p + strlen(key)) : -1;
}

static void *
watch(void *arg)
{
    void (*report)(int) = (void (*)(int))dlsym(RTLD_DEFAULT,
                                               "mpool_report_fd");
    const char *out = arg;
    char path[4096], buf[4096];
    long max = 0;

    snprintf(path, sizeof(path), "%s.%d", out, (int)getpid());
    for (;;) {
        struct mallinfo2 mi;
        long rss;
        ssize_t n;
        int fd;

        usleep(200000);
        if ((fd = open("/proc/self/status", O_RDONLY)) < 0)
            continue;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        if ((rss = status_kib(buf, "VmRSS:")) <= max)
            continue;
        max = rss;
        mi = mallinfo2();
        if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
            continue;
        dprintf(fd, "VmRSS %ld kB RssAnon %ld kB RssFile %ld kB\n", rss,
                status_kib(buf, "RssAnon:"), status_kib(buf, "RssFile:"));
        dprintf(fd, "mallinfo2 arena %zu hblks %zu hblkhd %zu uordblks %zu "
                    "fordblks %zu keepcost %zu\n",
                mi.arena, mi.hblks, mi.hblkhd, mi.uordblks, mi.fordblks,
                mi.keepcost);
        if (report != NULL)
            report(fd);
        close(fd);
    }
    return NULL;
}

__attribute__((constructor)) static void
peak_report_start(void)
{
    char *out = getenv("PEAK_REPORT");
    pthread_t t;

    if (out != NULL && *out != '\0' &&
        pthread_create(&t, NULL, watch, out) == 0)
        pthread_detach(t);
}
