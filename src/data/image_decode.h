/*
 * image_decode.h - decoding one image file (BMP, GIF's first frame, JPEG,
 * PNG) into 8-bit pixels, and Keras' resizing of it (image_decode.c).
 * Internal; used by image_dir.c and the fuzz target.
 */
#ifndef DC_IMAGE_DECODE_H
#define DC_IMAGE_DECODE_H

#include "deepc.h"

#include <stddef.h>
#include <stdint.h>

/* The largest file an image may be (bytes) and, by default, the most pixels
 * its header may claim: checked before anything is decoded, so a header
 * that claims 10^9 pixels costs nothing. */
#define DC_IMAGE_MAX_FILE ((size_t)1 << 28)
#define DC_IMAGE_MAX_PIXELS_DEFAULT ((size_t)1 << 26)
/* A scratch's first read buffer (bytes): a file smaller than this is read
 * with one read() and no fstat; a larger one grows the buffer to its size. */
#define DC_IMAGE_READ_BUFFER ((size_t)16 << 10)

/* Pixels: h rows of w pixels of c channels (1 grey, 3 RGB, 4 RGBA), row-major. */
typedef struct dc_image_u8 {
    int h, w, c;
    uint8_t *px; /* h * w * c bytes; free() it */
} dc_image_u8;

/* Buffers a reading thread reuses from one image to the next (zero it
 * first; dc_image_scratch_free releases it): the file's bytes and the
 * pixels, grown as needed, so decoding a folder of small images allocates
 * nothing per image. */
typedef struct dc_image_scratch {
    uint8_t *file;
    size_t file_cap;
    uint8_t *px;
    size_t px_cap;
} dc_image_scratch;
void dc_image_scratch_free(dc_image_scratch *s);

/* Reads the regular file at path (at most DC_IMAGE_MAX_FILE bytes) into
 * s->file: *n bytes.  A file smaller than s->file_cap costs one open, read
 * and close (no stdio, no fstat); fstat refuses what is not a regular file
 * when the read looks odd (nothing read, an error, a full buffer). */
dc_status dc_image_read(const char *path, dc_image_scratch *s, size_t *n);
/* As dc_image_decode, but out->px lies in s->px: valid until s is used
 * again, not to be freed. */
dc_status dc_image_decode_in(const void *bytes, size_t n, const char *name, int channels, size_t max_pixels,
                             dc_image_scratch *s, dc_image_u8 *out);

/* Decodes bytes[0..n) (format recognised by content, as tf.io.decode_image
 * does) into `channels` channels (1, 3 or 4), refusing a header that claims
 * more than max_pixels pixels before decoding.  `name` is the file named in
 * every message ("<name>: ...").  A truncated or corrupt image is an error
 * (DC_ERR_FORMAT), never a partly grey picture. */
dc_status dc_image_decode(const void *bytes, size_t n, const char *name, int channels, size_t max_pixels,
                          dc_image_u8 *out);
/* Reads the file (at most DC_IMAGE_MAX_FILE bytes) and decodes it. */
dc_status dc_image_load(const char *path, int channels, size_t max_pixels, dc_image_u8 *out);

/* How an image is brought to the target size (Keras' load_image). */
typedef enum { DC_FIT_STRETCH, DC_FIT_CROP, DC_FIT_PAD } dc_image_fit;

/* Resizes src to (oh, ow, src->c) floats in 0..255 into out, with
 * tf.image.resize's bilinear (half-pixel centres, no antialiasing), after
 * Keras' smart_resize crop (DC_FIT_CROP) or into resize_with_pad's box
 * with zeros around (DC_FIT_PAD); `nearest` uses nearest-neighbour
 * sampling instead (tf.image.resize's "nearest").  out must be zeroed
 * for DC_FIT_PAD.  Fails only when out of memory. */
dc_status dc_image_resize(const dc_image_u8 *src, int oh, int ow, dc_image_fit fit, int nearest, float *out);

#endif
