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
# # 06 · Bidirectional recurrent networks
#
# A recurrent layer reading left to right knows only the past. A bidirectional layer (Schuster &
# Paliwal 1997, *Bidirectional recurrent neural networks*, IEEE Trans. Signal Processing 45(11);
# Graves & Schmidhuber 2005 for the BiLSTM) runs a second layer, with its own weights, from right
# to left and concatenates the two states at each step:
#
# $$\overrightarrow{h}_t = f(x_t, \overrightarrow{h}_{t-1}), \qquad
#   \overleftarrow{h}_t = f'(x_t, \overleftarrow{h}_{t+1}), \qquad
#   y_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t] \in \mathbb{R}^{2H}.$$
#
# In PyTorch's layout (and seqlab's) the reverse weights are named `weight_ih_l0_reverse`, the
# output is $(B, T, 2H)$ and $h_n$ holds the forward state after the last step and the backward
# state after the *first* step. With padded batches the reverse direction must start at each
# sequence's own last token, not at the padding.

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlab.data.corpora import load_tiny_shakespeare, split_fraction
from seqlab.nn import LSTM
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## Two layers and a flip, by hand

# %%
I, H, B, T = 4, 6, 3, 7
bi = LSTM(I, H, batch_first=True, bidirectional=True, dtype=torch.float64)
forward_layer = LSTM(I, H, batch_first=True, dtype=torch.float64)
backward_layer = LSTM(I, H, batch_first=True, dtype=torch.float64)
state = bi.state_dict()
forward_layer.load_state_dict({k: v for k, v in state.items() if not k.endswith("_reverse")})
backward_layer.load_state_dict({k.removesuffix("_reverse"): v for k, v in state.items() if k.endswith("_reverse")})

x = torch.randn(B, T, I, dtype=torch.float64)
output, (h_n, c_n) = bi(x)
ahead, _ = forward_layer(x)
behind_flipped, _ = backward_layer(x.flip(1))  # read right to left ...
behind = behind_flipped.flip(1)  # ... and put the states back in time order
by_hand = torch.cat([ahead, behind], dim=-1)  # y_t = [h_fwd_t ; h_bwd_t]
flip_error = (by_hand - output).abs().max().item()
assert flip_error < 1e-14
assert torch.allclose(h_n[0], output[:, -1, :H]) and torch.allclose(h_n[1], output[:, 0, H:])
print(f"output {tuple(output.shape)}, h_n {tuple(h_n.shape)}; two one-way layers and a flip match to {flip_error:.0e}")

# %% [markdown]
# ## Variable lengths
#
# Three sequences of lengths 7, 4 and 2 padded to $T = 7$. With `lengths=` (or a
# `PackedSequence`) each sequence's backward pass starts at its own last step. We compare with
# each sequence run alone, without padding, and with `torch.nn.LSTM` on a packed batch.

# %%
lengths = torch.tensor([7, 4, 2])
padded = x.clone()
for b, n in enumerate(lengths):
    padded[b, n:] = 0.0  # padding (any value: it must not matter)
out_lengths, (h_lengths, _) = bi(padded, lengths=lengths)
alone_error = 0.0
for b, n in enumerate(lengths.tolist()):
    out_alone, (h_alone, _) = bi(padded[b:b + 1, :n])
    alone_error = max(alone_error, (out_alone - out_lengths[b:b + 1, :n]).abs().max().item(),
                      (h_alone - h_lengths[:, b:b + 1]).abs().max().item())
assert alone_error < 1e-14
assert out_lengths[1, 4:].abs().max() == 0  # outputs past a sequence's end are zero

reference = torch.nn.LSTM(I, H, batch_first=True, bidirectional=True, dtype=torch.float64)
reference.load_state_dict(bi.state_dict())
packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
ref_out, (ref_h, _) = reference(packed)
ref_out, _ = pad_packed_sequence(ref_out, batch_first=True)
seqlab_packed, (seqlab_h, _) = bi(packed)
seqlab_packed, _ = pad_packed_sequence(seqlab_packed, batch_first=True)
packed_error = max((ref_out - out_lengths).abs().max().item(), (ref_out - seqlab_packed).abs().max().item(),
                   (ref_h - h_lengths).abs().max().item(), (ref_h - seqlab_h).abs().max().item())
assert packed_error < 1e-12
print(f"lengths= vs each sequence alone: {alone_error:.0e}; vs torch.nn.LSTM on a packed batch: {packed_error:.0e}")

# %% [markdown]
# ## A task that needs the future
#
# For every character of Tiny Shakespeare, is it the last letter of a word? The answer depends
# on the *next* character, which a left-to-right reader has not seen when it must answer. We
# train a one-way and a bidirectional LSTM tagger (same width per direction, same steps) with the
# per-step cross-entropy and measure the accuracy on held-out text, against always answering
# the majority class.

# %%
text = load_tiny_shakespeare()
chars = sorted(set(text))
index = {c: k for k, c in enumerate(chars)}
train_text, val_text = split_fraction(text, 0.9)


def labels_of(segment):
    # 1 where a letter is followed by a non-letter: the last letter of a word
    return [int(a.isalpha() and not b.isalpha()) for a, b in zip(segment, segment[1:] + " ")]


train_ids = torch.tensor([index[c] for c in train_text])
train_tags = torch.tensor(labels_of(train_text))
val_segment = val_text[: pick(fast=800, full=20000)]
val_ids = torch.tensor([index[c] for c in val_segment])
val_tags = torch.tensor(labels_of(val_segment))
block, batch, steps = pick(fast=16, full=64), pick(fast=8, full=32), pick(fast=10, full=600)
hidden = pick(fast=16, full=64)


class Tagger(torch.nn.Module):
    def __init__(self, bidirectional):
        super().__init__()
        self.embedding = torch.nn.Embedding(len(chars), 16)
        self.rnn = LSTM(16, hidden, batch_first=True, bidirectional=bidirectional)
        self.head = torch.nn.Linear(hidden * (2 if bidirectional else 1), 2)

    def forward(self, ids):  # (B, T) -> (B, T, 2)
        states, _ = self.rnn(self.embedding(ids))
        return self.head(states)


@torch.no_grad()
def accuracy(model):
    model.eval()
    usable = len(val_ids) // block * block
    predictions = model(val_ids[:usable].view(-1, block)).argmax(-1).flatten()
    model.train()
    return (predictions == val_tags[:usable]).float().mean().item()


curves, final = {}, {}
for label, bidirectional in (("left to right", False), ("bidirectional", True)):
    torch.manual_seed(0)
    model = Tagger(bidirectional)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    curve = []
    for step in range(steps):
        starts = torch.randint(len(train_ids) - block, (batch,), generator=generator)
        ids = torch.stack([train_ids[s:s + block] for s in starts])
        tags = torch.stack([train_tags[s:s + block] for s in starts])
        loss = F.cross_entropy(model(ids).flatten(0, 1), tags.flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (step + 1) % max(1, steps // 5) == 0:
            curve.append((step + 1, accuracy(model)))
    curves[label], final[label] = curve, accuracy(model)
    print(f"{label:14s} held-out accuracy {final[label]:.3f}")
majority = max(val_tags.float().mean().item(), 1 - val_tags.float().mean().item())

figure, axes = plt.subplots(figsize=(7, 4))
for label, curve in curves.items():
    steps_, values = zip(*curve)
    axes.plot(steps_, values, "o-", label=label)
axes.axhline(majority, color="grey", linestyle=":", label="majority class")
axes.set_xlabel("step")
axes.set_ylabel("held-out accuracy")
axes.set_title("is this the last letter of a word?")
axes.legend()
save_figure(figure, "06_bidirectional_tagging")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* A bidirectional LSTM is two one-way LSTMs, one reading the flipped sequence; built by hand from the `_reverse`
  weights they match seqlab's output to {flip_error:.0e}, and h_n[1] is the backward state at t = 0.
* With lengths (or a PackedSequence) every sequence gives what it gives alone ({alone_error:.0e}) and what torch.nn.LSTM
  gives on the packed batch ({packed_error:.0e}); outputs past a sequence's end are zero.
* Tagging the last letter of each word on {len(val_segment):,} held-out characters after {steps} steps:
  left to right {final["left to right"]:.3f}, bidirectional {final["bidirectional"]:.3f}, majority class {majority:.3f}.
""")
