"""Metrics against hand counts and the peers (scikit-learn's definitions, sacrebleu)."""

from __future__ import annotations

import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.metrics import accuracy, bits_per_char, bleu, confusion_matrix, f1_score, perplexity


def test_accuracy_and_binary_f1_by_hand():
    predicted, actual = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]  # TP 2, FP 1, FN 1 for class 1
    assert accuracy(predicted, actual) == pytest.approx(0.6)
    assert f1_score(predicted, actual, positive=1) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert confusion_matrix(predicted, actual, 2).tolist() == [[1, 1], [1, 2]]


def test_macro_f1_matches_the_mean_of_per_class_scores():
    torch.manual_seed(0)
    p, y = torch.randint(3, (200,)), torch.randint(3, (200,))
    per_class = [f1_score(p, y, positive=k) for k in range(3)]
    assert f1_score(p, y) == pytest.approx(sum(per_class) / 3)
    # each class by its precision and recall
    for k in range(3):
        tp = ((p == k) & (y == k)).sum().item()
        precision, recall = tp / (p == k).sum().item(), tp / (y == k).sum().item()
        assert per_class[k] == pytest.approx(2 * precision * recall / (precision + recall))


def test_mismatched_or_empty_inputs_are_refused():
    with pytest.raises(SeqlabError, match="same number of ids"):
        accuracy([1, 0], [1])
    with pytest.raises(SeqlabError, match="at least one id"):
        accuracy([], [])


def test_perplexity_and_bits_per_char():
    assert perplexity(math.log(65)) == pytest.approx(65)
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    # 2 nats per token at 4 characters per token = 0.5 nats per character
    assert bits_per_char(2.0, tokens=100, characters=400) == pytest.approx(0.5 / math.log(2))
    with pytest.raises(SeqlabError, match="both tokens and characters"):
        bits_per_char(1.0, tokens=3)


def test_bleu_is_sacrebleus():
    sacrebleu = pytest.importorskip("sacrebleu")
    hypotheses = ["the cat sat on the mat", "a dog runs in the park today"]
    references = ["the cat sat on a mat", "a dog runs in the park"]
    assert bleu(hypotheses, references) == pytest.approx(sacrebleu.corpus_bleu(hypotheses, [references]).score)
    assert bleu(references, references) == pytest.approx(100.0)
    with pytest.raises(SeqlabError, match="expected 2 sentences"):
        bleu(hypotheses, references[:1])
