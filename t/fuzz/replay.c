/* SPDX-License-Identifier: MIT */
/*
 * replay.c - run inputs through the fuzz target without libFuzzer.
 *
 *   t/fuzz/replay FILE|DIRECTORY ...
 *
 * Each FILE, and each regular file of each DIRECTORY (in name order), is
 * read whole and given to LLVMFuzzerTestOneInput (mpool-fuzz.c), which
 * aborts on the first thing the shadow model disagrees with.  One line
 * "ok NAME" per input is written to stdout as it finishes, so the last
 * line says which input a crash came after.  Exit status 0 when every input
 * ran, 2 when one could not be read; a failing input aborts.
 *
 * make check runs it over t/fuzz/corpus/ (t/fuzz-replay-t.sh); a crash
 * that `make fuzz` found replays here the same way, under a debugger.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    do {
        if (len == cap) {
            uint8_t *nb;
            cap = cap ? cap * 2 : 4096;
            if ((nb = realloc(buf, cap)) == NULL) {
                perror("realloc");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        perror(path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    printf("ok %s\n", path);
    fflush(stdout);
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t count = 0;
    int rc = 0;

    if (d == NULL) {
        perror(dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        char **nn;
        size_t len;
        struct stat st;
        char *path;

        if (e->d_name[0] == '.')
            continue;
        len = strlen(dir) + strlen(e->d_name) + 2;
        if ((path = malloc(len)) == NULL ||
            (nn = realloc(names, (count + 1) * sizeof(*names))) == NULL) {
            perror("malloc");
            free(path);
            rc = -1;
            break;
        }
        names = nn;
        snprintf(path, len, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        names[count++] = path;
    }
    closedir(d);
    if (count > 0)
        qsort(names, count, sizeof(*names), by_name);
    for (size_t i = 0; i < count; i++) {
        if (rc == 0 && replay_file(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    int rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIRECTORY ...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            rc = 2;
        } else if (S_ISDIR(st.st_mode) ? replay_dir(argv[i]) != 0
                                       : replay_file(argv[i]) != 0) {
            rc = 2;
        }
    }
    return rc;
}
