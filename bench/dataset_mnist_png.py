#!/usr/bin/python3
"""dataset_mnist_png.py - writes MNIST as 70,000 PNG files in class folders,
for the folder-training benchmark (bench/dataset_run.sh):

    OUT/training/<digit>/<index>.png   the 60,000 training images
    OUT/testing/<digit>/<index>.png    the 10,000 test images

Usage: /usr/bin/python3 bench/dataset_mnist_png.py [IDX_DIR] [OUT]
IDX_DIR defaults to ~/.cache/deepc/mnist (what the examples' fetch caches),
OUT to ~/.cache/deepc/mnist_png.  Needs numpy and PIL (python3-pil).  The
files are 8-bit greyscale PNGs, byte-identical pixels to the IDX images;
nothing here is committed."""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import read_idx  # noqa: E402

home = os.path.expanduser("~/.cache/deepc")
idx_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(home, "mnist")
out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(home, "mnist_png")
for split, prefix in (("training", "train"), ("testing", "t10k")):
    x = read_idx(os.path.join(idx_dir, prefix + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(idx_dir, prefix + "-labels-idx1-ubyte"))
    for d in range(10):
        os.makedirs(os.path.join(out, split, str(d)), exist_ok=True)
    for i in range(len(x)):
        Image.fromarray(x[i], mode="L").save(os.path.join(out, split, str(y[i]), "%05d.png" % i))
    print("%s: %d images" % (split, len(x)))
