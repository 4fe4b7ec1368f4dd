/* SPDX-License-Identifier: MIT */
/*
 * base/lock.h - the library's locks and THE lock order.
 *
 * Every lock of the core is an mp_mutex_t of one class below.  A thread
 * that holds locks takes another only of a later class (a higher rank),
 * or of the same class where that class's nesting rule allows it.  This
 * table is the only statement of the order: doc/design.md and the files'
 * comments point here.  fork() takes every lock (lib/hosted/fork.c) by
 * walking it in rank order.
 *
 * Nesting rules for several locks of one class held at once:
 *   NEVER    at most one at a time;
 *   KEYED    in increasing key order (the lock's key is set at init);
 *   GUARDED  in any order, but only while holding the class's guard lock:
 *            the one walker that takes them all (fork) holds it, and no
 *            other path takes two.
 *
 * Calling out.  Constructors, destructors and reclaim callbacks run with no
 * library lock held (cache/slab.c, cache/cache.c), so they may allocate
 * from and free to any cache or pool: the program's code never appears
 * between two library locks, and the order below is the whole order.
 *
 * The backend's own lock is not an mp_mutex_t: the backend takes it inside
 * its calls, which never call back into the core, so it is a leaf by
 * construction; fork takes it last (mp_backend_fork_lock).
 *
 * Checking builds (MP_CHECKING) record the locks each thread holds and
 * stop the program at the first lock taken out of order, with one line
 * naming both locks and their ranks (base/lockcheck.c).
 */
#ifndef MP_BASE_LOCK_H
#define MP_BASE_LOCK_H

/*  class       rule     guard      what it protects                         */
#define MP_LOCK_CLASSES(X)                                                 \
    X(REGISTRY, NEVER,   REGISTRY, "the registry of caches; create, destroy") \
    X(POOLS,    NEVER,   POOLS,    "the list of pools")                    \
    X(POOL,     GUARDED, POOLS,    "a pool's classes and large blocks")    \
    X(REGION,   GUARDED, POOLS,    "a region pool's TLSF heap")            \
    X(CACHE,    GUARDED, REGISTRY, "a cache's slabs")                      \
    X(TCACHE,   NEVER,   TCACHE,   "thread tables, slot indices, drains")  \
    X(DEPOT,    GUARDED, REGISTRY, "a cache's depot of full magazines")    \
    X(INTERNAL, KEYED,   INTERNAL, "an internal cache's slabs, by key")    \
    X(ARENA,    KEYED,   ARENA,    "an arena's page heap, by index")

enum mp_lock_class {
#define MP_LOCK_ENUM(name, rule, guard, what) MP_LOCK_##name,
    MP_LOCK_CLASSES(MP_LOCK_ENUM)
#undef MP_LOCK_ENUM
    MP_LOCK_NCLASSES
};

enum mp_lock_rule { MP_NEST_NEVER, MP_NEST_KEYED, MP_NEST_GUARDED };

typedef struct mp_mutex {
    mp_lock_t raw;
#if MP_CHECKING
    uint16_t cls; /* enum mp_lock_class */
    uint16_t key; /* order within a KEYED class */
#endif
} mp_mutex_t;

#if MP_CHECKING
#define MP_MUTEX_INIT(cls) {MP_LOCK_INITIALIZER, MP_LOCK_##cls, 0}
#else
#define MP_MUTEX_INIT(cls) {MP_LOCK_INITIALIZER}
#endif

#if MP_CHECKING
/* base/lockcheck.c */
MP_HIDDEN void mp_lockcheck_acquire(const mp_mutex_t *m);
MP_HIDDEN void mp_lockcheck_release(const mp_mutex_t *m);
/* fork's prepare takes every lock: from begin to end the thread's record
 * checks only that the walk goes up the table. */
MP_HIDDEN void mp_lockcheck_walk_begin(void);
MP_HIDDEN void mp_lockcheck_walk_end(void);
/* Locks the calling thread holds (tests). */
MP_HIDDEN unsigned mp_lockcheck_held(void);
#else
#define mp_lockcheck_walk_begin() ((void)0)
#define mp_lockcheck_walk_end() ((void)0)
#endif

static inline void
mp_mutex_init(mp_mutex_t *m, enum mp_lock_class cls, unsigned key)
{
    mp_lock_init(&m->raw);
#if MP_CHECKING
    m->cls = (uint16_t)cls;
    m->key = (uint16_t)key;
#else
    (void)cls;
    (void)key;
#endif
}

static inline void
mp_mutex_lock(mp_mutex_t *m)
{
#if MP_CHECKING
    mp_lockcheck_acquire(m);
#endif
    mp_lock_acquire(&m->raw);
}

static inline void
mp_mutex_unlock(mp_mutex_t *m)
{
#if MP_CHECKING
    mp_lockcheck_release(m);
#endif
    mp_lock_release(&m->raw);
}

/* fork(): before it every lock is taken in the order above, after it the
 * parent releases them and the child, whose one thread holds them all,
 * makes them new. */
enum mp_fork_phase { MP_FORK_PREPARE, MP_FORK_PARENT, MP_FORK_CHILD };

static inline void
mp_mutex_fork(mp_mutex_t *m, enum mp_fork_phase phase)
{
    if (phase == MP_FORK_PREPARE) {
        mp_mutex_lock(m);
    } else if (phase == MP_FORK_PARENT) {
        mp_mutex_unlock(m);
    } else {
#if MP_CHECKING
        mp_lockcheck_release(m);
#endif
        mp_lock_init(&m->raw);
    }
}

#endif /* MP_BASE_LOCK_H */
