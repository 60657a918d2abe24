# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 14 · Multi-head attention and the key/value cache
#
# Vaswani et al. (2017, §3.2.2) run $h$ attentions side by side on learned projections of width
# $d_k = d_{\text{model}}/h$ and mix their outputs:
#
# $$\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O,
#   \qquad \mathrm{head}_i = \mathrm{Attention}(Q W_i^Q, K W_i^K, V W_i^V).$$
#
# The $h$ projections $W_i^Q$ of shape $(E, E/h)$ side by side are one $(E, E)$ matrix, so the
# parameter count, $4E^2 + 4E$, does not depend on $h$. PyTorch stores $W^Q, W^K, W^V$ as one
# `in_proj_weight` of shape $(3E, E)$, and so does seqlab. When a decoder generates one token at a
# time, the keys and values of earlier positions do not change: a *KV cache* keeps them, and each
# new token costs one query against the cache instead of a pass over the whole prefix.

# %%
import time

import torch
import torch.nn.functional as F

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.nn import KVCache, MultiheadAttention, masks
from seqlab.plots.attention import attention_heads_figure
from seqlab.tutorials import figure_dir, pick, show_png

torch.manual_seed(0)

# %% [markdown]
# ## Heads by hand, against seqlab and `torch.nn.MultiheadAttention`

# %%
B, T, E, nh = 2, 7, 16, 4
hd = E // nh
attention = MultiheadAttention(E, nh, batch_first=True).double()
x = torch.randn(B, T, E, dtype=torch.float64)
W_q, W_k, W_v = attention.in_proj_weight.chunk(3)  # each (E, E)
b_q, b_k, b_v = attention.in_proj_bias.chunk(3)


def split(t):  # (B, T, E) -> (B, nh, T, hd)
    return t.view(B, -1, nh, hd).transpose(1, 2)


q, k, v = split(x @ W_q.T + b_q), split(x @ W_k.T + b_k), split(x @ W_v.T + b_v)
causal = masks.causal_mask(T)
weights_by_hand = (q @ k.transpose(-2, -1) / hd ** 0.5).masked_fill(~causal, float("-inf")).softmax(-1)
heads = weights_by_hand @ v  # (B, nh, T, hd)
concat = heads.transpose(1, 2).reshape(B, T, E)  # Concat(head_1..head_h)
output_by_hand = concat @ attention.out_proj.weight.T + attention.out_proj.bias  # ... W^O

output, per_head = attention(x, x, x, can_attend=causal, average_attn_weights=False)
reference = torch.nn.MultiheadAttention(E, nh, batch_first=True, dtype=torch.float64)
reference.load_state_dict(attention.state_dict())
ref_output, _ = reference(x, x, x, attn_mask=masks.to_torch_ignore(causal))
mha_error = max((output - output_by_hand).abs().max().item(), (per_head - weights_by_hand).abs().max().item(),
                (output - ref_output).abs().max().item())
assert mha_error < 1e-12
counts = {heads_: sum(p.numel() for p in MultiheadAttention(64, heads_).parameters()) for heads_ in (1, 2, 4, 8)}
assert set(counts.values()) == {4 * 64 * 64 + 4 * 64}
print(f"multi-head attention by hand vs seqlab vs torch.nn.MultiheadAttention: {mha_error:.0e}")
print(f"parameters at E=64 for 1, 2, 4, 8 heads: {list(counts.values())}")

# %% [markdown]
# ## Generating with a cache
#
# We feed a sequence one position at a time through causal self-attention with a `KVCache` and
# compare each step's output with the full causal pass, then time both ways of producing $T$
# outputs one by one (recomputing the whole prefix at each step against reading the cache).

# %%
E2, T2 = 64, pick(fast=48, full=256)
layer = MultiheadAttention(E2, 4, batch_first=True).eval()
sequence = torch.randn(1, T2, E2)
with torch.no_grad():
    full, _ = layer(sequence, sequence, sequence, can_attend=masks.causal_mask(T2), need_weights=False)
    cache = KVCache()
    started = time.perf_counter()
    steps = []
    for t in range(T2):
        token = sequence[:, t:t + 1]
        out, _ = layer(token, token, token, cache=cache, need_weights=False)
        steps.append(out)
    cached_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for t in range(1, T2 + 1):
        prefix = sequence[:, :t]
        layer(prefix, prefix, prefix, can_attend=masks.causal_mask(t), need_weights=False)
    recompute_seconds = time.perf_counter() - started
cache_error = (torch.cat(steps, dim=1) - full).abs().max().item()
assert cache_error < 1e-5 and cache.length == T2
print(f"cached steps equal the full causal pass to {cache_error:.0e}; {T2} steps: cache {cached_seconds * 1e3:.0f} ms, "
      f"recomputing the prefix {recompute_seconds * 1e3:.0f} ms")

# %% [markdown]
# ## Heads on real text
#
# We train one causal multi-head attention layer (with learned position embeddings and a linear
# read-out) to predict the next character of Tiny Shakespeare for a few steps, and draw each
# head's weights over one line.

# %%
text = load_tiny_shakespeare()
chars = sorted(set(text))
ids = torch.tensor([chars.index(c) for c in text[:200_000]])
context, width, heads_count = 32, 64, 4
embed = torch.nn.Embedding(len(chars), width)
position = torch.nn.Embedding(context, width)
block = MultiheadAttention(width, heads_count, batch_first=True)
head = torch.nn.Linear(width, len(chars))
parameters = [*embed.parameters(), *position.parameters(), *block.parameters(), *head.parameters()]
optimizer = torch.optim.Adam(parameters, lr=3e-3)
causal = masks.causal_mask(context)
generator = torch.Generator().manual_seed(0)
losses = []
for _ in range(pick(fast=30, full=1500)):
    starts = torch.randint(len(ids) - context - 1, (32,), generator=generator)
    inputs = torch.stack([ids[s:s + context] for s in starts])
    targets = torch.stack([ids[s + 1:s + context + 1] for s in starts])
    h = embed(inputs) + position.weight  # (B, T, E)
    attended, _ = block(h, h, h, can_attend=causal, need_weights=False)
    loss = F.cross_entropy(head(h + attended).flatten(0, 1), targets.flatten())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

line = text[:context]
with torch.no_grad():
    h = embed(torch.tensor([[chars.index(c) for c in line]])) + position.weight
    _, head_weights = block(h, h, h, can_attend=causal, average_attn_weights=False)  # (1, nh, T, T)
labels = list(line.replace("\n", "⏎"))
path = figure_dir() / "14_heads.png"
attention_heads_figure(head_weights[0], labels, labels, path, title="one causal attention layer, per head")
show_png(path)
previous_share = [float(head_weights[0, i].diagonal(-1).mean()) for i in range(heads_count)]

# %% [markdown]
# ## What you saw

# %%
print(f"""
* Multi-head attention written as split -> scaled dot product per head -> concat -> W^O equals seqlab's
  MultiheadAttention and torch.nn.MultiheadAttention loaded with the same weights ({mha_error:.0e}).
* At E=64 the layer has {counts[1]:,} parameters whether it has 1, 2, 4 or 8 heads (4E^2 + 4E).
* Decoding {T2} positions one at a time with a KV cache gave the full causal pass's outputs ({cache_error:.0e}) in
  {cached_seconds * 1e3:.0f} ms, against {recompute_seconds * 1e3:.0f} ms recomputing each prefix.
* One attention layer trained for {len(losses)} steps on Tiny Shakespeare (loss {losses[0]:.2f} -> {losses[-1]:.2f});
  the mean weight each head puts on the previous character: {", ".join(f"{s:.2f}" for s in previous_share)}.
""")
