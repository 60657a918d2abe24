"""Metrics: accuracy, F1, perplexity, bits per character, BLEU (sacrebleu), forecast errors."""

from seqlab.metrics.classification import accuracy, confusion_matrix, f1_score
from seqlab.metrics.language import bits_per_char, perplexity
from seqlab.metrics.translation import bleu

__all__ = ["accuracy", "bits_per_char", "bleu", "confusion_matrix", "f1_score", "perplexity"]
