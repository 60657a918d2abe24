"""A bidirectional LSTM LM reads its targets: its teacher-forced loss drops below the honest model's,
while its loss from the past only (how a generator works) does not."""

import pytest

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.diagnostics.bidirectional_lm import bidirectional_lm_experiment
from seqlab.errors import SeqlabError


def test_the_bidirectional_model_sees_the_future():
    text = load_tiny_shakespeare()[:40_000]
    result = bidirectional_lm_experiment(text, steps=100, hidden_size=24, block=20, sample_length=20)
    tf, past = result.teacher_forced, result.from_the_past
    assert tf["bidirectional"] < 0.8 * tf["unidirectional"]  # it copies x_{t+1} from the backward state
    assert past["bidirectional"] > tf["bidirectional"] + 0.5  # without the future it cannot
    assert len(result.samples["bidirectional"]) == 20 and result.uniform_loss > tf["unidirectional"]


def test_bad_sizes_are_named():
    with pytest.raises(SeqlabError, match="block >= 17"):
        bidirectional_lm_experiment("abcdef" * 100, block=4)
