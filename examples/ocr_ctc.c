/*
 * ocr_ctc.c - PaddleOCR's character list and greedy CTC decoding
 * (CTCLabelDecode) for examples/ocr.c.
 *
 * ppocr_keys_v1.txt holds one character a line; the recogniser's classes
 * are the CTC blank (0), line i at i + 1, and a space last
 * (use_space_char), 6,625 in all.  Decoding takes each step's best class,
 * collapses repeats and drops blanks.
 */
#include "ocr_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OCR_KEYS_MAX_BYTES ((long)1 << 24)

dc_status ocr_keys_load(const char *path, ocr_keys *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dc_fail(DC_ERR_IO, "%s: cannot open the character list (ppocr_keys_v1.txt; --keys or --models)", path);
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len < 0 || len > OCR_KEYS_MAX_BYTES || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return dc_fail(DC_ERR_FORMAT, "%s: cannot read the character list (or larger than %ld bytes)", path,
                       OCR_KEYS_MAX_BYTES);
    }
    char *text = malloc((size_t)len + 2);
    size_t got = text ? fread(text, 1, (size_t)len, f) : 0;
    fclose(f);
    if (!text || got != (size_t)len) {
        free(text);
        return dc_fail(text ? DC_ERR_IO : DC_ERR_NOMEM, "%s: cannot read the character list", path);
    }
    text[len] = '\n';
    text[len + 1] = '\0';
    int lines = 0;
    for (long i = 0; i < len; i++)
        lines += text[i] == '\n' || (i == len - 1);
    char **key = malloc((size_t)(lines + 2) * sizeof *key);
    if (!key) {
        free(text);
        return dc_fail(DC_ERR_NOMEM, "%s: out of memory", path);
    }
    int n = 0;
    key[n++] = ""; /* the blank */
    for (char *p = text; p < text + len;) {
        char *e = strchr(p, '\n');
        *e = '\0';
        if (e > p && e[-1] == '\r')
            e[-1] = '\0';
        key[n++] = p;
        p = e + 1;
    }
    if (n == 1) {
        free(key);
        free(text);
        return dc_fail(DC_ERR_FORMAT, "%s: the character list is empty", path);
    }
    key[n++] = " ";
    *out = (ocr_keys){key, n, text};
    return DC_OK;
}

void ocr_keys_free(ocr_keys *k)
{
    if (!k)
        return;
    free(k->key);
    free(k->text);
    memset(k, 0, sizeof *k);
}

dc_status ocr_ctc_decode(const float *probs, int steps, int classes, const ocr_keys *keys, char *out, size_t cap,
                         float *score)
{
    if (classes != keys->n)
        return dc_fail(DC_ERR_SHAPE, "CTC decoding: the recogniser gives %d classes, the character list %d (blank, "
                                     "%d characters, space); a character list for another model?",
                       classes, keys->n, keys->n - 2);
    size_t len = 0;
    double sum = 0;
    int kept = 0, prev = -1;
    out[0] = '\0';
    for (int t = 0; t < steps; t++) {
        const float *p = probs + (size_t)t * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (p[c] > p[best])
                best = c;
        if (best != prev && best != 0) {
            size_t k = strlen(keys->key[best]);
            if (len + k + 1 > cap)
                return dc_fail(DC_ERR_RANGE, "CTC decoding: the text is longer than %zu bytes", cap - 1);
            memcpy(out + len, keys->key[best], k + 1);
            len += k;
            sum += p[best];
            kept++;
        }
        prev = best;
    }
    *score = kept ? (float)(sum / kept) : 0.0f;
    return DC_OK;
}
