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
# # 13 · Self-attention: scaled dot products, masks and positions
#
# In self-attention every position of a sequence is a query, a key and a value at once
# (Vaswani et al. 2017, *Attention is all you need*, NeurIPS, §3.2.1):
#
# $$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\Big(\frac{Q K^\top}{\sqrt{d_k}} + M\Big) V,$$
#
# with $M_{ij} = 0$ where query $i$ may look at key $j$ and $-\infty$ elsewhere: padding keys
# are hidden from every query, and a decoder's *causal* mask hides the future ($j > i$). The
# $1/\sqrt{d_k}$: if the entries of $q$ and $k$ are independent with variance 1, $q \cdot k$ has
# variance $d_k$, and without the scale the softmax saturates as $d_k$ grows. Attention by itself
# ignores order (permuting the inputs permutes the outputs), so positions are added to the
# inputs, e.g. the sinusoids $PE_{p,2i} = \sin(p/10000^{2i/d})$, $PE_{p,2i+1} = \cos(p/10000^{2i/d})$.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F

from seqlab.nn import masks, scaled_dot_product_attention
from seqlab.nn.positional import sinusoidal_table
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## By hand, against seqlab and PyTorch

# %%
B, T, d = 2, 6, 8
x = torch.randn(B, T, d, dtype=torch.float64)
W_q, W_k, W_v = (torch.randn(d, d, dtype=torch.float64) / math.sqrt(d) for _ in range(3))
Q, K, V = x @ W_q, x @ W_k, x @ W_v
lengths = torch.tensor([6, 4])
is_real = masks.lengths_to_mask(lengths, T)  # (B, S): True on real keys
can_attend = masks.causal_mask(T)[None] & is_real[:, None, :]  # (B, T, S): causal and not padding

scores = Q @ K.transpose(-2, -1) / math.sqrt(d)  # (B, T, S)
scores = scores.masked_fill(~can_attend, float("-inf"))
weights_by_hand = scores.softmax(-1)
output_by_hand = weights_by_hand @ V
output, weights = scaled_dot_product_attention(Q, K, V, can_attend=can_attend)
reference = F.scaled_dot_product_attention(Q, K, V, attn_mask=can_attend)
sdpa_error = max((output - output_by_hand).abs().max().item(), (weights - weights_by_hand).abs().max().item(),
                 (output - reference).abs().max().item())
assert sdpa_error < 1e-12
assert torch.all(weights.triu(1) == 0) and torch.all(weights[1, :, 4:] == 0)
print(f"softmax(QK^T/sqrt(d) + M)V by hand vs seqlab vs torch: {sdpa_error:.0e}; "
      "no weight on the future or on padding")

# %% [markdown]
# ## Why divide by $\sqrt{d_k}$
#
# For random unit-variance queries and keys we measure the entropy of the attention weights over
# 32 keys (at most $\ln 32 = 3.47$ nats) with and without the scale, as $d_k$ grows.

# %%
dims = [4, 16, 64, 256, pick(fast=512, full=1024)]
entropy = {"scaled by 1/sqrt(d_k)": [], "unscaled": []}
for dk in dims:
    q, k = torch.randn(256, 1, dk, dtype=torch.float64), torch.randn(256, 32, dk, dtype=torch.float64)
    for label, scale in (("scaled by 1/sqrt(d_k)", None), ("unscaled", 1.0)):
        _, w = scaled_dot_product_attention(q, k, k, scale=scale)
        entropy[label].append(float(-(w * w.clamp_min(1e-300).log()).sum(-1).mean()))
figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for label, values in entropy.items():
    left.semilogx(dims, values, "o-", label=label)
left.axhline(math.log(32), color="grey", linestyle=":", label="uniform over 32 keys")
left.set_xlabel("$d_k$")
left.set_ylabel("entropy of the weights (nats)")
left.legend()
left.set_title("the scale keeps the softmax from saturating")
right.imshow(weights[1].numpy(), cmap="viridis")
right.set_xlabel("key j")
right.set_ylabel("query i")
right.set_title("causal + padding mask (sequence of length 4 in T = 6)")
save_figure(figure, "13_scale_and_mask")

# %% [markdown]
# ## Order and positions
#
# We permute the positions of a sequence: without positional information the outputs are
# permuted the same way (self-attention is permutation-equivariant); with the sinusoids added to
# the inputs they are not. The table by hand must equal seqlab's `sinusoidal_table`.

# %%
p = torch.arange(T, dtype=torch.float64)[:, None]
i = torch.arange(0, d, 2, dtype=torch.float64)
pe_by_hand = torch.zeros(T, d, dtype=torch.float64)
pe_by_hand[:, 0::2] = torch.sin(p / 10000 ** (i / d))
pe_by_hand[:, 1::2] = torch.cos(p / 10000 ** (i / d))
assert torch.allclose(pe_by_hand, sinusoidal_table(T, d, dtype=torch.float64))


def self_attend(inputs):
    return scaled_dot_product_attention(inputs @ W_q, inputs @ W_k, inputs @ W_v)[0]


permutation = torch.randperm(T)
plain = x[0]
equivariance_gap = (self_attend(plain[permutation]) - self_attend(plain)[permutation]).abs().max().item()
with_positions = plain + pe_by_hand
position_gap = (self_attend(with_positions[permutation] - pe_by_hand[permutation] + pe_by_hand)
                - self_attend(with_positions)[permutation]).abs().max().item()
assert equivariance_gap < 1e-12 and position_gap > 1e-3
print(f"permuting the inputs: outputs permuted alike ({equivariance_gap:.0e}); "
      f"with positions they change by {position_gap:.2f}")

table = sinusoidal_table(pick(fast=64, full=256), 64).numpy()
figure, axes = plt.subplots(figsize=(7, 3.5))
axes.imshow(table.T, aspect="auto", cmap="RdBu")
axes.set_xlabel("position p")
axes.set_ylabel("dimension")
axes.set_title("sinusoidal positional encoding (Vaswani et al. 2017)")
save_figure(figure, "13_positions")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* softmax(QK^T/sqrt(d_k) + M)V written by hand equals seqlab.nn.scaled_dot_product_attention and PyTorch's kernel
  ({sdpa_error:.0e}); the causal and padding masks left exactly zero weight on the future and on padding.
* Entropy of the weights over 32 keys for d_k = {dims}: scaled {np.round(entropy["scaled by 1/sqrt(d_k)"], 2).tolist()},
  unscaled {np.round(entropy["unscaled"], 2).tolist()} (uniform: {math.log(32):.2f}).
* Without positions, permuting the inputs permuted the outputs ({equivariance_gap:.0e}); with sinusoidal positions
  (equal to seqlab's table) the outputs changed by up to {position_gap:.2f}.
""")
