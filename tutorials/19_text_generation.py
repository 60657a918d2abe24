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
# # 19 · Text generation: an LSTM and a GPT, their perplexities and their samples
#
# A language model scores held-out text by its cross-entropy $H = -\frac1N\sum_t \ln p(x_t \mid
# x_{<t})$, reported as perplexity $e^{H}$ (the effective number of equally likely next tokens) or,
# for characters, as bits per character $H / \ln 2$. To generate, we draw the next token from
# $\mathrm{softmax}(z / \tau)$: a temperature $\tau < 1$ sharpens the distribution; top-$k$
# sampling (Fan, Lewis & Dauphin 2018) keeps the $k$ most probable tokens; nucleus (top-$p$)
# sampling (Holtzman et al. 2020, *The curious case of neural text degeneration*, ICLR) keeps
# the smallest set whose probability reaches $p$. We train a character LSTM (Karpathy 2015,
# char-rnn) and a character GPT with the same budget on Tiny Shakespeare and compare.

# %%
import math
import time
from itertools import pairwise

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.corpora import load_tiny_shakespeare, split_fraction
from seqlab.generation.sampling import filter_logits
from seqlab.metrics.language import bits_per_char, perplexity
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.text.factories import character_tokenizer
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## Top-k and top-p, by hand

# %%
logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])
probs = logits.softmax(-1)[0]
kth = logits[0].topk(3).values[-1]
top_k_by_hand = torch.where(logits >= kth, logits, torch.tensor(float("-inf")))
order = probs.argsort(descending=True)
before = probs[order].cumsum(0) - probs[order]  # probability of the tokens ranked above each token
keep = torch.zeros_like(probs, dtype=torch.bool)
keep[order] = before < 0.8  # keep a token while the ones above it have not reached p
top_p_by_hand = torch.where(keep, logits, torch.tensor(float("-inf")))
assert torch.equal(filter_logits(logits, top_k=3), top_k_by_hand)
assert torch.equal(filter_logits(logits, top_p=0.8), top_p_by_hand)
print(f"probabilities {probs.numpy().round(3)}: top-3 keeps {int(torch.isfinite(top_k_by_hand).sum())} tokens, "
      f"top-p 0.8 keeps {int(keep.sum())}; both equal seqlab's filter_logits")

# %% [markdown]
# ## Two models, one budget

# %%
text = load_tiny_shakespeare()
tokenizer = character_tokenizer(text)  # one id per character of the text


def encode(chunk: str) -> torch.Tensor:
    return torch.tensor(tokenizer.encode(chunk).ids)


train_text, val_text = split_fraction(text, 0.9)
train_ids, val_ids = encode(train_text), encode(val_text)
block, steps = pick(fast=32, full=128), pick(fast=25, full=3000)
width = pick(fast=48, full=192)

lstm = RecurrentLanguageModel(tokenizer.vocab_size, width, width, num_layers=2, cell="lstm", tie_weights=True)
gpt = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block, n_layer=pick(fast=2, full=4), n_head=4,
                    n_embd=pick(fast=32, full=128)))
models = {"LSTM": lstm, "GPT": gpt}


def logits_of(model, x):
    return model(x)[0] if isinstance(model, RecurrentLanguageModel) else model(x)


def random_batch(data, generator, batch=32):
    starts = torch.randint(len(data) - block - 1, (batch,), generator=generator)
    return (torch.stack([data[s:s + block] for s in starts]),
            torch.stack([data[s + 1:s + block + 1] for s in starts]))


curves, seconds, val_loss = {}, {}, {}
for name, model in models.items():
    torch.manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    curve = []
    started = time.perf_counter()
    for _ in range(steps):
        x, y = random_batch(train_ids, generator)
        loss = F.cross_entropy(logits_of(model, x).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        curve.append(loss.item())
    seconds[name], curves[name] = time.perf_counter() - started, curve
    model.eval()
    with torch.no_grad():
        generator = torch.Generator().manual_seed(123)
        batches = [random_batch(val_ids, generator) for _ in range(pick(fast=2, full=40))]
        val_loss[name] = sum(F.cross_entropy(logits_of(model, x).flatten(0, 1), y.flatten()).item()
                             for x, y in batches) / len(batches)
    assert abs(perplexity(val_loss[name]) - math.exp(val_loss[name])) < 1e-9
    print(f"{name:5s} {sum(p.numel() for p in model.parameters()):8,d} parameters, {steps} steps in "
          f"{seconds[name]:.0f} s: validation {val_loss[name]:.3f} nats/char, perplexity "
          f"{perplexity(val_loss[name]):.2f}, {bits_per_char(val_loss[name]):.3f} bits/char")

# %% [markdown]
# ## Samples
#
# The same prompt, continued by each model at two temperatures, and with nucleus sampling.

# %%
prompt = encode("KING RICHARD:\n").unsqueeze(0)
new = block - prompt.shape[1]
samples = {}
for name, model in models.items():
    for label, options in (("temperature 0.5", {"temperature": 0.5}), ("temperature 1.0", {"temperature": 1.0}),
                           ("top-p 0.9", {"temperature": 1.0, "top_p": 0.9})):
        ids = model.generate(prompt, new, generator=torch.Generator().manual_seed(0), **options)
        samples[name, label] = tokenizer.decode(ids[0, prompt.shape[1]:].tolist())
        print(f"--- {name}, {label}:\n{samples[name, label]}")


def distinct_bigrams(sample):
    pairs = list(pairwise(sample))
    return len(set(pairs)) / max(len(pairs), 1)


diversity = {key: distinct_bigrams(value) for key, value in samples.items()}

figure, axes = plt.subplots(figsize=(7, 4))
for name, curve in curves.items():
    window = max(1, steps // 20)
    axes.plot([sum(curve[i:i + window]) / window for i in range(len(curve) - window + 1)],
              label=f"{name} (validation {val_loss[name]:.3f})")
axes.axhline(math.log(tokenizer.vocab_size), color="grey", linestyle=":", label="uniform, ln 65")
axes.set_xlabel("step")
axes.set_ylabel("training loss (nats/char)")
axes.legend()
axes.set_title("character LSTM and GPT, same steps and batch")
save_figure(figure, "19_lstm_vs_gpt")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* Top-k and top-p filtering written by hand equal seqlab's filter_logits.
* After {steps} steps of the same batches: {"; ".join(f"{n} validation {val_loss[n]:.3f} nats/char = perplexity "
  f"{perplexity(val_loss[n]):.2f} = {bits_per_char(val_loss[n]):.3f} bits/char in {seconds[n]:.0f} s" for n in models)}.
* Share of distinct character bigrams in the samples:
  {"; ".join(f"{n} {label} {v:.2f}" for (n, label), v in diversity.items())}.
""")
