"""Typed configs: files, key=value overrides checked by type, unknown keys with suggestions."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from seqlab.errors import SeqlabError
from seqlab.training.config import FitConfig, apply_overrides, from_dict, to_dict
from seqlab.training.run_config import config_command, load_run_config, shipped_configs
from seqlab.training.tasks.classification import ClassificationRunConfig as ClassificationConfig


def test_overrides_are_converted_to_each_fields_type():
    config = apply_overrides(FitConfig(), ["lr=3e-4", "max_steps=1_000", "clip_norm=none", "schedule=cosine",
                                           "mode=max"])
    assert (config.lr, config.max_steps, config.clip_norm, config.schedule, config.mode) == (
        3e-4, 1000, None, "cosine", "max")
    assert isinstance(config.lr, float)


@pytest.mark.parametrize(("override", "message"), [
    ("lrr=0.1", "unknown key 'lrr'; did you mean 'lr'"),
    ("lr=fast", "lr: expected a number, got 'fast'"),
    ("max_steps=1.5", "max_steps: expected an integer, got '1.5'"),
    ("schedule=linear", "schedule: expected one of 'constant', 'cosine'"),
    ("lr=-1", "fit.lr: expected a value in (0, inf], got -1.0"),
    ("lr=nan", "fit.lr: expected a finite number, got nan"),
    ("lr=inf", "fit.lr: expected a finite number, got inf"),
    ("clip_norm=nan", "fit.clip_norm: expected a finite number, got nan"),
    ("weight_decay=nan", "fit.weight_decay: expected a finite number, got nan"),
    ("max_seconds=nan", "fit.max_seconds: expected a finite number, got nan"),
    ("accumulation=0", "fit.accumulation: expected an integer >= 1, got 0"),
    ("lr", "expected key=value"),
])
def test_bad_overrides_name_the_field(override, message):
    with pytest.raises(SeqlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_overrides(FitConfig(), [override])


def test_nested_overrides_and_unknown_nested_keys():
    config = apply_overrides(ClassificationConfig(), ["model.arch=transformer", "fit.lr=0.01", "data.fold=3"])
    assert (config.model.arch, config.fit.lr, config.data.fold) == ("transformer", 0.01, 3)
    with pytest.raises(SeqlabError, match=r"unknown key .model\.hiden_size.; did you mean .model\.hidden_size."):
        apply_overrides(ClassificationConfig(), ["model.hiden_size=3"])
    with pytest.raises(SeqlabError, match=r"fit\.lr: is a value, it has no key .x."):
        apply_overrides(ClassificationConfig(), ["fit.lr.x=3"])


def test_round_trip_through_plain_data():
    config = apply_overrides(ClassificationConfig(), ["model.layer_options={peephole: true}"])
    assert config.model.layer_options == {"peephole": True}
    assert from_dict(ClassificationConfig, to_dict(config)) == config


def test_config_file_merges_over_the_recipes_defaults(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump({"task": "sentiment", "fit": {"lr": 0.01}}))
    config = load_run_config("sentiment", path, ["data.batch_size=8"])
    assert config.fit.lr == 0.01 and config.fit.metric == "accuracy"  # the rest keeps the recipe's defaults
    assert config.data.batch_size == 8
    with pytest.raises(SeqlabError, match="is a config for task 'sentiment', not 'lm'"):
        load_run_config("lm", path)
    with pytest.raises(SeqlabError, match="did you mean 'sentiment'"):
        load_run_config("sentimnt", None)


def test_every_shipped_config_is_valid_and_names_its_command():
    shipped = shipped_configs()
    assert {"sentiment", "char_lstm", "char_gpt", "bpe_lstm"} <= set(shipped)
    for name, path in shipped.items():
        command = config_command(path)
        assert command.startswith("seqlab train "), name
        task = command.split()[2]
        config = load_run_config(task, path)
        assert dataclasses.is_dataclass(config) and config.fit is not None
        assert f"--config {name}" in command


@pytest.mark.parametrize(("old", "new"), [("model.encoder=gru", "model.arch"), ("fit.learning_rate=0.1", "fit.lr"),
                                          ("fit.grad_clip=1", "fit.clip_norm")])
def test_keys_of_earlier_versions_name_the_key_that_replaced_them(old, new):
    with pytest.raises(SeqlabError, match=f"was renamed: use '{new}'"):
        apply_overrides(ClassificationConfig(), [old])


@pytest.mark.parametrize(("task", "override", "message"), [
    ("sentiment", "model.hidden_size=0", "model.hidden_size: expected an integer >= 1, got 0"),
    ("sentiment", "model.hidden_size=2.5", "model.hidden_size: expected an integer, got '2.5'"),
    ("sentiment", "model.dropout=1.5", r"model.dropout: expected a probability in \[0, 1\), got 1.5"),
    ("sentiment", "data.limit=-5", "data.limit: expected an integer >= 2, got -5"),
    ("lm", "sample.temperature=nan", "sample.temperature: expected a finite number, got nan"),
    ("lm", "sample.prompt=", "sample.prompt: expected at least one character"),
    ("lm", "model.arch=gpt", None),
    ("translate", "beam_size=0", "beam_size: expected an integer >= 1, got 0"),
    ("forecast", "model.quantiles=[0.1, 0.5, 1.5]", r"model.quantiles: expected a value in \(0, 1\), got 1.5"),
    ("forecast", "data.backtest_start=garbage", "data.backtest_start: expected a date"),
])
def test_every_field_is_checked_before_any_work(task, override, message):
    if message is None:
        assert load_run_config(task, None, [override]).model.arch == "gpt"
        return
    with pytest.raises(SeqlabError, match=message):
        load_run_config(task, None, [override])


def test_yaml_aliases_are_refused_so_a_small_file_cannot_expand_to_gigabytes(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]
    bomb.write_text("\n".join(lines) + "\n")
    with pytest.raises(SeqlabError, match=r"aliases .* are not supported"):
        load_run_config("sentiment", bomb)
