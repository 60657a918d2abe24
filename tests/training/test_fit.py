"""fit(): it learns, resumes exactly, keeps the best checkpoint, stops early, accumulates like a big batch."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import TensorDataset

from seqlab.errors import SeqlabError
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.config import FitConfig
from seqlab.training.distributed import shard_loader
from seqlab.training.fit import Callback, History, fit
from seqlab.training.run_folder import BEST, LAST


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared 2-core machine a second thread mostly waits at barriers."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class ToyTask:
    """Classify 2-D points by the sign of x0 * x1 (XOR-like: needs the hidden layer)."""

    name = "toy"

    def loss(self, model, batch):
        x, y = batch
        return F.cross_entropy(model(x), y)

    def evaluate(self, model, batches):
        total, correct, loss = 0, 0, 0.0
        for x, y in batches:
            logits = model(x)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(-1) == y).sum().item()
            total += len(y)
        return {"loss": loss / total, "accuracy": correct / total}



def toy_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return TensorDataset(x, (x[:, 0] * x[:, 1] > 0).long())


def toy_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Dropout(0.1), nn.Linear(32, 2))


def loaders(batch_size=16):
    return (shard_loader(toy_data(), batch_size, shuffle=True, seed=1),
            shard_loader(toy_data(128, seed=1), 64, shuffle=False, seed=0))


class SimulatedKillError(Exception):
    pass


class InterruptAt(Callback):
    def __init__(self, step):
        self.step = step

    def on_step(self, step, info):
        if step == self.step:
            raise SimulatedKillError


def test_it_learns_and_writes_the_run(tmp_path):
    train, val = loaders()
    config = FitConfig(lr=0.03, epochs=8, schedule="cosine", warmup_steps=5, seed=3, metric="accuracy", mode="max")
    history = fit(toy_model(), ToyTask(), train, val, config, tmp_path, checkpoint_meta={"state": {"labels": [0, 1]}})
    assert history.steps == 8 * 16
    assert history.best_metrics["accuracy"] >= 0.9
    assert history.evaluations[-1]["val_loss"] < history.evaluations[0]["val_loss"]
    for name in ("metrics.jsonl", "history.json", "curves.png", LAST, BEST):
        assert (tmp_path / name).is_file(), name
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == history.records
    best = load_checkpoint(tmp_path / BEST)
    assert best.meta["step"] == history.best_step
    assert best.meta["state"] == {"labels": [0, 1]}  # what the caller gives every checkpoint
    assert "optimizer" not in best.meta  # the best checkpoint keeps weights only


@pytest.mark.parametrize("accumulation", [1, 2])
def test_resume_after_an_interruption_repeats_the_uninterrupted_losses(tmp_path, accumulation):
    # interrupt mid-epoch (16 micro-batches per epoch), 3 steps after the last checkpoint
    config = FitConfig(lr=0.05, max_steps=30 // accumulation, schedule="cosine", checkpoint_every=4,
                       eval_every=4, accumulation=accumulation, seed=7)
    train, val = loaders()
    whole = fit(toy_model(), ToyTask(), train, val, config, tmp_path / "whole")

    train, val = loaders()
    with pytest.raises(SimulatedKillError):
        fit(toy_model(), ToyTask(), train, val, config, tmp_path / "cut", callbacks=[InterruptAt(23 // accumulation)])
    train, val = loaders()
    model = toy_model()
    torch.manual_seed(12345)  # the resumed process starts from another random state
    resumed = fit(model, ToyTask(), train, val, config, tmp_path / "cut", resume=True)

    assert resumed.losses == whole.losses  # exactly, step by step
    assert [r for r in resumed.records if "val_loss" in r] == [
        {**r, "seconds": s["seconds"]} for r, s in zip(whole.evaluations, resumed.evaluations)]
    reference = load_checkpoint(tmp_path / "whole" / LAST).model_state()
    for name, value in model.state_dict().items():
        assert torch.equal(value, reference[name]), name


def test_resuming_a_finished_run_leaves_its_last_checkpoint_as_it_was(tmp_path):
    # kill -9 after training but before the runner finished: the next --resume finds the budget spent
    config = FitConfig(lr=0.05, max_steps=8, checkpoint_every=1, eval_every=4, seed=7)
    train, val = loaders()
    fit(toy_model(), ToyTask(), train, val, config, tmp_path)
    before = load_checkpoint(tmp_path / LAST).tensors
    torch.manual_seed(999)  # the resumed process starts from another random state
    train, val = loaders()
    fit(toy_model(), ToyTask(), train, val, config, tmp_path, resume=True)
    after = load_checkpoint(tmp_path / LAST).tensors
    assert before.keys() == after.keys()
    for name in before:
        assert torch.equal(before[name], after[name]), name  # the random state a later extension starts from


def test_accumulation_equals_one_big_batch(tmp_path):
    data = toy_data(64)
    big = shard_loader(data, 32, shuffle=False, seed=0)
    small = shard_loader(data, 16, shuffle=False, seed=0)
    models = []
    for loader, accumulation in ((big, 1), (small, 2)):
        model = toy_model().double()
        model[2].p = 0.0
        for p in model.parameters():
            p.data = p.data.double()
        loader = [(x.double(), y) for x, y in loader]
        fit(model, ToyTask(), loader, None, FitConfig(lr=0.1, optimizer="sgd", epochs=3, accumulation=accumulation),
            None)
        models.append(model)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_early_stopping_and_best_checkpoint(tmp_path):
    train, val = loaders()
    # a learning rate of 0 never improves after the first evaluation: stop after `patience` more
    config = FitConfig(lr=1e-12, epochs=50, patience=2, seed=0)
    history = fit(toy_model(), ToyTask(), train, val, config, tmp_path)
    assert history.stop_reason.startswith("early stopping")
    assert len(history.evaluations) == 3
    assert history.best_step == 16


def test_a_budget_is_required_and_the_metric_must_exist(tmp_path):
    train, val = loaders()
    with pytest.raises(SeqlabError, match="budget"):
        fit(toy_model(), ToyTask(), train, val, FitConfig(), tmp_path)
    with pytest.raises(SeqlabError, match=r"fit\.device: expected cpu, cuda"):
        fit(toy_model(), ToyTask(), train, val, FitConfig(max_steps=1, device="gpu"), tmp_path)
    if not torch.cuda.is_available():
        with pytest.raises(SeqlabError, match="torch sees no CUDA device"):
            fit(toy_model(), ToyTask(), train, val, FitConfig(max_steps=1, device="cuda"), tmp_path)
    with pytest.raises(SeqlabError, match="reports loss, accuracy"):
        fit(toy_model(), ToyTask(), train, val, FitConfig(max_steps=2, eval_every=1, metric="f1"), tmp_path)


def test_history_round_trips_through_a_dict():
    history = History(losses=[1.0, 0.5], records=[{"step": 2, "val_loss": 0.4}], best_step=2, steps=2)
    assert History.from_dict(history.to_dict()) == history


@pytest.mark.parametrize(("clip", "bound"), [({"clip_value": 1e-3, "clip_norm": None}, "value"),
                                             ({"clip_value": None, "clip_norm": 1e-3}, "norm")])
def test_gradient_clipping_bounds_one_sgd_step(clip, bound):
    # with plain SGD at lr = 1, the step is the clipped gradient itself
    model = toy_model()
    model[2].p = 0.0
    before = [p.detach().clone() for p in model.parameters()]
    train = shard_loader(toy_data(64), 64, shuffle=False, seed=0)
    fit(model, ToyTask(), train, None, FitConfig(optimizer="sgd", lr=1.0, momentum=0.0, weight_decay=0.0,
                                                 max_steps=1, **clip), None)
    steps = [(p.detach() - b).flatten() for p, b in zip(model.parameters(), before)]
    if bound == "value":
        assert max(s.abs().max().item() for s in steps) == pytest.approx(1e-3, rel=1e-5)  # float32 steps
    else:
        assert torch.cat(steps).norm().item() == pytest.approx(1e-3, rel=1e-4)
