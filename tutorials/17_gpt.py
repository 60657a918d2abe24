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
# # 17 · GPT: a character Transformer on Tiny Shakespeare, generated with a KV cache
#
# A GPT (Radford et al. 2018, 2019, *Language models are unsupervised multitask learners*) is a
# stack of causal Transformer blocks trained to predict the next token,
#
# $$\mathcal{L} = -\frac1T \sum_{t=1}^{T} \log p(x_{t+1} \mid x_{\le t}), \qquad
#   x \leftarrow x + \mathrm{Attn}(\mathrm{LN}_1(x)), \quad x \leftarrow x + \mathrm{MLP}(\mathrm{LN}_2(x)),$$
#
# with pre-norm blocks, learned positions, a 4E-wide GELU MLP and the output layer tied to the
# token embeddings (GPT-2; nanoGPT's layout). A block holds $12E^2 + 13E$ parameters. To
# generate, each new token attends to every earlier one; the keys and values of earlier tokens
# never change, so a cache turns each step into one token's work (tutorial 14).

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from seqlab.data.corpora import load_tiny_shakespeare, split_fraction
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.text.factories import character_tokenizer
from seqlab.tutorials import pick, save_figure

torch.manual_seed(0)

# %% [markdown]
# ## Counting the parameters by hand

# %%
text = load_tiny_shakespeare()
tokenizer = character_tokenizer(text)  # one id per character of the text


def encode(chunk: str) -> torch.Tensor:
    return torch.tensor(tokenizer.encode(chunk).ids)


config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=pick(fast=32, full=128), n_layer=pick(fast=2, full=4),
                   n_head=4, n_embd=pick(fast=32, full=128), dropout=pick(fast=0.0, full=0.1))
model = GPT(config)
V, T_max, L, E = config.vocab_size, config.block_size, config.n_layer, config.n_embd
by_hand = V * E + T_max * E + L * (12 * E * E + 13 * E) + 2 * E  # tokens, positions, blocks, final LN
parameters = sum(p.numel() for p in model.parameters())
assert parameters == by_hand, (parameters, by_hand)
print(f"{parameters:,} parameters = V*E + T*E + L(12E^2 + 13E) + 2E (the output layer shares the token embedding)")

# %% [markdown]
# ## Training

# %%
train_text, val_text = split_fraction(text, 0.9)
train_ids, val_ids = encode(train_text), encode(val_text)


def random_batch(data, generator, batch=32):
    starts = torch.randint(len(data) - T_max - 1, (batch,), generator=generator)
    x = torch.stack([data[s:s + T_max] for s in starts])
    return x, torch.stack([data[s + 1:s + T_max + 1] for s in starts])


@torch.no_grad()
def validation_loss():
    model.eval()
    generator = torch.Generator().manual_seed(123)
    losses = [F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item()
              for x, y in (random_batch(val_ids, generator) for _ in range(val_batches))]
    model.train()
    return sum(losses) / len(losses)


optimizer = torch.optim.AdamW(model.parameters(), lr=pick(fast=3e-3, full=1e-3))
generator = torch.Generator().manual_seed(0)
steps = pick(fast=30, full=3000)
val_batches = pick(fast=2, full=40)
losses = []
started = time.perf_counter()
for _ in range(steps):
    x, y = random_batch(train_ids, generator)
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
train_seconds = time.perf_counter() - started
val_loss = validation_loss()
print(f"{steps} steps in {train_seconds:.0f} s; validation loss {val_loss:.3f} nats/char "
      f"(uniform {math.log(V):.3f}; nanoGPT's CPU config reaches about 1.88)")

# %% [markdown]
# ## Generating with and without the cache
#
# Greedy decoding ($\text{temperature} = 0$) is deterministic, so the two ways must produce the
# same characters; we time them, then sample with temperature 0.8 and top-k 20.

# %%
prompt = encode("ROMEO:\n").unsqueeze(0)
new_tokens = T_max - prompt.shape[1]
timings = {}
outputs = {}
for use_cache in (True, False):
    started = time.perf_counter()
    outputs[use_cache] = model.generate(prompt, new_tokens, temperature=0, use_cache=use_cache)
    timings["with cache" if use_cache else "without cache"] = time.perf_counter() - started
assert torch.equal(outputs[True], outputs[False])
sample = model.generate(prompt, new_tokens, temperature=0.8, top_k=20, generator=torch.Generator().manual_seed(1))
sample_text = tokenizer.decode(sample[0].tolist())
print(f"greedy, identical with and without the cache: {tokenizer.decode(outputs[True][0].tolist())!r}")
print(f"sampled (temperature 0.8, top-k 20):\n{sample_text}")

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
window = max(1, steps // 20)
left.plot([sum(losses[i:i + window]) / window for i in range(0, len(losses) - window + 1)])
left.axhline(math.log(V), color="grey", linestyle=":", label="uniform, ln V")
left.set_xlabel("step")
left.set_ylabel("training loss (nats/char)")
left.legend()
left.set_title(f"character GPT, validation {val_loss:.3f}")
right.bar(list(timings), [new_tokens / s for s in timings.values()])
right.set_ylabel("tokens per second")
right.set_title(f"greedy generation of {new_tokens} tokens")
save_figure(figure, "17_gpt")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* The GPT ({L} blocks, E={E}, {config.n_head} heads, context {T_max}) has {parameters:,} parameters, as counted
  by hand.
* {steps} steps of AdamW on Tiny Shakespeare in {train_seconds:.0f} s: training loss {losses[0]:.2f} ->
  {losses[-1]:.2f}, validation {val_loss:.3f} nats/char against ln {V} = {math.log(V):.3f} for a uniform guess.
* Greedy decoding gave the same {new_tokens} characters with and without the KV cache:
  {timings["with cache"] * 1e3:.0f} ms with it, {timings["without cache"] * 1e3:.0f} ms without.
""")
