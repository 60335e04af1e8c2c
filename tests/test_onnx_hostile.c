/*
 * test_onnx_hostile.c - the ONNX reader refuses damaged and hostile files
 * with a clear error, never a crash, a hang or a huge allocation: a
 * truncated file, garbage, a tensor whose data is shorter than its shape, a
 * graph with a cycle, a node input nobody produces, a dimension of 2^40,
 * an opset newer than supported, an unsupported op (named, with its node
 * and the supported list), external data pointing outside the model's
 * folder (absolute, "..", a symbolic link out) while external data beside
 * the model loads, the load budget, and the path rules every deepc reader
 * follows (a FIFO, a folder, a missing file).
 *
 * Each hostile file is made here from the committed PyTorch fixture
 * tests/fixtures/onnx/mlp.onnx: parsed with protobuf-c, one thing changed,
 * packed again into a temporary folder.
 */
#include "testutil.h"

#include "onnx.pb-c.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MLP DEEPC_FIXTURES "/onnx/mlp.onnx"

typedef struct fixture {
    char dir[64];
    char path[128];
    uint8_t *bytes;
    size_t len;
    Onnx__ModelProto *m;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/deepc_onnx_hXXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/model.onnx", f->dir);
    FILE *in = fopen(MLP, "rb");
    if (!in)
        return -1;
    fseek(in, 0, SEEK_END);
    f->len = (size_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    f->bytes = malloc(f->len);
    if (fread(f->bytes, 1, f->len, in) != f->len)
        return -1;
    fclose(in);
    f->m = onnx__model_proto__unpack(NULL, f->len, f->bytes);
    *state = f;
    return f->m ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    static const char *const files[] = {"model.onnx", "weights.bin", "link.bin", "fifo.onnx"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[192];
        snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    rmdir(f->dir);
    onnx__model_proto__free_unpacked(f->m, NULL);
    free(f->bytes);
    free(f);
    return 0;
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *o = fopen(path, "wb");
    assert_non_null(o);
    assert_int_equal(fwrite(b, 1, n, o), n);
    fclose(o);
}

/* Packs the (changed) model to f->path. */
static void write_model(fixture *f)
{
    size_t n = onnx__model_proto__get_packed_size(f->m);
    uint8_t *b = malloc(n);
    assert_non_null(b);
    onnx__model_proto__pack(f->m, b);
    write_bytes(f->path, b, n);
    free(b);
}

/* Loading f->path fails with `status` and a message holding each needle. */
static void expect_error(const char *path, dc_status status, const char *const *needles, int n)
{
    dc_model *m = (dc_model *)1;
    dc_status st = dc_model_load_onnx(path, &m);
    if (st != status)
        fail_msg("status %d, expected %d: %s", st, status, dc_errmsg());
    assert_null(m);
    for (int i = 0; i < n; i++)
        assert_errmsg_contains(needles[i]);
}

static void test_original_loads(void **state)
{
    fixture *f = *state;
    write_model(f);
    dc_model *m = NULL;
    if (dc_model_load_onnx(f->path, &m) != DC_OK)
        fail_msg("%s", dc_errmsg());
    dc_model_free(m);
}

static void test_truncated(void **state)
{
    fixture *f = *state;
    for (size_t cut = 1; cut < f->len; cut += f->len / 7) {
        write_bytes(f->path, f->bytes, f->len - cut);
        dc_model *m = (dc_model *)1;
        dc_status st = dc_model_load_onnx(f->path, &m);
        assert_int_not_equal(st, DC_OK);
        assert_null(m);
    }
    write_bytes(f->path, f->bytes, f->len / 2);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"model.onnx", "not an ONNX model"}, 2);
    write_bytes(f->path, "\x0a\xff\xff\xff\xff\x0f garbage", 15);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"not an ONNX model"}, 1);
    write_bytes(f->path, "", 0); /* an empty message parses: no graph */
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"opset"}, 1);
}

static Onnx__TensorProto *first_weight(fixture *f)
{
    Onnx__GraphProto *g = f->m->graph;
    for (size_t i = 0; i < g->n_initializer; i++)
        if (g->initializer[i]->n_dims == 2)
            return g->initializer[i];
    fail_msg("no 2-D initializer");
    return NULL;
}

static void test_data_shorter_than_shape(void **state)
{
    fixture *f = *state;
    Onnx__TensorProto *t = first_weight(f);
    t->dims[0] += 1;
    write_model(f);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){t->name, "holds", "its shape needs"}, 3);
    t->dims[0] -= 1;
}

static void test_dimension_2_pow_40(void **state)
{
    fixture *f = *state;
    Onnx__TensorProto *t = first_weight(f);
    int64_t old = t->dims[0];
    t->dims[0] = (int64_t)1 << 40;
    write_model(f);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){t->name, "1099511627776"}, 2);
    t->dims[0] = old;
    /* on the graph input too */
    Onnx__TensorShapeProto__Dimension *d = f->m->graph->input[0]->type->tensor_type->shape->dim[1];
    old = d->dim_value;
    d->dim_value = (int64_t)1 << 40;
    write_model(f);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"input 'input'", "axis 1"}, 2);
    d->dim_value = old;
}

static void test_cycle(void **state)
{
    fixture *f = *state;
    Onnx__GraphProto *g = f->m->graph;
    char *old = g->node[0]->input[0];
    g->node[0]->input[0] = g->node[1]->output[0]; /* Gemm reads the Relu after it */
    write_model(f);
    g->node[0]->input[0] = old;
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"cycle"}, 1);
}

static void test_input_nobody_produces(void **state)
{
    fixture *f = *state;
    Onnx__GraphProto *g = f->m->graph;
    char *old = g->node[1]->input[0];
    g->node[1]->input[0] = "nobody_makes_me";
    write_model(f);
    g->node[1]->input[0] = old;
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"nobody_makes_me", "produced by no node"}, 2);
}

static void test_opset_newer(void **state)
{
    fixture *f = *state;
    int64_t old = f->m->opset_import[0]->version;
    f->m->opset_import[0]->version = 18;
    write_model(f);
    f->m->opset_import[0]->version = old;
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"opset 18", "newer than supported"}, 2);
}

static void test_unsupported_op(void **state)
{
    fixture *f = *state;
    Onnx__NodeProto *n = f->m->graph->node[1];
    char *old = n->op_type;
    n->op_type = "Mystery";
    write_model(f);
    n->op_type = old;
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"unsupported op Mystery", n->name, "Gemm, "}, 3);
}

/* The first 2-D weight moved to an external file `location` (written at
 * `file` when not NULL); returns the saved raw data to restore. */
static void external(fixture *f, const char *location, const char *file)
{
    Onnx__TensorProto *t = first_weight(f);
    ProtobufCBinaryData raw = t->raw_data;
    if (file)
        write_bytes(file, raw.data, raw.len);
    Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    e.key = "location";
    e.value = (char *)location;
    Onnx__StringStringEntryProto *entries[1] = {&e};
    t->has_raw_data = 0;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    t->n_external_data = 1;
    t->external_data = entries;
    write_model(f);
    t->has_raw_data = 1;
    t->has_data_location = 0;
    t->n_external_data = 0;
    t->external_data = NULL;
    t->raw_data = raw;
}

static void test_external_data(void **state)
{
    fixture *f = *state;
    char file[192], outside[192], link[192];
    /* beside the model: loads, and predicts as the original */
    snprintf(file, sizeof file, "%s/weights.bin", f->dir);
    external(f, "weights.bin", file);
    dc_model *m = NULL, *ref = NULL;
    if (dc_model_load_onnx(f->path, &m) != DC_OK)
        fail_msg("%s", dc_errmsg());
    assert_int_equal(dc_model_load_onnx(MLP, &ref), DC_OK);
    dc_tensor *x = dc_tensor_new(2, (int[]){3, 20}), *a = NULL, *b = NULL;
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)((i * 37) % 11) / 11.0f - 0.5f;
    assert_int_equal(dc_model_predict(m, x, 8, &a), DC_OK);
    assert_int_equal(dc_model_predict(ref, x, 8, &b), DC_OK);
    assert_memory_equal(a->data, b->data, a->size * sizeof(float));
    dc_tensor_free(x), dc_tensor_free(a), dc_tensor_free(b);
    dc_model_free(m), dc_model_free(ref);
    /* outside the folder */
    snprintf(outside, sizeof outside, "%s_outside.bin", f->dir);
    write_bytes(outside, "0123456789abcdef", 16);
    external(f, outside, NULL);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"absolute path"}, 1);
    external(f, "../x.bin", NULL);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"\"..\""}, 1);
    external(f, "sub/../../x.bin", NULL);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"\"..\""}, 1);
    snprintf(link, sizeof link, "%s/link.bin", f->dir);
    assert_int_equal(symlink(outside, link), 0);
    external(f, "link.bin", NULL);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"outside the model's folder"}, 1);
    unlink(outside);
    /* missing, and shorter than the tensor */
    external(f, "missing.bin", NULL);
    expect_error(f->path, DC_ERR_IO, (const char *[]){"missing.bin"}, 1);
    write_bytes(file, "short", 5);
    external(f, "weights.bin", NULL);
    expect_error(f->path, DC_ERR_FORMAT, (const char *[]){"external data needs bytes"}, 1);
}

static void test_paths(void **state)
{
    fixture *f = *state;
    char fifo[192];
    snprintf(fifo, sizeof fifo, "%s/fifo.onnx", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    expect_error(fifo, DC_ERR_IO, (const char *[]){"not a regular file"}, 1);
    expect_error(f->dir, DC_ERR_IO, (const char *[]){"not a regular file"}, 1);
    char missing[192];
    snprintf(missing, sizeof missing, "%s/none.onnx", f->dir);
    dc_model *m = (dc_model *)1;
    assert_int_equal(dc_model_load_onnx(missing, &m), DC_ERR_IO);
    assert_null(m);
}

static void test_budgets(void **state)
{
    fixture *f = *state;
    (void)f;
    dc_onnx_import_config c = dc_onnx_import_defaults();
    c.max_activation_bytes = 1024;
    dc_model *m = (dc_model *)1;
    assert_int_equal(dc_model_load_onnx_ex(MLP, &c, &m), DC_ERR_RANGE);
    assert_null(m);
    assert_errmsg_contains("load budget");
    c = dc_onnx_import_defaults();
    c.max_file_bytes = 100;
    assert_int_not_equal(dc_model_load_onnx_ex(MLP, &c, &m), DC_OK);
    assert_null(m);
}

/* input_shape: a size out of range, or one the file fixes otherwise, is an
 * error naming the entry; the file's own size is accepted. */
static void test_input_shape(void **state)
{
    (void)state;
    dc_onnx_import_config c = dc_onnx_import_defaults();
    dc_model *m = (dc_model *)1;
    c.input_shape[1] = -3;
    assert_int_equal(dc_model_load_onnx_ex(MLP, &c, &m), DC_ERR_ARG);
    assert_null(m);
    assert_errmsg_contains("input_shape[1] is -3");
    c.input_shape[1] = 21; /* mlp.onnx's input is (batch, 20) */
    assert_int_equal(dc_model_load_onnx_ex(MLP, &c, &m), DC_ERR_ARG);
    assert_null(m);
    assert_errmsg_contains("fixes axis 1 at 20");
    c.input_shape[1] = 20;
    assert_int_equal(dc_model_load_onnx_ex(MLP, &c, &m), DC_OK);
    dc_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_original_loads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_shorter_than_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dimension_2_pow_40, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_nobody_produces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_opset_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_op, setup, teardown),
        cmocka_unit_test_setup_teardown(test_external_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_shape, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
