#!/usr/bin/python3
"""PyTorch parity reference for examples/autoencoder.c: the Keras blog's
convolutional autoencoder, built the way Keras builds it.

    Conv2D(16,3,relu,same) MaxPool(2,same) Conv2D(8,3,relu,same) MaxPool(2,same)
    Conv2D(8,3,relu,same) MaxPool(2,same)                     # encoded (4, 4, 8)
    Conv2D(8,3,relu,same) UpSampling2D Conv2D(8,3,relu,same) UpSampling2D
    Conv2D(16,3,relu) [valid] UpSampling2D Conv2D(1,3,sigmoid,same)
    --transpose: ConvT(8,3,s2,same,relu) ConvT(8,...) Conv2D(16,3,relu) ConvT(16,...)
                 Conv2D(1,3,sigmoid,same), as autoencoder.c builds it

Keras' defaults: kernels glorot_uniform (fans from Keras' kernel shapes),
biases zero; MaxPooling2D(padding="same") on 7x7 is ceil_mode pooling (the
padded pixel never wins); Conv2DTranspose "same", stride 2, kernel 3 keeps
the first 2n rows of PyTorch's full 2n+1 (TensorFlow's placement), done here
as padding=0 then a crop; Adam(lr 1e-3, eps 1e-7); binary cross-entropy on
the logits (the sigmoid fused, as deepc and the TensorFlow backend do);
batch 128, reshuffled every epoch; --denoise adds 0.5 * N(0, 1) noise to the
inputs, clipped to [0, 1].  Prints the test reconstruction loss after every
epoch and the last one as "Test reconstruction loss: L".

    /usr/bin/python3 bench/torch_autoencoder.py --data ~/.cache/deepc/mnist --epochs 10
"""
import argparse
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import load_split  # noqa: E402


def glorot_(w, fan_in, fan_out):
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-lim, lim)


def conv(cin, cout, same=True):
    c = nn.Conv2d(cin, cout, 3, padding=1 if same else 0)
    glorot_(c.weight, 9 * cin, 9 * cout)  # Keras (3, 3, in, out)
    nn.init.zeros_(c.bias)
    return c


class ConvT(nn.Module):
    """Keras Conv2DTranspose(cout, 3, strides=2, padding="same"): full output, first 2n rows and columns."""

    def __init__(self, cin, cout):
        super().__init__()
        self.c = nn.ConvTranspose2d(cin, cout, 3, stride=2)
        glorot_(self.c.weight, 9 * cout, 9 * cin)  # Keras (3, 3, out, in): fan_in 9*out
        nn.init.zeros_(self.c.bias)

    def forward(self, x):
        n = x.shape[2] * 2, x.shape[3] * 2
        return self.c(x)[:, :, :n[0], :n[1]]


class Relu(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return F.relu(self.m(x))


def model(transpose):
    pool = lambda: nn.MaxPool2d(2, ceil_mode=True)  # noqa: E731
    up = lambda: nn.Upsample(scale_factor=2, mode="nearest")  # noqa: E731
    enc = [Relu(conv(1, 16)), pool(), Relu(conv(16, 8)), pool(), Relu(conv(8, 8)), pool()]
    if transpose:
        dec = [Relu(ConvT(8, 8)), Relu(ConvT(8, 8)), Relu(conv(8, 16, same=False)), Relu(ConvT(16, 16))]
    else:
        dec = [Relu(conv(8, 8)), up(), Relu(conv(8, 8)), up(), Relu(conv(8, 16, same=False)), up()]
    return nn.Sequential(*enc, *dec, conv(16, 1))  # logits; the sigmoid is in the loss


def evaluate(net, x, y):
    with torch.no_grad():
        return sum(F.binary_cross_entropy_with_logits(net(x[i:i + 1000]), y[i:i + 1000], reduction="sum").item()
                   for i in range(0, len(x), 1000)) / y.numel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/deepc/mnist"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--denoise", action="store_true")
    ap.add_argument("--transpose", action="store_true")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    x_train = load_split(a.data, "train", (1, 28, 28))[0]
    x_test = load_split(a.data, "t10k", (1, 28, 28))[0]
    in_train, in_test = x_train, x_test
    if a.denoise:
        in_train = (x_train + 0.5 * torch.randn_like(x_train)).clamp(0, 1)
        in_test = (x_test + 0.5 * torch.randn_like(x_test)).clamp(0, 1)
    net = model(a.transpose)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    n = len(x_train)
    secs = []
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        perm = torch.randperm(n)
        total = 0.0
        for i in range(0, n, a.batch):
            idx = perm[i:i + a.batch]
            loss = F.binary_cross_entropy_with_logits(net(in_train[idx]), x_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        secs.append(time.time() - t0)
        print("epoch %d seconds %.3f loss %.4f val_loss %.4f" % (epoch, secs[-1], total / n,
                                                                 evaluate(net, in_test, x_test)), flush=True)
    test_loss = evaluate(net, in_test, x_test)
    print("Test reconstruction loss: %.4f" % test_loss)
    # the lines bench/run_autoencoder.sh reads, as bench_train prints them
    print("median_epoch_seconds %.3f" % statistics.median(secs))
    print("test_loss %.4f" % test_loss)
    print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
