#!/bin/sh
# install_ort.sh - installs onnxruntime-node (the CPU runtime; its install
# script, which fetches a GPU add-on from outside, is skipped) into a cache
# folder, once, and prints the node_modules folder to put in NODE_PATH.
#
#   NODE_PATH=$(sh tests/onnx/install_ort.sh) node tests/onnx/ort_run.js ...
#
# Folder: $DEEPC_ORT_DIR, else ~/.cache/deepc/onnxruntime-node.  Needs node
# and npm (Debian: nodejs npm).  Exit 1 (and a message) when it cannot.
set -eu
dir=${DEEPC_ORT_DIR:-${HOME}/.cache/deepc/onnxruntime-node}
version=1.31.1
if [ ! -f "$dir/node_modules/onnxruntime-node/package.json" ]; then
    command -v npm >/dev/null 2>&1 || { echo "install_ort: npm not found (apt-get install nodejs npm)" >&2; exit 1; }
    mkdir -p "$dir"
    (cd "$dir" && npm install --silent --no-audit --no-fund --ignore-scripts "onnxruntime-node@$version" >&2) ||
        { echo "install_ort: npm install onnxruntime-node@$version failed" >&2; exit 1; }
fi
echo "$dir/node_modules"
