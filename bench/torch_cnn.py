#!/usr/bin/python3
"""PyTorch reference for the deepc CNN benchmark.

Models (the tutorials' Keras CNNs; softmax folded into CrossEntropyLoss on logits):
    cnn1 (seed 002): Conv2D(32, 3x3, relu, valid) -> Flatten -> Dense(10)
    cnn2 (seed 003): Conv2D(32, 3x3, relu) -> MaxPool(2x2) -> Conv2D(64, 3x3, relu)
                     -> MaxPool(2x2) -> Flatten -> Dense(128, relu) -> Dense(10)
    resnet (examples/resnet_model.h): Conv2D(16)-BN-ReLU, then residual blocks of
                     16, 32 (stride 2) and 64 (stride 2) filters (Conv-BN-ReLU-Conv-BN,
                     + shortcut, ReLU), GlobalAveragePooling2D -> Dense(10); BN with
                     Keras' momentum and epsilon; run with --init keras for Keras' init
Adam(lr 1e-3, betas 0.9/0.999, eps 1e-7), MNIST train set (60000 28x28x1
images scaled to [0,1]) reshuffled every epoch.

Output (one item per line, machine-readable; lines starting with # are notes):
    # cnn2, layout channels_last, batch 32, 2 threads
    epoch 1 seconds 7.571 loss 0.1432 acc 0.9559
    ...
    median_epoch_seconds 7.571
    test_acc 0.9829                 (when the t10k files are present and epochs were full)
    peak_rss_mb 491.8

loss/acc are running means over the epoch's training batches (as Keras's
fit reports them), accumulated as tensors (no .item() sync per step). With
--bare the timed loop holds nothing but the training step, and loss/acc are
measured on the whole train set after each epoch, outside the timed region.
With --max-steps S only the first S steps of each epoch run; the epoch time
is extrapolated to the full epoch (and said so), loss/acc cover those steps,
and no test accuracy is printed. Data loading and the test-set evaluation
are never timed.

Memory layout: NCHW (PyTorch's default) versus channels_last (NHWC) was
measured here (tuned env, 2 threads, batch 32, torch 1.13 CPU, oneDNN
convolutions; best of 3 alternating runs, machine shared with a compile):
    cnn1: NCHW 4.4 s/epoch, channels_last 5.0  -> NCHW
    cnn2: NCHW 9.4 s/epoch, channels_last 8.7  -> channels_last
          (conv1 NCHW + conv2 channels_last: 11.5, worse than either)
    resnet (--init keras, --max-steps 200, 2 epochs, one run each, machine shared):
          NCHW 662 s/epoch (sic), channels_last 30.9  -> channels_last
The faster one differs per model, so --layout auto (the default) picks it per
model; --layout nchw|nhwc forces one to rerun the comparison.

For PyTorch at its best on the 2-core benchmark machine run it with
    OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_cnn.py --data DIR --model cnn2
(see bench/run_cnn.sh, which does this).
"""
import argparse
import math
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mnist_idx import load_split


def flatten(x, nhwc):
    # channels_last: flatten in (h, w, c) order, a free view (Keras's order too);
    # NCHW: (c, h, w) order, also a view. Either way no copy.
    return x.permute(0, 2, 3, 1).flatten(1) if nhwc else x.flatten(1)


class CNN1(nn.Module):
    """seed 002: Conv2D(32, 3x3, relu, valid) -> Flatten -> Dense(10)."""

    def __init__(self, nhwc):
        super().__init__()
        self.nhwc = nhwc
        self.conv = nn.Conv2d(1, 32, 3)
        self.fc = nn.Linear(26 * 26 * 32, 10)

    def forward(self, x):
        return self.fc(flatten(F.relu(self.conv(x)), self.nhwc))


class CNN2(nn.Module):
    """seed 003: Conv32-Pool-Conv64-Pool-Flatten-Dense128-Dense10."""

    def __init__(self, nhwc):
        super().__init__()
        self.nhwc = nhwc
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(5 * 5 * 64, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 26x26x32 -> 13x13x32
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 11x11x64 -> 5x5x64
        return self.fc2(F.relu(self.fc1(flatten(x, self.nhwc))))


class ResBlock(nn.Module):
    """examples/resnet_model.h's block: Conv-BN-ReLU-Conv-BN, + shortcut (a 1x1 Conv2D
    projection when the stride or the channels change), ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, padding=1 if stride == 1 else 0)
        self.bn1 = keras_bn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, padding=1)
        self.bn2 = keras_bn(cout)
        self.proj = nn.Conv2d(cin, cout, 1, stride) if stride != 1 or cin != cout else None

    def forward(self, x):
        # Keras' padding="same" at stride 2 on an even size pads 0 before, 1 after
        y = self.conv1(x if self.stride == 1 else F.pad(x, (0, 1, 0, 1)))
        y = self.bn2(self.conv2(F.relu(self.bn1(y))))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


def keras_bn(c):
    """BatchNormalization(): Keras' momentum 0.99 is PyTorch's 0.01, epsilon 1e-3 (gamma 1, beta 0).
    (Keras' moving variance takes the biased batch variance, PyTorch's the unbiased one.)"""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class ResNet(nn.Module):
    """examples/resnet_model.h: Conv(16)-BN-ReLU, blocks 16, 32/2, 64/2, GAP, Dense(10)."""

    def __init__(self, nhwc):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.bn = keras_bn(16)
        self.blocks = nn.Sequential(ResBlock(16, 16, 1), ResBlock(16, 32, 2), ResBlock(32, 64, 2))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(x.mean((2, 3)))


MODELS = {"cnn1": CNN1, "cnn2": CNN2, "resnet": ResNet}
# Untimed evaluation batch. Small on purpose: at 1000, cnn1's 1000x32x26x26
# activations alone are 87 MB each and the evaluation, not training, would set
# peak_rss_mb (648 MB against ~480 MB at 100; torch + the float data are ~450).
EVAL_BATCH = 100
BEST_LAYOUT = {"cnn1": "nchw", "cnn2": "nhwc", "resnet": "nhwc"}  # measured, see the module docstring


def batches(x, y, batch, steps, nhwc):
    """The first `steps` shuffled mini-batches of an epoch."""
    perm = torch.randperm(x.shape[0])
    for s in range(steps):
        idx = perm[s * batch:(s + 1) * batch]
        xb = x.index_select(0, idx)
        if nhwc:
            xb = xb.contiguous(memory_format=torch.channels_last)  # C = 1: a free restride
        yield idx.shape[0], xb, y.index_select(0, idx)


def train_epoch(model, opt, x, y, batch, steps, nhwc):
    """One epoch (or its first `steps` steps); running mean loss and accuracy (Keras-style)."""
    loss_sum = torch.zeros(())
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    for nb, xb, yb in batches(x, y, batch, steps, nhwc):
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        with torch.no_grad():
            loss_sum += loss.detach() * nb
            correct += (logits.argmax(1) == yb).sum()
        seen += nb
    return loss_sum.item() / seen, correct.item() / seen


def train_epoch_bare(model, opt, x, y, batch, steps, nhwc):
    """One epoch with nothing but the training step in the loop."""
    for _, xb, yb in batches(x, y, batch, steps, nhwc):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()


@torch.inference_mode()
def predict(model, x, batch, nhwc):
    out = []
    for i in range(0, x.shape[0], batch):
        xb = x[i:i + batch]
        if nhwc:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out.append(model(xb))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True,
                    help="folder with train-images-idx3-ubyte / train-labels-idx1-ubyte (raw or .gz)")
    ap.add_argument("--model", choices=sorted(MODELS), required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-steps", type=int, default=0,
                    help="time only the first S steps of each epoch and extrapolate the epoch "
                         "time (epoch 1's first steps include warm-up: use S >= 200 or so)")
    ap.add_argument("--bare", action="store_true",
                    help="time only the training step (no running loss/acc in the loop); "
                         "loss/acc are then measured on the train set after each epoch, untimed")
    ap.add_argument("--layout", choices=("auto", "nchw", "nhwc"), default="auto",
                    help="memory layout; auto: the faster one measured here per model "
                         "(cnn1 NCHW, cnn2 and resnet channels_last)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", choices=("torch", "keras"), default="torch",
                    help="keras: glorot_uniform weights and zero biases, as Keras initialises "
                         "Conv2D and Dense (for accuracy comparisons; speed does not depend on it)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    layout = BEST_LAYOUT[args.model] if args.layout == "auto" else args.layout
    nhwc = layout == "nhwc"
    print("# %s, layout %s, batch %d, %d threads" % (args.model, "channels_last" if nhwc else "NCHW",
                                                    args.batch, args.threads), flush=True)

    x_train, y_train = load_split(args.data, "train", (1, 28, 28))
    try:
        x_test, y_test = load_split(args.data, "t10k", (1, 28, 28))
    except FileNotFoundError:
        x_test = y_test = None

    model = MODELS[args.model](nhwc)
    if args.init == "keras":
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)  # fans in*kh*kw / out*kh*kw, as Keras's
                nn.init.zeros_(m.bias)
    if nhwc:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    full_steps = math.ceil(x_train.shape[0] / args.batch)
    steps = full_steps
    if 0 < args.max_steps < full_steps:
        steps = args.max_steps
        print("# timing the first %d of %d steps per epoch; epoch seconds extrapolated x%.2f"
              % (steps, full_steps, full_steps / steps), flush=True)

    secs = []
    for ep in range(1, args.epochs + 1):
        model.train()
        if args.bare:
            t0 = time.perf_counter()
            train_epoch_bare(model, opt, x_train, y_train, args.batch, steps, nhwc)
            dt = time.perf_counter() - t0
            logits = predict(model, x_train, EVAL_BATCH, nhwc)  # untimed, end-of-epoch metrics
            loss = F.cross_entropy(logits, y_train).item()
            acc = (logits.argmax(1) == y_train).float().mean().item()
        else:
            t0 = time.perf_counter()
            loss, acc = train_epoch(model, opt, x_train, y_train, args.batch, steps, nhwc)
            dt = time.perf_counter() - t0
        dt *= full_steps / steps
        secs.append(dt)
        print("epoch %d seconds %.3f loss %.4f acc %.4f" % (ep, dt, loss, acc), flush=True)
    if secs:
        print("median_epoch_seconds %.3f" % statistics.median(secs))

    model.eval()
    if x_test is not None and steps == full_steps and args.epochs > 0:
        acc = (predict(model, x_test, EVAL_BATCH, nhwc).argmax(1) == y_test).float().mean().item()
        print("test_acc %.4f" % acc)
    elif x_test is None:
        print("# t10k files missing: no test accuracy", file=sys.stderr)

    print("peak_rss_mb %.1f" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
