"""The files of a Hugging Face model folder: ``config.json`` and the weights, read and written.

Weights are read, in transformers' order of preference, from ``model.safetensors``, from the shards
a ``model.safetensors.index.json`` names, or from ``pytorch_model.bin`` (or its sharded index) through
``torch.load(weights_only=True)``, which refuses a pickle holding anything but tensors. They are
written as safetensors (with the ``{"format": "pt"}`` metadata transformers checks), in shards of at
most ``max_shard_size`` bytes when asked, each file atomically.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from seqlab.errors import SeqlabError
from seqlab.files import read_text, write_atomic, write_json_atomic

log = logging.getLogger(__name__)

CONFIG = "config.json"
GENERATION_CONFIG = "generation_config.json"
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SAFETENSORS = "model.safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
PICKLE = "pytorch_model.bin"
PICKLE_INDEX = "pytorch_model.bin.index.json"
_SHARD = re.compile(r"^(model-\d{5}-of-\d{5}\.safetensors|pytorch_model-\d{5}-of-\d{5}\.bin)$")
_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def read_json(path: Path) -> dict:
    """A JSON object from ``path``; a missing file or bad JSON is a ``SeqlabError`` naming the file."""
    if not path.is_file():
        raise SeqlabError(f"{path}: no such file")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise SeqlabError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise SeqlabError(f"{path}: expected a JSON object, got a {type(data).__name__}")
    return data


def read_config(folder: str | Path) -> dict:
    """``config.json`` of a model folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SeqlabError(f"{folder}: expected a Hugging Face model folder (config.json and model.safetensors), "
                          f"got {'a file' if folder.exists() else 'nothing'}")
    if not (folder / CONFIG).is_file():
        raise SeqlabError(f"{folder}: no config.json; expected a Hugging Face model folder")
    return read_json(folder / CONFIG)


def read_generation_config(folder: str | Path) -> dict:
    """``generation_config.json`` when the folder has one, else an empty dict."""
    path = Path(folder) / GENERATION_CONFIG
    return read_json(path) if path.is_file() else {}


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError) as error:
        raise SeqlabError(f"{path}: not a readable safetensors file ({error})") from None


def _load_pickle(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SeqlabError(f"{path}: torch.load(weights_only=True) refused it ({first_line}); seqlab loads only "
                          f"plain tensors from a pickle: convert it to model.safetensors") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise SeqlabError(f"{path}: expected a flat dict of named tensors, got a {type(state).__name__}")
    return state


def _read_sharded(index_path: Path, load) -> dict[str, torch.Tensor]:
    index = read_json(index_path)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict) or not weight_map:
        raise SeqlabError(f"{index_path}: expected a non-empty 'weight_map' of tensor name -> shard file")
    tensors: dict[str, torch.Tensor] = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = index_path.parent / shard
        if Path(shard).name != shard or not shard_path.is_file():
            raise SeqlabError(f"{index_path}: names the shard {shard!r}, which is not in the folder")
        loaded = load(shard_path)
        wanted = [name for name, file in weight_map.items() if file == shard]
        absent = [name for name in wanted if name not in loaded]
        if absent:
            raise SeqlabError(f"{shard_path}: lacks tensors its index places there: {', '.join(absent[:5])}")
        tensors.update(loaded)
    return tensors


def read_weights(folder: str | Path) -> tuple[dict[str, torch.Tensor], str]:
    """All tensors of the folder's checkpoint, by name, and the file (or index) they came from."""
    folder = Path(folder)
    if (folder / SAFETENSORS).is_file():
        return _load_safetensors(folder / SAFETENSORS), SAFETENSORS
    if (folder / SAFETENSORS_INDEX).is_file():
        return _read_sharded(folder / SAFETENSORS_INDEX, _load_safetensors), SAFETENSORS_INDEX
    if (folder / PICKLE).is_file():
        return _load_pickle(folder / PICKLE), PICKLE
    if (folder / PICKLE_INDEX).is_file():
        return _read_sharded(folder / PICKLE_INDEX, _load_pickle), PICKLE_INDEX
    others = sorted(p.name for p in folder.glob("*") if p.suffix in (".h5", ".msgpack", ".ckpt", ".gguf"))
    hint = f" (found {', '.join(others)}: TensorFlow/Flax/GGUF weights are not read)" if others else ""
    raise SeqlabError(f"{folder}: no weights; expected {SAFETENSORS}, {SAFETENSORS_INDEX} or {PICKLE}{hint}")


def parse_size(size: int | str) -> int:
    """Bytes from an int or a string such as "5GB", "200MB", "64KiB" (transformers' ``max_shard_size``)."""
    if isinstance(size, int):
        value = size
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", str(size), flags=re.IGNORECASE)
        if not match:
            raise SeqlabError(f"max_shard_size: expected bytes or a size such as '200MB', got {size!r}")
        value = int(float(match.group(1)) * _UNITS[(match.group(2) or "").upper()])
    if value < 1:
        raise SeqlabError(f"max_shard_size: expected a positive size, got {size!r}")
    return value


def _shards(tensors: dict[str, torch.Tensor], limit: int | None) -> list[dict[str, torch.Tensor]]:
    """Tensors in order, cut into groups of at most ``limit`` bytes (a larger tensor gets a shard of its own)."""
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in tensors.items():
        nbytes = tensor.numel() * tensor.element_size()
        if limit is not None and shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][name] = tensor
        size += nbytes
    return shards


def write_weights(folder: str | Path, tensors: dict[str, torch.Tensor], max_shard_size: int | str | None = None,
                  ) -> list[Path]:
    """Save ``tensors`` as ``model.safetensors``, or as shards plus their index; returns the files written.

    Weight files an earlier save left in the folder (other shards, a ``pytorch_model.bin``) are
    removed, so the folder never holds two versions of the weights.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shards = _shards(tensors, None if max_shard_size is None else parse_size(max_shard_size))
    metadata = {"format": "pt"}
    written: list[Path] = []
    if len(shards) == 1:
        write_atomic(folder / SAFETENSORS, save(shards[0], metadata))
        written.append(folder / SAFETENSORS)
    else:
        weight_map = {}
        for k, shard in enumerate(shards, start=1):
            name = f"model-{k:05d}-of-{len(shards):05d}.safetensors"
            write_atomic(folder / name, save(shard, metadata))
            written.append(folder / name)
            weight_map.update(dict.fromkeys(shard, name))
        total = sum(t.numel() * t.element_size() for t in tensors.values())
        write_json_atomic(folder / SAFETENSORS_INDEX, {"metadata": {"total_size": total}, "weight_map": weight_map})
        written.append(folder / SAFETENSORS_INDEX)
    for stale in folder.iterdir():
        is_weights = stale.name in (SAFETENSORS, SAFETENSORS_INDEX, PICKLE, PICKLE_INDEX) or _SHARD.match(stale.name)
        if is_weights and stale not in written:
            log.info("removing %s, weights of an earlier save", stale)
            stale.unlink()
    return written
