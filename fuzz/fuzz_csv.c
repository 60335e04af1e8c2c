/*
 * fuzz_csv.c - the CSV reader (dc_csv_parse_ex); the first byte picks the
 * configuration, the rest is the text.  Bits of the first byte: 1 delimiter
 * ' ' (else ','), 2 header, 4 no target, 8 target column 0 (else the last),
 * 16 feature columns {1, 0}, 32 the target as class labels, 64 columns by
 * name ("species" as the target; with 16, features "b" and "a"), 128 given
 * class names {"setosa", "versicolor", "virginica"}.  Every accepted read
 * is walked end to end: x, y, and every name info returns.
 */
#include "fuzz.h"
#include "deepc.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    dc_csv_config cfg = dc_csv_defaults();
    cfg.delimiter = data[0] & 1 ? ' ' : ',';
    cfg.header = (data[0] >> 1) & 1;
    cfg.target_col = data[0] & 4 ? DC_CSV_NO_TARGET : (data[0] & 8 ? 0 : -1);
    static const int cols[2] = {1, 0};
    static const char *const names[2] = {"b", "a"};
    static const char *const classes[3] = {"setosa", "versicolor", "virginica"};
    if (data[0] & 16) {
        cfg.feature_cols = data[0] & 64 ? NULL : cols;
        cfg.n_feature_cols = 2;
        cfg.feature_names = data[0] & 64 ? names : NULL;
        cfg.n_feature_names = 2;
    }
    cfg.target_classes = (data[0] >> 5) & 1;
    if (data[0] & 64)
        cfg.target_name = "species";
    if (data[0] & 128) {
        cfg.class_names = classes;
        cfg.n_class_names = 3;
    }
    dc_tensor *x = NULL, *y = NULL;
    dc_csv_info info;
    if (dc_csv_parse_ex((const char *)data + 1, size - 1, "fuzz", &cfg, &x, &y, &info) == DC_OK) {
        volatile float sum = 0;
        volatile size_t chars = 0;
        for (size_t i = 0; i < x->size; i++)
            sum += x->data[i];
        for (size_t i = 0; y && i < y->size; i++)
            sum += y->data[i];
        for (int i = 0; i < info.n_column_names; i++)
            chars += strlen(info.column_names[i]);
        for (int i = 0; i < info.n_classes; i++)
            chars += strlen(info.class_names[i]);
        for (int i = 0; i < info.n_feature_cols; i++)
            chars += (size_t)info.feature_cols[i];
    }
    dc_tensor_free(x);
    dc_tensor_free(y);
    dc_csv_info_free(&info);
    return 0;
}
