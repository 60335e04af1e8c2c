"""MNIST for the PyTorch reference benchmarks: IDX files (raw or .gz) read
with numpy, scaled to [0, 1] as the tutorials do.  Shared by torch_mlp.py and
torch_cnn.py."""
import gzip
import os

import numpy as np
import torch


def read_idx(path):
    """Read a raw (or .gz) IDX file into a numpy uint8 array."""
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            opener = gzip.open if p.endswith(".gz") else open
            with opener(p, "rb") as f:
                raw = f.read()
            break
    else:
        raise FileNotFoundError(path + "[.gz]")
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:  # 0x0000 08 nd: unsigned byte data
        raise ValueError("%s: bad IDX magic 0x%08x" % (path, magic))
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    n = int(np.prod(dims))
    if len(raw) - off != n:
        raise ValueError("%s: expected %d data bytes, got %d" % (path, n, len(raw) - off))
    return np.frombuffer(raw, dtype=np.uint8, offset=off).reshape(dims)


def load_split(data_dir, prefix, shape):
    """Images reshaped to (N, *shape) float32 in [0, 1], labels int64."""
    x = read_idx(os.path.join(data_dir, prefix + "-images-idx3-ubyte"))
    y = read_idx(os.path.join(data_dir, prefix + "-labels-idx1-ubyte"))
    if x.shape[0] != y.shape[0]:
        raise ValueError("%s: %d images but %d labels" % (prefix, x.shape[0], y.shape[0]))
    x = x.reshape((x.shape[0],) + tuple(shape)).astype(np.float32)
    np.divide(x, np.float32(255.0), out=x)  # in place: no second copy
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
