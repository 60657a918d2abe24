"""Shared fixtures: the real datasets, found through SEQLAB_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch


def _data_dir() -> Path | None:
    value = os.environ.get("SEQLAB_DATA_DIR")
    return Path(value) if value else None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real datasets (../shared/data in CI).

    Skips when SEQLAB_DATA_DIR is unset on a user's machine; under CI=true a missing
    dataset folder is a failure, never a skip.
    """
    path = _data_dir()
    if path is None or not path.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"SEQLAB_DATA_DIR must point to the shared datasets under CI (got {path})")
        pytest.skip("SEQLAB_DATA_DIR is not set: the real datasets are not available here")
    return path


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state."""
    torch.manual_seed(0)
    yield
