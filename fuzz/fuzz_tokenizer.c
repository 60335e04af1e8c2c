/*
 * fuzz_tokenizer.c - the tokenizer JSON reader (Keras' to_json layout).  A
 * tokenizer that loads must write JSON that loads into the same JSON again,
 * and must tokenize, vectorise and turn ids back into text without error.
 */
#include "deepc.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_tokenizer *t, *again = NULL;
    if (dc_tokenizer_from_json((const char *)data, size, &t) != DC_OK)
        return 0;
    char *a = NULL, *b = NULL;
    if (dc_tokenizer_to_json(t, &a) != DC_OK || dc_tokenizer_from_json(a, strlen(a), &again) != DC_OK ||
        dc_tokenizer_to_json(again, &b) != DC_OK || strcmp(a, b) != 0)
        abort(); /* what deepc writes it must read, unchanged */
    const char *texts[] = {"The cat sat on the mat.", "", "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac unknown"};
    dc_sequences *s = NULL;
    dc_tensor *x = NULL;
    char **back = NULL;
    if (dc_tokenizer_texts_to_sequences(t, texts, 3, &s) != DC_OK ||
        dc_tokenizer_sequences_to_texts(t, s, &back) != DC_OK)
        abort();
    /* the matrix may be refused (no vocabulary, or too large to allocate), never crash */
    if (dc_tokenizer_vocab_size(t) < 100000 && dc_tokenizer_sequences_to_matrix(t, s, "tfidf", &x) == DC_OK)
        dc_tensor_free(x);
    dc_texts_free(back, 3);
    dc_sequences_free(s);
    free(a);
    free(b);
    dc_tokenizer_free(again);
    dc_tokenizer_free(t);
    return 0;
}
