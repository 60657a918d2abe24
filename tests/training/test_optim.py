"""Optimisers keep decay off biases and norms; schedules follow their formulas."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.nn import LSTM
from seqlab.training.config import FitConfig
from seqlab.training.optim import Schedule, decay_groups, make_optimizer


def test_decay_only_on_matrices():
    model = nn.Sequential(nn.Embedding(10, 4), nn.LayerNorm(4), nn.Linear(4, 3))
    decay, no_decay = decay_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(model[0].weight), id(model[2].weight)}
    assert {id(p) for p in no_decay["params"]} == {id(model[1].weight), id(model[1].bias), id(model[2].bias)}


def test_recurrent_biases_are_not_decayed_and_tied_weights_appear_once():
    lstm = LSTM(3, 4)
    decay, no_decay = decay_groups(lstm, 0.1)
    assert all(p.dim() == 2 for p in decay["params"]) and all(p.dim() == 1 for p in no_decay["params"])
    tied = nn.ModuleDict({"a": nn.Linear(4, 4, bias=False)})
    tied["b"] = tied["a"]
    assert len(decay_groups(tied, 0.1)[0]["params"]) == 1


def test_sgd_with_momentum_and_decay_matches_torch():
    torch.manual_seed(0)
    ours, theirs = nn.Linear(3, 2), nn.Linear(3, 2)
    theirs.load_state_dict(ours.state_dict())
    optimizer = make_optimizer(ours, FitConfig(optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=0.01))
    reference = torch.optim.SGD([{"params": [theirs.weight], "weight_decay": 0.01},
                                 {"params": [theirs.bias], "weight_decay": 0.0}], lr=0.1, momentum=0.9)
    x = torch.randn(5, 3)
    for _ in range(3):
        for model, opt in ((ours, optimizer), (theirs, reference)):
            opt.zero_grad()
            model(x).pow(2).sum().backward()
            opt.step()
    torch.testing.assert_close(ours.weight, theirs.weight, rtol=0, atol=0)


def factors(schedule, steps):
    return [schedule.factor(s) for s in steps]


def test_warmup_then_cosine():
    schedule = Schedule(FitConfig(schedule="cosine", warmup_steps=10, min_lr_ratio=0.1), total_steps=110)
    assert factors(schedule, [1, 5, 10]) == pytest.approx([0.1, 0.5, 1.0])
    assert schedule.factor(60) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the decay
    assert schedule.factor(110) == pytest.approx(0.1)


def test_noam_peaks_at_warmup_and_decays_as_inverse_square_root():
    schedule = Schedule(FitConfig(schedule="noam", warmup_steps=100))
    assert schedule.factor(50) == pytest.approx(0.5)
    assert schedule.factor(100) == pytest.approx(1.0)
    assert schedule.factor(400) == pytest.approx(0.5)  # sqrt(100 / 400)
    # the paper's d^-0.5 * min(s^-0.5, s * w^-1.5), divided by its peak d^-0.5 * w^-0.5
    d, w = 512, 100
    for s in (7, 100, 333):
        paper = d**-0.5 * min(s**-0.5, s * w**-1.5)
        assert schedule.factor(s) == pytest.approx(paper / (d**-0.5 * w**-0.5))


def test_step_schedule():
    schedule = Schedule(FitConfig(schedule="step", step_size=10, gamma=0.5))
    assert factors(schedule, [9, 10, 25]) == pytest.approx([1.0, 0.5, 0.25])


def test_plateau_cuts_after_patience_and_round_trips_its_state():
    schedule = Schedule(FitConfig(schedule="plateau", gamma=0.1, plateau_patience=2))
    for value in (1.0, 0.9, 0.95, 0.93):  # two evaluations without improvement on 0.9
        schedule.observe(value, "min")
    assert schedule.factor(1) == pytest.approx(0.1)
    copy = Schedule(FitConfig(schedule="plateau", gamma=0.1, plateau_patience=2))
    copy.load_state_dict(schedule.state_dict())
    assert copy.factor(1) == schedule.factor(1) and copy.best == 0.9


def test_apply_sets_every_groups_lr():
    model = nn.Linear(2, 2)
    optimizer = make_optimizer(model, FitConfig(lr=0.5, schedule="cosine"))
    lr = Schedule(FitConfig(lr=0.5, schedule="cosine", min_lr_ratio=0.0), total_steps=4).apply(optimizer, 2)
    assert lr == pytest.approx(0.5 * 0.5 * (1 + math.cos(math.pi / 2)))
    assert all(g["lr"] == lr for g in optimizer.param_groups)


def test_a_prefix_learns_at_its_share_of_the_rate_and_keeps_its_decay_rule():
    model = nn.ModuleDict({"encoder": nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3)), "encoder_head": nn.Linear(3, 2),
                           "head": nn.Linear(3, 2)})
    model["encoder"][0].bias.requires_grad_(False)  # frozen parameters stay out of every group
    optimizer = make_optimizer(model, FitConfig(lr=0.2, weight_decay=0.1), {"encoder.": 0.25, "head.weight": 0.5})
    groups = {(g["weight_decay"], g["lr_scale"]): {id(p) for p in g["params"]} for g in optimizer.param_groups}
    assert groups == {
        (0.1, 1.0): {id(model["encoder_head"].weight)},  # "encoder_head." does not start with "encoder."
        (0.1, 0.5): {id(model["head"].weight)},
        (0.1, 0.25): {id(model["encoder"][0].weight)},
        (0.0, 1.0): {id(model["encoder_head"].bias), id(model["head"].bias)},
        (0.0, 0.25): {id(model["encoder"][1].weight), id(model["encoder"][1].bias)},
    }
    lr = Schedule(FitConfig(lr=0.2, warmup_steps=4)).apply(optimizer, 1)
    assert lr == pytest.approx(0.05)
    assert {g["lr_scale"]: g["lr"] for g in optimizer.param_groups} == pytest.approx({1.0: 0.05, 0.5: 0.025,
                                                                                      0.25: 0.0125})
    with pytest.raises(SeqlabError, match=r"lr_scales\['head.'\]: expected a positive factor"):
        make_optimizer(model, FitConfig(), {"head.": 0.0})
