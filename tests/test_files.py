"""Atomic writes and text reading (seqlab.files)."""

import json
import os
import stat

import pytest

from seqlab import files
from seqlab.errors import SeqlabError


def test_atomic_write_replaces_whole_file_and_leaves_no_temporaries(tmp_path):
    target = tmp_path / "sub" / "config.json"
    files.write_json_atomic(target, {"a": 1, "name": "é"})
    files.write_json_atomic(target, {"a": 2})
    assert json.loads(target.read_text()) == {"a": 2}
    assert os.listdir(target.parent) == ["config.json"]


def test_failed_write_keeps_the_last_good_file(tmp_path, monkeypatch):
    target = tmp_path / "model.bin"
    files.write_atomic(target, b"good")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        files.write_atomic(target, b"half-written")
    assert target.read_bytes() == b"good"
    assert os.listdir(tmp_path) == ["model.bin"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        files.write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~umask


def test_remove_temporaries_deletes_only_what_an_interrupted_write_left(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    left = tmp_path / "checkpoints" / ".last.safetensors.abc123.tmp"
    left.write_bytes(b"partial")
    kept = tmp_path / "notes.tmp"  # not a hidden temporary of write_atomic
    kept.write_text("mine")
    assert files.remove_temporaries(tmp_path) == [left]
    assert not left.exists() and kept.exists()


def test_read_text_drops_bom_and_windows_line_endings(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbftext,label\r\ngood,pos\r\n")
    assert files.read_text(path) == "text,label\ngood,pos\n"


def test_read_text_names_the_file_and_the_byte_on_a_decode_error(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\u00e9".encode("latin-1"))
    with pytest.raises(SeqlabError, match=r"latin\.txt: not valid utf-8 .* at byte 3.*--encoding latin-1"):
        files.read_text(path)
    assert files.read_text(path, encoding="latin-1") == "café"


def test_read_text_errors_are_one_line_for_missing_files_folders_and_codecs(tmp_path):
    with pytest.raises(SeqlabError, match="no such file"):
        files.read_text(tmp_path / "missing.txt")
    with pytest.raises(SeqlabError, match="expected a file, got a folder"):
        files.read_text(tmp_path)
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(SeqlabError, match="codec name"):
        files.read_text(tmp_path / "a.txt", encoding="klingon")
