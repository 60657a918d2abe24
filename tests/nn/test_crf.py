"""The linear-chain CRF against brute-force enumeration of every tag sequence (float64)."""

import itertools

import pytest
import torch

from seqlab.errors import SeqlabError
from seqlab.nn.crf import CRF, bio_constraints


def _random_crf(K, allowed=None, starts=None):
    crf = CRF(K, allowed, starts).double()
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.normal_()
    return crf


def _brute_force(crf, emissions, length):
    """Scores of all K^length sequences of one example: log Z and the best path."""
    K = crf.num_tags
    e = emissions[:length].unsqueeze(0)
    paths = list(itertools.product(range(K), repeat=length))
    scores = torch.stack([crf.score(e, torch.tensor([path]))[0] for path in paths])
    return torch.logsumexp(scores, 0), list(paths[int(scores.argmax())])


@pytest.mark.parametrize("K", [1, 2, 3])
def test_forward_algorithm_and_viterbi_match_enumeration(K):
    crf = _random_crf(K)
    emissions = torch.randn(3, 4, K, dtype=torch.float64)
    lengths = [4, 2, 1]
    is_pad = torch.arange(4)[None, :] >= torch.tensor(lengths)[:, None]
    log_z = crf.log_partition(emissions, is_pad)
    decoded = crf.decode(emissions, is_pad)
    for b, n in enumerate(lengths):
        expected_z, expected_path = _brute_force(crf, emissions[b], n)
        torch.testing.assert_close(log_z[b], expected_z, rtol=1e-12, atol=1e-12)
        assert decoded[b] == expected_path


def test_nll_is_a_normalised_distribution():
    crf = _random_crf(3)
    emissions = torch.randn(1, 3, 3, dtype=torch.float64)
    total = sum(torch.exp(-crf.nll(emissions, torch.tensor([p]))) for p in itertools.product(range(3), repeat=3))
    torch.testing.assert_close(total, torch.ones(1, dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_padding_does_not_change_a_sequence():
    crf = _random_crf(3)
    emissions = torch.randn(1, 5, 3, dtype=torch.float64)
    tags = torch.tensor([[0, 2, 1, 1, 0]])
    padded_emissions = torch.cat([emissions[:, :3], torch.randn(1, 2, 3, dtype=torch.float64) * 9], 1)
    is_pad = torch.tensor([[False, False, False, True, True]])
    torch.testing.assert_close(crf.nll(padded_emissions, tags, is_pad), crf.nll(emissions[:, :3], tags[:, :3]))
    assert crf.decode(padded_emissions, is_pad) == crf.decode(emissions[:, :3])


def test_gradcheck():
    crf = _random_crf(3)
    tags = torch.tensor([[0, 1, 2], [2, 2, 0]])
    is_pad = torch.tensor([[False, False, False], [False, False, True]])

    def nll(emissions, transitions, start, end):
        params = {"transitions": transitions, "start": start, "end": end}
        return torch.func.functional_call(crf, params, (emissions, tags, is_pad)).sum()

    inputs = (torch.randn(2, 3, 3, dtype=torch.float64), crf.transitions, crf.start, crf.end)
    assert torch.autograd.gradcheck(nll, tuple(x.detach().clone().requires_grad_() for x in inputs))


def test_emission_gradient_is_marginal_minus_observed():
    """d(log Z)/d e_t(y) = p(y_t = y | x): the marginals sum to 1 at every position."""
    crf = _random_crf(4)
    emissions = torch.randn(1, 5, 4, dtype=torch.float64, requires_grad=True)
    crf.log_partition(emissions).sum().backward()
    torch.testing.assert_close(emissions.grad.sum(-1), torch.ones(1, 5, dtype=torch.float64))


def test_bio_constraints_are_respected_by_decoding():
    labels = ["O", "B-loc", "I-loc", "B-per", "I-per"]
    allowed, starts = bio_constraints(labels)
    assert not allowed[0, 2] and not allowed[3, 2] and allowed[1, 2] and allowed[2, 2] and not starts[4]
    crf = _random_crf(5, allowed, starts)
    emissions = torch.zeros(1, 3, 5, dtype=torch.float64)
    emissions[0, :, 2] = 5.0  # I-loc everywhere would score best without constraints
    path = crf.decode(emissions)[0]
    assert path[0] != 2 and all(not (b == 2 and a not in (1, 2)) for a, b in itertools.pairwise(path))
    _, brute = _brute_force(crf, emissions[0], 3)
    assert path == brute


def test_bad_shapes_raise():
    crf = CRF(3)
    with pytest.raises(SeqlabError, match="emissions"):
        crf.nll(torch.randn(2, 4, 5), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(SeqlabError, match="real token"):
        crf.decode(torch.randn(1, 2, 3), torch.tensor([[True, False]]))
