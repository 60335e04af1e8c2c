/*
 * callbacks.c - the callback list fit drives, and Keras' built-in
 * callbacks: ModelCheckpoint, EarlyStopping, ReduceLROnPlateau, CSVLogger,
 * LearningRateScheduler and TerminateOnNaN, each following Keras 3's rules
 * (keras/src/callbacks/), including where they differ from intuition:
 * EarlyStopping's min_delta is subtracted before comparing, ReduceLROnPlateau
 * compares against best - min_delta, and "auto" mode means max for a
 * monitor containing "acc", min otherwise.
 *
 * Each built-in is one allocation: its state struct starts with the
 * dc_callback, whose user pointer is the struct itself.
 */
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const double *dc_logs_get(const dc_logs *logs, const char *key)
{
    DC_CHECK_NULL_OR(logs, NULL);
    DC_CHECK_NULL_OR(key, NULL);
    for (int i = 0; logs && i < logs->n; i++)
        if (strcmp(logs->keys[i], key) == 0)
            return &logs->values[i];
    return NULL;
}

dc_status dc_logs_set(dc_logs *logs, const char *key, double value)
{
    DC_CHECK_NULL(logs);
    DC_CHECK_NULL(key);
    if (!key || !*key || strlen(key) >= DC_LOGS_KEY_LEN)
        return dc_fail(DC_ERR_ARG, "logs: key \"%s\" is empty or longer than %d bytes", key ? key : "(null)",
                       DC_LOGS_KEY_LEN - 1);
    for (int i = 0; i < logs->n; i++)
        if (strcmp(logs->keys[i], key) == 0) {
            logs->values[i] = value;
            return DC_OK;
        }
    if (logs->n == DC_LOGS_MAX)
        return dc_fail(DC_ERR_ARG, "logs: no room for key \"%s\"; a logs record holds %d keys", key, DC_LOGS_MAX);
    int i = logs->n++;
    memcpy(logs->keys[i], key, strlen(key) + 1);
    logs->values[i] = value;
    return DC_OK;
}

void dc_logs_reset(dc_logs *logs, int n, const char *const *keys, const double *values)
{
    for (int i = 0; i < n; i++) {
        snprintf(logs->keys[i], DC_LOGS_KEY_LEN, "%s", keys[i]);
        logs->values[i] = values[i];
    }
    logs->n = n;
}

void dc_callback_free(dc_callback *cb)
{
    if (cb && cb->destroy)
        cb->destroy(cb->user);
}

dc_status dc_callbacks_run(dc_callback *const *cbs, int n, dc_model *m, dc_cb_event ev, int index, dc_logs *logs)
{
    for (int i = 0; i < n; i++) {
        dc_callback *c = cbs[i];
        dc_status st = DC_OK;
        switch (ev) {
        case DC_CB_TRAIN_BEGIN: st = c->on_train_begin ? c->on_train_begin(c->user, m) : DC_OK; break;
        case DC_CB_TRAIN_END: st = c->on_train_end ? c->on_train_end(c->user, m, logs) : DC_OK; break;
        case DC_CB_EPOCH_BEGIN: st = c->on_epoch_begin ? c->on_epoch_begin(c->user, m, index) : DC_OK; break;
        case DC_CB_EPOCH_END: st = c->on_epoch_end ? c->on_epoch_end(c->user, m, index, logs) : DC_OK; break;
        case DC_CB_BATCH_BEGIN: st = c->on_batch_begin ? c->on_batch_begin(c->user, m, index) : DC_OK; break;
        case DC_CB_BATCH_END: st = c->on_batch_end ? c->on_batch_end(c->user, m, index, logs) : DC_OK; break;
        }
        if (st != DC_OK)
            return st;
    }
    return DC_OK;
}

/* A new zeroed state of `size` bytes whose first member is the callback. */
static void *cb_new(size_t size, void (*destroy)(void *))
{
    dc_callback *cb = dc_calloc(1, size);
    if (cb) {
        cb->user = cb;
        cb->destroy = destroy;
    }
    return cb;
}

/* The watched log key, its direction (Keras' "auto": maximise monitors
 * about accuracy, minimise the rest) and the best value so far. */
typedef struct monitor {
    char key[64];
    int greater;
    double best;
} monitor;

static void monitor_init(monitor *mon, const char *key, dc_monitor_mode mode)
{
    snprintf(mon->key, sizeof mon->key, "%s", key);
    mon->greater = mode == DC_MODE_MAX || (mode == DC_MODE_AUTO && strstr(key, "acc") != NULL);
    mon->best = mon->greater ? -INFINITY : INFINITY;
}

static dc_status check_monitor(const char *who, const char *monitor, dc_monitor_mode mode)
{
    if (!monitor || !*monitor || strlen(monitor) >= 64)
        return dc_fail(DC_ERR_ARG, "%s: monitor must be a metric name of 1 to 63 characters", who);
    if ((unsigned)mode > DC_MODE_MAX)
        return dc_fail(DC_ERR_ARG, "%s: unknown mode %d", who, (int)mode);
    return DC_OK;
}

/* ---- ModelCheckpoint ---- */

typedef struct checkpoint {
    dc_callback cb;
    dc_checkpoint_config cfg;
    char filepath[1024];
    monitor mon;
} checkpoint;

/* Appends the Python format field `name:spec` (epoch or a log value). */
static dc_status format_field(const char *name, const char *spec, int epoch, const dc_logs *logs, char *out,
                              size_t size)
{
    size_t n = strlen(spec);
    char type = n && strchr("dfeEgG", spec[n - 1]) ? spec[n - 1] : 0;
    char fmt[32];
    for (size_t i = 0; i + (type != 0) < n; i++)
        if (!(spec[i] >= '0' && spec[i] <= '9') && spec[i] != '.')
            return dc_fail(DC_ERR_ARG, "ModelCheckpoint: format spec \"%s\" of {%s} is not supported (use forms like "
                                       "02d, .4f, .3e)",
                           spec, name);
    if (n > 8)
        return dc_fail(DC_ERR_ARG, "ModelCheckpoint: format spec \"%s\" is too long", spec);
    if (strcmp(name, "epoch") == 0) {
        if (type && type != 'd')
            return dc_fail(DC_ERR_ARG, "ModelCheckpoint: {epoch:%s}: epoch is an integer, use d", spec);
        snprintf(fmt, sizeof fmt, "%%%.*sd", (int)(n - (type != 0)), spec);
        snprintf(out, size, fmt, epoch);
        return DC_OK;
    }
    const double *v = dc_logs_get(logs, name);
    if (!v)
        return dc_fail(DC_ERR_ARG, "ModelCheckpoint: filepath field {%s} is neither epoch nor a log key", name);
    if (type == 'd')
        return dc_fail(DC_ERR_ARG, "ModelCheckpoint: {%s:%s}: a metric is not an integer", name, spec);
    if (!n) {
        dc_fmt_double(out, size, *v);
        return DC_OK;
    }
    snprintf(fmt, sizeof fmt, "%%%s%s", spec, type ? "" : "g");
    snprintf(out, size, fmt, *v);
    return DC_OK;
}

/* Python's str.format(epoch=epoch, **logs) for the fields deepc supports. */
dc_status dc_format_filepath(const char *pattern, int epoch, const dc_logs *logs, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = pattern; *p; p++) {
        char piece[128] = {0};
        if ((*p == '{' && p[1] == '{') || (*p == '}' && p[1] == '}')) {
            piece[0] = *p++;
        } else if (*p == '{') {
            const char *close = strchr(p, '}');
            char field[96], *colon;
            if (!close || (size_t)(close - p) >= sizeof field)
                return dc_fail(DC_ERR_ARG, "ModelCheckpoint: unclosed or too long field in filepath \"%s\"", pattern);
            snprintf(field, sizeof field, "%.*s", (int)(close - p - 1), p + 1);
            colon = strchr(field, ':');
            if (colon)
                *colon = '\0';
            dc_status st = format_field(field, colon ? colon + 1 : "", epoch, logs, piece, sizeof piece);
            if (st != DC_OK)
                return st;
            p = close;
        } else if (*p == '}') {
            return dc_fail(DC_ERR_ARG, "ModelCheckpoint: single '}' in filepath \"%s\"", pattern);
        } else {
            piece[0] = *p;
        }
        size_t k = strlen(piece);
        if (o + k >= size)
            return dc_fail(DC_ERR_ARG, "ModelCheckpoint: formatted filepath longer than %zu bytes", size - 1);
        memcpy(out + o, piece, k);
        o += k;
    }
    out[o] = '\0';
    return DC_OK;
}

static dc_status checkpoint_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    checkpoint *c = user;
    char path[1024];
    dc_status st = dc_format_filepath(c->filepath, epoch + 1, logs, path, sizeof path);
    if (st != DC_OK)
        return st;
    /* data-parallel: every rank tracks the best value, rank 0 alone writes and prints */
    int chief = dc_replica_chief(m);
    if (c->cfg.save_best_only) {
        monitor *mon = &c->mon;
        const double *v = dc_logs_get(logs, mon->key);
        if (!v)
            return DC_OK; /* Keras warns and skips */
        int better = mon->greater ? *v > mon->best : *v < mon->best;
        if (!better) {
            if (c->cfg.verbose && chief)
                printf("\nEpoch %d: %s did not improve from %.5f\n", epoch + 1, mon->key, mon->best);
            return DC_OK;
        }
        if (c->cfg.verbose && chief)
            printf("\nEpoch %d: %s improved from %.5f to %.5f, saving model to %s\n", epoch + 1, mon->key, mon->best,
                   *v, path);
        mon->best = *v;
    } else if (c->cfg.verbose && chief) {
        printf("\nEpoch %d: saving model to %s\n", epoch + 1, path);
    }
    if (!chief)
        return DC_OK;
    st = c->cfg.save_weights_only ? dc_model_save_weights(m, path) : dc_model_save(m, path, 1);
    if (st != DC_OK)
        dc_err_prefix("ModelCheckpoint");
    return st;
}

dc_checkpoint_config dc_checkpoint_defaults(const char *filepath)
{
    dc_checkpoint_config c;
    memset(&c, 0, sizeof c);
    c.filepath = filepath;
    c.monitor = "val_loss";
    c.mode = DC_MODE_AUTO;
    return c;
}

dc_callback *dc_callback_model_checkpoint(const dc_checkpoint_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    if (!cfg->filepath || !*cfg->filepath || strlen(cfg->filepath) >= 1024)
        return dc_fail_null(DC_ERR_ARG, "ModelCheckpoint: filepath must be 1 to 1023 characters");
    if (check_monitor("ModelCheckpoint", cfg->monitor, cfg->mode) != DC_OK)
        return NULL;
    checkpoint *c = cb_new(sizeof *c, free);
    if (!c)
        return NULL;
    c->cfg = *cfg;
    snprintf(c->filepath, sizeof c->filepath, "%s", cfg->filepath);
    monitor_init(&c->mon, cfg->monitor, cfg->mode);
    c->cb.on_epoch_end = checkpoint_epoch_end;
    return &c->cb;
}

/* ---- EarlyStopping ---- */

typedef struct early {
    dc_callback cb;
    dc_early_stopping_config cfg;
    monitor mon;
    double min_delta;
    int wait, stopped_epoch, best_epoch;
    float *best_weights;
    size_t count;
} early;

static void early_free(void *user)
{
    early *e = user;
    free(e->best_weights);
    free(e);
}

static int improved(const early *e, double v, double ref)
{
    return e->mon.greater ? v - e->min_delta > ref : v - e->min_delta < ref;
}

static dc_status early_train_begin(void *user, dc_model *m)
{
    early *e = user;
    (void)m;
    e->wait = 0;
    e->stopped_epoch = 0;
    e->best_epoch = 0;
    free(e->best_weights);
    e->best_weights = NULL;
    return DC_OK;
}

static dc_status keep_weights(early *e, dc_model *m, int epoch)
{
    float *params = dc_graph_params(m->g, &e->count);
    if (!e->best_weights && !(e->best_weights = dc_malloc(e->count * sizeof(float))))
        return DC_ERR_NOMEM;
    memcpy(e->best_weights, params, e->count * sizeof(float));
    e->best_epoch = epoch;
    return DC_OK;
}

static dc_status early_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    early *e = user;
    const double *v = dc_logs_get(logs, e->mon.key);
    dc_status st = DC_OK;
    if (!v || epoch < e->cfg.start_from_epoch)
        return DC_OK;
    if (e->cfg.restore_best_weights && !e->best_weights && (st = keep_weights(e, m, epoch)) != DC_OK)
        return st;
    e->wait++;
    if (improved(e, *v, e->mon.best)) {
        e->mon.best = *v;
        e->best_epoch = epoch;
        if (e->cfg.restore_best_weights && (st = keep_weights(e, m, epoch)) != DC_OK)
            return st;
        if (isnan(e->cfg.baseline) || improved(e, *v, e->cfg.baseline))
            e->wait = 0;
        return DC_OK;
    }
    if (e->wait >= e->cfg.patience && epoch > 0) {
        e->stopped_epoch = epoch;
        m->stop_training = 1;
    }
    return DC_OK;
}

static dc_status early_train_end(void *user, dc_model *m, dc_logs *logs)
{
    early *e = user;
    (void)logs;
    if (e->stopped_epoch > 0 && e->cfg.verbose)
        printf("Epoch %d: early stopping\n", e->stopped_epoch + 1);
    if (e->cfg.restore_best_weights && e->best_weights) {
        size_t count;
        float *params = dc_graph_params(m->g, &count);
        if (count != e->count)
            return dc_fail(DC_ERR_STATE, "EarlyStopping: the model changed size during training");
        if (e->cfg.verbose)
            printf("Restoring model weights from the end of the best epoch: %d.\n", e->best_epoch + 1);
        memcpy(params, e->best_weights, count * sizeof(float));
    }
    return DC_OK;
}

dc_early_stopping_config dc_early_stopping_defaults(void)
{
    dc_early_stopping_config c;
    memset(&c, 0, sizeof c);
    c.monitor = "val_loss";
    c.baseline = NAN;
    return c;
}

dc_callback *dc_callback_early_stopping(const dc_early_stopping_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    if (check_monitor("EarlyStopping", cfg->monitor, cfg->mode) != DC_OK)
        return NULL;
    if (cfg->patience < 0 || cfg->start_from_epoch < 0 || !isfinite(cfg->min_delta))
        return dc_fail_null(DC_ERR_ARG, "EarlyStopping: patience %d and start_from_epoch %d must be >= 0, min_delta finite",
                            cfg->patience, cfg->start_from_epoch);
    early *e = cb_new(sizeof *e, early_free);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    monitor_init(&e->mon, cfg->monitor, cfg->mode);
    e->min_delta = e->mon.greater ? fabs(cfg->min_delta) : -fabs(cfg->min_delta);
    e->cb.on_train_begin = early_train_begin;
    e->cb.on_epoch_end = early_epoch_end;
    e->cb.on_train_end = early_train_end;
    return &e->cb;
}

/* ---- ReduceLROnPlateau ---- */

typedef struct plateau {
    dc_callback cb;
    dc_reduce_lr_config cfg;
    monitor mon;
    int wait, cooldown_counter;
} plateau;

static dc_status plateau_train_begin(void *user, dc_model *m)
{
    plateau *p = user;
    (void)m;
    p->mon.best = p->mon.greater ? -INFINITY : INFINITY;
    p->wait = p->cooldown_counter = 0;
    return DC_OK;
}

/* Keras 3's ReduceLROnPlateau and LearningRateScheduler record the rate the
 * epoch ran with in its logs, and so in the History. */
static dc_status log_learning_rate(dc_model *m, dc_logs *logs)
{
    return logs ? dc_logs_set(logs, "learning_rate", dc_model_get_lr(m)) : DC_OK;
}

static dc_status plateau_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    plateau *p = user;
    dc_status st = log_learning_rate(m, logs);
    if (st != DC_OK)
        return st;
    const double *v = dc_logs_get(logs, p->mon.key);
    if (!v)
        return DC_OK;
    if (p->cooldown_counter > 0) {
        p->cooldown_counter--;
        p->wait = 0;
    }
    int better = p->mon.greater ? *v > p->mon.best + p->cfg.min_delta : *v < p->mon.best - p->cfg.min_delta;
    if (better) {
        p->mon.best = *v;
        p->wait = 0;
    } else if (p->cooldown_counter <= 0 && ++p->wait >= p->cfg.patience) {
        double old_lr = dc_model_get_lr(m);
        if (old_lr > (double)p->cfg.min_lr) {
            double new_lr = fmax(old_lr * p->cfg.factor, (double)p->cfg.min_lr);
            dc_optimizer_set_lr(m->opt, (float)new_lr);
            if (p->cfg.verbose)
                printf("\nEpoch %d: ReduceLROnPlateau reducing learning rate to %g.\n", epoch + 1, new_lr);
            p->cooldown_counter = p->cfg.cooldown;
            p->wait = 0;
        }
    }
    return DC_OK;
}

dc_reduce_lr_config dc_reduce_lr_defaults(void)
{
    dc_reduce_lr_config c;
    memset(&c, 0, sizeof c);
    c.monitor = "val_loss";
    c.factor = 0.1f;
    c.patience = 10;
    c.min_delta = 1e-4;
    return c;
}

dc_callback *dc_callback_reduce_lr_on_plateau(const dc_reduce_lr_config *cfg)
{
    DC_CHECK_NULL_OR(cfg, NULL);
    if (check_monitor("ReduceLROnPlateau", cfg->monitor, cfg->mode) != DC_OK)
        return NULL;
    if (!(cfg->factor >= 0.0f && cfg->factor < 1.0f))
        return dc_fail_null(DC_ERR_ARG, "ReduceLROnPlateau: factor %g is not supported, expected 0 <= factor < 1",
                            (double)cfg->factor);
    if (cfg->patience < 0 || cfg->cooldown < 0 || !(cfg->min_lr >= 0.0f))
        return dc_fail_null(DC_ERR_ARG, "ReduceLROnPlateau: patience %d, cooldown %d and min_lr %g must be >= 0",
                            cfg->patience, cfg->cooldown, (double)cfg->min_lr);
    plateau *p = cb_new(sizeof *p, free);
    if (!p)
        return NULL;
    p->cfg = *cfg;
    monitor_init(&p->mon, cfg->monitor, cfg->mode);
    p->cb.on_train_begin = plateau_train_begin;
    p->cb.on_epoch_end = plateau_epoch_end;
    return &p->cb;
}

/* ---- CSVLogger ---- */

typedef struct csv_logger {
    dc_callback cb;
    char filename[1024];
    char sep;
    int append, header_done;
    FILE *fp;
    int n_keys;
    char (*keys)[48];
} csv_logger;

static void csv_free(void *user)
{
    csv_logger *c = user;
    if (c->fp)
        fclose(c->fp);
    free(c->keys);
    free(c);
}

/* Opens the log for appending or writing without ever blocking: a FIFO (or
 * any other path that is not a regular file) is refused, as the readers
 * refuse one (src/io/file.h); *was_empty says whether it held nothing. */
static dc_status csv_open(csv_logger *c, int *was_empty)
{
    int fd = open(c->filename, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | (c->append ? O_APPEND : O_TRUNC), 0666);
    if (fd < 0)
        return dc_fail(DC_ERR_IO, "CSVLogger: cannot open %s for writing: %s", c->filename, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dc_fail(DC_ERR_IO, "CSVLogger: %s is not a regular file", c->filename);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *was_empty = st.st_size == 0;
    if (!(c->fp = fdopen(fd, c->append ? "a" : "w"))) {
        close(fd);
        return dc_fail(DC_ERR_NOMEM, "CSVLogger: cannot open %s for writing", c->filename);
    }
    return DC_OK;
}

static dc_status csv_train_begin(void *user, dc_model *m)
{
    csv_logger *c = user;
    c->header_done = 0;
    if (!dc_replica_chief(m)) /* data-parallel: rank 0 alone writes */
        return DC_OK;
    int was_empty = 1;
    dc_status st = csv_open(c, &was_empty);
    if (st != DC_OK)
        return st;
    c->header_done = c->append && !was_empty; /* a header only if the file is new or empty */
    free(c->keys);
    c->keys = NULL;
    return DC_OK;
}

static int cmp_keys(const void *a, const void *b) { return strcmp(a, b); }

static dc_status csv_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    csv_logger *c = user;
    (void)m;
    if (!c->fp)
        return DC_OK;
    if (!c->keys) { /* Keras: the first epoch's keys, sorted */
        if (!(c->keys = dc_calloc((size_t)logs->n + 1, sizeof *c->keys)))
            return DC_ERR_NOMEM;
        c->n_keys = logs->n;
        for (int i = 0; i < logs->n; i++)
            snprintf(c->keys[i], sizeof c->keys[i], "%s", logs->keys[i]);
        qsort(c->keys, (size_t)c->n_keys, sizeof *c->keys, cmp_keys);
    }
    if (!c->header_done) {
        fprintf(c->fp, "epoch");
        for (int i = 0; i < c->n_keys; i++)
            fprintf(c->fp, "%c%s", c->sep, c->keys[i]);
        fputc('\n', c->fp);
        c->header_done = 1;
    }
    fprintf(c->fp, "%d", epoch);
    for (int i = 0; i < c->n_keys; i++) {
        const double *v = dc_logs_get(logs, c->keys[i]);
        char num[48] = "NA";
        if (v) {
            /* Python's str(float): shortest round trip, integral values get ".0". */
            dc_fmt_double(num, sizeof num, *v);
            if (isfinite(*v) && !strpbrk(num, ".e"))
                strcat(num, ".0");
            if (isnan(*v))
                snprintf(num, sizeof num, "nan");
            else if (isinf(*v))
                snprintf(num, sizeof num, *v > 0 ? "inf" : "-inf");
        }
        fprintf(c->fp, "%c%s", c->sep, num);
    }
    fputc('\n', c->fp);
    if (fflush(c->fp) != 0 || ferror(c->fp))
        return dc_fail(DC_ERR_IO, "CSVLogger: writing %s failed", c->filename);
    return DC_OK;
}

static dc_status csv_train_end(void *user, dc_model *m, dc_logs *logs)
{
    csv_logger *c = user;
    (void)m;
    (void)logs;
    int bad = c->fp && fclose(c->fp) != 0;
    c->fp = NULL;
    return bad ? dc_fail(DC_ERR_IO, "CSVLogger: closing %s failed", c->filename) : DC_OK;
}

dc_callback *dc_callback_csv_logger(const char *filename, char separator, int append)
{
    DC_CHECK_NULL_OR(filename, NULL);
    if (!filename || !*filename || strlen(filename) >= 1024)
        return dc_fail_null(DC_ERR_ARG, "CSVLogger: filename must be 1 to 1023 characters");
    if (separator == '\0' || separator == '\n')
        return dc_fail_null(DC_ERR_ARG, "CSVLogger: separator must be a printable character");
    csv_logger *c = cb_new(sizeof *c, csv_free);
    if (!c)
        return NULL;
    snprintf(c->filename, sizeof c->filename, "%s", filename);
    c->sep = separator;
    c->append = append;
    c->cb.on_train_begin = csv_train_begin;
    c->cb.on_epoch_end = csv_epoch_end;
    c->cb.on_train_end = csv_train_end;
    return &c->cb;
}

/* ---- LearningRateScheduler ---- */

typedef struct scheduler {
    dc_callback cb;
    float (*schedule)(int epoch, float lr, void *user);
    void *user;
    int verbose;
} scheduler;

static dc_status scheduler_epoch_begin(void *user, dc_model *m, int epoch)
{
    scheduler *s = user;
    float lr = s->schedule(epoch, dc_model_get_lr(m), s->user);
    if (!(lr >= 0.0f) || !isfinite(lr))
        return dc_fail(DC_ERR_ARG, "LearningRateScheduler: the schedule returned %g at epoch %d, expected a finite "
                                   "learning rate >= 0",
                       (double)lr, epoch);
    dc_optimizer_set_lr(m->opt, lr);
    if (s->verbose)
        printf("\nEpoch %05d: LearningRateScheduler setting learning rate to %g.\n", epoch + 1, (double)lr);
    return DC_OK;
}

static dc_status scheduler_epoch_end(void *user, dc_model *m, int epoch, dc_logs *logs)
{
    (void)user;
    (void)epoch;
    return log_learning_rate(m, logs);
}

dc_callback *dc_callback_lr_scheduler(float (*schedule)(int epoch, float lr, void *user), void *user, int verbose)
{
    if (!schedule)
        return dc_fail_null(DC_ERR_ARG, "LearningRateScheduler: schedule is NULL");
    scheduler *s = cb_new(sizeof *s, free);
    if (!s)
        return NULL;
    s->schedule = schedule;
    s->user = user;
    s->verbose = verbose;
    s->cb.on_epoch_begin = scheduler_epoch_begin;
    s->cb.on_epoch_end = scheduler_epoch_end;
    return &s->cb;
}

/* ---- TerminateOnNaN ---- */

static dc_status nan_batch_end(void *user, dc_model *m, int batch, dc_logs *logs)
{
    const double *loss = dc_logs_get(logs, "loss");
    (void)user;
    (void)batch;
    if (loss && !isfinite(*loss))
        m->stop_training = 1;
    return DC_OK;
}

dc_callback *dc_callback_terminate_on_nan(void)
{
    dc_callback *cb = cb_new(sizeof *cb, free);
    if (cb)
        cb->on_batch_end = nan_batch_end;
    return cb;
}
