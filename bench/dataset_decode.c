/*
 * dataset_decode.c - what reading a folder of images costs by itself: every
 * batch of image_dataset_from_directory(DIR) read once on this thread
 * (read, decode, resize, label), with its CPU time (clock(), so other
 * processes on the machine do not count) and wall time.  Compare the CPU
 * seconds per epoch with a training epoch's (bench/dataset_run.sh) to see
 * the share decoding takes.
 *
 * Usage: dataset_decode DIR [SIZE] [grey|rgb]    (MNIST: ~/.cache/deepc/mnist_png/training 28 grey)
 */
#include "deepc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [SIZE] [grey|rgb]\n", argv[0]);
        return 2;
    }
    dc_image_dir_config c = dc_image_dir_defaults();
    c.image_size[0] = c.image_size[1] = argc > 2 ? atoi(argv[2]) : 28;
    c.color_mode = argc > 3 && !strcmp(argv[3], "rgb") ? DC_COLOR_RGB : DC_COLOR_GRAYSCALE;
    c.shuffle = 0;
    struct timespec w0, w1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    clock_t c0 = clock();
    dc_loader *ds;
    if (dc_image_dataset_from_directory(argv[1], &c, &ds, NULL)) {
        fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
        return 1;
    }
    clock_t c1 = clock();
    double sum = 0;
    for (int b = 0; b < dc_loader_cardinality(ds); b++) {
        dc_tensor *x, *y;
        if (dc_loader_get_batch(ds, b, &x, &y)) {
            fprintf(stderr, "%s: %s\n", argv[0], dc_errmsg());
            return 1;
        }
        sum += x->data[0];
        dc_tensor_free(x);
        dc_tensor_free(y);
    }
    clock_t c2 = clock();
    clock_gettime(CLOCK_MONOTONIC, &w1);
    double wall = (double)(w1.tv_sec - w0.tv_sec) + 1e-9 * (double)(w1.tv_nsec - w0.tv_nsec);
    printf("%d images: index %.2f s CPU, read + decode + resize %.2f s CPU (%.1f us per image), wall %.2f s (%g)\n",
           dc_loader_count(ds), (double)(c1 - c0) / CLOCKS_PER_SEC, (double)(c2 - c1) / CLOCKS_PER_SEC,
           1e6 * (double)(c2 - c1) / CLOCKS_PER_SEC / dc_loader_count(ds), wall, sum);
    dc_loader_free(ds);
    return 0;
}
