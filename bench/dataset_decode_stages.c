/*
 * dataset_decode_stages.c - where the CPU time of reading a folder of
 * images goes, stage by stage, per image: each stage run over every file of
 * DIR (image_dataset_from_directory's file list) on this thread, its CPU
 * time (CLOCK_THREAD_CPUTIME_ID, so other processes on a loaded machine do
 * not count) the best of REPS passes, divided by the number of files.
 *
 *   read, stdio          the old reader: open, fstat, fdopen, fread into a
 *                        new malloc'd buffer, fclose
 *   read, one syscall    dc_image_read: open, read, close into a reused
 *                        buffer (fstat only when the read looks odd)
 *   decode, stb_image    the old PNG decoder: stbi_info_from_memory +
 *                        stbi_load_from_memory + free (files in memory)
 *   decode, new          dc_image_decode_in: stb_image, pixels into the
 *                        reused buffer (files in memory)
 *   decode, libpng       libpng from memory into a reused buffer, for
 *                        comparison (built where libpng-dev is installed:
 *                        CMake defines DC_BENCH_LIBPNG)
 *   to float             dc_image_resize of a decoded image to its own size
 *                        (the u8 -> float copy into the batch)
 *   old per-image path   read (stdio) + stb + to float, as image_dir.c did
 *   library, in thread   every batch through dc_loader_get_batch (read,
 *                        decode, convert, labels, batch tensors)
 *   library, pipeline    every batch through the prefetching pipeline
 *                        (dataset_pipe.c: 1 worker, 8 batches ahead, the
 *                        reader helping with one OpenMP thread), the
 *                        process's CPU time (all threads): its excess over
 *                        the line above is the hand-off between threads
 *                        (with a team of two, the second thread's spinning
 *                        between the reader's parallel regions would count,
 *                        which in training is the training's own)
 *   library, team of 1   every batch through the pipeline as fit runs it
 *                        when its threads have every core (no reader
 *                        thread: dc_pipe_start_team, the reader's OpenMP
 *                        team, here of one thread, fills each batch when
 *                        the step asks for it); its excess over "in
 *                        thread" is what the team's claims and hand-off
 *                        cost per image
 *
 * With "shuffle" every stage takes the files in a shuffled order (NumPy's
 * shuffle, seed 42), as fit reads them: each open then walks to a dentry
 * and inode far from the last one's, which costs more than the folder
 * order (MNIST: about 0.5 us an image more).
 *
 * Usage: dataset_decode_stages DIR [SIZE] [grey|rgb] [REPS] [shuffle]
 *        (MNIST: ~/.cache/deepc/mnist_png/training 28 grey 5 shuffle)
 */
#include "data/dataset_internal.h"
#include "data/image_decode.h"

#include <fcntl.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STB_IMAGE_STATIC
#define STBI_NO_FAILURE_STRINGS
#define STB_IMAGE_IMPLEMENTATION
#include "data/stb_image_include.h"

#ifdef DC_BENCH_LIBPNG
#include <png.h>
#include <setjmp.h>

typedef struct mem_png {
    jmp_buf jump;
    const uint8_t *b;
    size_t n, at;
} mem_png;

static void libpng_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    longjmp(((mem_png *)png_get_error_ptr(png))->jump, 1);
}
static void libpng_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }
static void libpng_read(png_structp png, png_bytep dst, size_t len)
{
    mem_png *m = png_get_io_ptr(png);
    if (len > m->n - m->at)
        png_error(png, "truncated");
    memcpy(dst, m->b + m->at, len);
    m->at += len;
}

/* A greyscale / RGB PNG of 8 bits from memory into px (w * h * channels
 * bytes at most cap), the way a libpng reader would do it; 0 on error. */
static int decode_libpng(const uint8_t *b, size_t n, int channels, uint8_t *px, size_t cap)
{
    mem_png m = {.b = b, .n = n, .at = 0};
    png_structp volatile png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &m, libpng_error, libpng_warning);
    png_infop volatile info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info)
        return 0;
    if (setjmp(m.jump)) {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
        return 0;
    }
    png_set_read_fn(png, &m, libpng_read);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if (channels == 1)
        png_set_rgb_to_gray_fixed(png, 1, -1, -1);
    else
        png_set_gray_to_rgb(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_palette_to_rgb(png);
    png_set_expand_gray_1_2_4_to_8(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes * h > cap)
        png_error(png, "too large");
    for (int p = 0; p < passes; p++)
        for (png_uint_32 y = 0; y < h; y++)
            png_read_row(png, px + y * rowbytes, NULL);
    png_read_end(png, NULL);
    png_structp p = png;
    png_infop i = info;
    png_destroy_read_struct(&p, &i, NULL);
    return (int)w;
}
#endif

static double thread_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void die(const char *what)
{
    fprintf(stderr, "dataset_decode_stages: %s: %s\n", what, dc_errmsg());
    exit(1);
}

/* The old reader (image_decode.c before libpng): a malloc'd copy of the file through stdio. */
static uint8_t *read_stdio(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        fprintf(stderr, "%s: cannot open\n", path);
        exit(1);
    }
    FILE *f = fdopen(fd, "rb");
    *n = (size_t)sb.st_size;
    uint8_t *buf = malloc(*n ? *n : 1);
    if (!f || !buf || fread(buf, 1, *n, f) != *n) {
        fprintf(stderr, "%s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    return buf;
}

/* The old PNG decoder: stb_image, header first, a new buffer per image. */
static uint8_t *decode_stb(const uint8_t *b, size_t n, int channels, int *w, int *h)
{
    int comp, rc;
    if (!stbi_info_from_memory(b, (int)n, w, h, &comp))
        return NULL;
    return stbi_load_from_memory(b, (int)n, w, h, &rc, channels);
}

typedef struct ctx {
    const dc_loader *ds;
    const int *order; /* the files' order (NULL: the folder's) */
    int n, channels, size;
    uint8_t **files;
    size_t *sizes;
    float *x;
    uint8_t *px;
    size_t px_cap;
    dc_image_scratch keep; /* holds `first` */
    dc_image_u8 first;     /* the first file, decoded */
    double sink;
} ctx;

typedef enum {
    ST_READ_STDIO,
    ST_READ_RAW,
    ST_STB,
    ST_NEW_DECODE,
    ST_LIBPNG,
    ST_FLOAT,
    ST_OLD_PATH,
    ST_LIB,
    ST_PIPE,
    ST_TEAM,
    ST_COUNT
} stage;

static const char *const NAMES[ST_COUNT] = {
    "read, stdio (old)",       "read, one syscall (new)",  "decode, stb_image (old)", "decode, stb_image (new)",
    "decode, libpng",          "to float",                 "old per-image path",      "library, in thread (new)",
    "library, pipeline (new)", "library, team of 1",
};

/* One pass of a stage over every file: its CPU seconds. */
static double run_stage(ctx *c, stage s)
{
    const dc_loader *ds = c->ds;
    dc_image_scratch sc = {0};
    dc_image_u8 img;
    double t0 = s == ST_PIPE || s == ST_TEAM ? process_cpu() : thread_cpu();
    if (s == ST_LIB) {
        /* as dc_loader_get_batch (new batch tensors each time), in c->order */
        int nb = dc_loader_cardinality(ds), bs = ds->batch_size;
        for (int b = 0; b < nb; b++) {
            int rows = b == nb - 1 ? ds->n - b * bs : bs, got;
            dc_tensor *x = dc_tensor_new(4, (int[]){bs, ds->x_shape[0], ds->x_shape[1], ds->x_shape[2]});
            dc_tensor *y = dc_tensor_new(1, (int[]){bs});
            if (!x || !y || dc_loader_fill(ds, c->order, b * bs, rows, 0, rows, b, x, y, &got))
                die("batch");
            c->sink += x->data[0];
            dc_tensor_free(x);
            dc_tensor_free(y);
        }
    } else if (s == ST_PIPE || s == ST_TEAM) {
        int nb = dc_loader_cardinality(ds);
        dc_batch_job *jobs = calloc((size_t)nb, sizeof *jobs);
        for (int b = 0; b < nb; b++) {
            jobs[b].first = b * ds->batch_size;
            jobs[b].b = jobs[b].len = b == nb - 1 ? ds->n - b * ds->batch_size : ds->batch_size;
            jobs[b].index = b;
        }
        dc_pipe *p;
        /* ST_TEAM: a team of 1 with every one of 1 cores: no reader thread */
        if (s == ST_TEAM ? dc_pipe_start_team(ds, c->order, jobs, nb, 1, 1, &p)
                         : dc_pipe_start(ds, c->order, jobs, nb, &p))
            die("pipe");
        for (int b = 0; b < nb; b++) {
            dc_tensor *x, *y;
            int rows;
            if (dc_pipe_next(p, &x, &y, &rows))
                die("pipe batch");
            c->sink += x->data[0];
            dc_pipe_release(p);
        }
        dc_pipe_stop(p);
        free(jobs);
    } else {
        for (int k = 0; k < c->n; k++) {
            int i = c->order ? c->order[k] : k;
            const char *path = ds->paths[i];
            size_t n;
            int w, h;
            if (s == ST_READ_STDIO) {
                uint8_t *b = read_stdio(path, &n);
                c->sink += b[0];
                free(b);
            } else if (s == ST_READ_RAW) {
                if (dc_image_read(path, &sc, &n))
                    die("read");
                c->sink += sc.file[0];
            } else if (s == ST_STB) {
                uint8_t *p = decode_stb(c->files[i], c->sizes[i], c->channels, &w, &h);
                if (!p)
                    die(path);
                c->sink += p[0];
                stbi_image_free(p);
            } else if (s == ST_LIBPNG) {
#ifdef DC_BENCH_LIBPNG
                if (!decode_libpng(c->files[i], c->sizes[i], c->channels, c->px, c->px_cap))
                    die(path);
                c->sink += c->px[0];
#endif
            } else if (s == ST_NEW_DECODE) {
                if (dc_image_decode_in(c->files[i], c->sizes[i], path, c->channels, DC_IMAGE_MAX_PIXELS_DEFAULT, &sc,
                                       &img))
                    die("decode");
                c->sink += img.px[0];
            } else if (s == ST_FLOAT) {
                /* the first image's decoded pixels, converted every time */
                dc_image_resize(&c->first, c->size, c->size, DC_FIT_STRETCH, 0, c->x);
                c->sink += c->x[0];
            } else { /* ST_OLD_PATH */
                uint8_t *b = read_stdio(path, &n);
                uint8_t *p = decode_stb(b, n, c->channels, &w, &h);
                if (!p)
                    die(path);
                dc_image_u8 u = {h, w, c->channels, p};
                dc_image_resize(&u, c->size, c->size, DC_FIT_STRETCH, 0, c->x);
                c->sink += c->x[0];
                stbi_image_free(p);
                free(b);
            }
        }
    }
    double t = (s == ST_PIPE || s == ST_TEAM ? process_cpu() : thread_cpu()) - t0;
    dc_image_scratch_free(&sc);
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [SIZE] [grey|rgb] [REPS] [shuffle]\n", argv[0]);
        return 2;
    }
    dc_image_dir_config cfg = dc_image_dir_defaults();
    int size = argc > 2 ? atoi(argv[2]) : 28;
    cfg.image_size[0] = cfg.image_size[1] = size;
    cfg.color_mode = argc > 3 && !strcmp(argv[3], "rgb") ? DC_COLOR_RGB : DC_COLOR_GRAYSCALE;
    cfg.shuffle = 0;
    cfg.verbose = 0;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    dc_loader *ds;
    if (dc_image_dataset_from_directory(argv[1], &cfg, &ds, NULL))
        die(argv[1]);
    dc_loader_set_prefetch(ds, 1, 8);
    omp_set_num_threads(1);
    ctx c;
    memset(&c, 0, sizeof c);
    c.ds = ds;
    c.n = ds->n;
    c.channels = cfg.color_mode == DC_COLOR_RGB ? 3 : 1;
    c.size = size;
    int *perm = NULL;
    if (argc > 5 && !strcmp(argv[5], "shuffle")) {
        perm = malloc((size_t)c.n * sizeof *perm);
        if (!perm)
            return 1;
        dc_numpy_shuffle_perm(42, perm, c.n);
        c.order = perm;
    }
    c.px_cap = (size_t)1 << 24;
    c.px = malloc(c.px_cap);
    c.files = calloc((size_t)c.n, sizeof *c.files);
    c.sizes = calloc((size_t)c.n, sizeof *c.sizes);
    c.x = calloc(ds->x_per * 4, sizeof(float));
    for (int i = 0; i < c.n; i++)
        c.files[i] = read_stdio(ds->paths[i], &c.sizes[i]);
    if (dc_image_decode_in(c.files[0], c.sizes[0], ds->paths[0], c.channels, DC_IMAGE_MAX_PIXELS_DEFAULT, &c.keep,
                           &c.first))
        die("decode");
    stage order[ST_COUNT] = {ST_READ_STDIO, ST_READ_RAW, ST_STB,     ST_LIBPNG,
                             ST_NEW_DECODE, ST_FLOAT,    ST_OLD_PATH, ST_LIB, ST_PIPE, ST_TEAM};
    double best[ST_COUNT];
    for (int s = 0; s < ST_COUNT; s++)
        best[s] = 1e30;
    for (int r = 0; r < reps; r++)
        for (int k = 0; k < ST_COUNT; k++) {
            double t = run_stage(&c, order[k]);
            if (t < best[order[k]])
                best[order[k]] = t;
        }
    printf("%d images (%s, %d x %d, %s order), CPU time per image, best of %d passes:\n", c.n,
           c.channels == 1 ? "grey" : "rgb", size, size, perm ? "shuffled" : "folder", reps);
    for (int s = 0; s < ST_COUNT; s++) {
#ifndef DC_BENCH_LIBPNG
        if (s == ST_LIBPNG)
            continue;
#endif
        printf("  %-26s %7.2f us\n", NAMES[s], 1e6 * best[s] / c.n);
    }
    printf("  %-26s %7.2f us  (hand-off between threads)\n", "pipeline - in thread",
           1e6 * (best[ST_PIPE] - best[ST_LIB]) / c.n);
    printf("  %-26s %7.2f us  (fit's path with every core training)\n", "team of 1 - in thread",
           1e6 * (best[ST_TEAM] - best[ST_LIB]) / c.n);
    printf("  per 60,000-image epoch: old path %.2f s, new (pipeline) %.2f s, team %.2f s of CPU   (%g)\n",
           best[ST_OLD_PATH] / c.n * 60000, best[ST_PIPE] / c.n * 60000, best[ST_TEAM] / c.n * 60000, c.sink > 0 ? 1.0 : 0.0);
    for (int i = 0; i < c.n; i++)
        free(c.files[i]);
    free(c.files);
    free(c.sizes);
    free(c.x);
    free(c.px);
    free(perm);
    dc_image_scratch_free(&c.keep);
    dc_loader_free(ds);
    return 0;
}
