/*
 * stb_image_include.h - Debian's stb_image.h (libstb-dev) with its warnings
 * silenced: the one translation unit that compiles its implementation
 * (image_decode.c) and the bench that times it on its own
 * (bench/dataset_decode_stages.c) include it here.  Define the STBI_*
 * configuration macros and STB_IMAGE_IMPLEMENTATION first.
 */
#ifndef DEEPC_DATA_STB_IMAGE_INCLUDE_H
#define DEEPC_DATA_STB_IMAGE_INCLUDE_H

#if defined(__GNUC__)
/* for the whole file: stb_image declares static functions it defines only
 * in configurations not compiled here (the unpremultiply thread switch) */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#endif
