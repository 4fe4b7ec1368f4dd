// SPDX-License-Identifier: MIT
/*
 * bench/newdelete.cc - the cost of a C++ new + delete pair, for whatever
 * malloc (and operator new) is loaded: the micro table of bench/suite
 * counts it with callgrind, as it counts malloc + free with
 * bench/cache-bench.c.
 *
 *   newdelete N [SIZE]   N x new of a SIZE-byte object and its delete (64)
 *
 * The delete is the sized one, ::operator delete(void *, size_t), which is
 * what g++ and clang++ emit for `delete p` on a complete type (C++14's
 * sized deallocation); new is ::operator new(size_t), what `new T` calls.
 * The calls are spelled out so that one SIZE from the command line serves
 * every row, and so that the compiler, allowed to elide a new-expression's
 * allocation, cannot.
 *
 * Under libmpool-malloc, which exports the operators (lib/hosted/
 * malloc-new.c), new reaches the library directly; under glibc and a
 * peer that does not export them, new goes through the C++ runtime's
 * operator new, which calls malloc.  Built only when configure finds a
 * C++17 compiler, and linked with neither libmpool nor anything else the
 * preloaded malloc would have to share the process with.
 *
 * The pairs run in bench_loop(), counted by callgrind with
 * --toggle-collect=bench_loop (bench/common.sh's insns); warm-up pairs run
 * first in warm_up(), which callgrind does not collect, so the count is
 * the steady state (as in bench/cache-bench.c).
 */
#include <cstdio>
#include <cstdlib>
#include <new>

static void *volatile sink;

static inline __attribute__((always_inline)) void
run_loop(long n, std::size_t size)
{
    for (long i = 0; i < n; i++) {
        void *p = ::operator new(size);
        sink = p;
        ::operator delete(p, size);
    }
}

// warmed keeps the two from being folded into one (gcc's -fipa-icf)
static volatile int warmed;

extern "C" __attribute__((noinline)) void
warm_up(long n, std::size_t size)
{
    run_loop(n, size);
    warmed = 1;
}

extern "C" __attribute__((noinline)) void
bench_loop(long n, std::size_t size)
{
    run_loop(n, size);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s N [SIZE]\n", argv[0]);
        return 2;
    }
    long n = std::atol(argv[1]);
    std::size_t size = argc > 2 ? (std::size_t)std::atol(argv[2]) : 64;
    warm_up(100, size);
    bench_loop(n, size);
    return 0;
}
