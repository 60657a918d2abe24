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
# # 09 · Word embeddings: Word2Vec and GloVe on the Gutenberg texts
#
# Data: the `gutenberg` dataset (17 books, 7.4 MB), which does not ship with seqlab: `seqlab data get
# gutenberg` fetches it. `questions-words.txt` comes with gensim.
#
# **Word2Vec** (Mikolov et al. 2013, *Distributed representations of words and phrases and their
# compositionality*, NeurIPS): skip-gram with negative sampling makes the input vector $v_c$ of a
# centre word predict the output vector $v'_o$ of each word in its window against $k$ noise words
# drawn from $P_n(w) \propto \mathrm{count}(w)^{3/4}$, maximising
#
# $$\log \sigma(v'^{\top}_o v_c) + \sum_{i=1}^{k} \mathbb{E}_{w_i \sim P_n} \log \sigma(-v'^{\top}_{w_i} v_c).$$
#
# **GloVe** (Pennington, Socher & Manning 2014, EMNLP) fits the logarithm of the co-occurrence
# counts $X_{ij}$ (each pair at distance $d$ adds $1/d$) by weighted least squares:
#
# $$J = \tfrac12 \sum_{i,j:\,X_{ij}>0} f(X_{ij})\,\big(w_i^\top \tilde w_j + b_i + \tilde b_j - \log X_{ij}\big)^2,
#   \qquad f(x) = \min\big(1, (x/x_{\max})^{\alpha}\big).$$
#
# We count co-occurrences and derive the GloVe gradients by hand, check them against
# `seqlab.embeddings`, then train both models and look at neighbours and analogies.

# %%
import matplotlib.pyplot as plt
import torch

from seqlab.data.loaders import load_gutenberg
from seqlab.embeddings import (
    GloVeConfig,
    Word2VecConfig,
    build_vocabulary,
    cooccurrence,
    evaluate_analogies,
    tokenize_words,
    train_glove,
    train_word2vec,
)
from seqlab.embeddings.glove import glove_gradients
from seqlab.tutorials import need_datasets, pick, save_figure

need_datasets("gutenberg")  # stops here with the command to run if one is missing

torch.manual_seed(0)

# %% [markdown]
# ## Co-occurrences and the GloVe gradient, by hand

# %%
toy = [["ice", "is", "cold", "and", "steam", "is", "hot"], ["ice", "is", "solid"]]
toy_vocab = build_vocabulary(toy, min_count=1)
ids, sentence = toy_vocab.encode(toy)
V, window = len(toy_vocab), 2
X_by_hand = torch.zeros(V, V, dtype=torch.float64)
for words in toy:
    for a, word in enumerate(words):
        for b in range(max(0, a - window), min(len(words), a + window + 1)):
            if b != a:
                X_by_hand[toy_vocab.index[word], toy_vocab.index[words[b]]] += 1.0 / abs(a - b)  # 1/d
rows, cols, values = cooccurrence(ids, sentence, V, window)
X_seqlab = torch.zeros(V, V, dtype=torch.float64)
X_seqlab[rows, cols] = values
assert torch.allclose(X_by_hand, X_seqlab)

E = 4
W, W_ctx = torch.randn(V, E, dtype=torch.float64), torch.randn(V, E, dtype=torch.float64)
b, b_ctx = torch.randn(V, dtype=torch.float64), torch.randn(V, dtype=torch.float64)
params = [p.clone().requires_grad_() for p in (W, W_ctx, b, b_ctx)]
f = (values / 2.0).pow(0.75).clamp(max=1.0)  # x_max = 2 so that the cap is exercised
diff = (params[0][rows] * params[1][cols]).sum(1) + params[2][rows] + params[3][cols] - values.log()
J = 0.5 * (f * diff ** 2).sum()
J.backward()
loss, dw_i, dw_j, db_i, db_j = glove_gradients(W, W_ctx, b, b_ctx, rows, cols, values, x_max=2.0, alpha=0.75)
grad_w = torch.zeros_like(W).index_add_(0, rows, dw_i)  # per-entry gradients summed into rows
grad_w_ctx = torch.zeros_like(W).index_add_(0, cols, dw_j)
glove_error = max((loss - J).abs().item(), (grad_w - params[0].grad).abs().max().item(),
                  (grad_w_ctx - params[1].grad).abs().max().item(),
                  (torch.zeros_like(b).index_add_(0, rows, db_i) - params[2].grad).abs().max().item())
assert glove_error < 1e-12
print(f"X by hand equals cooccurrence(); GloVe loss and gradients (autograd) equal glove_gradients: {glove_error:.0e}")

# %% [markdown]
# ## Training on the Gutenberg texts
#
# 17 public-domain books from NLTK's Gutenberg selection, lower-cased and split into words by
# `tokenize_words`, one sentence per line.

# %%
books = load_gutenberg()
names = sorted(books)[: pick(fast=3, full=len(books))]
sentences = []
for name in names:
    for line in books[name].splitlines():
        words = tokenize_words(line)
        if len(words) > 1:
            sentences.append(words)
sentences = sentences[: pick(fast=3000, full=len(sentences))]
print(f"{len(names)} books, {len(sentences):,} lines, {sum(map(len, sentences)):,} words")

size, epochs = pick(fast=32, full=100), pick(fast=1, full=5)
w2v = train_word2vec(sentences, Word2VecConfig(vector_size=size, epochs=epochs, min_count=5))
glove = train_glove(sentences, GloVeConfig(vector_size=size, epochs=pick(fast=2, full=25), min_count=5))
models = {"Word2Vec (skip-gram, negative sampling)": w2v, "GloVe": glove}
for label, result in models.items():
    print(f"{label}: {len(result.vectors):,} words, loss per epoch {[round(x, 3) for x in result.epoch_losses]}, "
          f"{result.seconds:.0f} s")

# %% [markdown]
# ## Neighbours and analogies
#
# Nearest neighbours by cosine similarity, and the analogy test of Mikolov et al. (2013),
# "a is to b as c is to ?" answered by $\arg\max_x \cos(x, b - a + c)$, on Google's
# `questions-words.txt` (shipped with gensim), restricted to our vocabulary.

# %%
probes = [w for w in ("king", "love", "sea", "said", "good", "night") if w in w2v.vectors and w in glove.vectors]
neighbours = {}
for label, result in models.items():
    for word in probes:
        neighbours[label, word] = [w for w, _ in result.vectors.most_similar(word, topn=5)]
        print(f"{label[:8]:8s} {word:6s} -> {', '.join(neighbours[label, word])}")

try:
    from gensim.test.utils import datapath
except ImportError:
    analogy = None
else:
    analogy = {label: evaluate_analogies(result.vectors, datapath("questions-words.txt"), restrict=30_000)
               for label, result in models.items()}
    for label, result in analogy.items():
        print(f"{label}: analogy accuracy {result.accuracy:.1%} on {result.attempted:,} of {result.total:,} "
              "questions (the others have a word outside the vocabulary)")

shown = [w for w in ("king", "queen", "man", "woman", "father", "mother", "son", "daughter", "sea", "ship",
                     "water", "night", "day", "love", "heart") if w in w2v.vectors]
vectors = torch.stack([w2v.vectors.unit_vector(w) for w in shown])
centred = vectors - vectors.mean(0)
_, _, components = torch.linalg.svd(centred, full_matrices=False)
xy = (centred @ components[:2].T).numpy()  # the two principal directions
figure, axes = plt.subplots(figsize=(6, 5))
axes.scatter(xy[:, 0], xy[:, 1])
for (x, y), word in zip(xy, shown):
    axes.annotate(word, (x, y))
axes.set_title("Word2Vec vectors, first two principal components")
save_figure(figure, "09_word2vec_pca")

# %% [markdown]
# ## What you saw

# %%
analogy_line = ("; ".join(f"{label}: {r.accuracy:.1%} of {r.attempted:,} answerable questions"
                          for label, r in analogy.items()) if analogy else "gensim (and its question file) is absent")
example = probes[0] if probes else None
print(f"""
* The co-occurrence counts and GloVe's loss and gradients derived by hand equal seqlab's (largest difference
  {glove_error:.0e}).
* Trained on {len(sentences):,} lines of {len(names)} Gutenberg books ({size}-dimensional vectors):
  Word2Vec's loss per epoch {[round(x, 3) for x in w2v.epoch_losses]},
  GloVe's {[round(x, 3) for x in glove.epoch_losses]}.
* Nearest neighbours of "{example}": Word2Vec {neighbours.get((next(iter(models)), example))},
  GloVe {neighbours.get(("GloVe", example))}.
* Analogies: {analogy_line}.
""")
