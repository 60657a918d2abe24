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
# # 01 · RNN basics: the hidden state and the unrolled view
#
# A recurrent network reads a sequence one step at a time and carries what it has seen in a
# hidden state. The Elman network (Elman 1990, *Finding structure in time*, Cognitive Science
# 14(2)) updates it as
#
# $$h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),$$
#
# with $x_t \in \mathbb{R}^I$ the input at step $t$, $h_t \in \mathbb{R}^H$ the state,
# $W_{ih}$ of shape $(H, I)$ and $W_{hh}$ of shape $(H, H)$. The same weights are used at every
# step: "unrolling" the loop over $T$ steps gives a $T$-layer feed-forward network whose layers
# share their parameters (Goodfellow, Bengio & Courville 2016, *Deep Learning*, §10.1). This is
# the form of the PyTorch documentation of `torch.nn.RNN`, with two biases where the textbook
# writes one, $b = b_{ih} + b_{hh}$.
#
# This tutorial runs seqlab's `RNNCell` step by step, checks that the unrolled loop is what
# `seqlab.nn.RNN` computes and that both equal `torch.nn.RNN`, and then looks at what the state
# holds when the network reads real text.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.nn import LSTM, RNN, RNNCell
from seqlab.tutorials import fast, figure_dir, pick, save_figure

torch.manual_seed(0)
print(f"fast mode: {fast()}; figures go to {figure_dir()}")

# %% [markdown]
# ## Shapes, as PyTorch prints them
#
# A layer takes a batch of sequences. With `batch_first=True` the input is $(B, T, I)$; the
# output holds $h_t$ for every step, $(B, T, H)$, and the final state $h_n$ is
# $(\text{num\_layers} \cdot \text{directions}, B, H)$ whatever the layout.

# %%
B, T, I, H = 3, 5, 10, 20
x = torch.randn(B, T, I)
rnn = RNN(I, H, batch_first=True)
output, h_n = rnn(x)
print("output", tuple(output.shape), " h_n", tuple(h_n.shape))

lstm = LSTM(I, H, batch_first=True)
lstm_output, (lstm_h, lstm_c) = lstm(x)
print("LSTM output", tuple(lstm_output.shape), " h_n", tuple(lstm_h.shape), " c_n", tuple(lstm_c.shape))

reference = torch.nn.RNN(I, H, batch_first=True)
reference.load_state_dict(rnn.state_dict())  # same parameter names, same shapes
ref_output, ref_h_n = reference(x)
assert output.shape == ref_output.shape == (3, 5, 20) and h_n.shape == ref_h_n.shape == (1, 3, 20)
parity_error = max((output - ref_output).abs().max().item(), (h_n - ref_h_n).abs().max().item())
assert parity_error < 1e-6, parity_error
print(f"largest difference from torch.nn.RNN with the same weights: {parity_error:.1e}")

# %% [markdown]
# ## The unrolled loop, by hand
#
# The layer is nothing but the cell applied $T$ times. We write the equation above with tensor
# operations, apply it step by step, and compare with the cell and with the layer. The last
# output step is the final state: $h_n = h_T$.

# %%
cell = RNNCell(I, H)
cell.load_state_dict({name.removesuffix("_l0"): value for name, value in rnn.state_dict().items()})

h_by_hand = torch.zeros(B, H)
h_by_cell = torch.zeros(B, H)
steps_by_hand = []
for t in range(T):
    x_t = x[:, t]  # (B, I)
    # h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    h_by_hand = torch.tanh(x_t @ rnn.weight_ih_l0.T + rnn.bias_ih_l0 + h_by_hand @ rnn.weight_hh_l0.T + rnn.bias_hh_l0)
    h_by_cell = cell(x_t, h_by_cell)
    steps_by_hand.append(h_by_hand)
unrolled = torch.stack(steps_by_hand, dim=1)  # (B, T, H)

unroll_error = (unrolled - output).abs().max().item()
assert unroll_error < 1e-6 and torch.allclose(h_by_cell, h_by_hand, atol=1e-6)
assert torch.allclose(output[:, -1], h_n[0])
print(f"hand-unrolled loop vs seqlab.nn.RNN: largest difference {unroll_error:.1e}")

# %% [markdown]
# ## Parameters are shared across time
#
# The count does not depend on $T$: $H \cdot I + H \cdot H + 2H$ for one layer.

# %%
count = sum(p.numel() for p in rnn.parameters())
assert count == H * I + H * H + 2 * H
print(f"RNN({I}, {H}) has {count} parameters = H*I + H*H + 2H, for any sequence length")

# %% [markdown]
# ## The state on real text
#
# We feed the first characters of Tiny Shakespeare (Karpathy 2015, bundled with seqlab) to an
# untrained RNN, one-hot encoded, and draw $h_t$ as a heat map. Then we change only the first
# character and measure how far the states move, $\lVert h_t - h'_t \rVert$: the
# state is the network's only memory, and an untrained tanh network with PyTorch's
# initialisation ($U(-1/\sqrt H, 1/\sqrt H)$) forgets the first input within a few steps.

# %%
text = load_tiny_shakespeare()
chars = sorted(set(text))
index = {c: k for k, c in enumerate(chars)}
passage = text[: pick(fast=60, full=200)]
ids = torch.tensor([index[c] for c in passage])
one_hot = torch.nn.functional.one_hot(ids, len(chars)).float()  # (T, V)

hidden = pick(fast=32, full=64)
reader = RNN(len(chars), hidden)
with torch.no_grad():
    states, _ = reader(one_hot.unsqueeze(1))  # (T, 1, H)
    altered = one_hot.clone()
    altered[0] = torch.nn.functional.one_hot(torch.tensor(index["Z"]), len(chars)).float()
    states_altered, _ = reader(altered.unsqueeze(1))
distance = (states - states_altered).squeeze(1).norm(dim=-1).numpy()  # (T,)
below = np.nonzero(distance < 0.01 * distance[0])[0]
forgotten_after = int(below[0]) if len(below) else None

figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
top.imshow(states.squeeze(1).T.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
top.set_ylabel("unit of $h_t$")
top.set_title("hidden state of an untrained RNN reading Tiny Shakespeare")
bottom.semilogy(distance + 1e-12)
bottom.set_xticks(range(len(passage)))
bottom.set_xticklabels(list(passage.replace("\n", "⏎")), fontsize=6)
bottom.set_ylabel(r"$\|h_t - h'_t\|$")
bottom.set_xlabel("character read at step t")
save_figure(figure, "01_hidden_state")

# %% [markdown]
# ## What you saw

# %%
forgetting = (f"after {forgotten_after} steps the change had shrunk below 1% of its size at step 0"
              if forgotten_after is not None else "the change never shrank below 1% over the passage")
summary = f"""
* `RNN(10, 20, batch_first=True)` on a (3, 5, 10) batch returned output {tuple(output.shape)} and
  h_n {tuple(h_n.shape)}, as `torch.nn.RNN` does; with the same weights the two differ by at most {parity_error:.1e}.
* Applying the equation by hand for {T} steps reproduced the layer's output to {unroll_error:.1e}.
* The layer has {count} parameters whatever the sequence length.
* Changing the first character of the passage moved h_0 by {distance[0]:.3f}; {forgetting}.
"""
print(summary)
