#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# gen-corpus.py - write the seed corpus of the fuzz target (t/fuzz/corpus/),
# each file a small program in the byte code mpool-fuzz.c reads: an opcode
# byte (taken mod 16; for 13, 14 and 15 the top bit picks one of two
# operations) and its argument bytes, in the order the target reads them.
# Run from the top of the source tree: python3 t/fuzz/gen-corpus.py
#
# The files written are listed in FUZZ_CORPUS (t/fuzz/Makefile.inc); a
# reproducer of a bug the fuzzer found is added there by hand, not here.
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def u16(v):
    return list(struct.pack("<H", v & 0xFFFF))


def size(s):
    """next_size() bytes that read back as s."""
    if s <= 256:
        return [0] + u16(s)
    if s <= 16384:
        return [160] + u16(s)
    if s < (1 << 20):
        return [220] + u16(s // 16) + [s % 16]
    return [255] + u16(s - (8 << 20))  # past 8 MiB, the largest class


# pool slots: 0 default, 1-2 mpool_create, 3 region.  A slot used for the
# first time is created with these option bytes (pool_create_slot).
def pool_opts(slot, f=0, limit=None, retain=None, region=None):
    b = [f]
    if f & 2:
        b.append(limit)
    if f & 4:
        b.append(retain)
    if slot == 3:
        off, size16 = region
        b += [off] + u16(size16)
    return b


def alloc(pool, s, seed=0x11, create=()):
    return [0, pool] + list(create) + size(s) + [seed]


def calloc(pool, s, n, seed=0x22, create=()):
    return [2, pool] + list(create) + size(s) + [n - 1, seed]


def aligned(pool, s, shift, seed=0x33, create=()):
    return [3, pool] + list(create) + size(s) + [shift, seed]


def realloc(slot, s, seed=0x44):
    return [4, slot] + size(s) + [seed]


def free(slot):
    return [5, slot]


def cache_alloc(c, seed=0x55, create=()):
    """seed % 4 == 0 makes the object spare: the cache's reclaim callback,
    when one is set, frees it."""
    return [7, c] + list(create) + [seed]


def cache_opts(f, s, align_shift=None):
    """Cache of s bytes: f >> 6 picks the range (64, 512, 8192, 256 KiB)."""
    b = [f] + u16((s - 1) // 4 if f >> 6 == 3 else s - 1)
    if f & 8:
        b.append(align_shift)
    return b


def cache_destroy(c):
    return [9, c]


def pool_toggle(slot, create=()):
    return [10, slot - 1] + list(create)


def pages(n, seed=0x66):
    if n <= 16:
        return [11, n - 1, seed]
    return [11, 200] + u16(n - 1) + [seed]


def reclaim(pool=None):
    return [12, 0 if pool is None else pool * 2 + 1]


def bad_free(slot, extra=0):
    return [13 | 0x80, slot, extra]


def bad_align(pool, which):
    return [13, pool, which]


def fail_ctor(c, n):
    return [14, c, n - 1]


def set_reclaim(c, create=()):
    """Install the cache's reclaim callback, or remove it (a toggle)."""
    return [14 | 0x80, c] + list(create)


CHECK = [15]
REPORT = [15 | 0x80]

corpus = {
    "01-pool-alloc-free": alloc(0, 1) + alloc(0, 8) + alloc(0, 24)
    + alloc(0, 0) + alloc(0, 256) + CHECK + free(1) + free(3) + alloc(0, 9)
    + free(0) + free(2) + free(1) + free(3) + free(4),
    "02-calloc": calloc(0, 100, 4) + calloc(0, 4000, 3) + calloc(0, 16, 1)
    + free(1) + calloc(0, 5000, 7) + CHECK,
    "03-aligned": aligned(0, 1, 6) + aligned(0, 100, 12) + aligned(0, 5000, 16)
    + aligned(0, 64, 21) + aligned(0, 3, 0) + free(2) + aligned(0, 17, 9),
    "04-realloc": alloc(0, 10) + realloc(0, 20) + realloc(0, 2000)
    + realloc(0, 100000) + realloc(0, 50) + realloc(0, 0) + realloc(0, 4096)
    + alloc(0, 300000) + realloc(1, 310000) + realloc(1, 12) + CHECK,
    "05-large": alloc(0, (8 << 20) + 4097) + alloc(0, 600000)
    + realloc(0, 70000) + free(1) + free(0),
    "06-cache-ctor": cache_alloc(0, create=cache_opts(0x01, 40))
    + cache_alloc(0) + cache_alloc(0) + free(1)
    + cache_alloc(1, create=cache_opts(0x41 | 8, 200, 7)) + cache_alloc(1)
    + free(0) + free(1) + free(2) + free(3) + cache_destroy(0)
    + cache_destroy(1) + cache_alloc(0, create=cache_opts(0x81, 3000)),
    "07-cache-zero-nomag": cache_alloc(2, create=cache_opts(0x02, 48))
    + cache_alloc(2) + free(0) + cache_alloc(2)
    + cache_alloc(3, create=cache_opts(0x06 | 0x10, 100)) + cache_alloc(3)
    + free(3) + cache_alloc(3) + CHECK,
    "08-cache-busy-destroy": cache_alloc(0, create=cache_opts(0x00, 64))
    + cache_destroy(0) + cache_alloc(0) + free(0) + cache_destroy(0)
    + free(1) + cache_destroy(0) + cache_alloc(0, create=cache_opts(0xC0, 30001)),
    "09-pool-options": alloc(1, 100, create=pool_opts(1, f=1 | 4, retain=2))
    + alloc(2, 5000, create=pool_opts(2, f=2 | 8, limit=1))
    + alloc(2, 60000) + alloc(2, 60000) + alloc(1, 7) + free(0)
    + pool_toggle(2) + alloc(0, 32) + pool_toggle(1)
    + pool_toggle(1, create=pool_opts(1, f=8)) + alloc(1, 40) + CHECK,
    "10-region": alloc(3, 100, create=pool_opts(3, region=(5, 0x1000)))
    + alloc(3, 2000) + aligned(3, 50, 8) + realloc(1, 10000) + free(0)
    + calloc(3, 300, 3) + CHECK + pool_toggle(3)
    + pool_toggle(3, create=pool_opts(3, region=(0, 0x10))) + alloc(3, 64),
    "11-pages": pages(1) + pages(16) + pages(1500) + free(1) + pages(3)
    + pages(1024) + bad_free(0) + bad_free(3, 2) + CHECK,
    "12-reclaim": alloc(0, 100) + cache_alloc(0, create=cache_opts(0x01, 80))
    + free(1) + free(0) + reclaim() + alloc(1, 300, create=pool_opts(1))
    + free(0) + reclaim(1) + alloc(0, 20) + reclaim(0) + reclaim(),
    "13-errors": bad_align(0, 0) + bad_align(0, 2) + bad_align(0, 4)
    + bad_align(0, 5) + bad_free(0) + pages(2) + bad_free(0, 1),
    "14-ctor-failure": cache_alloc(0, create=cache_opts(0x41, 500))
    + fail_ctor(0, 2) + cache_alloc(0) + cache_alloc(0) + cache_alloc(0)
    + fail_ctor(0, 4) + cache_alloc(0) + free(0) + cache_destroy(0),
    # spare objects (seed % 4 == 0) of caches with a callback are freed by
    # mpool_reclaim(NULL), and by an allocation whose constructor fails: it
    # then gets the object the callback freed
    "15-reclaim-callback": set_reclaim(1, create=cache_opts(0x45, 200))
    + cache_alloc(1, seed=0x40) + cache_alloc(1, seed=0x41)
    + fail_ctor(1, 1) + cache_alloc(1, seed=0x42)
    + set_reclaim(2, create=cache_opts(0x86, 3000))
    + cache_alloc(2, seed=0x48) + cache_alloc(2, seed=0x49) + cache_alloc(2)
    + reclaim() + CHECK + set_reclaim(1) + cache_alloc(1, seed=0x50)
    + reclaim() + REPORT,
    # large objects without magazines (two to a slab), freed and reclaimed
    # around each other, then the stats after each step
    "16-large-nomag": cache_alloc(3, seed=0x21,
                                  create=cache_opts(0xC4, 194189))
    + cache_alloc(3, seed=0x22) + cache_alloc(3, seed=0x23) + free(1)
    + reclaim() + cache_alloc(3, seed=0x24) + free(0) + reclaim()
    + alloc(0, 600000) + free(2) + reclaim(0) + CHECK + cache_alloc(3)
    + pages(100) + reclaim() + REPORT,
    # pools' reclaim, twice, with a retention cap and a limit
    "17-pool-reclaim": alloc(1, 5000, create=pool_opts(1, f=4, retain=1))
    + alloc(1, 5000) + alloc(1, 70000) + free(0) + free(1) + reclaim(1)
    + alloc(2, 300, create=pool_opts(2, f=2, limit=2)) + alloc(2, 100000)
    + free(3) + reclaim(2) + reclaim(0) + reclaim() + REPORT,
}

os.makedirs(OUT, exist_ok=True)
for name, prog in corpus.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes(b & 0xFF for b in prog))
