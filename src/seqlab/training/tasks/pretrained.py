"""``model.pretrained``: the one way from what a user names to the weights and the tokenizer a run starts from.

    load_pretrained_source(path) -> PretrainedSource(task, config, state, weights, tokenizer)

It dispatches on what ``path`` holds:

* a seqlab run folder (``checkpoints/best.safetensors`` inside) or one checkpoint file: the best
  weights, the tokenizer the checkpoint carries, and the resolved config and state that built them
  (what ``seqlab.training.runner.load_run`` reads, without building the model);
* a Hugging Face folder (a ``config.json`` naming a ``model_type``, or ``model.safetensors`` /
  ``pytorch_model.bin`` without a seqlab checkpoint): coming with ``seqlab.models.huggingface``,
  whose ``load_pretrained(folder)`` will give the model, its tokenizer and its config.

The recipes that fine-tune or continue a model (``sentiment``, ``lm``) take from a source what they
need: a BERT encoder's weights and sizes (``encoder_weights``), or a whole language model's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.errors import SeqlabError
from seqlab.text.tokenizer import Tokenizer
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.run_folder import TOKENIZER, checkpoint_path

HUGGING_FACE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")
HUGGING_FACE_PENDING = "Hugging Face folders: coming with seqlab.models.huggingface"


@dataclass
class PretrainedSource:
    """What ``model.pretrained`` named, read once.

    Attributes:
        path: the checkpoint file read.
        task: the task of the run that trained the weights (``mlm``, ``lm``, ...).
        config: that run's resolved config, as plain data (its ``model`` section says what the weights are).
        state: that run's state (the sizes its data decided: vocab_size, block_size, ...).
        weights: the model's state dict.
        tokenizer: the tokenizer the weights were trained with.
    """

    path: Path
    task: str
    config: dict
    state: dict
    weights: dict[str, torch.Tensor]
    tokenizer: Tokenizer

    def require(self, task: str, use: str) -> None:
        """A ``SeqlabError`` unless the weights come from a ``task`` run; ``use`` says what they are wanted for."""
        if self.task != task:
            raise SeqlabError(f"model.pretrained: {self.path} is a {self.task!r} run; {use} starts from a {task!r} "
                              "run")

    def encoder_weights(self, prefix: str = "bert.") -> dict[str, torch.Tensor]:
        """The weights under ``prefix`` (a ``BertForPreTraining``'s encoder), with the prefix removed."""
        found = {name[len(prefix):]: tensor for name, tensor in self.weights.items() if name.startswith(prefix)}
        if not found:
            raise SeqlabError(f"model.pretrained: {self.path} holds no weights under {prefix!r}")
        return found


def load_pretrained_source(path: str | Path) -> PretrainedSource:
    """Read what ``path`` names (see the module docstring); a one-line ``SeqlabError`` when it cannot be used."""
    path = Path(path)
    if not path.exists():
        raise SeqlabError(f"model.pretrained: {path} does not exist (expected a seqlab run folder or checkpoint)")
    if is_hugging_face_folder(path):
        raise SeqlabError(f"model.pretrained: {path}: {HUGGING_FACE_PENDING}")
    try:
        checkpoint = load_checkpoint(checkpoint_path(path))
    except SeqlabError as error:
        raise SeqlabError(f"model.pretrained: {error}") from None
    tokenizers = checkpoint.field("tokenizers", dict)
    if not isinstance(tokenizers.get(TOKENIZER), str):
        raise SeqlabError(f"model.pretrained: {checkpoint.path} carries no {TOKENIZER}")
    try:
        tokenizer = Tokenizer.from_str(tokenizers[TOKENIZER])
    except SeqlabError as error:
        raise SeqlabError(f"model.pretrained: {checkpoint.path}: {TOKENIZER}: {error}") from None
    return PretrainedSource(checkpoint.path, checkpoint.field("task", str), checkpoint.field("config", dict),
                            checkpoint.field("state", dict), checkpoint.model_state(), tokenizer)


def is_hugging_face_folder(path: Path) -> bool:
    """A folder holding a Hugging Face model: weights in its file names, or a config.json with a model_type."""
    if not path.is_dir() or (path / "checkpoints").is_dir():
        return False
    if any((path / name).is_file() for name in HUGGING_FACE_WEIGHTS):
        return True
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and "model_type" in config


__all__ = ["HUGGING_FACE_PENDING", "PretrainedSource", "is_hugging_face_folder", "load_pretrained_source"]
