/*
 * init_orthogonal.c - Keras' orthogonal initialiser (gain 1), the default
 * for recurrent kernels.
 *
 * Keras draws a normal matrix of shape (max(rows, cols), min(rows, cols)),
 * takes Q of its QR decomposition with the signs fixed so that R's diagonal
 * is positive, and transposes it when rows < cols.  Gram-Schmidt yields that
 * same Q directly (its R has a positive diagonal by construction); it runs in
 * double, twice per column for stability.  A (u, 4u) recurrent kernel thus
 * has orthonormal rows.
 */
#include "graph/graph.h"

#include <math.h>
#include <string.h>

dc_status dc_init_orthogonal(float *dst, int rows, int cols, dc_rng *rng)
{
    int tall = rows >= cols, m = tall ? rows : cols, k = tall ? cols : rows;
    if (!rng) { /* no RNG: zeros (the caller's convention) */
        memset(dst, 0, (size_t)rows * cols * sizeof(float));
        return DC_OK;
    }
    double *q = dc_malloc((size_t)m * k * sizeof(double));
    if (!q)
        return DC_ERR_NOMEM;
    for (size_t i = 0; i < (size_t)m * k; i++) /* column j is q[j*m .. j*m + m) */
        q[i] = dc_rng_normal(rng);
    for (int j = 0; j < k; j++) {
        double *v = q + (size_t)j * m;
        for (int pass = 0; pass < 2; pass++)
            for (int p = 0; p < j; p++) {
                const double *u = q + (size_t)p * m;
                double d = 0;
                for (int i = 0; i < m; i++)
                    d += u[i] * v[i];
                for (int i = 0; i < m; i++)
                    v[i] -= d * u[i];
            }
        double norm = 0;
        for (int i = 0; i < m; i++)
            norm += v[i] * v[i];
        norm = sqrt(norm);
        for (int i = 0; i < m; i++)
            v[i] = norm > 0 ? v[i] / norm : 0;
    }
    /* tall: dst[i][j] = q column j, row i; wide: the transpose */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(size_t)i * cols + j] = (float)(tall ? q[(size_t)j * m + i] : q[(size_t)i * m + j]);
    free(q);
    return DC_OK;
}
