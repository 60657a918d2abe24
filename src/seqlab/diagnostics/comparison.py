"""RNN vs LSTM vs GRU (and the LSTM variants), measured: parameters, time, memory, accuracy.

Each cell is compared twice: at the same hidden size H, and at the same parameter count as the
LSTM of size H (its hidden size chosen so that its recurrent layer has as close as possible to
the LSTM's number of parameters). For a single layer with input size I and both biases,

    RNN: H(I + H + 2)     GRU: 3H(I + H + 2)     LSTM: 4H(I + H + 2)

so at equal H a GRU has exactly 3/4 of an LSTM's parameters. The report then checks the
curriculum's claims against what was measured here and says which hold and by how much.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.diagnostics.compare_flow import CELLS, build_cell
from seqlab.diagnostics.long_memory import LongMemoryConfig, run_long_memory
from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.training.run_config import load_run_config
from seqlab.training.runner import train

log = logging.getLogger(__name__)
DEFAULT_CELLS = ("rnn_tanh", "lstm", "gru", "lstm_peephole", "lstm_coupled")


@dataclass
class CompareConfig:
    """Sizes and budgets of a comparison run."""

    cells: tuple[str, ...] = DEFAULT_CELLS  # names of seqlab.diagnostics.CELLS; "lstm" is the reference
    hidden_size: int = 64  # H of the LSTM; others match it (equal size) or its parameter count
    input_size: int = 32  # I used for parameter counts, timing and memory
    timing_length: int = 100  # steps of the timed sequence
    timing_batch: int = 32  # B of the timed batch
    timing_repeats: int = 5  # timed training steps per cell (median taken), interleaved across cells
    adding_length: int = 50  # adding-problem length
    copy_delay: int = 20  # copy-memory delay
    task_steps: int = 300  # optimisation steps on adding and on copy
    char_lm_steps: int = 200  # optimisation steps of the character LM on Tiny Shakespeare
    char_lm_block: int = 64  # characters per char-LM training sequence
    seed: int = 0

    def validate(self) -> None:
        unknown = [c for c in self.cells if c not in CELLS]
        if unknown or "lstm" not in self.cells:
            raise SeqlabError(f"cells: expected names from {', '.join(CELLS)} including lstm (the reference), "
                              f"got {', '.join(self.cells)}")
        for name in ("hidden_size", "input_size", "timing_length", "timing_batch", "timing_repeats", "adding_length",
                     "copy_delay", "char_lm_block"):
            if getattr(self, name) < 1:
                raise SeqlabError(f"{name}: expected a positive integer, got {getattr(self, name)}")
        if self.adding_length < 2:
            raise SeqlabError(f"adding_length: expected at least 2, got {self.adding_length}")
        if self.task_steps < 0 or self.char_lm_steps < 0:
            raise SeqlabError("task_steps and char_lm_steps: expected >= 0 (0 skips the tasks)")


def parameter_count(cell: str, input_size: int, hidden_size: int) -> int:
    layer = build_cell(cell, input_size, hidden_size)
    return sum(p.numel() for p in layer.parameters())


def matching_hidden_size(cell: str, input_size: int, target: int) -> int:
    """The hidden size whose layer has the parameter count closest to ``target`` (counts grow with H)."""
    low, high = 1, 1
    while parameter_count(cell, input_size, high) < target:
        high *= 2
    while high - low > 1:  # invariant: count(low) < target <= count(high), or low == 1
        middle = (low + high) // 2
        if parameter_count(cell, input_size, middle) < target:
            low = middle
        else:
            high = middle
    return min((low, high), key=lambda h: abs(parameter_count(cell, input_size, h) - target))


def saved_activation_bytes(layer: torch.nn.Module, inputs: torch.Tensor) -> int:
    """Bytes autograd keeps for the backward pass of one forward call (each storage counted once)."""
    seen: dict[tuple[int, int], int] = {}

    def pack(tensor: torch.Tensor):
        storage = tensor.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = layer(inputs)[0]
    del output
    parameters = {p.untyped_storage().data_ptr() for p in layer.parameters()}
    return sum(size for (pointer, _), size in seen.items() if pointer not in parameters and pointer != 0)


def time_training_steps(layers: dict[str, torch.nn.Module], inputs: torch.Tensor, repeats: int) -> dict[str, float]:
    """Median seconds of forward + backward per cell, the cells interleaved so load drifts hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in layers}
    for layer in layers.values():  # one untimed warm-up each
        layer(inputs)[0].sum().backward()
    for _ in range(repeats):
        for name, layer in layers.items():
            layer.zero_grad(set_to_none=True)
            start = time.perf_counter()
            layer(inputs)[0].sum().backward()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _same_engine(layer: torch.nn.Module) -> torch.nn.Module:
    """Time every cell on seqlab's reference loop, so the ratios compare cells, not engines."""
    if hasattr(layer, "engine"):
        layer.engine = "reference"
    return layer


def torch_peer_times(input_size: int, hidden_size: int, inputs: torch.Tensor, repeats: int) -> dict[str, float]:
    """The same measurement on PyTorch's fused ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (the peer)."""
    torch.manual_seed(0)
    peers = {"rnn_tanh": torch.nn.RNN(input_size, hidden_size), "lstm": torch.nn.LSTM(input_size, hidden_size),
             "gru": torch.nn.GRU(input_size, hidden_size)}
    return time_training_steps(peers, inputs, repeats)


def _char_lm_loss(cell: str, hidden_size: int, config: CompareConfig) -> float:
    """Validation loss of a one-layer character LM after ``char_lm_steps`` steps, trained by the ``lm`` recipe."""
    cls, options = CELLS[cell]
    arch = {"RNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[cls.__name__]
    run_config = load_run_config("lm", None, [
        f"model.arch={arch}", f"model.embedding_dim={config.input_size}", f"model.hidden_size={hidden_size}",
        "model.num_layers=1", "model.dropout=0.0", f"model.layer_options={json.dumps(dict(options))}",
        f"data.block_size={config.char_lm_block}", "data.batch_size=32", f"fit.max_steps={config.char_lm_steps}",
        f"fit.eval_every={config.char_lm_steps}", "fit.schedule=cosine", "fit.warmup_steps=0", "fit.lr=3e-3",
        f"fit.seed={config.seed}", "fit.plots=false", "sample.length=0"])
    return train(run_config).results["loss"]


def _task_loss(task: str, cell: str, hidden_size: int, config: CompareConfig) -> dict:
    T = config.adding_length if task == "adding" else config.copy_delay
    run = run_long_memory(LongMemoryConfig(task=task, cell=cell, T=T, hidden_size=hidden_size, batch_size=32,
                                           steps=config.task_steps, eval_every=max(1, config.task_steps),
                                           test_size=256, seed=config.seed))
    return {"test_loss": run.final_test_loss, "ratio_to_baseline": run.ratio_to_baseline, "baseline": run.baseline}


def run_comparison(config: CompareConfig, run_dir: str | Path,
                   on_progress: Callable[[str], None] | None = None) -> dict:
    """Measure every cell at equal hidden size and at equal parameter count; write the report into ``run_dir``.

    Writes ``comparison.json`` and ``comparison.md`` and returns the JSON-ready report.
    """
    config.validate()
    say = on_progress or (lambda message: None)
    H, I = config.hidden_size, config.input_size
    lstm_params = parameter_count("lstm", I, H)
    settings = {"equal_hidden": {c: H for c in config.cells},
                "equal_params": {c: matching_hidden_size(c, I, lstm_params) for c in config.cells}}
    torch.manual_seed(config.seed)
    inputs = torch.randn(config.timing_length, config.timing_batch, I)
    rows = {}
    for setting, sizes in settings.items():
        layers = {}
        for cell, size in sizes.items():
            torch.manual_seed(config.seed)
            layers[cell] = _same_engine(build_cell(cell, I, size))
        say(f"timing {setting}")
        seconds = time_training_steps(layers, inputs, config.timing_repeats)
        for cell, size in sizes.items():
            row = {"hidden_size": size, "parameters": parameter_count(cell, I, size),
                   "seconds_per_step": seconds[cell], "saved_activation_bytes": saved_activation_bytes(layers[cell],
                                                                                                      inputs)}
            if config.task_steps:
                for task in ("adding", "copy"):
                    say(f"{setting}: {cell} (H={size}) on {task}")
                    row[task] = _task_loss(task, cell, size, config)
            if config.char_lm_steps:
                say(f"{setting}: {cell} (H={size}) on Tiny Shakespeare")
                row["char_lm_val_loss"] = _char_lm_loss(cell, size, config)
            rows.setdefault(setting, {})[cell] = row
        if setting == "equal_hidden":
            peers = torch_peer_times(I, H, inputs, config.timing_repeats)
            for cell, seconds_per_step in peers.items():
                if cell in rows[setting]:
                    rows[setting][cell]["torch_seconds_per_step"] = seconds_per_step
                    rows[setting][cell]["torch_time_vs_lstm"] = seconds_per_step / peers["lstm"]
        for row in rows[setting].values():
            reference = rows[setting]["lstm"]
            row["parameters_vs_lstm"] = row["parameters"] / reference["parameters"]
            row["time_vs_lstm"] = row["seconds_per_step"] / reference["seconds_per_step"]
            row["memory_vs_lstm"] = row["saved_activation_bytes"] / reference["saved_activation_bytes"]
    report = {"config": dataclasses.asdict(config), "settings": rows, "claims": check_claims(rows, config),
              "threads": torch.get_num_threads()}
    run_dir = Path(run_dir)
    write_json_atomic(run_dir / "comparison.json", report)
    write_text_atomic(run_dir / "comparison.md", comparison_markdown(report))
    return report


def check_claims(rows: dict, config: CompareConfig) -> list[dict]:
    """The curriculum's claims, each with what was measured here and whether it holds (None: inconclusive)."""
    claims = []
    same, fair = rows["equal_hidden"], rows["equal_params"]

    def add(claim: str, holds: bool | None, measured: str) -> None:
        claims.append({"claim": claim, "holds": holds, "measured": measured})

    if "gru" in same:
        ratio = same["gru"]["parameters_vs_lstm"]
        add("GRU has 25% fewer parameters than LSTM (same H)", abs(ratio - 0.75) < 1e-12,
            f"GRU/LSTM parameters = {ratio:.4f}")
        speed = same["gru"]["time_vs_lstm"]
        add("GRU is faster than LSTM (same H), seqlab's reference loop", speed < 1.0,
            f"GRU/LSTM time per training step = {speed:.2f} (T={config.timing_length}, B={config.timing_batch})")
        fused = same["gru"]["torch_time_vs_lstm"]
        add("GRU is faster than LSTM (same H), PyTorch's fused nn.GRU / nn.LSTM", fused < 1.0,
            f"GRU/LSTM time per training step = {fused:.2f} (T={config.timing_length}, B={config.timing_batch})")
    if config.task_steps and "gru" in fair:
        for task in ("adding", "copy"):
            lstm, gru = fair["lstm"][task], fair["gru"][task]
            learnt = min(lstm["ratio_to_baseline"], gru["ratio_to_baseline"]) < 0.9
            add(f"LSTM is better than GRU on long dependencies ({task}, equal parameters)",
                lstm["test_loss"] < gru["test_loss"] if learnt else None,
                f"test loss LSTM {lstm['test_loss']:.4f} vs GRU {gru['test_loss']:.4f} after {config.task_steps} "
                f"steps" + ("" if learnt else " (neither went below 0.9 x the memoryless baseline)"))
    if config.task_steps and "rnn_tanh" in same:
        rnn = same["rnn_tanh"]["adding"]["ratio_to_baseline"]
        gated = min(same[c]["adding"]["ratio_to_baseline"] for c in same if c != "rnn_tanh")
        add(f"A tanh RNN cannot learn the adding problem (T={config.adding_length}) while gated cells can",
            rnn > 0.9 and gated < 0.5,
            f"loss/baseline: tanh RNN {rnn:.3f}, best gated cell {gated:.3f} after {config.task_steps} steps")
    if config.char_lm_steps and "rnn_tanh" in fair:
        rnn = fair["rnn_tanh"]["char_lm_val_loss"]
        lstm = fair["lstm"]["char_lm_val_loss"]
        add("Gated cells model characters better than a vanilla RNN (equal parameters)", lstm < rnn,
            f"val loss LSTM {lstm:.3f} vs tanh RNN {rnn:.3f} nats/char after {config.char_lm_steps} steps")
    variants = [c for c in ("lstm_peephole", "lstm_coupled", "lstm_layer_norm") if c in fair]
    if variants and config.char_lm_steps:
        lstm = fair["lstm"]["char_lm_val_loss"]
        gaps = {c: fair[c]["char_lm_val_loss"] / lstm - 1 for c in variants}
        add("LSTM variants perform about as well as the vanilla LSTM (Greff et al. 2017; within 5%)",
            all(abs(g) <= 0.05 for g in gaps.values()),
            ", ".join(f"{c} {g:+.1%}" for c, g in gaps.items()) + " char-LM val loss vs LSTM")
    return claims


def verdict_word(holds: bool | None) -> str:
    return "inconclusive" if holds is None else "yes" if holds else "no"


def comparison_markdown(report: dict) -> str:
    config = report["config"]
    lines = [f"# RNN / LSTM / GRU comparison (reference: LSTM with H = {config['hidden_size']}, "
             f"input size {config['input_size']}, seed {config['seed']}, {report['threads']} thread(s))", ""]
    for setting, title in (("equal_hidden", "Equal hidden size"), ("equal_params", "Equal parameter count")):
        lines += [f"## {title}", "",
                  "| cell | H | parameters | vs LSTM | time/step vs LSTM | torch.nn time vs LSTM | "
                  "saved activations vs LSTM | adding loss/baseline | copy loss/baseline | char-LM val loss |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for cell, r in report["settings"][setting].items():
            adding = f"{r['adding']['ratio_to_baseline']:.3f}" if "adding" in r else "-"
            copy = f"{r['copy']['ratio_to_baseline']:.3f}" if "copy" in r else "-"
            lm = f"{r['char_lm_val_loss']:.3f}" if "char_lm_val_loss" in r else "-"
            fused = f"{r['torch_time_vs_lstm']:.2f}" if "torch_time_vs_lstm" in r else "-"
            lines.append(f"| {cell} | {r['hidden_size']} | {r['parameters']:,} | {r['parameters_vs_lstm']:.3f} | "
                         f"{r['time_vs_lstm']:.2f} | {fused} | {r['memory_vs_lstm']:.2f} | {adding} | {copy} | {lm} |")
        lines.append("")
    lines += ["## The curriculum's claims", "", "| claim | holds here? | measured |", "|---|---|---|"]
    for c in report["claims"]:
        lines.append(f"| {c['claim']} | {verdict_word(c['holds'])} | {c['measured']} |")
    lines += ["", f"Tasks: adding T = {config['adding_length']}, copy T = {config['copy_delay']}, "
              f"{config['task_steps']} steps each; char-LM on Tiny Shakespeare, {config['char_lm_steps']} steps of "
              f"{config['char_lm_block']} characters. Times are medians of {config['timing_repeats']} interleaved "
              "forward+backward passes on seqlab's reference loop (and on torch.nn's fused layers for the peer "
              "column); ratios come from one run. Saved activations: bytes autograd keeps for backward."]
    return "\n".join(lines) + "\n"

