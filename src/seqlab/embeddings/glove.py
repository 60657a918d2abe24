"""GloVe (Pennington, Socher & Manning, 2014): weighted least squares on log co-occurrence counts.

Co-occurrences are counted within a symmetric window, a context at distance ``d`` adding ``1/d``:

    X_ij = sum over occurrences of i, of j within ``window`` words on either side, of 1 / d

and the vectors minimise, over the non-zero entries of X,

    J = 1/2 sum_ij f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2,
    f(x) = (x / x_max)^alpha if x < x_max else 1

by AdaGrad: each parameter keeps a running sum G of its squared gradients (starting at 1, as in
glove.c) and moves by ``-lr g / sqrt(G)``. With ``e = f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)``,

    dJ/dw_i = e w~_j      dJ/dw~_j = e w_i      dJ/db_i = dJ/db~_j = e.

The word vectors are ``w + w~`` (glove.c's default ``model=2``).

Update order (mini-batch, not per entry): the entries are shuffled every epoch and cut into
batches of ``batch_size``; a batch's gradients come from the parameters before the batch, every
step divides by sqrt(G) as G was before the batch, then G grows by the batch's squared gradients
(``glove_objective.py``; a compiled loop in ``_kernels.py`` computes the same, on one thread).
glove.c instead updates after every entry, reading a file shuffled once, on lock-free threads;
``batch_size=1`` gives its per-entry rule.

Note:
    glove.c accumulates ``(lr g)^2`` in G and clips each gradient component at 100 (its newer
    versions); this module accumulates ``g^2``, the textbook AdaGrad, and does not clip.

Example:
    >>> sentences = [["ice", "is", "cold", "steam", "is", "hot"]] * 20
    >>> result = train_glove(sentences, GloVeConfig(vector_size=4, min_count=1, epochs=3))
    >>> result.vectors.vector_size
    4
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from seqlab.checks import integer, positive_float
from seqlab.embeddings._kernels import kernels
from seqlab.embeddings.corpus import Vocabulary, build_vocabulary
from seqlab.embeddings.glove_objective import glove_gradients, weighting
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.word2vec import EmbeddingResult, ProgressCallback
from seqlab.errors import SeqlabError

log = logging.getLogger(__name__)

__all__ = ["GloVeConfig", "cooccurrence", "glove_gradients", "train_glove", "weighting"]


@dataclass
class GloVeConfig:
    """Settings of GloVe: glove.c's defaults (x_max 100, alpha 0.75, eta 0.05, 25 iterations), 100 dimensions,
    a window of 10 (cooccur.c's default is 15)."""

    vector_size: int = 100  # E
    window: int = 10  # symmetric window, each side
    min_count: int = 5
    max_vocab: int | None = None
    x_max: float = 100.0  # counts above x_max get weight 1
    alpha: float = 0.75  # exponent of the weighting function
    lr: float = 0.05  # AdaGrad's initial step (glove.c's eta)
    epochs: int = 25
    batch_size: int = 4096  # co-occurrence entries per step
    seed: int = 1

    def validate(self) -> None:
        """One-line ``SeqlabError`` naming the first bad field (NaN and infinities included)."""
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size"):
            integer(getattr(self, name), name, low=1)
        if self.max_vocab is not None:
            integer(self.max_vocab, "max_vocab", low=1)
        integer(self.seed, "seed", low=0)
        for name in ("x_max", "alpha", "lr"):
            positive_float(getattr(self, name), name)


def cooccurrence(ids: torch.Tensor, sentence: torch.Tensor, vocab_size: int, window: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The non-zero entries of the symmetric, distance-weighted co-occurrence matrix X.

    Returns rows i (nnz,), columns j (nnz,) and values X_ij (nnz,) float64, sorted by i * V + j.
    """
    keys = torch.zeros(0, dtype=torch.long)
    values = torch.zeros(0, dtype=torch.float64)
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = sentence[:-d] == sentence[d:]
        i, j = ids[:-d][same], ids[d:][same]
        new_keys = torch.cat([i * vocab_size + j, j * vocab_size + i])  # both directions: X is symmetric
        keys = torch.cat([keys, new_keys])
        values = torch.cat([values, torch.full((len(new_keys),), 1.0 / d, dtype=torch.float64)])
        keys, inverse = torch.unique(keys, return_inverse=True)  # merge as we go to bound memory
        values = torch.zeros(len(keys), dtype=torch.float64).index_add_(0, inverse, values)
    return keys // vocab_size, keys % vocab_size, values


def train_glove(sentences: Sequence[Sequence[str]], config: GloVeConfig | None = None,
                vocab: Vocabulary | None = None, on_progress: ProgressCallback | None = None) -> EmbeddingResult:
    """Count co-occurrences in ``sentences`` and fit GloVe vectors; ``pairs`` counts entry updates."""
    config = config or GloVeConfig()
    config.validate()
    start = time.perf_counter()
    vocab = vocab or build_vocabulary(sentences, config.min_count, config.max_vocab)
    ids, sentence = vocab.encode(sentences)
    V, E = len(vocab), config.vector_size
    rows, cols, counts = cooccurrence(ids, sentence, V, config.window)  # (nnz,) each
    if len(counts) == 0:
        words = sum(len(s) for s in sentences)
        raise SeqlabError(f"glove: no co-occurrences: {words:,} words in {len(sentences):,} sentences, vocabulary "
                          f"of {V:,} at min_count={config.min_count}, window={config.window}; no sentence holds "
                          f"two vocabulary words")
    counts = counts.float()
    log.info("glove: %d words, %d non-zero co-occurrences", V, len(counts))
    epoch_step = kernels().glove_epoch
    generator = torch.Generator().manual_seed(config.seed)
    W, W_ctx = ((torch.rand(V, E, generator=generator) - 0.5) / E for _ in range(2))
    b, b_ctx = ((torch.rand(V, generator=generator) - 0.5) / E for _ in range(2))
    params = [W, W_ctx, b, b_ctx]
    squares = [torch.ones_like(p) for p in params]  # AdaGrad's G, starting at 1 as in glove.c
    losses = []
    for epoch in range(config.epochs):
        order = torch.randperm(len(counts), generator=generator)
        total = epoch_step(*params, *squares, rows, cols, counts, order, config.batch_size, config.lr,
                           config.x_max, config.alpha)
        losses.append(total / len(counts))
        log.info("glove epoch %d: mean loss %.4f", epoch + 1, losses[-1])
        if on_progress is not None:
            on_progress((epoch + 1) / config.epochs, {"epoch": epoch, "loss": losses[-1]})
    return EmbeddingResult(KeyedVectors(vocab.words, W + W_ctx), losses, len(counts) * config.epochs,
                           time.perf_counter() - start, asdict(config))
