/*
 * compare.c - compare A.bin B.bin WHAT: two raw float32 files; prints
 * whether they are equal bit for bit, else the largest difference, and
 * fails (exit 1) when it exceeds 1e-6 of the largest magnitude or the sizes
 * differ.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    static float a[1 << 20], b[1 << 20];
    FILE *fa, *fb;
    size_t na, nb, i, same = 0;
    double big = 0, diff = 0;
    if (argc != 4 || !(fa = fopen(argv[1], "rb")) || !(fb = fopen(argv[2], "rb")))
        return 2;
    na = fread(a, sizeof *a, sizeof a / sizeof *a, fa);
    nb = fread(b, sizeof *b, sizeof b / sizeof *b, fb);
    if (na != nb || na == 0) {
        printf("%s: %zu and %zu values\n", argv[3], na, nb);
        return 1;
    }
    for (i = 0; i < na; i++) {
        same += memcmp(&a[i], &b[i], sizeof a[i]) == 0;
        big = fmax(big, fabs(a[i]));
        diff = fmax(diff, fabs((double)a[i] - b[i]));
    }
    printf("%s: %zu values, %zu bit-identical, largest difference %.3g (largest magnitude %.3g)\n", argv[3], na, same,
           diff, big);
    return diff <= 1e-6 * big ? 0 : 1;
}
