/*
 * fuzz_image.c - the image readers of image_dataset_from_directory
 * (src/data/image_decode.c: libjpeg-turbo for JPEG, stb_image for PNG, BMP
 * and GIF, after the header's pixel budget check).  The first byte picks
 * the channels (1, 3, 4), the target size (1..16 x 1..16) and the fit
 * (stretch, crop, pad, nearest); the rest is the file.  A decoded image is
 * resized and every output value read, so a wrong size shows up as an
 * out-of-bounds access.  The budget is 2^20 pixels, to keep each input
 * fast; a header claiming more must be refused without decoding.
 * Seeds: tests/fixtures/image_dir/fuzz_seeds.py.
 */
#include "fuzz.h"
#include "data/image_decode.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t opt = data[0];
    int channels = (const int[]){1, 3, 4, 3}[opt & 3];
    int oh = 1 + ((opt >> 2) & 7) * 2, ow = 1 + ((opt >> 5) & 7) * 2;
    dc_image_u8 img;
    if (dc_image_decode(data + 1, size - 1, "fuzz", channels, (size_t)1 << 20, &img) != DC_OK)
        return 0;
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < (size_t)img.h * (size_t)img.w * (size_t)img.c; i++)
        sum += img.px[i];
    float *out = calloc((size_t)oh * (size_t)ow * (size_t)channels, sizeof(float));
    if (out) {
        dc_image_fit fit = (dc_image_fit)((opt >> 1) % 3);
        if (dc_image_resize(&img, oh, ow, fit, opt & 1, out) == DC_OK) {
            volatile float s = 0;
            for (int i = 0; i < oh * ow * channels; i++)
                s += out[i];
        }
        free(out);
    }
    free(img.px);
    return 0;
}
