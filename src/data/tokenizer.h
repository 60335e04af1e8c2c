/*
 * tokenizer.h - the Tokenizer's state, shared by text.c (fitting,
 * texts_to_sequences) and text_vec.c (matrices, sequences_to_texts, JSON),
 * internal.
 */
#ifndef DC_TOKENIZER_H
#define DC_TOKENIZER_H

#include "core/core.h"

typedef struct dc_tok_entry {
    char *word;
    long count;   /* word_counts */
    long docs;    /* word_docs: documents the word occurs in */
    int last_doc; /* the last document counted in docs */
    int order;    /* first seen */
    int index;    /* word_index, 0 = none */
} dc_tok_entry;

struct dc_tokenizer {
    int num_words, lower, char_level, fitted, documents;
    char *split, *oov, *filters_text; /* filters_text: as given, for to_json */
    uint32_t *filters;
    size_t n_filters;
    uint64_t ascii_filter[2]; /* bit c set: ASCII character c is a filter */
    dc_tok_entry *entries;    /* in first-seen order */
    int n_entries, cap_entries;
    int *table; /* open addressing: entry number + 1, 0 empty */
    size_t table_cap;
    char **index_word; /* [0 .. max_index] */
    int max_index, oov_index, vocab;
};

/* The entry number of `word`, or -1. */
int dc_tok_find(const dc_tokenizer *t, const char *word);
/* Adds a word not yet present, with its counts (counted in no text being fitted yet); returns its entry
 * number, or -1 (out of memory). */
int dc_tok_add(dc_tokenizer *t, const char *word, long count, long docs);
/* Rebuilds word_index and index_word from the counts. */
dc_status dc_tok_rebuild_index(dc_tokenizer *t);

#endif
