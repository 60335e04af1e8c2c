"""PyTorch twin of examples/names_gpt.c: the same character-level causal
Transformer, initialisers, optimiser, batch and epochs, on the same split of
the English first names, so the two validation losses can be compared.

The split comes from deepc (`names_gpt --dump-split DIR` writes DIR/train.txt
and DIR/val.txt, one name per line), so both train on exactly the same names.

Model (Keras' layout and initialisers, written out with einsum):
    x (B, 16) tokens: 0 pad, 1 '.', then the characters of every name, sorted
    token Embedding(V, 64)        uniform(-0.05, 0.05)
    + PositionEmbedding(16, 64)   glorot_uniform
    2 x decoder block (post-LN, as Keras' miniature GPT example):
        a = MultiHeadAttention(4 heads, key_dim 16, causal)(x, x)
        x = LayerNorm(eps 1e-6)(x + a)
        x = LayerNorm(eps 1e-6)(x + Dense(64)(Dense(256, gelu)(x)))
    Dense(V) logits
Keras' glorot_uniform on the (64, 4, 16) attention kernels uses its fans
(fan_in = 4 * 64, fan_out = 16 * 64), on the (4, 16, 64) output kernel
(fan_in = 16 * 4, fan_out = 64 * 4).  Loss: cross-entropy of every position
weighted 0 on padding, summed and divided by batch * 16 (Keras'
sum_over_batch_size with sample weights).  Adam(1e-3, 0.9, 0.999, eps 1e-7).

Prints val_loss_per_char (nats, over the real characters including the end
'.') and the tokens/s of generation without a KV cache (the whole context run
again for every new character), at temperature 1 with top-k 5.

Usage: names_gpt_torch.py --split DIR [--epochs N] [--batch N] [--seed N]
                          [--threads N] [--gen-names N]
"""
import argparse
import math
import os
import time

import torch
import torch.nn.functional as F

T, DIM, HEADS, KEY_DIM, FF, BLOCKS = 16, 64, 4, 16, 256, 2


def keras_glorot(shape):
    if len(shape) == 2:
        fan_in, fan_out = shape
    else:
        rf = math.prod(shape[:-2])
        fan_in, fan_out = shape[-2] * rf, shape[-1] * rf
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.nn.Parameter(torch.empty(*shape).uniform_(-limit, limit))


def zeros(*shape):
    return torch.nn.Parameter(torch.zeros(*shape))


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wq, self.wk, self.wv = (keras_glorot((DIM, HEADS, KEY_DIM)) for _ in range(3))
        self.bq, self.bk, self.bv = (zeros(HEADS, KEY_DIM) for _ in range(3))
        self.wo, self.bo = keras_glorot((HEADS, KEY_DIM, DIM)), zeros(DIM)
        self.ln1 = torch.nn.LayerNorm(DIM, eps=1e-6)
        self.ln2 = torch.nn.LayerNorm(DIM, eps=1e-6)
        self.w1, self.b1 = keras_glorot((DIM, FF)), zeros(FF)
        self.w2, self.b2 = keras_glorot((FF, DIM)), zeros(DIM)

    def forward(self, x):
        t = x.shape[1]
        q = torch.einsum("btd,dhk->bthk", x, self.wq) + self.bq
        k = torch.einsum("btd,dhk->bthk", x, self.wk) + self.bk
        v = torch.einsum("btd,dhk->bthk", x, self.wv) + self.bv
        s = torch.einsum("bqhk,bshk->bhqs", q / math.sqrt(KEY_DIM), k)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        s = s.masked_fill(~causal, float("-inf"))
        a = torch.einsum("bhqs,bshk->bqhk", torch.softmax(s, dim=-1), v)
        a = torch.einsum("bqhk,hkd->bqd", a, self.wo) + self.bo
        x = self.ln1(x + a)
        f = F.gelu(x @ self.w1 + self.b1) @ self.w2 + self.b2
        return self.ln2(x + f)


class NamesGPT(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.tok = torch.nn.Parameter(torch.empty(vocab, DIM).uniform_(-0.05, 0.05))
        self.pos = keras_glorot((T, DIM))
        self.blocks = torch.nn.ModuleList(Block() for _ in range(BLOCKS))
        self.wout, self.bout = keras_glorot((DIM, vocab)), zeros(vocab)

    def forward(self, x):
        h = self.tok[x] + self.pos[: x.shape[1]]
        for b in self.blocks:
            h = b(h)
        return h @ self.wout + self.bout


def encode(names, stoi):
    """x (N, T): '.' then the name; y (N, T): the name then '.'; w: 1 on real targets."""
    n = len(names)
    x = torch.zeros(n, T, dtype=torch.long)
    y = torch.zeros(n, T, dtype=torch.long)
    w = torch.zeros(n, T)
    for i, name in enumerate(names):
        ids = [stoi[c] for c in name]
        x[i, : len(ids) + 1] = torch.tensor([1] + ids)
        y[i, : len(ids) + 1] = torch.tensor(ids + [1])
        w[i, : len(ids) + 1] = 1
    return x, y, w


def sample(model, k_top, temperature, gen, max_len=T):
    ctx = [1]
    with torch.no_grad():
        while len(ctx) < max_len + 1:
            logits = model(torch.tensor([ctx[-T:]]))[0, -1] / temperature
            top = torch.topk(logits, k_top)
            p = torch.softmax(top.values, dim=-1)
            nxt = int(top.indices[torch.multinomial(p, 1, generator=gen)])
            if nxt == 1:
                break
            ctx.append(nxt)
    return ctx[1:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", required=True)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gen-names", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    read = lambda f: [s.strip().lower() for s in open(os.path.join(a.split, f)) if s.strip()]  # noqa: E731
    train, val = read("train.txt"), read("val.txt")
    chars = sorted(set("".join(train + val)))
    stoi = {c: i + 2 for i, c in enumerate(chars)}
    vocab = len(chars) + 2
    xt, yt, wt = encode(train, stoi)
    xv, yv, wv = encode(val, stoi)
    model = NamesGPT(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    n = xt.shape[0]
    t0 = time.time()
    steps = 0
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        total = 0.0
        for s in range(0, n, a.batch):
            idx = perm[s : s + a.batch]
            logits = model(xt[idx])
            l = F.cross_entropy(logits.reshape(-1, vocab), yt[idx].reshape(-1), reduction="none")
            loss = (l * wt[idx].reshape(-1)).sum() / (len(idx) * T)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
            steps += 1
        print(f"epoch {epoch + 1} loss {total / n:.4f}", flush=True)
    train_s = time.time() - t0
    with torch.no_grad():
        l = F.cross_entropy(model(xv).reshape(-1, vocab), yv.reshape(-1), reduction="none")
        val_loss = float((l * wv.reshape(-1)).sum() / wv.sum())
    print(f"train_seconds {train_s:.2f} steps {steps} ms_per_step {1000 * train_s / steps:.3f}")
    print(f"val_loss_per_char {val_loss:.4f}")
    gen = torch.Generator().manual_seed(a.seed)
    itos = {i: c for c, i in stoi.items()}
    tokens, t0 = 0, time.time()
    names = []
    for _ in range(a.gen_names):
        ids = sample(model, 5, 1.0, gen)
        tokens += len(ids) + 1
        names.append("".join(itos[i] for i in ids))
    dt = time.time() - t0
    print(f"generation_no_cache_tokens_per_s {tokens / dt:.0f} ({tokens} tokens, {a.gen_names} names)")
    seen = set(train)
    print("samples:", " ".join(names[:20]))
    print(f"not_in_training {sum(nm not in seen for nm in names) / len(names):.3f}")


if __name__ == "__main__":
    main()
