/* SPDX-License-Identifier: MIT */
/*
 * cache.h - the types of the object-cache layer (caches, slabs, magazines,
 * thread caches) and the declarations shared by its files.  The theory is
 * the comment at the top of cache.c.
 */
#ifndef MP_CACHE_H
#define MP_CACHE_H

#include "page/page.h"
#include "mpool.h"

/* Internal flag: keep the free-list link out of the object, as for a cache
 * with a constructor. */
#define MP_CACHE_KEEP_STATE 0x80000000u

/* Internal flag: the cache is used by one thread only (a single-threaded
 * pool's class): its own locks are not taken, and other threads' drains
 * and global reclaim leave it alone. */
#define MP_CACHE_NOLOCK 0x40000000u

/* Internal flag: the cache's objects are described to valgrind's memcheck
 * (vg.h); set on the program's caches and pools' classes, never on the
 * library's own, when running under valgrind.  Such a cache has no
 * magazines. */
#define MP_CACHE_VG 0x20000000u

#define MP_CACHE_MAGIC ((uintptr_t)0x6d706361636865aaull)
#define MP_CACHE_DEAD ((uintptr_t)0x6d70646561646361ull)

/* Partial slabs are kept in buckets by how full they are (inuse * BUCKETS /
 * objects), and allocation takes from the fullest bucket, so that the
 * emptiest slabs drain and can be given back. */
#define MP_PARTIAL_BUCKETS 8
/* Rounds in a magazine: at most MP_MAGAZINE_ROUNDS (128), fewer for
 * large objects so that a magazine never holds more than
 * MP_MAGAZINE_BYTES of objects, and up to MP_MAGAZINE_ROUNDS_MAX (256)
 * for objects of MP_MAGAZINE_TINY bytes or less, whose batches cost
 * little memory (a thread's stack of them holds at most 16 KiB) and come
 * in the largest counts: a program with a thousand 8-32-byte blocks live
 * has some three hundred of a class, past a stack of 256.  A thread goes
 * to the shared depot when its stack of 2 x rounds runs empty or full;
 * with random allocation and free that is every ~rounds^2 calls, and with
 * 32 rounds two threads contending there held Larson's scaling to 1.13
 * (doc/bench-suite.md). */
#ifndef MP_MAGAZINE_ROUNDS_MAX /* a backend for a small machine sets fewer */
#define MP_MAGAZINE_ROUNDS_MAX 256
#endif
#define MP_MAGAZINE_ROUNDS                                                 \
    (MP_MAGAZINE_ROUNDS_MAX < 128 ? MP_MAGAZINE_ROUNDS_MAX : 128)
#define MP_MAGAZINE_TINY 32
#define MP_MAGAZINE_BYTES (64 * 1024)
/* cache.c: the most rounds for caches made from now on, 0 ..
 * MP_MAGAZINE_ROUNDS_MAX (0: no magazines); MPOOL_OPTIONS's "magazine". */
extern MP_HIDDEN uint32_t mp_magazine_rounds_max;
/* Objects the depot keeps in full magazines (at least two magazines);
 * beyond that they go back to the slabs.  Counted in objects, not
 * magazines, so that larger magazines do not make a consumer thread's
 * surplus larger. */
#define MP_DEPOT_OBJECTS_MAX 512
/* ... and at most this many bytes of them (beyond the two magazines it
 * always keeps): 512 objects of 64 KiB were 32 MiB a class, and a program
 * whose sizes move from class to class (git repack: doc/bench-suite.md,
 * issue 16) leaves each class's depot full.  Objects of up to 2 KiB are
 * bounded by the count as before. */
#ifndef MP_DEPOT_BYTES_MAX
#define MP_DEPOT_BYTES_MAX ((size_t)1 << 20)
#endif
/* Thread-slot indices: a cache past this many live ones has no magazines.
 * 16384 cost 256 KiB of static tables; a backend for a small machine sets
 * fewer in its backend-inline.h. */
#ifndef MP_TSLOT_MAX
#define MP_TSLOT_MAX 16384
#endif
#define MP_TSLOT_NONE UINT32_MAX
/* mp_tslot_claim: a shared fixed slot if one is free, else any. */
#define MP_TSLOT_SHARED (UINT32_MAX - 1)
/* The fixed slots: indices every thread table has from its start, and
 * the empty table too (zeroed: an empty stack, no room), so that a fast
 * path that uses one needs no bound test.  Three ranges:
 *
 *   0 .. MP_TSLOT_NULL - 1     claimed by index by a layer above
 *                              (mp_cache_new_unlisted: the default pool's
 *                              classes of 4 KiB and less, pool-fast.h),
 *                              never retired;
 *   MP_TSLOT_NULL              never set up: where a cache without a fixed
 *                              slot points (fixed_offset), so that such a
 *                              fast path finds an empty stack and takes
 *                              the way of any cache;
 *   MP_TSLOT_NULL + 1 ..       the shared ones: the first that a cache
 *   MP_TSLOT_FIXED - 1         claimed with MP_TSLOT_SHARED takes (a
 *                              named pool's classes up to 16 KiB, and the
 *                              default pool's from 4 to 16 KiB), retired
 *                              and reused like the indices past them, so
 *                              that those have fast paths with no bound
 *                              test as malloc's have (pool.c).  Object
 *                              caches, whose fast paths test the bound
 *                              anyway, take the others: a program with
 *                              many of them leaves the shared ones to its
 *                              pools.
 *
 * 127 slots and a table's header fill two pages: the smallest table. */
#define MP_TSLOT_NULL 49
#ifndef MP_TSLOT_FIXED
#define MP_TSLOT_FIXED 127
#endif
_Static_assert(MP_TSLOT_FIXED > MP_TSLOT_NULL && MP_TSLOT_FIXED <= MP_TSLOT_MAX,
               "the fixed slots lie in every table");

/* A cache's own locks (its slab lock, its depot lock), skipped for a cache
 * only one thread uses. */
#define mp_cache_lock(lock, c)                                             \
    do {                                                                   \
        if (!((c)->flags & MP_CACHE_NOLOCK))                               \
            mp_mutex_lock(lock);                                         \
    } while (0)
#define mp_cache_unlock(lock, c)                                           \
    do {                                                                   \
        if (!((c)->flags & MP_CACHE_NOLOCK))                               \
            mp_mutex_unlock(lock);                                         \
    } while (0)

/* ------------------------------------------------------------------------
 * Slabs
 * ------------------------------------------------------------------------ */

enum {
    MP_SLAB_ON_FULL = MP_PARTIAL_BUCKETS, /* list: full */
    MP_SLAB_ON_EMPTY,                     /* list: empty */
};

/* mp_slab_t.purge: how a released slab's pages go back to the page
 * level: as they are, purged, or for reuse under the page level's bound
 * (page.h, mp_pages_free_reuse). */
enum {
    MP_SLAB_FREE_PLAIN,
    MP_SLAB_FREE_PURGE,
    MP_SLAB_FREE_REUSE,
};

typedef struct mp_slab {
    struct mpool_cache *cache; /* owner */
    struct mp_slab *next;      /* on the cache's list for .list */
    struct mp_slab *prev;
    uintptr_t run_h;           /* the slab's first page, mp_hide()n */
    uintptr_t objs_h;          /* its first object, run + colour, the same */
    void *free;                /* free constructed objects, linked through
                                  the word at cache->link_offset */
    uint32_t carved;           /* objects constructed: objs[0 .. carved) */
    uint32_t inuse;            /* of those, out of the slab (with the
                                  program or in a magazine) */
    uint8_t list;              /* bucket 0..7, MP_SLAB_ON_FULL or _EMPTY */
    uint8_t purge;             /* how its pages go back when released:
                                  MP_SLAB_FREE_* */
    uint16_t holed;            /* free objects in its holes: on no list,
                                  their pages purged (slab.c, "Holes") */
    uint32_t colour;           /* objs - run */
} mp_slab_t;

/* ------------------------------------------------------------------------
 * Magazines and thread caches
 * ------------------------------------------------------------------------ */

typedef struct mp_magazine {
    struct mp_magazine *next;
    size_t rounds;                       /* objects held */
    void *round[MP_MAGAZINE_ROUNDS_MAX]; /* the cache uses mag_rounds */
} mp_magazine_t;

/* One thread's stack of free objects for one cache: [base, top) hold
 * objects, at most limit - base of them, its capacity: at most 2 * rounds
 * (a loaded and a previous magazine, in Bonwick's terms, as one array),
 * fewer while the thread has not shown it needs them (magazine.c,
 * "Capacity").  base[-1] is always NULL, so the free path may compare
 * top[-1] with the object without testing for an empty stack.  64 bytes,
 * so a slot is one shift from the table. */
typedef struct mp_tslot {
    void **top;
    void **base;
    void **limit;     /* base + capacity; NULL: no stack */
    uint64_t allocs;  /* served here, not yet added to the cache's count */
    uint64_t frees;
    uint32_t gen;     /* the index's generation when the slot was set up */
    uint32_t next_used; /* the next slot on the table's used list, as
                           index + 1; 0: the last */
    uint16_t spilled; /* objects spilled to the depot since the last
                         refill (magazine.c, "Capacity") */
    uint8_t refilled; /* refilled from outside since the last spill */
    uint8_t listed;   /* on the table's used list (for good) */
    uint32_t room;    /* the objects the stack has room for: its size
                         (magazine.c, "Sizes"), limit - base at most */
    uint8_t filled;   /* the stack has been full since it was set up or
                         last drained: the thread frees too (magazine.c,
                         "Capacity") */
    uint8_t pad[7];
} mp_tslot_t;

typedef struct mp_tcache {
    _Atomic uint32_t slots_end; /* byte offset past the last slot: a slot at
                                   offset o exists when o < slots_end; 0
                                   in the empty and the stopped table */
    uint32_t capacity;          /* slots[] entries in use, cleared: the
                                   highest index set up + 1, at least
                                   MP_TSLOT_FIXED; 0 in the empty table */
    uint32_t seen_epoch;        /* tslot_epoch when last tidied */
    uint32_t drain_seen;        /* drain_epoch when last flushed */
    struct mp_tcache *next;     /* every thread's table, for reclaim */
    struct mp_tcache *prev;
    mp_tcell_t *cell;           /* the owner's cell (backend.h), where a
                                   drainer swaps the table out */
    uint32_t used;              /* the slots this thread has set up, a list
                                   through next_used: first index + 1, 0
                                   when none (what exit and drains visit) */
    uint32_t room;              /* slots[] entries the table's pages hold;
                                   those past capacity are not cleared */
    uint64_t pad[2];
    mp_tslot_t slots[];         /* the fixed ones first, in every table */
} mp_tcache_t;

/* The table of a thread that has none yet (or has exited, or whose
 * backend cannot cache for it), and the one a drainer puts in a cell while
 * it works on the owner's table (magazine.c): no slots but the fixed ones,
 * zeroed, so every call goes to the slow path. */
extern MP_HIDDEN mp_tcache_t mp_tcache_stopped;

_Static_assert(sizeof(mp_tslot_t) == 64, "a thread slot is 64 bytes");
_Static_assert(sizeof(mp_slab_t) == 64, "a slab descriptor is 64 bytes");
_Static_assert(sizeof(mp_tcache_t) == 64, "a thread table's header is 64");

/* ------------------------------------------------------------------------
 * Caches
 * ------------------------------------------------------------------------ */

struct mpool_cache {
    /* Read by the fast paths. */
    uint32_t fast_offset;     /* byte offset of the cache's slot in a thread
                                 table, or MP_TSLOT_NONE when every call
                                 must take the slow path */
    uint32_t flags;           /* MPOOL_CACHE_* */
    uint32_t fixed_offset;    /* the same when the slot is a fixed one
                                 (fast_offset: a fixed slot's fast path
                                 needs no bound test); MP_TSLOT_NULL's
                                 offset otherwise */
    uintptr_t magic;          /* MP_CACHE_MAGIC; MP_CACHE_DEAD after destroy */

    /* Fixed at creation. */
    size_t size;              /* as requested */
    size_t align;             /* of every object */
    size_t stride;            /* object + link word (ctor caches) + red zone */
    size_t link_offset;       /* where a free object holds its list link */
    size_t state_offset;      /* checking mode: the object's state word,
                                 after its red zone */
    size_t slab_pages;
    size_t objs_per_slab;
    size_t colour_step;       /* a cache line, or the alignment if larger */
    size_t colour_max;        /* the largest colour that fits the spare tail */
    bool desc_on_slab;        /* descriptor at the end of the slab */
    uint32_t tslot;           /* thread-slot index, or MP_TSLOT_NONE */
    uint32_t tslot_gen;       /* its generation */
    uint32_t tslot_claim;     /* what its index was claimed as
                                 (mp_tslot_claim): MP_TSLOT_SHARED or
                                 MP_TSLOT_NONE, for a reset that claims
                                 again; a fixed index */
    uint32_t mag_rounds;      /* rounds per magazine */
    mpool_ctor_fn *ctor;
    mpool_dtor_fn *dtor;
    void *arg;
    mpool_reclaim_fn *reclaim; /* called with no lock held */
    unsigned reclaim_busy;    /* under registry_lock: reclaim passes on
                                 it now (destroy waits for 0) */
    void *owner;              /* what the layer above made this cache for
                                 (a pool's size class), or NULL; opaque */
    const struct mp_cache_owner_ops *owner_ops; /* its hooks, or NULL */

    mp_mutex_t lock;           /* the slabs: everything down to depot_lock */
    mp_slab_t *partial[MP_PARTIAL_BUCKETS];
    unsigned partial_mask;    /* bit b: partial[b] is not empty */
    mp_slab_t *full;
    mp_slab_t *empty;
    size_t nslabs[MP_SLAB_ON_EMPTY + 1]; /* by list */
    size_t colour_next;
    size_t objs_out;          /* out of slabs: in use or in magazines */
    size_t objs_carved;       /* carved, in all slabs (raw ones too) */
    size_t objs_holed;        /* of those, in slabs' holes */
    void *raw;                /* carved objects never constructed (their
                                 constructor failed), linked like free
                                 ones; carved again first (slab.c) */
    size_t nraw;

    mp_mutex_t depot_lock;     /* the depot */
    mp_magazine_t *depot_full;
    size_t depot_nfull;
    size_t depot_rounds;      /* objects in depot_full's magazines */
    mp_magazine_t *depot_empty;
    size_t depot_nempty;

    _Atomic uint64_t allocs_hit;  /* served by a slot, published by its
                                     thread at its next slow path */
    _Atomic uint64_t frees_hit;
    _Atomic uint64_t allocs_miss; /* that went to the depot or the slabs */
    _Atomic uint64_t frees_miss;

    void **quarantine;        /* checking mode: freed objects waiting */
    uint32_t q_head;          /* oldest */
    uint32_t q_count;

    struct mpool_cache *next; /* the registry of live caches */
    struct mpool_cache *prev;
    char name[MPOOL_CACHE_NAME_MAX + 1];
};

/* ------------------------------------------------------------------------
 * slab.c: the slab layer.  Callers hold cache->lock.
 * ------------------------------------------------------------------------ */

/* Work out stride, slab size, descriptor placement and colours. */
MP_HIDDEN int mp_slab_layout(struct mpool_cache *cache);
/* Up to n constructed objects out of the slabs into out[]: the free ones
 * of partly used slabs, then of empty slabs, then of at most one new slab
 * if no empty one served.  Takes and drops the cache's
 * lock, then runs the constructor of the newly carved ones with no lock
 * held.  Returns how many (0 with errno ENOMEM when there is no memory,
 * or the constructor failed). */
MP_HIDDEN size_t mp_slab_alloc(struct mpool_cache *cache, void **out,
                               size_t n);
/* Objects back into their slabs.  Each is checked to belong to a slab of
 * this cache; a stranger is reported and the program stopped. */
MP_HIDDEN void mp_slab_free_locked(struct mpool_cache *cache, void **objs,
                                   size_t n, const char *caller);
/* Give back empty slabs beyond `keep`, destructors first, with the
 * cache's lock dropped meanwhile; returns pages given back. */
MP_HIDDEN size_t mp_slab_release_empty(struct mpool_cache *cache,
                                       size_t keep);
/* Purge the pages of the cache's partly used slabs that hold free
 * objects only ("Holes", slab.c); returns the pages purged.  Takes the
 * cache's lock.  Nothing for a cache whose free objects must keep their
 * contents (a constructor, checking mode). */
MP_HIDDEN size_t mp_slab_purge_holes(struct mpool_cache *cache);
/* The objects of slab s in its holes: bits[i] cleared for each (walk.c).
 * The cache's lock is held. */
MP_HIDDEN void mp_slab_clear_holed(const struct mpool_cache *cache,
                                   const mp_slab_t *s, uint64_t *bits);
/* One object from, or back to, one of the library's own caches (which
 * have no magazines and never call out): takes and drops the lock.  NULL
 * when there is no memory. */
MP_HIDDEN void *mp_internal_alloc(struct mpool_cache *cache);
MP_HIDDEN void mp_internal_free(struct mpool_cache *cache, void *obj,
                                const char *caller);
/* The two halves of that: detach the empty slabs onto *chain under the
 * cache's lock (returns their pages), then, with no lock held, run their
 * destructors and give their pages back. */
MP_HIDDEN size_t mp_slab_detach_empty(struct mpool_cache *cache,
                                      mp_slab_t **chain);
MP_HIDDEN void mp_slab_finish_chain(mp_slab_t *chain);
/* Give back every slab, whatever is in it (destroy). */
MP_HIDDEN void mp_slab_release_all(struct mpool_cache *cache);
/* Every object free again, whatever was out, and the quarantine emptied:
 * each slab goes to the empty list, or back past the owner's retention
 * cap (reset.c).  Takes the cache's lock.  For caches with no constructor
 * or destructor (a pool's classes); the magazines and the depot must hold
 * none of the cache's objects. */
MP_HIDDEN void mp_slab_reset_all(struct mpool_cache *cache);
/* The byte offset of slot `index` in a thread table. */
static inline uint32_t
mp_tslot_offset(uint32_t index)
{
    return (uint32_t)(sizeof(mp_tcache_t) + (size_t)index * sizeof(mp_tslot_t));
}

/* The slab holding obj, if it is a slab of any cache; NULL otherwise. */
MP_HIDDEN mp_slab_t *mp_slab_of(const void *obj);

/* ------------------------------------------------------------------------
 * magazine.c: thread caches and the depot.
 * ------------------------------------------------------------------------ */

/* A slot index for the cache: `fixed`, one of the fixed slots below
 * MP_TSLOT_NULL that no other cache has, MP_TSLOT_SHARED for a shared
 * fixed one if one is free (else as NONE), or MP_TSLOT_NONE for any free
 * index past the fixed ones.  Sets tslot, tslot_gen, fast_offset and (for
 * a fixed one) fixed_offset; -1 when every index is taken. */
MP_HIDDEN int mp_tslot_claim(struct mpool_cache *cache, uint32_t fixed);
/* Retire the cache's slot index whatever is out. */
MP_HIDDEN void mp_tslot_retire(struct mpool_cache *cache);
/* Retire the cache's slot index if no object is out (EBUSY otherwise),
 * atomically with respect to other threads' flushes. */
MP_HIDDEN int mp_tslot_retire_if_idle(struct mpool_cache *cache);
MP_HIDDEN void *mp_magazine_alloc_slow(struct mpool_cache *cache);
MP_HIDDEN void mp_magazine_free_slow(struct mpool_cache *cache, void *obj);
/* Report an object freed twice in a row, found on top of the thread's
 * stack (magazine.c); never returns. */
MP_HIDDEN MP_NORETURN void mp_cache_double_free(const struct mpool_cache *c,
                                                const void *obj);
/* Move the calling thread's objects of `cache` (or of every cache, with
 * NULL) to the depot, and publish its counts.  With NULL it also drops
 * its slots of destroyed caches, giving back their stacks. */
MP_HIDDEN void mp_tcache_flush_current(struct mpool_cache *cache);
/* Flush every other thread's magazines into the depots now (see the
 * protocol in magazine.c); where the system cannot, ask them to flush at
 * their next slow path.  Returns true when the flush was done now. */
MP_HIDDEN bool mp_tcache_drain_others(void);
/* Whether any thread's slot holds objects of `cache` now (a snapshot,
 * exact while no thread uses the cache). */
MP_HIDDEN bool mp_tslot_held_elsewhere(struct mpool_cache *cache);
/* Empty the depot of `cache` into its slabs. */
MP_HIDDEN void mp_depot_drain(struct mpool_cache *cache);
/* Objects held in the depot and, as far as can be seen, thread caches. */
MP_HIDDEN size_t mp_magazine_cached(struct mpool_cache *cache);
MP_HIDDEN void mp_tcache_thread_exit(void *tcache);

/* ------------------------------------------------------------------------
 * The fast paths, shared by caches (cache.c) and pools (pool.c).
 * in_op brackets the work on the slot: see magazine.c for why.
 * ------------------------------------------------------------------------ */

MP_HIDDEN void *mp_cache_alloc_slow(struct mpool_cache *cache);
MP_HIDDEN void mp_cache_free_slow(struct mpool_cache *cache, void *obj);

static inline void *mp_cache_alloc_inline_ex(struct mpool_cache *c,
                                            bool count);
static inline void mp_cache_free_inline_ex(struct mpool_cache *c, void *obj,
                                           bool count, bool nonnull);

/* Caches count the calls their magazines serve (for mpool_cache_stats);
 * pools' class caches, whose numbers nobody reads, do not. */
static inline void *
mp_cache_alloc_inline(struct mpool_cache *c)
{
    return mp_cache_alloc_inline_ex(c, true);
}

static inline void
mp_cache_free_inline(struct mpool_cache *c, void *obj)
{
    mp_cache_free_inline_ex(c, obj, true, false);
}

/* The calling thread's table, as it is now: the stopped table while
 * another thread drains it. */
static inline mp_tcache_t *
mp_tcache_mine(void)
{
    return atomic_load_explicit(&mp_backend_tcell()->tcache,
                                memory_order_acquire);
}

/* The owner's bracket around its work on its table (magazine.c has the
 * protocol): the mark, then the table, read after it. */
static inline mp_tcache_t *
mp_tcell_enter(mp_tcell_t *cell)
{
    atomic_store_explicit(&cell->in_op, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    return atomic_load_explicit(&cell->tcache, memory_order_acquire);
}

static inline void
mp_tcell_leave(mp_tcell_t *cell)
{
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store_explicit(&cell->in_op, 0, memory_order_release);
}

/* Pop from and push onto a slot's stack, inside the owner's bracket.
 * pop: false when the stack is empty (or was never set up: a zeroed
 * slot); the object is read after top moves, where gcc then loads it
 * straight into the register it returns it in.  push: false when the
 * stack is full, not set up, or obj is on its top already (freed twice in
 * a row: base[-1] is NULL, so an empty stack needs no test).  top moves
 * by an atomic store, the same instruction as a plain one: another thread
 * may read it as a snapshot (magazine.c, slot_set_top). */
static inline bool
mp_tslot_pop(mp_tslot_t *s, void **out)
{
    void **top = s->top;

    if (MP_UNLIKELY(top == s->base))
        return false;
    __atomic_store_n(&s->top, top - 1, __ATOMIC_RELAXED);
    *out = top[-1];
    return true;
}

static inline bool
mp_tslot_push(mp_tslot_t *s, void *obj)
{
    void **top = s->top;

    if (MP_UNLIKELY(top == s->limit || top[-1] == obj))
        return false;
    *top = obj;
    __atomic_store_n(&s->top, top + 1, __ATOMIC_RELAXED);
    return true;
}

/* The calling thread's slot at byte offset off, which must be a fixed
 * slot's (MP_TSLOT_FIXED): no test of the table's bound.  On false the
 * caller goes the way of any cache, which sorts out the reason. */
static inline bool
mp_tslot_pop_fixed(uint32_t off, void **out)
{
    mp_tcell_t *cell = mp_backend_tcell();
    bool popped = mp_tslot_pop(
        (mp_tslot_t *)((char *)mp_tcell_enter(cell) + off), out);

    mp_tcell_leave(cell);
    return popped;
}

/* A fixed slot named by its distance in bytes from the null slot, the
 * word a slab's pages carry for free's fast path (mp_pages_set_owners):
 * 0, the word of every page no such slab holds, is the null slot, whose
 * push always fails.  The null slot's offset, a constant, folds into the
 * addressing, so the word costs one load where the cache's fixed_offset
 * cost the cache's address and then its field. */
#define MP_TSLOT_NULL_OFFSET                                               \
    (sizeof(mp_tcache_t) + (size_t)MP_TSLOT_NULL * sizeof(mp_tslot_t))
_Static_assert(MP_TSLOT_NULL_OFFSET <= INT16_MAX &&
                   (MP_TSLOT_FIXED - MP_TSLOT_NULL) * sizeof(mp_tslot_t) <=
                       INT16_MAX,
               "every fixed slot's distance from the null slot fits int16_t");

static inline int16_t
mp_tslot_fast_word(const struct mpool_cache *c)
{
    return (int16_t)((int32_t)c->fixed_offset - (int32_t)MP_TSLOT_NULL_OFFSET);
}

static inline bool
mp_tslot_push_fixed(int16_t word, void *obj)
{
    mp_tcell_t *cell = mp_backend_tcell();
    bool pushed = mp_tslot_push(
        (mp_tslot_t *)((char *)mp_tcell_enter(cell) + MP_TSLOT_NULL_OFFSET +
                       word),
        obj);

    mp_tcell_leave(cell);
    return pushed;
}

/* The pop of a fixed slot named as a page's word is: by its distance in
 * bytes from the null slot, as a layer above keeps it for a class
 * (pool.c's direct tables of sizes).  0, the word of no fixed slot, is
 * the null slot, whose pop always fails, so a table of words that reads
 * zero (fresh, or purged) sends every call the way of any cache. */
static inline bool
mp_tslot_pop_word(const _Atomic int16_t *word, void **out)
{
    mp_tcell_t *cell = mp_backend_tcell();
    char *slot = (char *)mp_tcell_enter(cell) +
                 atomic_load_explicit(word, memory_order_relaxed);
    bool popped;

    /* the table plus the word, then the constant in the loads' addresses:
     * gcc then keeps the slot in the register the object comes back in,
     * where a lea of all three cost a move more */
    __asm__("" : "+r"(slot));
    popped = mp_tslot_pop((mp_tslot_t *)(slot + MP_TSLOT_NULL_OFFSET), out);

    mp_tcell_leave(cell);
    return popped;
}

static inline void *
mp_cache_alloc_inline_ex(struct mpool_cache *c, bool count)
{
    mp_tcell_t *cell = mp_backend_tcell();
    uint32_t off = c->fast_offset;
    mp_tcache_t *tc = mp_tcell_enter(cell);
    void *obj;

    if (MP_LIKELY(off < atomic_load_explicit(&tc->slots_end,
                                             memory_order_relaxed))) {
        mp_tslot_t *s = (mp_tslot_t *)((char *)tc + off);
        if (MP_LIKELY(mp_tslot_pop(s, &obj))) {
            if (count)
                s->allocs++;
            mp_tcell_leave(cell);
            return obj;
        }
    }
    mp_tcell_leave(cell);
    /* a call, not a jump: the public function that got here stays on
     * the stack, where valgrind's allocation stacks show it */
    obj = mp_cache_alloc_slow(c);
    __asm__("" : "+r"(obj));
    return obj;
}

static inline void
mp_cache_free_inline_ex(struct mpool_cache *c, void *obj, bool count,
                        bool nonnull)
{
    mp_tcell_t *cell = mp_backend_tcell();
    uint32_t off = c->fast_offset;
    mp_tcache_t *tc = mp_tcell_enter(cell);

    if (MP_LIKELY(off < atomic_load_explicit(&tc->slots_end,
                                             memory_order_relaxed) &&
                  (nonnull || obj != NULL))) {
        mp_tslot_t *s = (mp_tslot_t *)((char *)tc + off);
        /* false for a block freed twice in a row too: the slow path
         * reports it */
        if (MP_LIKELY(mp_tslot_push(s, obj))) {
            if (count)
                s->frees++;
            mp_tcell_leave(cell);
            return;
        }
    }
    mp_tcell_leave(cell);
    mp_cache_free_slow(c, obj);
    __asm__("" ::: "memory"); /* a call, not a jump (above) */
}

/* ------------------------------------------------------------------------
 * cache.c
 * ------------------------------------------------------------------------ */

/* What a cache made for a layer above (a pool's size class) tells it: the
 * layer installs these hooks with the cache (mp_cache_new_unlisted); the
 * cache layer calls them under the cache's lock and knows nothing else of
 * its owner. */
/* What the owner says of a slab that became empty: keep it for the
 * class; give it back to the page level at once, its memory purged (past
 * a retention cap the program set: the memory goes back to the system);
 * or give it back unpurged, so that any run may reuse its pages while
 * they still hold memory, under the page level's bound on free committed
 * pages (page.c, mp_arena_free_locked). */
enum mp_empty_verdict {
    MP_EMPTY_KEEP,
    MP_EMPTY_RELEASE_PURGED,
    MP_EMPTY_RELEASE,
};

typedef struct mp_cache_owner_ops {
    /* A slab of `bytes` is made (+) or given back (-); false when the
     * owner's limit forbids it. */
    bool (*charge)(void *owner, ptrdiff_t bytes);
    /* A slab became empty (+bytes) or stopped being empty (-bytes): what
     * to do with it (for -bytes, MP_EMPTY_KEEP).  single: a slab of one
     * block too large for magazines (slab.c, slab_single), which the
     * owner may bound more tightly; the same for a cache's every call. */
    enum mp_empty_verdict (*empty_slab)(void *owner, ptrdiff_t bytes,
                                        bool single);
} mp_cache_owner_ops_t;

/* Internal caches: slab descriptors, magazines, thread tables' stacks.
 * Magazines and stacks come in MP_SIZE_TIERS sizes, by the rounds they
 * hold (magazine.c, "Sizes"); the middle stacks also hold checking mode's
 * quarantine rings (debug.c). */
#define MP_SIZE_TIERS 4
extern MP_HIDDEN struct mpool_cache mp_slab_cache;
extern MP_HIDDEN struct mpool_cache mp_magazine_caches[MP_SIZE_TIERS];
extern MP_HIDDEN struct mpool_cache mp_stack_caches[MP_SIZE_TIERS];
/* The rounds of each size of magazine, and the room of each size of
 * stack (objects, less its sentinel word), smallest first (cache.c). */
extern MP_HIDDEN const uint32_t mp_magazine_tier_rounds[MP_SIZE_TIERS];
extern MP_HIDDEN const uint32_t mp_stack_tier_room[MP_SIZE_TIERS];

/* The internal caches by key, which is their order in the lock table's
 * INTERNAL class: a slab of one takes its descriptor from mp_slab_cache,
 * last.  MP_INTERNAL_CLIENT is the one a layer above may lay out. */
enum {
    MP_INTERNAL_CACHE_STRUCT,
    MP_INTERNAL_MAGAZINE, /* MP_SIZE_TIERS keys, the smallest first */
    MP_INTERNAL_STACK = MP_INTERNAL_MAGAZINE + MP_SIZE_TIERS, /* likewise */
    MP_INTERNAL_CLIENT = MP_INTERNAL_STACK + MP_SIZE_TIERS,
    MP_INTERNAL_SLAB,
    MP_INTERNAL_CACHES
};
/* The library's own caches, by key; NULL where none is laid out. */
extern MP_HIDDEN struct mpool_cache *mp_internal_caches[MP_INTERNAL_CACHES];

MP_HIDDEN void mp_cache_bootstrap(void);
/* Lay out an internal cache of `size`-byte objects at key (a layer above
 * has MP_INTERNAL_CLIENT): no magazines, never calls out. */
MP_HIDDEN void mp_cache_init_internal(struct mpool_cache *cache,
                                      const char *name, size_t size,
                                      unsigned key);
/* A cache outside the registry, for an owner above (a pool's size class);
 * flags as for mpool_cache_create.  Where it has magazines they use the
 * fixed slot `fixed_slot` (below MP_TSLOT_NULL, claimed by no other
 * cache), or any slot with MP_TSLOT_NONE.  NULL with errno set. */
MP_HIDDEN struct mpool_cache *
mp_cache_new_unlisted(const char *name, size_t size, size_t align,
                      unsigned flags, void *owner,
                      const mp_cache_owner_ops_t *owner_ops,
                      uint32_t fixed_slot);
/* Destroy such a cache whatever it holds (the owner is going away).  The
 * caller has drained other threads' magazines first. */
MP_HIDDEN void mp_cache_delete_unlisted(struct mpool_cache *cache);
/* Make every object of such a cache free at once, the cache staying
 * (reset.c).  drained: mp_tcache_drain_others() succeeded since the owner
 * stopped using the cache; otherwise other threads may still hold its
 * objects in their slots, and the cache moves to a new slot index. */
MP_HIDDEN void mp_cache_reset_unlisted(struct mpool_cache *cache,
                                       bool drained);
/* Give back a cache's free objects and empty slabs (reclaim). */
MP_HIDDEN size_t mp_cache_shrink(struct mpool_cache *cache);
/* Give back what every registered and internal cache can: reclaim
 * callbacks (with no lock held), magazines, depots, empty slabs.  The
 * internal caches go last, after `also` (the layer above's own caches,
 * e.g. the pools': may be NULL) has given back what it can. */
MP_HIDDEN size_t mp_caches_reclaim(size_t (*also)(void));
/* Installed by the layer above: what an allocation that ran out of memory
 * calls, with no lock held, before trying once more (NULL: the caches'
 * own reclaim only). */
extern MP_HIDDEN size_t (*mp_cache_oom_reclaim)(void);
/* What a cache's allocation does when it runs out of memory, for the
 * allocations that are not from a cache (a pool's large blocks; the page
 * level's mpool_pages_alloc, through mp_pages_oom): every layer gives back
 * what it can, unless a reclaim callback is the one allocating.  Called
 * with no lock held; the caller then tries once more. */
MP_HIDDEN void mp_cache_oom(void);
/* The registry of live caches, for reports. */
MP_HIDDEN void mp_registry_lock(void);
MP_HIDDEN void mp_registry_unlock(void);
extern MP_HIDDEN struct mpool_cache *mp_registry;
/* fork: the cache layer's locks of class cls (REGISTRY, CACHE, TCACHE,
 * DEPOT, INTERNAL) for the registered and internal caches; one cache's
 * lock of class cls (CACHE or DEPOT), for a layer above's caches. */
MP_HIDDEN void mp_caches_fork(enum mp_lock_class cls,
                              enum mp_fork_phase phase);
MP_HIDDEN void mp_cache_fork(struct mpool_cache *cache,
                             enum mp_lock_class cls,
                             enum mp_fork_phase phase);
/* In the child, after every lock is new: the other threads are gone, so
 * their thread tables are emptied into the depots and given back. */
MP_HIDDEN void mp_tcache_fork_child(void);
/* magazine.c: the thread-table lock, for fork */
MP_HIDDEN void mp_tcache_fork(enum mp_fork_phase phase);

/* stats.c: the statistics of one cache. */
MP_HIDDEN void mp_cache_stats_fill(struct mpool_cache *cache,
                                   mpool_cache_stats_t *stats);

/* slab.c: the next object on a free (or raw) list after obj. */
MP_HIDDEN void *mp_slab_free_next(const struct mpool_cache *cache, void *obj);
/* magazine.c: copy the objects of every thread's slot of `cache` and of
 * its depot into out[0 .. cap); returns how many there are (more than
 * cap: they did not all fit).  Takes the thread-table lock and the depot
 * lock; the caller may hold the cache's lock. */
MP_HIDDEN size_t mp_magazine_collect(struct mpool_cache *cache, void **out,
                                     size_t cap);
/* walk.c: the live objects of a cache (out of its slabs, and in no
 * magazine, depot, quarantine or raw list), in two steps: collect records
 * them in a bitmap per slab under the cache's locks (it takes the cache's
 * lock, the thread-table lock and the depot's, and pages from the page
 * level: the caller may hold a lock of an earlier class), then visit calls
 * fn on each with its usable size, with no lock of its own, and stops at
 * the first non-zero return, which it returns.  No thread may allocate
 * from or free to the cache meanwhile.  collect returns 0, or -1 (errno
 * ENOMEM) when there is no memory for the bitmaps; done gives them back. */
typedef int mp_cache_walk_fn(void *obj, size_t usable, void *arg);
typedef struct mp_walk_slab {
    uintptr_t objs; /* the slab's first object */
} mp_walk_slab_t;
typedef struct mp_cache_walk {
    struct mpool_cache *cache;
    void *pages;           /* the scratch, from the page level */
    size_t npages;
    mp_walk_slab_t *slabs; /* [slab_cap], nslabs recorded */
    uint64_t *bits;        /* [slab_cap * words]: live objects */
    uintptr_t *cached;     /* [cached_cap]: free objects, sorted */
    size_t slab_cap, cached_cap, words, nslabs;
    size_t live, live_bytes; /* checking mode only: the live objects and
                                their usable bytes, read under the lock */
} mp_cache_walk_t;
MP_HIDDEN int mp_cache_walk_collect(struct mpool_cache *cache,
                                    mp_cache_walk_t *walk);
MP_HIDDEN int mp_cache_walk_visit(const mp_cache_walk_t *walk,
                                  mp_cache_walk_fn *fn, void *arg);
MP_HIDDEN void mp_cache_walk_done(mp_cache_walk_t *walk);

/* ------------------------------------------------------------------------
 * debug.c: checking mode.
 * ------------------------------------------------------------------------ */

#define MP_REDZONE 16             /* bytes after each object */
#define MP_QUARANTINE 64          /* freed objects held back from reuse */
#define MP_STATE_FRESH 0x6672657368ull /* carved, never freed */

MP_HIDDEN void *mp_debug_alloc(struct mpool_cache *cache);
MP_HIDDEN void mp_debug_free(struct mpool_cache *cache, void *obj);
/* Make the key free-list links are encoded with (slab.c), once, from an
 * address the loader placed. */
MP_HIDDEN void mp_slab_key_init(const void *entropy);
/* A pool's block in a checking class: the program may use `usable` bytes,
 * the rest of the object is red zone; and the size it may use. */
MP_HIDDEN void mp_debug_trim(struct mpool_cache *cache, void *obj,
                             size_t usable);
MP_HIDDEN size_t mp_debug_usable(const struct mpool_cache *cache,
                                 const void *obj);
/* Release the quarantine into the slabs, checking each object. */
MP_HIDDEN void mp_debug_flush(struct mpool_cache *cache);
/* A carved object of a checking cache made free whatever it was (handed
 * out, quarantined, free), its fill laid, and under valgrind freed to
 * memcheck if it was a block still (mp_slab_reset_all). */
MP_HIDDEN void mp_debug_reset_object(struct mpool_cache *cache, void *obj);
/* Whether a free object of a checking-mode cache was destructed already. */
MP_HIDDEN bool mp_debug_is_free(const struct mpool_cache *cache,
                                const void *obj);

static inline char *
mp_slab_objs(const mp_slab_t *s)
{
    return mp_unhide(s->objs_h);
}

#endif /* MP_CACHE_H */
