/* SPDX-License-Identifier: MIT */
/*
 * t/rest.h - the page level at rest, for the tests that make memory run
 * out (t/fault-t.c, t/callout-oom-t.c): after everything is freed and
 * mpool_reclaim(NULL), the library holds its own caches' slabs and
 * nothing else.  Which segments hold those depends on the arenas they were
 * served from (a failed request sends a thread to another arena), so the
 * number of segments may differ from the baseline; the pages in runs may
 * not, no huge span may be left, and every segment out of the backend must
 * be one the page level holds.  Tests linked with the core only.
 */
#ifndef MPOOL_T_REST_H
#define MPOOL_T_REST_H

#include "page/page.h"
#include "tap/tap.h"

struct rest {
    size_t segments, huge_spans, run_pages, segments_out;
};

static inline void
rest_of(struct rest *r)
{
    mp_arena_census_t c;
    mp_backend_counters_t b;

    mp_census(&c);
    mp_backend_counters(&b);
    r->segments = c.segments;
    r->huge_spans = c.huge_spans;
    r->run_pages = c.run_pages;
    r->segments_out = b.segments_out;
}

/* Whether the library is at rest as it was at base; what is named in the
 * diagnostic when it is not. */
static inline bool
same_rest(const struct rest *base, const char *what)
{
    struct rest now;

    rest_of(&now);
    if (now.huge_spans == base->huge_spans &&
        now.run_pages == base->run_pages &&
        now.segments_out == now.segments && now.huge_spans == 0)
        return true;
    diag("%s: at rest %zu segments, %zu spans, %zu run pages, %zu "
         "segments out; now %zu, %zu, %zu, %zu",
         what, base->segments, base->huge_spans, base->run_pages,
         base->segments_out, now.segments, now.huge_spans, now.run_pages,
         now.segments_out);
    return false;
}

#endif /* MPOOL_T_REST_H */
