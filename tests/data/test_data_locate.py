"""The registry and the resolver: a path > $SEQLAB_DATA_DIR > the user folder > the bundled copy; `seqlab data ls`."""

from __future__ import annotations

import hashlib
import logging

import pytest

from seqlab.data import DATASETS, get_dataset, load_airline, load_fra_eng, load_sentence_polarity, locate
from seqlab.data.corpora import data_dir
from seqlab.data.locate import BUNDLED, DATA_FOLDER, PATH, USER_FOLDER, bundled_root, dataset_file, find
from seqlab.errors import SeqlabError


def _airline(folder, first_value):
    """An airline dataset in ``folder`` whose first value tells the copies apart."""
    path = folder / "airline" / "Airline.csv"
    path.parent.mkdir(parents=True)
    path.write_text(f"Date,Passengers\n1949-01,{first_value}\n1949-02,118\n")
    return folder


def test_the_search_order_is_path_then_data_folder_then_user_folder_then_bundled(tmp_path, monkeypatch, places):
    assert locate("airline").place == BUNDLED and load_airline()[1][0] == 112.0
    _airline(places, 3.0)
    assert locate("airline").place == USER_FOLDER and load_airline()[1][0] == 3.0
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(_airline(tmp_path / "shared", 2.0)))
    assert locate("airline").place == DATA_FOLDER and load_airline()[1][0] == 2.0
    explicit = _airline(tmp_path / "explicit", 1.0)
    assert locate("airline", explicit).place == PATH and load_airline(explicit)[1][0] == 1.0


def test_a_data_folder_without_the_dataset_falls_through_and_a_path_does_not(tmp_path, monkeypatch, places):
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(tmp_path / "shared"))  # does not exist
    assert locate("airline").place == BUNDLED
    (tmp_path / "shared").mkdir()
    assert locate("airline").place == BUNDLED
    with pytest.raises(SeqlabError, match=r"dataset airline not found .*get it with: seqlab data get airline --dest"):
        locate("airline", tmp_path / "shared")
    with pytest.raises(SeqlabError, match=r"data folder .*nowhere does not exist"):
        dataset_file("airline/Airline.csv", tmp_path / "nowhere")


def test_a_dataset_found_nowhere_is_one_line_with_the_command(tmp_path, monkeypatch, places):
    (places / "wnut17").mkdir(parents=True)
    (places / "wnut17" / "emerging.dev.conll").write_text("a\tO\n")
    with pytest.raises(SeqlabError) as raised:
        locate("wnut17")
    message = str(raised.value)
    assert "\n" not in message and message.endswith("get it with: seqlab data get wnut17")
    assert f"{places} (has 1 of its 3 files; wnut17/wnut17train.conll is missing)" in message
    with pytest.raises(SeqlabError, match="expected one of airline, fra-eng"):
        locate("imdb")
    assert data_dir() == places  # where `seqlab data get` would put it


def test_the_bundled_part_says_so_in_a_log_line(places, caplog):
    with caplog.at_level(logging.INFO, logger="seqlab.data.locate"):
        pairs = load_fra_eng()
        load_sentence_polarity()
    assert len(pairs) == 40_000 and pairs[0] == ("Go.", "Va !")
    partial, whole = caplog.records
    assert partial.levelno == logging.WARNING and "the first 40,000 of 167,130 pairs" in partial.getMessage()
    assert "seqlab data get fra-eng" in partial.getMessage()
    assert whole.levelno == logging.INFO and "sentence_polarity: using the copy bundled" in whole.getMessage()
    assert locate("fra-eng").describe() == "bundled (the first 40,000 of 167,130 pairs)"


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_whole_bundled_copies_are_the_pinned_bytes():
    checked = 0
    for dataset in DATASETS.values():
        if dataset.bundled is None:
            continue
        for path, inside in dataset.bundled.files.items():
            remote = dataset.file(path)
            if dataset.bundled.is_whole or inside == path:
                assert _sha256(bundled_root() / inside) == remote.sha256, path
                assert (bundled_root() / inside).stat().st_size == remote.size
                checked += 1
    assert checked == 6  # Tiny Shakespeare, 3 polarity files, the airline CSV, fra-eng's _about.txt


def test_the_bundled_tatoeba_part_is_the_head_of_the_real_file(data_dir):
    head = (bundled_root() / "fra-eng" / "fra-first-40000.txt").read_bytes()
    with open(data_dir / "fra-eng" / "fra.txt", "rb") as real:
        assert real.read(len(head)) == head and head.count(b"\n") == 40_000


def test_the_registry_matches_the_shared_checksums_and_sizes(data_dir):
    recorded = dict(line.split()[::-1] for line in (data_dir / "SHA256SUMS").read_text().splitlines() if line)
    listed = [remote for dataset in DATASETS.values() for remote in dataset.files]
    assert {remote.path for remote in listed} == recorded.keys()  # every shared file, and nothing else
    for remote in listed:
        assert remote.sha256 == recorded[remote.path], remote.path
        assert remote.size == (data_dir / remote.path).stat().st_size, remote.path
        assert remote.url.startswith(("https://", "http://"))
    assert get_dataset("fra-eng").size == 11_669_748 + 1_441


def test_the_shared_folder_is_found_whole(data_dir, monkeypatch, places):
    monkeypatch.setenv("SEQLAB_DATA_DIR", str(data_dir))
    for name in DATASETS:
        location = find(name)
        assert location is not None and location.place == DATA_FOLDER and location.is_whole, name
    assert len(load_fra_eng()) == 167_130


def test_cli_ls_shows_every_dataset_and_where_it_is(seqlab_cli, places):
    code, out, err = seqlab_cli("data", "ls")
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert set(rows) == set(DATASETS)
    assert all(text in rows["wnut17"] for text in ("CC BY 4.0", "801.0 kB", "leondz/emerging_entities_17"))
    assert "missing: seqlab data get wnut17" in rows["wnut17"]
    assert rows["sentence_polarity"].rstrip("│ ").endswith("bundled")
    assert "bundled (the first 40,000 of 167,130 pairs)" in rows["fra-eng"]
    assert f"SEQLAB_DATA_DIR=(unset), user folder {places}" in out


def test_cli_info_gives_what_is_needed_to_place_the_files_by_hand(seqlab_cli, places):
    code, out, err = seqlab_cli("data", "info", "sentence_polarity")
    assert code == 0, err
    remote = get_dataset("sentence_polarity").file("sentence_polarity/rt-polarity.pos")
    assert "licence: CC BY 4.0" in out and "ships with seqlab: all of it" in out and "where: bundled" in out
    assert f"sentence_polarity/rt-polarity.pos  626,334 bytes  sha256 {remote.sha256}" in out
    assert f"from {remote.url} (zip member sentence_polarity/rt-polarity.pos)" in out
    assert f"puts them under {places / 'sentence_polarity'}" in out
