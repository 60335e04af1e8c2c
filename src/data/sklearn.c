/*
 * sklearn.c - scikit-learn's small bundled datasets (breast cancer,
 * diabetes, iris, wine, digits) as x (N, features) and y (N, 1).
 *
 * The CSV files come from Debian's python3-sklearn package, unpacked without
 * installing it (apt-get download + dpkg-deb -x), through the same
 * find-fetch-verify path as MNIST (fetch.h): one cached copy, every file's
 * MD5 checked before use.  Each dataset is a row of a table saying which
 * file holds it, how it is laid out and what shape it must have.
 */
#include "core/core.h"
#include "data/fetch.h"

#include <stdio.h>
#include <string.h>

/* What every dataset's source shares; each adds only its own files, so a
 * dataset is fetched and verified without the others. */
static const dc_data_source SKLEARN = {
    .subdir = "sklearn",
    .steps = {"apt-get download python3-sklearn", "dpkg-deb -x python3-sklearn_*.deb root", NULL},
    .unpacked = "root/usr/lib/python3/dist-packages/sklearn/datasets/data",
    .hint = "deepc fetches them with apt-get download python3-sklearn from Debian's archive; check that it is "
            "reachable and the package lists are current (sudo apt-get update)",
};

typedef struct sk_set {
    const char *name;
    dc_data_file files[2]; /* x (and y as its last column), or x then y */
    int header;            /* the first line is "n_samples,n_features,class names..." */
    char delimiter;
    int rows, features;
} sk_set;

/* MD5s of the files in python3-sklearn 1.2.1+dfsg-1 (Debian 12, bookworm). */
static const sk_set SETS[] = {
    {"breast_cancer", {{"breast_cancer.csv", "36ef90874abc87f4b4a8554dcc17cf6f"}}, 1, ',', 569, 30},
    {"diabetes",
     {{"diabetes_data_raw.csv.gz", "2dd2293dae4637e9ce48758af20d18bf"},
      {"diabetes_target.csv.gz", "351551546ae4037b99295d7deda3b52b"}},
     0, ' ', 442, 10},
    {"iris", {{"iris.csv", "d69a16ea6136ccb02a7c37c66375ebba"}}, 1, ',', 150, 4},
    {"wine", {{"wine_data.csv", "4a4db56405701ab0f3ed0e194e993c0f"}}, 1, ',', 178, 13},
    {"digits", {{"digits.csv.gz", "ca09b38354112f159cd554f69e213828"}}, 0, ',', 1797, 64},
};

enum { N_SETS = sizeof SETS / sizeof *SETS };

/* Reads file `i` of the set as a CSV; with_target selects the last column as y. */
static dc_status read_file(const char *dir, const sk_set *s, int i, int with_target, dc_tensor **x, dc_tensor **y)
{
    char path[DC_PATH_CAP];
    dc_status st = dc_data_join(path, s->name, dir, s->files[i].name);
    if (st != DC_OK)
        return st;
    dc_csv_config cfg = dc_csv_defaults();
    cfg.header = i == 0 && s->header;
    cfg.delimiter = i == 0 ? s->delimiter : ' ';
    cfg.target_col = with_target ? -1 : DC_CSV_NO_TARGET;
    return dc_csv_load(path, &cfg, x, y);
}

dc_status dc_sklearn_load(const char *name, const char *cache_dir, dc_tensor **x, dc_tensor **y)
{
    DC_CHECK_NULL(name);
    if (!x || !y)
        return dc_fail(DC_ERR_ARG, "sklearn_load: x and y must not be NULL");
    *x = *y = NULL;
    const sk_set *s = NULL;
    for (int i = 0; name && i < N_SETS; i++)
        if (strcmp(name, SETS[i].name) == 0)
            s = &SETS[i];
    if (!s)
        return dc_fail(DC_ERR_ARG, "sklearn_load: unknown dataset \"%s\"; expected breast_cancer, diabetes, iris, "
                                   "wine or digits",
                       name ? name : "(null)");
    char title[64];
    snprintf(title, sizeof title, "scikit-learn %s", s->name);
    dc_data_source src = SKLEARN;
    src.title = title;
    src.n_files = s->files[1].name ? 2 : 1;
    memcpy(src.files, s->files, sizeof s->files);
    char dir[DC_PATH_CAP];
    dc_status st = dc_data_locate(&src, cache_dir, dir);
    if (st == DC_OK)
        st = read_file(dir, s, 0, src.n_files == 1, x, y);
    if (st == DC_OK && src.n_files == 2) {
        dc_tensor *unused = NULL;
        st = read_file(dir, s, 1, 0, y, &unused);
    }
    if (st == DC_OK && ((*x)->shape[0] != s->rows || (*x)->shape[1] != s->features || (*y)->shape[0] != s->rows ||
                        (*y)->size != (size_t)s->rows))
        st = dc_fail(DC_ERR_FORMAT, "%s: %s has %d x %d features and %zu targets, expected %d x %d and %d", title,
                     s->files[0].name, (*x)->shape[0], (*x)->shape[1], (*y)->size, s->rows, s->features, s->rows);
    if (st != DC_OK) {
        dc_tensor_free(*x);
        dc_tensor_free(*y);
        *x = *y = NULL;
    }
    return st;
}
