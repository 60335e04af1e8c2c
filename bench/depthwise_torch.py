"""The cases of bench/depthwise_bench.c in PyTorch (CPU, float32, channels_last
memory, as deepc's NHWC), for the side-by-side in docs/benchmarks.md.

Forward: F.conv2d(x, w, b, stride, padding, groups) under no_grad.  Backward:
torch.autograd.grad of (y * gy).sum() with respect to x, w and b, less a
forward (timed separately, as deepc's backward is).  Best of 5 rounds of
`reps` calls, by the wall clock and by the process's CPU clock (time.process_time);
the rates use the CPU clock as the C bench does.
    /usr/bin/python3 bench/depthwise_torch.py [--threads N] [--reps N] [--bw GB/s] [--quick]
"""
import argparse
import time

import torch
import torch.nn.functional as F

CASES = [  # name, batch, h, w, c, m, k, stride, groups, f  (groups 0: depthwise, multiplier m)
    ("dw112_c32", 8, 112, 112, 32, 1, 3, 1, 0, 0), ("dw56_c128", 8, 56, 56, 128, 1, 3, 1, 0, 0),
    ("dw56_c128_s2", 8, 56, 56, 128, 1, 3, 2, 0, 0), ("dw28_c256", 8, 28, 28, 256, 1, 3, 1, 0, 0),
    ("dw14_c512", 8, 14, 14, 512, 1, 3, 1, 0, 0), ("dw28_c64_m2", 8, 28, 28, 64, 2, 3, 1, 0, 0),
    ("dw7_c64_mnist", 32, 7, 7, 64, 1, 3, 1, 0, 0), ("dw112_c32_b1", 1, 112, 112, 32, 1, 3, 1, 0, 0),
    ("grp2_28_c64", 8, 28, 28, 64, 0, 3, 1, 2, 64), ("grp4_28_c64", 8, 28, 28, 64, 0, 3, 1, 4, 64),
    ("conv_28_c64", 8, 28, 28, 64, 0, 3, 1, 1, 64),
]


def best(fn, reps):
    wall, cpu = 1e9, 1e9
    fn()
    for _ in range(5):
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(reps):
            fn()
        wall = min(wall, (time.perf_counter() - w0) / reps)
        cpu = min(cpu, (time.process_time() - c0) / reps)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--bw", type=float, default=36.0)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__} threads {a.threads} reps {a.reps} bandwidth {a.bw:.0f} GB/s")
    for idx, (name, B, H, W, C, M, K, S, G, Fo) in enumerate(CASES):
        if a.quick and idx % 3:
            continue
        groups = C if G == 0 else G
        out = C * M if G == 0 else Fo
        x = torch.rand(B, C, H, W).to(memory_format=torch.channels_last).requires_grad_()
        w = torch.rand(out, C // groups, K, K).to(memory_format=torch.channels_last).requires_grad_()
        b = torch.rand(out).requires_grad_()
        pad = K // 2  # "same" for odd K at stride 1; at stride 2 the sizes equal Keras' (ceil(n / 2))

        def fwd():
            return F.conv2d(x, w, b, S, pad, 1, groups)

        with torch.no_grad():
            fw = best(fwd, a.reps)
        y = fwd()
        gy = torch.rand_like(y)

        def step():
            yy = fwd()
            torch.autograd.grad((yy * gy).sum(), (x, w, b))

        st = best(step, a.reps)
        bw_, bc = st[0] - fw[0], st[1] - fw[1]
        xs, ys = 4.0 * x.numel(), 4.0 * y.numel()
        if G == 0:
            fb, bb = xs + ys, 3 * xs + 2 * ys
            print(f"{name:16s} forward  wall {fw[0] * 1e6:8.1f} us cpu {fw[1] * 1e6:8.1f} us  "
                  f"{fb / fw[1] * 1e-9:5.1f} GB/s  {100 * fb / fw[1] * 1e-9 / a.bw:3.0f}% of {a.bw:.0f}")
            print(f"{name:16s} backward wall {bw_ * 1e6:8.1f} us cpu {bc * 1e6:8.1f} us  "
                  f"{bb / bc * 1e-9:5.1f} GB/s  {100 * bb / bc * 1e-9 / a.bw:3.0f}% of {a.bw:.0f}")
        else:
            fl = 2.0 * y.numel() * K * K * (C // groups)
            print(f"{name:16s} forward  wall {fw[0] * 1e6:8.1f} us cpu {fw[1] * 1e6:8.1f} us  "
                  f"{fl / fw[1] * 1e-9:5.1f} GFLOP/s")
            print(f"{name:16s} backward wall {bw_ * 1e6:8.1f} us cpu {bc * 1e6:8.1f} us  "
                  f"{2 * fl / bc * 1e-9:5.1f} GFLOP/s")


if __name__ == "__main__":
    main()
