/* SPDX-License-Identifier: MIT */
/*
 * malloc-new.c - libmpool-malloc's C++ operator new and delete: the
 * twenty replaceable allocation and deallocation functions of the C++17
 * standard library, eight new and twelve delete (plain, array, nothrow,
 * sized delete, std::align_val_t, and their combinations), so that a C++
 * program's new reaches the default pool directly, not through the C++
 * runtime's wrapper around malloc, and its aligned new through
 * mpool_aligned_alloc.
 *
 * Why C with the Itanium C++ ABI's mangled names, not a C++ file: a C++
 * file would make the library depend on libstdc++ (the typeinfo of
 * std::bad_alloc, __cxa_throw, the personality routine), which every C
 * program that preloads libmpool-malloc would then load, and configure
 * would need a C++ compiler to build the library at all.  Each function
 * here is a C function whose symbol is given by an asm label: _Znwm is
 * operator new(unsigned long), and so on (size_t's code, 'm' here, comes
 * from its type below).  Where the runtime is needed, when memory has run
 * out, it is reached through weak references to two functions libstdc++
 * (and LLVM's libc++) exports, present whenever a C++ program runs:
 *
 *   std::get_new_handler()      the handler std::set_new_handler installed
 *   std::__throw_bad_alloc()    throws std::bad_alloc
 *
 * A failed plain or array new calls the installed new_handler and tries
 * again while there is one, as [new.delete.single] says, and throws
 * std::bad_alloc when there is none; the exception unwinds through this
 * file's frames, which are compiled with -fexceptions for it (unwind
 * tables, no code).  Without a C++ runtime in the process (a C program
 * calling _Znwm by hand) that is a clear message and abort().
 *
 * Where this differs from the C++ library: the nothrow forms return NULL
 * at once, without calling the new_handler.  The standard has them call
 * it and catch what it throws; C cannot catch, and a handler's
 * std::bad_alloc leaving a noexcept function is std::terminate.  An
 * aligned new with an alignment that is not a power of two (undefined
 * behaviour) fails as if memory had run out.
 *
 * News and deletes take the default pool's inlined fast paths
 * (pool/pool-fast.h), as malloc and free do.  Deletes free the block to
 * the default pool; the size the sized forms
 * are given is not needed (the page of the block knows its class), and an
 * aligned block is freed like any other.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "mpool.h"
#include "pool/pool-fast.h"

#define DEFAULT_POOL (&mp_default_pool)

#define EXPORT __attribute__((visibility("default")))

/* size_t's letter in a mangled name (Itanium C++ ABI, "builtin-type"). */
#if SIZE_MAX == 0xffffffffu && UINT_MAX == 0xffffffffu
#define SZ "j" /* unsigned int */
#elif SIZE_MAX == ULONG_MAX
#define SZ "m" /* unsigned long */
#else
#define SZ "y" /* unsigned long long */
#endif
#define NOTHROW "RKSt9nothrow_t" /* const std::nothrow_t & */
#define ALIGN "St11align_val_t"  /* std::align_val_t, passed as a size_t */

/* The C++ runtime's, when one is loaded (weak: NULL otherwise). */
typedef void new_handler_fn(void);
extern new_handler_fn *cxx_get_new_handler(void)
    __asm__("_ZSt15get_new_handlerv") __attribute__((weak));
extern void cxx_throw_bad_alloc(void) __asm__("_ZSt17__throw_bad_allocv")
    __attribute__((weak, noreturn));

static MP_NORETURN void
new_failed_without_runtime(void)
{
    static const char msg[] =
        "libmpool-malloc: operator new: out of memory, and no C++ runtime "
        "in the process to throw std::bad_alloc\n";
    ssize_t rc = write(2, msg, sizeof(msg) - 1);

    (void)rc;
    abort();
}

/* The plain forms' loop: the new_handler until it gives memory or throws,
 * then std::bad_alloc. */
static MP_NOINLINE void *
new_slow(size_t alignment, size_t size)
{
    for (;;) {
        void *p = alignment == 0
                      ? mpool_alloc(DEFAULT_POOL, size)
                      : mpool_aligned_alloc(DEFAULT_POOL, alignment, size);
        new_handler_fn *handler;

        if (p != NULL)
            return p;
        if (alignment != 0 && (alignment & (alignment - 1)) != 0)
            handler = NULL; /* no memory would make it right */
        else
            handler = cxx_get_new_handler != NULL ? cxx_get_new_handler()
                                                  : NULL;
        if (handler == NULL) {
            if (cxx_throw_bad_alloc == NULL)
                new_failed_without_runtime();
            cxx_throw_bad_alloc();
        }
        handler();
    }
}

static inline void *
new_plain(size_t size)
{
    void *p = mp_pool_default_alloc(size);

    return MP_LIKELY(p != NULL) ? p : new_slow(0, size);
}

static inline void *
new_aligned(size_t size, size_t alignment)
{
    void *p = mpool_aligned_alloc(DEFAULT_POOL, alignment, size);

    return MP_LIKELY(p != NULL) ? p : new_slow(alignment, size);
}

/* The declarations carry the symbols; the definitions follow. */
EXPORT void *cxx_new(size_t) __asm__("_Znw" SZ);
EXPORT void *cxx_new_array(size_t) __asm__("_Zna" SZ);
EXPORT void *cxx_new_nothrow(size_t, const void *) __asm__("_Znw" SZ NOTHROW);
EXPORT void *cxx_new_array_nothrow(size_t, const void *)
    __asm__("_Zna" SZ NOTHROW);
EXPORT void *cxx_new_aligned(size_t, size_t) __asm__("_Znw" SZ ALIGN);
EXPORT void *cxx_new_array_aligned(size_t, size_t) __asm__("_Zna" SZ ALIGN);
EXPORT void *cxx_new_aligned_nothrow(size_t, size_t, const void *)
    __asm__("_Znw" SZ ALIGN NOTHROW);
EXPORT void *cxx_new_array_aligned_nothrow(size_t, size_t, const void *)
    __asm__("_Zna" SZ ALIGN NOTHROW);
EXPORT void cxx_delete(void *) __asm__("_ZdlPv");
EXPORT void cxx_delete_array(void *) __asm__("_ZdaPv");
EXPORT void cxx_delete_sized(void *, size_t) __asm__("_ZdlPv" SZ);
EXPORT void cxx_delete_array_sized(void *, size_t) __asm__("_ZdaPv" SZ);
EXPORT void cxx_delete_nothrow(void *, const void *)
    __asm__("_ZdlPv" NOTHROW);
EXPORT void cxx_delete_array_nothrow(void *, const void *)
    __asm__("_ZdaPv" NOTHROW);
EXPORT void cxx_delete_aligned(void *, size_t) __asm__("_ZdlPv" ALIGN);
EXPORT void cxx_delete_array_aligned(void *, size_t) __asm__("_ZdaPv" ALIGN);
EXPORT void cxx_delete_sized_aligned(void *, size_t, size_t)
    __asm__("_ZdlPv" SZ ALIGN);
EXPORT void cxx_delete_array_sized_aligned(void *, size_t, size_t)
    __asm__("_ZdaPv" SZ ALIGN);
EXPORT void cxx_delete_aligned_nothrow(void *, size_t, const void *)
    __asm__("_ZdlPv" ALIGN NOTHROW);
EXPORT void cxx_delete_array_aligned_nothrow(void *, size_t, const void *)
    __asm__("_ZdaPv" ALIGN NOTHROW);

void *
cxx_new(size_t size)
{
    return new_plain(size);
}

void *
cxx_new_array(size_t size)
{
    return new_plain(size);
}

void *
cxx_new_nothrow(size_t size, const void *nothrow)
{
    (void)nothrow;
    return mpool_alloc(DEFAULT_POOL, size);
}

void *
cxx_new_array_nothrow(size_t size, const void *nothrow)
{
    (void)nothrow;
    return mpool_alloc(DEFAULT_POOL, size);
}

void *
cxx_new_aligned(size_t size, size_t alignment)
{
    return new_aligned(size, alignment);
}

void *
cxx_new_array_aligned(size_t size, size_t alignment)
{
    return new_aligned(size, alignment);
}

void *
cxx_new_aligned_nothrow(size_t size, size_t alignment, const void *nothrow)
{
    (void)nothrow;
    return mpool_aligned_alloc(DEFAULT_POOL, alignment, size);
}

void *
cxx_new_array_aligned_nothrow(size_t size, size_t alignment,
                              const void *nothrow)
{
    (void)nothrow;
    return mpool_aligned_alloc(DEFAULT_POOL, alignment, size);
}

void
cxx_delete(void *ptr)
{
    mp_pool_default_free(ptr);
}

void
cxx_delete_array(void *ptr)
{
    mp_pool_default_free(ptr);
}

void
cxx_delete_sized(void *ptr, size_t size)
{
    (void)size;
    mp_pool_default_free(ptr);
}

void
cxx_delete_array_sized(void *ptr, size_t size)
{
    (void)size;
    mp_pool_default_free(ptr);
}

void
cxx_delete_nothrow(void *ptr, const void *nothrow)
{
    (void)nothrow;
    mp_pool_default_free(ptr);
}

void
cxx_delete_array_nothrow(void *ptr, const void *nothrow)
{
    (void)nothrow;
    mp_pool_default_free(ptr);
}

void
cxx_delete_aligned(void *ptr, size_t alignment)
{
    (void)alignment;
    mp_pool_default_free(ptr);
}

void
cxx_delete_array_aligned(void *ptr, size_t alignment)
{
    (void)alignment;
    mp_pool_default_free(ptr);
}

void
cxx_delete_sized_aligned(void *ptr, size_t size, size_t alignment)
{
    (void)size;
    (void)alignment;
    mp_pool_default_free(ptr);
}

void
cxx_delete_array_sized_aligned(void *ptr, size_t size, size_t alignment)
{
    (void)size;
    (void)alignment;
    mp_pool_default_free(ptr);
}

void
cxx_delete_aligned_nothrow(void *ptr, size_t alignment, const void *nothrow)
{
    (void)alignment;
    (void)nothrow;
    mp_pool_default_free(ptr);
}

void
cxx_delete_array_aligned_nothrow(void *ptr, size_t alignment,
                                 const void *nothrow)
{
    (void)alignment;
    (void)nothrow;
    mp_pool_default_free(ptr);
}
