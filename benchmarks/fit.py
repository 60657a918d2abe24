"""The training loop's cost: ``seqlab train lm`` against a minimal plain-PyTorch loop on the same model shape.

Two rows, each a ratio of seconds per optimiser step from one run, one thread on each side:

* a 4-layer, 128-wide character GPT (4 heads, block 64, batch 12) trained by the ``lm`` recipe through
  the runner (``seqlab.training.runner.train``: data, AdamW with no decay on biases and norms, warmup and
  cosine, clipping at 1, periodic evaluation, checkpoints off) against a minimal loop on a nanoGPT-style
  model of the same shape (``F.scaled_dot_product_attention(is_causal=True)``, AdamW, clipping at 1,
  random blocks of the same encoded text);
* the char LSTM recipe (2 layers, H 256, E 64, block 64, batch 32) against a minimal loop on
  ``torch.nn.LSTM`` of the same shape.

Both loops see the same number of steps; the validation loss each reaches is printed beside the
time, so a faster loop that learns less would show. Steps before ``--warmup`` are not timed.

    python benchmarks/fit.py                 # both rows, a few minutes on 2 cores
    python benchmarks/fit.py --steps 100     # a quick look
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.data import load_tiny_shakespeare, split_fraction
from seqlab.text.factories import character_tokenizer
from seqlab.training.fit import Callback
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import train
from seqlab.training.tasks.language_model import encode_stream


class StepTimes(Callback):
    """Seconds between consecutive optimiser steps (evaluations excluded: the clock restarts after one)."""

    def __init__(self):
        self.times: list[float] = []
        self.last = None

    def on_step(self, step, info):
        now = time.perf_counter()
        if self.last is not None:
            self.times.append(now - self.last)
        self.last = now

    def on_evaluate_begin(self, step):
        self.last = None


def seqlab_run(config_name: str, overrides: list[str], steps: int) -> tuple[list[float], float]:
    config = load_run_config("lm", config_name, [*overrides, f"fit.max_steps={steps}", "fit.max_seconds=null",
                                                 f"fit.eval_every={steps}", "fit.plots=false", "sample.length=0"])
    clock = StepTimes()
    result = train(config, None, callbacks=[clock])
    return clock.times, result.results["loss"]


# -- the minimal loops --------------------------------------------------------------------------------

class Block(nn.Module):
    def __init__(self, E: int, nh: int):
        super().__init__()
        self.nh = nh
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.qkv, self.proj = nn.Linear(E, 3 * E), nn.Linear(E, E)
        self.fc, self.out = nn.Linear(E, 4 * E), nn.Linear(4 * E, E)

    def forward(self, x):
        B, T, E = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(E, dim=2)
        q, k, v = (t.view(B, T, self.nh, E // self.nh).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hd)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, E)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class MinimalGPT(nn.Module):
    def __init__(self, V: int, T: int, L: int, nh: int, E: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, E), nn.Embedding(T, E)
        self.blocks = nn.ModuleList([Block(E, nh) for _ in range(L)])
        self.ln, self.head = nn.LayerNorm(E), nn.Linear(E, V, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


class MinimalLSTM(nn.Module):
    def __init__(self, V: int, E: int, H: int, L: int):
        super().__init__()
        self.embedding, self.lstm, self.head = nn.Embedding(V, E), nn.LSTM(E, H, L, batch_first=True), nn.Linear(H, V)

    def forward(self, idx):
        return self.head(self.lstm(self.embedding(idx))[0])


def minimal_run(model: nn.Module, steps: int, block: int, batch: int, lr: float, weight_decay: float,
                betas=(0.9, 0.999)) -> tuple[list[float], float]:
    """Random blocks, AdamW, clipping at 1: what every tutorial's loop does; seconds per step and val loss."""
    text = load_tiny_shakespeare()
    tokenizer = character_tokenizer(text)
    train_text, val_text = split_fraction(text, 0.9)
    train_ids, val_ids = encode_stream(tokenizer, train_text), encode_stream(tokenizer, val_text)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=betas)
    generator = torch.Generator().manual_seed(0)
    times, last = [], None
    for _ in range(steps):
        starts = torch.randint(len(train_ids) - block - 1, (batch,), generator=generator)
        x = torch.stack([train_ids[s:s + block] for s in starts])
        y = torch.stack([train_ids[s + 1:s + block + 1] for s in starts])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        now = time.perf_counter()
        if last is not None:
            times.append(now - last)
        last = now
    model.eval()
    with torch.no_grad():
        blocks = val_ids[: (len(val_ids) - 1) // block * block + 1]
        x = blocks[:-1].view(-1, block)
        y = blocks[1:].view(-1, block)
        val = sum(F.cross_entropy(model(x[i:i + 128]).flatten(0, 1), y[i:i + 128].flatten(), reduction="sum").item()
                  for i in range(0, len(x), 128)) / y.numel()
    return times, val


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20, help="steps left out of the timing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []

    def row(name, ours, theirs):
        a, b = statistics.median(ours[0][args.warmup:]), statistics.median(theirs[0][args.warmup:])
        rows.append({"what": name, "seqlab_ms": 1000 * a, "minimal_ms": 1000 * b, "ratio": a / b,
                     "seqlab_val_loss": ours[1], "minimal_val_loss": theirs[1]})
        print(f"{name:48s} seqlab {1000 * a:7.1f} ms/step  minimal {1000 * b:7.1f} ms/step  ratio {a / b:5.2f}x  "
              f"val loss {ours[1]:.3f} vs {theirs[1]:.3f}", flush=True)

    gpt = ["data.block_size=64", "data.batch_size=12", "model.n_layer=4", "model.n_head=4", "model.n_embd=128",
           "model.dropout=0.0", "fit.warmup_steps=0", "fit.schedule=constant"]
    ours = seqlab_run("char_gpt", gpt, args.steps)
    torch.manual_seed(0)
    config = load_run_config("lm", "char_gpt", gpt)
    theirs = minimal_run(MinimalGPT(65, 64, 4, 4, 128), args.steps, 64, 12, config.fit.lr, config.fit.weight_decay,
                         (config.fit.beta1, config.fit.beta2))
    row("char GPT 4x128, block 64, batch 12", ours, theirs)

    lstm = ["fit.warmup_steps=0", "fit.schedule=constant", "model.dropout=0.0"]
    ours = seqlab_run("char_lstm", lstm, args.steps)
    torch.manual_seed(0)
    config = load_run_config("lm", "char_lstm", lstm)
    theirs = minimal_run(MinimalLSTM(65, 64, 256, 2), args.steps, 64, 32, config.fit.lr, config.fit.weight_decay)
    row("char LSTM 2x256 (torch.nn.LSTM peer), block 64, batch 32", ours, theirs)
    print(f"threads {args.threads}; {args.steps} steps each, the first {args.warmup} untimed; "
          f"uniform guess ln 65 = {math.log(65):.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=2)


if __name__ == "__main__":
    main()
