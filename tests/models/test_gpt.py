"""GPT: KV-cache equality, causality, weight tying, generation, and overfitting one tiny batch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqlab.errors import SeqlabError
from seqlab.generation import beam_search
from seqlab.models.gpt import GPT, GPTConfig


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads, and on a shared loaded machine two threads spin-wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(positions="learned", **kw) -> GPT:
    config = GPTConfig(vocab_size=23, block_size=32, n_layer=2, n_head=2, n_embd=16, positions=positions, **kw)
    return GPT(config).double().eval()


@pytest.mark.parametrize("positions", ["learned", "sinusoidal", "rope"])
def test_kv_cache_gives_exactly_the_logits_of_recomputing_the_prefix(positions):
    model = tiny(positions)
    idx = torch.randint(23, (3, 12))
    full = model(idx)
    cache = model.new_cache()
    pieces = [model(idx[:, :5], cache)] + [model(idx[:, t:t + 1], cache) for t in range(5, 12)]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-12, rtol=1e-10)
    assert cache[0].length == 12


def test_generation_with_and_without_cache_agree():
    model = tiny()
    prompt = torch.randint(23, (2, 4))
    with_cache = model.generate(prompt, 10, temperature=0.0)
    without = model.generate(prompt, 10, temperature=0.0, use_cache=False)
    assert torch.equal(with_cache, without) and with_cache.shape == (2, 14)
    assert torch.equal(with_cache[:, :4], prompt)


def test_causal_a_future_token_never_changes_earlier_logits():
    model = tiny("rope")
    idx = torch.randint(23, (1, 10))
    changed = idx.clone()
    changed[0, 6] = (idx[0, 6] + 1) % 23
    a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=0, rtol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_weight_tying_and_parameter_count():
    model = tiny()
    assert model.lm_head.weight is model.wte.weight
    E, V, L, T = 16, 23, 2, 32
    per_block = (3 * E * E + 3 * E) + (E * E + E) + (4 * E * E + 4 * E) + (4 * E * E + E) + 4 * E
    assert sum(p.numel() for p in model.parameters()) == V * E + T * E + L * per_block + 2 * E
    untied = GPT(GPTConfig(vocab_size=23, block_size=32, n_layer=2, n_head=2, n_embd=16, tie_weights=False))
    assert sum(p.numel() for p in untied.parameters()) == sum(p.numel() for p in model.parameters()) + V * E


def test_attention_weights_are_causal():
    model = tiny()
    _, weights = model(torch.randint(23, (2, 6)), need_weights=True)
    assert len(weights) == 2 and weights[0].shape == (2, 2, 6, 6)
    assert weights[1].triu(diagonal=1).eq(0).all()
    torch.testing.assert_close(weights[0].sum(-1), torch.ones(2, 2, 6, dtype=torch.float64))


@torch.no_grad()
def test_beam_search_scores_its_own_output():
    model = tiny()
    prompt = torch.randint(23, (2, 3))
    results = beam_search(model.decoding_step, model.decoding_state(), prompt, 5, beam_size=3, length_penalty=0.0)
    assert torch.equal(model.generate(prompt, 5, beam_size=3, length_penalty=0.0)[:, 3:],
                       torch.tensor([h.tokens for h in results]))  # generate returns the beam's best
    for row, hyp in zip(prompt, results):
        seq = torch.cat((row, torch.tensor(hyp.tokens)))[None]
        log_probs = model(seq[:, :-1]).log_softmax(-1)[0, 2:]
        assert hyp.log_prob == pytest.approx(float(log_probs.gather(1, seq[0, 3:, None]).sum()))
    greedy = model.generate(prompt, 5, temperature=0.0)
    greedy_logp = model(greedy[:, :-1]).log_softmax(-1)[:, 2:].gather(2, greedy[:, 3:, None]).sum((1, 2))
    assert all(h.log_prob >= float(g) - 1e-9 for h, g in zip(results, greedy_logp))


def test_generation_slides_the_context_window_past_block_size():
    model, prompt = tiny(), torch.randint(23, (2, 30))
    with_cache = model.generate(prompt, 8)  # the cache serves 32 positions, then the window slides
    without = model.generate(prompt, 8, use_cache=False)
    assert torch.equal(with_cache, without) and with_cache.shape == (2, 38)
    for t in range(32, 38):  # past the window, each token is the argmax given the last block_size tokens
        assert torch.equal(model(with_cache[:, t - 32:t])[:, -1].argmax(-1), with_cache[:, t])


def test_too_long_input_bad_prompts_and_bad_config_raise():
    with pytest.raises(SeqlabError, match="block_size"):
        tiny()(torch.zeros(1, 33, dtype=torch.long))
    with pytest.raises(SeqlabError, match=r"prompt: expected ids in \[0, 23\), got ids from 0 to 99"):
        tiny().generate(torch.tensor([[0, 99]]), 2)
    with pytest.raises(SeqlabError, match="max_new_tokens: expected an integer >= 0, got -5"):
        tiny().generate(torch.zeros(1, 1, dtype=torch.long), -5)
    with pytest.raises(SeqlabError, match="temperature: expected a finite number, got nan"):
        tiny().generate(torch.zeros(1, 1, dtype=torch.long), 2, temperature=float("nan"))
    with pytest.raises(SeqlabError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3).validate()


def test_it_learns_one_tiny_batch():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=12, block_size=16, n_layer=2, n_head=2, n_embd=32))
    data = torch.randint(12, (4, 13))
    data[:, 0] = torch.arange(4)  # distinct first tokens: greedy decoding can tell the rows apart
    x, y = data[:, :-1], data[:, 1:]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(120):
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert first > 2.0 and loss.item() < 0.1, (first, loss.item())
    assert torch.equal(model.generate(data[:, :1], 12, temperature=0.0), data)
