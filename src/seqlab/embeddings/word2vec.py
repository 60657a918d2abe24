"""Word2Vec (Mikolov et al., 2013): skip-gram and CBOW, with negative sampling or hierarchical softmax.

Skip-gram predicts each context word ``o`` within the window of a centre word ``c`` from ``v_c``;
CBOW predicts the centre from the mean ``h`` of its context vectors. With negative sampling (NS)
the loss of one prediction of word ``o`` from ``h`` is

    L = -log sigma(u_o . h) - sum_{i=1..k} log sigma(-u_{n_i} . h),   n_i ~ P_n(w) ∝ count(w)^0.75

and with hierarchical softmax (HS) it is ``-log p(o | h)`` along o's Huffman path (``huffman.py``).
Before each epoch, every occurrence of word ``w`` is kept with probability (word2vec.c's formula)

    p_keep(w) = (sqrt(f_w / (t N)) + 1) (t N) / f_w,    f_w: count of w, N: all counts, t = ``sample``

and each kept centre draws its own window ``b ~ U{1..window}`` (closer words count more often).
The learning rate falls linearly from ``lr`` to ``min_lr`` over all epochs. Updates are the
closed-form gradients of ``objective.py``, run by a compiled loop (``_kernels.py``) or, without a
compiler, by the same step in PyTorch; both give the same vectors for the same seed, up to rounding.

Update order (mini-batch, not per example):
    the examples of an epoch are shuffled once and cut into batches of ``batch_size`` predictions;
    every gradient of a batch is computed from the parameters as they were before the batch, then
    the output rows move (in example order, repeated rows summed), then the input rows.
    word2vec.c, fastText and gensim instead update after every (centre, context) pair, in corpus
    order, on several threads without locks (Hogwild); ``batch_size=1`` gives their per-example
    rule (in shuffled order). The compiled loop runs on one thread.

Note:
    Departures from word2vec.c / gensim besides the update order: skip-gram uses the centre's
    vector as input and predicts the context word (word2vec.c swaps the roles, which yields the
    same pairs over an epoch). CBOW follows word2vec.c and gensim in adding the whole
    ``-lr dL/dh`` to every context word; the exact gradient of the mean, ``dL/dh / |context|``, is
    ``exact_mean_gradient=True``. ``epoch_losses`` is the mean loss per prediction of each epoch,
    accumulated in float64 and reset every epoch (gensim's ``get_latest_training_loss`` is a
    float32 running sum across epochs: gensim issue 2735). Sigmoids and losses are exact, not
    word2vec.c's table of 1,000 values over [-6, 6].

Example:
    >>> sentences = [["the", "cat", "sat", "on", "the", "mat"]] * 50
    >>> result = train_word2vec(sentences, Word2VecConfig(vector_size=8, min_count=1, epochs=2))
    >>> result.vectors["cat"].shape
    torch.Size([8])
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import torch

from seqlab.checks import choice, finite_float, integer, non_negative_float, positive_float
from seqlab.embeddings._kernels import alias_draw, kernels
from seqlab.embeddings.corpus import Vocabulary, build_vocabulary, check_pairs
from seqlab.embeddings.huffman import huffman_paths
from seqlab.embeddings.keyed_vectors import KeyedVectors
from seqlab.errors import SeqlabError

log = logging.getLogger(__name__)

ProgressCallback = Callable[[float, dict], None]


@dataclass
class Word2VecConfig:
    """Settings of Word2Vec; the defaults are gensim's."""

    architecture: str = "skipgram"  # "skipgram" or "cbow"
    loss: str = "negative"  # "negative" (sampling) or "hierarchical" (softmax)
    vector_size: int = 100  # E
    window: int = 5  # largest distance; each centre draws its own window in 1..window
    min_count: int = 5  # rarer words are dropped before training
    max_vocab: int | None = None  # keep only the most frequent words
    negative: int = 5  # k noise words per prediction
    ns_exponent: float = 0.75  # noise distribution ∝ count^ns_exponent
    sample: float = 1e-3  # subsampling threshold t; 0 keeps every word
    lr: float | None = None  # first learning rate (gensim's alpha); None: 0.025 skip-gram, 0.05 CBOW
    min_lr: float = 1e-4  # last learning rate (gensim's min_alpha)
    epochs: int = 5
    batch_size: int = 1024  # predictions per SGD step; 1 updates after every prediction, as word2vec.c
    exact_mean_gradient: bool = False  # CBOW: True gives each context row dL/dh / |context|; False, word2vec.c's dL/dh
    seed: int = 1

    def validate(self) -> None:
        """One-line ``SeqlabError`` naming the first bad field (NaN and infinities included)."""
        choice(self.architecture, "architecture", ("skipgram", "cbow"))
        choice(self.loss, "loss", ("negative", "hierarchical"))
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size"):
            integer(getattr(self, name), name, low=1)
        if self.max_vocab is not None:
            integer(self.max_vocab, "max_vocab", low=2)
        integer(self.negative, "negative", low=1 if self.loss == "negative" else 0)
        integer(self.seed, "seed", low=0)
        finite_float(self.ns_exponent, "ns_exponent")
        non_negative_float(self.sample, "sample")
        if self.lr is not None:
            positive_float(self.lr, "lr")
        non_negative_float(self.min_lr, "min_lr")

    @property
    def first_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return 0.025 if self.architecture == "skipgram" else 0.05


@dataclass
class EmbeddingResult:
    """What a trainer returns."""

    vectors: KeyedVectors
    epoch_losses: list[float]  # mean loss per prediction, per epoch
    pairs: int  # (centre, context) pairs trained on, over all epochs
    seconds: float
    config: dict = field(default_factory=dict)
    output_weights: torch.Tensor | None = None  # W_out (V, E) or (V-1, E) for HS


def keep_probabilities(counts: torch.Tensor, sample: float) -> torch.Tensor:
    """word2vec.c's subsampling: p_keep(w) = (sqrt(f_w / (t N)) + 1) (t N) / f_w, at most 1."""
    if sample <= 0:
        return torch.ones(len(counts))
    threshold = sample * counts.sum().double()
    f = counts.double()
    return ((torch.sqrt(f / threshold) + 1) * threshold / f).clamp(max=1.0).float()


def subsample(ids: torch.Tensor, sentence: torch.Tensor, keep: torch.Tensor, generator: torch.Generator
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop each occurrence of word w with probability 1 - keep[w]."""
    kept = torch.rand(len(ids), generator=generator) < keep[ids]
    return ids[kept], sentence[kept]


def skipgram_pairs(ids: torch.Tensor, sentence: torch.Tensor, window: int, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """All (centre, context) pairs with a window ``b_i ~ U{1..window}`` drawn per centre, within sentences."""
    reach = torch.randint(1, window + 1, (len(ids),), generator=generator)  # b_i
    centres, contexts = [], []
    for d in range(1, min(window, len(ids) - 1) + 1):
        same = sentence[:-d] == sentence[d:]
        forward = same & (reach[:-d] >= d)  # centre i, context i + d
        backward = same & (reach[d:] >= d)  # centre i + d, context i
        centres += [ids[:-d][forward], ids[d:][backward]]
        contexts += [ids[d:][forward], ids[:-d][backward]]
    if not centres:
        return ids[:0], ids[:0]
    return torch.cat(centres), torch.cat(contexts)


def cbow_contexts(ids: torch.Tensor, sentence: torch.Tensor, window: int, generator: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Centres with their context ids (n, 2 window) and a mask, for centres with at least one context."""
    n = len(ids)
    reach = torch.randint(1, window + 1, (n,), generator=generator)  # b_i
    position = torch.arange(n)
    offsets = [o for o in range(-window, window + 1) if o != 0]
    context = torch.zeros(n, len(offsets), dtype=torch.long)
    mask = torch.zeros(n, len(offsets), dtype=torch.bool)
    for k, offset in enumerate(offsets):
        j = position + offset
        inside = (j >= 0) & (j < n)
        j = j.clamp(0, max(n - 1, 0))
        mask[:, k] = inside & (sentence[j] == sentence) & (reach >= abs(offset))
        context[:, k] = ids[j]
    has_context = mask.any(1)
    return ids[has_context], context[has_context], mask[has_context]


class NoiseSampler:
    """Draws noise words from P_n(w) ∝ count(w)^exponent in O(1) each (Walker's alias method).

    Word ``i`` is drawn uniformly, then kept with probability ``accept[i]`` or replaced by
    ``alias[i]``; the table is built so that every word ends up with exactly its probability.
    """

    def __init__(self, counts: torch.Tensor, exponent: float):
        p = counts.double() ** exponent
        self.probabilities = p / p.sum()
        V = len(p)
        scaled = (self.probabilities * V).tolist()
        accept = [1.0] * V
        alias = list(range(V))
        small = [i for i, x in enumerate(scaled) if x < 1.0]
        large = [i for i, x in enumerate(scaled) if x >= 1.0]
        while small and large:
            s, l = small.pop(), large.pop()
            accept[s], alias[s] = scaled[s], l
            scaled[l] -= 1.0 - scaled[s]  # l gives the mass s lacks
            (small if scaled[l] < 1.0 else large).append(l)
        self.accept = torch.tensor(accept, dtype=torch.float32)
        self.alias = torch.tensor(alias, dtype=torch.long)

    def uniforms(self, shape: tuple[int, ...], generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """The random numbers behind ``shape`` draws: a column in 0..V-1 and a uniform in [0, 1) each."""
        column = torch.randint(0, len(self.accept), shape, generator=generator)
        return column, torch.rand(shape, generator=generator)

    def __call__(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        return alias_draw(*self.uniforms(shape, generator), self.accept, self.alias)


class OutputLayer:
    """The output side of a batch of words to predict: noise words (NS) or Huffman paths (HS), and the step."""

    def __init__(self, counts: torch.Tensor, loss: str, negative: int, exponent: float):
        self.loss = loss
        self.negative = negative
        if loss == "negative":
            self.noise = NoiseSampler(counts, exponent)
            self.rows = len(counts)
        else:
            self.points, self.codes, self.path_mask = huffman_paths(counts)
            self.rows = len(counts) - 1

    def __call__(self, targets: torch.Tensor, generator: torch.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """out_rows, labels, mask, each (B, M)."""
        if self.loss == "hierarchical":
            return self.points[targets], 1.0 - self.codes[targets], self.path_mask[targets]
        B = len(targets)
        noise = self.noise((B, self.negative), generator)  # (B, k)
        rows = torch.cat([targets[:, None], noise], dim=1)  # (B, 1 + k)
        labels = torch.zeros(B, 1 + self.negative)
        labels[:, 0] = 1.0
        mask = torch.ones(B, 1 + self.negative)
        mask[:, 1:] = (noise != targets[:, None]).float()  # word2vec.c skips a noise word equal to the target
        return rows, labels, mask

    def step(self, W_in: torch.Tensor, W_out: torch.Tensor, row_table: torch.Tensor, starts: torch.Tensor,
             lengths: torch.Tensor, exact: bool, targets: torch.Tensor, lr: float,
             generator: torch.Generator) -> float:
        """One SGD step on the batch predicting ``targets`` (B,) from the bags ``starts``, ``lengths`` (B,).

        Draws the batch's noise words (NS) and runs the compiled step, or its PyTorch specification.
        Returns the summed loss before the step.
        """
        kernel = kernels()
        if self.loss == "negative":
            column, uniform = self.noise.uniforms((len(targets), self.negative), generator)  # (B, k) each
            return kernel.negative_sampling_step(W_in, W_out, row_table, starts, lengths, exact, targets, column,
                                                 uniform, self.noise.accept, self.noise.alias, lr)
        rows, labels, mask = self(targets, generator)
        return kernel.sgd_step(W_in, W_out, row_table, starts, lengths, exact, rows, labels, mask, lr)


def no_pairs_after_subsampling(model: str, words: int, vocab: Vocabulary, sample: float, epochs: int) -> SeqlabError:
    """The error of a corpus whose every pair was dropped by subsampling in every epoch."""
    return SeqlabError(f"{model}: no training pairs after subsampling: {words:,} in-vocabulary words, vocabulary of "
                       f"{len(vocab):,}, sample={sample:g}, {epochs} epochs; lower sample (0 keeps every word)")


def train_word2vec(sentences: Sequence[Sequence[str]], config: Word2VecConfig | None = None,
                   vocab: Vocabulary | None = None, on_progress: ProgressCallback | None = None) -> EmbeddingResult:
    """Train Word2Vec on tokenized ``sentences`` and return the input vectors as ``KeyedVectors``.

    Raises:
        SeqlabError: a bad setting (before any work), or a corpus that yields no (centre, context) pair.
    """
    config = config or Word2VecConfig()
    config.validate()
    start = time.perf_counter()
    vocab = vocab or build_vocabulary(sentences, config.min_count, config.max_vocab)
    ids, sentence = vocab.encode(sentences)
    check_pairs("word2vec", sentences, vocab, sentence, config.min_count, config.window)
    generator = torch.Generator().manual_seed(config.seed)
    V, E = len(vocab), config.vector_size
    W_in = (torch.rand(V, E, generator=generator) - 0.5) / E  # gensim's initialisation
    output = OutputLayer(vocab.counts, config.loss, config.negative, config.ns_exponent)
    W_out = torch.zeros(output.rows, E)
    keep = keep_probabilities(vocab.counts, config.sample)
    lr0, lr1 = config.first_lr, config.min_lr
    one_row = torch.zeros(0, dtype=torch.long)  # no bag table: example b's input row is starts[b]
    losses, pairs = [], 0
    for epoch in range(config.epochs):
        kept_ids, kept_sentence = subsample(ids, sentence, keep, generator)
        # shuffle the epoch's examples once, so that every batch is a slice (views, no gathers)
        if config.architecture == "skipgram":
            starts, targets = skipgram_pairs(kept_ids, kept_sentence, config.window, generator)
            order = torch.randperm(len(targets), generator=generator)
            starts, targets = starts[order], targets[order]
            table, lengths = one_row, torch.ones(len(targets), dtype=torch.long)
            epoch_pairs = len(targets)
        else:
            targets, context, mask = cbow_contexts(kept_ids, kept_sentence, config.window, generator)
            # h = the mean of the context rows: example b's rows are table[starts[b] : starts[b] + lengths[b]];
            # shuffling the (start, length) of each example leaves the (pairs,) table in corpus order
            table, lengths = context[mask], mask.sum(1)  # (pairs,), (n,)
            starts = torch.cumsum(lengths, 0) - lengths
            order = torch.randperm(len(targets), generator=generator)
            targets, starts, lengths = targets[order], starts[order], lengths[order]
            epoch_pairs = len(table)
        n = len(targets)
        total = 0.0
        for done in range(0, n, config.batch_size):
            end = min(done + config.batch_size, n)
            lr = lr0 - (lr0 - lr1) * (epoch + done / n) / config.epochs
            total += output.step(W_in, W_out, table, starts[done:end], lengths[done:end],
                                 config.exact_mean_gradient, targets[done:end], lr, generator)
            if on_progress is not None and (done // config.batch_size) % 200 == 0:
                # the running loss: mean over this epoch's predictions so far
                on_progress((epoch + end / n) / config.epochs, {"epoch": epoch, "lr": lr, "loss": total / end})
        pairs += epoch_pairs
        losses.append(total / max(n, 1))
        log.info("word2vec epoch %d: %d predictions, mean loss %.4f", epoch + 1, n, losses[-1])
        if on_progress is not None:
            on_progress((epoch + 1) / config.epochs, {"epoch": epoch, "loss": losses[-1]})
    if pairs == 0:
        raise no_pairs_after_subsampling("word2vec", len(ids), vocab, config.sample, config.epochs)
    return EmbeddingResult(KeyedVectors(vocab.words, W_in), losses, pairs, time.perf_counter() - start,
                           asdict(config), W_out)
