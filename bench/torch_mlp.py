#!/usr/bin/python3
"""PyTorch reference for the deepc MLP benchmark.

Model: Flatten(28x28) -> Dense(128, relu) -> Dense(10) (softmax folded into
CrossEntropyLoss on logits), Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7),
MNIST train set (60000 images scaled to [0,1]) reshuffled every epoch.

Output (one item per line, machine-readable):
    epoch 1 seconds 0.963 loss 0.2512 acc 0.9271
    ...
    median_epoch_seconds 0.963
    test_acc 0.9712                 (when the t10k files are present)
    infer_images_per_second 752000  (with --infer)
    peak_rss_mb 312.4

loss/acc are running means over the epoch's training batches (as Keras's
fit reports them), accumulated as tensors (no .item() sync per step); this
costs PyTorch about 5-10% here. With --bare the timed loop holds nothing but
the training step, and loss/acc are measured on the whole train set after
each epoch, outside the timed region. Data loading and the test-set
evaluation are never timed.

For PyTorch at its best on the 2-core benchmark machine run it with
    OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_mlp.py --data DIR
(see bench/run_mlp.sh, which does this).
"""
import argparse
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mnist_idx import load_split


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(28 * 28, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):  # x is already flat (N, 784)
        return self.fc2(F.relu(self.fc1(x)))


def train_epoch(model, opt, x, y, batch):
    """One epoch; returns the running mean loss and accuracy (Keras-style)."""
    n = x.shape[0]
    perm = torch.randperm(n)
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.int64)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach() * idx.shape[0]
            correct += (logits.argmax(1) == yb).sum()
    return loss_sum.item() / n, correct.item() / n


def train_epoch_bare(model, opt, x, y, batch):
    """One epoch with nothing but the training step in the loop."""
    n = x.shape[0]
    perm = torch.randperm(n)
    for i in range(0, n, batch):
        idx = perm[i:i + batch]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()


@torch.inference_mode()
def predict(model, x, batch):
    return torch.cat([model(x[i:i + batch]) for i in range(0, x.shape[0], batch)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True,
                    help="folder with train-images-idx3-ubyte / train-labels-idx1-ubyte (raw or .gz)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--infer", action="store_true",
                    help="also time inference over the 10k test images at batch 1000")
    ap.add_argument("--bare", action="store_true",
                    help="time only the training step (no running loss/acc in the loop); "
                         "loss/acc are then measured on the train set after each epoch, untimed")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_train, y_train = load_split(args.data, "train", (28 * 28,))
    try:
        x_test, y_test = load_split(args.data, "t10k", (28 * 28,))
    except FileNotFoundError:
        x_test = y_test = None

    model = MLP()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    secs = []
    for ep in range(1, args.epochs + 1):
        if args.bare:
            t0 = time.perf_counter()
            train_epoch_bare(model, opt, x_train, y_train, args.batch)
            dt = time.perf_counter() - t0
            logits = predict(model, x_train, 1000)  # untimed, end-of-epoch metrics
            loss = F.cross_entropy(logits, y_train).item()
            acc = (logits.argmax(1) == y_train).float().mean().item()
        else:
            t0 = time.perf_counter()
            loss, acc = train_epoch(model, opt, x_train, y_train, args.batch)
            dt = time.perf_counter() - t0
        secs.append(dt)
        print("epoch %d seconds %.3f loss %.4f acc %.4f" % (ep, dt, loss, acc), flush=True)
    if secs:
        print("median_epoch_seconds %.3f" % statistics.median(secs))

    model.eval()
    if x_test is not None:
        acc = (predict(model, x_test, 1000).argmax(1) == y_test).float().mean().item()
        print("test_acc %.4f" % acc)

    if args.infer:
        xi = x_test if x_test is not None else x_train[:10000].contiguous()
        if x_test is None:
            print("# t10k files missing: timing inference on the first 10k train images",
                  file=sys.stderr)
        predict(model, xi, 1000)  # warm-up
        rates = []
        for _ in range(7):
            t0 = time.perf_counter()
            predict(model, xi, 1000)
            rates.append(xi.shape[0] / (time.perf_counter() - t0))
        print("infer_images_per_second %.0f" % statistics.median(rates))

    print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
