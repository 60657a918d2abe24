"""The RNN/LSTM/GRU comparison: exact parameter ratios, parameter matching, memory accounting, and a
tiny end-to-end report whose claims are checked against its own numbers."""

import pytest
import torch

from seqlab.diagnostics.comparison import (
    CompareConfig,
    matching_hidden_size,
    parameter_count,
    run_comparison,
    saved_activation_bytes,
)
from seqlab.errors import SeqlabError
from seqlab.nn import LSTM, RNN


@pytest.mark.parametrize("I, H", [(1, 1), (32, 64), (7, 100)])
def test_parameter_counts_follow_the_formulas_and_a_gru_has_exactly_three_quarters_of_an_lstm(I, H):
    assert parameter_count("rnn_tanh", I, H) == H * (I + H + 2)
    assert parameter_count("lstm", I, H) == 4 * H * (I + H + 2)
    assert parameter_count("gru", I, H) * 4 == parameter_count("lstm", I, H) * 3


def test_matching_hidden_size_is_the_closest_count():
    target = parameter_count("lstm", 32, 64)
    H = matching_hidden_size("rnn_tanh", 32, target)
    best = min(range(1, 400), key=lambda h: abs(h * (32 + h + 2) - target))
    assert H == best == 142


def test_saved_activations_grow_with_the_sequence_and_the_cell():
    x = torch.randn(10, 4, 3)
    rnn, lstm = RNN(3, 8), LSTM(3, 8)
    short, long = saved_activation_bytes(rnn, x[:5]), saved_activation_bytes(rnn, x)
    assert 0 < short < long
    assert saved_activation_bytes(lstm, x) > long  # four gates and a cell state per step


def test_a_tiny_comparison_report(tmp_path):
    config = CompareConfig(cells=("rnn_tanh", "lstm", "gru"), hidden_size=8, input_size=4,
                           timing_length=6, timing_batch=2, timing_repeats=1, adding_length=4, copy_delay=2,
                           task_steps=2, char_lm_steps=2, char_lm_block=8)
    report = run_comparison(config, tmp_path)
    same, fair = report["settings"]["equal_hidden"], report["settings"]["equal_params"]
    assert same["gru"]["parameters_vs_lstm"] == 0.75 and same["lstm"]["time_vs_lstm"] == 1.0
    assert all(abs(row["parameters_vs_lstm"] - 1) < 0.15 for row in fair.values())
    assert fair["rnn_tanh"]["hidden_size"] > 8 and fair["lstm"]["hidden_size"] == 8
    claims = {c["claim"]: c for c in report["claims"]}
    assert claims["GRU has 25% fewer parameters than LSTM (same H)"]["holds"] is True
    speed = claims["GRU is faster than LSTM (same H), seqlab's reference loop"]
    assert speed["holds"] == (same["gru"]["time_vs_lstm"] < 1)  # the verdict follows the measurement
    adding = claims["LSTM is better than GRU on long dependencies (adding, equal parameters)"]
    learnt = min(fair[c]["adding"]["ratio_to_baseline"] for c in ("lstm", "gru")) < 0.9
    assert (adding["holds"] is None) == (not learnt)  # two steps teach nothing: no verdict from noise
    assert {p.name for p in tmp_path.iterdir()} == {"comparison.json", "comparison.md"}
    assert "| gru | 8 |" in (tmp_path / "comparison.md").read_text()


def test_the_lstm_reference_is_required():
    with pytest.raises(SeqlabError, match="including lstm"):
        CompareConfig(cells=("rnn_tanh", "gru")).validate()
