/* SPDX-License-Identifier: MIT */
/*
 * bench/git-repo.c - a git history, the same on every run, as a
 * git fast-import stream on standard output: the repository that
 * bench/git-repack.sh repacks.
 *
 *   git-repo FILES COMMITS CHANGES   | git fast-import
 *
 * The first commit adds FILES text files of source-like lines in 64
 * directories; each of the COMMITS - 1 others changes CHANGES files picked
 * at random: 1-6 lines replaced, and in one change in three 1-20 lines
 * appended.  File lengths are 20-420 lines, one file in 50 ten times
 * that (a few hundred KiB), so that a repack's delta search handles blobs
 * of many size classes, as in a real history.  The generator is a fixed
 * xorshift, so the objects, and their ids, are the same everywhere.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_LINES 65536
#define DIRS 64

static uint64_t state = 0x9e3779b97f4a7c15u;

static uint32_t
rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 16);
}

static const char *const words[] = {
    "int", "char", "void", "return", "static", "struct", "if", "else",
    "for", "while", "size_t", "const", "unsigned", "long", "buffer",
    "pointer", "alloc", "free", "list", "node", "next", "prev", "count",
    "index", "value", "key", "hash", "table", "object", "pack", "delta",
    "window", "cache", "tree", "commit", "blob", "=", "+", "(", ")", "{",
    "}", ";", "->", "0", "1", "NULL", "sizeof"};

typedef struct {
    uint32_t *line; /* indices into the pool */
    size_t n, cap;
} file_t;

static char *pool[POOL_LINES];
static size_t pool_len[POOL_LINES];

static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (p == NULL) {
        perror("git-repo");
        exit(1);
    }
    return p;
}

static void
append(file_t *f, uint32_t line)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->line = xrealloc(f->line, f->cap * sizeof(*f->line));
    }
    f->line[f->n++] = line;
}

int
main(int argc, char **argv)
{
    size_t nw = sizeof(words) / sizeof(words[0]);
    long files, commits, changes, mark = 0;
    file_t *f;
    long *marks, *which;
    char *buf = NULL;
    size_t bufcap = 0;

    if (argc != 4) {
        fprintf(stderr, "usage: %s FILES COMMITS CHANGES\n", argv[0]);
        return 2;
    }
    files = atol(argv[1]);
    commits = atol(argv[2]);
    changes = atol(argv[3]);
    if (files < 1 || commits < 1 || changes < 1 || changes > files) {
        fprintf(stderr, "git-repo: bad arguments\n");
        return 2;
    }
    for (size_t i = 0; i < POOL_LINES; i++) {
        char line[256];
        size_t at = 0;
        int n = 3 + (int)(rnd() % 9), indent = (int)(rnd() % 4) * 4;

        at += (size_t)snprintf(line, sizeof(line), "%*s", indent, "");
        for (int w = 0; w < n; w++)
            at += (size_t)snprintf(line + at, sizeof(line) - at, "%s%s",
                                   w ? " " : "", words[rnd() % nw]);
        line[at++] = '\n';
        pool[i] = xrealloc(NULL, at);
        memcpy(pool[i], line, at);
        pool_len[i] = at;
    }
    f = calloc((size_t)files, sizeof(*f));
    marks = calloc((size_t)files, sizeof(*marks));
    which = calloc((size_t)files, sizeof(*which));
    if (f == NULL || marks == NULL || which == NULL) {
        perror("git-repo");
        return 1;
    }
    for (long i = 0; i < files; i++) {
        size_t n = 20 + rnd() % 400;

        if (rnd() % 50 == 0)
            n *= 10;
        for (size_t j = 0; j < n; j++)
            append(&f[i], rnd() % POOL_LINES);
    }
    for (long c = 0; c < commits; c++) {
        long nch = c == 0 ? files : changes;

        for (long k = 0; k < nch; k++) {
            long i = c == 0 ? k : (long)(rnd() % (uint32_t)files);
            size_t len = 0;

            if (c > 0) {
                int e = 1 + (int)(rnd() % 6);

                for (int j = 0; j < e; j++)
                    f[i].line[rnd() % f[i].n] = rnd() % POOL_LINES;
                if (rnd() % 3 == 0) {
                    int a = 1 + (int)(rnd() % 20);

                    for (int j = 0; j < a; j++)
                        append(&f[i], rnd() % POOL_LINES);
                }
            }
            for (size_t j = 0; j < f[i].n; j++)
                len += pool_len[f[i].line[j]];
            if (len > bufcap) {
                bufcap = 2 * len;
                buf = xrealloc(buf, bufcap);
            }
            len = 0;
            for (size_t j = 0; j < f[i].n; j++) {
                memcpy(buf + len, pool[f[i].line[j]], pool_len[f[i].line[j]]);
                len += pool_len[f[i].line[j]];
            }
            marks[i] = ++mark;
            which[k] = i;
            printf("blob\nmark :%ld\ndata %zu\n", mark, len);
            fwrite(buf, 1, len, stdout);
            printf("\n");
        }
        printf("commit refs/heads/main\n"
               "committer Gen <gen@example.com> %ld +0000\n"
               "data 13\ncommit %6ld\n",
               1700000000L + c * 60, c);
        for (long k = 0; k < nch; k++)
            printf("M 100644 :%ld d%02ld/f%05ld.c\n", marks[which[k]],
                   which[k] % DIRS, which[k]);
        printf("\n");
    }
    return ferror(stdout) || fflush(stdout) != 0;
}
