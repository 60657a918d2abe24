"""Checkpoints: one safetensors file with the weights, the optimiser and RNG states, and JSON metadata.

The one format of every run, every task, the tour and the diagnostics. Everything a resumed run
needs, and everything needed to use a model later, sits in ONE file written atomically
(``seqlab.files.write_atomic``: temporary file, fsync, rename), so a kill at any moment leaves the
previous checkpoint intact:

* tensors ``model.<name>`` (the state dict), ``optimizer.<param index>.<key>`` (moments, momentum
  buffers, step counts) and ``rng.torch`` / ``rng.cuda.<i>`` / ``rng.numpy``;
* the safetensors metadata entry ``"seqlab"``: a JSON document with the task, the resolved config,
  the task's state (label names, sizes the data decided, a scaler), the tokenizers' JSON, the
  step, the metrics, and for a resumable checkpoint the history, the data position, the schedule
  and the optimiser's hyper-parameters; plus the sha256 of the tensor data, checked on loading,
  so a damaged file is reported instead of evaluated.

safetensors stores only tensors and strings, so loading never runs pickle. A copy of the JSON
(without the tokenizers, which sit beside it as ``tokenizer.json``) is written next to the file
(``<name>.json``) for people to read.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import nn

import seqlab
from seqlab.errors import SeqlabError
from seqlab.files import write_atomic, write_json_atomic

FORMAT = "seqlab-checkpoint/2"
NOT_FOR_PEOPLE = ("python_random", "tokenizers")  # left out of the readable <name>.json


@dataclass
class Checkpoint:
    """A loaded checkpoint: its tensors by name, its JSON metadata, and where it came from."""

    tensors: dict[str, torch.Tensor]
    meta: dict
    path: Path | None = None

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[len("model."):]: v for k, v in self.tensors.items() if k.startswith("model.")}

    def field(self, key: str, kind: type | tuple[type, ...] = object):
        """``meta[key]``, checked to be a ``kind``; a ``SeqlabError`` naming the file when it is not."""
        if key not in self.meta:
            raise SeqlabError(f"{self.path or 'checkpoint'}: its metadata has no {key!r} entry")
        value = self.meta[key]
        if not isinstance(value, kind):
            raise SeqlabError(f"{self.path or 'checkpoint'}: metadata {key!r} is a {type(value).__name__}, "
                              f"not what a seqlab checkpoint holds")
        return value


def save_checkpoint(path: str | Path, model: nn.Module, meta: dict, optimizer: torch.optim.Optimizer | None = None,
                    rng: bool = False, extra: dict[str, torch.Tensor] | None = None) -> None:
    """Write ``model`` (and optionally the optimiser and RNG states) with ``meta`` to ``path``, atomically.

    ``extra`` adds tensors of the caller's (``fit`` keeps the RNG state of the epoch's start).
    """
    path = Path(path)
    # clone: tied weights share storage, which safetensors refuses to save twice
    tensors = {f"model.{k}": v.detach().cpu().clone().contiguous() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "seqlab_version": seqlab.__version__, **meta}
    if optimizer is not None:
        optim_tensors, optim_meta = _split_optimizer_state(optimizer.state_dict())
        tensors.update(optim_tensors)
        meta["optimizer"] = optim_meta
    if rng:
        tensors.update(_rng_tensors())
        meta["python_random"] = _python_random_state()
        meta["numpy_gauss"] = float(np.random.get_state()[4])
    tensors.update({k: v.detach().cpu().contiguous() for k, v in (extra or {}).items()})
    meta["tensor_sha256"] = tensor_digest(tensors)
    write_atomic(path, safetensors_bytes(tensors, metadata={"seqlab": json.dumps(meta, ensure_ascii=False)}))
    write_json_atomic(path.with_suffix(".json"), {k: v for k, v in meta.items() if k not in NOT_FOR_PEOPLE})


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint``: no pickle; the tensor data checked against its sha256."""
    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except Exception as error:  # safetensors raises its own error types for a damaged file
        raise SeqlabError(f"{path}: not a readable safetensors checkpoint ({' '.join(str(error).split())})") from None
    if "seqlab" not in metadata:
        raise SeqlabError(f"{path}: a safetensors file without seqlab metadata; expected a seqlab checkpoint")
    try:
        meta = json.loads(metadata["seqlab"])
    except (json.JSONDecodeError, RecursionError):
        raise SeqlabError(f"{path}: the seqlab metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise SeqlabError(f"{path}: the seqlab metadata is a {type(meta).__name__}, expected a JSON object")
    if meta.get("format") != FORMAT:
        raise SeqlabError(f"{path}: expected checkpoint format {FORMAT}, got {meta.get('format')!r}")
    if meta.get("tensor_sha256") != tensor_digest(tensors):
        raise SeqlabError(f"{path}: the tensor data does not match the checksum written with it; the file is "
                          "damaged (restore it from a copy, or retrain)")
    return Checkpoint(tensors=tensors, meta=meta, path=path)


def load_model_state(model: nn.Module, checkpoint: Checkpoint) -> None:
    """Load the checkpoint's weights into ``model``, checking names, shapes and dtypes first."""
    check_model_state(model, checkpoint)
    model.load_state_dict(checkpoint.model_state())


def check_model_state(model: nn.Module, checkpoint: Checkpoint) -> None:
    """A ``SeqlabError`` naming the tensors when the checkpoint's weights do not fit ``model`` (nothing is loaded)."""
    state = checkpoint.model_state()
    expected = model.state_dict()
    where = checkpoint.path or "checkpoint"
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"] if missing else []) + \
                ([f"unexpected {', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''}"]
                 if unexpected else [])
        raise SeqlabError(f"{where}: the weights do not fit the model its config builds ({'; '.join(parts)})")
    for name, tensor in state.items():
        want = expected[name]
        if tensor.shape != want.shape or tensor.dtype != want.dtype:
            raise SeqlabError(f"{where}: tensor {name} is {tuple(tensor.shape)} {tensor.dtype}, the model expects "
                              f"{tuple(want.shape)} {want.dtype}")


def restore_optimizer(optimizer: torch.optim.Optimizer, checkpoint: Checkpoint) -> None:
    """Load the optimiser state saved in ``checkpoint`` into ``optimizer`` (every saved tensor must be there)."""
    meta = checkpoint.meta.get("optimizer")
    where = checkpoint.path or "checkpoint"
    if not isinstance(meta, dict) or not isinstance(meta.get("scalars"), dict) or "param_groups" not in meta:
        raise SeqlabError(f"{where}: holds no optimiser state (a weights-only checkpoint cannot be resumed)")
    state: dict[int, dict] = {}
    for index, scalars in meta["scalars"].items():
        state[int(index)] = dict(scalars)
    for name, tensor in checkpoint.tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = tensor
    kept = meta.get("tensors")
    if kept is not None:
        absent = [name for name in kept if name not in checkpoint.tensors]
        if absent:
            raise SeqlabError(f"{where}: the optimiser state lacks {', '.join(absent[:3])}; resuming would reset "
                              "the optimiser")
    try:
        optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    except (ValueError, KeyError, TypeError) as error:
        raise SeqlabError(f"{where}: the optimiser state does not fit this model and optimiser ({error})") from None


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


def tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


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
    return tensors, {"param_groups": groups, "scalars": scalars, "tensors": sorted(tensors)}


def _jsonable(value):
    if isinstance(value, torch.Tensor):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in checkpoint JSON")


__all__ = ["FORMAT", "Checkpoint", "check_model_state", "load_checkpoint", "load_model_state", "restore_optimizer",
           "restore_rng",
           "save_checkpoint", "tensor_digest"]
