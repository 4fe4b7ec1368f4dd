/* SPDX-License-Identifier: MIT */
/*
 * base/lockcheck.c - the lock-order checker of checking builds.
 *
 * Each thread keeps the locks it holds in a small array.  Taking a lock
 * compares its class with the highest class held (lock.h's table): a
 * later class is fine; the same class only as its nesting rule allows; an
 * earlier one is a lock-order violation, which could deadlock against a
 * thread taking the two the other way round.  The checker does not wait
 * for that deadlock to happen: the first inverted acquisition stops the
 * program with one line naming both locks and their ranks.
 *
 * fork()'s prepare handler takes every lock of the library at once; it
 * announces the walk, and the checker then only verifies that the walk
 * goes up the table, without recording hundreds of locks.
 *
 * The record is per thread (the backend's MP_THREAD_LOCAL) or, on bare
 * metal where there is no thread-local storage, per hart: there
 * mp_backend_cpu_id() names the running hart exactly.
 */
#include "base/base.h"

#if MP_CHECKING

#define HELD_MAX 32

typedef struct lock_record {
    const mp_mutex_t *held[HELD_MAX];
    unsigned count;
    bool walking;                /* fork's walk in progress */
    const mp_mutex_t *walk_last; /* the last lock the walk took */
} lock_record_t;

#ifdef MP_THREAD_LOCAL
static MP_THREAD_LOCAL lock_record_t thread_record;

static lock_record_t *
record(void)
{
    return &thread_record;
}
#else
static lock_record_t cpu_record[MP_ARENAS_MAX];

static lock_record_t *
record(void)
{
    return &cpu_record[mp_backend_cpu_id() % MP_ARENAS_MAX];
}
#endif

static const struct {
    const char *name;
    enum mp_lock_rule rule;
    enum mp_lock_class guard;
} lock_classes[MP_LOCK_NCLASSES] = {
#define MP_LOCK_ROW(name, rule, guard, what)                               \
    {#name, MP_NEST_##rule, MP_LOCK_##guard},
    MP_LOCK_CLASSES(MP_LOCK_ROW)
#undef MP_LOCK_ROW
};

/* "CLASS (rank r[, key k]) 0x..." */
static size_t
append_lock(char *buf, size_t at, size_t cap, const mp_mutex_t *m)
{
    at = mp_fmt_str(buf, at, cap, lock_classes[m->cls].name);
    at = mp_fmt_str(buf, at, cap, " (rank ");
    at = mp_fmt_uint(buf, at, cap, m->cls + 1u);
    if (lock_classes[m->cls].rule == MP_NEST_KEYED) {
        at = mp_fmt_str(buf, at, cap, ", key ");
        at = mp_fmt_uint(buf, at, cap, m->key);
    }
    at = mp_fmt_str(buf, at, cap, ") ");
    return mp_fmt_hex(buf, at, cap, (uintptr_t)m);
}

/* "libmpool: lock order: taking A (rank a) 0x... while holding B (rank
 * b) 0x..." (held NULL: no second lock to name), then stop. */
static MP_NORETURN void
violation(const char *what, const mp_mutex_t *taking, const mp_mutex_t *held)
{
    char line[256];
    size_t n = 0, cap = sizeof(line) - 1;

    n = mp_fmt_str(line, n, cap, "libmpool: lock order: ");
    n = mp_fmt_str(line, n, cap, what);
    n = mp_fmt_str(line, n, cap, " ");
    n = append_lock(line, n, cap, taking);
    if (held != NULL) {
        n = mp_fmt_str(line, n, cap, " while holding ");
        n = append_lock(line, n, cap, held);
    }
    line[n++] = '\n';
    mp_backend_write_error(line, n);
    mp_backend_abort();
}

static bool
holds_class(const lock_record_t *r, unsigned cls)
{
    for (unsigned i = 0; i < r->count; i++)
        if (r->held[i]->cls == cls)
            return true;
    return false;
}

void
mp_lockcheck_acquire(const mp_mutex_t *m)
{
    lock_record_t *r = record();
    const mp_mutex_t *top = NULL;

    if (r->walking) {
        const mp_mutex_t *last = r->walk_last;

        if (last != NULL &&
            (m->cls < last->cls ||
             (m->cls == last->cls &&
              lock_classes[m->cls].rule == MP_NEST_KEYED &&
              m->key <= last->key)))
            violation("fork's walk takes", m, last);
        r->walk_last = m;
        return;
    }
    for (unsigned i = 0; i < r->count; i++) {
        const mp_mutex_t *h = r->held[i];
        if (h == m)
            violation("taking again", m, h);
        if (top == NULL || h->cls > top->cls ||
            (h->cls == top->cls && h->key > top->key))
            top = h;
    }
    if (top != NULL && m->cls <= top->cls) {
        if (m->cls < top->cls)
            violation("taking", m, top);
        switch (lock_classes[m->cls].rule) {
        case MP_NEST_NEVER:
            violation("taking a second", m, top);
        case MP_NEST_KEYED:
            if (m->key <= top->key)
                violation("taking", m, top);
            break;
        case MP_NEST_GUARDED:
            if (!holds_class(r, lock_classes[m->cls].guard))
                violation("taking a second (without its guard)", m, top);
            break;
        }
    }
    if (r->count == HELD_MAX)
        violation("too many locks held, taking", m, top);
    r->held[r->count++] = m;
}

void
mp_lockcheck_release(const mp_mutex_t *m)
{
    lock_record_t *r = record();

    if (r->walking)
        return;
    for (unsigned i = r->count; i-- > 0;)
        if (r->held[i] == m) {
            r->held[i] = r->held[--r->count];
            return;
        }
    violation("releasing a lock not held:", m, NULL);
}

void
mp_lockcheck_walk_begin(void)
{
    lock_record_t *r = record();

    if (r->count != 0)
        violation("fork's walk begins holding", r->held[0], NULL);
    r->walking = true;
    r->walk_last = NULL;
}

void
mp_lockcheck_walk_end(void)
{
    lock_record_t *r = record();

    r->walking = false;
    r->count = 0;
}

unsigned
mp_lockcheck_held(void)
{
    return record()->count;
}

#endif /* MP_CHECKING */
