#!/bin/sh
# SPDX-License-Identifier: MIT
# t/abi-t.sh - the shared library's ABI matches the record in
# lib/libmpool.abi (written by abidw from Debian's abigail-tools).  An
# incompatible change - a function removed, a parameter or a public struct
# changed - fails here, unless the record is regenerated on purpose with
# `make abi-update` and the libtool version bumped as doc/abi.md says.
# Compatible additions pass, and are listed.  A last check removes a
# function from a copy of the library's own ABI and makes sure abidiff
# calls that incompatible, so this test can fail.
: "${top_builddir:=.}" "${top_srcdir:=.}" "${CC:=cc}"
record="$top_srcdir/lib/libmpool.abi"
lib="$top_builddir/lib/.libs/libmpool.so"
if ! command -v abidiff > /dev/null 2>&1 || ! command -v abidw > /dev/null 2>&1; then
    echo "1..0 # SKIP abidiff/abidw not installed (Debian: abigail-tools)"
    exit 0
fi
if [ ! -f "$lib" ]; then
    echo "1..0 # SKIP no shared library was built"
    exit 0
fi
case $("$CC" --version 2>/dev/null | head -n1) in
*clang*)
    # libabigail 2.2 reads none of the function types in clang 14's
    # DWARF 5, and would call every function removed
    echo "1..0 # SKIP the record is compared with gcc builds only"
    exit 0 ;;
esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..3"

# The k210 build (bare metal, and its host build) has no mpool_report,
# mpool_report_fd, mpool_asprintf or mpool_vasprintf, which need stdio,
# file descriptors or vsnprintf (lib/libmpool.sym): their absence is
# expected there, every other difference is still reported.
: > "$tmp/suppr"
if [ "${MPOOL_BACKEND:-}" = k210 ]; then
    cat > "$tmp/suppr" <<'EOF'
[suppress_function]
  change_kind = deleted-function
  name_regexp = ^(mpool_report(_fd)?|mpool_v?asprintf)$
[suppress_function]
  change_kind = deleted-function
  symbol_name_regexp = ^(mpool_report(_fd)?|mpool_v?asprintf)$
EOF
fi
abidiff --suppressions "$tmp/suppr" --headers-dir2 "$top_srcdir/lib" \
    "$record" "$lib" > "$tmp/diff" 2>&1
rc=$?
if [ $((rc & 8)) -eq 0 ] && [ $((rc & 3)) -eq 0 ]; then
    echo "ok 1 - no incompatible change against lib/libmpool.abi"
    [ $((rc & 4)) -ne 0 ] && sed 's/^/# compatible: /' "$tmp/diff"
else
    echo "not ok 1 - no incompatible change against lib/libmpool.abi (abidiff exit $rc)"
    sed 's/^/# /' "$tmp/diff"
    echo "# if the change is meant: bump the libtool version (doc/abi.md), then make abi-update"
fi

soname_rec=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$record" | head -n1)
abidw --no-show-locs --no-corpus-path --no-comp-dir-path \
    --headers-dir "$top_srcdir/lib" --out-file "$tmp/now.abi" "$lib"
soname_now=$(sed -n "s/.*soname='\([^']*\)'.*/\1/p" "$tmp/now.abi" | head -n1)
if [ -n "$soname_now" ] && [ "$soname_now" = "$soname_rec" ]; then
    echo "ok 2 - the soname is the recorded one ($soname_now)"
else
    echo "not ok 2 - the soname is the recorded one (record: $soname_rec, built: $soname_now)"
fi

grep -v "elf-symbol name='mpool_free'" "$tmp/now.abi" > "$tmp/broken.abi"
abidiff "$tmp/now.abi" "$tmp/broken.abi" > "$tmp/diff2" 2>&1
rc=$?
if [ $((rc & 8)) -ne 0 ]; then
    echo "ok 3 - negative control: a removed mpool_free is reported as incompatible"
else
    echo "not ok 3 - negative control: a removed mpool_free is reported as incompatible (exit $rc)"
    sed 's/^/# /' "$tmp/diff2"
fi
