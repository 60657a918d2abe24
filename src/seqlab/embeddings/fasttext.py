"""FastText (Bojanowski et al., 2017): skip-gram over words and their hashed character n-grams.

A word ``w`` is ``<w>`` with boundary marks; its n-grams for n in ``min_n..max_n`` are hashed into
``bucket`` rows with fastText's 32-bit FNV-1a over UTF-8 bytes (``ft_hash``). The input vector of
``w`` is the mean of its own row and its n-gram rows,

    h_w = (v_w + sum_{g in G(w)} z_g) / (1 + |G(w)|)

trained by skip-gram with negative sampling (``objective.py``). A word never seen in training gets
the mean of its n-gram rows, so misspellings and rare inflections still have vectors.

Updates run in mini-batches of ``batch_size`` pairs, each computed from the parameters before the
batch (fastText and gensim update after every pair, on lock-free threads); the compiled loop of
``_kernels.py`` and its PyTorch fallback compute the same update (see ``word2vec.py``).

Note:
    Like fastText, every input row of a word moves by the whole ``-lr dL/dh`` (the exact gradient
    of the mean is ``dL/dh / (1 + |G(w)|)``: ``exact_mean_gradient=True``). The default
    ``bucket`` is 200,000 rows (fastText uses 2,000,000: 800 MB of float32 at E = 100). The word2vec
    and GloVe file formats hold the word vectors only: saved that way, unseen words lose their vectors.

Example:
    >>> char_ngrams("where", 3, 3)
    ['<wh', 'whe', 'her', 'ere', 're>']
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from seqlab.checks import finite_float, integer, non_negative_float, positive_float
from seqlab.embeddings.corpus import Vocabulary, build_vocabulary, check_pairs
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.embeddings.objective import Bags, hidden
from seqlab.embeddings.word2vec import (
    EmbeddingResult,
    OutputLayer,
    ProgressCallback,
    keep_probabilities,
    no_pairs_after_subsampling,
    skipgram_pairs,
    subsample,
)

log = logging.getLogger(__name__)

_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def char_ngrams(word: str, min_n: int, max_n: int) -> list[str]:
    """The character n-grams of ``<word>`` for n in min_n..max_n, shortest first, left to right."""
    marked = f"<{word}>"
    return [marked[i : i + n] for n in range(min_n, min(len(marked), max_n) + 1)
            for i in range(len(marked) - n + 1)]


def ft_hash(text: str) -> int:
    """fastText's hash: FNV-1a over the UTF-8 bytes, each byte sign-extended as in C's ``int8_t``."""
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        signed = byte - 256 if byte > 127 else byte
        h = ((h ^ (signed & 0xFFFFFFFF)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def ngram_buckets(word: str, min_n: int, max_n: int, bucket: int) -> list[int]:
    """The bucket of every n-gram of ``word``, in fastText's order (by start, then length; repeats kept)."""
    marked = f"<{word}>"
    return [ft_hash(marked[i : i + n]) % bucket for i in range(len(marked))
            for n in range(min_n, max_n + 1) if i + n <= len(marked)]


@dataclass
class FastTextConfig:
    """Settings of FastText skip-gram; the defaults are gensim's, except ``bucket``."""

    vector_size: int = 100
    window: int = 5
    min_count: int = 5
    max_vocab: int | None = None
    negative: int = 5
    ns_exponent: float = 0.75
    sample: float = 1e-3
    lr: float = 0.025  # first learning rate (gensim's alpha)
    min_lr: float = 1e-4  # last learning rate (gensim's min_alpha)
    epochs: int = 5
    batch_size: int = 1024
    min_n: int = 3  # shortest n-gram
    max_n: int = 6  # longest n-gram; max_n < min_n turns n-grams off (plain skip-gram)
    bucket: int = 200_000  # rows of hashed n-gram vectors
    exact_mean_gradient: bool = False  # True: each input row gets dL/dh / (1 + |G(w)|); False: fastText's dL/dh
    seed: int = 1

    def validate(self) -> None:
        """One-line ``SeqlabError`` naming the first bad field (NaN and infinities included)."""
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size", "negative", "bucket", "min_n"):
            integer(getattr(self, name), name, low=1)
        integer(self.max_n, "max_n", low=0)
        if self.max_vocab is not None:
            integer(self.max_vocab, "max_vocab", low=2)
        integer(self.seed, "seed", low=0)
        finite_float(self.ns_exponent, "ns_exponent")
        non_negative_float(self.sample, "sample")
        positive_float(self.lr, "lr")
        non_negative_float(self.min_lr, "min_lr")


class FastTextVectors(KeyedVectors):
    """Word vectors plus n-gram vectors: ``get_vector`` builds vectors for unseen words."""

    def __init__(self, words: Sequence[str], vectors: torch.Tensor, ngram_vectors: torch.Tensor,
                 min_n: int, max_n: int):
        super().__init__(words, vectors)
        self.ngram_vectors = ngram_vectors  # (bucket, E)
        self.min_n, self.max_n = min_n, max_n

    def get_vector(self, word: str) -> torch.Tensor:
        """The vector of ``word``: its trained vector if known, else the mean of its n-gram vectors."""
        if word in self.index:
            return self.vectors[self.index[word]]
        rows = ngram_buckets(word, self.min_n, self.max_n, len(self.ngram_vectors))
        if not rows:
            raise KeyError(f"word {word!r} is unknown and has no n-grams of {self.min_n}..{self.max_n} characters")
        return self.ngram_vectors[rows].mean(0)

    def unit_vector(self, word: str) -> torch.Tensor:
        if word in self.index:
            return self.unit[self.index[word]]
        vector = self.get_vector(word)
        return vector / vector.norm().clamp_min(1e-12)


class SubwordTable:
    """Each word's input rows, flat: its own row ``w``, then ``V + bucket`` of each of its n-grams."""

    def __init__(self, words: Sequence[str], min_n: int, max_n: int, bucket: int):
        V = len(words)
        lists = [[w] + [V + b for b in ngram_buckets(word, min_n, max_n, bucket)] for w, word in enumerate(words)]
        self.lengths = torch.tensor([len(r) for r in lists])  # (V,) 1 + |G(w)|
        self.starts = torch.cumsum(self.lengths, 0) - self.lengths  # (V,) where each word's rows begin
        self.rows = torch.tensor([r for rows in lists for r in rows])  # (sum of lengths,)

    def bags(self, words: torch.Tensor, exact: bool = False) -> Bags:
        """The input rows of ``words`` (B,), weighted 1 / (1 + |G(w)|) so that h_w is their mean.

        ``exact=False`` gives each row the whole dL/dh (fastText's rule); True, the true gradient.
        """
        return Bags.from_table(self.rows, self.starts[words], self.lengths[words], exact)


def train_fasttext(sentences: Sequence[Sequence[str]], config: FastTextConfig | None = None,
                   vocab: Vocabulary | None = None, on_progress: ProgressCallback | None = None) -> EmbeddingResult:
    """Train FastText skip-gram with negative sampling; ``vectors`` is a ``FastTextVectors``."""
    config = config or FastTextConfig()
    config.validate()
    start = time.perf_counter()
    vocab = vocab or build_vocabulary(sentences, config.min_count, config.max_vocab)
    ids, sentence = vocab.encode(sentences)
    check_pairs("fasttext", sentences, vocab, sentence, config.min_count, config.window)
    generator = torch.Generator().manual_seed(config.seed)
    V, E = len(vocab), config.vector_size
    table = SubwordTable(vocab.words, config.min_n, config.max_n, config.bucket)
    W_in = (torch.rand(V + config.bucket, E, generator=generator) - 0.5) / E  # word rows, then n-gram rows
    output = OutputLayer(vocab.counts, "negative", config.negative, config.ns_exponent)
    W_out = torch.zeros(V, E)
    keep = keep_probabilities(vocab.counts, config.sample)
    losses, pairs = [], 0
    for epoch in range(config.epochs):
        kept_ids, kept_sentence = subsample(ids, sentence, keep, generator)
        centres, contexts = skipgram_pairs(kept_ids, kept_sentence, config.window, generator)
        n = len(centres)
        order = torch.randperm(n, generator=generator)
        centres, contexts = centres[order], contexts[order]  # shuffled once: batches are slices
        total = 0.0
        for done in range(0, n, config.batch_size):
            end = min(done + config.batch_size, n)
            lr = config.lr - (config.lr - config.min_lr) * (epoch + done / n) / config.epochs
            words = centres[done:end]  # h_w = the mean of table.rows[starts[w] : starts[w] + lengths[w]]
            total += output.step(W_in, W_out, table.rows, table.starts[words], table.lengths[words],
                                 config.exact_mean_gradient, contexts[done:end], lr, generator)
        pairs += n
        losses.append(total / max(n, 1))
        log.info("fasttext epoch %d: %d pairs, mean loss %.4f", epoch + 1, n, losses[-1])
        if on_progress is not None:
            on_progress((epoch + 1) / config.epochs, {"epoch": epoch, "loss": losses[-1]})
    if pairs == 0:
        raise no_pairs_after_subsampling("fasttext", len(ids), vocab, config.sample, config.epochs)
    word_vectors = hidden(W_in, table.bags(torch.arange(V)))  # (V, E): h_w, the mean of each word's rows
    vectors = FastTextVectors(vocab.words, word_vectors, W_in[V:].clone(), config.min_n, config.max_n)
    return EmbeddingResult(vectors, losses, pairs, time.perf_counter() - start, asdict(config), W_out)
