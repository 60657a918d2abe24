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
# Data: `fra-eng` (its first 40,000 pairs ship with seqlab; `seqlab data get fra-eng` fetches all).
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
# encoder layer and the schedule by hand, then train a Transformer on English→French pairs (the
# data of tutorial 12) with seqlab's translation recipe and score greedy and beam-search BLEU.

# %%
import matplotlib.pyplot as plt
import torch

from seqlab.nn import TransformerEncoderLayer
from seqlab.training.config import FitConfig
from seqlab.training.optim import Schedule
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import train
from seqlab.tutorials import need_datasets, pick, save_figure, scratch_dir

need_datasets("fra-eng")  # stops here with the command to run if one is missing

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
#
# seqlab's `translate` recipe (`seqlab train translate`): pairs of at most 10 words from the
# Tatoeba file, a seeded split by English sentence (no sentence in two splits), word
# vocabularies, a Transformer trained with `fit` (AdamW, warmup and cosine decay, label smoothing
# 0.1), the checkpoint with the best validation loss, then BLEU on the held-out test sentences,
# greedy and with beam search. In fast mode a few thousand pairs and a tiny model.

# %%
overrides = pick(fast=["data.limit=3000", "data.test_sources=40", "data.val_sources=40", "model.d_model=32",
                       "model.num_layers=1", "model.dim_feedforward=64", "fit.max_seconds=null",
                       "fit.max_steps=25", "fit.warmup_steps=5", "fit.eval_every=25", "fit.plots=false",
                       "max_len=15"],
                 full=[])
config = load_run_config("translate", None, overrides)
result = train(config, scratch_dir() / "translate-run")
test = result.results
losses = result.history.losses
for example in test["examples"][:5]:
    print(f"{example['source']!r:30s} -> {example['greedy']!r:32s} (reference {example['reference']!r})")
print(f"{result.parameters:,} parameters, {result.history.steps} steps; BLEU on {test['test_sentences']} test "
      f"sentences: greedy {test['bleu_greedy']:.1f}, beam {test['beam_size']} {test['bleu_beam']:.1f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
left.plot(steps_axis, vaswani)
left.set_xlabel("step")
left.set_ylabel("learning rate")
left.set_title(f"the paper's schedule, d_model={d_model}, warmup={warmup}")
right.plot(losses, label="training loss (label smoothing 0.1)")
right.set_xlabel("step")
right.legend()
right.set_title(f"this run: BLEU greedy {test['bleu_greedy']:.1f}, beam {test['bleu_beam']:.1f}")
save_figure(figure, "15_transformer")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* A post-norm encoder layer by hand equals seqlab's TransformerEncoderLayer and PyTorch's ({layer_error:.0e}), and
  seqlab's 'noam' schedule equals d^-0.5 min(s^-0.5, s w^-1.5) (peak {max(vaswani):.2e} at step {warmup}).
* The translate recipe trained a {result.parameters:,}-parameter Transformer for {result.history.steps} steps on
  {test["train_pairs"]:,} pairs: loss {losses[0]:.2f} -> {sum(losses[-10:]) / len(losses[-10:]):.2f}; BLEU on
  {test["test_sentences"]} held-out sentences: greedy {test["bleu_greedy"]:.1f},
  beam {test["beam_size"]} {test["bleu_beam"]:.1f}.
""")
