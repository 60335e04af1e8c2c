/*
 * onnx_internal.h - what the ONNX writer (export*.c) and reader (import*.c)
 * share: the message types protobuf-c generates from the onnx.proto that
 * libonnx-dev ships (onnx.pb-c.h, in the build tree; CMakeLists.txt), named
 * Onnx__ModelProto, Onnx__NodeProto ...
 *
 * Files are parsed and written by protobuf-c's runtime only: no hand-written
 * wire format.  Each side adds its own declarations in its section below.
 */
#ifndef DC_ONNX_INTERNAL_H
#define DC_ONNX_INTERNAL_H

#include "onnx.pb-c.h"

/* The operator-set version files are written with unless the caller asks
 * for another, and the newest the reader accepts. */
#define DC_ONNX_OPSET_DEFAULT 17
/* IR version 8 is the one onnx 1.12 (Debian 12's python3-onnx) writes
 * for opset 17. */
#define DC_ONNX_IR_VERSION 8

/* ---- writer (export*.c) ---- */

/* ---- reader (import*.c) ---- */

#endif /* DC_ONNX_INTERNAL_H */
