/* SPDX-License-Identifier: MIT */
/*
 * family.c - child pools (mpool_options_t.parent), APR's rule: destroying
 * or resetting a pool first destroys its children, depth first, and a
 * child may be destroyed alone, which takes it out of its parent.
 *
 * Each pool knows its parent and its children, newest first:
 *
 *   parent ->child --> c3 <-> c2 <-> c1      (sibling_next / sibling_prev)
 *                      |      |      |
 *                      +------+------+-----> ->parent
 *
 * Every link, the list of pools (pool.c) and the count of children live
 * under pools_lock, which create and destroy take anyway: a child is
 * listed and linked to its parent in one critical section, and a tree is
 * unlisted and unlinked in one.  So threads creating and destroying
 * children of one parent at once never see a half-linked pool, and no new
 * lock enters the order of base/lock.h.
 *
 * Destroying a tree.  Under pools_lock, a post-order walk of the family
 * links (each pool after its children, children newest first) marks every
 * pool of the tree dying (no child can be linked to it from then on:
 * mpool_create fails with EINVAL), takes it off the list of pools, and
 * chains it through ->doomed.  With the lock dropped, other threads'
 * magazines are drained once for the whole tree, and the pools are given
 * back in the chain's order (mp_pool_release): the walk is O(pools in the
 * tree), the release O(pages they hold).  The default pool may be a parent;
 * as it is never destroyed nor reset, its children live until each is
 * destroyed.
 */
#include "pool/pool.h"

int
mp_family_link(struct mpool *p, struct mpool *parent)
{
    mp_pools_lock();
    /* checked under the lock: a parent being destroyed is dying here, or
     * its magic gone */
    if (parent != NULL &&
        (parent->magic != MP_POOL_MAGIC || parent->dying)) {
        mp_pools_unlock();
        return EINVAL;
    }
    p->parent = parent;
    p->child = NULL;
    p->sibling_prev = NULL;
    p->sibling_next = NULL;
    if (parent != NULL) {
        p->sibling_next = parent->child;
        if (parent->child != NULL)
            parent->child->sibling_prev = p;
        parent->child = p;
        atomic_fetch_add_explicit(&parent->nchildren, 1,
                                  memory_order_relaxed);
    }
    mp_pool_list_locked(p);
    mp_pools_unlock();
    return 0;
}

/* Take p out of its parent's children. */
static void
family_unlink_locked(struct mpool *p)
{
    struct mpool *parent = p->parent;

    if (parent == NULL)
        return;
    if (p->sibling_prev != NULL)
        p->sibling_prev->sibling_next = p->sibling_next;
    else
        parent->child = p->sibling_next;
    if (p->sibling_next != NULL)
        p->sibling_next->sibling_prev = p->sibling_prev;
    p->sibling_next = p->sibling_prev = NULL;
    p->parent = NULL;
    atomic_fetch_sub_explicit(&parent->nchildren, 1, memory_order_relaxed);
}

static struct mpool *
family_deepest_first(struct mpool *p)
{
    while (p->child != NULL)
        p = p->child;
    return p;
}

struct mpool *
mp_family_doom_locked(struct mpool *root, bool self)
{
    struct mpool *head = NULL, **tail = &head;
    struct mpool *q = family_deepest_first(root);

    MP_ASSERT(root->magic == MP_POOL_MAGIC);
    /* post-order: after q come its next sibling's deepest first child, or
     * its parent once its siblings are done */
    while (q != root) {
        struct mpool *next = q->sibling_next != NULL
                                 ? family_deepest_first(q->sibling_next)
                                 : q->parent;
        MP_ASSERT(q->magic == MP_POOL_MAGIC && !q->dying);
        q->dying = true;
        mp_pool_unlist_locked(q);
        *tail = q;
        tail = &q->doomed;
        q = next;
    }
    /* every descendant is on the chain: the family links below root are
     * dropped at once */
    for (struct mpool *d = head; d != NULL; d = d->doomed) {
        d->parent = d->child = d->sibling_next = d->sibling_prev = NULL;
        atomic_store_explicit(&d->nchildren, 0, memory_order_relaxed);
    }
    root->child = NULL;
    atomic_store_explicit(&root->nchildren, 0, memory_order_relaxed);
    if (self) {
        root->dying = true;
        family_unlink_locked(root);
        mp_pool_unlist_locked(root);
        *tail = root;
        tail = &root->doomed;
    }
    *tail = NULL;
    return head;
}

void
mp_family_release(struct mpool *chain)
{
    bool classes = false;

    for (struct mpool *p = chain; p != NULL && !classes; p = p->doomed)
        classes = p->ops == NULL;
    if (classes)
        mp_tcache_drain_others(); /* every thread's magazines, into depots */
    while (chain != NULL) {
        struct mpool *p = chain;
        chain = p->doomed;
        mp_pool_release(p);
    }
}

size_t
mp_pool_children(const struct mpool *p)
{
    return atomic_load_explicit(&p->nchildren, memory_order_relaxed);
}
