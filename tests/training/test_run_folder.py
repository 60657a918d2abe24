"""The run folder: one writer at a time, leftovers of a killed writer cleaned, new names never collide."""

import pytest

from seqlab.errors import SeqlabError
from seqlab.training.run_folder import checkpoint_path, new_run_dir, writing


def test_new_run_dirs_never_collide_and_may_be_named_before_they_are_made(tmp_path):
    first = new_run_dir(tmp_path, "demo")
    second = new_run_dir(tmp_path, "demo")
    assert first != second and first.is_dir() and second.is_dir() and first.name.startswith("demo-")
    later = new_run_dir(tmp_path, "lm", create=False)
    assert not later.exists()
    (tmp_path / "runs-file").write_text("")
    with pytest.raises(SeqlabError, match="is a file; expected a folder"):
        new_run_dir(tmp_path / "runs-file", "lm")


def test_a_second_writer_gets_one_line_naming_the_first(tmp_path):
    holder = writing(tmp_path / "run")
    holder.__enter__()
    with pytest.raises(SeqlabError, match=r"run: in use by process \d+ .*one writer at a time"):
        writing(tmp_path / "run").__enter__()
    holder.__exit__(None, None, None)
    with writing(tmp_path / "run"):  # released when the first writer is done
        pass


def test_the_next_writer_removes_what_a_killed_writer_left(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    left = run / "checkpoints" / ".last.safetensors.x1y2.tmp"
    left.write_bytes(b"half a checkpoint")
    with writing(run):
        assert not left.exists()


def test_a_run_is_used_through_its_best_checkpoint_or_a_checkpoint_file(tmp_path):
    with pytest.raises(SeqlabError, match="no such run folder"):
        checkpoint_path(tmp_path / "missing")
    with pytest.raises(SeqlabError, match="not a run folder"):
        checkpoint_path(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert checkpoint_path(tmp_path / "model.safetensors") == tmp_path / "model.safetensors"
