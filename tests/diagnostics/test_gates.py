"""Gate traces over a text: what they hold, saturation statistics, and errors."""

import pytest
import torch

from seqlab.diagnostics.gates import saturation, trace_text, untrained_char_lm
from seqlab.errors import SeqlabError


def test_saturation_counts_sigmoid_gates_near_0_and_1_and_tanh_candidates_near_plus_minus_1():
    values = {"f": torch.tensor([0.01, 0.5, 0.95, 0.99]), "g": torch.tensor([-0.95, 0.0, 0.2, 0.97]),
              "h": torch.tensor([1.0, 1.0, 1.0, 1.0])}
    stats = saturation(values, eps=0.1)
    assert set(stats) == {"f", "g"}  # states are not gates
    assert stats["f"] == {"near_0": 0.25, "near_1": 0.5, "mean": pytest.approx(0.6125)}
    assert stats["g"]["near_-1"] == 0.25 and stats["g"]["near_1"] == 0.25
    with pytest.raises(SeqlabError, match="eps"):
        saturation(values, eps=0.7)


@pytest.mark.parametrize("cell, names", [("lstm", {"h", "c", "i", "f", "g", "o"}), ("gru", {"h", "r", "z", "n"})])
def test_trace_text_records_every_gate_per_character_and_the_per_step_loss(cell, names):
    model, tokenizer = untrained_char_lm(cell, hidden_size=16)
    text = "To be, or not"
    trace = trace_text(model, tokenizer, text)
    assert trace.tokens == list(text) and len(trace.loss_per_step) == len(text) - 1
    assert set(trace.gates[0]) == names and all(v.shape == (len(text), 16) for v in trace.gates[0].values())
    # the traced h is what the model outputs: the last step's logits come from it
    logits, _ = model(torch.tensor([tokenizer.encode(text).ids]))
    torch.testing.assert_close(model.head(trace.gates[0]["h"][-1]), logits[0, -1])


def test_only_a_recurrent_language_model_is_traced():
    from seqlab.models import GPT, GPTConfig

    _, tokenizer = untrained_char_lm("gru", hidden_size=8)
    gpt = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=16, n_layer=1, n_head=1, n_embd=8))
    with pytest.raises(SeqlabError, match=r"expected a recurrent language model .* got GPT"):
        trace_text(gpt, tokenizer, "To be")
