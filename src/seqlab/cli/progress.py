"""Progress that tells the truth, on a terminal or in a log: the one display every long command uses.

On a terminal a live bar; when the output is piped or redirected, a plain line every ``every``
seconds instead (a live bar in a log file is noise, and silence for minutes looks like a hang).

* ``Phase``: a line saying what a command is doing now ("preparing the data", "scoring BLEU"),
  for work without a step count;
* ``TrainingProgress``: the steps of ``seqlab.training.fit`` with the loss, the last validation
  metrics and an ETA from whichever budget ends the run first (the steps, or the time budget);
* ``fraction_progress``: a context for work that reports a fraction done (embedding trainers).

This module imports no torch: it only reads the numbers the library hands to its callbacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

SHOWN_METRICS = ("loss", "accuracy", "bits_per_char", "f1", "bleu", "token_accuracy")


def format_seconds(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def remaining_seconds(step: int, start_step: int, elapsed: float, total_steps: int | None,
                      max_seconds: float | None, spent_before: float = 0.0) -> float | None:
    """Seconds left: the smaller of what the step budget needs at the rate so far and what the time budget allows.

    ``elapsed`` counts this process's training time; ``spent_before`` the time a resumed run had spent.
    """
    estimates = []
    done = step - start_step
    if total_steps is not None and done > 0:
        estimates.append((total_steps - step) * elapsed / done)
    if max_seconds is not None:
        estimates.append(max_seconds - spent_before - elapsed)
    return max(0.0, min(estimates)) if estimates else None


class Phase:
    """Say what is being done now: a spinner on a terminal, one line otherwise."""

    def __init__(self, console: Console):
        self.console = console

    @contextmanager
    def __call__(self, what: str) -> Iterator[None]:
        start = time.perf_counter()
        if self.console.is_terminal:
            with self.console.status(f"{what}..."):
                yield
        else:
            self.console.print(f"{what}...", highlight=False)
            yield
        seconds = time.perf_counter() - start
        if seconds >= 2:
            self.console.print(f"  {what}: done in {format_seconds(seconds)}", highlight=False)


class TrainingProgress:
    """A ``seqlab.training.Callback`` that shows the steps, the loss, the validation metrics and the ETA.

    (Duck-typed: the CLI keeps torch out of its imports; ``fit`` only calls these methods.)
    """

    def __init__(self, console: Console, description: str = "training", every: float = 10.0):
        self.console, self.description, self.every = console, description, every
        self.live = console.is_terminal
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.plan = None
        self.started = 0.0
        self.last_line = 0.0
        self.val = ""
        self.step = 0

    # -- fit's callbacks -------------------------------------------------------------------------
    def on_phase(self, name: str) -> None:
        if name != "training":
            self.console.print(f"  {name}...", highlight=False)

    def on_train_begin(self, plan) -> None:
        self.plan, self.started, self.step = plan, time.perf_counter(), plan.start_step
        self.last_line = self.started
        budget = []
        if plan.total_steps is not None:
            budget.append(f"{plan.total_steps:,} steps")
        if plan.max_seconds is not None:
            budget.append(f"{format_seconds(plan.max_seconds)}")
        if not self.live:
            self.console.print(f"{self.description}: budget {' or '.join(budget)}, whichever ends first",
                               highlight=False)
            return
        columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[where]}"),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TextColumn("{task.fields[eta]}")]
        self.progress = Progress(*columns, console=self.console, transient=False)
        self.progress.start()
        self.task = self.progress.add_task(self.description, total=1.0, completed=self._fraction(), where="",
                                           status="", eta="")

    def on_step(self, step: int, info: dict) -> None:
        self.step = step
        status = f"loss {info['loss']:.3f}{self.val}"
        if self.live:
            self.progress.update(self.task, completed=self._fraction(), where=self._where(), status=status,
                                 eta=self._eta())
        elif time.perf_counter() - self.last_line >= self.every:
            self.last_line = time.perf_counter()
            self.console.print(f"  {self._where()}, {status}, {format_seconds(self._elapsed())} elapsed, "
                               f"{self._eta()}", highlight=False)

    def on_evaluate_begin(self, step: int) -> None:
        if self.live:
            self.progress.update(self.task, status=f"evaluating...{self.val}")

    def on_evaluate(self, step: int, metrics: dict) -> None:
        shown = {k: v for k, v in metrics.items() if k in SHOWN_METRICS}
        self.val = " | val " + " ".join(f"{k} {v:.3f}" for k, v in shown.items())
        if not self.live:
            self.console.print(f"  step {step:,}: val " + ", ".join(f"{k} {v:.4f}" for k, v in shown.items()),
                               highlight=False)

    def on_train_end(self, history) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=1.0, eta="")
            self.progress.stop()

    # -- numbers ---------------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _fraction(self) -> float:
        plan, parts = self.plan, [0.0]
        if plan.total_steps:
            parts.append(self.step / plan.total_steps)
        if plan.max_seconds:
            parts.append((plan.seconds + self._elapsed()) / plan.max_seconds)
        return min(1.0, max(parts))

    def _where(self) -> str:
        total = f"/{self.plan.total_steps:,}" if self.plan.total_steps is not None else ""
        return f"step {self.step:,}{total}"

    def _eta(self) -> str:
        left = remaining_seconds(self.step, self.plan.start_step, self._elapsed(), self.plan.total_steps,
                                 self.plan.max_seconds, self.plan.seconds)
        return "" if left is None else f"about {format_seconds(left)} left"


@contextmanager
def fraction_progress(console: Console, description: str, every: float = 10.0
                      ) -> Iterator[Callable[[float, str], None]]:
    """A reporter ``update(fraction, status)`` for work that knows how far along it is (0..1)."""
    started = time.perf_counter()
    if console.is_terminal:
        columns = [TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                   TimeElapsedColumn()]
        with Progress(*columns, console=console) as progress:
            task = progress.add_task(description, total=1.0, status="")
            yield lambda fraction, status="": progress.update(task, completed=fraction, status=status)
        return
    last = [started]

    def update(fraction: float, status: str = "") -> None:
        now = time.perf_counter()
        if now - last[0] >= every or fraction >= 1.0:
            last[0] = now
            elapsed = now - started
            left = f", about {format_seconds(elapsed * (1 - fraction) / fraction)} left" if 0 < fraction < 1 else ""
            console.print(f"  {description} {fraction:.0%} {status}, {format_seconds(elapsed)} elapsed{left}",
                          highlight=False)

    yield update


__all__ = ["Phase", "TrainingProgress", "format_seconds", "fraction_progress", "remaining_seconds"]
