"""Run folders: one new folder per run, named by task and time."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


def new_run_dir(root: str | os.PathLike, name: str) -> Path:
    """Create ``root/<name>-<UTC timestamp>`` (with a counter if it exists) and return it."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, counter = base, 1
    while path.exists():
        counter += 1
        path = base.with_name(f"{base.name}-{counter}")
    path.mkdir(parents=True)
    return path
