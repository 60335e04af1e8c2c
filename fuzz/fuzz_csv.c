/*
 * fuzz_csv.c - the CSV reader (issue 5's dc_csv_parse); the first byte
 * picks the configuration (delimiter, header, target column), the rest is
 * the text.
 */
#include "fuzz.h"
#include "deepc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    dc_csv_config cfg = dc_csv_defaults();
    cfg.delimiter = data[0] & 1 ? ' ' : ',';
    cfg.header = (data[0] >> 1) & 1;
    cfg.target_col = data[0] & 4 ? DC_CSV_NO_TARGET : (data[0] & 8 ? 0 : -1);
    int cols[2] = {1, 0};
    if (data[0] & 16) {
        cfg.feature_cols = cols;
        cfg.n_feature_cols = 2;
    }
    dc_tensor *x = NULL, *y = NULL;
    if (dc_csv_parse((const char *)data + 1, size - 1, "fuzz", &cfg, &x, &y) == DC_OK) {
        volatile float sum = 0;
        for (size_t i = 0; i < x->size; i++)
            sum += x->data[i];
        for (size_t i = 0; y && i < y->size; i++)
            sum += y->data[i];
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    return 0;
}
