"""Checkpoints: one safetensors file holding weights, optimiser state and RNG state, plus JSON metadata.

Everything a resumed run needs sits in ONE file, written atomically (``seqlab.files.write_atomic``:
temporary file, fsync, rename), so a kill at any moment leaves the previous checkpoint intact:

* tensors ``model.<name>`` (the state dict), ``optimizer.<param index>.<key>`` (moments, momentum
  buffers, step counts) and ``rng.torch`` / ``rng.cuda.<i>`` / ``rng.numpy``;
* the safetensors metadata entry ``"seqlab"``: a JSON document with the step, the data position,
  the resolved config, the task's state (label names, tokenizer reference), the metrics, the
  history so far, the schedule and the optimiser's hyper-parameters.

safetensors stores only tensors and strings, so loading never runs pickle.
A copy of the JSON is written beside the file (``<name>.json``) for people to read.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes

from seqlab.errors import SeqlabError
from seqlab.files import write_atomic, write_json_atomic

FORMAT = "seqlab-checkpoint/1"


@dataclass
class Checkpoint:
    """A loaded checkpoint: its tensors by name and its JSON metadata."""

    tensors: dict[str, torch.Tensor]
    meta: dict

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[len("model."):]: v for k, v in self.tensors.items() if k.startswith("model.")}


def save_checkpoint(path: str | Path, model: torch.nn.Module, meta: dict,
                    optimizer: torch.optim.Optimizer | None = None, rng: bool = False,
                    extra: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``model`` (and optionally the optimiser and RNG states) with ``meta`` to ``path``, atomically.

    ``extra`` adds tensors of the caller's (``fit`` keeps the RNG state of the epoch's start).
    """
    path = Path(path)
    # clone: tied weights share storage, which safetensors refuses to save twice
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, **meta}
    if optimizer is not None:
        optim_tensors, optim_meta = _split_optimizer_state(optimizer.state_dict())
        tensors.update(optim_tensors)
        meta["optimizer"] = optim_meta
    if rng:
        tensors.update(_rng_tensors())
        meta["python_random"] = _python_random_state()
        meta["numpy_gauss"] = float(np.random.get_state()[4])
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    text = json.dumps(meta, ensure_ascii=False)
    write_atomic(path, safetensors_bytes(tensors, metadata={"seqlab": text}))
    write_json_atomic(path.with_suffix(".json"), {k: v for k, v in meta.items() if k != "python_random"})


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (safetensors: no pickle is involved)."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own error types for a damaged file
        raise SeqlabError(f"{path}: not a readable safetensors checkpoint ({error})") from None
    if "seqlab" not in metadata:
        raise SeqlabError(f"{path}: a safetensors file without seqlab metadata; expected a seqlab checkpoint")
    meta = json.loads(metadata["seqlab"])
    if meta.get("format") != FORMAT:
        raise SeqlabError(f"{path}: expected checkpoint format {FORMAT}, got {meta.get('format')!r}")
    return Checkpoint(tensors=tensors, meta=meta)


def restore_optimizer(optimizer: torch.optim.Optimizer, checkpoint: Checkpoint) -> None:
    """Load the optimiser state saved in ``checkpoint`` into ``optimizer``."""
    meta = checkpoint.meta.get("optimizer")
    if meta is None:
        raise SeqlabError("checkpoint: holds no optimiser state (it is a weights-only checkpoint)")
    state: dict[int, dict] = {}
    for index, scalars in meta["scalars"].items():
        state[int(index)] = dict(scalars)
    for name, tensor in checkpoint.tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def restore_rng(checkpoint: Checkpoint) -> None:
    """Put torch's, numpy's and Python's random generators back where the checkpoint found them."""
    torch.set_rng_state(checkpoint.tensors["rng.torch"])
    for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):
        if f"rng.cuda.{i}" in checkpoint.tensors:
            torch.cuda.set_rng_state(checkpoint.tensors[f"rng.cuda.{i}"], i)
    numpy_state = checkpoint.tensors["rng.numpy"]
    keys = numpy_state[:624].to(torch.int64).numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, int(numpy_state[624]), int(numpy_state[625]),
                         float(checkpoint.meta["numpy_gauss"])))
    version, internal, gauss = checkpoint.meta["python_random"]
    random.setstate((version, tuple(internal), gauss))


def _rng_tensors() -> dict[str, torch.Tensor]:
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            tensors[f"rng.cuda.{i}"] = torch.cuda.get_rng_state(i)
    _, keys, pos, has_gauss, _ = np.random.get_state()
    tensors["rng.numpy"] = torch.tensor([*keys.astype(np.int64).tolist(), pos, has_gauss], dtype=torch.int64)
    return tensors


def _python_random_state() -> list:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _split_optimizer_state(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for index, values in state_dict["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().clone().contiguous()
            else:
                scalars.setdefault(str(index), {})[key] = value
        scalars.setdefault(str(index), {})
    groups = json.loads(json.dumps(state_dict["param_groups"], default=_jsonable))
    return tensors, {"param_groups": groups, "scalars": scalars}


def _jsonable(value):
    if isinstance(value, torch.Tensor):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint JSON")


__all__ = ["Checkpoint", "load_checkpoint", "restore_optimizer", "restore_rng", "save_checkpoint"]
