/* SPDX-License-Identifier: MIT */
/*
 * t/k210/config.h - the configuration of the test image's copy of the
 * library, found before the build directory's config.h (which describes
 * the host: valgrind, for one, does not run on bare metal).  What
 * `./configure --with-backend=k210 --host=riscv64-unknown-elf` would say.
 */
#ifndef RV_CONFIG_H
#define RV_CONFIG_H

#define MPOOL_BACKEND_NAME "k210"
#define MPOOL_VALGRIND 0

#endif /* RV_CONFIG_H */
