"""The progress display tells the truth: the ETA comes from the budget that ends first; piped output gets lines."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from seqlab.cli import progress
from seqlab.cli.progress import TrainingProgress, format_seconds, fraction_progress, remaining_seconds


def test_the_eta_comes_from_whichever_budget_ends_first():
    # 100 of 5,000 steps in 10 s: the steps need 490 s more, but a 60 s budget ends the run in 50 s
    assert remaining_seconds(100, 0, 10.0, 5000, 60.0) == 50.0
    assert remaining_seconds(100, 0, 10.0, 5000, None) == 490.0
    assert remaining_seconds(100, 0, 10.0, 200, 600.0) == 10.0
    # a resumed run: its earlier 30 s count against the time budget, its earlier steps not against the rate
    assert remaining_seconds(150, 100, 10.0, None, 60.0, spent_before=30.0) == 20.0
    assert remaining_seconds(0, 0, 0.0, 100, None) is None  # no rate yet, no guess
    assert remaining_seconds(10, 0, 100.0, 20, 50.0) == 0.0  # never negative


def test_format_seconds():
    assert [format_seconds(s) for s in (0.4, 59, 61, 3725)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_piped_output_prints_plain_lines_every_interval_with_the_time_budget_eta(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    shown = TrainingProgress(console, "lm", every=10.0)
    shown.on_train_begin(SimpleNamespace(total_steps=5000, start_step=0, max_seconds=60.0, seconds=0.0,
                                         steps_per_epoch=None))
    for step in range(1, 31):  # one step a second
        clock.now = float(step)
        shown.on_step(step, {"loss": 2.0})
    shown.on_evaluate(30, {"loss": 1.5, "accuracy": 0.5, "seconds": 3.0})
    shown.on_train_end(None)
    lines = out.getvalue().splitlines()
    assert lines[0] == "lm: budget 5,000 steps or 1 min 00 s, whichever ends first"
    step_lines = [line for line in lines if line.startswith("  step ") and "elapsed" in line]
    assert len(step_lines) == 3  # at 10, 20 and 30 s: not one per step
    assert "\x1b[" not in out.getvalue()  # no terminal control codes in a log
    # at 10 s and step 10: the step budget would need 4,990 s more, the 60 s budget ends first
    assert step_lines[0] == "  step 10/5,000, loss 2.000, 10 s elapsed, about 50 s left"
    assert lines[-1] == "  step 30: val loss 1.5000, accuracy 0.5000"


def test_piped_fraction_progress_prints_a_line_per_interval_and_at_the_end(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(progress.time, "perf_counter", clock)
    out = io.StringIO()
    with fraction_progress(Console(file=out, force_terminal=False, width=200), "word2vec", every=5.0) as update:
        for second in range(1, 13):
            clock.now = float(second)
            update(second / 12, "epoch 1")
    lines = out.getvalue().splitlines()
    assert lines == ["  word2vec 42% epoch 1, 5 s elapsed, about 7 s left",
                     "  word2vec 83% epoch 1, 10 s elapsed, about 2 s left",
                     "  word2vec 100% epoch 1, 12 s elapsed"]
