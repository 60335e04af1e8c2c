#!/usr/bin/python3
"""The PyTorch half of bench/explain_ig.sh: integrated gradients (50 steps
from a black image, the midpoint rule a = (k + 1/2) / steps, the predicted
class's softmax output) on the first 100 MNIST test digits with seed 003's
CNN, on the weights bench/explain_ig (deepc) wrote into --dir, each digit's
path points one batch: the loop deepc's dc_explain_integrated_gradients runs.

    for each digit x:  xs = a[:, None] * x  (50, 28, 28, 1), requires_grad
                       p = softmax(model(xs)); g = d sum(p[:, c]) / d xs
                       ig = x * g.mean(0)

Checks the attributions against deepc's (explain_ig_attr.npy) relative to
their largest magnitude, then prints "torch_seconds S" (median of the
rounds).  Run with PyTorch at its best here (bench/explain_ig.sh sets the
environment: torch's 2 threads, its OpenBLAS single-threaded, AVX-512).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import read_idx  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="bench/results")
ap.add_argument("--data", default=os.path.expanduser("~/.cache/deepc/mnist"))
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--digits", type=int, default=100)
ap.add_argument("--steps", type=int, default=50)
ap.add_argument("--rounds", type=int, default=3)
args = ap.parse_args()
torch.set_num_threads(args.threads)

w = {}
for name in ["conv2d", "conv2d_1", "dense", "dense_1"]:
    for k in range(2):
        w[name, k] = torch.from_numpy(np.load(os.path.join(args.dir, "explain_ig_%s_%d.npy" % (name, k))))
k1 = w["conv2d", 0].permute(3, 2, 0, 1).contiguous()  # (kh, kw, in, out) -> (out, in, kh, kw)
k2 = w["conv2d_1", 0].permute(3, 2, 0, 1).contiguous()
b1, b2 = w["conv2d", 1], w["conv2d_1", 1]
d1, c1, d2, c2 = w["dense", 0], w["dense", 1], w["dense_1", 0], w["dense_1", 1]


def model(x):  # x (B, 28, 28, 1) NHWC -> softmax (B, 10)
    h = x.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)
    h = F.max_pool2d(F.relu(F.conv2d(h, k1, b1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, k2, b2)), 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)  # Keras' (h, w, c) flatten
    return torch.softmax(F.relu(h @ d1 + c1) @ d2 + c2, 1)


imgs = read_idx(os.path.join(args.data, "t10k-images-idx3-ubyte"))[: args.digits]
x = torch.from_numpy(imgs.astype(np.float32) / 255.0).reshape(-1, 28, 28, 1)
alphas = ((torch.arange(args.steps, dtype=torch.float32) + 0.5) / args.steps).reshape(-1, 1, 1, 1)
with torch.no_grad():
    classes = model(x).argmax(1)


def integrated_gradients():
    out = torch.empty_like(x)
    for i in range(x.shape[0]):
        xs = (alphas * x[i]).requires_grad_(True)  # baseline 0: 0 + a (x - 0)
        p = model(xs)
        (g,) = torch.autograd.grad(p[:, classes[i]].sum(), xs)
        out[i] = x[i] * g.mean(0)
    return out


times = []
for r in range(args.rounds):
    t0 = time.perf_counter()
    ig = integrated_gradients()
    times.append(time.perf_counter() - t0)
    print("# round %d: %.3f s" % (r + 1, times[-1]), file=sys.stderr)
ref = torch.from_numpy(np.load(os.path.join(args.dir, "explain_ig_attr.npy")))
big = ref.abs().max().item()
err = (ig - ref).abs().max().item()
print("# attributions vs deepc's: max |diff| %.3g, largest |attribution| %.3g, ratio %.2e" % (err, big, err / big))
if err > 1e-4 * big:
    sys.exit("explain_ig.py: the attributions differ from deepc's beyond 1e-4 of the largest")
print("torch_seconds %.4f" % sorted(times)[len(times) // 2])
