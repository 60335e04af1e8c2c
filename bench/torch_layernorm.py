"""PyTorch's side of bench/bench_layernorm.c: F.layer_norm (eps 1e-3) on a
(rows, cols) input, forward and forward + backward of its sum, medians in ms.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_layernorm.py [rows cols reps threads]
"""
import sys
import time

import torch
import torch.nn.functional as F

rows, cols, reps, threads = (int(a) for a in (sys.argv[1:5] if len(sys.argv) > 4 else (8192, 512, 21, 2)))
torch.set_num_threads(threads)
torch.manual_seed(1)
x = (3 * torch.randn(rows, cols) + 1).requires_grad_(True)
gamma = (0.5 + torch.rand(cols)).requires_grad_(True)
beta = (torch.rand(cols) - 0.5).requires_grad_(True)
tf, tb = [], []
for _ in range(reps):
    t0 = time.perf_counter()
    y = F.layer_norm(x, (cols,), gamma, beta, eps=1e-3)
    t1 = time.perf_counter()
    y.sum().backward()
    t2 = time.perf_counter()
    tf.append(t1 - t0)
    tb.append(t2 - t0)
    x.grad = gamma.grad = beta.grad = None
tf.sort()
tb.sort()
print(f"rows {rows} cols {cols} threads {threads}")
print(f"forward_ms {1e3 * tf[reps // 2]:.3f}\nforward_backward_ms {1e3 * tb[reps // 2]:.3f}")
