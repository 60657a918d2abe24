"""The runner: one generic run of any recipe, and the way back from a saved run to a usable model.

    train(config, run_dir)   resolved config -> data and tokenizers -> model -> fit -> the best
                             checkpoint -> the final evaluation -> a sample; the run folder
                             (``seqlab.training.run_folder``) gets every file, from one writer at a time
    load_run(path)           a run folder (or one checkpoint file) -> ``LoadedRun``: the recipe, the
                             config, the model with its best weights, the tokenizers and the state,
                             all read from the checkpoint alone
    evaluate_run(path)       the final evaluation again, on the run's own data split
    cross_validate(...)      k runs, one per fold, and their mean (recipes that can)

Nothing is written before the data, the tokenizers and the model are built: a config or dataset
that cannot work fails without leaving a folder behind. A resumed run checks that its checkpoint
belongs to the same task, config (budgets aside) and data before it writes anything.
"""

from __future__ import annotations

import json
import logging
import math
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic, write_text_atomic
from seqlab.nn.modes import eval_mode
from seqlab.text.tokenizer import Tokenizer
from seqlab.training import distributed
from seqlab.training.checkpoint import Checkpoint, check_model_state, load_checkpoint, load_model_state
from seqlab.training.config import from_dict, to_dict
from seqlab.training.fit import Callback, History
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.run_folder import BEST, CONFIG, LAST, RESULTS, SAMPLE, checkpoint_path, writing
from seqlab.training.tasks import recipe

log = logging.getLogger(__name__)

#: What a resumed run may change: its budget. Anything else would make a different run.
BUDGET_KEYS = ("fit.max_steps", "fit.max_seconds", "fit.epochs")


@dataclass
class RunResult:
    """What a run did: its history, the best validation metrics, the final evaluation, its sample."""

    run_dir: Path | None
    history: History
    best_metrics: dict
    results: dict
    parameters: int
    sample: str | None
    state: dict  # what the data decided (sizes, labels): as the checkpoint keeps it
    data: dict  # figures of the data (examples, tokens)


def train(config: Any, run_dir: str | Path | None = None, *, callbacks: tuple[Callback, ...] | list = (),
          resume: bool = False) -> RunResult:
    """Run the recipe of ``config.task``; ``run_dir`` (created when missing) keeps everything, None nothing."""
    chosen = recipe(config.task)
    chosen.check(config)
    run_dir = Path(run_dir) if run_dir is not None else None
    main = distributed.is_main_process()
    lock = writing(run_dir) if run_dir is not None and main and (resume or run_dir.exists()) else nullcontext()
    with lock:
        tokenizers = None
        if resume:
            if run_dir is None:
                raise SeqlabError("resume: expected the folder of the run to continue")
            tokenizers = _check_resumable(chosen, config, run_dir)
        _phase(callbacks, "preparing the data")
        data = chosen.build_data(config, tokenizers)
        torch.manual_seed(config.fit.seed)  # the model's initial weights
        model = chosen.build_model(config, data.state)
        if resume:  # the saved weights must fit before the first file is touched
            load_model_state(model, load_checkpoint(run_dir / LAST))
            if (run_dir / BEST).exists():
                check_model_state(model, load_checkpoint(run_dir / BEST))
        else:
            chosen.initialize(model, config, data)
        if run_dir is not None and not run_dir.exists() and main:
            with writing(run_dir):  # a new folder: made only now that the data and the model are ready
                return _train(chosen, config, data, model, run_dir, callbacks, resume, main)
        return _train(chosen, config, data, model, run_dir, callbacks, resume, main)


class _RunFiles(Callback):
    """Writes the run's config (and a new run's tokenizers) when training really starts: after ``fit`` has
    read everything a resumed run needs, so a run that cannot start changes nothing."""

    def __init__(self, run_dir: Path, config: Any, tokenizers: dict[str, Tokenizer], new: bool):
        self.run_dir, self.config, self.tokenizers, self.new = run_dir, config, tokenizers, new
        self.written = False

    def on_train_begin(self, plan) -> None:
        if self.written:  # an ensemble trains its members one after another
            return
        write_json_atomic(self.run_dir / CONFIG, to_dict(self.config))
        if self.new:
            for name, tokenizer in self.tokenizers.items():
                tokenizer.save(self.run_dir / name)
        self.written = True


def _train(chosen: Recipe, config: Any, data: TaskData, model: torch.nn.Module, run_dir: Path | None,
           callbacks, resume: bool, main: bool) -> RunResult:
    writes = run_dir is not None and main
    if writes:
        callbacks = [_RunFiles(run_dir, config, data.tokenizers, new=not resume), *callbacks]
    meta = {"task": chosen.name, "config": to_dict(config), "state": data.state,
            "tokenizers": {name: tokenizer.to_str() for name, tokenizer in data.tokenizers.items()}}
    _phase(callbacks, "training")
    history = chosen.fit_model(model, config, data, run_dir, callbacks, resume, meta)
    distributed.barrier()  # rank 0 has written the best checkpoint before any rank reads it
    if run_dir is not None:
        load_model_state(model, load_checkpoint(run_dir / BEST))
    results, sample = {}, None
    if main:
        with eval_mode(model), torch.no_grad():
            _phase(callbacks, "evaluating the best weights")
            results = chosen.evaluate(model, config, data)
            loaded = LoadedRun(chosen, config, model, data.tokenizers, data.state, run_dir or Path("."))
            sample = chosen.sample(loaded)
    if writes:
        write_json_atomic(run_dir / RESULTS, _jsonable({**results, "best_validation": history.best_metrics,
                                                        "best_step": history.best_step, "steps": history.steps,
                                                        "seconds": round(history.seconds, 3), **data.extra}))
        if sample is not None:
            write_text_atomic(run_dir / SAMPLE, sample)
    parameters = sum(p.numel() for p in model.parameters())
    return RunResult(run_dir, history, history.best_metrics, results, parameters, sample, data.state, data.extra)


def _phase(callbacks, name: str) -> None:
    for callback in callbacks:
        callback.on_phase(name)


def load_run(path: str | Path) -> LoadedRun:
    """A run folder's best checkpoint (or the checkpoint file ``path``) as a usable model.

    Everything comes from the checkpoint; a run folder's ``config.json``, when readable, must name the same
    task (a checkpoint of another run copied into the folder is refused).
    """
    checkpoint = load_checkpoint(checkpoint_path(path))
    task = checkpoint.field("task", str)
    described = _folder_task(Path(path))
    if described is not None and described != task:
        raise SeqlabError(f"{checkpoint.path}: is a {task!r} checkpoint, but {Path(path) / CONFIG} describes a "
                          f"{described!r} run; the checkpoint was copied from another run")
    chosen = recipe(task)
    config = from_dict(chosen.config_class, checkpoint.field("config", dict))
    tokenizers = {name: _tokenizer(checkpoint, name, text)
                  for name, text in checkpoint.field("tokenizers", dict).items()}
    state = checkpoint.field("state", dict)
    try:
        model = chosen.build_model(config, state)
    except (KeyError, TypeError) as error:
        raise SeqlabError(f"{checkpoint.path}: its state does not describe a {chosen.name!r} model ({error})") \
            from None
    load_model_state(model, checkpoint)
    path = Path(path)
    run_dir = path if path.is_dir() else path.parent.parent if path.parent.name == "checkpoints" else path.parent
    return LoadedRun(chosen, config, model.eval(), tokenizers, state, run_dir)


def evaluate_run(path: str | Path) -> dict:
    """The final evaluation of a saved run's best weights, on the data its config names."""
    run = load_run(path)
    data = run.recipe.build_data(run.config, run.tokenizers)
    with eval_mode(run.model), torch.no_grad():
        return run.recipe.evaluate(run.model, run.config, data)


def cross_validate(config: Any, run_dir: str | Path | None, folds: int, callbacks_for=None) -> dict:
    """k-fold cross-validation: one run per fold (``run_dir/fold-<k>``), the best metric of each, their mean.

    ``callbacks_for(k)`` gives each fold's callbacks.
    """
    chosen = recipe(config.task)
    if Ability.CROSS_VALIDATE not in chosen.abilities:
        raise SeqlabError(f"--folds: task {chosen.name!r} has no cross-validation; it is for classification tasks")
    run_dir = Path(run_dir) if run_dir is not None else None
    metric, scores = config.fit.metric, []
    for k in range(folds):
        fold_config = replace(config, data=replace(config.data, folds=folds, fold=k))
        result = train(fold_config, run_dir / f"fold-{k}" if run_dir is not None else None,
                       callbacks=callbacks_for(k) if callbacks_for else ())
        scores.append(result.best_metrics[metric])
        log.info("fold %d: %s %.4f", k, metric, scores[-1])
    mean = sum(scores) / len(scores)
    std = math.sqrt(sum((s - mean) ** 2 for s in scores) / max(1, len(scores) - 1))
    summary = {"folds": folds, "metric": metric, "scores": scores, "mean": mean, "std": std}
    if run_dir is not None:
        write_json_atomic(run_dir / "cross_validation.json", summary)
    return summary


def _check_resumable(chosen: Recipe, config: Any, run_dir: Path) -> dict[str, Tokenizer]:
    """The saved tokenizers, once the run's checkpoints are readable and of this task and config (budgets aside)."""
    checkpoint = load_checkpoint(run_dir / LAST)
    task = checkpoint.field("task", str)
    if task != chosen.name:
        raise SeqlabError(f"{checkpoint.path}: is a {task!r} run, not {chosen.name!r}; resume it with "
                          f"`seqlab train {task} --resume ...`")
    saved, wanted = _flatten(checkpoint.field("config", dict)), _flatten(to_dict(config))
    changed = sorted(key for key in set(saved) | set(wanted)
                     if saved.get(key) != wanted.get(key) and key not in BUDGET_KEYS)
    if changed:
        raise SeqlabError(f"{checkpoint.path}: the run was made with other settings ({', '.join(changed[:4])}); "
                          f"a resumed run may only change {', '.join(BUDGET_KEYS)}")
    if (run_dir / BEST).exists():  # read at the end of the run: it must be sound before anything is written
        best = load_checkpoint(run_dir / BEST)
        if best.field("task", str) != task:
            raise SeqlabError(f"{best.path}: is a {best.meta['task']!r} checkpoint inside a {task!r} run")
    return {name: _tokenizer(checkpoint, name, text) for name, text in checkpoint.field("tokenizers", dict).items()}


def _folder_task(path: Path) -> str | None:
    """The task a run folder's ``config.json`` names, or None (a checkpoint file, or no readable config)."""
    try:
        data = json.loads((path / CONFIG).read_text(encoding="utf-8")) if path.is_dir() else None
    except (OSError, ValueError):
        return None
    return data.get("task") if isinstance(data, dict) and isinstance(data.get("task"), str) else None


def _tokenizer(checkpoint: Checkpoint, name: str, text) -> Tokenizer:
    if not isinstance(text, str):
        raise SeqlabError(f"{checkpoint.path}: tokenizer {name} is not stored as JSON text")
    try:
        return Tokenizer.from_str(text)
    except SeqlabError as error:
        raise SeqlabError(f"{checkpoint.path}: tokenizer {name}: {error}") from None


def _flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and key != "layer_options":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _jsonable(value):
    """Numbers, strings, lists and dicts as they are; numpy scalars as Python numbers; the rest as text."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)


__all__ = ["BUDGET_KEYS", "RunResult", "cross_validate", "evaluate_run", "load_run", "train"]
