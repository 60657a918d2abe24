"""Temperature, top-k and top-p sampling."""

import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.generation.sampling import filter_logits, sample_next


def test_top_k_keeps_the_k_largest_and_does_not_mutate():
    logits = torch.tensor([[1.0, 4.0, 3.0, 2.0]])
    filtered = filter_logits(logits, top_k=2)
    assert torch.equal(torch.isfinite(filtered), torch.tensor([[False, True, True, False]]))
    assert torch.equal(logits, torch.tensor([[1.0, 4.0, 3.0, 2.0]]))


def test_top_p_keeps_the_smallest_set_reaching_p():
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    kept = torch.isfinite(filter_logits(probs.log(), top_p=0.8))
    assert kept.tolist() == [[True, True, False, False]]  # 0.5 + 0.3 reaches 0.8
    kept = torch.isfinite(filter_logits(probs.log(), top_p=0.81))
    assert kept.tolist() == [[True, True, True, False]]
    assert torch.isfinite(filter_logits(probs.log(), top_p=0.1)).sum() == 1  # the top token always stays


def test_sampling_frequencies_follow_the_tempered_distribution():
    logits = torch.tensor([[0.0, math.log(3.0)]]).repeat(20000, 1)
    g = torch.Generator().manual_seed(0)
    draws = sample_next(logits, temperature=1.0, generator=g)
    assert draws.shape == (20000, 1)
    assert abs(draws.float().mean().item() - 0.75) < 0.015
    draws = sample_next(logits, temperature=2.0, generator=g)  # p = sqrt(3) / (1 + sqrt(3))
    assert abs(draws.float().mean().item() - math.sqrt(3) / (1 + math.sqrt(3))) < 0.015
    assert sample_next(logits[:3], temperature=0).flatten().tolist() == [1, 1, 1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(top_k=0), "top_k: expected a positive integer"),
    (dict(top_p=1.5), r"top_p: expected a probability in \(0, 1\]"),
    (dict(temperature=-1.0), "temperature: expected a value >= 0"),
])
def test_bad_sampling_options(kwargs, message):
    with pytest.raises(SeqlabError, match=message):
        sample_next(torch.zeros(1, 3), **kwargs)
