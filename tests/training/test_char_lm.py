"""The demo's trainer: a short real run on the bundled text, reproducible, with its run folder."""


import pytest

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.errors import SeqlabError
from seqlab.training.char_lm import CharLMConfig, train_char_lm

TINY = dict(embedding_dim=16, hidden_size=32, num_layers=1, block_size=16, batch_size=8, max_steps=25,
            eval_every=25, eval_batches=2, max_seconds=None)


def test_bundled_text_is_tiny_shakespeare():
    text = load_tiny_shakespeare()
    assert len(text) == 1_115_394 and text.startswith("First Citizen:")
    assert len(set(text)) == 65


def test_short_run_learns_and_repeats_exactly(tmp_path):
    text = load_tiny_shakespeare()[:50_000]
    first = train_char_lm(text, CharLMConfig(**TINY), run_dir=None)
    second = train_char_lm(text, CharLMConfig(**TINY), run_dir=None)
    # seeded, and with a step budget (a time budget makes the schedule depend on the clock)
    assert [row["val_loss"] for row in first.history] == [row["val_loss"] for row in second.history]
    assert first.sample == second.sample
    assert first.history[-1]["val_loss"] < first.history[0]["val_loss"] - 0.3
    assert first.final_val_loss < first.uniform_loss


def test_config_names_the_bad_field():
    with pytest.raises(SeqlabError, match="hidden_size: expected a positive integer, got 0"):
        CharLMConfig(hidden_size=0).validate()
    with pytest.raises(SeqlabError, match="cell: expected one of rnn, lstm, gru"):
        CharLMConfig(cell="cnn").validate()
