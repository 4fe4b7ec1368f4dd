/* SPDX-License-Identifier: MIT */
/*
 * sizeclass.h - the size classes of pools, 8 bytes to 8 MiB.
 *
 *   class  0        8 bytes
 *   class  1 ..  8  16, 32, 48, ... 128        (16-byte steps)
 *   class  9 ..     eight classes per doubling above 128:
 *                   2^k + j * 2^(k-3), j = 1..8, for k = 7 .. 22
 *                   (144, 160, ..., 256, 288, ..., 512, ..., 8 MiB)
 *
 * Rules: sizes above 8 are multiples of 16, so every block of 16 bytes or
 * more is 16-byte aligned, as malloc's are; above 128 bytes a class wastes
 * at most 2^(k-3) / (2^k + 2^(k-3)) = 1/9 < 12.5 % of itself; below, the
 * 16-byte step bounds the waste at 15 bytes.  137 classes in all.  To
 * change them, change the three functions below together and run
 * t/pool-t, which walks every boundary.
 */
#ifndef MP_SIZECLASS_H
#define MP_SIZECLASS_H

#include <stddef.h>
#include <stdint.h>

#define MP_CLASS_SMALL_MAX 128
#define MP_CLASS_MAX_SHIFT 23 /* the largest class: 8 MiB */
#define MP_CLASS_LARGEST ((size_t)1 << MP_CLASS_MAX_SHIFT)
#define MP_CLASSES (9 + 8 * (MP_CLASS_MAX_SHIFT - 7))

/* Classes of sizes 0 .. 1024 by (size + 15) / 16, filled by
 * mp_sizeclass_init(); the fast path for small sizes is one load. */
#define MP_CLASS_TABLE_MAX 1024
extern __attribute__((visibility("hidden"))) uint8_t
    mp_class_table[MP_CLASS_TABLE_MAX / 16 + 1];

static inline unsigned
mp_size_class_compute(size_t size)
{
    unsigned k;
    size_t step;

    if (size <= 8)
        return 0;
    if (size <= MP_CLASS_SMALL_MAX)
        return (unsigned)((size + 15) >> 4);
    k = 63u - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    step = (size_t)1 << (k - 3);
    return 9 + (k - 7) * 8 +
           (unsigned)((size - ((size_t)1 << k) + step - 1) >> (k - 3)) - 1;
}

static inline unsigned
mp_size_class(size_t size)
{
    if (size <= MP_CLASS_TABLE_MAX)
        return size <= 8 ? 0u : mp_class_table[(size + 15) >> 4];
    return mp_size_class_compute(size);
}

static inline size_t
mp_class_size(unsigned index)
{
    unsigned k, j;

    if (index == 0)
        return 8;
    if (index <= 8)
        return (size_t)index << 4;
    k = 7 + (index - 9) / 8;
    j = (index - 9) % 8 + 1;
    return ((size_t)1 << k) + ((size_t)j << (k - 3));
}

#endif /* MP_SIZECLASS_H */
