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
# # 15 · The Transformer: an encoder-decoder translating English to French
#
# Data: needs `SEQLAB_DATA_DIR` (`fra-eng/fra.txt`).
#
# Vaswani et al. (2017, *Attention is all you need*) drop recurrence. Each encoder layer is, in
# the paper's post-norm form,
#
# $$x \leftarrow \mathrm{LayerNorm}\big(x + \mathrm{MultiHead}(x, x, x)\big), \qquad
#   x \leftarrow \mathrm{LayerNorm}\big(x + W_2\,\max(0, W_1 x + b_1) + b_2\big),$$
#
# and each decoder layer adds a causal self-attention and a cross-attention over the encoder's
# output. They train with Adam and the schedule
# $\mathrm{lrate} = d_{\text{model}}^{-0.5} \min(s^{-0.5},\ s \cdot w^{-1.5})$ (§5.3). We check one
# encoder layer and the schedule by hand, train a small model on the same English→French pairs
# as tutorial 12, and score greedy and beam-search translations with BLEU.

# %%
import random

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.batching import pad_sequences
from seqlab.data.loaders import load_fra_eng
from seqlab.metrics.translation import bleu
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.nn import TransformerEncoderLayer
from seqlab.text import Tokenizer, WordLevelTrainer
from seqlab.training.config import FitConfig
from seqlab.training.optim import Schedule
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## One encoder layer and the learning-rate schedule, by hand

# %%
E, nh, F_ = 16, 4, 32
layer = TransformerEncoderLayer(E, nh, F_, dropout=0.0, batch_first=True).double().eval()
x = torch.randn(2, 5, E, dtype=torch.float64)
attended, _ = layer.self_attn(x, x, x)
h = layer.norm1(x + attended)  # x <- LN(x + MultiHead(x, x, x))
by_hand = layer.norm2(h + layer.linear2(torch.relu(layer.linear1(h))))  # x <- LN(x + FFN(x))
reference = torch.nn.TransformerEncoderLayer(E, nh, F_, dropout=0.0, batch_first=True, dtype=torch.float64).eval()
reference.load_state_dict(layer.state_dict())
layer_error = max((layer(x) - by_hand).abs().max().item(), (layer(x) - reference(x)).abs().max().item())
assert layer_error < 1e-12
print(f"post-norm encoder layer by hand vs seqlab vs torch.nn.TransformerEncoderLayer: {layer_error:.0e}")

d_model, warmup = 512, 4000
schedule = Schedule(FitConfig(lr=(d_model * warmup) ** -0.5, schedule="noam", warmup_steps=warmup))
steps_axis = list(range(1, 20001, 50))
vaswani = [d_model ** -0.5 * min(s ** -0.5, s * warmup ** -1.5) for s in steps_axis]
seqlab_lr = [schedule.config.lr * schedule.factor(s) for s in steps_axis]
assert max(abs(a - b) for a, b in zip(vaswani, seqlab_lr)) < 1e-12
print(f"the paper's schedule (d_model={d_model}, warmup={warmup}) peaks at {max(vaswani):.2e}; seqlab's 'noam' matches")

# %% [markdown]
# ## Training on English→French

# %%
pairs = load_fra_eng(max_pairs=pick(fast=600, full=20000))
random.Random(0).shuffle(pairs)
cut = int(0.9 * len(pairs))
train_pairs, test_pairs = pairs[:cut], pairs[cut:]
source_tok, target_tok = Tokenizer.word_level(lowercase=True), Tokenizer.word_level(lowercase=True)
source_tok.train_from_iterator([en for en, _ in train_pairs], WordLevelTrainer())
target_tok.train_from_iterator([fr for _, fr in train_pairs], WordLevelTrainer())
PAD, BOS, EOS = (target_tok.token_to_id(t) for t in ("<pad>", "<bos>", "<eos>"))


def encode_pairs(batch):
    src = [torch.tensor([*source_tok.encode(en, add_special_tokens=False).ids, EOS]) for en, _ in batch]
    tgt = [torch.tensor([BOS, *target_tok.encode(fr, add_special_tokens=False).ids, EOS]) for _, fr in batch]
    src, src_lengths, _ = pad_sequences(src, PAD)
    tgt, _, _ = pad_sequences(tgt, PAD)
    return src, src_lengths, tgt


width = pick(fast=32, full=128)
model = TransformerSeq2Seq(source_tok.vocab_size, target_tok.vocab_size, d_model=width, nhead=4,
                           num_encoder_layers=pick(fast=1, full=3), num_decoder_layers=pick(fast=1, full=3),
                           dim_feedforward=4 * width, dropout=pick(fast=0.0, full=0.1), pad_id=PAD)
steps, batch_size, warm = pick(fast=25, full=4000), pick(fast=32, full=64), pick(fast=10, full=400)
train_schedule = Schedule(FitConfig(lr=2 * (width * warm) ** -0.5, schedule="noam", warmup_steps=warm))
optimizer = torch.optim.Adam(model.parameters(), betas=(0.9, 0.98), eps=1e-9)  # §5.3
generator = random.Random(1)
losses, rates = [], []
for step in range(1, steps + 1):
    rates.append(train_schedule.apply(optimizer, step))
    src, src_lengths, tgt = encode_pairs(generator.sample(train_pairs, batch_size))
    logits = model(src, src_lengths, tgt[:, :-1])
    loss = F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD, label_smoothing=0.1)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

evaluated = test_pairs[: pick(fast=40, full=len(test_pairs))]
src, src_lengths, _ = encode_pairs(evaluated)
references = [fr.lower() for _, fr in evaluated]
scores, samples = {}, {}
for label, beam in (("greedy", 1), ("beam 4", 4)):
    ids = model.translate(src, src_lengths, BOS, EOS, max_len=20, beam_size=beam)
    samples[label] = [target_tok.decode(i) for i in ids]
    scores[label] = bleu(samples[label], references)
for (en, fr), hyp in list(zip(evaluated, samples["beam 4"]))[:5]:
    print(f"{en!r:28s} -> {hyp!r:30s} (reference {fr!r})")
print(f"BLEU on {len(evaluated)} held-out pairs: " + ", ".join(f"{k} {v:.1f}" for k, v in scores.items()))

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(steps_axis, vaswani)
left.set_xlabel("step")
left.set_ylabel("learning rate")
left.set_title(f"the paper's schedule, d_model={d_model}, warmup={warmup}")
right.plot(losses, label="training loss (label smoothing 0.1)")
right.set_xlabel("step")
right.legend()
right.set_title(f"this run: BLEU greedy {scores['greedy']:.1f}, beam {scores['beam 4']:.1f}")
save_figure(figure, "15_transformer")

# %% [markdown]
# ## What you saw

# %%
parameters = sum(p.numel() for p in model.parameters())
print(f"""
* A post-norm encoder layer by hand equals seqlab's TransformerEncoderLayer and PyTorch's ({layer_error:.0e}), and
  seqlab's 'noam' schedule equals d^-0.5 min(s^-0.5, s w^-1.5) (peak {max(vaswani):.2e} at step {warmup}).
* A {parameters:,}-parameter Transformer trained for {steps} steps on {len(train_pairs):,} pairs:
  loss {losses[0]:.2f} -> {sum(losses[-10:]) / len(losses[-10:]):.2f}; BLEU on {len(evaluated)} held-out pairs
  {", ".join(f"{k} {v:.1f}" for k, v in scores.items())}.
""")
