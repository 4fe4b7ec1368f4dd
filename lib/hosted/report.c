/* SPDX-License-Identifier: MIT */
/*
 * report.c - the table of caches for people: mpool_report() and
 * mpool_report_fd().
 * Hosted builds only (it uses stdio and write(2)).
 *
 *   cache              objsize  stride  in-use   total  slabs f/p/e  pages ...
 *
 * One line per live cache, then each pool's size classes (named
 * pool:size), then the library's own caches.  Columns follow
 * /proc/slabinfo's spirit: sizes, objects, slabs, pages, then the calls and
 * how many of them a thread's magazine served.
 *
 * Then the pools, one line each, from the numbers mpool_stats() gives
 * (pool/stats.c): bytes and blocks in use, bytes held and their peak, the
 * limit and the retention cap (0: none).
 *
 *   name          in-use  blocks  held  peak  limit  retain
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "top.h"

static int
write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

struct report {
    int fd;
    int rc;
};

static int format_line(char *buf, size_t cap, const mpool_cache_stats_t *st);

/* One cache's line. */
static void
report_cache(struct mpool_cache *c, void *arg)
{
    struct report *r = arg;
    mpool_cache_stats_t st;
    char line[256];
    int n;

    if (r->rc != 0)
        return;
    mp_cache_stats_fill(c, &st);
    n = format_line(line, sizeof(line), &st);
    r->rc = write_all(r->fd, line, (size_t)n < sizeof(line) ? (size_t)n
                                                            : sizeof(line) - 1);
}

static int
format_line(char *buf, size_t cap, const mpool_cache_stats_t *st)
{
    unsigned long long calls = st->magazine_hits + st->magazine_misses;

    return snprintf(buf, cap,
                    "%-24s %8zu %7zu %9zu %9zu %6zu/%zu/%zu %8zu %12llu "
                    "%12llu %5.1f%% %s\n",
                    st->name, st->object_size, st->stride,
                    st->objects_in_use, st->objects_total, st->slabs_full,
                    st->slabs_partial, st->slabs_empty, st->pages,
                    (unsigned long long)st->allocs,
                    (unsigned long long)st->frees,
                    calls ? 100.0 * (double)st->magazine_hits / (double)calls
                          : 0.0,
                    st->mode == MPOOL_MAGAZINE_PER_THREAD ? "per-thread"
                                                          : "none");
}

static const char report_header[] =
    "# libmpool caches\n"
    "# name                   objsize  stride    in-use     total  "
    "slabs f/p/e    pages       allocs        frees  hits  magazines\n";

static const char pools_header[] =
    "# libmpool pools\n"
    "# name                     in-use     blocks         held         "
    "peak        limit       retain\n";

/* One pool's line; pools_lock held (mp_pools_visit). */
static void
report_pool(struct mpool *p, void *arg)
{
    struct report *r = arg;
    mpool_stats_t st;
    char line[256];
    int n;

    if (r->rc != 0)
        return;
    mp_pool_stats_fill(p, &st);
    n = snprintf(line, sizeof(line),
                 "%-24s %10zu %10zu %12zu %12zu %12zu %12zu\n",
                 p->name[0] != '\0' ? p->name : "(unnamed)", st.bytes_in_use,
                 st.blocks_in_use, st.bytes_held, st.bytes_held_peak,
                 st.limit, st.retain);
    r->rc = write_all(r->fd, line, (size_t)n < sizeof(line) ? (size_t)n
                                                            : sizeof(line) - 1);
}

int
mpool_report_fd(int fd)
{
    struct report r = {fd, 0};

    if (write_all(fd, report_header, sizeof(report_header) - 1) != 0)
        return -1;
    if (mp_init() != 0)
        return 0;
    mp_registry_lock();
    for (struct mpool_cache *c = mp_registry; c != NULL; c = c->next)
        report_cache(c, &r);
    mp_pools_visit_classes(report_cache, &r); /* "pool:size" */
    for (unsigned i = 0; i < MP_INTERNAL_CACHES; i++)
        if (mp_internal_caches[i] != NULL)
            report_cache(mp_internal_caches[i], &r);
    mp_registry_unlock();
    if (r.rc == 0)
        r.rc = write_all(fd, pools_header, sizeof(pools_header) - 1);
    mp_pools_visit(report_pool, &r);
    return r.rc;
}

int
mpool_report(FILE *stream)
{
    if (stream == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (fflush(stream) != 0)
        return -1;
    return mpool_report_fd(fileno(stream));
}
