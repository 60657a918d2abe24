"""The curriculum's model-size table: published parameter counts against the models seqlab builds.

Each row builds the published configuration with seqlab's own classes on PyTorch's ``meta``
device (shapes without memory, so BERT-base costs nothing to build) and counts its distinct
parameters: a tied matrix counts once, as in the papers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from seqlab.models.bert import BertConfig, BertModel
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.t5 import T5, T5Config
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.nn import GRU, LSTM

TOLERANCE = 0.01  # the table claims agreement within 1%


@dataclass(frozen=True)
class PublishedSize:
    """One published model: how to build it and what its authors reported."""

    name: str
    config: str  # the configuration in the paper's own symbols
    published: int  # parameters as published (rounded as published)
    source: str  # where the number comes from
    build: Callable[[], nn.Module]
    note: str = ""


@dataclass(frozen=True)
class SizeRow:
    name: str
    config: str
    published: int
    built: int
    source: str
    note: str

    @property
    def deviation(self) -> float:
        """(built - published) / published."""
        return (self.built - self.published) / self.published

    @property
    def within_tolerance(self) -> bool:
        return abs(self.deviation) <= TOLERANCE


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters: a matrix shared by two layers (weight tying) counts once."""
    return sum(p.numel() for p in model.parameters())  # parameters() already skips duplicates


PUBLISHED: tuple[PublishedSize, ...] = (
    PublishedSize(
        "Transformer base", "N=6, d_model=512, d_ff=2048, h=8, shared BPE vocabulary V=37000, tied embeddings",
        65_000_000, "Vaswani et al. 2017, Table 3 (65 x 10^6); V from section 5.1",
        lambda: TransformerSeq2Seq(37000, 37000, 512, 8, 6, 6, 2048, share_embeddings=True, tie_output=True),
        "the paper gives V only as 'about 37000'; 65M would need V = 40,700 with everything else as stated"),
    PublishedSize(
        "BERT-base", "L=12, H=768, A=12, V=30522 WordPiece, 512 positions, 2 segments, with pooler",
        110_000_000, "Devlin et al. 2019, section 3 (110M)",
        lambda: BertModel(BertConfig())),
    PublishedSize(
        "GPT-2 small", "L=12, d=768, h=12, V=50257 byte-level BPE, 1024 positions, tied output",
        124_000_000, "OpenAI gpt-2 release, model '124M' (Radford et al. 2019, Table 2, first reported 117M)",
        lambda: GPT(GPTConfig()),
        "OpenAI later renamed its checkpoints to their actual sizes (117M -> 124M)"),
    PublishedSize(
        "T5-small", "6+6 blocks, d_model=512, d_ff=2048, 8 heads of 64, V=32128, relative position bias, tied",
        60_000_000, "Raffel et al. 2020, section 3.7 ('about 60 million parameters')",
        lambda: T5(T5Config.small())),
    PublishedSize(
        "T5-base", "12+12 blocks, d_model=768, d_ff=3072, 12 heads of 64, V=32128, relative position bias, tied",
        220_000_000, "Raffel et al. 2020, section 3.7 ('about 220 million parameters')",
        lambda: T5(T5Config.base()),
        "the released t5-base checkpoint has this count too (223M); the paper rounds it to 220M"),
    PublishedSize(
        "LSTM", "1 layer, 352 inputs, 352 units, PyTorch's two bias vectors",
        1_000_000, "curriculum table (~1M); 4 gate blocks of H(I + H) + 2H",
        lambda: LSTM(352, 352),
        "size chosen to give ~1M; the GRU of the same size has 3/4 of it (3 gate blocks)"),
    PublishedSize(
        "GRU", "1 layer, 352 inputs, 352 units, PyTorch's two bias vectors",
        750_000, "curriculum table (~0.75M); 3 gate blocks of H(I + H) + 2H",
        lambda: GRU(352, 352)),
)


def model_sizes(entries: tuple[PublishedSize, ...] = PUBLISHED) -> list[SizeRow]:
    """Build every entry on the meta device and compare its count with the published one."""
    rows = []
    for entry in entries:
        with torch.device("meta"):
            model = entry.build()
        rows.append(SizeRow(entry.name, entry.config, entry.published, count_parameters(model), entry.source,
                            entry.note))
    return rows
