"""``model.pretrained``: the one way from what a user names to the weights and the tokenizer a run starts from.

    load_pretrained_source(path) -> PretrainedSource(task, config, state, weights, tokenizer)

It dispatches on what ``path`` holds:

* a seqlab run folder (``checkpoints/best.safetensors`` inside) or one checkpoint file: the best
  weights, the tokenizer the checkpoint carries, and the resolved config and state that built them
  (what ``seqlab.training.runner.load_run`` reads, without building the model);
* a Hugging Face BERT folder (a ``config.json`` naming a ``model_type``, or ``model.safetensors`` /
  ``pytorch_model.bin`` without a seqlab checkpoint), read by ``seqlab.models.huggingface.load_pretrained``:
  its encoder (``BertModel``, or the ``bert`` of any BERT head model) and its ``tokenizer.json``, presented
  as an ``mlm`` run's. Only a BERT whose config seqlab's classifier rebuilds exactly is accepted
  (activation, layer-norm epsilon, segment table); anything else is a one-line error naming the field.

The recipes that fine-tune or continue a model (``sentiment``, ``lm``) take from a source what they
need: a BERT encoder's weights and sizes (``encoder_weights``), or a whole language model's.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from seqlab.errors import SeqlabError
from seqlab.models.bert import BertConfig, BertModel
from seqlab.models.config import MaskedLanguageModelConfig
from seqlab.models.factory import bert_config
from seqlab.models.huggingface import load_pretrained
from seqlab.text.tokenizer import Tokenizer
from seqlab.training.checkpoint import load_checkpoint
from seqlab.training.run_folder import TOKENIZER, checkpoint_path

HUGGING_FACE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


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
        return hugging_face_source(path)
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


def hugging_face_source(folder: Path) -> PretrainedSource:
    """A Hugging Face BERT folder's encoder and tokenizer, as a BERT classifier's source (in an ``mlm`` run's form)."""
    try:
        pretrained = load_pretrained(folder)
    except SeqlabError as error:
        raise SeqlabError(f"model.pretrained: {error}") from None
    config = pretrained.config
    if not isinstance(config, BertConfig):
        raise SeqlabError(f"model.pretrained: {folder} holds a {pretrained.architecture}; fine-tuning from a Hugging "
                          "Face folder starts from a BERT (use `seqlab generate --model` for GPT-2 and T5)")
    if pretrained.tokenizer is None:
        raise SeqlabError(f"model.pretrained: {folder} has no tokenizer.json; the encoder's ids need the tokenizer "
                          "it was trained with")
    encoder = pretrained.model if isinstance(pretrained.model, BertModel) else pretrained.model.bert
    sizes = MaskedLanguageModelConfig(hidden_size=config.hidden_size, num_layers=config.num_hidden_layers,
                                      num_heads=config.num_attention_heads,
                                      intermediate_size=config.intermediate_size, dropout=config.dropout)
    rebuilt = bert_config(sizes, config.vocab_size, config.max_position_embeddings)
    def effective(bert: BertConfig, name: str):
        value = getattr(bert, name)
        return bert.dropout if name == "attention_dropout" and value is None else value

    differ = [name for name in ("type_vocab_size", "layer_norm_eps", "hidden_act", "attention_dropout")
              if effective(rebuilt, name) != effective(config, name)]
    if differ:
        raise SeqlabError(f"model.pretrained: {folder}: seqlab's BERT classifier has "
                          + ", ".join(f"{name}={effective(rebuilt, name)!r}" for name in differ) + ", the checkpoint "
                          + ", ".join(f"{effective(config, name)!r}" for name in differ)
                          + "; load it with seqlab.models.huggingface.load_for_sequence_classification instead")
    weights = {f"bert.{name}": tensor for name, tensor in encoder.state_dict().items()}
    return PretrainedSource(folder / "config.json", "mlm", {"model": asdict(sizes)},
                            {"block_size": config.max_position_embeddings, "vocab_size": config.vocab_size},
                            weights, pretrained.tokenizer)


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


__all__ = ["PretrainedSource", "hugging_face_source", "is_hugging_face_folder", "load_pretrained_source"]
