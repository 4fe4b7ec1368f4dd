/* SPDX-License-Identifier: MIT */
/*
 * t/cxx-new-t.cc - libmpool-malloc's C++ operator new and delete
 * (lib/hosted/malloc-new.c), linked in: every one of the twenty forms
 * (eight new, twelve delete) allocates or frees libmpool's memory
 * (mpool_usable_size knows each block), aligned forms align, nothrow new
 * returns NULL and plain new throws std::bad_alloc for an impossible size,
 * the installed new_handler is called before the throw, and std::vector's
 * and std::string's buffers come from libmpool too.
 *
 * Under valgrind the test runs only where memcheck leaves libmpool-malloc
 * in place (--soname-synonyms=somalloc=nouserintercepts, as
 * t/cxx-new-memcheck-t.sh runs it, which sets MPOOL_TEST_OWN_NEW=1);
 * plain make check-valgrind puts valgrind's own operator new in its place.
 */
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "mpool.h"
extern "C" {
#include "tap/tap.h"
}

namespace {

/* An impossible size that the compiler cannot see through. */
volatile std::size_t huge_size = SIZE_MAX / 2;

bool
ours(const void *p, std::size_t size)
{
    return p != nullptr && mpool_usable_size(p) >= size;
}

/* Live blocks of the default pool, which new serves. */
std::size_t
live()
{
    mpool_stats_t st{};

    st.size = sizeof(st);
    return mpool_stats(nullptr, &st) == 0 ? st.blocks_in_use : SIZE_MAX;
}

bool
aligned_to(const void *p, std::size_t a)
{
    return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

int handler_calls;

void
handler_that_gives_up()
{
    handler_calls++;
    std::set_new_handler(nullptr); /* the next failure throws */
}

struct alignas(256) wide {
    char c[256];
};

} // namespace

int
main()
{
    if (tap_under_asan())
        skip_all("AddressSanitizer's operator new takes the place of "
                 "libmpool-malloc's");
    if (tap_under_tsan())
        skip_all("ThreadSanitizer's operator new takes the place of "
                 "libmpool-malloc's");
    if (tap_under_valgrind() && std::getenv("MPOOL_TEST_OWN_NEW") == nullptr)
        skip_all("valgrind's operator new takes the place of "
                 "libmpool-malloc's (t/cxx-new-memcheck-t.sh runs "
                 "memcheck over it)");
    plan(14);

    std::size_t before = live();
    void *p = ::operator new(100);
    void *a = ::operator new[](200);
    bool mine = ours(p, 100) && ours(a, 200);
    ::operator delete(p);
    ::operator delete[](a);
    ok(mine && live() == before,
       "operator new and new[] come from libmpool; delete and delete[] "
       "give them back");

    p = ::operator new(300, std::nothrow);
    a = ::operator new[](400, std::nothrow);
    mine = ours(p, 300) && ours(a, 400);
    ::operator delete(p, std::nothrow);
    ::operator delete[](a, std::nothrow);
    ok(mine && live() == before, "nothrow new and new[], nothrow delete "
                                 "and delete[]");

    p = ::operator new(500);
    a = ::operator new[](600);
    mine = ours(p, 500) && ours(a, 600);
    ::operator delete(p, 500);
    ::operator delete[](a, 600);
    ok(mine && live() == before, "sized delete and delete[]");

    p = ::operator new(100, std::align_val_t(4096));
    a = ::operator new[](5000, std::align_val_t(64));
    mine = ours(p, 100) && aligned_to(p, 4096) && ours(a, 5000) &&
           aligned_to(a, 64);
    ::operator delete(p, std::align_val_t(4096));
    ::operator delete[](a, std::align_val_t(64));
    ok(mine && live() == before,
       "aligned new (4096) and new[] (64): libmpool's, aligned; aligned "
       "delete and delete[]");

    p = ::operator new(100, std::align_val_t(1 << 20), std::nothrow);
    a = ::operator new[](70, std::align_val_t(128), std::nothrow);
    mine = ours(p, 100) && aligned_to(p, 1 << 20) && ours(a, 70) &&
           aligned_to(a, 128);
    ::operator delete(p, std::align_val_t(1 << 20), std::nothrow);
    ::operator delete[](a, std::align_val_t(128), std::nothrow);
    ok(mine && live() == before,
       "aligned nothrow new (1 MiB) and new[] (128); aligned nothrow "
       "delete and delete[]");

    p = ::operator new(900, std::align_val_t(512));
    a = ::operator new[](1000, std::align_val_t(32));
    mine = ours(p, 900) && aligned_to(p, 512) && ours(a, 1000) &&
           aligned_to(a, 32);
    ::operator delete(p, 900, std::align_val_t(512));
    ::operator delete[](a, 1000, std::align_val_t(32));
    ok(mine && live() == before, "sized aligned delete and delete[]");

    {
        wide *w = new wide;
        wide *ws = new wide[3];
        mine = ours(w, sizeof(wide)) && aligned_to(w, 256) &&
               aligned_to(ws, 256);
        delete w;
        delete[] ws;
        ok(mine && live() == before,
           "new of an alignas(256) type goes through aligned new");
    }

    ::operator delete(nullptr);
    ::operator delete[](nullptr);
    ::operator delete(nullptr, std::align_val_t(64));
    ::operator delete(nullptr, 16);
    ok(live() == before, "delete of nullptr does nothing");

    p = ::operator new(0);
    a = ::operator new(0);
    ok(p != nullptr && a != nullptr && p != a && ours(p, 0),
       "new(0): unique pointers of libmpool");
    ::operator delete(p);
    ::operator delete(a);

    errno = 0;
    ok(::operator new(huge_size, std::nothrow) == nullptr &&
           ::operator new[](huge_size, std::nothrow) == nullptr &&
           ::operator new(huge_size, std::align_val_t(64), std::nothrow) ==
               nullptr,
       "nothrow new of an impossible size: nullptr");

    {
        bool threw = false;
        try {
            p = ::operator new(huge_size);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        ok(threw, "new of an impossible size throws std::bad_alloc");
    }
    {
        bool threw = false;
        try {
            p = ::operator new[](huge_size, std::align_val_t(4096));
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        ok(threw, "aligned new[] of an impossible size throws "
                  "std::bad_alloc");
    }
    {
        bool threw = false;
        std::set_new_handler(handler_that_gives_up);
        try {
            p = ::operator new(huge_size);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
        ok(threw && handler_calls == 1 && std::get_new_handler() == nullptr,
           "a failed new calls the new_handler, then throws");
    }

    {
        std::vector<int> v(1000, 7);
        std::string s(200, 'x');
        ok(ours(v.data(), 1000 * sizeof(int)) && ours(s.data(), 200) &&
               v[999] == 7 && s[199] == 'x',
           "std::vector and std::string buffers come from libmpool");
    }
    return 0;
}
