# SPDX-License-Identifier: MIT
# t/preload.sh - sourced by the tests that preload libmpool-malloc
# (t/malloc-programs-t.sh, t/fork-preload-t.sh, t/callout-malloc-t.sh).
# Skips the whole test where the library cannot be preloaded: none was
# built (the k210 backend has none), or it was built with sanitizers; with
# PRELOAD_NEED_TIMEOUT=1, also where there is no timeout(1) to stop a
# deadlocked run.  Otherwise sets lib, the library's absolute path, and
# tmp, a directory removed at exit.
lib="$top_builddir/lib/.libs/libmpool-malloc.so"
if [ ! -f "$lib" ]; then
    echo "1..0 # SKIP no libmpool-malloc.so was built (the ${MPOOL_BACKEND:-configured} backend has none)"
    exit 0
fi
if [ -n "$SANITIZER_FLAGS" ]; then
    echo "1..0 # SKIP a sanitized libmpool-malloc cannot be preloaded"
    exit 0
fi
if [ "${PRELOAD_NEED_TIMEOUT:-0}" = 1 ] && ! command -v timeout > /dev/null 2>&1; then
    echo "1..0 # SKIP no timeout(1) to stop a deadlocked run"
    exit 0
fi
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
