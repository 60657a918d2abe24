"""Random overrides over every recipe's config: a clear error (SeqlabError) or a config; and for a small recipe,
a clear error or a run. Never a traceback of another kind, never a hang."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqlab.errors import SeqlabError
from seqlab.training.config import to_dict
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import train
from seqlab.training.tasks import RECIPES


def _keys(data: dict, prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        if isinstance(value, dict) and key != "layer_options":
            keys += _keys(value, f"{prefix}{key}.")
        elif key != "task":
            keys.append(f"{prefix}{key}")
    return keys


KEYS = {task: _keys(to_dict(recipe.default_config())) for task, recipe in RECIPES.items()}
VALUES = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1", "2.5", "1e9", "true", "null", "none", "abc", "", "[1, 2]",
                     "{a: 1}", "-5", "0.5", "1.5", "lstm", "gru", "gpt", "transformer", "cosine", "1959-01"]),
    st.integers(-3, 10**7).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr))


@pytest.mark.parametrize("task", sorted(RECIPES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_overrides_give_a_config_or_one_clear_error(task, data):
    keys = data.draw(st.lists(st.sampled_from(KEYS[task]), min_size=1, max_size=3, unique=True))
    overrides = [f"{key}={data.draw(VALUES)}" for key in keys]
    try:
        config = load_run_config(task, None, overrides)
    except SeqlabError as error:
        assert str(error) and "\n" not in str(error).strip()
        return
    assert json.loads(json.dumps(to_dict(config)))["task"] == task  # a config that saves as plain JSON


REVIEWS = ["a gorgeous witty film", "a dull tedious mess", "great fun and moving", "boring and flat"]
SMALL = ["model.arch", "model.embedding_dim", "model.hidden_size", "model.num_layers", "model.dropout",
         "model.pooling", "model.bidirectional", "model.nhead", "fit.lr", "fit.weight_decay", "fit.clip_norm",
         "fit.clip_value", "fit.accumulation", "fit.schedule", "fit.warmup_steps", "fit.optimizer", "fit.momentum",
         "data.batch_size", "data.max_length", "data.min_count", "data.val_fraction"]
SMALL_VALUES = st.sampled_from(["nan", "inf", "-1", "0", "1", "2", "3", "2.5", "0.5", "0.9", "1e3", "true", "false",
                                "null", "lstm", "gru", "rnn", "transformer", "max", "mean", "last", "sgd", "cosine",
                                "noam", "plateau"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_sentiment_overrides_give_a_run_or_one_clear_error(tmp_path, data):
    torch.set_num_threads(1)
    reviews = tmp_path / "reviews.csv"
    if not reviews.exists():
        reviews.write_text("text,label\n" + "".join(f"{t},{'pos' if i % 2 == 0 else 'neg'}\n"
                                                      for i, t in enumerate(REVIEWS * 4)), encoding="utf-8")
    keys = data.draw(st.lists(st.sampled_from(SMALL), min_size=1, max_size=4, unique=True))
    overrides = [f"data.path={reviews}", "fit.max_steps=2", "fit.max_seconds=null", "fit.plots=false",
                 *(f"{key}={data.draw(SMALL_VALUES)}" for key in keys)]
    try:
        result = train(load_run_config("sentiment", None, overrides))
    except SeqlabError as error:
        assert str(error) and "\n" not in str(error).strip()
        return
    assert 1 <= result.history.steps <= 2
