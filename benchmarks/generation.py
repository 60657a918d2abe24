"""GPT speed: generation with and without the KV cache, and training step time against plain torch.nn.

1. Tokens per second of greedy generation of 256 new tokens, with the key/value cache and
   without it (recomputing the whole prefix at each step); reports the speed-up.
2. Training step time (forward, backward, AdamW) of seqlab's GPT against a reference of the same
   shape built from torch.nn modules (nn.TransformerEncoderLayer, norm_first=True, causal mask,
   tied output); the target is at most 1.1x its step time. Steps alternate between the two models
   so both see the same machine load; the median of each is reported.

    python benchmarks/generation.py [--threads 1] [--steps 30]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.models.gpt import GPT, GPTConfig


class TorchGPT(nn.Module):
    """The peer: the same GPT from torch.nn modules only."""

    def __init__(self, c: GPTConfig):
        super().__init__()
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        layer = nn.TransformerEncoderLayer(c.n_embd, c.n_head, 4 * c.n_embd, c.dropout,
                                           lambda x: F.gelu(x, approximate="tanh"), batch_first=True,
                                           norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, c.n_layer, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(c.n_embd)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe.weight[:T]
        causal = nn.Transformer.generate_square_subsequent_mask(T, dtype=x.dtype)
        return self.lm_head(self.ln_f(self.blocks(x, mask=causal, is_causal=True)))


def generation(model: GPT, prompt: torch.Tensor, new_tokens: int) -> dict:
    rates = {}
    outputs = {}
    for use_cache in (True, False):
        start = time.perf_counter()
        outputs[use_cache] = model.generate(prompt, new_tokens, temperature=0.0, use_cache=use_cache)
        rates[use_cache] = new_tokens * prompt.shape[0] / (time.perf_counter() - start)
    same = torch.equal(outputs[True], outputs[False])
    return {"with_cache": rates[True], "without_cache": rates[False], "speedup": rates[True] / rates[False],
            "same_tokens": same}


def training(config: GPTConfig, batch: int, seq_len: int, steps: int) -> dict:
    torch.manual_seed(0)
    ours, theirs = GPT(config), TorchGPT(config)
    n_ours = sum(p.numel() for p in ours.parameters())
    n_theirs = sum(p.numel() for p in theirs.parameters())
    data = torch.randint(config.vocab_size, (batch, seq_len + 1))
    x, y = data[:, :-1], data[:, 1:]
    times: dict[str, list[float]] = {"seqlab": [], "torch.nn": []}
    models = {"seqlab": ours, "torch.nn": theirs}
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-3) for name, m in models.items()}
    for step in range(steps + 3):
        for name, model in models.items():
            start = time.perf_counter()
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            if step >= 3:  # warm-up steps are not timed
                times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(t) for name, t in times.items()}
    return {"params": (n_ours, n_theirs), "median_s": median, "ratio": median["seqlab"] / median["torch.nn"],
            "tokens_per_s": {name: batch * seq_len / m for name, m in median.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--new-tokens", type=int, default=256)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = GPTConfig(vocab_size=65, block_size=512, n_layer=4, n_head=4, n_embd=128)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} thread(s)")
    print(f"model: GPT L={config.n_layer}, E={config.n_embd}, nh={config.n_head}, V={config.vocab_size}")

    torch.manual_seed(0)
    model = GPT(config)
    prompt = torch.randint(config.vocab_size, (1, 16))
    gen = generation(model, prompt, args.new_tokens)
    print(f"\ngeneration of {args.new_tokens} tokens after a 16-token prompt, batch 1, greedy:")
    print(f"  with KV cache    {gen['with_cache']:8.1f} tokens/s")
    print(f"  without cache    {gen['without_cache']:8.1f} tokens/s")
    print(f"  speed-up         {gen['speedup']:8.2f}x   (same tokens: {gen['same_tokens']})")

    batch, seq_len = 16, 128
    train = training(config, batch, seq_len, args.steps)
    print(f"\ntraining step (forward + backward + AdamW), batch {batch} x {seq_len} tokens, "
          f"median of {args.steps} alternating steps:")
    print(f"  parameters       seqlab {train['params'][0]:,}   torch.nn {train['params'][1]:,}")
    for name in ("seqlab", "torch.nn"):
        print(f"  {name:9s}        {train['median_s'][name] * 1e3:8.1f} ms/step  "
              f"{train['tokens_per_s'][name]:9.0f} tokens/s")
    verdict = "meets" if train["ratio"] <= 1.1 else "misses"
    print(f"  ratio            {train['ratio']:8.2f}x torch.nn's step time ({verdict} the 1.1x target)")


if __name__ == "__main__":
    main()
