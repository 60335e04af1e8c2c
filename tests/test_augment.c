/*
 * test_augment.c - Keras' image augmentation layers RandomFlip and
 * RandomTranslation (ops_augment.c, layers_augment.c).
 *
 * The identity at inference (bitwise); pinned transforms against images
 * computed here by index arithmetic (a flip, an integer shift with each fill
 * mode, a half-pixel bilinear shift, quarter and half turns as np.rot90, a
 * zoom out and in by 2, a brightness shift with clipping, a contrast
 * stretch about the channel means); the distribution of the drawn flips
 * and shifts over many images; the same seed giving the same output and
 * training, and a sharded batch (data parallelism) drawing as the whole one;
 * random_affine against PyTorch's grid_sample (fixtures/augment.txt);
 * summary rows, Keras' config keys and forms, a save / load round trip, and
 * the error paths naming the layer.  Gradients: tests/test_gradcheck.c.
 */
#include "iotest.h"

#include "graph/graph.h"

#include <math.h>

/* ---- the ops on a graph, with the run's RNG ---- */

typedef struct aug_graph {
    dc_graph *g;
    dc_node *x, *y;
} aug_graph;

/* Compiles a's graph for `batch` images and fills the input. */
static aug_graph finish_graph(aug_graph a, int batch)
{
    assert_non_null(a.y);
    assert_int_equal(dc_graph_compile(a.g, batch, NULL), DC_OK);
    assert_int_equal(dc_graph_set_batch(a.g, batch), DC_OK);
    for (size_t i = 0; i < dc_node_size(a.x); i++)
        a.x->val[i] = (float)((i * 37) % 101) - 50.0f;
    return a;
}

/* x (batch, h, w, c) -> y: flip (flip_mode > 0) or random_affine of `kind`. */
static aug_graph build_graph(int batch, int h, int w, int c, int flip_mode, dc_affine_kind kind, const float *height,
                             const float *width, dc_fill_mode fill, int bilinear, float fill_value)
{
    aug_graph a;
    a.g = dc_graph_new();
    a.x = dc_input(a.g, 1, 3, (int[]){h, w, c}, "images");
    a.y = flip_mode ? dc_random_flip(a.g, a.x, flip_mode)
                    : dc_random_affine(a.g, a.x, kind, height, width, fill, bilinear, fill_value);
    return finish_graph(a, batch);
}

/* A flip (flip_mode > 0) or a translation. */
static aug_graph make_graph(int batch, int h, int w, int c, int flip_mode, const float *height, const float *width,
                            dc_fill_mode fill, int bilinear, float fill_value)
{
    return build_graph(batch, h, w, c, flip_mode, DC_AFFINE_TRANSLATE, height, width, fill, bilinear, fill_value);
}

/* One channel, random_affine of `kind`. */
static aug_graph affine_graph(int batch, int h, int w, dc_affine_kind kind, const float *height, const float *width,
                              dc_fill_mode fill, int bilinear, float fill_value)
{
    return build_graph(batch, h, w, 1, 0, kind, height, width, fill, bilinear, fill_value);
}

static void run(aug_graph *a, int training, dc_rng *rng)
{
    dc_run r = {.training = training, .rng = rng};
    assert_int_equal(dc_graph_forward_run(a->g, a->y, &r), DC_OK);
}

/* Index arithmetic of the fill modes for integer coordinates; -1: fill. */
static int fill_index(int i, int n, dc_fill_mode fill)
{
    if (i >= 0 && i < n)
        return i;
    switch (fill) {
    case DC_FILL_REFLECT: /* d c b a | a b c d | d c b a */
        return i < 0 ? -i - 1 : 2 * n - i - 1;
    case DC_FILL_WRAP:
        return ((i % n) + n) % n;
    case DC_FILL_NEAREST:
        return i < 0 ? 0 : n - 1;
    default:
        return -1;
    }
}

static void test_inference_is_identity(void **state)
{
    (void)state;
    dc_rng rng;
    dc_rng_seed(&rng, 3);
    aug_graph f = make_graph(5, 6, 7, 3, DC_FLIP_HORIZONTAL | DC_FLIP_VERTICAL, NULL, NULL, 0, 0, 0);
    aug_graph t = make_graph(5, 6, 7, 3, 0, (float[]){-0.5f, 0.5f}, (float[]){-0.3f, 0.4f}, DC_FILL_REFLECT, 1, 0);
    dc_rng before = rng;
    run(&f, 0, &rng);
    run(&t, 0, &rng);
    assert_memory_equal(&rng, &before, sizeof rng); /* no draws */
    assert_memory_equal(f.y->val, f.x->val, dc_node_size(f.x) * sizeof(float));
    assert_memory_equal(t.y->val, t.x->val, dc_node_size(t.x) * sizeof(float));
    dc_graph_free(f.g);
    dc_graph_free(t.g);
}

/* Every image is the input or its flip (both axes at once for the default
 * mode, as Keras 3), about half of them flipped. */
static void test_flip_values_and_rate(void **state)
{
    (void)state;
    enum { B = 400, H = 3, W = 4, C = 2 };
    for (int mode = 1; mode <= 3; mode++) {
        dc_rng rng;
        dc_rng_seed(&rng, 11 + (uint64_t)mode);
        aug_graph a = make_graph(B, H, W, C, mode, NULL, NULL, 0, 0, 0);
        run(&a, 1, &rng);
        int flipped = 0;
        for (int i = 0; i < B; i++) {
            int same = 1, flip = 1;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    for (int k = 0; k < C; k++) {
                        int sy = mode & DC_FLIP_VERTICAL ? H - 1 - y : y, sx = mode & DC_FLIP_HORIZONTAL ? W - 1 - x : x;
                        float got = a.y->val[(((size_t)i * H + y) * W + x) * C + k];
                        same &= got == a.x->val[(((size_t)i * H + y) * W + x) * C + k];
                        flip &= got == a.x->val[(((size_t)i * H + sy) * W + sx) * C + k];
                    }
            if (!same && !flip)
                fail_msg("mode %d image %d: neither the input nor its flip", mode, i);
            flipped += !same;
        }
        if (flipped < B * 0.4 || flipped > B * 0.6)
            fail_msg("mode %d: %d of %d images flipped, expected about half", mode, flipped, B);
        dc_graph_free(a.g);
    }
}

/* height (0.25, 0.25) of 4 rows and width (-0.5, -0.5) of 4 columns: every
 * image moves exactly 1 row down and 2 columns left, each fill mode and
 * both interpolations giving the index arithmetic's image. */
static void test_translation_pinned(void **state)
{
    (void)state;
    enum { B = 2, H = 4, W = 4, C = 2 };
    for (int fill = 0; fill < DC_FILL_COUNT; fill++)
        for (int bilinear = 0; bilinear < 2; bilinear++) {
            dc_rng rng;
            dc_rng_seed(&rng, 5);
            aug_graph a = make_graph(B, H, W, C, 0, (float[]){0.25f, 0.25f}, (float[]){-0.5f, -0.5f},
                                     (dc_fill_mode)fill, bilinear, 7.5f);
            run(&a, 1, &rng);
            for (int i = 0; i < B; i++)
                for (int y = 0; y < H; y++)
                    for (int x = 0; x < W; x++)
                        for (int k = 0; k < C; k++) {
                            int sy = fill_index(y - 1, H, (dc_fill_mode)fill);
                            int sx = fill_index(x + 2, W, (dc_fill_mode)fill);
                            float want = sy < 0 || sx < 0 ? 7.5f : a.x->val[(((size_t)i * H + sy) * W + sx) * C + k];
                            float got = a.y->val[(((size_t)i * H + y) * W + x) * C + k];
                            if (got != want)
                                fail_msg("fill %d bilinear %d image %d (%d, %d, %d): got %g, want %g", fill, bilinear,
                                         i, y, x, k, got, want);
                        }
            dc_graph_free(a.g);
        }
}

/* width (0.125, 0.125) of 4 columns: half a pixel right; bilinear averages
 * the two neighbours, nearest rounds half away from zero (the pixel). */
static void test_translation_half_pixel(void **state)
{
    (void)state;
    enum { H = 2, W = 4 };
    for (int bilinear = 0; bilinear < 2; bilinear++) {
        dc_rng rng;
        dc_rng_seed(&rng, 6);
        aug_graph a = make_graph(1, H, W, 1, 0, (float[]){0, 0}, (float[]){0.125f, 0.125f}, DC_FILL_CONSTANT,
                                 bilinear, 0);
        run(&a, 1, &rng);
        for (int y = 0; y < H; y++)
            for (int x = 1; x < W; x++) {
                const float *in = a.x->val + y * W;
                float want = bilinear ? 0.5f * (in[x - 1] + in[x]) : in[x]; /* source x - 0.5 */
                assert_float_equal(a.y->val[y * W + x], want, 1e-5f);
            }
        dc_graph_free(a.g);
    }
}

/* The drawn shifts are uniform over the ranges times the image size. */
static void test_translation_distribution(void **state)
{
    (void)state;
    enum { B = 3000, H = 10, W = 8 };
    dc_rng rng;
    dc_rng_seed(&rng, 21);
    aug_graph a = make_graph(B, H, W, 1, 0, (float[]){-0.2f, 0.3f}, (float[]){-0.1f, 0.1f}, DC_FILL_REFLECT, 1, 0);
    run(&a, 1, &rng);
    double sum[2] = {0, 0}, lo[2] = {1, 1}, hi[2] = {-1, -1};
    for (int i = 0; i < B; i++) {
        const float *t = a.y->work + 6 * (size_t)i; /* source = output + (t[2], t[5]) */
        assert_true(t[0] == 1 && t[1] == 0 && t[3] == 0 && t[4] == 1);
        double f[2] = {-t[5] / H, -t[2] / W}; /* height, width fractions */
        for (int k = 0; k < 2; k++) {
            sum[k] += f[k];
            lo[k] = fmin(lo[k], f[k]);
            hi[k] = fmax(hi[k], f[k]);
        }
    }
    /* means 0.05 and 0; standard errors 0.0026 and 0.0011 */
    assert_float_equal(sum[0] / B, 0.05, 0.012);
    assert_float_equal(sum[1] / B, 0.0, 0.005);
    assert_true(lo[0] >= -0.2 - 1e-6 && lo[0] < -0.19 && hi[0] <= 0.3 + 1e-6 && hi[0] > 0.29);
    assert_true(lo[1] >= -0.1 - 1e-6 && lo[1] < -0.09 && hi[1] <= 0.1 + 1e-6 && hi[1] > 0.09);
    dc_graph_free(a.g);
}

/* Same seed, same output; another seed, another; rows [4, 8) of a sharded
 * batch of 8 get the draws the whole batch gives them. */
static void test_seed_and_shards(void **state)
{
    (void)state;
    for (int flip = 0; flip < 2; flip++) {
        float *out[3];
        for (int s = 0; s < 3; s++) {
            dc_rng rng;
            dc_rng_seed(&rng, s == 2 ? 8 : 7);
            aug_graph a = make_graph(8, 5, 6, 2, flip ? 3 : 0, (float[]){-0.3f, 0.3f}, (float[]){-0.3f, 0.3f},
                                     DC_FILL_WRAP, 1, 0);
            run(&a, 1, &rng);
            out[s] = malloc(dc_node_size(a.y) * sizeof(float));
            memcpy(out[s], a.y->val, dc_node_size(a.y) * sizeof(float));
            dc_graph_free(a.g);
        }
        size_t n = 8 * 5 * 6 * 2, half = n / 2;
        assert_memory_equal(out[0], out[1], n * sizeof(float));
        assert_true(memcmp(out[0], out[2], n * sizeof(float)) != 0);
        dc_rng rng;
        dc_rng_seed(&rng, 7);
        aug_graph a = make_graph(4, 5, 6, 2, flip ? 3 : 0, (float[]){-0.3f, 0.3f}, (float[]){-0.3f, 0.3f},
                                 DC_FILL_WRAP, 1, 0);
        for (size_t i = 0; i < half; i++) /* rows 4..7 of make_graph(8)'s input */
            a.x->val[i] = (float)(((i + half) * 37) % 101) - 50.0f;
        dc_run r = {.training = 1, .rng = &rng, .shard_offset = 4, .shard_total = 8};
        assert_int_equal(dc_graph_forward_run(a.g, a.y, &r), DC_OK);
        assert_memory_equal(a.y->val, out[0] + half, half * sizeof(float));
        dc_graph_free(a.g);
        for (int s = 0; s < 3; s++)
            free(out[s]);
    }
}

/* A rotation by a quarter turn (factor (0.25, 0.25)) of a square image is
 * np.rot90 (counter-clockwise), minus a quarter np.rot90(k=-1), a half
 * turn np.rot90(k=2); both interpolations, any fill (no point outside). */
static void test_rotation_pinned(void **state)
{
    (void)state;
    enum { B = 2, N = 5, C = 1 };
    static const float turns[3] = {0.25f, -0.25f, 0.5f};
    for (int r = 0; r < 3; r++)
        for (int bilinear = 0; bilinear < 2; bilinear++) {
            dc_rng rng;
            dc_rng_seed(&rng, 4);
            aug_graph a = affine_graph(B, N, N, DC_AFFINE_ROTATE, (float[]){turns[r], turns[r]}, NULL, DC_FILL_CONSTANT,
                                       bilinear, 100.0f);
            run(&a, 1, &rng);
            for (int i = 0; i < B; i++)
                for (int y = 0; y < N; y++)
                    for (int x = 0; x < N; x++)
                        for (int k = 0; k < C; k++) {
                            /* source (row, column) of np.rot90 */
                            int sy = r == 0 ? x : (r == 1 ? N - 1 - x : N - 1 - y);
                            int sx = r == 0 ? N - 1 - y : (r == 1 ? y : N - 1 - x);
                            float want = a.x->val[(((size_t)i * N + sy) * N + sx) * C + k];
                            float got = a.y->val[(((size_t)i * N + y) * N + x) * C + k];
                            if (fabsf(got - want) > 1e-4f)
                                fail_msg("turn %g bilinear %d image %d (%d, %d, %d): got %g, want %g", turns[r],
                                         bilinear, i, y, x, k, got, want);
                        }
            dc_graph_free(a.g);
        }
}

/* Zoom out by 2 (height_factor (1, 1), width None: both axes) of 5 x 5:
 * output (y, x) reads (2y - 2, 2x - 2), the fill outside; zoom in by 2
 * (-0.5) on the rows only: row y reads 0.5 y + 1 (halfway rows averaged). */
static void test_zoom_pinned(void **state)
{
    (void)state;
    enum { N = 5 };
    for (int bilinear = 0; bilinear < 2; bilinear++) {
        dc_rng rng;
        dc_rng_seed(&rng, 2);
        aug_graph a = affine_graph(1, N, N, DC_AFFINE_ZOOM, (float[]){1, 1}, NULL, DC_FILL_CONSTANT, bilinear, -9);
        run(&a, 1, &rng);
        for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++) {
                int sy = 2 * y - 2, sx = 2 * x - 2;
                float want = sy < 0 || sy >= N || sx < 0 || sx >= N ? -9.0f : a.x->val[sy * N + sx];
                assert_float_equal(a.y->val[y * N + x], want, 1e-5f);
            }
        dc_graph_free(a.g);
    }
    dc_rng rng;
    dc_rng_seed(&rng, 2);
    aug_graph a = affine_graph(1, N, N, DC_AFFINE_ZOOM, (float[]){-0.5f, -0.5f}, (float[]){0, 0}, DC_FILL_REFLECT, 1, 0);
    run(&a, 1, &rng);
    for (int y = 0; y < N; y++)
        for (int x = 0; x < N; x++) {
            const float *in = a.x->val;
            float want = y % 2 ? 0.5f * (in[(y / 2 + 1) * N + x] + in[(y / 2 + 2) * N + x]) : in[(y / 2 + 1) * N + x];
            assert_float_equal(a.y->val[y * N + x], want, 1e-4f);
        }
    dc_graph_free(a.g);
}

/* Rotation angles uniform in factor * 2 pi; zooms 1 + uniform, the same on
 * both axes without a width factor. */
static void test_rotation_zoom_distribution(void **state)
{
    (void)state;
    enum { B = 3000 };
    dc_rng rng;
    dc_rng_seed(&rng, 31);
    aug_graph r = affine_graph(B, 6, 9, DC_AFFINE_ROTATE, (float[]){-0.2f, 0.3f}, NULL, DC_FILL_REFLECT, 1, 0);
    aug_graph z = affine_graph(B, 6, 9, DC_AFFINE_ZOOM, (float[]){-0.3f, 0.1f}, NULL, DC_FILL_REFLECT, 1, 0);
    run(&r, 1, &rng);
    run(&z, 1, &rng);
    double sum[2] = {0, 0}, lo[2] = {9, 9}, hi[2] = {-9, -9};
    for (int i = 0; i < B; i++) {
        const float *t = r.y->work + 6 * (size_t)i, *u = z.y->work + 6 * (size_t)i;
        assert_float_equal(t[0], t[4], 1e-6f); /* a rotation */
        assert_float_equal(t[1], -t[3], 1e-6f);
        assert_true(u[0] == u[4] && u[1] == 0 && u[3] == 0); /* one zoom on both axes */
        double f[2] = {atan2(t[3], t[0]) / (2 * M_PI), u[4] - 1.0};
        for (int k = 0; k < 2; k++) {
            sum[k] += f[k];
            lo[k] = fmin(lo[k], f[k]);
            hi[k] = fmax(hi[k], f[k]);
        }
    }
    assert_float_equal(sum[0] / B, 0.05, 0.012); /* standard error 0.0026 */
    assert_float_equal(sum[1] / B, -0.1, 0.01);  /* 0.0021 */
    assert_true(lo[0] >= -0.2 - 1e-5 && lo[0] < -0.19 && hi[0] <= 0.3 + 1e-5 && hi[0] > 0.29);
    assert_true(lo[1] >= -0.3 - 1e-5 && lo[1] < -0.29 && hi[1] <= 0.1 + 1e-5 && hi[1] > 0.09);
    dc_graph_free(r.g);
    dc_graph_free(z.g);
}

/* x -> random_color (one channel set by c) with the given draw range. */
static aug_graph color_graph(int batch, int c, int contrast, const float *range, const float *value_range)
{
    aug_graph a;
    a.g = dc_graph_new();
    a.x = dc_input(a.g, 1, 3, (int[]){3, 4, c}, "images");
    a.y = dc_random_color(a.g, a.x, contrast, range, value_range);
    return finish_graph(a, batch);
}

/* Pinned draws: brightness 0.1 of a value range 100 wide adds 10, then
 * clips; contrast 1.5 stretches each channel about its image mean. */
static void test_color_pinned(void **state)
{
    (void)state;
    enum { B = 3, C = 2, PIX = 12 };
    dc_rng rng;
    dc_rng_seed(&rng, 8);
    aug_graph a = color_graph(B, C, 0, (float[]){0.1f, 0.1f}, (float[]){-40, 60});
    run(&a, 1, &rng);
    for (size_t i = 0; i < dc_node_size(a.x); i++)
        assert_float_equal(a.y->val[i], fminf(fmaxf(a.x->val[i] + 10.0f, -40.0f), 60.0f), 1e-4f);
    dc_graph_free(a.g);
    a = color_graph(B, C, 1, (float[]){1.5f, 1.5f}, (float[]){-1000, 1000});
    run(&a, 1, &rng);
    for (int i = 0; i < B; i++)
        for (int k = 0; k < C; k++) {
            double mean = 0;
            for (int p = 0; p < PIX; p++)
                mean += a.x->val[(i * PIX + p) * C + k] / (double)PIX;
            for (int p = 0; p < PIX; p++) {
                size_t j = ((size_t)i * PIX + p) * C + k;
                assert_float_equal(a.y->val[j], (a.x->val[j] - mean) * 1.5 + mean, 1e-3);
            }
        }
    dc_graph_free(a.g);
}

/* The layers' draws: RandomBrightness(factor (-0.2, 0.3)) shifts by
 * uniform(-0.2, 0.3) * 255; RandomContrast(0.4) draws contrasts uniform in
 * [0.6, 1.4]; read from a model's graph after a training step. */
static void test_color_distribution(void **state)
{
    (void)state;
    enum { B = 2000 };
    const float *ranges[2] = {(float[]){-0.2f * 255.0f, 0.3f * 255.0f}, (float[]){0.6f, 1.4f}};
    for (int contrast = 0; contrast < 2; contrast++) {
        dc_rng rng;
        dc_rng_seed(&rng, 40 + (uint64_t)contrast);
        aug_graph a = color_graph(B, 1, contrast, contrast ? ranges[1] : (float[]){-0.2f, 0.3f}, (float[]){0, 255});
        run(&a, 1, &rng);
        double sum = 0, lo = 1e9, hi = -1e9;
        for (int i = 0; i < B; i++) {
            double d = a.y->work[(size_t)i * 2] * (contrast ? 1.0 : 255.0);
            sum += d;
            lo = fmin(lo, d);
            hi = fmax(hi, d);
        }
        const float *r = ranges[contrast];
        double width = r[1] - r[0];
        assert_float_equal(sum / B, 0.5 * (r[0] + r[1]), 0.03 * width); /* standard error 0.0065 width */
        assert_true(lo >= r[0] - 1e-3 && lo < r[0] + 0.01 * width && hi <= r[1] + 1e-3 && hi > r[1] - 0.01 * width);
        dc_graph_free(a.g);
    }
}

/* random_affine with pinned ranges against PyTorch's grid_sample
 * (tests/fixtures/augment.txt, make_fixtures_augment.py): forward and the
 * input's gradient within 1e-5 relative, for a translation, a rotation and
 * a zoom, fill "constant" (0) and "nearest". */
static void test_affine_vs_torch(void **state)
{
    (void)state;
    static const struct { const char *name; dc_affine_kind kind; float a, b; } cases[] = {
        {"translate", DC_AFFINE_TRANSLATE, 0.13f, -0.21f},
        {"rotate", DC_AFFINE_ROTATE, 0.07f, 0.0f},
        {"zoom", DC_AFFINE_ZOOM, 0.3f, -0.2f},
    };
    fx_file *f = fx_load("augment.txt");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int border = 0; border < 2; border++) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "%s_%s", cases[c].name, border ? "border" : "zeros");
            const fx_array *fx = fx_get_part(f, prefix, "x"), *fr = fx_get_part(f, prefix, "r");
            dc_graph *g = dc_graph_new();
            dc_node *x = dc_param(g, 4, fx->shape, dc_init_make(DC_INIT_ZEROS), "x");
            dc_node *r = dc_input(g, 0, 4, fx->shape, "r");
            float ha[2] = {cases[c].a, cases[c].a}, wb[2] = {cases[c].b, cases[c].b};
            dc_node *y = dc_random_affine(g, x, cases[c].kind, ha, wb, border ? DC_FILL_NEAREST : DC_FILL_CONSTANT, 1,
                                          0.0f);
            dc_node *loss = dc_sum(g, dc_mul(g, y, r));
            assert_non_null(loss);
            assert_int_equal(dc_graph_compile(g, 1, NULL), DC_OK);
            memcpy(x->val, fx->data, fx->size * sizeof(float));
            memcpy(r->val, fr->data, fr->size * sizeof(float));
            dc_rng rng;
            dc_rng_seed(&rng, 1);
            dc_run run_state = {.training = 1, .rng = &rng};
            assert_int_equal(dc_graph_forward_run(g, loss, &run_state), DC_OK);
            assert_int_equal(dc_graph_backward_run(g, loss, &run_state), DC_OK);
            char what[96];
            snprintf(what, sizeof what, "%s forward", prefix);
            assert_close(y->val, fx_get_part(f, prefix, "y")->data, fx->size, 1e-5, 1e-5, what);
            snprintf(what, sizeof what, "%s input gradient", prefix);
            assert_close(x->grad, fx_get_part(f, prefix, "gx")->data, fx->size, 1e-5, 1e-5, what);
            dc_graph_free(g);
        }
    fx_free(f);
}

/* ---- the layers in a model ---- */

static dc_model *aug_model(uint64_t seed)
{
    dc_model *m = dc_sequential_new(3, (int[]){6, 5, 2});
    assert_non_null(m);
    dc_model_set_seed(m, seed);
    dc_model_set_threads(m, 1);
    dc_layer *layers[] = {
        dc_layer_random_flip("horizontal"),
        dc_layer_random_translation((float[]){-0.1f, 0.2f}, (float[]){-0.1f, 0.1f}, NULL, NULL, 0),
        dc_layer_random_flip(NULL),
        dc_layer_random_translation((float[]){-0.3f, 0.3f}, (float[]){0, 0.25f}, "constant", "nearest", 0.5f),
        dc_layer_random_rotation((float[]){-0.05f, 0.1f}, "wrap", NULL, 0),
        dc_layer_random_zoom((float[]){-0.2f, 0.2f}, NULL, "nearest", NULL, 0),
        dc_layer_random_zoom((float[]){-0.2f, 0.1f}, (float[]){-0.3f, 0.3f}, NULL, NULL, 0),
        dc_layer_random_brightness((float[]){-0.1f, 0.2f}, (float[]){-1, 1}),
        dc_layer_random_contrast((float[]){0.3f, 0.3f}, (float[]){-1, 1}),
        dc_layer_flatten(),
        dc_layer_dense(3, "softmax"),
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        assert_int_equal(dc_model_add(m, layers[i]), DC_OK);
    return m;
}

static dc_tensor *images(int n)
{
    dc_tensor *x = dc_tensor_new4(4, n, 6, 5, 2);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = (float)sin(0.37 * (double)i);
    return x;
}

static void test_summary_and_predict_identity(void **state)
{
    (void)state;
    dc_model *m = aug_model(1);
    char *s = summary_of(m);
    assert_true(summary_has_row(s, "random_flip (RandomFlip)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_translation (RandomTranslation)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_flip_1 (RandomFlip)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_translation_1 (RandomTranslation)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_rotation (RandomRotation)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_zoom (RandomZoom)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_zoom_1 (RandomZoom)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_brightness (RandomBrightness)", "(None, 6, 5, 2)", 0));
    assert_true(summary_has_row(s, "random_contrast (RandomContrast)", "(None, 6, 5, 2)", 0));
    free(s);
    dc_model_free(m);
    /* a model of augmentation layers alone predicts its input */
    m = dc_sequential_new(3, (int[]){6, 5, 2});
    assert_int_equal(dc_model_add(m, dc_layer_random_flip(NULL)), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_random_translation((float[]){-1, 1}, (float[]){-1, 1}, NULL, NULL, 0)),
                     DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_random_brightness((float[]){-1, 1}, (float[]){0, 0.5f})), DC_OK);
    assert_int_equal(dc_model_add(m, dc_layer_random_contrast((float[]){1, 1}, NULL)), DC_OK);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = images(9), *y;
    assert_int_equal(dc_model_predict(m, x, 4, &y), DC_OK);
    assert_memory_equal(y->data, x->data, x->size * sizeof(float));
    dc_tensor_free(y);
    dc_tensor_free(x);
    dc_model_free(m);
}

/* fit with the same seed twice: the same weights; the augmentation moved them
 * differently from a run without it. */
static void test_fit_reproducible(void **state)
{
    (void)state;
    dc_tensor *x = images(16), *y = dc_tensor_new4(2, 16, 3, 0, 0);
    for (int i = 0; i < 16; i++)
        y->data[i * 3 + i % 3] = 1.0f;
    float *w[2];
    size_t n = 0;
    for (int r = 0; r < 2; r++) {
        dc_model *m = aug_model(9);
        assert_int_equal(dc_model_compile(m, "adam", "categorical_crossentropy", NULL, 0), DC_OK);
        dc_fit_config fc = quiet_fit(2, 4);
        assert_int_equal(dc_model_fit(m, x, y, &fc, NULL), DC_OK);
        float *p = dc_graph_params(dc_model_graph(m), &n);
        w[r] = malloc(n * sizeof(float));
        memcpy(w[r], p, n * sizeof(float));
        dc_model_free(m);
    }
    assert_memory_equal(w[0], w[1], n * sizeof(float));
    free(w[0]);
    free(w[1]);
    dc_tensor_free(x);
    dc_tensor_free(y);
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    char *dir = make_dir();
    dc_model *m = aug_model(2);
    assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_OK);
    dc_tensor *x = images(5);
    char *a = assert_round_trip(m, x, dir, 1, "mse", NULL);
    static const char *keys[] = {
        "\"class_name\":\"RandomFlip\"", "\"mode\":\"horizontal\"", "\"mode\":\"horizontal_and_vertical\"",
        "\"class_name\":\"RandomTranslation\"", "\"height_factor\":[-0.1,0.2]", "\"width_factor\":0.1",
        "\"fill_mode\":\"reflect\"", "\"interpolation\":\"bilinear\"", "\"height_factor\":0.3",
        "\"width_factor\":[0,0.25]", "\"fill_mode\":\"constant\"", "\"interpolation\":\"nearest\"",
        "\"fill_value\":0.5", "\"seed\":null", "\"data_format\":\"channels_last\"",
        "\"class_name\":\"RandomRotation\"", "\"factor\":[-0.05,0.1],\"fill_mode\":\"wrap\"",
        "\"class_name\":\"RandomZoom\"", "\"height_factor\":0.2,\"width_factor\":null,\"fill_mode\":\"nearest\"",
        "\"height_factor\":[-0.2,0.1],\"width_factor\":0.3,\"fill_mode\":\"reflect\"",
        "\"class_name\":\"RandomBrightness\"", "\"factor\":[-0.1,0.2],\"value_range\":[-1,1],\"seed\":null}",
        "\"class_name\":\"RandomContrast\"", "\"factor\":0.3,\"value_range\":[-1,1],\"seed\":null}",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(a, keys[i]))
            fail_msg("the config lacks %s:\n%s", keys[i], a);
    free(a);
    dc_tensor_free(x);
    dc_model_free(m);
    rm_dir(dir);
}

/* A one-layer model on (6, 5, 2) from a layer config: from_json's status,
 * and the layer's config as written back in *json (NULL on failure). */
static dc_status from_config(const char *class_name, const char *config, char **json)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"sequential\",\"layers\":[{\"class_name\":"
             "\"InputLayer\",\"config\":{\"batch_shape\":[null,6,5,2]}},{\"class_name\":\"%s\",\"config\":{%s}}]}}",
             class_name, config);
    dc_model *m;
    *json = NULL;
    dc_status st = dc_model_from_json(text, strlen(text), &m);
    if (st != DC_OK)
        return st;
    assert_int_equal(dc_model_to_json(m, json), DC_OK);
    dc_model_free(m);
    return DC_OK;
}

/* Keras' defaults and factor forms from configs, and bad configs. */
static void test_config_forms(void **state)
{
    (void)state;
    static const struct { const char *cls, *config, *want; } cases[] = {
        {"RandomFlip", "", "\"mode\":\"horizontal_and_vertical\""},
        {"RandomFlip", "\"mode\":\"vertical\",\"seed\":3", "\"mode\":\"vertical\""},
        {"RandomTranslation", "\"height_factor\":0.2,\"width_factor\":0.3",
         "\"height_factor\":0.2,\"width_factor\":0.3,\"fill_mode\":\"reflect\",\"interpolation\":\"bilinear\","
         "\"fill_value\":0"},
        {"RandomTranslation", "\"height_factor\":-0.2,\"width_factor\":[0.3,-0.1]",
         "\"height_factor\":0.2,\"width_factor\":[-0.1,0.3]"},
        {"RandomTranslation", "\"height_factor\":0,\"width_factor\":1,\"fill_mode\":\"wrap\",\"fill_value\":2",
         "\"fill_mode\":\"wrap\",\"interpolation\":\"bilinear\",\"fill_value\":2"},
        {"RandomRotation", "\"factor\":0.1", "\"factor\":0.1,\"fill_mode\":\"reflect\",\"interpolation\":\"bilinear\""},
        {"RandomRotation", "\"factor\":[0.2,-0.3],\"fill_mode\":\"constant\"", "\"factor\":[-0.3,0.2]"},
        {"RandomZoom", "\"height_factor\":0.2", "\"height_factor\":0.2,\"width_factor\":null"},
        {"RandomZoom", "\"height_factor\":-0.2,\"width_factor\":[0.1,-0.4],\"interpolation\":\"nearest\"",
         "\"height_factor\":0.2,\"width_factor\":[-0.4,0.1],\"fill_mode\":\"reflect\",\"interpolation\":\"nearest\""},
        {"RandomContrast", "\"factor\":0.2", "\"factor\":0.2,\"value_range\":[0,255]"},
        {"RandomContrast", "\"factor\":[0.3,0.1],\"value_range\":[0,1]", "\"factor\":[0.1,0.3],\"value_range\":[0,1]"},
        {"RandomBrightness", "\"factor\":-0.2", "\"factor\":0.2,\"value_range\":[0,255]"},
        {"RandomBrightness", "\"factor\":[0.1,-0.2],\"value_range\":[1,0]", "\"factor\":[-0.2,0.1],\"value_range\":[0,1]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s;
        if (from_config(cases[i].cls, cases[i].config, &s) != DC_OK)
            fail_msg("%s {%s}: %s", cases[i].cls, cases[i].config, dc_errmsg());
        if (!strstr(s, cases[i].want))
            fail_msg("%s {%s}: expected %s in\n%s", cases[i].cls, cases[i].config, cases[i].want, s);
        free(s);
    }
    static const struct { const char *cls, *config, *msg; } bad[] = {
        {"RandomFlip", "\"mode\":\"diagonal\"", "RandomFlip: mode \"diagonal\""},
        {"RandomFlip", "\"mode\":1", "key \"mode\" must be a string"},
        {"RandomFlip", "\"data_format\":\"channels_first\"", "only \"channels_last\""},
        {"RandomTranslation", "\"height_factor\":0.1", "width_factor"},
        {"RandomTranslation", "\"height_factor\":1.5,\"width_factor\":0", "RandomTranslation: height_factor (-1.5, 1.5)"},
        {"RandomTranslation", "\"height_factor\":[0.1],\"width_factor\":0", "key \"height_factor\" must be"},
        {"RandomTranslation", "\"height_factor\":0,\"width_factor\":0,\"fill_mode\":\"mirror\"",
         "RandomTranslation: fill_mode \"mirror\" is not supported"},
        {"RandomTranslation", "\"height_factor\":0,\"width_factor\":0,\"interpolation\":\"bicubic\"",
         "RandomTranslation: interpolation \"bicubic\" is not supported"},
        {"RandomRotation", "", "key \"factor\""},
        {"RandomRotation", "\"factor\":[-2,0.5]", "RandomRotation: factor (-2, 0.5)"},
        {"RandomZoom", "\"width_factor\":0.1", "key \"height_factor\""},
        {"RandomZoom", "\"height_factor\":0.1,\"width_factor\":1.5", "RandomZoom: width_factor (-1.5, 1.5)"},
        {"RandomZoom", "\"height_factor\":0.1,\"fill_mode\":\"mirror\"", "RandomZoom: fill_mode \"mirror\""},
        {"RandomContrast", "", "key \"factor\""},
        {"RandomContrast", "\"factor\":1.5", "RandomContrast: factor (1.5, 1.5), expected values in [0, 1]"},
        {"RandomBrightness", "\"factor\":0.1,\"value_range\":2", "key \"value_range\" must be a list of two numbers"},
        {"RandomBrightness", "\"factor\":0.1,\"value_range\":[2,2]", "RandomBrightness: value_range (2, 2)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *s;
        if (from_config(bad[i].cls, bad[i].config, &s) == DC_OK)
            fail_msg("%s {%s} loaded", bad[i].cls, bad[i].config);
        assert_errmsg_contains(bad[i].msg);
    }
}

static void test_errors(void **state)
{
    (void)state;
    assert_null(dc_layer_random_flip("both"));
    assert_errmsg_contains("RandomFlip: mode \"both\", expected \"horizontal\", \"vertical\" or");
    assert_null(dc_layer_random_translation((float[]){0.3f, 0.1f}, (float[]){0, 0}, NULL, NULL, 0));
    assert_errmsg_contains("RandomTranslation: height_factor (0.3, 0.1), expected values in [-1, 1] with lower <= upper");
    assert_null(dc_layer_random_translation((float[]){0, 0}, (float[]){-1.2f, 0}, NULL, NULL, 0));
    assert_errmsg_contains("RandomTranslation: width_factor (-1.2, 0)");
    assert_null(dc_layer_random_translation(NULL, (float[]){0, 0}, NULL, NULL, 0));
    assert_errmsg_contains("RandomTranslation: height_factor is NULL");
    assert_null(dc_layer_random_translation((float[]){0, 0}, (float[]){0, 0}, "mirror", NULL, 0));
    assert_errmsg_contains("RandomTranslation: fill_mode \"mirror\" is not supported; expected \"reflect\"");
    assert_null(dc_layer_random_translation((float[]){0, 0}, (float[]){0, 0}, NULL, "area", 0));
    assert_errmsg_contains("RandomTranslation: interpolation \"area\" is not supported");
    assert_null(dc_layer_random_translation((float[]){0, 0}, (float[]){0, 0}, "constant", NULL, NAN));
    assert_errmsg_contains("RandomTranslation: fill_value nan");
    assert_null(dc_layer_random_rotation((float[]){0.5f, 1.5f}, NULL, NULL, 0));
    assert_errmsg_contains("RandomRotation: factor (0.5, 1.5), expected values in [-1, 1]");
    assert_null(dc_layer_random_rotation(NULL, NULL, NULL, 0));
    assert_errmsg_contains("RandomRotation: factor is NULL");
    assert_null(dc_layer_random_rotation((float[]){0, 0}, "edge", NULL, 0));
    assert_errmsg_contains("RandomRotation: fill_mode \"edge\" is not supported");
    assert_null(dc_layer_random_zoom((float[]){-0.1f, 0.1f}, (float[]){0.2f, -0.2f}, NULL, NULL, 0));
    assert_errmsg_contains("RandomZoom: width_factor (0.2, -0.2)");
    assert_null(dc_layer_random_zoom((float[]){-0.1f, 0.1f}, NULL, NULL, "cubic", 0));
    assert_errmsg_contains("RandomZoom: interpolation \"cubic\" is not supported");
    assert_null(dc_layer_random_brightness((float[]){-1.5f, 0}, NULL));
    assert_errmsg_contains("RandomBrightness: factor (-1.5, 0), expected values in [-1, 1]");
    assert_null(dc_layer_random_brightness(NULL, NULL));
    assert_errmsg_contains("RandomBrightness: factor is NULL");
    assert_null(dc_layer_random_contrast((float[]){0.1f, -0.1f}, NULL));
    assert_errmsg_contains("RandomContrast: factor (0.1, -0.1), expected values in [0, 1]");
    assert_null(dc_layer_random_contrast((float[]){0.1f, 0.1f}, (float[]){255, 0}));
    assert_errmsg_contains("RandomContrast: value_range (255, 0), expected finite low < high");
    /* an image without a channel axis */
    static const char *const names[6] = {"random_flip",  "random_translation", "random_rotation",
                                         "random_zoom", "random_brightness",  "random_contrast"};
    for (int t = 0; t < 6; t++) {
        dc_model *m = dc_sequential_new(2, (int[]){28, 28});
        const float z[2] = {0, 0};
        dc_layer *l = t == 0   ? dc_layer_random_flip(NULL)
                      : t == 1 ? dc_layer_random_translation(z, z, NULL, NULL, 0)
                      : t == 2 ? dc_layer_random_rotation(z, NULL, NULL, 0)
                      : t == 3 ? dc_layer_random_zoom(z, NULL, NULL, NULL, 0)
                      : t == 4 ? dc_layer_random_brightness(z, NULL)
                               : dc_layer_random_contrast(z, NULL);
        assert_int_equal(dc_model_add(m, l), DC_OK);
        assert_int_equal(dc_model_compile(m, "adam", "mse", NULL, 0), DC_ERR_SHAPE);
        char msg[128];
        snprintf(msg, sizeof msg, "%s: input (None, 28, 28) has 3 axes, expected 4", names[t]);
        assert_errmsg_contains(msg);
        assert_errmsg_contains("needs a Reshape to (height, width, 1)");
        dc_model_free(m);
    }
    /* the ops' own checks */
    dc_graph *g = dc_graph_new();
    dc_node *x = dc_input(g, 1, 2, (int[]){4, 4}, "x");
    assert_null(dc_random_flip(g, x, 1));
    assert_errmsg_contains("random_flip: input (None, 4, 4), expected (batch, height, width, channels)");
    dc_node *img = dc_input(g, 1, 3, (int[]){4, 4, 1}, "img");
    assert_null(dc_random_flip(g, img, 4));
    assert_errmsg_contains("random_flip: mode 4");
    assert_null(dc_random_affine(g, img, DC_AFFINE_TRANSLATE, (float[]){0.2f, 0.1f}, (float[]){0, 0}, DC_FILL_REFLECT,
                                 1, 0));
    assert_errmsg_contains("random_affine: height range (0.2, 0.1)");
    assert_null(dc_random_affine(g, img, DC_AFFINE_TRANSLATE, (float[]){0, 0}, (float[]){0, 0}, DC_FILL_COUNT, 1, 0));
    assert_errmsg_contains("random_affine: unknown fill mode");
    dc_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inference_is_identity),
        cmocka_unit_test(test_flip_values_and_rate),
        cmocka_unit_test(test_translation_pinned),
        cmocka_unit_test(test_translation_half_pixel),
        cmocka_unit_test(test_translation_distribution),
        cmocka_unit_test(test_seed_and_shards),
        cmocka_unit_test(test_rotation_pinned),
        cmocka_unit_test(test_zoom_pinned),
        cmocka_unit_test(test_rotation_zoom_distribution),
        cmocka_unit_test(test_affine_vs_torch),
        cmocka_unit_test(test_color_pinned),
        cmocka_unit_test(test_color_distribution),
        cmocka_unit_test(test_summary_and_predict_identity),
        cmocka_unit_test(test_fit_reproducible),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_config_forms),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
