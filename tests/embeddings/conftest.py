"""A tiny corpus with two topics, so that training has something to find in a fraction of a second."""

from __future__ import annotations

import random

import pytest
import torch

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat"]
METALS = ["iron", "gold", "silver", "copper", "tin", "lead"]


def topic_corpus(sentences: int = 300, length: int = 8, seed: int = 0) -> list[list[str]]:
    """Sentences drawn from one topic each, plus shared filler words."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(sentences):
        topic = ANIMALS if rng.random() < 0.5 else METALS
        corpus.append([rng.choice(topic) if rng.random() < 0.7 else rng.choice(["the", "a", "and"])
                       for _ in range(length)])
    return corpus


def topic_margin(vectors) -> float:
    """Mean cosine within topics minus mean cosine across them."""
    within = [vectors.similarity(a, b) for group in (ANIMALS, METALS) for a in group for b in group if a < b]
    across = [vectors.similarity(a, b) for a in ANIMALS for b in METALS]
    return sum(within) / len(within) - sum(across) / len(across)


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a loaded machine OpenMP's waiting makes
    them up to 100x slower; restore the setting so that other test folders are unaffected."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", name="topic_margin")
def topic_margin_fixture():
    return topic_margin


@pytest.fixture(scope="session")
def corpus() -> list[list[str]]:
    return topic_corpus()
