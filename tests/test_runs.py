"""Run folders and atomic writes."""

import json
import os

import pytest

from seqlab import runs


def test_new_run_dirs_never_collide(tmp_path):
    first = runs.new_run_dir(tmp_path, "demo")
    second = runs.new_run_dir(tmp_path, "demo")
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("demo-")


def test_atomic_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "config.json"
    runs.write_json_atomic(target, {"a": 1, "name": "é"})
    runs.write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert os.listdir(target.parent) == ["config.json"]


def test_failed_write_keeps_the_last_good_file(tmp_path, monkeypatch):
    target = tmp_path / "model.bin"
    runs.write_atomic(target, b"good")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        runs.write_atomic(target, b"half-written")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.bin"]
