#!/usr/bin/python3
"""PyTorch reference for the deepc LSTM benchmark (bench/bench_lstm.c).

Model: Embedding(10000, 64) -> LSTM(64) (last output) -> Linear(64, 1), the
sigmoid folded into BCEWithLogitsLoss, Adam(lr 1e-3, betas 0.9/0.999,
eps 1e-7).  Data: random token ids in [1, 10000) for sequences of length
100 and random 0/1 labels, batch 32; every epoch runs --steps training steps
over the same batches.  Epoch 0 warms up and is not reported.

Output (machine-readable):
    epoch 1 ms_per_step 21.3
    ...
    median_ms_per_step 21.3

Run at its best on the 2-core benchmark machine (see bench/run_lstm.sh):
    OPENBLAS_NUM_THREADS=1 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 \\
    OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_lstm.py
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10000, 64)
        self.lstm = nn.LSTM(64, 64, batch_first=True)
        self.fc = nn.Linear(64, 1)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1]).squeeze(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    n = args.batch * args.steps
    x = torch.randint(1, 10000, (n, args.seq))
    y = torch.randint(0, 2, (n,)).float()
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    lossf = nn.BCEWithLogitsLoss()
    ms = []
    for ep in range(args.epochs + 1):
        t0 = time.perf_counter()
        for i in range(0, n, args.batch):
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[i:i + args.batch]), y[i:i + args.batch])
            loss.backward()
            opt.step()
        per = (time.perf_counter() - t0) * 1e3 / args.steps
        if ep > 0:
            ms.append(per)
            print("epoch %d ms_per_step %.3f" % (ep, per), flush=True)
    print("median_ms_per_step %.3f" % statistics.median(ms))


if __name__ == "__main__":
    main()
