"""Decoding loops: greedy, sampling, and beam search against exhaustive search on a toy model."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.generation.beam import beam_search
from seqlab.generation.decode import decode, map_state, strip
from seqlab.nn import KVCache

V, EOS = 4, 0


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def markov_step(table: torch.Tensor):
    """A toy model: the next-token log-probabilities depend only on the last token."""
    def step(tokens, state):
        return table[tokens[:, -1]], state
    return step


def exhaustive_best(table, start, max_new, alpha):
    best = None
    for n in range(1, max_new + 1):
        for seq in itertools.product(range(V), repeat=n):
            if EOS in seq[:-1] or (n < max_new and seq[-1] != EOS):
                continue  # shorter outputs must end with eos; only full-length ones may not
            prev, logp = start, 0.0
            for tok in seq:
                logp += float(table[prev, tok])
                prev = tok
            score = logp / n ** alpha
            tokens = list(seq[:-1]) if seq[-1] == EOS else list(seq)
            if best is None or score > best[0]:
                best = (score, tokens, logp)
    return best


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_exact_best_sequence(alpha):
    torch.manual_seed(3)
    table = torch.randn(V, V, dtype=torch.float64).mul(2).log_softmax(-1)
    step = markov_step(table)
    start = torch.tensor([[1], [2], [3]])
    results = beam_search(step, None, start, max_new_tokens=4, beam_size=V ** 4, eos_id=EOS, length_penalty=alpha)
    for row, result in zip(start[:, 0].tolist(), results):
        score, tokens, logp = exhaustive_best(table, row, 4, alpha)
        assert result.tokens == tokens
        assert result.score == pytest.approx(score) and result.log_prob == pytest.approx(logp)


def test_length_normalisation_changes_the_choice():
    # from token 1: eos now (p = 0.5) or the chain 2, 3, eos (p = 0.5 * 0.9 * 0.9 = 0.405 in total)
    probs = torch.full((V, V), 1e-9, dtype=torch.float64)
    probs[1, EOS], probs[1, 2], probs[2, 3], probs[2, EOS], probs[3, EOS], probs[3, 1] = 0.5, 0.5, 0.9, 0.1, 0.9, 0.1
    step = markov_step(probs.log())
    start = torch.tensor([[1]])
    raw = beam_search(step, None, start, 5, beam_size=3, eos_id=EOS, length_penalty=0.0)[0]
    mean = beam_search(step, None, start, 5, beam_size=3, eos_id=EOS, length_penalty=1.0)[0]
    assert raw.tokens == [] and raw.log_prob == pytest.approx(math.log(0.5))
    assert mean.tokens == [2, 3] and mean.score == pytest.approx(math.log(0.405) / 3)


def test_greedy_decode_follows_the_argmax_and_pads_after_eos():
    table = torch.full((V, V), -5.0)
    table[1, 2] = table[2, 3] = table[3, EOS] = 0.0
    out = decode(markov_step(table), None, torch.tensor([[1], [3]]), 6, eos_id=EOS)
    assert out.tolist() == [[1, 2, 3, EOS], [3, EOS, EOS, EOS]]  # stops when every row has ended
    assert strip(out, 1, EOS) == [[2, 3], []]


def test_sampling_is_seeded_and_respects_top_k():
    table = torch.zeros(V, V)
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    a = decode(markov_step(table), None, torch.ones(2, 1, dtype=torch.long), 20, temperature=1.0, generator=g1)
    b = decode(markov_step(table), None, torch.ones(2, 1, dtype=torch.long), 20, temperature=1.0, generator=g2)
    assert torch.equal(a, b) and len(set(a[:, 1:].flatten().tolist())) > 1
    skewed = torch.arange(V, dtype=torch.float32).expand(V, V)
    only_top = decode(markov_step(skewed), None, torch.ones(1, 1, dtype=torch.long), 30, temperature=2.0, top_k=1)
    assert only_top[0, 1:].eq(V - 1).all()


def test_map_state_reorders_nested_states_without_touching_the_input():
    cache = KVCache()
    cache.append(torch.arange(3.0).view(3, 1, 1, 1), torch.arange(3.0).view(3, 1, 1, 1))
    state = {"h": (torch.arange(3),), "caches": [cache], "none": None, "read": 4}
    flipped = map_state(state, lambda t: t.flip(0))
    assert flipped["h"][0].tolist() == [2, 1, 0] and state["h"][0].tolist() == [0, 1, 2]
    assert flipped["caches"][0].key.flatten().tolist() == [2.0, 1.0, 0.0]
    assert flipped["read"] == 4  # a plain value (tokens read so far) is the same for every row
    with pytest.raises(SeqlabError, match="cannot map"):
        map_state({"x": object()}, lambda t: t)


def test_bad_arguments_raise():
    with pytest.raises(SeqlabError, match="beam_size"):
        beam_search(markov_step(torch.zeros(V, V)), None, torch.ones(1, 1, dtype=torch.long), 3, beam_size=0)
    with pytest.raises(SeqlabError, match="start"):
        decode(markov_step(torch.zeros(V, V)), None, torch.ones(3, dtype=torch.long), 3)
