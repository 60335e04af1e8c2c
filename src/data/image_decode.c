/*
 * image_decode.c - one image file into 8-bit pixels, and Keras' resize.
 *
 * Decoders are Debian's, not ours: JPEG through libjpeg-turbo (the library
 * PIL and TensorFlow decode with, so pixels agree with theirs: islow IDCT,
 * fancy upsampling), PNG, BMP and GIF through stb_image from libstb-dev
 * (header-only; its implementation is compiled here, PNG/BMP/GIF only).
 * libpng was tried for PNG and measured slower on small images (7.3 against
 * 5.7 us of CPU for a 28 x 28 MNIST PNG, bench/dataset_decode_stages.c:
 * libpng inflates row by row, too few bytes a call for zlib's fast loop).
 * The format is recognised by content, as tf.io.decode_image does, so a
 * .png that holds a JPEG decodes.
 *
 * Hostile files: the header is read first (stbi_info_from_memory, the PNG
 * IHDR, jpeg_read_header) and a claim of more than max_pixels pixels (or a
 * dimension of 0) is refused before any pixel buffer is allocated.  Every
 * libjpeg warning (a truncated file: "Premature end of JPEG file", corrupt
 * data) is an error here, where libjpeg would return a grey-filled picture.
 * libjpeg reports errors through longjmp from a per-call error manager, so
 * decoding is thread-safe (image_dir.c decodes on worker threads); stb is
 * built without failure strings, its one piece of global state.
 *
 * A reading thread passes a dc_image_scratch from image to image: the file
 * is read into its buffer with one open / read / close (no stdio, no fstat
 * unless the read looks odd: dc_image_read),
 * and JPEG pixels are written into its pixel buffer (stb_image allocates
 * its own, which the scratch takes over).
 *
 * Resize (dc_image_resize) follows tf.image.resize: bilinear with
 * half-pixel centres (in = (out + 0.5) * in_size / out_size - 0.5, the two
 * neighbours clamped to the image), on top of Keras' smart_resize crop or
 * resize_with_pad's centred box.
 */
#include "data/image_decode.h"
#include "core/checked.h"
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STB_IMAGE_STATIC
/* no failure strings: stb's readers would write into a static buffer (a
 * race between the reader threads, and global state that
 * tests/check_globals.sh refuses); the messages here say what failed and
 * name the file instead */
#define STBI_NO_FAILURE_STRINGS
#define STB_IMAGE_IMPLEMENTATION
#include "data/stb_image_include.h"

void dc_image_scratch_free(dc_image_scratch *s)
{
    if (!s)
        return;
    free(s->file);
    free(s->px);
    memset(s, 0, sizeof *s);
}

/* s->px with room for `need` bytes (its old contents dropped); NULL when
 * out of memory (the error set). */
static uint8_t *scratch_px(dc_image_scratch *s, size_t need)
{
    if (need > s->px_cap) {
        uint8_t *p = dc_malloc(need);
        if (!p)
            return NULL;
        free(s->px);
        s->px = p;
        s->px_cap = need;
    }
    return s->px;
}

static dc_status check_pixels(const char *name, const char *format, long w, long h, size_t max_pixels)
{
    if (w <= 0 || h <= 0)
        return dc_fail(DC_ERR_FORMAT, "%s: the %s header gives a size of %ld x %ld pixels", name, format, w, h);
    size_t px = dc_size_mul((size_t)w, (size_t)h);
    if (px > max_pixels)
        return dc_fail(DC_ERR_FORMAT,
                       "%s: the %s header claims %ld x %ld = %zu pixels, more than the limit of %zu; refused before "
                       "decoding",
                       name, format, w, h, px, max_pixels);
    return DC_OK;
}

/* ---- JPEG (libjpeg-turbo) ---- */

typedef struct jpeg_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jpeg_err;

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_err *e = (jpeg_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jump, 1);
}

/* Warnings (level -1: corrupt or truncated data) are errors; trace
 * messages (level >= 0) are ignored. */
static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level < 0)
        jpeg_on_error(cinfo);
}

static int is_jpeg(const uint8_t *b, size_t n) { return n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

/* volatile: these change between setjmp and a longjmp back to it. */
static dc_status decode_jpeg(const uint8_t *bytes, size_t n, const char *name, int channels, size_t max_pixels,
                             dc_image_scratch *sc, dc_image_u8 *out)
{
    struct jpeg_decompress_struct cinfo;
    jpeg_err err;
    uint8_t *volatile row = NULL;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_on_error;
    err.mgr.emit_message = jpeg_on_message;
    err.msg[0] = 0;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        return dc_fail(DC_ERR_FORMAT, "%s: corrupt or truncated JPEG (libjpeg: %s)", name, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, bytes, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    dc_status st = check_pixels(name, "JPEG", (long)cinfo.image_width, (long)cinfo.image_height, max_pixels);
    if (st != DC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    /* CMYK / YCCK come out as CMYK; everything else as grey or RGB. */
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cmyk)
        cinfo.out_color_space = JCS_CMYK;
    else
        cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, nc = cinfo.output_components;
    uint8_t *px = scratch_px(sc, (size_t)w * (size_t)h * (size_t)channels);
    row = dc_malloc((size_t)w * (size_t)nc);
    if (!px || !row) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        return dc_last_status();
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW r = row;
        jpeg_read_scanlines(&cinfo, &r, 1);
        uint8_t *o = px + (size_t)y * (size_t)w * (size_t)channels;
        for (int x = 0; x < w; x++) {
            const uint8_t *s = row + (size_t)x * (size_t)nc;
            uint8_t rgb[3];
            if (nc == 4) { /* Adobe CMYK is stored inverted: R = C * K / 255 */
                for (int k = 0; k < 3; k++)
                    rgb[k] = (uint8_t)((s[k] * s[3] + 127) / 255);
            } else if (nc == 1) {
                rgb[0] = rgb[1] = rgb[2] = s[0];
            } else {
                memcpy(rgb, s, 3);
            }
            if (channels == 1) {
                o[x] = nc == 1 ? s[0] : (uint8_t)((rgb[0] * 19595 + rgb[1] * 38470 + rgb[2] * 7471 + 32768) >> 16);
            } else {
                memcpy(o + (size_t)x * (size_t)channels, rgb, 3);
                if (channels == 4)
                    o[(size_t)x * 4 + 3] = 255;
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->h = h;
    out->w = w;
    out->c = channels;
    out->px = px;
    return DC_OK;
}

/* ---- PNG, BMP, GIF (stb_image) ---- */

/* A PNG's IHDR, checked before stb reads it: stbi_info refuses a claim
 * above 2^30 bytes only as "unknown image type", which would not say why.
 * *w, *h: its size, or 0 when there is no IHDR where it must be (then stb
 * says what is wrong). */
static dc_status png_check_ihdr(const uint8_t *b, size_t n, const char *name, size_t max_pixels, long *w, long *h)
{
    *w = *h = 0;
    if (n < 24 || memcmp(b + 12, "IHDR", 4))
        return DC_OK;
    unsigned long pw = (unsigned long)b[16] << 24 | (unsigned long)b[17] << 16 | (unsigned long)b[18] << 8 | b[19];
    unsigned long ph = (unsigned long)b[20] << 24 | (unsigned long)b[21] << 16 | (unsigned long)b[22] << 8 | b[23];
    dc_status st = check_pixels(name, "PNG", (long)pw, (long)ph, max_pixels);
    if (st == DC_OK) {
        *w = (long)pw;
        *h = (long)ph;
    }
    return st;
}

static const char *stb_format(const uint8_t *b, size_t n)
{
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8))
        return "PNG";
    if (n >= 2 && b[0] == 'B' && b[1] == 'M')
        return "BMP";
    if (n >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6)))
        return "GIF";
    return NULL;
}

static dc_status decode_stb(const uint8_t *bytes, size_t n, const char *name, const char *format, int channels,
                            size_t max_pixels, dc_image_scratch *sc, dc_image_u8 *out)
{
    if (n > INT_MAX)
        return dc_fail(DC_ERR_FORMAT, "%s: %zu bytes is too large for the %s decoder", name, n, format);
    long w = 0, h = 0;
    if (!strcmp(format, "PNG")) {
        dc_status st = png_check_ihdr(bytes, n, name, max_pixels, &w, &h);
        if (st != DC_OK)
            return st;
    }
    /* A PNG's size is its IHDR's, checked above (stb reads IHDR first and
     * fails before allocating without it); the others ask stb's header
     * reader, which allocates nothing. */
    if (!w) {
        int iw = 0, ih = 0, comp = 0;
        if (!stbi_info_from_memory(bytes, (int)n, &iw, &ih, &comp))
            return dc_fail(DC_ERR_FORMAT, "%s: corrupt or unsupported %s header (stb_image refused it)", name,
                           format);
        dc_status st = check_pixels(name, format, iw, ih, max_pixels);
        if (st != DC_OK)
            return st;
        w = iw;
        h = ih;
    }
    int rw, rh, rc;
    uint8_t *p = stbi_load_from_memory(bytes, (int)n, &rw, &rh, &rc, channels);
    if (!p)
        return dc_fail(DC_ERR_FORMAT, "%s: corrupt or truncated %s (stb_image could not decode it)", name, format);
    if (rw != w || rh != h) { /* the header and the data disagree */
        stbi_image_free(p);
        return dc_fail(DC_ERR_FORMAT, "%s: the %s header says %ld x %ld but the data decoded to %d x %d", name,
                       format, w, h, rw, rh);
    }
    /* stb allocates with malloc (STBI_MALLOC default): the scratch takes
     * the buffer over, and free() releases it. */
    free(sc->px);
    sc->px = p;
    sc->px_cap = (size_t)rw * (size_t)rh * (size_t)channels;
    out->h = rh;
    out->w = rw;
    out->c = channels;
    out->px = p;
    return DC_OK;
}

dc_status dc_image_decode_in(const void *bytes, size_t n, const char *name, int channels, size_t max_pixels,
                             dc_image_scratch *s, dc_image_u8 *out)
{
    memset(out, 0, sizeof *out);
    if (channels != 1 && channels != 3 && channels != 4)
        return dc_fail(DC_ERR_ARG, "%s: %d channels asked for, expected 1, 3 or 4", name, channels);
    const uint8_t *b = bytes;
    if (is_jpeg(b, n))
        return decode_jpeg(b, n, name, channels, max_pixels, s, out);
    const char *format = stb_format(b, n);
    if (format)
        return decode_stb(b, n, name, format, channels, max_pixels, s, out);
    return dc_fail(DC_ERR_FORMAT, "%s: not a BMP, GIF, JPEG or PNG image (%zu bytes, starting %02x %02x %02x %02x)",
                   name, n, n > 0 ? b[0] : 0, n > 1 ? b[1] : 0, n > 2 ? b[2] : 0, n > 3 ? b[3] : 0);
}

dc_status dc_image_decode(const void *bytes, size_t n, const char *name, int channels, size_t max_pixels,
                          dc_image_u8 *out)
{
    dc_image_scratch s = {0};
    dc_status st = dc_image_decode_in(bytes, n, name, channels, max_pixels, &s, out);
    if (st != DC_OK) {
        dc_image_scratch_free(&s);
        return st;
    }
    out->px = s.px; /* the caller frees it */
    return DC_OK;
}

/* s->file grown to `cap` bytes, its first `keep` bytes kept. */
static dc_status grow_file(dc_image_scratch *s, size_t cap, size_t keep, const char *path)
{
    uint8_t *b = realloc(s->file, cap);
    if (!b)
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory for a read buffer of %zu bytes (%zu read)", path, cap, keep);
    s->file = b;
    s->file_cap = cap;
    return DC_OK;
}

/* DC_OK when fd is a regular file (its size in *size); else the error. */
static dc_status check_regular(int fd, const char *path, unsigned long long *size)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        return dc_fail(DC_ERR_IO, "%s: not a regular file", path);
    *size = sb.st_size > 0 ? (unsigned long long)sb.st_size : 0;
    return DC_OK;
}

dc_status dc_image_read(const char *path, dc_image_scratch *s, size_t *n)
{
    *n = 0;
    if (!s->file) {
        dc_status st = grow_file(s, DC_IMAGE_READ_BUFFER, 0, path);
        if (st != DC_OK)
            return st;
    }
    /* O_NONBLOCK: a FIFO named like an image must not block the open or
     * the read (a regular file ignores the flag) */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return dc_fail(DC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* One read into the whole buffer: a regular file gives fewer bytes than
     * asked only at its end, so a file smaller than the buffer (every small
     * image) costs open, read and close, no fstat.  fstat is asked only
     * when the read looks odd: nothing read (an empty file, a FIFO with no
     * writer, /dev/null), an error (EAGAIN: a FIFO or a terminal), or a
     * full buffer (a larger image, or a device that never ends), where its
     * size grows the buffer at once. */
    size_t got = 0;
    int checked = 0; /* fstat said regular */
    dc_status st = DC_OK;
    for (;;) {
        if (got == s->file_cap) {
            size_t cap = s->file_cap;
            if (!checked) {
                unsigned long long size;
                if ((st = check_regular(fd, path, &size)) != DC_OK)
                    break;
                if (size > DC_IMAGE_MAX_FILE) {
                    st = dc_fail(DC_ERR_FORMAT, "%s: %llu bytes, more than the %zu an image file may have", path,
                                 size, DC_IMAGE_MAX_FILE);
                    break;
                }
                checked = 1;
                /* room for the whole file and the read that finds its end */
                if (size >= cap)
                    cap = (size_t)size + 1;
            }
            if (cap <= s->file_cap)
                cap = dc_size_mul(s->file_cap, 2);
            if (cap > DC_IMAGE_MAX_FILE + 1)
                cap = DC_IMAGE_MAX_FILE + 1;
            if (got > DC_IMAGE_MAX_FILE) {
                st = dc_fail(DC_ERR_FORMAT, "%s: more than the %zu bytes an image file may have", path,
                             DC_IMAGE_MAX_FILE);
                break;
            }
            if ((st = grow_file(s, cap, got, path)) != DC_OK)
                break;
        }
        ssize_t r = read(fd, s->file + got, s->file_cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        unsigned long long size;
        if (r < 0) {
            int e = errno;
            if (checked || (st = check_regular(fd, path, &size)) == DC_OK)
                st = dc_fail(DC_ERR_IO, "%s: read failed after %zu bytes: %s", path, got, strerror(e));
            break;
        }
        if (r == 0) {
            if (!checked && got == 0)
                st = check_regular(fd, path, &size);
            break;
        }
        got += (size_t)r;
        if (got < s->file_cap)
            break; /* a short read: the end of a regular file */
    }
    close(fd);
    if (st != DC_OK)
        return st;
    *n = got;
    return DC_OK;
}

dc_status dc_image_load(const char *path, int channels, size_t max_pixels, dc_image_u8 *out)
{
    memset(out, 0, sizeof *out);
    dc_image_scratch s = {0};
    size_t n;
    dc_status st = dc_image_read(path, &s, &n);
    if (st == DC_OK)
        st = dc_image_decode_in(s.file, n, path, channels, max_pixels, &s, out);
    free(s.file);
    if (st != DC_OK) {
        free(s.px);
        memset(out, 0, sizeof *out);
        return st;
    }
    return DC_OK; /* out->px is s.px: the caller frees it */
}

/* ---- resize ---- */

/* One output axis of tf.image.resize (half-pixel centres): the two source
 * indices and the weight of the upper one; nearest: lo only. */
typedef struct axis_tap {
    int lo, hi;
    float t;
} axis_tap;

static void taps(axis_tap *tp, int out, int in, int first, int count, int nearest)
{
    double scale = (double)count / out;
    for (int o = 0; o < out; o++) {
        if (nearest) {
            int i = (int)floor((o + 0.5) * scale);
            tp[o].lo = tp[o].hi = first + (i < count - 1 ? i : count - 1);
            tp[o].t = 0.0f;
            continue;
        }
        double f = (o + 0.5) * scale - 0.5, fl = floor(f);
        int lo = (int)fl, hi = (int)ceil(f);
        tp[o].t = (float)(f - fl);
        tp[o].lo = first + (lo < 0 ? 0 : lo);
        tp[o].hi = first + (hi > count - 1 ? count - 1 : hi);
    }
    (void)in;
}

/* Resizes the box (y0, x0, bh, bw) of src into the (rh, rw) window at
 * (py, px) of an (oh, ow) output. */
static void resize_box(const dc_image_u8 *src, int y0, int x0, int bh, int bw, int rh, int rw, int py, int px,
                       int ow, int nearest, float *out, axis_tap *ty, axis_tap *tx)
{
    int c = src->c;
    taps(ty, rh, src->h, y0, bh, nearest);
    taps(tx, rw, src->w, x0, bw, nearest);
    for (int y = 0; y < rh; y++) {
        const uint8_t *r0 = src->px + (size_t)ty[y].lo * (size_t)src->w * (size_t)c;
        const uint8_t *r1 = src->px + (size_t)ty[y].hi * (size_t)src->w * (size_t)c;
        float *o = out + ((size_t)(py + y) * (size_t)ow + (size_t)px) * (size_t)c;
        float wy = ty[y].t;
        for (int x = 0; x < rw; x++) {
            size_t a = (size_t)tx[x].lo * (size_t)c, b = (size_t)tx[x].hi * (size_t)c;
            float wx = tx[x].t;
            for (int k = 0; k < c; k++) {
                float top = r0[a + k] + (r0[b + k] - r0[a + k]) * wx;
                float bot = r1[a + k] + (r1[b + k] - r1[a + k]) * wx;
                o[(size_t)x * (size_t)c + k] = top + (bot - top) * wy;
            }
        }
    }
}

dc_status dc_image_resize(const dc_image_u8 *src, int oh, int ow, dc_image_fit fit, int nearest, float *out)
{
    /* the taps live on the stack for the usual sizes; a dimension is at most DC_DIM_LIMIT */
    axis_tap sy[512], sx[512];
    axis_tap *ty = oh <= 512 ? sy : dc_malloc((size_t)oh * sizeof *ty);
    axis_tap *tx = ow <= 512 ? sx : dc_malloc((size_t)ow * sizeof *tx);
    if (!ty || !tx) {
        if (ty != sy)
            free(ty);
        if (tx != sx)
            free(tx);
        return dc_last_status();
    }
    int h = src->h, w = src->w;
    if (fit == DC_FIT_CROP) {
        /* keras.utils.image_utils.smart_resize */
        int ch = (int)((double)w * oh / ow), cw = (int)((double)h * ow / oh);
        ch = ch < h ? ch : h;
        ch = ch > 1 ? ch : 1;
        cw = cw < w ? cw : w;
        cw = cw > 1 ? cw : 1;
        int y0 = (int)((double)(h - ch) / 2), x0 = (int)((double)(w - cw) / 2);
        resize_box(src, y0, x0, ch, cw, oh, ow, 0, 0, ow, nearest, out, ty, tx);
    } else if (fit == DC_FIT_PAD) {
        /* tf.image.resize_with_pad: the largest box of the image's aspect
         * that fits, centred, zeros around (the caller zeroed out). */
        double ratio = fmax((double)w / ow, (double)h / oh);
        double rhf = h / ratio, rwf = w / ratio;
        int rh = (int)floor(rhf), rw = (int)floor(rwf);
        rh = rh < 1 ? 1 : rh > oh ? oh : rh;
        rw = rw < 1 ? 1 : rw > ow ? ow : rw;
        int py = (int)floor((oh - rhf) / 2), px = (int)floor((ow - rwf) / 2);
        py = py < 0 ? 0 : py;
        px = px < 0 ? 0 : px;
        if (py + rh > oh)
            py = oh - rh;
        if (px + rw > ow)
            px = ow - rw;
        resize_box(src, 0, 0, h, w, rh, rw, py, px, ow, nearest, out, ty, tx);
    } else if (h == oh && w == ow) {
        size_t n = (size_t)h * (size_t)w * (size_t)src->c;
        for (size_t i = 0; i < n; i++)
            out[i] = src->px[i];
    } else {
        resize_box(src, 0, 0, h, w, oh, ow, 0, 0, ow, nearest, out, ty, tx);
    }
    if (ty != sy)
        free(ty);
    if (tx != sx)
        free(tx);
    return DC_OK;
}
