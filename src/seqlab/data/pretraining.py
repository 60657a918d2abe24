"""BERT pre-training data: sentences -> packed chunks -> ``[CLS] A [SEP] (B [SEP])`` -> dynamically masked batches.

Packing (Devlin et al. 2019's ``create_pretraining_data``; RoBERTa's DOC-SENTENCES, Liu et al. 2019):
the sentences of one document are taken in order and gathered into a chunk until the next one would
overflow the budget n (``block_size`` - 2 for one segment, - 3 for a pair). With probability
``short_seq_prob`` a chunk's budget is drawn uniformly from [2, n] instead, so that the model also
sees inputs as short as fine-tuning gives it. A sentence longer than n is cut into pieces of n.

The pair tasks, drawn again every epoch from (seed, epoch) alone:

* ``nsp`` (next-sentence prediction, BERT): the chunk is cut at a sentence boundary into A and B;
  with probability 1/2, B is replaced by as many tokens taken from a sentence start drawn in another
  document (label 1, NotNext), else kept (label 0, IsNext). A negative B has the length of the B it
  replaces, so the length of B tells nothing;
* ``sop`` (sentence-order prediction, ALBERT: Lan et al. 2020): the same cut; with probability 1/2,
  A and B are swapped (label 1), else kept (label 0): both orders come from one document, so topic
  tells nothing and only coherence does;
* ``none`` (RoBERTa): one segment ``[CLS] A [SEP]``, no pair label.

A chunk of one sentence is cut inside it. Token types are 0 on ``[CLS] A [SEP]`` and 1 on ``B [SEP]``.

Masking is dynamic (RoBERTa): ``MaskedBatches`` draws new masks for every batch with
``seqlab.data.masking.mask_tokens`` (15%, 80/10/10; specials and padding never chosen), from a
generator seeded by (seed, epoch), so a resumed run draws the very masks it would have drawn, and
validation batches (never given an epoch) are masked the same way at every evaluation.

Example:
    >>> chunks = pack_sentences([[[5, 6], [7, 8, 9], [10]]], budget=5, short_seq_prob=0.0, seed=0)
    >>> [(c.document, c.first, c.stop) for c in chunks]      # sentences [0, 2) then [2, 3)
    [(0, 0, 2), (0, 2, 3)]
    >>> data = SentencePairs(chunks, [[[5, 6], [7, 8, 9], [10]]], cls_id=2, sep_id=3, pair_task="none")
    >>> data[0][0].tolist(), data[0][1].tolist()
    ([2, 5, 6, 7, 8, 9, 3], [0, 0, 0, 0, 0, 0, 0])
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import torch

from seqlab.data.batching import IGNORE_INDEX, pad_sequences
from seqlab.data.masking import mask_tokens
from seqlab.errors import SeqlabError

PAIR_TASKS = ("none", "nsp", "sop")
IS_NEXT, NOT_NEXT = 0, 1  # nsp labels (BERT's and Hugging Face's convention); sop: 0 in order, 1 swapped


class Chunk(NamedTuple):
    """Sentences ``first`` to ``stop - 1`` of document ``document``: one pre-training example."""

    document: int
    first: int
    stop: int


def pack_sentences(documents: Sequence[Sequence[Sequence[int]]], budget: int, short_seq_prob: float = 0.1,
                   seed: int = 0, min_tokens: int = 1) -> list[Chunk]:
    """Group each document's consecutive sentences into chunks of at most ``budget`` tokens.

    Args:
        documents: per document, its sentences as lists of token ids (none longer than ``budget``:
            see ``cut_sentences``).
        budget: n, the most tokens of a chunk.
        short_seq_prob: the chance that a chunk's target is drawn from U{2..n} instead of n.
        seed: seeds the draws of short targets.
        min_tokens: chunks with fewer tokens are dropped (a pair needs 2).
    """
    if budget < 2:
        raise SeqlabError(f"budget: expected at least 2 tokens per chunk, got {budget}")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise SeqlabError(f"short_seq_prob: expected a probability in [0, 1], got {short_seq_prob}")
    rng = random.Random(seed)

    def target() -> int:
        return rng.randint(2, budget) if rng.random() < short_seq_prob else budget

    chunks = []
    for d, sentences in enumerate(documents):
        first, length, goal = 0, 0, target()
        for i, sentence in enumerate(sentences):
            if len(sentence) > budget:
                raise SeqlabError(f"documents[{d}] sentence {i}: {len(sentence)} tokens, more than the budget "
                                  f"{budget}; cut it first (cut_sentences)")
            if i > first and length + len(sentence) > goal:
                if length >= min_tokens:
                    chunks.append(Chunk(d, first, i))
                first, length, goal = i, 0, target()
            length += len(sentence)
        if len(sentences) > first and length >= min_tokens:
            chunks.append(Chunk(d, first, len(sentences)))
    return chunks


def cut_sentences(sentences: Iterable[Sequence[int]], budget: int) -> list[list[int]]:
    """Sentences as they are, the longer ones cut into pieces of ``budget`` tokens; empty ones dropped."""
    pieces = []
    for sentence in sentences:
        sentence = list(sentence)
        pieces += [sentence[i:i + budget] for i in range(0, len(sentence), budget)]
    return pieces


class SentencePairs(torch.utils.data.Dataset):
    """Chunks as model inputs: ``(ids (T,), token types (T,), pair label ())``, pairs re-drawn by ``set_epoch``.

    Args:
        chunks: from ``pack_sentences``.
        documents: the sentences (token ids) the chunks index.
        cls_id, sep_id: the ids of ``[CLS]`` and ``[SEP]``.
        pair_task: ``none``, ``nsp`` or ``sop`` (see the module docstring); without one the label is -100.
        seed: with the epoch, seeds the cuts, the swaps and the random B of every chunk.
    """

    def __init__(self, chunks: Sequence[Chunk], documents: Sequence[Sequence[Sequence[int]]], cls_id: int,
                 sep_id: int, pair_task: str = "none", seed: int = 0):
        if pair_task not in PAIR_TASKS:
            raise SeqlabError(f"pair_task: expected one of {', '.join(PAIR_TASKS)}, got {pair_task!r}")
        if not chunks:
            raise SeqlabError("chunks: expected at least one chunk of text, got none")
        self.chunks, self.cls_id, self.sep_id = list(chunks), cls_id, sep_id
        self.pair_task, self.seed = pair_task, seed
        # each document as one stream of ids, and where each of its sentences starts in it
        self.streams = [torch.tensor([i for s in sentences for i in s], dtype=torch.long) for sentences in documents]
        self.bounds = []
        for sentences in documents:
            bounds = [0]
            for sentence in sentences:
                bounds.append(bounds[-1] + len(sentence))
            self.bounds.append(bounds)
        for c in self.chunks:
            if c.document >= len(documents) or not 0 <= c.first < c.stop <= len(documents[c.document]):
                raise SeqlabError(f"chunks: {c} does not index the given documents")
            if pair_task != "none" and self._span(c)[1] - self._span(c)[0] < 2:
                raise SeqlabError(f"chunks: {c} has fewer than the 2 tokens a pair needs")
        self.draws = torch.empty(0)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw the cut, the coin and the random document and sentence of every chunk for ``epoch``."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        self.draws = torch.rand(len(self.chunks), 4, generator=generator, dtype=torch.float64)

    def __len__(self) -> int:
        return len(self.chunks)

    def _span(self, chunk: Chunk) -> tuple[int, int]:
        bounds = self.bounds[chunk.document]
        return bounds[chunk.first], bounds[chunk.stop]

    def segments(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None, int]:
        """Segment A, segment B (None without a pair task) and the pair label of chunk ``index``."""
        chunk = self.chunks[index]
        stream, bounds = self.streams[chunk.document], self.bounds[chunk.document]
        start, stop = self._span(chunk)
        if self.pair_task == "none":
            return stream[start:stop], None, IGNORE_INDEX
        u_cut, u_coin, u_document, u_sentence = self.draws[index].tolist()
        sentences = chunk.stop - chunk.first
        if sentences >= 2:  # at a sentence boundary: A keeps 1 .. k-1 sentences
            cut = bounds[chunk.first + 1 + int(u_cut * (sentences - 1))]
        else:  # one sentence: inside it, both parts non-empty
            cut = start + 1 + int(u_cut * (stop - start - 1))
        a, b = stream[start:cut], stream[cut:stop]
        flipped = u_coin < 0.5
        if self.pair_task == "sop":
            return (b, a, 1) if flipped else (a, b, 0)
        if flipped:
            b = self._random_segment(chunk.document, len(b), u_document, u_sentence)
        return a, b, NOT_NEXT if flipped else IS_NEXT

    def _random_segment(self, document: int, length: int, u_document: float, u_sentence: float) -> torch.Tensor:
        """``length`` tokens from a sentence start in another document (the same one when there is only one)."""
        others = len(self.streams) - 1
        if others > 0:
            other = int(u_document * others)
            other += other >= document  # skip the chunk's own document
        else:
            other = document
        stream, bounds = self.streams[other], self.bounds[other]
        start = bounds[int(u_sentence * (len(bounds) - 1))]
        start = max(0, min(start, len(stream) - length))  # near the end: move back so that length tokens fit
        return stream[start:start + length]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        a, b, label = self.segments(index)
        cls, sep = torch.tensor([self.cls_id]), torch.tensor([self.sep_id])
        first = torch.cat([cls, a, sep])  # [CLS] A [SEP]
        if b is None:
            return first, torch.zeros_like(first), label
        second = torch.cat([b, sep])  # B [SEP]
        types = torch.cat([torch.zeros_like(first), torch.ones_like(second)])
        return torch.cat([first, second]), types, label


@dataclass
class PretrainingBatch:
    """A padded, masked pre-training batch (B examples, T the longest).

    Attributes:
        inputs: (B, T) ids after masking, padded with the pad id.
        lengths: (B,) real tokens per row. is_pad: (B, T) True at padding.
        token_type_ids: (B, T) segment of each position (0: A, 1: B; 0 on padding).
        labels: (B, T) the original id at the masked positions, -100 elsewhere.
        pair_labels: (B,) the pair task's labels, or None without a pair task.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    is_pad: torch.Tensor
    token_type_ids: torch.Tensor
    labels: torch.Tensor
    pair_labels: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: torch.device | str) -> PretrainingBatch:
        """A copy with every tensor on ``device``."""
        return PretrainingBatch(**{f.name: (v.to(device) if isinstance(v := getattr(self, f.name), torch.Tensor)
                                            else v) for f in fields(self)})


def collate_pretraining(examples: Sequence[tuple[torch.Tensor, torch.Tensor, int]], pad_id: int = 0
                        ) -> PretrainingBatch:
    """``SentencePairs`` items -> an unmasked ``PretrainingBatch`` (labels all -100; ``MaskedBatches`` masks it)."""
    inputs, lengths, is_pad = pad_sequences([ids for ids, _, _ in examples], pad_id)
    types, _, _ = pad_sequences([t for _, t, _ in examples], 0)
    pair = [label for _, _, label in examples]
    pair_labels = None if all(label == IGNORE_INDEX for label in pair) else torch.tensor(pair, dtype=torch.long)
    return PretrainingBatch(inputs, lengths, is_pad, types, torch.full_like(inputs, IGNORE_INDEX), pair_labels)


class MaskedBatches:
    """The batches of a loader of ``PretrainingBatch``, masked anew for every batch, reproducibly.

    The masks of epoch e come from a generator seeded by (seed, e): a resumed run draws them again
    exactly, and a loader that is never given an epoch (validation) is masked the same way each time.

    Args:
        loader: re-iterable unmasked batches (a ``DataLoader`` with ``collate_pretraining``).
        vocab_size, mask_id: the random replacements' range and the ``[MASK]`` id.
        special_ids: ids never masked (``[CLS]``, ``[SEP]``, ``[PAD]``, ...).
        mlm_probability: the share of maskable positions chosen (0.15).
        seed: with the epoch, seeds the masks.
    """

    def __init__(self, loader: Iterable[PretrainingBatch], vocab_size: int, mask_id: int,
                 special_ids: Sequence[int] = (), mlm_probability: float = 0.15, seed: int = 0):
        self.loader, self.vocab_size, self.mask_id = loader, vocab_size, mask_id
        self.special_ids, self.mlm_probability, self.seed = tuple(special_ids), mlm_probability, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """New masks, and the loader's own order and pairs (its sampler's and dataset's ``set_epoch``)."""
        self.epoch = epoch
        for owner in (getattr(self.loader, "sampler", None), getattr(self.loader, "batch_sampler", None),
                      getattr(self.loader, "dataset", None)):
            if owner is not None and hasattr(owner, "set_epoch"):
                owner.set_epoch(epoch)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[PretrainingBatch]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        for batch in self.loader:
            inputs, labels = mask_tokens(batch.inputs, self.vocab_size, self.mask_id, self.special_ids,
                                         self.mlm_probability, is_real=~batch.is_pad, generator=generator)
            yield PretrainingBatch(inputs, batch.lengths, batch.is_pad, batch.token_type_ids, labels,
                                   batch.pair_labels)


__all__ = ["IS_NEXT", "NOT_NEXT", "PAIR_TASKS", "Chunk", "MaskedBatches", "PretrainingBatch", "SentencePairs",
           "collate_pretraining", "cut_sentences", "pack_sentences"]
