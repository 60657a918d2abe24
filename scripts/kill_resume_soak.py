"""Kill ``seqlab train`` with SIGKILL at random moments, resume it each time, and compare with a run never killed.

The promise under test (issue 15): a run resumed from its last checkpoint after ``kill -9`` at any
moment (mid-step, mid-write, mid-evaluation) ends bit-for-bit where the uninterrupted run ends. Both
runs train the same small character LSTM (dropout on, so the saved random state matters) with a
checkpoint after every step; the killed run is restarted with ``--resume`` until it finishes, and
then every tensor of its ``last`` and ``best`` checkpoints, its ``results.json`` and the losses in its
``metrics.jsonl`` are compared with the reference run's.

    python scripts/kill_resume_soak.py --kills 20            # about five minutes on 2 cores
    python scripts/kill_resume_soak.py --kills 40 --seed 7 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

OVERRIDES = ["--config", "char_lstm", "model.hidden_size=48", "model.embedding_dim=16", "model.num_layers=2",
             "model.dropout=0.2", "data.block_size=32", "data.batch_size=8", "fit.max_seconds=null",
             "fit.warmup_steps=5", "fit.eval_every=10", "fit.checkpoint_every=1", "fit.log_every=1",
             "sample.length=20"]


def seqlab(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqlab", *args]


def run_folder(runs: Path) -> Path | None:
    folders = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
    return folders[0] if folders else None


def losses(run: Path) -> list[tuple[int, float]]:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [(r["step"], r.get("train_loss", r.get("val_loss"))) for r in records]


def compare(reference: Path, killed: Path) -> list[str]:
    """The differences between two finished runs (empty when they are bit-for-bit the same)."""
    differences = []
    for name in ("last.safetensors", "best.safetensors"):
        ours, theirs = load_file(killed / "checkpoints" / name), load_file(reference / "checkpoints" / name)
        if ours.keys() != theirs.keys():
            differences.append(f"{name}: tensors {sorted(ours.keys() ^ theirs.keys())}")
        differences += [f"{name}: {key} differs" for key in theirs
                        if key in ours and not (ours[key].dtype == theirs[key].dtype and ours[key].equal(theirs[key]))]
    ours = json.loads((killed / "results.json").read_text())
    theirs = json.loads((reference / "results.json").read_text())
    differences += [f"results.json: {key} {ours.get(key)} != {value}" for key, value in theirs.items()
                    if key != "seconds" and ours.get(key) != value]
    if losses(killed) != losses(reference):
        differences.append("metrics.jsonl: the losses differ")
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs to deliver before letting the run finish")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill times")
    parser.add_argument("--json", type=str, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    common = [*OVERRIDES, f"fit.max_steps={args.steps}"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        subprocess.run(seqlab("train", "lm", "--runs", str(tmp / "reference"), "--threads", "1", *common), env=env,
                       check=True, stdout=subprocess.DEVNULL)
        reference = run_folder(tmp / "reference")
        uninterrupted = time.perf_counter() - start
        kills, launches, steps_at_kill, rounds, differences = 0, 0, [], 0, []
        while kills < args.kills:  # a round: one run, killed until it finishes, then compared
            rounds += 1
            runs = tmp / f"killed-{rounds}"
            while True:
                folder = run_folder(runs)
                resumable = folder is not None and (folder / "checkpoints" / "last.safetensors").exists()
                if folder is not None and not resumable:  # killed before its first checkpoint: start again
                    shutil.rmtree(folder)
                command = (seqlab("train", "lm", "--resume", str(folder), "--threads", "1") if resumable
                           else seqlab("train", "lm", "--runs", str(runs), "--threads", "1", *common))
                launches += 1
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                # a random moment of the process's life, from start-up to the end of training
                try:
                    process.wait(timeout=rng.uniform(0.5, uninterrupted * 0.6))
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    kills += 1
                    metrics = run_folder(runs) / "metrics.jsonl" if run_folder(runs) else None
                    steps_at_kill.append(len(metrics.read_text().splitlines()) if metrics and metrics.exists() else 0)
                    continue
                if process.returncode != 0:
                    raise SystemExit(f"launch {launches} failed (exit {process.returncode}):\n"
                                     f"{process.stderr.read().decode()}")
                break
            differences += [f"round {rounds}: {d}" for d in compare(reference, run_folder(runs))]
    summary = {"kills": kills, "launches": launches, "runs_compared": rounds, "steps": args.steps,
               "metrics_lines_at_each_kill": steps_at_kill,
               "uninterrupted_seconds": round(uninterrupted, 1), "identical": not differences,
               "differences": differences[:20]}
    print(json.dumps(summary, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    if differences:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
