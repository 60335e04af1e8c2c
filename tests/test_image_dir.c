/*
 * test_image_dir.c - image_dataset_from_directory and the image decoders:
 *
 *  - a tree of tricky names (tests/fixtures/image_dir/tree.txt: non-ASCII,
 *    upper and lower case, nested folders, files that are not images, an
 *    empty class folder, a hidden folder) indexed with several
 *    configurations gives exactly the class names, file order, labels and
 *    split of expected.txt, which keras_index.py wrote from Keras 3's rules
 *    (transcribed from keras/src/utils/dataset_utils.py, NumPy's shuffle);
 *  - small images of every format decode to PIL's pixels (pixels.txt;
 *    JPEG within one level) and resize as PyTorch's bilinear
 *    (align_corners=False = tf.image.resize's half-pixel centres);
 *  - python3-sklearn's china.jpg and flower.jpg decode within one grey
 *    level of PIL (photos.txt; skipped, saying so, without the package);
 *  - hostile files (a PNG header claiming 10^9 pixels, a JPEG cut in half,
 *    a GIF with no frame, garbage) fail with a message naming the file,
 *    also through a dataset's batch; the file reader gets every size
 *    right and refuses what is not a regular file;
 *  - bad arguments give Keras' errors;
 *  - the pipe's file prefetcher (dataset_prefetch.c) forced on changes
 *    nothing a reader sees: the same batches and the same error (files
 *    removed after indexing: it skips them, the reader reports them) as
 *    with it off, and fit gives the same weights; it stops cleanly when
 *    the reader stops early.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "model/model.h"
#include "data/dataset_internal.h"
#include "data/image_decode.h"

#define FIX DEEPC_FIXTURES "/image_dir/"

/* mkdir -p of the folders above path (and path itself when dir). */
static void make_parents(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0777);
            *p = '/';
        }
}

static void write_file(const char *path, const void *bytes, size_t n)
{
    make_parents(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n)
        assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    b[len] = 0;
    *n = (size_t)len;
    return b;
}

static void rm_tree(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static char *temp_dir(void)
{
    char *d = strdup("/tmp/deepc_imgdir_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

/* ---- the tricky tree ---- */

typedef struct config {
    const char *name;
    int no_labels;
    const char *const *class_names;
    int n_class_names;
    int shuffle;
    long long seed;
    float split;
    dc_subset subset;
} config;

static const char *const DOG_CAT[] = {"dog", "Cat"};
static const config CONFIGS[] = {
    {"sorted", 0, NULL, 0, 0, DC_SEED_NONE, 0.0f, DC_SUBSET_NONE},
    {"shuffled", 0, NULL, 0, 1, 1337, 0.0f, DC_SUBSET_NONE},
    {"training", 0, NULL, 0, 1, 1337, 0.3f, DC_SUBSET_TRAINING},
    {"validation", 0, NULL, 0, 1, 1337, 0.3f, DC_SUBSET_VALIDATION},
    {"class_names", 0, DOG_CAT, 2, 0, DC_SEED_NONE, 0.0f, DC_SUBSET_NONE},
    {"no_labels", 1, NULL, 0, 0, DC_SEED_NONE, 0.0f, DC_SUBSET_NONE},
    {"no_labels_shuffled", 1, NULL, 0, 1, 7, 0.25f, DC_SUBSET_VALIDATION},
};

static void test_tricky_tree(void **state)
{
    (void)state;
    size_t n;
    char *spec = read_file(FIX "tree.txt", &n), *expected = read_file(FIX "expected.txt", &n);
    assert_non_null(spec);
    assert_non_null(expected);
    char *root = temp_dir(), path[4096];
    for (char *line = strtok(spec, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || !line[0])
            continue;
        snprintf(path, sizeof path, "%s/tree/%s", root, line);
        if (line[strlen(line) - 1] == '/')
            make_parents(path);
        else
            write_file(path, "", 0);
    }
    snprintf(path, sizeof path, "%s/tree", root);
    size_t cap = 1 << 16, used = 0;
    char *got = calloc(1, cap);
    assert_non_null(got);
    for (size_t c = 0; c < sizeof CONFIGS / sizeof CONFIGS[0]; c++) {
        const config *k = &CONFIGS[c];
        dc_image_dir_config cfg = dc_image_dir_defaults();
        cfg.verbose = 0;
        cfg.label_mode = k->no_labels ? DC_LABEL_NONE : DC_LABEL_INT;
        cfg.class_names = k->class_names;
        cfg.n_class_names = k->n_class_names;
        cfg.shuffle = k->shuffle;
        cfg.seed = k->seed;
        cfg.validation_split = k->split;
        cfg.subset = k->subset;
        dc_loader *ds;
        if (dc_image_dataset_from_directory(path, &cfg, &ds, NULL) != DC_OK)
            fail_msg("%s: %s", k->name, dc_errmsg());
        used += (size_t)snprintf(got + used, cap - used, "== %s\nclasses: ", k->name);
        for (int i = 0; i < dc_loader_num_classes(ds); i++)
            used += (size_t)snprintf(got + used, cap - used, "%s%s", i ? "|" : "", dc_loader_class_name(ds, i));
        if (!dc_loader_num_classes(ds))
            used += (size_t)snprintf(got + used, cap - used, "(none)");
        used += (size_t)snprintf(got + used, cap - used, "\n");
        for (int i = 0; i < dc_loader_count(ds); i++) {
            const char *p = dc_loader_file_path(ds, i);
            assert_non_null(p);
            assert_memory_equal(p, path, strlen(path));
            used += (size_t)snprintf(got + used, cap - used, "%d\t%s\n", dc_loader_label(ds, i), p + strlen(path) + 1);
        }
        assert_true(used < cap);
        dc_loader_free(ds);
    }
    if (strcmp(got, expected) != 0) {
        size_t i = 0;
        while (got[i] && got[i] == expected[i])
            i++;
        fail_msg("the index differs from Keras' rules (expected.txt) at byte %zu:\n--- got:\n%.300s\n--- expected:\n%.300s",
                 i, got + (i > 80 ? i - 80 : 0), expected + (i > 80 ? i - 80 : 0));
    }
    /* subset "both": the two parts of the same split */
    dc_image_dir_config cfg = dc_image_dir_defaults();
    cfg.verbose = 0;
    cfg.seed = 1337;
    cfg.validation_split = 0.3f;
    cfg.subset = DC_SUBSET_BOTH;
    dc_loader *tr, *va;
    assert_int_equal(dc_image_dataset_from_directory(path, &cfg, &tr, &va), DC_OK);
    assert_int_equal(dc_loader_count(tr) + dc_loader_count(va), 24);
    assert_int_equal(dc_loader_count(va), 7); /* int(0.3 * 24) */
    const char *want = strstr(expected, "== validation\n");
    assert_non_null(want);
    want = strchr(strchr(want, '\n') + 1, '\n') + 1; /* past the classes line */
    char line[512];
    snprintf(line, sizeof line, "%d\t%s\n", dc_loader_label(va, 0), dc_loader_file_path(va, 0) + strlen(path) + 1);
    assert_memory_equal(want, line, strlen(line));
    dc_loader_free(tr);
    dc_loader_free(va);
    free(got);
    free(spec);
    free(expected);
    rm_tree(root);
    free(root);
}

/* NumPy's RandomState(seed).shuffle(arange(10)), printed by /usr/bin/python3 (NumPy 1.24) */
static void test_numpy_shuffle(void **state)
{
    (void)state;
    int perm[10];
    dc_numpy_shuffle_perm(0, perm, 10);
    const int want0[10] = {2, 8, 4, 9, 1, 6, 7, 3, 0, 5};
    assert_memory_equal(perm, want0, sizeof want0);
    dc_numpy_shuffle_perm(1337, perm, 10);
    const int want1[10] = {6, 3, 0, 4, 5, 2, 1, 9, 8, 7};
    assert_memory_equal(perm, want1, sizeof want1);
}

/* ---- decoding ---- */

static void check_image(const fx_file *fx, const char *name, const char *file, double tol)
{
    char path[1024], key[128];
    snprintf(path, sizeof path, FIX "%s", file);
    dc_image_u8 img;
    if (dc_image_load(path, 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img) != DC_OK)
        fail_msg("%s: %s", file, dc_errmsg());
    snprintf(key, sizeof key, "%s.rgb", name);
    const fx_array *want = fx_get(fx, key);
    assert_int_equal(img.h, want->shape[0]);
    assert_int_equal(img.w, want->shape[1]);
    float *px = malloc(want->size * sizeof(float));
    for (size_t i = 0; i < want->size; i++)
        px[i] = img.px[i];
    assert_close(px, want->data, want->size, 0, tol, key);
    /* resized as PyTorch's bilinear (align_corners=False) */
    int sizes[2][2] = {{5, 7}, {2, 3}};
    for (int s = 0; s < 2; s++) {
        snprintf(key, sizeof key, "%s.resize_%dx%d", name, sizes[s][0], sizes[s][1]);
        const fx_array *r = fx_get(fx, key);
        float *out = calloc(r->size, sizeof(float));
        assert_int_equal(dc_image_resize(&img, sizes[s][0], sizes[s][1], DC_FIT_STRETCH, 0, out), DC_OK);
        /* the decode's tolerance carries through; float32 lerp ~1e-4 */
        assert_close(out, r->data, r->size, 0, tol + 1e-3, key);
        free(out);
    }
    free(px);
    free(img.px);
}

static void test_formats(void **state)
{
    (void)state;
    fx_file *fx = fx_load("image_dir/pixels.txt");
    check_image(fx, "rgb_png", "img/rgb.png", 0);
    check_image(fx, "rgba_png", "img/rgba.png", 0);
    check_image(fx, "grey_png", "img/grey.png", 0);
    check_image(fx, "rgb_bmp", "img/rgb.bmp", 0);
    check_image(fx, "anim_gif", "img/anim.gif", 0); /* the first of its two frames */
    check_image(fx, "rgb_jpg", "img/rgb.jpg", 1);
    /* RGBA keeps alpha; greyscale of a grey PNG is its values */
    dc_image_u8 img;
    assert_int_equal(dc_image_load(FIX "img/rgba.png", 4, DC_IMAGE_MAX_PIXELS_DEFAULT, &img), DC_OK);
    const fx_array *want = fx_get(fx, "rgba_png.rgba");
    for (size_t i = 0; i < want->size; i++)
        assert_int_equal(img.px[i], (int)want->data[i]);
    free(img.px);
    assert_int_equal(dc_image_load(FIX "img/grey.png", 1, DC_IMAGE_MAX_PIXELS_DEFAULT, &img), DC_OK);
    want = fx_get(fx, "grey_png.rgb");
    for (size_t i = 0; i < (size_t)img.h * (size_t)img.w; i++)
        assert_int_equal(img.px[i], (int)want->data[3 * i]);
    free(img.px);
    fx_free(fx);
}

static void test_photos(void **state)
{
    (void)state;
    const char *dir = getenv("DEEPC_SKLEARN_IMAGES");
    if (!dir)
        dir = "/usr/lib/python3/dist-packages/sklearn/datasets/images";
    fx_file *fx = fx_load("image_dir/photos.txt");
    const char *names[] = {"china", "flower"};
    for (int k = 0; k < 2; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.jpg", dir, names[k]);
        if (access(path, R_OK) != 0) {
            print_message("test_photos: %s not found (install python3-sklearn or set DEEPC_SKLEARN_IMAGES); skipped\n",
                          path);
            fx_free(fx);
            skip();
        }
        dc_image_u8 img;
        if (dc_image_load(path, 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img) != DC_OK)
            fail_msg("%s", dc_errmsg());
        const fx_array *size = fx_get_part(fx, names[k], "size"), *mean = fx_get_part(fx, names[k], "mean"),
                       *smp = fx_get_part(fx, names[k], "samples");
        assert_int_equal(img.h, (int)size->data[0]);
        assert_int_equal(img.w, (int)size->data[1]);
        for (int i = 0; i < smp->shape[0]; i++) {
            const float *s = smp->data + 5 * i;
            const uint8_t *p = img.px + ((size_t)s[0] * (size_t)img.w + (size_t)s[1]) * 3;
            for (int c = 0; c < 3; c++)
                if (abs((int)p[c] - (int)s[2 + c]) > 1)
                    fail_msg("%s (%d, %d) channel %d: %d, PIL %d", names[k], (int)s[0], (int)s[1], c, p[c],
                             (int)s[2 + c]);
        }
        double sum[3] = {0};
        size_t npx = (size_t)img.h * (size_t)img.w;
        for (size_t i = 0; i < npx; i++)
            for (int c = 0; c < 3; c++)
                sum[c] += img.px[3 * i + c];
        for (int c = 0; c < 3; c++)
            assert_true(fabs(sum[c] / (double)npx - mean->data[c]) < 0.05);
        free(img.px);
    }
    fx_free(fx);
}

/* ---- hostile files ---- */

static const unsigned char PNG_HUGE[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
    0x00, 0x00, 0x7a, 0x12, /* width 31250 */
    0x00, 0x00, 0x7a, 0x12, /* height 31250: 976,562,500 pixels */
    8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0};
static const unsigned char GIF_NO_FRAME[] = {'G', 'I', 'F', '8', '9', 'a', 4, 0, 4, 0, 0, 0, 0, 0x3b};

static void expect_bad(const void *bytes, size_t n, const char *name, const char *needle)
{
    dc_image_u8 img;
    dc_status st = dc_image_decode(bytes, n, name, 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img);
    if (st == DC_OK)
        fail_msg("%s decoded (%d x %d) but should fail", name, img.w, img.h);
    assert_null(img.px);
    assert_errmsg_contains(name);
    if (needle)
        assert_errmsg_contains(needle);
}

static void test_hostile(void **state)
{
    (void)state;
    expect_bad(PNG_HUGE, sizeof PNG_HUGE, "huge.png", "976562500 pixels");
    expect_bad(GIF_NO_FRAME, sizeof GIF_NO_FRAME, "noframe.gif", "GIF");
    size_t n;
    char *jpg = read_file(FIX "img/rgb.jpg", &n);
    assert_non_null(jpg);
    expect_bad(jpg, n / 2, "half.jpg", "JPEG");
    expect_bad(jpg, 3, "three-bytes.jpg", "JPEG");
    free(jpg);
    char *png = read_file(FIX "img/rgb.png", &n);
    expect_bad(png, n / 2, "half.png", "PNG");
    expect_bad(png, 8, "magic-only.png", "PNG");
    free(png);
    expect_bad("hello", 5, "text.png", "not a BMP, GIF, JPEG or PNG");
    expect_bad("", 0, "empty.png", "not a BMP");
    /* through a dataset: the batch fails naming the file, the others work */
    char *root = temp_dir(), path[4096];
    snprintf(path, sizeof path, "%s/a/0-huge.png", root);
    write_file(path, PNG_HUGE, sizeof PNG_HUGE);
    snprintf(path, sizeof path, "%s/b/ok.png", root);
    png = read_file(FIX "img/rgb.png", &n);
    write_file(path, png, n);
    free(png);
    dc_image_dir_config cfg = dc_image_dir_defaults();
    cfg.verbose = 0;
    cfg.shuffle = 0;
    cfg.batch_size = 1;
    cfg.image_size[0] = cfg.image_size[1] = 4;
    dc_loader *ds;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    dc_tensor *x, *y;
    assert_int_equal(dc_loader_get_batch(ds, 0, &x, &y), DC_ERR_FORMAT);
    assert_errmsg_contains("0-huge.png");
    assert_errmsg_contains("refused before decoding");
    assert_int_equal(dc_loader_get_batch(ds, 1, &x, &y), DC_OK);
    assert_int_equal(x->shape[0], 1);
    assert_int_equal(x->shape[3], 3);
    assert_float_equal(y->data[0], 1.0f, 0);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_loader_free(ds);
    /* a FIFO named like an image fails at once, never blocks */
    snprintf(path, sizeof path, "%s/b/pipe.png", root);
    assert_int_equal(mkfifo(path, 0600), 0);
    dc_image_u8 img;
    assert_int_equal(dc_image_load(path, 3, DC_IMAGE_MAX_PIXELS_DEFAULT, &img), DC_ERR_IO);
    assert_errmsg_contains("pipe.png: not a regular file");
    rm_tree(root);
    free(root);
}

/* dc_image_read: one read for a file smaller than the buffer, fstat and a
 * larger buffer for the others, the bytes exact whatever the order of
 * sizes (one scratch for all, and a fresh one each); what is not a
 * regular file refused, never read without end. */
static void test_read_sizes(void **state)
{
    (void)state;
    char *root = temp_dir(), path[4096];
    const size_t sizes[] = {0, 1, 300, DC_IMAGE_READ_BUFFER - 1, DC_IMAGE_READ_BUFFER, DC_IMAGE_READ_BUFFER + 1,
                            100000, 5, 3 * DC_IMAGE_READ_BUFFER, 7};
    const int count = (int)(sizeof sizes / sizeof sizes[0]);
    uint8_t *want = malloc(3 * DC_IMAGE_READ_BUFFER + 100000);
    assert_non_null(want);
    dc_image_scratch keep = {0};
    for (int i = 0; i < count; i++) {
        for (size_t k = 0; k < sizes[i]; k++)
            want[k] = (uint8_t)(k * 7 + (size_t)i);
        snprintf(path, sizeof path, "%s/f%d.png", root, i);
        write_file(path, want, sizes[i]);
        for (int fresh = 0; fresh < 2; fresh++) {
            dc_image_scratch one = {0}, *sc = fresh ? &one : &keep;
            size_t n = 12345;
            assert_int_equal(dc_image_read(path, sc, &n), DC_OK);
            assert_int_equal(n, sizes[i]);
            if (n)
                assert_memory_equal(sc->file, want, n);
            dc_image_scratch_free(&one);
        }
    }
    size_t n;
    if (access("/dev/zero", R_OK) == 0) {
        assert_int_equal(dc_image_read("/dev/zero", &keep, &n), DC_ERR_IO);
        assert_errmsg_contains("/dev/zero: not a regular file");
    }
    if (access("/dev/null", R_OK) == 0) {
        assert_int_equal(dc_image_read("/dev/null", &keep, &n), DC_ERR_IO);
        assert_errmsg_contains("/dev/null: not a regular file");
    }
    snprintf(path, sizeof path, "%s/missing.png", root);
    assert_int_equal(dc_image_read(path, &keep, &n), DC_ERR_IO);
    assert_errmsg_contains("missing.png: cannot open");
    assert_int_equal(dc_image_read(root, &keep, &n), DC_ERR_IO); /* a folder */
    dc_image_scratch_free(&keep);
    free(want);
    rm_tree(root);
    free(root);
}

/* ---- a folder as batches ---- */

/* Through fit: a folder of good PNGs with a truncated one and a huge
 * claim among them; the training threads and the reader thread share its
 * batches, and whichever decodes the bad file, fit stops with the message
 * naming it (the lowest failing row of the batch wins). */
static void test_fit_hostile(void **state)
{
    (void)state;
    char *root = temp_dir(), path[4096];
    size_t n;
    char *png = read_file(FIX "img/grey.png", &n);
    for (int i = 0; i < 70; i++) {
        snprintf(path, sizeof path, "%s/%c/%02d.png", root, i % 2 ? 'a' : 'b', i);
        write_file(path, png, n);
    }
    snprintf(path, sizeof path, "%s/a/50-cut.png", root);
    write_file(path, png, n / 2);
    free(png);
    dc_image_dir_config cfg = dc_image_dir_defaults();
    cfg.verbose = 0;
    cfg.shuffle = 0;
    cfg.batch_size = 8;
    cfg.color_mode = DC_COLOR_GRAYSCALE;
    cfg.image_size[0] = cfg.image_size[1] = 4;
    dc_loader *ds;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    dc_model *m = dc_sequential_new(3, (int[]){4, 4, 1});
    dc_model_add(m, dc_layer_flatten());
    dc_model_add(m, dc_layer_dense(2, "softmax"));
    assert_int_equal(dc_model_compile(m, "sgd", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
    dc_loader_fit_config fc = dc_loader_fit_defaults();
    fc.verbose = 0;
    for (int threads = 1; threads <= 3; threads++) {
        dc_model_set_threads(m, threads);
        assert_int_equal(dc_model_fit_loader(m, ds, &fc, NULL), DC_ERR_FORMAT);
        assert_errmsg_contains("50-cut.png");
        assert_errmsg_contains("corrupt or truncated PNG");
    }
    /* the huge claim instead: refused before decoding, same way */
    snprintf(path, sizeof path, "%s/a/50-cut.png", root);
    write_file(path, PNG_HUGE, sizeof PNG_HUGE);
    dc_loader_free(ds);
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    assert_int_equal(dc_model_fit_loader(m, ds, &fc, NULL), DC_ERR_FORMAT);
    assert_errmsg_contains("50-cut.png: the PNG header claims");
    dc_loader_free(ds);
    dc_model_free(m);
    rm_tree(root);
    free(root);
}

static void test_batches(void **state)
{
    (void)state;
    char *root = temp_dir(), path[4096];
    const char *files[] = {"img/rgb.png", "img/rgb.bmp", "img/anim.gif", "img/rgb.jpg", "img/grey.png"};
    const char *dst[] = {"x/1.png", "x/2.bmp", "y/3.gif", "z/4.jpg", "z/5.png"};
    for (int i = 0; i < 5; i++) {
        size_t n;
        char src[1024];
        snprintf(src, sizeof src, FIX "%s", files[i]);
        char *b = read_file(src, &n);
        snprintf(path, sizeof path, "%s/%s", root, dst[i]);
        write_file(path, b, n);
        free(b);
    }
    fx_file *fx = fx_load("image_dir/pixels.txt");
    dc_image_dir_config cfg = dc_image_dir_defaults();
    cfg.verbose = 0;
    cfg.shuffle = 0;
    cfg.batch_size = 2;
    cfg.label_mode = DC_LABEL_CATEGORICAL;
    cfg.image_size[0] = 5;
    cfg.image_size[1] = 7;
    dc_loader *ds;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    assert_int_equal(dc_loader_count(ds), 5);
    assert_int_equal(dc_loader_cardinality(ds), 3);
    dc_tensor *x, *y;
    assert_int_equal(dc_loader_get_batch(ds, 0, &x, &y), DC_OK);
    assert_int_equal(x->ndim, 4);
    assert_int_equal(x->shape[0], 2);
    assert_int_equal(x->shape[1], 5);
    assert_int_equal(x->shape[2], 7);
    assert_int_equal(x->shape[3], 3);
    assert_int_equal(y->shape[1], 3);
    const fx_array *r = fx_get(fx, "rgb_png.resize_5x7");
    assert_close(x->data, r->data, r->size, 0, 1e-3, "batch 0 row 0");
    float onehot[6] = {1, 0, 0, 1, 0, 0};
    assert_close(y->data, onehot, 6, 0, 0, "categorical labels");
    dc_tensor_free(x);
    dc_tensor_free(y);
    assert_int_equal(dc_loader_get_batch(ds, 2, &x, &y), DC_OK); /* the short last batch */
    assert_int_equal(x->shape[0], 1);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_loader_free(ds);
    /* crop and pad keep the shape; pad leaves zeros around a wide image */
    cfg.label_mode = DC_LABEL_INT;
    cfg.image_size[0] = 9;
    cfg.image_size[1] = 3;
    cfg.pad_to_aspect_ratio = 1;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    assert_int_equal(dc_loader_get_batch(ds, 0, &x, &y), DC_OK);
    /* 6 x 9 into 9 x 3: a 2 x 3 box at rows 3..4 */
    for (int c = 0; c < 3 * 3; c++)
        assert_float_equal(x->data[c], 0.0f, 0);
    assert_float_equal(y->data[0], 0.0f, 0);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_loader_free(ds);
    cfg.pad_to_aspect_ratio = 0;
    cfg.crop_to_aspect_ratio = 1;
    cfg.color_mode = DC_COLOR_GRAYSCALE;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    assert_int_equal(dc_loader_get_batch(ds, 0, &x, &y), DC_OK);
    assert_int_equal(x->shape[3], 1);
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_loader_free(ds);
    fx_free(fx);
    rm_tree(root);
    free(root);
}

/* ---- the file prefetcher ---- */

/* 150 files (the five fixture images in turn) in three class folders. */
static char *prefetch_tree(void)
{
    static const char *const SRC[] = {"rgb.png", "grey.png", "rgb.bmp", "rgb.jpg", "rgba.png"};
    char *root = temp_dir(), path[4096], src[1024];
    for (int i = 0; i < 150; i++) {
        size_t n;
        snprintf(src, sizeof src, FIX "img/%s", SRC[i % 5]);
        char *b = read_file(src, &n);
        assert_non_null(b);
        snprintf(path, sizeof path, "%s/c%d/%03d%s", root, i % 3, i, strrchr(SRC[i % 5], '.'));
        write_file(path, b, n);
        free(b);
    }
    return root;
}

static dc_loader *prefetch_dataset(const char *root)
{
    dc_image_dir_config cfg = dc_image_dir_defaults();
    cfg.verbose = 0;
    cfg.seed = 3;
    cfg.batch_size = 8;
    cfg.image_size[0] = cfg.image_size[1] = 6;
    cfg.color_mode = DC_COLOR_GRAYSCALE;
    dc_loader *ds;
    assert_int_equal(dc_image_dataset_from_directory(root, &cfg, &ds, NULL), DC_OK);
    return ds;
}

/* Every batch of a shuffled pass through a pipe whose team has every core
 * (team_fill_alone), concatenated (x then y); n_read: batches read before
 * stopping (all when >= the count); the error status of the first failing
 * batch, its message copied into err. */
static float *pipe_pass(dc_loader *ds, int mode, int n_read, int *threads, dc_status *st_out, char *err,
                        size_t err_n)
{
    int n = ds->n, nb = (n - 1) / ds->batch_size + 1;
    int *order = malloc((size_t)n * sizeof *order);
    dc_batch_job *jobs = malloc((size_t)nb * sizeof *jobs);
    float *out = calloc((size_t)nb * (size_t)ds->batch_size * (ds->x_per + 1), sizeof(float));
    assert_true(order && jobs && out);
    for (int i = 0; i < n; i++)
        order[i] = (i * 37) % n; /* 37 and 150 are coprime */
    for (int j = 0; j < nb; j++) {
        int b = n - j * ds->batch_size < ds->batch_size ? n - j * ds->batch_size : ds->batch_size;
        jobs[j] = (dc_batch_job){j * ds->batch_size, b, 0, b, j};
    }
    ds->io_prefetch = mode;
    dc_pipe *p;
    assert_int_equal(dc_pipe_start_team(ds, order, jobs, nb, 2, 2, &p), DC_OK);
    *threads = dc_pipe_prefetch_threads(p);
    *st_out = DC_OK;
    float *o = out;
    for (int j = 0; j < nb && j < n_read; j++) {
        dc_tensor *x, *y;
        int rows;
        dc_status st = dc_pipe_next(p, &x, &y, &rows);
        if (st != DC_OK) {
            *st_out = st;
            snprintf(err, err_n, "%s", dc_errmsg());
            break;
        }
        memcpy(o, x->data, (size_t)rows * ds->x_per * sizeof(float));
        o += (size_t)rows * ds->x_per;
        memcpy(o, y->data, (size_t)rows * sizeof(float));
        o += rows;
        dc_pipe_release(p);
    }
    dc_pipe_stop(p);
    ds->io_prefetch = 0;
    free(order);
    free(jobs);
    return out;
}

static void test_prefetch(void **state)
{
    (void)state;
    char *root = prefetch_tree();
    dc_loader *ds = prefetch_dataset(root);
    size_t total = (size_t)((ds->n - 1) / ds->batch_size + 1) * (size_t)ds->batch_size * (ds->x_per + 1);
    int t_off, t_on;
    dc_status st_off, st_on;
    char e_off[1024], e_on[1024];
    float *off = pipe_pass(ds, -1, INT_MAX, &t_off, &st_off, e_off, sizeof e_off);
    float *on = pipe_pass(ds, 1, INT_MAX, &t_on, &st_on, e_on, sizeof e_on);
    assert_int_equal(st_off, DC_OK);
    assert_int_equal(st_on, DC_OK);
    assert_int_equal(t_off, 0);
    assert_true(t_on > 0); /* forced on: started with the pipe */
    assert_memory_equal(off, on, total * sizeof(float));
    free(on);
    /* the reader stops after 2 of 19 batches: the threads are joined */
    on = pipe_pass(ds, 1, 2, &t_on, &st_on, e_on, sizeof e_on);
    assert_int_equal(st_on, DC_OK);
    assert_memory_equal(off, on, 2 * (size_t)ds->batch_size * (ds->x_per + 1) * sizeof(float));
    free(on);
    free(off);
    /* files gone after indexing: the prefetcher skips them, the reader
     * stops at the first batch holding one, with the same message */
    for (int i = 40; i < 150; i += 17) {
        char path[4096];
        snprintf(path, sizeof path, "%s", ds->paths[i]);
        assert_int_equal(unlink(path), 0);
    }
    off = pipe_pass(ds, -1, INT_MAX, &t_off, &st_off, e_off, sizeof e_off);
    on = pipe_pass(ds, 1, INT_MAX, &t_on, &st_on, e_on, sizeof e_on);
    assert_int_equal(st_off, DC_ERR_IO);
    assert_int_equal(st_on, DC_ERR_IO);
    assert_string_equal(e_off, e_on);
    assert_non_null(strstr(e_on, root));
    assert_memory_equal(off, on, total * sizeof(float)); /* the batches before it */
    free(on);
    free(off);
    dc_loader_free(ds);
    rm_tree(root);
    free(root);
    /* fit from the folder, 1 and 2 threads: the same weights with the prefetcher on and off */
    root = prefetch_tree();
    ds = prefetch_dataset(root);
    for (int threads = 1; threads <= 2; threads++) {
        dc_model *m[2];
        for (int k = 0; k < 2; k++) {
            m[k] = dc_sequential_new(3, (int[]){6, 6, 1});
            assert_non_null(m[k]);
            dc_model_add(m[k], dc_layer_rescaling(1.0f / 255, 0));
            dc_model_add(m[k], dc_layer_flatten());
            dc_model_add(m[k], dc_layer_dense(3, "softmax"));
            dc_model_set_seed(m[k], 11);
            dc_model_set_threads(m[k], threads);
            assert_int_equal(dc_model_compile(m[k], "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
            dc_loader_fit_config fc = dc_loader_fit_defaults();
            fc.verbose = 0;
            fc.epochs = 2;
            ds->io_prefetch = k ? 1 : -1;
            assert_int_equal(dc_model_fit_loader(m[k], ds, &fc, NULL), DC_OK);
        }
        size_t na, nb;
        float *pa = dc_graph_params(m[0]->g, &na), *pb = dc_graph_params(m[1]->g, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(pa, pb, na * sizeof(float));
        dc_model_free(m[0]);
        dc_model_free(m[1]);
    }
    dc_loader_free(ds);
    rm_tree(root);
    free(root);
}

/* ---- Keras' argument errors ---- */

static void expect_arg_error(const char *dir, const dc_image_dir_config *cfg, const char *needle)
{
    dc_loader *ds = (dc_loader *)1, *va = NULL;
    dc_status st = dc_image_dataset_from_directory(dir, cfg, &ds, &va);
    if (st == DC_OK)
        fail_msg("expected an error containing \"%s\"", needle);
    assert_null(ds);
    assert_errmsg_contains("image_dataset_from_directory");
    assert_errmsg_contains(needle);
}

static void test_bad_args(void **state)
{
    (void)state;
    char *root = temp_dir(), path[4096];
    snprintf(path, sizeof path, "%s/cls/a.png", root);
    write_file(path, "", 0);
    snprintf(path, sizeof path, "%s/cls2/b.png", root);
    write_file(path, "", 0);
    dc_image_dir_config c = dc_image_dir_defaults();
    c.verbose = 0;
    c.validation_split = 0.2f; /* without subset */
    c.seed = 1;
    expect_arg_error(root, &c, "if `subset` is set, `validation_split` must be set, and inversely");
    c.validation_split = 0;
    c.subset = DC_SUBSET_TRAINING; /* without validation_split */
    expect_arg_error(root, &c, "if `subset` is set, `validation_split` must be set, and inversely");
    c.validation_split = 0.2f;
    c.seed = DC_SEED_NONE; /* shuffling without a seed */
    expect_arg_error(root, &c, "you must provide a `seed` argument");
    c.validation_split = 1.5f;
    c.seed = 1;
    expect_arg_error(root, &c, "`validation_split` must be between 0 and 1");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    c.image_size[0] = 0;
    expect_arg_error(root, &c, "invalid `image_size`");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    c.color_mode = (dc_color_mode)9;
    expect_arg_error(root, &c, "`color_mode` must be one of");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    c.crop_to_aspect_ratio = c.pad_to_aspect_ratio = 1;
    expect_arg_error(root, &c, "only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio`");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    const char *names[] = {"cls", "dogs"};
    c.class_names = names;
    c.n_class_names = 2;
    expect_arg_error(root, &c, "did not match the names of the subdirectories");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    int labels[3] = {0, 1, 0};
    c.labels = labels;
    c.n_labels = 3;
    expect_arg_error(root, &c, "len(labels) is 3 while we found 2 files");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    c.label_mode = DC_LABEL_BINARY;
    snprintf(path, sizeof path, "%s/cls3/c.png", root);
    write_file(path, "", 0);
    expect_arg_error(root, &c, "there must be exactly 2 class_names");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    c.subset = DC_SUBSET_BOTH;
    c.validation_split = 0.1f; /* int(0.1 * 3) = 0 validation files */
    c.seed = 3;
    expect_arg_error(root, &c, "no validation images found");
    c = dc_image_dir_defaults();
    c.verbose = 0;
    snprintf(path, sizeof path, "%s/cls", root);
    rm_tree(path);
    snprintf(path, sizeof path, "%s/cls2", root);
    rm_tree(path);
    snprintf(path, sizeof path, "%s/cls3", root);
    rm_tree(path);
    snprintf(path, sizeof path, "%s/text/readme.txt", root);
    write_file(path, "hi", 2);
    expect_arg_error(root, &c, "no images found in directory");
    expect_arg_error("/nonexistent/deepc", &c, "cannot list the directory");
    rm_tree(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numpy_shuffle), cmocka_unit_test(test_tricky_tree), cmocka_unit_test(test_formats),
        cmocka_unit_test(test_photos),        cmocka_unit_test(test_hostile),     cmocka_unit_test(test_batches),
        cmocka_unit_test(test_fit_hostile),   cmocka_unit_test(test_read_sizes),
        cmocka_unit_test(test_bad_args),      cmocka_unit_test(test_prefetch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
