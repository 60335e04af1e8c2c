"""One Transformer encoder block's training step in PyTorch, the reference
side of bench/transformer_block.sh (deepc: transformer_block.c): the same
post-LN block (MultiheadAttention 4 heads on dim 128, LayerNorm eps 1e-6,
Linear 512 + GELU + Linear 128), mse loss, Adam, one fixed batch (32, 128, 128).
Prints the median ms per step, wall-clock and process CPU time (the
latter is what to compare on a shared, loaded machine at one thread).

Usage: transformer_block.py [--threads N] [--steps N] [--warmup N]
"""
import argparse
import statistics
import time

import torch

B, T, DIM, HEADS, FF = 32, 128, 128, 4, 512


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.att = torch.nn.MultiheadAttention(DIM, HEADS, batch_first=True)
        self.ln1 = torch.nn.LayerNorm(DIM, eps=1e-6)
        self.ln2 = torch.nn.LayerNorm(DIM, eps=1e-6)
        self.ff = torch.nn.Sequential(torch.nn.Linear(DIM, FF), torch.nn.GELU(), torch.nn.Linear(FF, DIM))

    def forward(self, x):
        a, _ = self.att(x, x, x, need_weights=False)
        h = self.ln1(x + a)
        return self.ln2(h + self.ff(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Block()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = torch.rand(B, T, DIM) * 2 - 1
    y = torch.rand(B, T, DIM) * 2 - 1
    times, cpu = [], []
    for s in range(a.warmup + a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if s >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
            cpu.append(1e3 * (time.process_time() - c0))
    print(f"torch encoder block B={B} T={T} dim={DIM} heads={HEADS} ff={FF} threads={a.threads} "
          f"loss {float(loss):.4f} median_ms_per_step {statistics.median(times):.2f} "
          f"median_cpu_ms_per_step {statistics.median(cpu):.2f}")


if __name__ == "__main__":
    main()
