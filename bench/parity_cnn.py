#!/usr/bin/python3
"""PyTorch's half of the training-parity check (see bench/parity_cnn.c).

Reads deepc's initial weights (OUTDIR/init.safetensors), takes the same
STEPS steps of batch 32 over the first STEPS * 32 training images in order,
with Keras' Adam written out (alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
w -= alpha m / (sqrt(v) + eps), eps 1e-7), in float32 on one thread, and
compares every step's loss with deepc's (read from DEEPC_LOG) and the final
weights with OUTDIR/final.safetensors.

Usage: parity_cnn.py --data DIR --out OUTDIR --deepc-log FILE [--steps S]
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from safetensors_ref import read  # noqa: E402  (the spec-following reader)
from mnist_idx import load_split  # noqa: E402
from torch_cnn import CNN2  # noqa: E402

# deepc (Keras layout) name -> (torch parameter, how to convert)
NAMES = {
    "conv2d/kernel": ("conv1.weight", "conv"), "conv2d/bias": ("conv1.bias", None),
    "conv2d_1/kernel": ("conv2.weight", "conv"), "conv2d_1/bias": ("conv2.bias", None),
    "dense/kernel": ("fc1.weight", "dense"), "dense/bias": ("fc1.bias", None),
    "dense_1/kernel": ("fc2.weight", "dense"), "dense_1/bias": ("fc2.bias", None),
}


def load(path, nhwc):
    _, tensors = read(path)
    out = {}
    for name, (dtype, shape, values) in tensors.items():
        if name not in NAMES:
            continue
        a = torch.tensor(np.array(values, dtype=np.float32).reshape(shape))
        how = NAMES[name][1]
        if how == "conv":    # (kh, kw, cin, cout) -> (cout, cin, kh, kw)
            a = a.permute(3, 2, 0, 1)
        elif how == "dense":  # (in, out) -> (out, in)
            a = a.t()
            if name == "dense/kernel" and not nhwc:  # Flatten order (h, w, c) -> NCHW's (c, h, w)
                a = a.reshape(128, 5, 5, 64).permute(0, 3, 1, 2).reshape(128, 1600)
        out[NAMES[name][0]] = a.contiguous()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--deepc-log", required=True)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--layout", choices=("nhwc", "nchw"), default="nhwc",
                    help="PyTorch's memory layout; running both shows how fast two PyTorch runs drift apart "
                         "by rounding alone")
    ap.add_argument("--dump", help="write PyTorch's per-step losses to this file")
    args = ap.parse_args()
    torch.set_num_threads(1)

    x, y = load_split(args.data, "train", (1, 28, 28))
    nhwc = args.layout == "nhwc"
    model = CNN2(nhwc=nhwc)
    model.load_state_dict(load(os.path.join(args.out, "init.safetensors"), nhwc))
    params = list(model.parameters())
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-7

    deepc_loss = {}
    for line in open(args.deepc_log):
        f = line.split()
        if len(f) == 4 and f[0] == "step":
            deepc_loss[int(f[1])] = float(f[3])

    worst_loss = 0.0
    dump = open(args.dump, "w") if args.dump else None
    for t in range(1, args.steps + 1):
        xb = x[(t - 1) * 32:t * 32]
        if nhwc:
            xb = xb.contiguous(memory_format=torch.channels_last)
        yb = y[(t - 1) * 32:t * 32]
        loss = F.cross_entropy(model(xb), yb)
        for p in params:
            p.grad = None
        loss.backward()
        alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        with torch.no_grad():
            for p, mi, vi in zip(params, m, v):
                g = p.grad
                mi.mul_(b1).add_(g, alpha=1 - b1)
                vi.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.sub_(alpha * mi / (vi.sqrt() + eps))
        if dump:
            dump.write("step %d loss %.9g\n" % (t, loss.item()))
        d = abs(loss.item() - deepc_loss[t]) / max(abs(loss.item()), 1e-12)
        worst_loss = max(worst_loss, d)
        if t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 1875) or t == args.steps:
            print("step %4d  torch loss %.7f  deepc loss %.7f  rel diff %.2e" % (t, loss.item(), deepc_loss[t], d))

    final = load(os.path.join(args.out, "final.safetensors"), nhwc)
    init = load(os.path.join(args.out, "init.safetensors"), nhwc)
    print("worst per-step loss rel diff %.2e" % worst_loss)
    for name, p in model.named_parameters():
        moved = (p.detach() - init[name]).norm().item()
        diff = (p.detach() - final[name]).norm().item()
        print("%-13s |torch - deepc| / |change from init| = %.2e" % (name, diff / max(moved, 1e-30)))


if __name__ == "__main__":
    main()
