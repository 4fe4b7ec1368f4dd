/* SPDX-License-Identifier: MIT */
/*
 * debug.c - checking mode, for a cache made with MPOOL_CACHE_DEBUG, or for
 * every cache and pool class made while it is on (MPOOL_DEBUG=1 in the
 * environment, mpool_set_debug(1)).  Guard pages: guard.c.
 *
 * Layout of an object in checking mode (slab.c lays it out):
 *
 *   | object (size) | pad | red zone (16 bytes of 0xbb) | state | link |
 *
 * - While an object is handed out, its link word holds the size the
 *   program may use: the cache's object size, or for a pool's block the
 *   size asked for (mp_debug_trim), the rest of the class being red zone
 *   too.  mpool_usable_size() reports that size.
 * - A checking cache has no magazines: every call goes to the slabs under
 *   the cache's lock, so every check happens at the call that breaks it.
 * - The state word says whether the object is handed out (ALLOC ^ addr),
 *   free (FREE ^ addr) or carved and never freed.  A free of anything but
 *   a handed-out object is a double free.
 * - The red zone is filled when the object is handed out and checked when
 *   it is freed: a write past the end is reported then.
 * - A freed object is destructed (its destructor runs at free, and the
 *   constructor again at the next allocation), filled with 0xdeadbeef, and
 *   held in a quarantine of MP_QUARANTINE objects before it can be reused.
 *   The fill is checked when it leaves the quarantine and when it is next
 *   handed out: a write after free is reported then.
 * - Frees are checked against the segment map and the slab of the object:
 *   a pointer into no cache, into another cache (both named), or into the
 *   middle of an object is reported (slab.c).
 *
 * Every report is one line naming the function, what happened, the
 * address and the cache, then abort (error.c).
 */
#include "cache/cache.h"
#include "base/vg.h"

#define STATE_ALLOC 0xa110ca7eda110ca7ull
#define STATE_FREE 0xf7eef7eef7eef7eeull
#define REDZONE_BYTE 0xbb
#define POISON_WORD 0xdeadbeefu

int
mpool_set_debug(int on)
{
    int was = mp_debug_all;

    if (on != 0 && on != 1) {
        mp_set_errno(EINVAL);
        return -1;
    }
    mp_debug_all = on;
    return was;
}

static uint64_t *
state_of(const struct mpool_cache *c, const void *obj)
{
    return (uint64_t *)((char *)obj + c->state_offset);
}

/* The size the program may use of a handed-out object. */
static size_t *
usable_of(const struct mpool_cache *c, const void *obj)
{
    return (size_t *)((char *)obj + c->link_offset);
}

bool
mp_debug_is_free(const struct mpool_cache *c, const void *obj)
{
    return *state_of(c, obj) == (STATE_FREE ^ (uintptr_t)obj);
}

static void poison(const struct mpool_cache *c, void *obj);

void
mp_debug_reset_object(struct mpool_cache *c, void *obj)
{
    uint64_t *state = state_of(c, obj);
    bool block = (c->flags & MP_CACHE_VG) && mp_vg_addressable(obj, 1) == 1;

    if (*state != (STATE_FREE ^ (uintptr_t)obj)) {
        /* handed out (or carved, never handed out): freed now */
        mp_vg_undefined(obj, c->size); /* its tail was closed (pool-vg.h) */
        *state = STATE_FREE ^ (uintptr_t)obj;
        poison(c, obj);
    }
    if (block) /* out, or quarantined: memcheck's block until now */
        mp_vg_block_free(obj);
    if (c->flags & MP_CACHE_VG)
        mp_vg_noaccess(obj, c->size);
}

/* The fill: POISON_WORD in every whole 32-bit word (objects are at least
 * 8-aligned), its first bytes in the tail. */
static void
poison(const struct mpool_cache *c, void *obj)
{
    uint32_t *w = obj;
    uint32_t fill = POISON_WORD;
    size_t words = c->size / 4;

    for (size_t i = 0; i < words; i++)
        w[i] = fill;
    __builtin_memcpy(w + words, &fill, c->size % 4);
}

static bool
poison_intact(const struct mpool_cache *c, const void *obj)
{
    const uint32_t *w = obj;
    uint32_t fill = POISON_WORD;
    size_t words = c->size / 4;

    for (size_t i = 0; i < words; i++)
        if (w[i] != fill)
            return false;
    return __builtin_memcmp(w + words, &fill, c->size % 4) == 0;
}

/* The red zone: from the usable size to the state word. */
static void
redzone_fill(const struct mpool_cache *c, void *obj, size_t usable)
{
    *usable_of(c, obj) = usable;
    __builtin_memset((char *)obj + usable, REDZONE_BYTE,
                     c->state_offset - usable);
}

static bool
redzone_intact(const struct mpool_cache *c, const void *obj, size_t usable)
{
    const unsigned char *p = (const unsigned char *)obj + usable;

    for (size_t i = 0; i < c->state_offset - usable; i++)
        if (p[i] != REDZONE_BYTE)
            return false;
    return true;
}

void
mp_debug_trim(struct mpool_cache *c, void *obj, size_t usable)
{
    if (usable < c->size)
        redzone_fill(c, obj, usable);
}

size_t
mp_debug_usable(const struct mpool_cache *c, const void *obj)
{
    size_t usable = *usable_of(c, obj);

    return usable <= c->size ? usable : c->size;
}

/* Out of quarantine into the slabs, checking that nobody wrote to it. */
static void
quarantine_release_locked(struct mpool_cache *c, void *obj)
{
    if (!poison_intact(c, obj))
        mp_cache_panic("mpool_cache_free", "object modified after it was freed",
                       obj, c->name, NULL);
    mp_slab_free_locked(c, &obj, 1, "mpool_cache_free");
}

static void
quarantine_flush_locked(struct mpool_cache *c)
{
    while (c->q_count > 0) {
        void *obj = c->quarantine[c->q_head];
        c->q_head = (c->q_head + 1) % MP_QUARANTINE;
        c->q_count--;
        quarantine_release_locked(c, obj);
    }
}

void
mp_debug_flush(struct mpool_cache *c)
{
    mp_cache_lock(&c->lock, c);
    if (c->quarantine != NULL)
        quarantine_flush_locked(c);
    mp_cache_unlock(&c->lock, c);
}

/* One object out of the slabs, or out of the quarantine when it holds the
 * only free ones.  The slab layer runs the constructor of a fresh one. */
static char *
debug_take(struct mpool_cache *c)
{
    void *obj;

    if (mp_slab_alloc(c, &obj, 1) == 1)
        return obj;
    mp_cache_lock(&c->lock, c);
    if (c->quarantine == NULL || c->q_count == 0) {
        mp_cache_unlock(&c->lock, c);
        return NULL;
    }
    quarantine_flush_locked(c);
    mp_cache_unlock(&c->lock, c);
    return mp_slab_alloc(c, &obj, 1) == 1 ? obj : NULL;
}

void *
mp_debug_alloc(struct mpool_cache *c)
{
    char *obj = debug_take(c);
    uint64_t *state;

    if (obj == NULL)
        return NULL;
    state = state_of(c, obj);
    if (*state == (STATE_FREE ^ (uintptr_t)obj)) {
        /* reused: it must still carry the fill, then be rebuilt, with no
         * lock held (base/lock.h, calling out) */
        if (!poison_intact(c, obj))
            mp_cache_panic("mpool_cache_alloc",
                           "object modified after it was freed", obj,
                           c->name, NULL);
        if (c->ctor != NULL && c->ctor(obj, c->arg) != 0) {
            poison(c, obj); /* free again, as it was */
            mp_cache_lock(&c->lock, c);
            mp_slab_free_locked(c, (void **)&obj, 1, "mpool_cache_alloc");
            mp_cache_unlock(&c->lock, c);
            mp_set_errno(ENOMEM);
            return NULL;
        }
    } else if (*state != MP_STATE_FRESH) {
        mp_cache_panic("mpool_cache_alloc", "object state word overwritten",
                       obj, c->name, NULL);
    }
    *state = STATE_ALLOC ^ (uintptr_t)obj;
    if (c->flags & MP_CACHE_VG)
        /* the word after the state is the free-list link's, which
         * memcheck was told is inaccessible while the object was free */
        mp_vg_undefined(usable_of(c, obj), sizeof(size_t));
    redzone_fill(c, obj, c->size);
    if ((c->flags & MP_CACHE_VG) && c->ctor == NULL)
        mp_vg_undefined(obj, c->size); /* the fill is not the program's */
    atomic_fetch_add_explicit(&c->allocs_miss, 1, memory_order_relaxed);
    if (c->flags & MPOOL_CACHE_ZERO)
        __builtin_memset(obj, 0, c->size);
    return obj;
}

void
mp_debug_free(struct mpool_cache *c, void *obj)
{
    const char *caller = c->owner != NULL ? "mpool_free" : "mpool_cache_free";
    mp_slab_t *s = mp_slab_of(obj);
    uint64_t *state;
    size_t usable;

    /* Where is it?  Checked before anything in it is read. */
    if (s == NULL)
        mp_cache_panic(caller, "pointer not from any cache", obj, c->name,
                       NULL);
    if (s->cache != c)
        mp_cache_panic(caller, "object freed to the wrong cache", obj,
                       c->name, s->cache->name);
    if ((char *)obj < mp_slab_objs(s) ||
        (size_t)((char *)obj - mp_slab_objs(s)) % c->stride != 0 ||
        (size_t)((char *)obj - mp_slab_objs(s)) / c->stride >= s->carved)
        mp_cache_panic(caller, "pointer is not the start of an object", obj,
                       c->name, NULL);

    mp_cache_lock(&c->lock, c);
    state = state_of(c, obj);
    if (*state == (STATE_FREE ^ (uintptr_t)obj))
        mp_cache_panic(caller, "double free", obj, c->name, NULL);
    if (*state != (STATE_ALLOC ^ (uintptr_t)obj) ||
        *usable_of(c, obj) > c->size)
        mp_cache_panic(caller, "object state word overwritten", obj, c->name,
                       NULL);
    usable = *usable_of(c, obj);
    if (c->flags & MP_CACHE_VG) /* a pool's block: the rest is closed */
        mp_vg_defined((char *)obj + usable, c->size - usable);
    if (!redzone_intact(c, obj, usable))
        mp_cache_panic(caller, "write past the end of an object", obj,
                       c->name, NULL);
    *state = STATE_FREE ^ (uintptr_t)obj; /* a second free now reports */
    if (c->dtor != NULL) {
        /* with no lock held (base/lock.h, calling out); the object is
         * still out of its slab, which therefore stays */
        mp_cache_unlock(&c->lock, c);
        c->dtor(obj, c->arg);
        mp_cache_lock(&c->lock, c);
    }
    poison(c, obj);

    if (c->quarantine == NULL) {
        void *ring;
        /* a stack of the second size: room for 64 objects and more */
        _Static_assert(MP_QUARANTINE <= 64 && 2 * MP_MAGAZINE_ROUNDS_MAX >= 64,
                       "a quarantine ring fits a stack of the second size");
        ring = mp_internal_alloc(&mp_stack_caches[1]);
        c->quarantine = ring;
    }
    if (c->quarantine == NULL) {
        quarantine_release_locked(c, obj); /* no memory: no delay */
    } else {
        if (c->q_count == MP_QUARANTINE) {
            void *oldest = c->quarantine[c->q_head];
            c->q_head = (c->q_head + 1) % MP_QUARANTINE;
            c->q_count--;
            quarantine_release_locked(c, oldest);
        }
        c->quarantine[(c->q_head + c->q_count) % MP_QUARANTINE] = obj;
        c->q_count++;
    }
    mp_cache_unlock(&c->lock, c);
    atomic_fetch_add_explicit(&c->frees_miss, 1, memory_order_relaxed);
}
