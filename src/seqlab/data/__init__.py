"""From ids to batches: datasets, collation, samplers; the datasets seqlab knows and readers for users' files.

The trip: ``ids -> Dataset -> BucketBatchSampler -> collate_* -> Batch``. The datasets are listed
in ``registry`` (``DATASETS``), found by ``locate`` (a path, ``$SEQLAB_DATA_DIR``, the per-user
folder, the bundled copy), fetched by ``download`` (``seqlab data get``) and read by ``loaders``;
``readers`` reads users' text, CSV/TSV, JSON Lines and CoNLL files.

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
from seqlab.data.datasets import ClassificationData, LanguageModelData, ParallelData, RandomOffsetBlocks, TaggingData
from seqlab.data.download import download
from seqlab.data.loaders import (
    gutenberg_files,
    load_airline,
    load_fra_eng,
    load_gutenberg,
    load_sentence_polarity,
    load_timemachine,
    load_tiny_shakespeare_file,
    load_wnut17,
)
from seqlab.data.locate import Location, dataset_file, locate, user_data_dir
from seqlab.data.readers import (
    POLARITY_LABELS,
    TaggedSentence,
    format_conll,
    normalize_french_spaces,
    parse_conll,
    parse_parallel,
    read_conll_file,
    read_csv_rows,
    read_labelled_file,
    read_lines,
    read_parallel_file,
    read_polarity_folder,
)
from seqlab.data.registry import DATASETS, Dataset, get_dataset
from seqlab.data.samplers import BucketBatchSampler, padding_fraction

__all__ = [
    "DATASETS",
    "IGNORE_INDEX",
    "POLARITY_LABELS",
    "Batch",
    "BucketBatchSampler",
    "ClassificationData",
    "Dataset",
    "LanguageModelData",
    "Location",
    "ParallelData",
    "RandomOffsetBlocks",
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
    "get_dataset",
    "gutenberg_files",
    "load_airline",
    "load_fra_eng",
    "load_gutenberg",
    "load_sentence_polarity",
    "load_timemachine",
    "load_tiny_shakespeare",
    "load_tiny_shakespeare_file",
    "load_wnut17",
    "locate",
    "normalize_french_spaces",
    "pack",
    "pad_sequences",
    "padding_fraction",
    "parse_conll",
    "parse_parallel",
    "read_conll_file",
    "read_csv_rows",
    "read_labelled_file",
    "read_lines",
    "read_parallel_file",
    "read_polarity_folder",
    "split_fraction",
    "unpad",
    "user_data_dir",
]
