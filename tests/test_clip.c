/*
 * test_clip.c - gradient clipping (Keras' optimizer arguments clipnorm,
 * global_clipnorm, clipvalue): each mode against Keras 3's formulas
 * (base_optimizer.py _clip_gradients) written out here in double; clipnorm
 * taking each weight of a model on its own; the arguments through save and
 * load (null in the file when unset, as Keras writes None); the errors.
 */
#include "iotest.h"

#include "model/model.h"
#include "optim/optim.h"

#include <math.h>

/* Three variables in one buffer: a large gradient, a small one, a zero one. */
#define NV 3
static const size_t starts[NV] = {0, 4, 7};
static const float grads[9] = {3.0f, -4.0f, 12.0f, 0.5f, 0.01f, -0.02f, 0.02f, 0.0f, 0.0f};

/* One plain SGD step (lr 1, w 0) with `cfg`'s clipping: returns -update = the clipped gradient. */
static void clipped_by_sgd(dc_optimizer_config cfg, int split, float *out)
{
    cfg.kind = DC_OPT_SGD;
    cfg.learning_rate = 1.0f;
    dc_optimizer *o = dc_optimizer_new(&cfg, 9);
    assert_non_null(o);
    if (split)
        assert_int_equal(dc_optimizer_set_variables(o, NV, starts), DC_OK);
    float w[9] = {0};
    dc_optimizer_step(o, w, grads);
    for (int i = 0; i < 9; i++)
        out[i] = -w[i];
    dc_optimizer_free(o);
}

static double norm_of(const float *g, size_t lo, size_t hi)
{
    double s = 0;
    for (size_t i = lo; i < hi; i++)
        s += (double)g[i] * g[i];
    return sqrt(s);
}

static void assert_all_near(const float *got, const double *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-6 * fmax(1.0, fabs(want[i])))
            fail_msg("%s: element %d is %.9g, expected %.9g", what, i, (double)got[i], want[i]);
}

static void test_clipnorm_per_variable(void **state)
{
    (void)state;
    dc_optimizer_config c = dc_optimizer_defaults(DC_OPT_SGD);
    c.clipnorm = 1.0f;
    float got[9];
    double want[9];
    clipped_by_sgd(c, 1, got);
    for (int v = 0; v < NV; v++) {
        size_t lo = starts[v], hi = v + 1 < NV ? starts[v + 1] : 9;
        double n = norm_of(grads, lo, hi);
        for (size_t i = lo; i < hi; i++)
            want[i] = grads[i] * 1.0 / fmax(n, 1.0);
    }
    assert_all_near(got, want, 9, "clipnorm over 3 variables");
    /* the first variable (norm 13) came down to norm 1; the others are untouched */
    assert_true(fabs(norm_of(got, 0, 4) - 1.0) < 1e-6);
    assert_true(got[4] == grads[4] && got[7] == 0.0f);

    /* one buffer is one variable unless split: the whole norm is clipped */
    clipped_by_sgd(c, 0, got);
    double n = norm_of(grads, 0, 9);
    for (int i = 0; i < 9; i++)
        want[i] = grads[i] / n;
    assert_all_near(got, want, 9, "clipnorm over one variable");
}

static void test_global_clipnorm(void **state)
{
    (void)state;
    dc_optimizer_config c = dc_optimizer_defaults(DC_OPT_SGD);
    float got[9];
    double want[9], n = norm_of(grads, 0, 9);
    const float limits[2] = {2.0f, 100.0f}; /* below and above the norm */
    for (int k = 0; k < 2; k++) {
        c.global_clipnorm = limits[k];
        clipped_by_sgd(c, 1, got); /* the split does not matter */
        for (int i = 0; i < 9; i++)
            want[i] = grads[i] * limits[k] * fmin(1.0 / n, 1.0 / limits[k]);
        assert_all_near(got, want, 9, "global_clipnorm");
    }
    /* a gradient that is not finite makes every update NaN (Keras' scale + (norm - norm)) */
    c.global_clipnorm = 1.0f;
    c.kind = DC_OPT_SGD;
    dc_optimizer *o = dc_optimizer_new(&c, 3);
    float w[3] = {0}, g[3] = {1.0f, INFINITY, 0.0f};
    dc_optimizer_step(o, w, g);
    for (int i = 0; i < 3; i++)
        assert_true(isnan(w[i]));
    dc_optimizer_free(o);
}

static void test_clipvalue(void **state)
{
    (void)state;
    dc_optimizer_config c = dc_optimizer_defaults(DC_OPT_SGD);
    c.clipvalue = 0.5f;
    float got[9];
    double want[9];
    clipped_by_sgd(c, 0, got);
    for (int i = 0; i < 9; i++)
        want[i] = fmax(-0.5, fmin(0.5, grads[i]));
    assert_all_near(got, want, 9, "clipvalue");
}

/* Adam sees the clipped gradient: 3 steps against Keras' Adam on it. */
static void test_adam_on_clipped(void **state)
{
    (void)state;
    dc_optimizer_config c = dc_optimizer_defaults(DC_OPT_ADAM);
    c.clipnorm = 0.1f;
    dc_optimizer *o = dc_optimizer_new(&c, 9);
    assert_int_equal(dc_optimizer_set_variables(o, NV, starts), DC_OK);
    float w[9] = {0};
    double ww[9] = {0}, m[9] = {0}, v[9] = {0};
    for (int t = 1; t <= 3; t++) {
        dc_optimizer_step(o, w, grads);
        double alpha = 1e-3 * sqrt(1 - pow(0.999, t)) / (1 - pow(0.9, t));
        for (int vi = 0; vi < NV; vi++) {
            size_t lo = starts[vi], hi = vi + 1 < NV ? starts[vi + 1] : 9;
            double n = norm_of(grads, lo, hi);
            for (size_t i = lo; i < hi; i++) {
                double g = grads[i] * 0.1 / fmax(n, 0.1);
                m[i] += (g - m[i]) * 0.1;
                v[i] += (g * g - v[i]) * 0.001;
                ww[i] -= alpha * m[i] / (sqrt(v[i]) + 1e-7);
            }
        }
    }
    for (int i = 0; i < 9; i++)
        if (fabs(w[i] - ww[i]) > 1e-5 * fabs(ww[i]) + 1e-9)
            fail_msg("Adam after clipnorm: w[%d] %.9g, expected %.9g", i, (double)w[i], ww[i]);
    dc_optimizer_free(o);
}

/* Dense(4, tanh) -> Dense(1): 2 layers, 4 weights of very different gradient norms. */
static dc_model *mlp(const dc_optimizer_config *opt)
{
    int features = 3;
    dc_model *m = dc_sequential_new(1, &features);
    dc_model_set_seed(m, 7);
    dc_model_set_threads(m, 1);
    assert_int_equal(dc_model_add(m, dc_layer_dense(4, "tanh")), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, NULL)), DC_OK);
    dc_compile_config cc = {.optimizer = *opt, .loss = DC_LOSS_MSE};
    assert_int_equal(dc_model_compile_ex(m, &cc), DC_OK);
    return m;
}

/* Norm of weight (layer, index)'s change from `before`. */
static double step_norm(dc_model *m, dc_tensor *before[2][2], int layer, int index)
{
    dc_tensor *after;
    assert_int_equal(dc_model_get_weight(m, layer, index, &after), DC_OK);
    double s = 0;
    for (size_t i = 0; i < after->size; i++) {
        double d = (double)after->data[i] - before[layer][index]->data[i];
        s += d * d;
    }
    dc_tensor_free(after);
    return sqrt(s);
}

/* In a model clipnorm clips each weight tensor on its own: with a limit far
 * below every gradient's norm, one SGD step moves each of the 4 weights by
 * lr * clipnorm (to the weights' float rounding); global_clipnorm moves
 * them together by that much. */
static void test_model_weights_are_variables(void **state)
{
    (void)state;
    dc_tensor *x, *y;
    random_data(16, 3, 2, 3, &x, &y);
    for (int global = 0; global < 2; global++) {
        dc_optimizer_config opt = dc_optimizer_defaults(DC_OPT_SGD);
        opt.learning_rate = 10.0f; /* a step well above the weights' float rounding */
        *(global ? &opt.global_clipnorm : &opt.clipnorm) = 1e-3f;
        dc_model *m = mlp(&opt);
        dc_tensor *before[2][2];
        for (int l = 0; l < 2; l++)
            for (int i = 0; i < 2; i++)
                assert_int_equal(dc_model_get_weight(m, l, i, &before[l][i]), DC_OK);
        dc_fit_config fc = quiet_fit(1, 16);
        fc.shuffle = 0;
        assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
        double total = 0;
        for (int l = 0; l < 2; l++)
            for (int i = 0; i < 2; i++) {
                double n = step_norm(m, before, l, i);
                total += n * n;
                if (!global && fabs(n - 1e-2) > 1e-4 * 1e-2)
                    fail_msg("clipnorm: layer %d weight %d moved by %.9g, expected 0.01", l, i, n);
                dc_tensor_free(before[l][i]);
            }
        if (global && fabs(sqrt(total) - 1e-2) > 1e-4 * 1e-2)
            fail_msg("global_clipnorm: the weights moved by %.9g together, expected 0.01", sqrt(total));
        dc_model_free(m);
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
}

/* The arguments survive save and load; unset ones are null in the file. */
static void test_save_load(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_optimizer_config opt = dc_optimizer_defaults(DC_OPT_ADAM);
    opt.clipvalue = 0.25f;
    dc_model *m = mlp(&opt), *back;
    char *json;
    assert_int_equal(dc_model_to_json(m, &json), DC_OK);
    assert_non_null(strstr(json, "\"clipnorm\":null"));
    assert_non_null(strstr(json, "\"clipvalue\":0.25"));
    free(json);
    assert_int_equal(dc_model_save(m, join(dir, "m.safetensors"), 1), DC_OK);
    assert_int_equal(dc_model_load(join(dir, "m.safetensors"), &back), DC_OK);
    const dc_optimizer_config *c = dc_optimizer_config_of(back->opt);
    assert_true(c->clipvalue == 0.25f && c->clipnorm == 0.0f && c->global_clipnorm == 0.0f);
    dc_model_free(back);
    dc_model_free(m);
    rm_dir(dir);
}

static void test_errors(void **state)
{
    (void)state;
    dc_optimizer_config c = dc_optimizer_defaults(DC_OPT_ADAM);
    c.clipnorm = 1.0f;
    c.clipvalue = 0.5f;
    assert_null(dc_optimizer_new(&c, 4));
    assert_errmsg_contains("only one of clipnorm, clipvalue and global_clipnorm");
    c.clipvalue = 0.0f;
    c.clipnorm = -1.0f;
    assert_null(dc_optimizer_new(&c, 4));
    assert_errmsg_contains("clipnorm -1");
    c.clipnorm = 0.0f;
    c.global_clipnorm = NAN;
    assert_null(dc_optimizer_new(&c, 4));
    assert_errmsg_contains("global_clipnorm nan");

    /* through compile the message says where */
    int features = 2;
    dc_model *m = dc_sequential_new(1, &features);
    assert_int_equal(dc_model_add(m, dc_layer_dense(1, NULL)), DC_OK);
    c.global_clipnorm = 1.0f;
    c.clipvalue = 2.0f;
    dc_compile_config cc = {.optimizer = c, .loss = DC_LOSS_MSE};
    assert_int_equal(dc_model_compile_ex(m, &cc), DC_ERR_ARG);
    assert_errmsg_contains("compile");
    assert_errmsg_contains("only one of");
    dc_model_free(m);

    c = dc_optimizer_defaults(DC_OPT_SGD);
    dc_optimizer *o = dc_optimizer_new(&c, 10);
    const size_t not_zero[2] = {1, 5}, not_increasing[3] = {0, 5, 5}, too_far[2] = {0, 10};
    assert_int_equal(dc_optimizer_set_variables(o, 2, not_zero), DC_ERR_ARG);
    assert_errmsg_contains("variable 0 starts at 1");
    assert_int_equal(dc_optimizer_set_variables(o, 3, not_increasing), DC_ERR_ARG);
    assert_errmsg_contains("variable 2 starts at 5");
    assert_int_equal(dc_optimizer_set_variables(o, 2, too_far), DC_ERR_ARG);
    assert_errmsg_contains("below the 10 parameters");
    assert_int_equal(dc_optimizer_set_variables(o, 0, not_zero), DC_ERR_ARG);
    dc_optimizer_free(o);
}

/* A model file whose optimiser sets two clipping arguments (edited by hand)
 * is refused at load with the compile error, naming the optimiser. */
static void test_bad_file(void **state)
{
    (void)state;
    dc_optimizer_config opt = dc_optimizer_defaults(DC_OPT_SGD);
    opt.clipnorm = 2.0f;
    dc_model *m = mlp(&opt), *back = (dc_model *)1;
    char *dir = make_dir(), *path = join(dir, "m.safetensors");
    assert_int_equal(dc_model_save(m, path, 1), DC_OK);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    static char bytes[1 << 16];
    size_t len = fread(bytes, 1, sizeof bytes, f);
    static const char key[] = "clipvalue\\\":null";
    char *p = NULL;
    for (size_t i = 0; i + sizeof key - 1 <= len && !p; i++)
        if (memcmp(bytes + i, key, sizeof key - 1) == 0)
            p = bytes + i;
    assert_non_null(p);
    memcpy(p + sizeof key - 5, "3   ", 4);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    assert_int_equal(dc_model_load(path, &back), DC_ERR_ARG);
    assert_errmsg_contains("only one of clipnorm, clipvalue and global_clipnorm can be set");
    assert_errmsg_contains("clipnorm 2, clipvalue 3");
    assert_null(back);
    dc_model_free(m);
    rm_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clipnorm_per_variable),
        cmocka_unit_test(test_global_clipnorm),
        cmocka_unit_test(test_clipvalue),
        cmocka_unit_test(test_adam_on_clipped),
        cmocka_unit_test(test_model_weights_are_variables),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
