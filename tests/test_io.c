/*
 * test_io.c - saving and loading: save -> load -> predict is bit-identical
 * for every layer kind; the reference safetensors fixture (written by
 * tests/fixtures/safetensors_ref.py, which follows the spec) loads, and a
 * file deepc writes passes that script's reader; hostile files are refused
 * by name with a clear message; saves are atomic under SIGKILL and a full
 * disk.
 */
#include "iotest.h"

#include "graph/graph.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define N_SAMPLES 40
#define FEATURES 36

static dc_model *with_layers(dc_layer **layers, int n, const char *optimizer)
{
    int in = FEATURES;
    dc_model *m = dc_sequential_new(1, &in);
    assert_non_null(m);
    dc_model_set_seed(m, 3);
    dc_model_set_threads(m, 1);
    for (int i = 0; i < n; i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    const char *metrics[] = {"accuracy"};
    assert_int_equal(dc_model_compile(m, optimizer, "sparse_categorical_crossentropy", metrics, 1), DC_OK);
    return m;
}

/* Models that together use every layer kind. */
static dc_model *kind_model(int which)
{
    dc_conv_config same = dc_conv_defaults(3, 3, 3);
    same.padding = DC_PADDING_SAME;
    same.activation = "relu";
    same.kernel_l2 = 0.01f;
    switch (which) {
    case 0: {
        dc_layer *l[] = {dc_layer_dense(16, "relu"), dc_layer_batch_normalization(), dc_layer_dropout(0.3f),
                         dc_layer_dense(3, "softmax")};
        return with_layers(l, 4, "adam");
    }
    case 1: {
        dc_layer *l[] = {dc_layer_reshape(3, (int[]){6, 6, 1}), dc_layer_conv2d_ex(&same), dc_layer_max_pooling2d(2, 2),
                         dc_layer_conv2d(4, 2, 2, NULL), dc_layer_global_max_pooling2d(), dc_layer_dense(3, "softmax")};
        return with_layers(l, 6, "sgd");
    }
    case 2: {
        dc_layer *l[] = {dc_layer_reshape(3, (int[]){6, 6, 1}), dc_layer_conv2d(2, 3, 3, NULL),
                         dc_layer_average_pooling2d(2, 2), dc_layer_global_average_pooling2d(),
                         dc_layer_activation("tanh"), dc_layer_dense(3, "softmax")};
        return with_layers(l, 6, "rmsprop");
    }
    case 3: {
        dc_layer *l[] = {dc_layer_reshape(2, (int[]){12, 3}), dc_layer_conv1d(4, 3, "relu"), dc_layer_max_pooling1d(2),
                         dc_layer_conv1d(2, 2, NULL), dc_layer_average_pooling1d(2), dc_layer_flatten(),
                         dc_layer_dense(3, "softmax")};
        return with_layers(l, 7, "adagrad");
    }
    case 4: {
        dc_layer *l[] = {dc_layer_reshape(2, (int[]){12, 3}), dc_layer_conv1d(2, 3, NULL),
                         dc_layer_global_max_pooling1d(), dc_layer_dense(3, "softmax")};
        return with_layers(l, 4, "adamw");
    }
    default: {
        dc_layer *l[] = {dc_layer_reshape(2, (int[]){12, 3}), dc_layer_global_average_pooling1d(),
                         dc_layer_dense(3, "softmax")};
        return with_layers(l, 3, "adam");
    }
    }
}

static void test_roundtrip_every_layer_kind(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_tensor *x, *y;
    random_data(N_SAMPLES, FEATURES, 3, 11, &x, &y);
    for (int which = 0; which < 6; which++) {
        dc_model *m = kind_model(which);
        dc_fit_config c = quiet_fit(2, 8);
        assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK); /* moves weights and BN statistics */
        free(assert_round_trip(m, x, dir, which % 2, "sparse_categorical_crossentropy", "accuracy"));
        dc_model_free(m);
    }
    assert_int_equal(count_files(dir), 2); /* no temporary files left behind */
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* Embedding (masked), LSTM, GRU, SimpleRNN, Bidirectional: token ids in, classes out. */
static void test_roundtrip_sequence_layers(void **state)
{
    (void)state;
    char *dir = make_dir();
    int steps = 6;
    dc_rng r;
    dc_rng_seed(&r, 5);
    dc_tensor *x = dc_tensor_new4(2, 24, steps, 0, 0), *y = dc_tensor_new4(1, 24, 0, 0, 0);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)dc_rng_below(&r, 10); /* zeros are masked */
    for (int i = 0; i < 24; i++)
        y->data[i] = (float)(i % 2);
    for (int which = 0; which < 2; which++) {
        dc_model *m = dc_sequential_new(1, &steps), *loaded;
        dc_model_set_seed(m, 9);
        dc_model_set_threads(m, 1);
        dc_rnn_config lstm = dc_rnn_defaults(DC_RNN_LSTM, 5);
        lstm.return_sequences = 1;
        assert_int_equal(dc_model_add(m, dc_layer_embedding(10, 4, 1)), DC_OK);
        if (which == 0) {
            assert_int_equal(dc_model_add(m, dc_layer_rnn_ex(&lstm)), DC_OK);
            assert_int_equal(dc_model_add(m, dc_layer_gru(3)), DC_OK);
        } else {
            assert_int_equal(dc_model_add(m, dc_layer_bidirectional(dc_layer_simple_rnn(3), "sum")), DC_OK);
        }
        assert_int_equal(dc_model_add(m, dc_layer_dense(2, "softmax")), DC_OK);
        assert_int_equal(dc_model_compile(m, "adam", "sparse_categorical_crossentropy", NULL, 0), DC_OK);
        dc_fit_config c = quiet_fit(2, 8);
        assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
        assert_int_equal(dc_model_save(m, join(dir, "seq.safetensors"), 1), DC_OK);
        assert_int_equal(dc_model_load(join(dir, "seq.safetensors"), &loaded), DC_OK);
        assert_same_predictions(m, loaded, x);
        char *a, *b;
        assert_int_equal(dc_model_to_json(m, &a), DC_OK);
        assert_int_equal(dc_model_to_json(loaded, &b), DC_OK);
        assert_string_equal(a, b);
        assert_non_null(strstr(a, which ? "\"merge_mode\":\"sum\"" : "\"mask_zero\":true"));
        free(a);
        free(b);
        dc_model_free(m);
        dc_model_free(loaded);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    rm_dir(dir);
}

/* The whole file, as bytes (*len set). */
static char *file_bytes(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    *len = ftell(f);
    rewind(f);
    char *b = malloc((size_t)*len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)*len, f), (size_t)*len);
    fclose(f);
    return b;
}

/* A per-step tagger (Embedding(mask_zero) -> LSTM(return_sequences) ->
 * Dense(softmax) on every step), sparse and categorical: after fit, load
 * gives the same predictions bit for bit, the same masked loss and
 * accuracy, and saves the same bytes again. */
static void test_roundtrip_sequence_tagger(void **state)
{
    (void)state;
    char *dir = make_dir();
    enum { N = 20, STEPS = 5, CLASSES = 3 };
    dc_rng r;
    dc_rng_seed(&r, 6);
    dc_tensor *x = dc_tensor_new4(2, N, STEPS, 0, 0), *labels = dc_tensor_new4(2, N, STEPS, 0, 0),
              *onehot = dc_tensor_new4(3, N, STEPS, CLASSES, 0);
    for (int i = 0; i < N * STEPS; i++) {
        int pad = i % STEPS < (i / STEPS) % 3; /* 0 to 2 padded steps in front */
        x->data[i] = pad ? 0.0f : (float)(1 + dc_rng_below(&r, 7));
        labels->data[i] = (float)((int)x->data[i] % CLASSES);
        onehot->data[i * CLASSES + (int)labels->data[i]] = 1.0f;
    }
    for (int which = 0; which < 2; which++) {
        const dc_tensor *y = which ? onehot : labels;
        dc_model *loaded, *m = tagger_model(STEPS, 8, 4, 6, CLASSES,
                                            which ? "categorical_crossentropy" : "sparse_categorical_crossentropy", 4);
        dc_fit_config c = quiet_fit(2, 8);
        c.x_val = x;
        c.y_val = y;
        assert_int_equal(dc_model_fit(m, x, y, &c, NULL), DC_OK);
        assert_int_equal(dc_model_save(m, join(dir, "tagger.safetensors"), 1), DC_OK);
        assert_int_equal(dc_model_load(join(dir, "tagger.safetensors"), &loaded), DC_OK);
        assert_same_predictions(m, loaded, x);
        double ra[2], rb[2];
        assert_int_equal(dc_model_evaluate(m, x, y, 8, 0, ra, 2), DC_OK);
        assert_int_equal(dc_model_evaluate(loaded, x, y, 8, 0, rb, 2), DC_OK);
        assert_memory_equal(ra, rb, sizeof ra);
        assert_int_equal(dc_model_save(loaded, join(dir, "again.safetensors"), 1), DC_OK);
        long la, lb;
        char *a = file_bytes(join(dir, "tagger.safetensors"), &la), *b = file_bytes(join(dir, "again.safetensors"), &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(a, b, (size_t)la);
        free(a);
        free(b);
        /* and it trains on from there */
        c.epochs = 3;
        c.initial_epoch = dc_model_epoch(loaded);
        assert_int_equal(dc_model_fit(loaded, x, y, &c, NULL), DC_OK);
        dc_model_free(m);
        dc_model_free(loaded);
    }
    dc_tensor_free(x);
    dc_tensor_free(labels);
    dc_tensor_free(onehot);
    rm_dir(dir);
}

static dc_model *ref_model(void)
{
    int in = 4;
    dc_model *m = dc_sequential_new(1, &in);
    assert_int_equal(dc_model_add(m, dc_layer_dense(3, "relu")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "sgd", "mse", NULL, 0), DC_OK);
    return m;
}

static void test_reference_file_loads(void **state)
{
    (void)state;
    dc_model *m = ref_model();
    assert_int_equal(dc_model_load_weights(m, DEEPC_FIXTURES "/ref_model.safetensors"), DC_OK);
    fx_file *f = fx_load("ref_model.txt");
    const char *names[] = {"dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"};
    dc_graph *g = dc_model_graph(m);
    for (int i = 0; i < 4; i++) {
        const fx_array *want = fx_get(f, names[i]);
        for (int n = 0; n < g->n_nodes; n++)
            if (g->nodes[n]->is_param && strcmp(g->nodes[n]->name, names[i]) == 0)
                assert_close(dc_node_value(g->nodes[n]), want->data, want->size, 0, 0, names[i]);
    }
    const fx_array *x = fx_get(f, "x"), *y = fx_get(f, "y");
    dc_tensor *tx = dc_tensor_from(2, x->shape, x->data), *out;
    assert_int_equal(dc_model_predict(m, tx, 1, &out), DC_OK);
    assert_close(out->data, y->data, 2, 1e-6, 1e-7, "reference model output");
    dc_tensor_free(tx);
    dc_tensor_free(out);
    fx_free(f);
    dc_model_free(m);
}

static void test_python_reader_accepts_deepc_file(void **state)
{
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0)
        skip(); /* CI has no Python; the developer run records the result */
    char *dir = make_dir(), args[1024];
    dc_model *m = kind_model(0);
    assert_int_equal(dc_model_save(m, join(dir, "m.safetensors"), 1), DC_OK);
    snprintf(args, sizeof args, "%s/safetensors_ref.py check %s", DEEPC_FIXTURES, join(dir, "m.safetensors"));
    const char *text = run_python_check(dir, args, "the reference reader refused deepc's file");
    assert_non_null(strstr(text, "dense/kernel F32 [36, 16]"));
    assert_non_null(strstr(text, "optimizer/momentum/dense/kernel F32 [36, 16]"));
    assert_non_null(strstr(text, "batch_normalization/moving_variance F32 [16]"));
    dc_model_free(m);
    rm_dir(dir);
}

/* ---- hostile files ---- */

/* Writes an 8-byte length (header_len, or the real one when < 0), the header and data_len bytes. */
static void write_raw(const char *path, const char *header, long long header_len, size_t data_len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    if (!header) { /* shorter than the 8-byte length */
        fputs("abc", fp);
        fclose(fp);
        return;
    }
    uint64_t n = header_len < 0 ? strlen(header) : (uint64_t)header_len;
    for (int i = 0; i < 8; i++)
        fputc((int)(n >> (8 * i) & 0xff), fp);
    fputs(header, fp);
    for (size_t i = 0; i < data_len; i++)
        fputc(0, fp);
    fclose(fp);
}

typedef struct hostile {
    const char *what;
    const char *header;
    long long header_len;
    size_t data_len;
    dc_status status;
    const char *message;
} hostile;

#define REF_KERNEL "\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]}"
#define REF_REST                                                                                                    \
    "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[48,60]},"                                    \
    "\"dense_1/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[60,84]},"                              \
    "\"dense_1/bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[84,92]}"

static const hostile hostiles[] = {
    {"truncated file (3 bytes)", NULL, 0, 0, DC_ERR_FORMAT, "truncated safetensors file: 3 bytes"},
    {"truncated data", "{" REF_KERNEL "," REF_REST "}", -1, 80, DC_ERR_FORMAT, "lie outside the 80-byte data buffer"},
    {"header length larger than the file", "{}", 1000000, 0, DC_ERR_FORMAT,
     "header length 1000000 is larger than the 2 bytes that follow it"},
    {"absurd header length", "{}", -2 + 0x7fffffffffffffffLL, 0, DC_ERR_FORMAT, "is larger than the 2 bytes"},
    {"overlapping offsets",
     "{" REF_KERNEL ",\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[40,52]},"
     "\"dense_1/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[52,76]},"
     "\"dense_1/bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[76,84]}}",
     -1, 84, DC_ERR_FORMAT, "tensor \"dense/bias\" (bytes 40..52) overlaps tensor \"dense/kernel\""},
    {"out-of-range offsets", "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[4000,4048]}}", -1,
     48, DC_ERR_FORMAT, "data_offsets [4000, 4048] lie outside the 48-byte data buffer"},
    {"hole in the buffer", "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[4,52]}}", -1, 52,
     DC_ERR_FORMAT, "hole in the data buffer: bytes 0..4"},
    {"offsets disagree with the shape", "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,44]}}",
     -1, 44, DC_ERR_FORMAT, "shape and dtype F32 need 48 bytes, data_offsets give 44"},
    {"dtype that disagrees with the model",
     "{\"dense/kernel\":{\"dtype\":\"F16\",\"shape\":[4,3],\"data_offsets\":[0,24]},"
     "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]},"
     "\"dense_1/kernel\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[36,60]},"
     "\"dense_1/bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[60,68]}}",
     -1, 68,
     DC_ERR_VERIFY, "tensor \"dense/kernel\" has dtype F16, the model needs F32"},
    {"shape that disagrees with the model",
     "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[3,4],\"data_offsets\":[0,48]}," REF_REST "}", -1, 92,
     DC_ERR_SHAPE, "tensor \"dense/kernel\" has shape (3, 4), the model's weight is (4, 3)"},
    {"duplicate tensor names", "{" REF_KERNEL "," REF_KERNEL "}", -1, 48, DC_ERR_FORMAT,
     "duplicate key \"dense/kernel\""},
    {"invalid JSON", "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4,3],\"data_offsets\":[0,48]}", -1, 48,
     DC_ERR_FORMAT, "invalid JSON at byte 67 (line 1, column 68): expected ',' or '}' in an object"},
    {"absurd dimensions (size product overflows)",
     "{\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", -1, 0,
     DC_ERR_FORMAT, "need more than 18446744073709551615 bytes"},
    {"missing weight", "{" REF_KERNEL "}", -1, 48, DC_ERR_VERIFY,
     "the model's weight \"dense/bias\" (3,) is missing from the file"},
    {"tensor the model lacks",
     "{" REF_KERNEL "," REF_REST ",\"dense_2/kernel\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[92,96]}}", -1,
     96, DC_ERR_VERIFY, "the file has a tensor \"dense_2/kernel\" that the model lacks"},
    {"unknown dtype", "{\"x\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, DC_ERR_FORMAT,
     "unknown dtype \"F33\""},
    {"negative dimension", "{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4, DC_ERR_FORMAT,
     "shape[0] is not a non-negative integer"},
    {"header not an object", "[1,2]", -1, 0, DC_ERR_FORMAT, "must be a JSON object starting with '{'"},
    {"metadata value not a string", "{\"__metadata__\":{\"format\":1}}", -1, 0, DC_ERR_FORMAT,
     "__metadata__ value \"format\" is a number, expected a string"},
    {"extra key in an entry", "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"y\":1}}", -1, 4,
     DC_ERR_FORMAT, "entry must have exactly the keys dtype, shape and data_offsets"},
};

static void test_hostile_safetensors(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "bad.safetensors");
    dc_model *m = ref_model();
    for (size_t i = 0; i < sizeof hostiles / sizeof hostiles[0]; i++) {
        const hostile *h = &hostiles[i];
        write_raw(path, h->header, h->header_len, h->data_len);
        dc_status st = dc_model_load_weights(m, path);
        if (st != h->status || !strstr(dc_errmsg(), h->message))
            fail_msg("%s: got status %d \"%s\", expected %d with \"%s\"", h->what, st, dc_errmsg(), h->status,
                     h->message);
        assert_non_null(strstr(dc_errmsg(), path)); /* every message names the file */
        dc_model *other;
        assert_int_not_equal(dc_model_load(path, &other), DC_OK);
        assert_null(other);
    }
    /* A weights-only file is not a whole model. */
    assert_int_equal(dc_model_save_weights(m, path), DC_OK);
    dc_model *other;
    assert_int_equal(dc_model_load(path, &other), DC_ERR_FORMAT);
    assert_errmsg_contains("no model_config in the file's metadata");
    assert_int_equal(dc_model_load(join(dir, "missing.safetensors"), &other), DC_ERR_IO);
    assert_errmsg_contains("cannot open");
    dc_model_free(m);
    rm_dir(dir);
}

typedef struct bad_json {
    const char *text;
    const char *message;
} bad_json;

static void test_hostile_model_json(void **state)
{
    (void)state;
    static const bad_json cases[] = {
        {"{\"class_name\": \"Sequential\",", "invalid JSON at byte 28 (line 1, column 29): expected a string key"},
        {"[1, 2,]", "expected a value"},
        {"{\"a\": 1, \"a\": 2}", "duplicate key \"a\""},
        {"\"\xff\"", "invalid UTF-8 in a string"},
        {"{\"a\": 1e999}", "number out of the range of a double"},
        {"{\"a\": \"\\ud800\"}", "unpaired UTF-16 surrogate"},
        {"{\"class_name\":\"MyModel\"}", "class_name must be \"Sequential\" or \"Functional\""},
        {"{\"class_name\":\"Functional\"}", "config.layers must be an array"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[]}}", "layer 0 must be an InputLayer"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,-3]}}]}}",
         "batch_shape[1] must be a positive integer"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,65536,65536,65536]}}]}}",
         "batch_shape holds more than"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"EinsumDense\",\"config\":{}}]}}",
         "layer 1: unknown layer class \"EinsumDense\""},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"activation\":\"relu\"}}]}}",
         "layer 1 (Dense): missing key \"units\""},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"units\":\"8\"}}]}}",
         "layer 1 (Dense): key \"units\" is a string, expected an integer"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"units\":1e12}}]}}",
         "key \"units\" is 1000000000000, expected an integer from 1 to 16777216"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"units\":2,\"activation\":\"relu6\"}}]}}",
         "key \"activation\": unknown activation"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"units\":2,\"name\":\"d\"}},"
         "{\"class_name\":\"Dense\",\"config\":{\"units\":2,\"name\":\"d\"}}]}}",
         "layer 2 (Dense): key \"name\": \"d\" is also the name of layer 1"},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4]}},{\"class_name\":\"Dense\",\"config\":{\"units\":2,\"name\":\"dense_1\"}},"
         "{\"class_name\":\"Dense\",\"config\":{\"units\":2}}]}}",
         "layer 2 (Dense): default name \"dense_1\" is also the name of layer 1; give this layer a \"name\""},
        {"{\"class_name\":\"Sequential\",\"config\":{\"layers\":[{\"class_name\":\"InputLayer\",\"config\":{"
         "\"batch_shape\":[null,4,4,1]}},{\"class_name\":\"Conv2D\",\"config\":{\"filters\":2,\"kernel_size\":[3,3,3]}}]}}",
         "key \"kernel_size\" must be an integer or an array of 2 integers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dc_model *m = (dc_model *)1;
        dc_status st = dc_model_from_json(cases[i].text, strlen(cases[i].text), &m);
        if (st == DC_OK || !strstr(dc_errmsg(), cases[i].message))
            fail_msg("case %zu: got status %d \"%s\", expected \"%s\"", i, st, dc_errmsg(), cases[i].message);
        assert_null(m);
    }
    /* Nesting deeper than the limit, and a text that is not NUL-terminated. */
    char deep[300];
    memset(deep, '[', sizeof deep);
    dc_model *m;
    assert_int_equal(dc_model_from_json(deep, sizeof deep, &m), DC_ERR_FORMAT);
    assert_errmsg_contains("nested deeper than 64 levels");
    assert_int_equal(dc_model_from_json("{\"a\": 12345", 8, &m), DC_ERR_FORMAT);
    assert_errmsg_contains("at byte 8 (line 1, column 9): expected ',' or '}' in an object");
}

/* ---- atomic saves ---- */

static void test_full_disk_keeps_previous_file(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "ckpt.safetensors");
    dc_model *small = ref_model(), *big = kind_model(0), *loaded;
    fill_params(small, 0.5f);
    assert_int_equal(dc_model_save(small, path, 1), DC_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    /* A file-size limit makes write() fail with EFBIG part-way, as a full disk would with ENOSPC. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size + 100;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    dc_status st = dc_model_save(big, path, 1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, prev);
    assert_int_equal(st, DC_ERR_IO);
    assert_errmsg_contains("save failed (write: File too large); the previous file, if any, is unchanged");
    assert_int_equal(count_files(dir), 1); /* the temporary file was removed */
    assert_int_equal(dc_model_load(path, &loaded), DC_OK);
    assert_true(first_param(loaded) == 0.5f);
    dc_model_free(loaded);
    /* A folder that does not exist. */
    assert_int_equal(dc_model_save(small, "/nonexistent-dir/x.safetensors", 0), DC_ERR_IO);
    assert_errmsg_contains("cannot create a temporary file beside it");
    dc_model_free(small);
    dc_model_free(big);
    rm_dir(dir);
}

static void test_sigkill_during_save_keeps_a_loadable_file(void **state)
{
    (void)state;
    char *dir = make_dir(), *path = join(dir, "ckpt.safetensors");
    dc_model *m = kind_model(0);
    fill_params(m, 1.0f);
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    for (int round = 0; round < 4; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) { /* the "training process": saves as fast as it can, a new value each time */
            for (int i = 2;; i++) {
                fill_params(m, (float)i);
                if (dc_model_save(m, path, 1) != DC_OK)
                    _exit(3);
            }
        }
        struct timespec ts = {0, (5 + 7 * round) * 1000000L};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        dc_model *loaded;
        if (dc_model_load(path, &loaded) != DC_OK)
            fail_msg("round %d: the checkpoint does not load after SIGKILL: %s", round, dc_errmsg());
        float v = first_param(loaded);
        assert_true(v >= 1.0f && v == floorf(v)); /* a whole save, never a mix */
        dc_model_free(loaded);
    }
    dc_model_free(m);
    rm_dir(dir);
}

static void test_errors_before_compile(void **state)
{
    (void)state;
    int in = 4;
    dc_model *m = dc_sequential_new(1, &in), *out;
    assert_int_equal(dc_model_add(m, dc_layer_dense(2, NULL)), DC_OK);
    assert_int_equal(dc_model_save(m, "/tmp/x", 0), DC_ERR_STATE);
    assert_errmsg_contains("save: the model is not compiled");
    assert_int_equal(dc_model_load_weights(m, "/tmp/x"), DC_ERR_STATE);
    char *json;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK); /* the architecture alone needs no compile */
    assert_int_equal(dc_model_from_json(json, strlen(json), &out), DC_OK);
    assert_null(strstr(json, "compile_config"));
    free(json);
    dc_model_free(out);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_layer_kind),
        cmocka_unit_test(test_roundtrip_sequence_layers),
        cmocka_unit_test(test_roundtrip_sequence_tagger),
        cmocka_unit_test(test_reference_file_loads),
        cmocka_unit_test(test_python_reader_accepts_deepc_file),
        cmocka_unit_test(test_hostile_safetensors),
        cmocka_unit_test(test_hostile_model_json),
        cmocka_unit_test(test_full_disk_keeps_previous_file),
        cmocka_unit_test(test_sigkill_during_save_keeps_a_loadable_file),
        cmocka_unit_test(test_errors_before_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
