"""Damaged run folders through every command that reads them: one line, exit code 2, the file named, nothing
written. Each file of a real (tiny) run is truncated, emptied, given the wrong JSON type, given tensors of the
wrong shape or dtype, stripped of a tensor, or swapped for the same file of another task's run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from seqlab.cli.app import main
from seqlab.training.checkpoint import tensor_digest

REVIEWS = ["a gorgeous witty film,pos", "a dull tedious mess,neg", "great fun and moving,pos", "boring and flat,neg"]
TINY_SENTIMENT = ["data.val_fraction=0.25", "data.batch_size=4", "model.embedding_dim=8", "model.hidden_size=8",
                  "fit.epochs=1", "fit.max_seconds=null"]
TINY_LM = ["data.limit=3000", "data.block_size=8", "data.batch_size=4", "model.embedding_dim=8",
           "model.hidden_size=8", "model.num_layers=1", "fit.max_steps=2", "fit.eval_every=2", "fit.max_seconds=null",
           "sample.length=3"]



@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """A tiny sentiment run and a tiny language-model run, trained once for every case."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("runs")
    reviews = root / "reviews.csv"
    reviews.write_text("text,label\n" + "\n".join(REVIEWS * 4) + "\n", encoding="utf-8")
    made = {}
    for task, overrides in (("sentiment", [f"data.path={reviews}", *TINY_SENTIMENT]), ("lm", TINY_LM)):
        with pytest.raises(SystemExit) as done:
            main(["train", task, *overrides, "--runs", str(root / task)])
        assert done.value.code in (0, None)
        (made[task],) = (root / task).iterdir()
    return made


# -- damage ---------------------------------------------------------------------------------------

def truncate(path: Path, other: Path) -> None:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 3)])


def empty(path: Path, other: Path) -> None:
    path.write_bytes(b"")


def wrong_json_type(path: Path, other: Path) -> None:
    path.write_text(json.dumps(["not", "an", "object"]))


def flip_bytes(path: Path, other: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) - 64, len(data) - 32):  # inside the last tensor's data
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _rewrite(path: Path, change) -> None:
    """Rewrite a checkpoint with ``change(tensors)`` applied and a checksum that matches, as a tool might."""
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["seqlab"])
        tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    change(tensors)
    meta["tensor_sha256"] = tensor_digest(tensors)
    path.write_bytes(safetensors_bytes(tensors, metadata={"seqlab": json.dumps(meta)}))


def wrong_shape(path: Path, other: Path) -> None:
    def change(tensors):
        name = next(n for n in tensors if n.startswith("model.") and n.endswith("weight"))
        tensors[name] = torch.zeros(3, 5)
    _rewrite(path, change)


def wrong_dtype(path: Path, other: Path) -> None:
    def change(tensors):
        name = next(n for n in tensors if n.startswith("model.") and n.endswith("weight"))
        tensors[name] = tensors[name].to(torch.int32)
    _rewrite(path, change)


def missing_tensor(path: Path, other: Path) -> None:
    def change(tensors):
        del tensors[next(n for n in tensors if n.startswith("model."))]
    _rewrite(path, change)


def other_task(path: Path, other: Path) -> None:
    shutil.copyfile(other, path)


DAMAGES = {"checkpoints/best.safetensors": [truncate, empty, flip_bytes, wrong_shape, wrong_dtype, missing_tensor,
                                            other_task],
           "checkpoints/last.safetensors": [truncate, flip_bytes, missing_tensor],
           "config.json": [truncate, empty, wrong_json_type, other_task],
           "results.json": [wrong_json_type]}
COMMANDS = {"sentiment": [["eval"], ["classify", "{run}", "a witty film"], ["export"],
                          ["train", "sentiment", "--resume", "{run}", "fit.epochs=2"]],
            "lm": [["eval"], ["generate", "{run}", "--length", "3"],
                   ["diagnose", "gates", "--run", "{run}", "--text", "First Citizen"],
                   ["train", "lm", "--resume", "{run}", "fit.max_steps=4"]]}
CASES = [(task, file, damage, command) for task in COMMANDS for file, damages in DAMAGES.items()
         for damage in damages for command in COMMANDS[task]]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.name != ".lock"}


@pytest.mark.parametrize(("task", "file", "damage", "command"), CASES,
                         ids=[f"{t}-{f.split('/')[-1]}-{d.__name__}-{c[0]}{'-' + c[1] if c[0] == 'diagnose' else ''}"
                              for t, f, d, c in CASES])
def test_a_damaged_run_is_one_line_exit_2_and_stays_as_it_was(runs, tmp_path, cli, task, file, damage, command):
    run = tmp_path / "run"
    shutil.copytree(runs[task], run)
    other = runs["lm" if task == "sentiment" else "sentiment"] / file
    damage(run / file, other)
    before = _snapshot(run)
    args = [a.format(run=run) for a in command] if "{run}" in " ".join(command) else [*command, run]
    if command[0] == "diagnose":
        args += ["--runs", tmp_path / "diagnostics"]
    code, out = cli(*args)
    # every command reads the best checkpoint; a resumed run reads the last one and config.json; the others read
    # config.json only to check that it names the checkpoint's task (a damaged one is ignored: they need nothing in it)
    reads_it = {"checkpoints/best.safetensors": True, "checkpoints/last.safetensors": command[0] == "train",
                "config.json": command[0] == "train" or damage is other_task, "results.json": False}[file]
    if not reads_it:  # the command does not need that file: it must work as usual
        assert code == 0, out
        return
    assert code == 2, out
    assert "Traceback" not in out, out
    error = next(line for line in out.splitlines() if line.startswith("error: "))  # one line
    assert str(run) in error or Path(file).name in error, error  # the file (or its run folder) is named
    assert _snapshot(run) == before  # nothing the user saved was changed
