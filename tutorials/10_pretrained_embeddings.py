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
# # 10 · Subword vectors and pretrained embeddings in a model
#
# Data: `gutenberg` (fetch it once with `seqlab data get gutenberg`) and `sentence_polarity`
# (ships with seqlab).
#
# Word2Vec and GloVe give nothing for a word they never saw. FastText (Bojanowski, Grave, Joulin &
# Mikolov 2017, *Enriching word vectors with subword information*, TACL 5) represents a word $w$,
# written with boundary marks `<w>`, by its own vector and the vectors of its character n-grams
# $G(w)$ ($3 \le n \le 6$), hashed into a fixed number of buckets:
#
# $$h_w = \frac{1}{1 + |G(w)|}\Big(v_w + \sum_{g \in G(w)} z_g\Big), \qquad
#   h_{w'} = \frac{1}{|G(w')|}\sum_{g \in G(w')} z_g \ \text{ for an unseen } w'.$$
#
# Then we put trained vectors into a model's embedding layer, as one does with published vectors
# (Kim 2014, *Convolutional neural networks for sentence classification*, EMNLP: "static" and
# "non-static" embeddings), and measure the vocabulary's coverage.

# %%
import matplotlib.pyplot as plt
import torch

from seqlab.data.loaders import load_gutenberg, load_sentence_polarity
from seqlab.embeddings import (
    FastTextConfig,
    char_ngrams,
    embedding_matrix,
    ft_hash,
    load_vectors,
    pretrained_embedding,
    save_vectors,
    tokenize_words,
    train_fasttext,
)
from seqlab.tutorials import need_datasets, pick, save_figure, scratch_dir

need_datasets("gutenberg", "sentence_polarity")  # stops here with the command to run if one is missing

torch.manual_seed(0)

# %% [markdown]
# ## N-grams and fastText's hash, by hand
#
# `where` with $n = 3$ gives `<wh, whe, her, ere, re>` (the paper's example; `<her>`, the word
# *her*, is a different entry). The bucket of an n-gram is the 32-bit FNV-1a hash of its UTF-8
# bytes modulo the number of buckets; fastText sign-extends each byte, as C's `int8_t` does.

# %%
def ngrams_by_hand(word, min_n, max_n):
    marked = "<" + word + ">"
    return [marked[i:i + n] for n in range(min_n, max_n + 1) for i in range(len(marked) - n + 1)]


def fnv1a_by_hand(text):
    h = 2166136261  # FNV offset basis
    for byte in text.encode("utf-8"):
        signed = byte - 256 if byte > 127 else byte  # int8_t
        h = ((h ^ (signed % 2**32)) * 16777619) % 2**32  # FNV prime
    return h


assert ngrams_by_hand("where", 3, 3) == char_ngrams("where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
assert ngrams_by_hand("naïve", 3, 6) == char_ngrams("naïve", 3, 6)
probe_grams = char_ngrams("naïve", 3, 6)
assert all(fnv1a_by_hand(g) == ft_hash(g) for g in probe_grams)
print(f"{len(probe_grams)} n-grams of 'naïve' and their hashes match seqlab's, e.g. {probe_grams[:4]}")

# %% [markdown]
# ## FastText on the Gutenberg texts, and words it never saw

# %%
books = load_gutenberg()
sentences = [words for name in sorted(books)[: pick(fast=2, full=len(books))]
             for line in books[name].splitlines() if len(words := tokenize_words(line)) > 1]
sentences = sentences[: pick(fast=4000, full=len(sentences))]
config = FastTextConfig(vector_size=pick(fast=24, full=100), epochs=pick(fast=1, full=5),
                        bucket=pick(fast=20_000, full=200_000))
result = train_fasttext(sentences, config)
vectors = result.vectors
print(f"{len(vectors):,} words from {len(sentences):,} lines; loss per epoch {result.epoch_losses}")

unseen = [w for w in ("happinesss", "unkindly", "beautifull", "sisterly", "wonderous") if w not in vectors]
rows = [ft_hash(g) % len(vectors.ngram_vectors) for g in char_ngrams(unseen[0], config.min_n, config.max_n)]
by_hand = vectors.ngram_vectors[rows].mean(0)  # the mean of its n-gram vectors
assert torch.allclose(by_hand, vectors.get_vector(unseen[0]))
neighbours = {}
for word in unseen:
    query = vectors.unit_vector(word)
    scores = vectors.unit @ query  # cosine with every known word
    neighbours[word] = [vectors.words[i] for i in scores.topk(3).indices.tolist()]
    print(f"unseen {word!r:14s} -> {neighbours[word]}")

# %% [markdown]
# ## Vectors into a model, with their coverage
#
# We save the vectors in the word2vec text format (to the scratch folder next to the figures),
# load them back, and build an embedding layer for the vocabulary of the movie-review sentences
# (Pang & Lee 2005). `embedding_matrix` takes each token's vector when the file has it (or its
# lower-cased form), gives the others random rows on the same scale, and reports the coverage.

# %%
path = scratch_dir() / "fasttext.vec"
save_vectors(vectors, path, format="word2vec")
loaded = load_vectors(path)
assert loaded.words == vectors.words and torch.allclose(loaded.vectors, vectors.vectors)

texts, labels = load_sentence_polarity()
counts = {}
for text in texts:
    for word in tokenize_words(text):
        counts[word] = counts.get(word, 0) + 1
tokens = ["<pad>", *sorted(counts, key=lambda w: -counts[w])[: pick(fast=3000, full=20000)]]
weight, coverage = embedding_matrix(loaded, tokens, padding_idx=0)
embedding, _ = pretrained_embedding(loaded, tokens, freeze=True, padding_idx=0)
known = [t for t in tokens[1:] if t in loaded][:50]
assert all(torch.equal(embedding.weight[tokens.index(t)], loaded[t]) for t in known)
assert not embedding.weight.requires_grad and embedding.weight[0].abs().sum() == 0
token_share = sum(counts[t] for t in tokens[1:] if t not in coverage.missing) / sum(counts[t] for t in tokens[1:])
print(f"coverage: {coverage.found:,} of {coverage.total:,} review tokens have a vector ({coverage.rate:.1%}); "
      f"they make {token_share:.1%} of the running text")

figure, axes = plt.subplots(figsize=(7, 4))
ranks = range(1, len(tokens))
found_flags = [0 if t in set(coverage.missing) else 1 for t in tokens[1:]]
cumulative = torch.tensor(found_flags, dtype=torch.float).cumsum(0) / torch.arange(1, len(tokens))
axes.plot(list(ranks), cumulative.numpy())
axes.set_xscale("log")
axes.set_xlabel("the N most frequent review words")
axes.set_ylabel("share with a Gutenberg vector")
axes.set_title("coverage of a review vocabulary by vectors trained on old books")
save_figure(figure, "10_coverage")

# %% [markdown]
# ## What you saw

# %%
print(f"""
* Character n-grams and fastText's FNV-1a hash written by hand equal seqlab's char_ngrams and ft_hash.
* FastText trained on {len(sentences):,} Gutenberg lines gave {len(unseen)} words it never saw vectors built from
  their n-grams (the mean of the n-gram rows, as computed by hand); nearest known words:
  {"; ".join(f"{w} -> {', '.join(n)}" for w, n in neighbours.items())}.
* Saved in word2vec text format and loaded back unchanged; {coverage.found:,} of {coverage.total:,} movie-review
  words ({coverage.rate:.1%}, {token_share:.1%} of the running text) found a vector; the frozen embedding holds
  them row for row.
""")
