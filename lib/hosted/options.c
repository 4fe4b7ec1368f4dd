/* SPDX-License-Identifier: MIT */
/*
 * options.c - the environment variables, read once when the library is
 * loaded.  Hosted builds only; a bare-metal kernel calls
 * mpool_set_option() (set-option.c) itself.
 *
 *   MPOOL_DEBUG=1   every cache created afterwards is in checking mode
 *                   (as if made with MPOOL_CACHE_DEBUG)
 *   MPOOL_STATS=1   print the cache report (mpool_report) on standard
 *                   error when the program exits
 *   MPOOL_OPTIONS=key=value,...
 *                   each entry as mpool_set_option(key, value): debug,
 *                   stats, retain, magazine, thp (set-option.c, and
 *                   libmpool(7)).  Read after the two above, so it has
 *                   the last word.  An entry that is not key=value, an
 *                   unknown key, a bad value or a key this build does
 *                   not have prints one line on standard error naming it
 *                   and is skipped: the program runs on.
 *
 * They are read with secure_getenv(), so a set-user-ID or set-group-ID
 * program ignores them.  Nothing here allocates: under LD_PRELOAD this
 * runs before the program's malloc may be called.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "top.h"

#define OPTION_TEXT_MAX 64 /* bytes of a key or a value, NUL included */

static bool stats_at_exit;  /* the report is printed at exit */
static bool stats_atexit_set;

static void
report_at_exit(void)
{
    if (stats_at_exit)
        mpool_report_fd(STDERR_FILENO);
}

int
mp_option_stats(bool on)
{
    if (on && !stats_atexit_set) {
        if (atexit(report_at_exit) != 0)
            return ENOMEM;
        stats_atexit_set = true;
    }
    stats_at_exit = on;
    return 0;
}

static bool
option_on(const char *name)
{
    const char *v = secure_getenv(name);

    return v != NULL && v[0] == '1' && v[1] == '\0';
}

/* "libmpool: MPOOL_OPTIONS: <what> '<text>'<more>, ignored" on stderr. */
static void
complain(const char *what, const char *text, size_t len, const char *more)
{
    char line[256];
    size_t at = 0;

    at = mp_fmt_str(line, at, sizeof(line), "libmpool: MPOOL_OPTIONS: ");
    at = mp_fmt_str(line, at, sizeof(line), what);
    at = mp_fmt_str(line, at, sizeof(line), " '");
    for (size_t i = 0; i < len && i < 80 && at < sizeof(line) - 1; i++)
        line[at++] = text[i];
    at = mp_fmt_str(line, at, sizeof(line), "'");
    at = mp_fmt_str(line, at, sizeof(line), more);
    at = mp_fmt_str(line, at, sizeof(line), ", ignored\n");
    mp_backend_write_error(line, at);
}

/* Copy len bytes of s, NUL-terminated, into out (OPTION_TEXT_MAX bytes);
 * false when they do not fit. */
static bool
option_text(char *out, const char *s, size_t len)
{
    if (len >= OPTION_TEXT_MAX)
        return false;
    __builtin_memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

/* One entry, [entry, entry + len), of MPOOL_OPTIONS. */
static void
option_entry(const char *entry, size_t len)
{
    char key[OPTION_TEXT_MAX], value[OPTION_TEXT_MAX];
    size_t klen = 0;

    while (klen < len && entry[klen] != '=')
        klen++;
    if (klen == len || klen == 0) {
        complain("not key=value:", entry, len, "");
        return;
    }
    if (!option_text(key, entry, klen) || !mp_option_known(key)) {
        complain("unknown option", entry, klen, "");
        return;
    }
    if (!option_text(value, entry + klen + 1, len - klen - 1) ||
        mpool_set_option(key, value) != 0) {
        if (errno == ENOTSUP)
            complain("option", key, klen, " is not supported by this build");
        else
            complain("bad value for", entry, len, "");
    }
}

static void
options_parse(const char *list)
{
    while (*list != '\0') {
        size_t len = 0;

        while (list[len] != '\0' && list[len] != ',')
            len++;
        if (len > 0) /* empty entries (",,", a trailing comma) are nothing */
            option_entry(list, len);
        list += len;
        if (*list == ',')
            list++;
    }
}

__attribute__((constructor)) static void
options_read(void)
{
    int saved_errno = errno;
    const char *list;

    if (option_on("MPOOL_DEBUG"))
        mp_debug_all = 1;
    if (option_on("MPOOL_STATS"))
        mp_option_stats(true);
    list = secure_getenv("MPOOL_OPTIONS");
    if (list != NULL)
        options_parse(list);
    errno = saved_errno;
}
