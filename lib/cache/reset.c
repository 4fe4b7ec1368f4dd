/* SPDX-License-Identifier: MIT */
/*
 * reset.c - emptying a cache at once while it stays: what mpool_reset does
 * to each size class of a pool (pool/reset.c).  Every object becomes free
 * whatever it was, handed out or cached, in time proportional to the
 * cache's slabs, not its objects (checking mode and valgrind, which look
 * at every object anyway, excepted).
 *
 * The objects cached in front of the slabs must leave first, or they
 * would be handed out again after the slabs carved them anew: the calling
 * thread's slot is flushed, and the depot drained into the slabs.  Other
 * threads' slots were drained by the caller (mp_tcache_drain_others, once
 * for the whole pool).  Where that could not be done at once (no
 * membarrier: bare metal) and another thread's slot does hold objects of
 * the cache, its slot index is retired and a new one claimed, as if the
 * cache were destroyed and made again: every thread drops its slot of the
 * old index, objects and all, at its next slow path, and never flushes it
 * into this cache (magazine.c, "Retirement").  Only then: a retired index
 * is free again once every thread has tidied, and a program resetting a
 * pool only its own thread uses should not use indices up.
 *
 * Locks: those of magazine.c and slab.c, one at a time.
 */
#include "cache/cache.h"

void
mp_cache_reset_unlisted(struct mpool_cache *c, bool drained)
{
    mp_tcache_flush_current(c);
    if (!drained && mp_tslot_held_elsewhere(c)) {
        mp_tslot_retire(c); /* no thread flushes into the cache now */
        mp_depot_drain(c);
        if (mp_tslot_claim(c, c->tslot_claim == MP_TSLOT_SHARED
                                  ? MP_TSLOT_SHARED
                                  : MP_TSLOT_NONE) == 0 &&
            (c->flags & MPOOL_CACHE_ZERO))
            c->fast_offset = MP_TSLOT_NONE;
        /* else: no index free (every one waits for a thread to tidy), and
         * the cache goes on without magazines */
    }
    mp_depot_drain(c);
    mp_slab_reset_all(c);
}
