"""A run folder: the one layout every task, the tour and the diagnostics write, and one writer at a time.

    RUN/
      config.json                   the resolved config (what `seqlab train --resume` continues)
      tokenizer.json                the input tokenizer, a Hugging Face file (+ target_tokenizer.json,
                                    char_tokenizer.json for the tasks that have them)
      checkpoints/best.safetensors  the best weights by the validation metric (+ best.json to read)
      checkpoints/last.safetensors  the last state, with optimiser and RNG states (+ last.json)
      metrics.jsonl, history.json   training loss every few steps, every evaluation
      curves.png                    the learning curves
      results.json                  the final evaluation (test metrics, BLEU, backtest scores, ...)
      sample.txt                    a language model's sample

A process that writes the folder holds an OS lock on ``RUN/.lock`` (``fcntl.flock``, released by
the kernel when the process ends, however it ends); a second writer gets a one-line error that
names the holder. Temporary files that a killed writer left behind are removed when the next
writer takes the lock.
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.files import remove_temporaries

CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
BEST = "checkpoints/best.safetensors"
LAST = "checkpoints/last.safetensors"
METRICS = "metrics.jsonl"
HISTORY = "history.json"
CURVES = "curves.png"
RESULTS = "results.json"
SAMPLE = "sample.txt"
LOCK = ".lock"


def new_run_dir(root: str | os.PathLike, name: str, create: bool = True) -> Path:
    """``root/<name>-<UTC timestamp>`` (with a counter if it exists), made unless ``create`` is False.

    The runner makes a run's folder only once its data and model are built (``create=False`` here),
    so a run that cannot start leaves nothing behind.
    """
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise SeqlabError(f"--runs: {root} is a file; expected a folder to create run folders in")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = root / f"{name}-{stamp}"
    path, counter = base, 1
    while path.exists():
        counter += 1
        path = base.with_name(f"{base.name}-{counter}")
    if create:
        path.mkdir(parents=True)
    return path


def checkpoint_path(run: str | os.PathLike) -> Path:
    """The checkpoint a run is used by: ``RUN/checkpoints/best.safetensors``, or ``run`` itself if it is a file."""
    run = Path(run)
    if run.is_file():
        return run
    if not run.is_dir():
        raise SeqlabError(f"{run}: no such run folder or checkpoint file")
    path = run / BEST
    if not path.is_file():
        raise SeqlabError(f"{run}: not a run folder (expected {BEST} inside; a run that stopped before its first "
                          "evaluation has none)")
    return path


@contextmanager
def writing(run_dir: str | os.PathLike) -> Iterator[Path]:
    """Hold the run folder's lock while writing it; a ``SeqlabError`` naming the holder when another has it."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    handle = open(run_dir / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole block)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise SeqlabError(f"{run_dir}: in use by {holder}; wait until it finishes (one writer at a time)") \
                from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} ({' '.join(sys.argv[:4])})")
        handle.flush()
        remove_temporaries(run_dir)
        yield run_dir
    finally:
        handle.close()  # closing releases the lock


__all__ = ["BEST", "CONFIG", "CURVES", "HISTORY", "LAST", "LOCK", "METRICS", "RESULTS", "SAMPLE", "TOKENIZER",
           "checkpoint_path", "new_run_dir", "writing"]
