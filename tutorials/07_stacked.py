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
# # 07 · Stacked layers, dropout and packing
#
# A stacked (deep) recurrent network feeds the states of layer $l-1$ to layer $l$ as its input
# (Graves, Mohamed & Hinton 2013, *Speech recognition with deep recurrent neural networks*):
#
# $$h^{(l)}_t = f\big(h^{(l-1)}_t,\, h^{(l)}_{t-1}\big), \qquad h^{(0)}_t = x_t .$$
#
# Regularising it: Zaremba, Sutskever & Vinyals (2014, *Recurrent neural network
# regularization*) drop units only on the connections *between* layers, never on the recurrent
# ones, a fresh mask at every step (PyTorch's `dropout=`). Gal & Ghahramani (2016, *A
# theoretically grounded application of dropout in recurrent neural networks*) use *variational*
# dropout: one mask per sequence, the same at every step, also on the recurrent connection
# (seqlab's `input_dropout=` and `recurrent_dropout=`):
#
# $$\tilde x_t = m \odot x_t,\quad m \sim \tfrac{1}{1-p}\,\mathrm{Bernoulli}(1-p)^{I}
#   \text{ drawn once per sequence.}$$
#
# Finally, batches of sentences have different lengths: padding them to the longest wastes
# steps, and packing (`PackedSequence`) or bucketing by length avoids the waste.

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.batching import pack, pad_sequences
from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.data.samplers import BucketBatchSampler, padding_fraction
from seqlab.nn import LSTM
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import train
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## A stack is a chain of layers, by hand

# %%
I, H, B, T = 5, 8, 2, 6
deep = LSTM(I, H, num_layers=3, batch_first=True, dtype=torch.float64)
layers = []
for l in range(3):
    single = LSTM(I if l == 0 else H, H, batch_first=True, dtype=torch.float64)
    own = {k: v for k, v in deep.state_dict().items() if k.endswith(f"_l{l}")}  # weight_ih_l1, ...
    single.load_state_dict({k.replace(f"_l{l}", "_l0"): v for k, v in own.items()})
    layers.append(single)
x = torch.randn(B, T, I, dtype=torch.float64)
output, (h_n, c_n) = deep(x)
h = x
finals = []
for single in layers:
    h, (h_last, _) = single(h)  # layer l reads layer l-1's states
    finals.append(h_last[0])
chain_error = max((h - output).abs().max().item(), (torch.stack(finals) - h_n).abs().max().item())
assert chain_error < 1e-14
print(f"3-layer LSTM = three 1-layer LSTMs chained: largest difference {chain_error:.0e}; h_n {tuple(h_n.shape)}")

# %% [markdown]
# ## Where the dropout masks fall
#
# The mask is not returned, but it shows in the gradient: an input unit that was dropped
# receives no gradient. For one sequence we plot which input units get a zero gradient at each
# step: with `input_dropout` (variational) the pattern is the same at every step; with plain
# dropout applied per step it changes from step to step.

# %%
I, T, p = 24, pick(fast=12, full=30), 0.5
x = torch.randn(1, T, I, requires_grad=True)
variational = LSTM(I, 16, batch_first=True, input_dropout=p)
variational.train()
variational(x)[0].sum().backward()
variational_zero = (x.grad[0] == 0).numpy()  # (T, I)
# every step shares the first step's mask: (T, I) rows all equal
assert (variational_zero == variational_zero[0]).all() and 0 < variational_zero[0].sum() < I

x.grad = None
plain = LSTM(I, 16, batch_first=True)
plain(F.dropout(x, p, training=True))[0].sum().backward()
plain_zero = (x.grad[0] == 0).numpy()
changing_steps = int((plain_zero != plain_zero[0]).any(axis=1).sum())

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
left.imshow(variational_zero, aspect="auto", cmap="Greys")
left.set_title("variational (input_dropout): one mask")
right.imshow(plain_zero, aspect="auto", cmap="Greys")
right.set_title("plain dropout: a new mask every step")
for axis in (left, right):
    axis.set_xlabel("input unit")
left.set_ylabel("step t (black: dropped)")
save_figure(figure, "07_dropout_masks")

# %% [markdown]
# ## Depth and dropout on Tiny Shakespeare
#
# One, two and three layers of the same width, trained for the same steps by the `lm` recipe
# (`seqlab.training.runner.train`, what `seqlab train lm` runs); then the deepest with inter-layer
# dropout and with variational dropout.

# %%
text = load_tiny_shakespeare()
steps = pick(fast=3, full=1500)
base = ["model.arch=lstm", "model.embedding_dim=32", f"model.hidden_size={pick(fast=16, full=192)}",
        "model.dropout=0.0", f"data.block_size={pick(fast=12, full=64)}", f"data.batch_size={pick(fast=4, full=32)}",
        f"data.limit={pick(fast=20_000, full=len(text))}", f"fit.max_steps={steps}", "fit.max_seconds=null",
        f"fit.eval_every={max(1, steps // pick(fast=1, full=15))}", f"sample.length={pick(fast=1, full=200)}",
        "fit.plots=false"]
settings = {"1 layer": ["model.num_layers=1"], "2 layers": ["model.num_layers=2"], "3 layers": ["model.num_layers=3"],
            "3 layers, dropout 0.2": ["model.num_layers=3", "model.dropout=0.2"],
            "3 layers, variational 0.2": ["model.num_layers=3",
                                          "model.layer_options={input_dropout: 0.2, recurrent_dropout: 0.2}"]}
runs = {}
for label, options in settings.items():
    runs[label] = result = train(load_run_config("lm", None, [*base, *options]))
    print(f"{label:26s} {result.parameters:7,d} parameters  val {result.results['loss']:.3f}  "
          f"{result.history.seconds:.0f} s")

figure, axes = plt.subplots(figsize=(7, 4))
for label, result in runs.items():
    history = result.history.evaluations
    axes.plot([r["step"] for r in history], [r["val_loss"] for r in history], "o-", label=label)
axes.axhline(math.log(65), color="grey", linestyle=":", label="uniform guess")
axes.set_xlabel("step")
axes.set_ylabel("validation loss (nats/char)")
axes.legend(fontsize="small")
axes.set_title("depth and dropout, character LSTM")
save_figure(figure, "07_depth_dropout")

# %% [markdown]
# ## Packing variable-length batches
#
# The lines of Tiny Shakespeare have very different lengths. A layer given `lengths=` or a
# `PackedSequence` (`seqlab.data.batching.pack`) stops each sequence at its end, and the result
# for each line is what it would be alone. Padding still costs compute wherever a batch mixes
# long and short lines; `BucketBatchSampler` groups lines of similar length, and
# `padding_fraction` measures the share of padded positions.

# %%
lines = [line for line in text.split("\n") if line][: pick(fast=2000, full=30000)]
chars = sorted(set(text))
index = {c: k for k, c in enumerate(chars)}
sequences = [torch.tensor([index[c] for c in line]) for line in lines[:8]]
padded, lengths, is_pad = pad_sequences(sequences)
embedding = torch.nn.Embedding(len(chars), 8)
layer = LSTM(8, 16, batch_first=True)
with torch.no_grad():
    embedded = embedding(padded)  # (B, T, 8)
    packed_out, (packed_h, _) = layer(pack(embedded, lengths))
    alone = [layer(embedding(s).unsqueeze(0))[1][0][0, 0] for s in sequences]
pack_error = (torch.stack(alone) - packed_h[0]).abs().max().item()
assert pack_error < 1e-5

line_lengths = [len(line) for line in lines]
batch_size = 32
order = torch.randperm(len(lines), generator=torch.Generator().manual_seed(0)).tolist()
random_batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
bucketed = BucketBatchSampler(line_lengths, batch_size, seed=0).batches()
padding_random = padding_fraction(line_lengths, random_batches)
padding_bucketed = padding_fraction(line_lengths, bucketed)

figure, axes = plt.subplots(figsize=(7, 3.5))
axes.hist(line_lengths, bins=40)
axes.set_xlabel("line length (characters)")
axes.set_ylabel("lines")
axes.set_title(f"padding: {padding_random:.0%} of positions in random batches, {padding_bucketed:.0%} bucketed")
save_figure(figure, "07_line_lengths")

# %% [markdown]
# ## What you saw

# %%
loss_lines = ", ".join(f"{label} {result.results['loss']:.3f}" for label, result in runs.items())
print(f"""
* A 3-layer LSTM equals three 1-layer LSTMs chained with the same weights ({chain_error:.0e}).
* With input_dropout={p} the {int(variational_zero[0].sum())} dropped input units of the sequence were the same at
  all {T} steps; plain per-step dropout changed its mask at {changing_steps} of {T - 1} later steps.
* Validation loss after {steps} steps: {loss_lines}.
* Packed, each of 8 lines ended in the state it reaches alone (largest difference {pack_error:.0e}); over {len(lines):,}
  lines in batches of {batch_size}, padding took {padding_random:.1%} of positions in random batches and
  {padding_bucketed:.1%} with BucketBatchSampler.
""")
