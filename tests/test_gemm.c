/*
 * test_gemm.c - deepc's own sgemm kernels (src/ops/gemm_avx512.c) against a
 * plain double-precision product: dc_sgemm (which hands tall products to
 * dc_gemm_avx512 where the build has AVX-512, OpenBLAS otherwise), the bias
 * epilogue, the attention's block kernels and dc_transpose, over shapes
 * that hit every edge: rows not a multiple of the 6- and 12-row tiles,
 * columns not a multiple of 16 or 64, reductions longer than one 256-deep
 * pass and not a multiple of it, both operands transposed or not, beta 0,
 * 1 and 0.5.  The error is measured against the largest |C|, as float32
 * results should be.
 */
#include "testutil.h"

#include "graph/graph.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

static float *random_floats(size_t n, dc_rng *r)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * dc_rng_uniform(r) - 1.0);
    return p;
}

/* ref (m x n, double) = alpha op(A) op(B) + beta C0 + bias. */
static void reference(int ta, int tb, int m, int n, int k, double alpha, const float *a, int lda, const float *b,
                      int ldb, double beta, const float *c0, const float *bias, double *ref)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++)
                s += (double)(ta ? a[(size_t)p * lda + i] : a[(size_t)i * lda + p]) *
                     (double)(tb ? b[(size_t)j * ldb + p] : b[(size_t)p * ldb + j]);
            ref[(size_t)i * n + j] = alpha * s + (beta != 0.0 ? beta * c0[(size_t)i * n + j] : 0.0) +
                                     (bias ? (double)bias[j] : 0.0);
        }
}

/* Largest |c - ref| over the largest |ref|. */
static double rel_error(const float *c, const double *ref, size_t count)
{
    double big = 1e-30, diff = 0.0;
    for (size_t i = 0; i < count; i++) {
        big = fmax(big, fabs(ref[i]));
        diff = fmax(diff, fabs((double)c[i] - ref[i]));
    }
    return diff / big;
}

typedef struct {
    int ta, tb, m, n, k;
    float alpha, beta;
    int bias;
} gemm_case;

static void check_case(const gemm_case *t, dc_rng *r)
{
    int lda = t->ta ? t->m + 3 : t->k + 5, ldb = t->tb ? t->k + 1 : t->n + 7; /* padded rows */
    float *a = random_floats((size_t)(t->ta ? t->k : t->m) * lda, r);
    float *b = random_floats((size_t)(t->tb ? t->n : t->k) * ldb, r);
    float *c = random_floats((size_t)t->m * t->n, r), *bias = t->bias ? random_floats((size_t)t->n, r) : NULL;
    float *c0 = malloc((size_t)t->m * t->n * sizeof *c0);
    double *ref = malloc((size_t)t->m * t->n * sizeof *ref);
    assert_non_null(c0);
    assert_non_null(ref);
    memcpy(c0, c, (size_t)t->m * t->n * sizeof *c);
    reference(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c0, bias, ref);
    if (bias) { /* dense's forward: the AVX-512 path or nothing */
        if (!dc_gemm_avx512(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, t->n, bias)) {
            printf("bias case %d x %d x %d: declined (no AVX-512 in this build, or too small)\n", t->m, t->n, t->k);
            goto done;
        }
    } else {
        dc_sgemm(t->ta, t->tb, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, t->n);
    }
    /* float32 sums: rounding grows like sqrt(k) */
    double tol = 2e-6 * fmax(1.0, sqrt(t->k / 256.0)), e = rel_error(c, ref, (size_t)t->m * t->n);
    if (e > tol)
        printf("ta %d tb %d %d x %d x %d alpha %g beta %g bias %d: error %.2e\n", t->ta, t->tb, t->m, t->n, t->k,
               (double)t->alpha, (double)t->beta, t->bias, e);
    assert_true(e <= tol);
    if (!t->tb && !t->bias) { /* the attention's block kernels, same product */
        memcpy(c, c0, (size_t)t->m * t->n * sizeof *c);
        if (dc_gemm_block_avx512(t->ta, t->m, t->n, t->k, t->alpha, a, lda, b, ldb, t->beta, c, t->n)) {
            e = rel_error(c, ref, (size_t)t->m * t->n);
            if (e > tol)
                printf("block kernel, ta %d %d x %d x %d alpha %g beta %g: error %.2e\n", t->ta, t->m, t->n, t->k,
                       (double)t->alpha, (double)t->beta, e);
            assert_true(e <= tol);
        }
    }
done:
    free(a), free(b), free(c), free(c0), free(bias), free(ref);
}

static void test_gemm_shapes(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 7);
    static const int ms[] = {24, 25, 97, 130}, ns[] = {32, 47, 64, 100, 129}, ks[] = {32, 33, 255, 300};
    int cases = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
                for (size_t j = 0; j < sizeof ns / sizeof *ns; j++)
                    for (size_t l = 0; l < sizeof ks / sizeof *ks; l++) {
                        gemm_case t = {ta, tb, ms[i], ns[j], ks[l], (i + l) % 2 ? 0.5f : 1.0f,
                                       (float)((i + j + l) % 3) * 0.5f, 0};
                        check_case(&t, &r);
                        cases++;
                    }
    /* the encoder block's own shapes, and the bias epilogue */
    static const gemm_case big[] = {
        {0, 0, 4096, 512, 128, 1.0f, 0.0f, 1}, {0, 1, 4096, 128, 512, 1.0f, 0.0f, 0},
        {1, 0, 128, 512, 4096, 1.0f, 1.0f, 0}, {0, 0, 301, 77, 129, 1.0f, 0.0f, 1},
        {0, 0, 300, 64, 600, 1.0f, 1.0f, 1},
    };
    for (size_t i = 0; i < sizeof big / sizeof *big; i++, cases++)
        check_case(&big[i], &r);
    printf("%d products checked against double precision (AVX-512 kernels %s)\n", cases,
           dc_gemm_avx512_available() ? "built" : "not built: OpenBLAS");
}

/* dense's weight gradient X^T dY with its bias gradient (dY's column sums)
 * taken as the kernel packs dY: the sums added to what the buffer held. */
static void test_gemm_colsum(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 9);
    static const int shapes[][3] = {{128, 512, 4096}, {512, 128, 4096}, {40, 100, 333}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *x = random_floats((size_t)k * m, &r), *dy = random_floats((size_t)k * n, &r);
        float *c = random_floats((size_t)m * n, &r), *sums = random_floats((size_t)n, &r);
        float *scratch = malloc(((size_t)m * n + n) * sizeof *scratch);
        assert_non_null(scratch);
        double *want = malloc((size_t)n * sizeof *want);
        assert_non_null(want);
        for (int j = 0; j < n; j++) {
            want[j] = sums[j];
            for (int p = 0; p < k; p++)
                want[j] += dy[(size_t)p * n + j];
        }
        if (dc_gemm_avx512_ex(1, 0, m, n, k, 1.0f, x, m, dy, n, 1.0f, c, n, NULL, sums, scratch)) {
            double big = 1e-30, diff = 0;
            for (int j = 0; j < n; j++) {
                big = fmax(big, fabs(want[j]));
                diff = fmax(diff, fabs(sums[j] - want[j]));
            }
            assert_true(diff / big <= 1e-5); /* 4096 float additions in row order */
        } else {
            printf("column sums %d x %d x %d: declined (no AVX-512 in this build)\n", m, n, k);
        }
        free(x), free(dy), free(c), free(sums), free(want), free(scratch);
    }
}

/* The attention's small blocks: 12 x 32 and 6 x 64 tiles, strided rows. */
static void test_gemm_blocks(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 8);
    static const gemm_case blocks[] = {
        {0, 0, 64, 128, 32, 0.17f, 0.0f, 0}, {0, 0, 64, 32, 128, 1.0f, 1.0f, 0}, {1, 0, 128, 32, 64, 1.0f, 1.0f, 0},
        {0, 0, 7, 5, 3, 1.0f, 1.0f, 0},      {1, 0, 13, 20, 9, 1.0f, 0.0f, 0},   {0, 0, 1, 70, 1, 2.0f, 0.5f, 0},
    };
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
        check_case(&blocks[i], &r);
}

/* Results do not depend on the thread count: the weight gradients whose
 * reduction is cut in parts (a fixed number for the shape) and the split
 * by rows or panels give the same bits at 1, 2 and 3 threads, column sums
 * included; and the parts' sum is still the product. */
static void test_gemm_threads(void **state)
{
    (void)state;
    dc_rng r;
    dc_rng_seed(&r, 10);
    static const int shapes[][5] = {
        {1, 0, 128, 128, 4096}, {1, 0, 100, 70, 4097}, {1, 1, 128, 200, 2500}, {0, 0, 600, 128, 256},
    };
    int max_threads = omp_get_max_threads();
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int ta = shapes[s][0], tb = shapes[s][1], m = shapes[s][2], n = shapes[s][3], k = shapes[s][4];
        int lda = ta ? m : k, ldb = tb ? k : n;
        float *a = random_floats((size_t)m * k, &r), *b = random_floats((size_t)k * n, &r);
        float *c0 = random_floats((size_t)m * n, &r), *s0 = random_floats((size_t)n, &r);
        float *scratch = malloc(((size_t)m * n + n) * sizeof *scratch);
        assert_non_null(scratch);
        float *c[3], *sums[3];
        for (int t = 0; t < 3; t++) {
            c[t] = malloc((size_t)m * n * sizeof *c[t]);
            sums[t] = malloc((size_t)n * sizeof *sums[t]);
            assert_non_null(c[t]);
            assert_non_null(sums[t]);
        }
        for (int t = 0; t < 3; t++) {
            memcpy(c[t], c0, (size_t)m * n * sizeof *c0);
            memcpy(sums[t], s0, (size_t)n * sizeof *s0);
            omp_set_num_threads(t + 1);
            if (!dc_gemm_avx512_ex(ta, tb, m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c[t], n, NULL, tb ? NULL : sums[t],
                                   scratch)) {
                printf("%d x %d x %d: declined (no AVX-512 in this build); thread counts not compared\n", m, n, k);
                break;
            }
            if (t > 0) {
                assert_memory_equal(c[t], c[0], (size_t)m * n * sizeof *c0);
                assert_memory_equal(sums[t], sums[0], (size_t)n * sizeof *s0);
            }
        }
        omp_set_num_threads(max_threads);
        double *ref = malloc((size_t)m * n * sizeof *ref);
        assert_non_null(ref);
        reference(ta, tb, m, n, k, 1.0, a, lda, b, ldb, 1.0, c0, NULL, ref);
        if (dc_gemm_avx512_available())
            assert_true(rel_error(c[0], ref, (size_t)m * n) <= 2e-6 * sqrt(k / 256.0));
        free(a), free(b), free(c0), free(s0), free(ref), free(scratch);
        for (int t = 0; t < 3; t++)
            free(c[t]), free(sums[t]);
    }
}

static void test_transpose(void **state)
{
    (void)state;
    static const int shapes[][2] = {{16, 16}, {128, 32}, {37, 21}, {5, 40}, {33, 17}, {1, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int rows = shapes[s][0], cols = shapes[s][1];
        size_t ld = (size_t)cols + 3, ldd = (size_t)rows + 5;
        float *src = malloc((size_t)rows * ld * sizeof *src), *dst = calloc((size_t)cols * ldd, sizeof *dst);
        assert_non_null(src);
        assert_non_null(dst);
        for (size_t i = 0; i < (size_t)rows * ld; i++)
            src[i] = (float)i;
        dc_transpose(src, ld, rows, cols, dst, ldd);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                assert_true(dst[(size_t)j * ldd + i] == src[(size_t)i * ld + j]);
        free(src), free(dst);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_shapes),
        cmocka_unit_test(test_gemm_blocks),
        cmocka_unit_test(test_gemm_colsum),
        cmocka_unit_test(test_gemm_threads),
        cmocka_unit_test(test_transpose),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
