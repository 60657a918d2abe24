"""Shared fixtures of the training tests: a tiny labelled review file."""

from __future__ import annotations

import json

import pytest

POSITIVE = ["a gorgeous witty film", "great fun and moving", "a wonderful moving story", "witty great and gorgeous"]
NEGATIVE = ["a dull tedious mess", "boring and flat", "a tedious boring film", "flat dull and lifeless"]


@pytest.fixture
def review_file(tmp_path):
    rows = [{"text": t, "label": "pos"} for t in POSITIVE * 6] + [{"text": t, "label": "neg"} for t in NEGATIVE * 6]
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
