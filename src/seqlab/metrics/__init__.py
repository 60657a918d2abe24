"""Metrics: accuracy, F1, entity F1, perplexity, bits per character, BLEU (sacrebleu), forecast errors."""

from seqlab.metrics.classification import accuracy, confusion_matrix, f1_score
from seqlab.metrics.language import bits_per_char, perplexity
from seqlab.metrics.tagging import bio_spans, entity_scores
from seqlab.metrics.translation import bleu

__all__ = ["accuracy", "bio_spans", "bits_per_char", "bleu", "confusion_matrix", "entity_scores", "f1_score",
           "perplexity"]
