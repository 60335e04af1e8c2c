/*
 * plot.c - a program of a deepc user that plots (so links deepc_plot),
 * built against the installed library by tests/install/check.sh: writes a
 * scatter of y = 2x + 1 with its line to the PNG named by argv[1].
 */
#include <deepc_plot.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s out.png\n", argv[0]);
        return 2;
    }
    float x[5] = {0, 1, 2, 3, 4}, y[5];
    for (int i = 0; i < 5; i++)
        y[i] = 2 * x[i] + 1;
    if (dc_plot_scatter_line(argv[1], x, y, 5, "points", x, y, 5, "y = 2x + 1", NULL)) {
        fprintf(stderr, "plot: %s\n", dc_errmsg());
        return 1;
    }
    printf("plot: wrote %s\n", argv[1]);
    return 0;
}
