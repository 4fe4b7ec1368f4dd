/* SPDX-License-Identifier: MIT */
/*
 * base/state.c - the process-wide state every layer reads: how far the
 * one-time initialisation has got (base.h; the work is init.c's), and
 * whether the program runs under valgrind (vg.h; decided at
 * initialisation).
 */
#include "base/base.h"
#include "base/vg.h"

MP_HIDDEN _Atomic int mp_init_state;

#if MPOOL_VALGRIND
MP_HIDDEN bool mp_vg_active;
#endif
