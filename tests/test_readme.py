"""The README works as written: every Python block runs, and every command line runs at tiny size in order
(later lines use the runs earlier ones made), except the set-up itself (make, source) and the lines marked as
needing a dataset or the network, whose command must still parse."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"
TINY = {  # overrides that make each shipped config a few seconds of work
    "sentiment": ["data.limit=200", "data.batch_size=16", "model.embedding_dim=8", "model.hidden_size=8"],
    "lm": ["data.limit=20000", "data.block_size=16", "data.batch_size=4", "model.embedding_dim=8",
           "model.hidden_size=16", "model.num_layers=1", "model.n_layer=1", "model.n_embd=16", "model.n_head=2",
           "sample.length=5"],
    "translate": ["data.limit=1500", "data.test_sources=10", "data.val_sources=10", "data.batch_size=8",
                  "model.d_model=16", "model.hidden_size=16", "model.dim_feedforward=32", "model.num_layers=1",
                  "model.nhead=2", "max_len=5"],
    "forecast": ["model.ensemble=1", "model.hidden_size=4", "sarima=false"],
}
BUDGET = ["fit.max_steps=2", "fit.max_seconds=null", "fit.eval_every=2", "fit.plots=false"]
RUN_OF = {"classify": "sentiment", "eval": "sentiment", "export": "sentiment", "generate": "char_lstm",
          "translate": "translate_gru", "forecast": "airline", "diagnose": "char_lstm", "train": "char_lstm"}


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def command_lines() -> list[tuple[str, str]]:
    """(command, comment) of every line of the README's bash blocks."""
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                lines.append((command.strip(), comment.strip()))
    return lines


@pytest.fixture
def readme_folder(tmp_path, monkeypatch, hf_folder):
    """A fresh folder with nothing set, and the Hugging Face folders the README names (tiny ones)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEQLAB_DATA_DIR", raising=False)
    monkeypatch.setenv("SEQLAB_HOME", str(tmp_path / "home"))
    shutil.copytree(hf_folder("gpt2"), tmp_path / "checkpoints" / "gpt2")
    shutil.copytree(hf_folder("bert"), tmp_path / "checkpoints" / "bert-base-uncased")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tmp_path
    torch.set_num_threads(threads)


def test_every_python_block_runs_as_written(readme_folder, capsys):
    python = blocks("python")
    assert len(python) >= 3
    for block in python:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    assert (readme_folder / "out" / "gpt2" / "model.safetensors").is_file()


def test_every_command_line_runs_at_tiny_size(readme_folder, cli):
    runs: dict[str, Path] = {}  # shipped config name -> the run made from it
    resumed: list[int] = []
    ran = 0
    for command, comment in command_lines():
        words = shlex.split(command)
        if words[0] in ("make", "source"):  # the set-up itself: what make test and make demo do
            continue
        if words[0].endswith("/seqlab"):  # the venv's path to the same command
            words = ["seqlab", *words[1:]]
        if "needs" in comment:  # a dataset or the network this test does not have: the command must parse
            subcommand = [w for w in words[1:] if not w.startswith("-") and "=" not in w][:2]
            code, out = cli(*subcommand[: 2 if subcommand[0] in ("data", "tutorials") else 1], "--help")
            assert code == 0, (command, out)
            continue
        if words[0] == "torchrun":
            _torchrun(words, readme_folder)
            ran += 1
            continue
        args = _tiny(words[1:], runs, resumed)
        code, out = cli(*args)
        assert code == 0, (command, args, out[-2000:])
        if words[1] == "train" and "--config" in words and "--folds" not in words:
            config = words[words.index("--config") + 1]
            runs[config] = sorted((readme_folder / "runs").iterdir(), key=lambda p: p.stat().st_mtime)[-1]
        ran += 1
    assert ran >= 20


def _tiny(args: list[str], runs: dict[str, Path], resumed: list[int]) -> list[str]:
    """The README's arguments with RUN replaced by a run made above and the budgets made tiny."""
    if "RUN" in args:
        args = [str(runs[RUN_OF[args[0]]]) if a == "RUN" else a for a in args]
    if args[0] != "train":
        return args
    if "--resume" in args:  # each resume goes two steps past the last
        resumed.append(1)
        return [a for a in args if not a.startswith("fit.max_steps")] + [f"fit.max_steps={2 + 2 * len(resumed)}"]
    args = [("2" if previous == "--folds" else a) for previous, a in zip(["", *args[:-1]], args, strict=True)]
    return [*args, *TINY[args[1]], *BUDGET, "--runs", "runs"]


def _torchrun(words: list[str], folder: Path) -> None:
    """The README's torchrun line, at tiny size: two processes on gloo."""
    args = [*words[1:], *TINY["sentiment"], *BUDGET, "--runs", str(folder / "ddp")]
    env = {k: v for k, v in os.environ.items() if k not in ("SEQLAB_DATA_DIR",)}
    launcher = Path(sys.executable).with_name("torchrun")
    result = subprocess.run([str(launcher), *args], capture_output=True, text=True, timeout=600, env=env,
                            cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Run saved in" in result.stdout

