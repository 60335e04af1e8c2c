/*
 * safetensors.h - reading and writing the safetensors format, internal.
 *
 * The format (github.com/huggingface/safetensors): 8 bytes N, a
 * little-endian uint64, the size of the header; N bytes of JSON, an object
 * that starts with '{' and may be padded at the end with spaces, mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]},
 * plus an optional "__metadata__" object of string values; then the byte
 * buffer.  Offsets are relative to the buffer, tensors are row-major and
 * little-endian, and together they must cover the buffer exactly: no holes,
 * no overlaps.
 */
#ifndef DC_SAFETENSORS_H
#define DC_SAFETENSORS_H

#include "io/json.h"

#define DC_ST_MAX_DIMS 16
#define DC_ST_MAX_HEADER (100u << 20) /* the reference implementation's limit */

typedef struct dc_st_tensor {
    const char *name;   /* borrowed from the parsed header */
    const char *dtype;  /* "F32", "F16", ... */
    int elem_size;      /* bytes per element */
    int ndim;
    uint64_t shape[DC_ST_MAX_DIMS];
    uint64_t count;     /* elements */
    const uint8_t *data;/* borrowed from the caller's buffer */
    uint64_t begin, end;/* offsets in the byte buffer */
} dc_st_tensor;

typedef struct dc_st_file {
    dc_json *header;
    const dc_json *metadata; /* the __metadata__ object, or NULL */
    dc_st_tensor *tensors;   /* in header order */
    dc_st_tensor **by_name;  /* the same, sorted by name (dc_st_find) */
    size_t n;
} dc_st_file;

/* Parses and checks buf[0..len) (borrowed; must outlive the result).  Every
 * length, offset, dtype and shape is checked before use; `where` (a path)
 * starts every message.  *out is freed with dc_st_free. */
dc_status dc_st_parse(const uint8_t *buf, size_t len, const char *where, dc_st_file **out);
void dc_st_free(dc_st_file *f);
/* The tensor named `name`, or NULL; O(log n). */
const dc_st_tensor *dc_st_find(const dc_st_file *f, const char *name);
/* A __metadata__ value, or NULL. */
const char *dc_st_meta(const dc_st_file *f, const char *key);

/* One float32 tensor to write. */
typedef struct dc_st_entry {
    const char *name;
    int ndim;
    const int *shape;
    const float *data;
} dc_st_entry;

/* Writes the tensors (float32) and the metadata pairs meta[2i] -> meta[2i+1]
 * to path atomically (see dc_file_write_atomic). */
dc_status dc_st_write(const char *path, const dc_st_entry *e, size_t n, const char *const *meta, size_t n_meta);

#endif
