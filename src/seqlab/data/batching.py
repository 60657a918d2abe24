"""From examples to a ``Batch``: padding to the longest with lengths and an ``is_pad`` mask, or packing.

A ``Batch`` is what tasks unpack; models take its tensors (``model(batch.inputs, batch.lengths)``).
Every collate function pads on the right, to the longest sequence of the batch:

    inputs[b, t] = x_b[t]   for t <  lengths[b]
                 = pad_id   for t >= lengths[b]          is_pad[b, t] = (t >= lengths[b])

Targets that are scored per position (tags, shifted tokens) are padded with ``IGNORE_INDEX``
(-100, ``torch.nn.functional.cross_entropy``'s default ``ignore_index``), so padding never counts
in a loss.

Use ``functools.partial`` to fix a pad id:
    >>> from functools import partial
    >>> collate = partial(collate_classification, pad_id=0)
    >>> batch = collate([(torch.tensor([4, 5, 6]), torch.tensor(1)), (torch.tensor([7]), torch.tensor(0))])
    >>> batch.inputs.tolist(), batch.lengths.tolist(), batch.is_pad.tolist()
    ([[4, 5, 6], [7, 0, 0]], [3, 1], [[False, False, False], [False, True, True]])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence

from seqlab.errors import SeqlabError

IGNORE_INDEX = -100  # cross_entropy's default ignore_index: padded targets never count


@dataclass
class Batch:
    """A padded batch (B examples, T the longest length).

    Attributes:
        inputs: (B, T) long, input ids padded with the pad id (or (B, T, F) features).
        lengths: (B,) long, the true length of each row.
        is_pad: (B, T) bool, True where ``inputs`` is padding.
        targets: what is predicted: (B,) class ids, (B, T) per-position ids padded with
            ``IGNORE_INDEX``, or (B, T') target ids of a parallel batch padded with the pad id.
        target_lengths: (B,) lengths of the targets of a parallel batch, else None.
        target_is_pad: (B, T') bool mask of the targets of a parallel batch, else None.
    """

    inputs: torch.Tensor
    lengths: torch.Tensor
    is_pad: torch.Tensor
    targets: torch.Tensor | None = None
    target_lengths: torch.Tensor | None = None
    target_is_pad: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def to(self, device: torch.device | str) -> Batch:
        """A copy with every tensor on ``device``."""
        moved = {f.name: getattr(self, f.name) for f in fields(self)}
        return Batch(**{k: (v.to(device) if isinstance(v, torch.Tensor) else v) for k, v in moved.items()})

    @property
    def can_attend(self) -> torch.Tensor:
        """(B, T) bool, True at real tokens: ``~is_pad``, the convention of ``scaled_dot_product_attention``."""
        return ~self.is_pad

    def pack(self, embedded: torch.Tensor | None = None) -> PackedSequence:
        """Pack ``embedded`` (B, T, *) (default: ``inputs``) by ``lengths`` for a recurrent layer."""
        return pack(self.inputs if embedded is None else embedded, self.lengths)


def pad_sequences(
    sequences: Sequence[torch.Tensor], pad_id: int | float = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad 1-D (T_b,) or 2-D (T_b, F) tensors to the longest.

    Returns:
        padded (B, T[, F]), lengths (B,) long, is_pad (B, T) bool with ``T = max(T_b)``.
    """
    if len(sequences) == 0:
        raise SeqlabError("sequences: expected at least one sequence to pad, got none")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)  # (B,)
    T = int(lengths.max())
    first = sequences[0]
    padded = first.new_full((len(sequences), T, *first.shape[1:]), pad_id)  # (B, T[, F])
    for b, sequence in enumerate(sequences):
        padded[b, : len(sequence)] = sequence
    is_pad = torch.arange(T)[None, :] >= lengths[:, None]  # (B, T)
    return padded, lengths, is_pad


def unpad(padded: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
    """The inverse of ``pad_sequences``: row ``b`` cut to ``lengths[b]``."""
    return [padded[b, : int(n)] for b, n in enumerate(lengths)]


def pack(padded: torch.Tensor, lengths: torch.Tensor) -> PackedSequence:
    """A batch-first padded tensor (B, T, *) as a ``PackedSequence`` (any order of lengths)."""
    if (lengths < 1).any():
        raise SeqlabError(f"lengths: packing needs every length >= 1, got {lengths.tolist()}")
    return pack_padded_sequence(padded, lengths.cpu(), batch_first=True, enforce_sorted=False)


def collate_classification(examples: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_id: int = 0) -> Batch:
    """(ids, label) pairs -> Batch with inputs (B, T) and targets (B,)."""
    inputs, lengths, is_pad = pad_sequences([x for x, _ in examples], pad_id)
    targets = torch.stack([torch.as_tensor(y, dtype=torch.long) for _, y in examples])  # (B,)
    return Batch(inputs, lengths, is_pad, targets)


def collate_tagging(
    examples: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_id: int = 0, tag_pad_id: int = IGNORE_INDEX
) -> Batch:
    """(ids, tags) pairs of equal lengths -> Batch with inputs and targets (B, T)."""
    inputs, lengths, is_pad = pad_sequences([x for x, _ in examples], pad_id)
    targets, tag_lengths, _ = pad_sequences([y for _, y in examples], tag_pad_id)
    if not torch.equal(lengths, tag_lengths):
        raise SeqlabError(f"tags: expected one tag per token, got lengths {tag_lengths.tolist()} "
                          f"for {lengths.tolist()}")
    return Batch(inputs, lengths, is_pad, targets)


def collate_language_model(examples: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_id: int = 0) -> Batch:
    """(inputs, targets) blocks -> Batch with inputs and targets (B, T); shorter blocks are padded."""
    inputs, lengths, is_pad = pad_sequences([x for x, _ in examples], pad_id)
    targets, _, _ = pad_sequences([y for _, y in examples], IGNORE_INDEX)
    return Batch(inputs, lengths, is_pad, targets)


def collate_parallel(examples: Sequence[tuple[torch.Tensor, torch.Tensor]], pad_id: int = 0) -> Batch:
    """(source, target) pairs -> Batch with inputs (B, S), targets (B, T) and both lengths and masks."""
    inputs, lengths, is_pad = pad_sequences([s for s, _ in examples], pad_id)
    targets, target_lengths, target_is_pad = pad_sequences([t for _, t in examples], pad_id)
    return Batch(inputs, lengths, is_pad, targets, target_lengths, target_is_pad)
