"""From ids to batches: datasets, collation, samplers, and the bundled and shared corpora.

The trip: ``ids -> Dataset -> BucketBatchSampler -> collate_* -> Batch``.

Example:
    >>> from functools import partial
    >>> from torch.utils.data import DataLoader
    >>> data = ClassificationData([[4, 5, 6], [7], [8, 9]], [1, 0, 1])
    >>> loader = DataLoader(data, batch_sampler=BucketBatchSampler(data.lengths(), batch_size=2, seed=0),
    ...                     collate_fn=partial(collate_classification, pad_id=0))
    >>> sorted(len(batch) for batch in loader)
    [1, 2]
"""

from seqlab.data.batching import (
    IGNORE_INDEX,
    Batch,
    collate_classification,
    collate_language_model,
    collate_parallel,
    collate_tagging,
    pack,
    pad_sequences,
    unpad,
)
from seqlab.data.corpora import bundled_path, data_dir, load_tiny_shakespeare, split_fraction
from seqlab.data.datasets import ClassificationData, LanguageModelData, ParallelData, TaggingData
from seqlab.data.download import SOURCES, download
from seqlab.data.loaders import (
    POLARITY_LABELS,
    TaggedSentence,
    dataset_file,
    format_conll,
    gutenberg_files,
    load_airline,
    load_fra_eng,
    load_gutenberg,
    load_sentence_polarity,
    load_timemachine,
    load_tiny_shakespeare_file,
    load_wnut17,
    normalize_french_spaces,
    parse_conll,
    parse_parallel,
)
from seqlab.data.samplers import BucketBatchSampler, padding_fraction

__all__ = [
    "IGNORE_INDEX",
    "POLARITY_LABELS",
    "SOURCES",
    "Batch",
    "BucketBatchSampler",
    "ClassificationData",
    "LanguageModelData",
    "ParallelData",
    "TaggedSentence",
    "TaggingData",
    "bundled_path",
    "collate_classification",
    "collate_language_model",
    "collate_parallel",
    "collate_tagging",
    "data_dir",
    "dataset_file",
    "download",
    "format_conll",
    "gutenberg_files",
    "load_airline",
    "load_fra_eng",
    "load_gutenberg",
    "load_sentence_polarity",
    "load_timemachine",
    "load_tiny_shakespeare",
    "load_tiny_shakespeare_file",
    "load_wnut17",
    "normalize_french_spaces",
    "pack",
    "pad_sequences",
    "padding_fraction",
    "parse_conll",
    "parse_parallel",
    "split_fraction",
    "unpad",
]
