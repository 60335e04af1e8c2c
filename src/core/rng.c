/*
 * rng.c - xoshiro128** seeded through splitmix64.  Small, fast, and owned by
 * its user (a model, or the caller of the graph API): there is no global RNG,
 * so a seed reproduces a run exactly.
 */
#include "core.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void dc_rng_seed(dc_rng *r, uint64_t seed)
{
    DC_CHECK_NULL_VOID(r);
    uint64_t x = seed;
    uint64_t a = splitmix64(&x), b = splitmix64(&x);
    r->s[0] = (uint32_t)a;
    r->s[1] = (uint32_t)(a >> 32);
    r->s[2] = (uint32_t)b;
    r->s[3] = (uint32_t)(b >> 32);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

static uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

/* One xoshiro128** step on a state held in locals (so in registers). */
static inline uint32_t step(uint32_t *s0, uint32_t *s1, uint32_t *s2, uint32_t *s3)
{
    uint32_t result = rotl(*s1 * 5, 7) * 9, t = *s1 << 9;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = rotl(*s3, 11);
    return result;
}

uint32_t dc_rng_u32(dc_rng *r)
{
    DC_CHECK_NULL_OR(r, 0);
    return step(&r->s[0], &r->s[1], &r->s[2], &r->s[3]);
}

float dc_rng_uniform(dc_rng *r)
{
    DC_CHECK_NULL_OR(r, NAN);
    return (float)(dc_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

void dc_rng_fill_uniform(dc_rng *r, float *out, size_t n)
{
    DC_CHECK_NULL_VOID(r);
    DC_CHECK_NULL_VOID(out);
    if (!r || !out)
        return;
    uint32_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(step(&s0, &s1, &s2, &s3) >> 8) * (1.0f / 16777216.0f);
    r->s[0] = s0;
    r->s[1] = s1;
    r->s[2] = s2;
    r->s[3] = s3;
}

void dc_rng_skip(dc_rng *r, size_t n)
{
    DC_CHECK_NULL_VOID(r);
    if (!r)
        return;
    uint32_t s0 = r->s[0], s1 = r->s[1], s2 = r->s[2], s3 = r->s[3];
    for (size_t i = 0; i < n; i++)
        (void)step(&s0, &s1, &s2, &s3);
    r->s[0] = s0;
    r->s[1] = s1;
    r->s[2] = s2;
    r->s[3] = s3;
}

float dc_rng_normal(dc_rng *r)
{
    DC_CHECK_NULL_OR(r, NAN);
    /* Box-Muller; u1 in (0, 1] so log is finite. */
    double u1 = ((double)(dc_rng_u32(r) >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(dc_rng_u32(r) >> 8) / 16777216.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t dc_rng_below(dc_rng *r, uint32_t n)
{
    DC_CHECK_NULL_OR(r, 0);
    /* Lemire's multiply-shift with rejection. */
    uint64_t m = (uint64_t)dc_rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)dc_rng_u32(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void dc_rng_shuffle(dc_rng *r, int *a, int n)
{
    DC_CHECK_NULL_VOID(r);
    DC_CHECK_NULL_VOID(a);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)dc_rng_below(r, (uint32_t)i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
