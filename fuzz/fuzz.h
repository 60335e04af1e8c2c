/*
 * fuzz.h - the entry point every fuzz target defines.  Built two ways:
 * with clang -fsanitize=fuzzer (fuzz/build.sh) for campaigns, and with the
 * plain driver replay.c into the normal build, so the test suite replays
 * each committed corpus (fuzz/corpus/<target>/) without clang.
 */
#ifndef DC_FUZZ_H
#define DC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
