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
# # 12 · Attention: Bahdanau's encoder-decoder and its alignments
#
# Data: `fra-eng` (Tatoeba English-French pairs). Its first 40,000 pairs ship with seqlab, enough
# here; `seqlab data get fra-eng` fetches all 167,130.
#
# An encoder-decoder that squeezes the source into one vector forgets long sentences. Bahdanau,
# Cho & Bengio (2015, *Neural machine translation by jointly learning to align and translate*,
# ICLR) let each decoder step $i$ look back at every encoder state $h_j$:
#
# $$e_{ij} = v_a^\top \tanh(W_a s_{i-1} + U_a h_j), \qquad
#   \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{k} \exp e_{ik}}, \qquad c_i = \sum_j \alpha_{ij} h_j ,$$
#
# and the decoder reads $c_i$ with the previous word. Padding positions get no weight
# ($e_{ij} = -\infty$). The weights $\alpha_{ij}$ are a soft alignment between target and source
# words, which we draw after training on English→French pairs.

# %%
import random

import torch
import torch.nn.functional as F

from seqlab.data.batching import pad_sequences
from seqlab.data.loaders import load_fra_eng
from seqlab.generation import strip
from seqlab.metrics.translation import bleu
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.nn import AdditiveAttention
from seqlab.plots.attention import attention_map_figure
from seqlab.text import Tokenizer, WordLevelTrainer
from seqlab.tutorials import figure_dir, need_datasets, pick, show_png

need_datasets("fra-eng")  # stops here with the command to run if one is missing

torch.manual_seed(0)

# %% [markdown]
# ## Additive attention, by hand

# %%
B, S, H_dec, H_enc, n = 2, 5, 6, 8, 7
attention = AdditiveAttention(H_dec, H_enc, n).double()
s_prev = torch.randn(B, H_dec, dtype=torch.float64)
h = torch.randn(B, S, H_enc, dtype=torch.float64)
can_attend = torch.tensor([[True] * 5, [True, True, True, False, False]])  # sentence 2 has 3 words
W_s = s_prev @ attention.query_proj.weight.T + attention.query_proj.bias  # (B, n)
U_h = h @ attention.key_proj.weight.T  # (B, S, n)
e = torch.tanh(W_s[:, None, :] + U_h) @ attention.v.weight[0]  # (B, S): v^T tanh(W s + U h_j)
e = e.masked_fill(~can_attend, float("-inf"))
alpha = e.softmax(-1)
context_by_hand = (alpha[:, :, None] * h).sum(1)  # c = sum_j alpha_j h_j
context, weights = attention(s_prev, h, can_attend=can_attend)
attention_error = max((context - context_by_hand).abs().max().item(), (weights - alpha).abs().max().item())
assert attention_error < 1e-12, attention_error
assert weights[1, 3:].sum() == 0
print(f"additive attention by hand vs seqlab.nn.AdditiveAttention: {attention_error:.0e}; padding gets weight 0")

# %% [markdown]
# ## English→French
#
# The first pairs of the file are short (d2l uses the first 600); we lower-case, split words
# with seqlab's word-level tokenizer, keep a seeded 10% for evaluation and train with teacher
# forcing: the decoder reads the reference shifted right (`<bos>` first) and is scored on
# predicting each next word.

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


model = Seq2SeqAttention(source_tok.vocab_size, target_tok.vocab_size, embedding_dim=pick(fast=32, full=128),
                         hidden_size=pick(fast=32, full=192), attention="additive", pad_id=PAD)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
steps, batch_size = pick(fast=25, full=3000), pick(fast=32, full=64)
losses = []
generator = random.Random(1)
for _ in range(steps):
    src, src_lengths, tgt = encode_pairs(generator.sample(train_pairs, batch_size))
    logits = model(src, src_lengths, tgt[:, :-1])  # teacher forcing: (B, T, V)
    loss = F.cross_entropy(logits.flatten(0, 1), tgt[:, 1:].flatten(), ignore_index=PAD)
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    losses.append(loss.item())
print(f"{steps} steps: cross-entropy {losses[0]:.2f} -> {sum(losses[-10:]) / len(losses[-10:]):.2f} (last 10)")

# %% [markdown]
# ## Translations, BLEU and the alignment
#
# Greedy decoding on the held-out pairs; corpus BLEU (Papineni et al. 2002) through sacrebleu.

# %%
evaluated = test_pairs[: pick(fast=40, full=len(test_pairs))]
src, src_lengths, _ = encode_pairs(evaluated)
start = torch.full((len(evaluated), 1), BOS)  # every translation starts from <bos>
generated = model.generate(start, 20, source=src, source_lengths=src_lengths, eos_id=EOS)  # greedy
hypotheses = [target_tok.decode(ids) for ids in strip(generated, 1, EOS)]
references = [fr.lower() for _, fr in evaluated]
score = bleu(hypotheses, references)
for (en, fr), hyp in list(zip(evaluated, hypotheses))[:5]:
    print(f"{en!r:28s} -> {hyp!r:30s} (reference {fr!r})")
print(f"BLEU on {len(evaluated)} held-out pairs: {score:.1f}")

example = max(evaluated[:20], key=lambda pair: len(pair[0].split()))
src, src_lengths, _ = encode_pairs([example])
output_ids = strip(model.generate(torch.tensor([[BOS]]), 20, source=src, source_lengths=src_lengths, eos_id=EOS), 1,
                   EOS)[0]
tgt_in = torch.tensor([[BOS, *output_ids]])
with torch.no_grad():
    model.eval()
    _, weights = model(src, src_lengths, tgt_in, need_weights=True)  # (1, T, S)
source_tokens = [source_tok.id_to_token(i) for i in src[0].tolist()]
target_tokens = [target_tok.id_to_token(i) for i in [*output_ids, EOS]]
path = figure_dir() / "12_alignment.png"
attention_map_figure(weights[0, : len(target_tokens)], source_tokens, target_tokens, path,
                     title=f"alignment for {example[0]!r}")
show_png(path)
rows_sum = weights[0].sum(-1)
assert torch.allclose(rows_sum, torch.ones_like(rows_sum), atol=1e-5)

# %% [markdown]
# ## What you saw

# %%
final_loss = sum(losses[-10:]) / len(losses[-10:])
print(f"""
* Additive attention written from the equation equals seqlab's AdditiveAttention ({attention_error:.0e}), with zero
  weight on padding.
* A Bahdanau encoder-decoder ({sum(p.numel() for p in model.parameters()):,} parameters) trained for {steps} steps on
  {len(train_pairs):,} English-French pairs: cross-entropy {losses[0]:.2f} -> {final_loss:.2f}.
* Greedy translations of {len(evaluated)} held-out sentences scored BLEU {score:.1f}.
* The alignment of {example[0]!r} is drawn in 12_alignment.png; each row of weights sums to 1.
""")
