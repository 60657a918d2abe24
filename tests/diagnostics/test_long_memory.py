"""The adding and copy-memory tasks, their computed baselines, clipping statistics, and tiny runs
whose learning signal points the right way."""

import math

import pytest
import torch

from seqlab.diagnostics.clipping import ClipStats, clip_gradients
from seqlab.diagnostics.experiments import run_experiment
from seqlab.diagnostics.long_memory import LongMemoryConfig, memoryless_test_loss, run_long_memory
from seqlab.diagnostics.tasks import adding_baseline, adding_batch, copy_baseline, copy_batch
from seqlab.errors import SeqlabError


def test_adding_batches_mark_one_value_in_each_half_and_sum_them():
    inputs, targets = adding_batch(64, 12, torch.Generator().manual_seed(0))
    assert inputs.shape == (64, 12, 2) and targets.shape == (64,)
    markers = inputs[..., 1]
    assert torch.all(markers[:, :6].sum(1) == 1) and torch.all(markers[:, 6:].sum(1) == 1)
    torch.testing.assert_close(targets, (inputs[..., 0] * markers).sum(1))


def test_the_adding_baseline_is_the_variance_of_a_sum_of_two_uniforms():
    assert adding_baseline() == pytest.approx(1 / 6)  # 2 * (1 - 0)^2 / 12, from the formula
    _, targets = adding_batch(20_000, 10, torch.Generator().manual_seed(1))
    assert targets.var().item() == pytest.approx(adding_baseline(), abs=0.005)  # and from samples


def test_copy_batches_and_the_closed_form_baseline_equal_the_scored_memoryless_strategy():
    T = 7
    inputs, targets = copy_batch(5, T, torch.Generator().manual_seed(0))
    assert inputs.shape == targets.shape == (5, T + 20)
    assert torch.all(inputs[:, T + 9] == 9) and torch.all(inputs[:, 10 : T + 9] == 0)
    assert torch.equal(targets[:, -10:], inputs[:, :10]) and torch.all(targets[:, :-10] == 0)
    config = LongMemoryConfig(task="copy", T=T)
    assert memoryless_test_loss(config, targets) == pytest.approx(copy_baseline(T))
    assert copy_baseline(100) == pytest.approx(10 * math.log(8) / 120)


def test_clipping_by_norm_and_by_value_and_their_statistics():
    p = torch.nn.Parameter(torch.zeros(4))
    p.grad = torch.tensor([3.0, 4.0, 0.0, 0.0])  # ||g|| = 5
    before, after, clipped = clip_gradients([p], "norm", 1.0)
    assert (before, clipped) == (5.0, True) and after == pytest.approx(1.0)
    torch.testing.assert_close(p.grad, torch.tensor([0.6, 0.8, 0.0, 0.0]))  # direction kept
    p.grad = torch.tensor([3.0, -0.5, 0.0, 0.0])
    stats = ClipStats("value", 1.0)
    stats.clip([p])
    torch.testing.assert_close(p.grad, torch.tensor([1.0, -0.5, 0.0, 0.0]))
    p.grad = torch.tensor([0.1, 0.0, 0.0, 0.0])
    stats.clip([p])
    summary = stats.summary()
    assert summary["fraction_clipped"] == 0.5 and summary["norm_before_max"] == pytest.approx(math.hypot(3, 0.5))
    with pytest.raises(SeqlabError, match="clip mode"):
        clip_gradients([p], "global", 1.0)


def test_a_gru_learns_the_adding_problem_below_its_baseline_and_runs_are_reproducible():
    config = LongMemoryConfig(task="adding", cell="gru", T=10, hidden_size=16, batch_size=32, steps=120,
                              lr=1e-2, eval_every=40, test_size=256)
    result = run_long_memory(config)
    assert result.history[0]["test_loss"] > result.baseline  # untrained: worse than predicting 1
    assert result.final_test_loss < 0.5 * result.baseline
    assert result.clipping["steps"] == 120 and 0 <= result.clipping["fraction_clipped"] <= 1
    assert len(result.grad_norms_start) == len(result.grad_norms_end) == 10
    again = run_long_memory(LongMemoryConfig(**{**config.__dict__, "steps": 40}))
    assert again.history[1]["test_loss"] == result.history[1]["test_loss"]


def test_copy_task_loss_falls_towards_its_baseline_and_the_experiment_writes_its_files(tmp_path):
    config = LongMemoryConfig(T=5, hidden_size=16, batch_size=32, steps=60, lr=1e-2, eval_every=30,
                              test_size=128)
    summary = run_experiment("copy", ["lstm", "rnn_tanh"], config, tmp_path)
    for cell in ("lstm", "rnn_tanh"):
        s = summary["cells"][cell]
        # from ln 9 ~ 2.2 nats for a uniform guess to about the memoryless 10 ln 8 / 25 ~ 0.83
        assert s["final_test_loss"] < 1.15 * summary["baseline"]
        assert 0 <= s["final_test_accuracy"] <= 1
    assert summary["baseline"] == pytest.approx(copy_baseline(5))
    assert {p.name for p in tmp_path.iterdir()} == {"results.json", "summary.json", "summary.md",
                                                   "learning_curves.png", "gradient_flow.png"}
    assert "| lstm |" in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize("changes, message", [
    ({"task": "reverse"}, "task: expected one of adding, copy"),
    ({"cell": "transformer"}, "cell: expected one of"),
    ({"T": 0}, "T: expected a positive integer"),
    ({"clip": "global"}, "clip: expected one of norm, value or none"),
])
def test_bad_configs_name_the_field(changes, message):
    with pytest.raises(SeqlabError, match=message):
        LongMemoryConfig(**changes).validate()
