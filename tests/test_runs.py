"""Run folders."""

from seqlab import runs


def test_new_run_dirs_never_collide(tmp_path):
    first = runs.new_run_dir(tmp_path, "demo")
    second = runs.new_run_dir(tmp_path, "demo")
    assert first != second and first.is_dir() and second.is_dir()
    assert first.name.startswith("demo-")
