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
# # 08 · Tokenization: words, characters, BPE and WordPiece
#
# A model sees ids, not text. Words give short sequences but an open vocabulary (every unseen
# word is `<unk>`); characters give a closed vocabulary but long sequences. Subword schemes sit
# between. Byte-pair encoding (Sennrich, Haddow & Birch 2016, *Neural machine translation of rare
# words with subword units*, ACL; after Gage 1994) starts from symbols and repeats
#
# $$(a, b) = \arg\max_{(a,b)} \sum_{w} n_w \cdot \#\{i : w_i = a,\ w_{i+1} = b\}, \qquad
#   \text{then replace every adjacent } a\,b \text{ by the new symbol } ab,$$
#
# with $n_w$ the count of word $w$. Byte-level BPE (Radford et al. 2019, GPT-2) starts from the
# 256 bytes, so no input is ever unknown. WordPiece (Schuster & Nakajima 2012; Devlin et al.
# 2019, BERT) merges the pair with the highest $\frac{\mathrm{count}(ab)}{\mathrm{count}(a)\,
# \mathrm{count}(b)}$ and marks word-internal pieces with `##`.
#
# seqlab's `Tokenizer` is the pipeline of Hugging Face `tokenizers` (normalizer → pre-tokenizer →
# model → post-processor → decoder) and saves the same `tokenizer.json`.

# %%
from collections import Counter
from itertools import pairwise

import matplotlib.pyplot as plt

from seqlab.data.corpora import load_tiny_shakespeare, split_fraction
from seqlab.text import BpeTrainer, Tokenizer, WordLevelTrainer, WordPieceTrainer
from seqlab.tutorials import pick, save_figure, scratch_dir

text = load_tiny_shakespeare()
train_text, val_text = split_fraction(text[: pick(fast=60_000, full=len(text))], 0.9)
train_lines = train_text.splitlines()

# %% [markdown]
# ## BPE, one merge at a time, by hand
#
# On Wikipedia's example `aaabdaaabac`, with symbols as byte values and ties broken by the
# smaller (left, right) pair of ids (Hugging Face's rule, which seqlab documents and follows).

# %%
def learn_bpe_by_hand(word: str, merges: int):
    symbols = list(word.encode("utf-8"))  # start from bytes: 'a' = 97
    names = {i: bytes([i]).decode("latin-1") for i in range(256)}
    learned = []
    for new_id in range(256, 256 + merges):
        pairs = Counter(pairwise(symbols))
        best_count = max(pairs.values())
        a, b = min(pair for pair, count in pairs.items() if count == best_count)  # tie: smaller ids
        learned.append((names[a], names[b]))
        names[new_id] = names[a] + names[b]
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == (a, b):
                merged.append(new_id)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        symbols = merged
        print(f"merge {new_id - 255}: {names[a]!r} + {names[b]!r} -> {names[new_id]!r}  "
              f"(count {best_count}); now {[names[s] for s in symbols]}")
    return learned


by_hand = learn_bpe_by_hand("aaabdaaabac", 3)
toy = Tokenizer.byte_level_bpe()
toy.train_from_iterator(["aaabdaaabac"], BpeTrainer(vocab_size=256 + 3, min_frequency=1))
assert toy.model.merges == by_hand, (toy.model.merges, by_hand)
print("seqlab's BpeTrainer learned the same merges:", toy.model.merges)

# %% [markdown]
# ## Four tokenizers trained on Tiny Shakespeare
#
# Word-level (whitespace and punctuation split), character-level, byte-level BPE at several
# vocabulary sizes, and WordPiece. We measure the vocabulary size, how many characters one token
# covers on held-out text, and how many held-out tokens are unknown.

# %%
def characters_per_token(tokenizer):
    ids = [len(tokenizer.encode(line, add_special_tokens=False).ids) for line in val_text.splitlines()]
    return sum(len(line) for line in val_text.splitlines()) / max(sum(ids), 1)


def unknown_rate(tokenizer, unk):
    unk_id = tokenizer.token_to_id(unk)
    ids = [i for line in val_text.splitlines() for i in tokenizer.encode(line, add_special_tokens=False).ids]
    return sum(i == unk_id for i in ids) / max(len(ids), 1)


words = Tokenizer.word_level()
words.train_from_iterator(train_lines, WordLevelTrainer(min_frequency=2))
chars = Tokenizer.character_level()
chars.train_from_iterator(train_lines, WordLevelTrainer())
wordpiece = Tokenizer.wordpiece(lowercase=False)
wordpiece.train_from_iterator(train_lines, WordPieceTrainer(vocab_size=pick(fast=500, full=4000)))
bpe_sizes = pick(fast=[300, 500, 800], full=[300, 1000, 4000, 8000])
bpes = {}
for size in bpe_sizes:
    bpes[size] = Tokenizer.byte_level_bpe()
    bpes[size].train_from_iterator(train_lines, BpeTrainer(vocab_size=size))

rows = {"word-level": (words, "<unk>"), "character-level": (chars, "<unk>"),
        f"WordPiece {wordpiece.vocab_size}": (wordpiece, "[UNK]")}
rows |= {f"byte-level BPE {size}": (tok, None) for size, tok in bpes.items()}
measured = {}
for label, (tokenizer, unk) in rows.items():
    measured[label] = (tokenizer.vocab_size, characters_per_token(tokenizer),
                       unknown_rate(tokenizer, unk) if unk else 0.0)
    print(f"{label:22s} vocabulary {measured[label][0]:6,d}  characters/token {measured[label][1]:.2f}  "
          f"unknown {measured[label][2]:.2%}")

first_merges = bpes[bpe_sizes[-1]].model.merges[:12]
print("first BPE merges on Tiny Shakespeare ('Ġ' is the byte of a space):", first_merges)
sentence = "Thou art unfriendliest, good Coriolanus."
for label, (tokenizer, _) in rows.items():
    print(f"{label:22s} {tokenizer.encode(sentence, add_special_tokens=False).tokens}")

figure, axes = plt.subplots(figsize=(7, 4))
for label, (size, per_token, unknown) in measured.items():
    axes.scatter(size, per_token, s=40)
    axes.annotate(f"{label}\n(unk {unknown:.1%})", (size, per_token), fontsize=7)
axes.set_xscale("log")
axes.set_xlabel("vocabulary size")
axes.set_ylabel("held-out characters per token")
axes.set_title("vocabulary size against sequence length")
save_figure(figure, "08_compression")

# %% [markdown]
# ## tokenizer.json
#
# `save` writes Hugging Face's `tokenizer.json` format; `Tokenizer.from_file` reads it back. When
# the `tokenizers` package is installed we also load the file with it and compare the ids. The
# file goes next to the figures (`SEQLAB_FIGURES`), never into the repository.

# %%
folder = scratch_dir()
bpe = bpes[bpe_sizes[-1]]
bpe.save(folder / "tokenizer.json")
reloaded = Tokenizer.from_file(folder / "tokenizer.json")
probe = val_text[:2000]
assert reloaded.encode(probe).ids == bpe.encode(probe).ids
assert bpe.decode(bpe.encode(probe).ids) == probe  # byte-level BPE is lossless
try:
    import tokenizers
except ImportError:
    hf_agrees = None
else:
    hf = tokenizers.Tokenizer.from_file(str(folder / "tokenizer.json"))
    hf_agrees = hf.encode(probe).ids == bpe.encode(probe).ids
    assert hf_agrees
print(f"saved {folder / 'tokenizer.json'}; reloaded ids equal; Hugging Face tokenizers agrees: {hf_agrees}")

# %% [markdown]
# ## What you saw

# %%
hf_verdict = {True: "same ids", False: "different ids", None: "not installed"}[hf_agrees]
lines = "\n".join(f"  - {label}: vocabulary {v:,}, {c:.2f} characters per token, {u:.2%} unknown"
                  for label, (v, c, u) in measured.items())
print(f"""
* BPE by hand on "aaabdaaabac" merged {by_hand}; seqlab's BpeTrainer learned the same three merges.
* On held-out Tiny Shakespeare:
{lines}
* The saved tokenizer.json reloads to the same ids; byte-level BPE decodes back to the exact text; the tokenizers
  package reading the same file: {hf_verdict}.
""")
