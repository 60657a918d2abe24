"""Hugging Face model folders in and out of seqlab: ``load_pretrained``, ``load_for_sequence_classification``,
``save_pretrained``.

A folder holds ``config.json`` (whose ``model_type`` picks the family and ``architectures`` the
head), the weights (``seqlab.models.huggingface.folder``) and usually ``tokenizer.json``. Loading
builds the seqlab model from the config, maps every tensor through the family's table
(``gpt2``, ``bert``, ``t5``), checks names, shapes and dtypes, and loads them in the dtype asked;
nothing is guessed and nothing is left over. Saving is the reverse, in the layout transformers'
``from_pretrained`` reads: tied weights are stored once, under the name transformers keeps.

Example:
    >>> pretrained = load_pretrained("checkpoints/gpt2")  # doctest: +SKIP
    >>> pretrained.architecture, type(pretrained.model).__name__  # doctest: +SKIP
    ('GPT2LMHeadModel', 'GPT')
    >>> pretrained.generate("The meaning of life is", max_new_tokens=20)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.files import write_json_atomic
from seqlab.generation import DecodingConfig, strip
from seqlab.generation.text import GREEDY
from seqlab.models.bert import BertForPreTraining, BertForSequenceClassification, BertModel
from seqlab.models.gpt import GPT
from seqlab.models.huggingface import bert, gpt2, t5
from seqlab.models.huggingface.folder import (
    CONFIG,
    TOKENIZER,
    TOKENIZER_CONFIG,
    read_config,
    read_generation_config,
    read_weights,
    write_weights,
)
from seqlab.models.huggingface.mapping import listing, to_hf, to_seqlab
from seqlab.models.huggingface.spec import Spec
from seqlab.models.t5 import T5, T5Encoder
from seqlab.text import Tokenizer

log = logging.getLogger(__name__)

FAMILIES: dict[str, ModuleType] = {family.MODEL_TYPE: family for family in (gpt2, bert, t5)}
SUPPORTED = ", ".join(f"{f.MODEL_TYPE} ({', '.join(f.ARCHITECTURES)})" for f in FAMILIES.values())
TOKEN_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


@dataclass
class Pretrained:
    """A loaded Hugging Face checkpoint: the seqlab model and what came with it.

    Attributes:
        model: the seqlab model (in eval mode), e.g. ``GPT`` for a ``GPT2LMHeadModel``.
        tokenizer: the folder's ``tokenizer.json`` as a ``seqlab.text.Tokenizer`` (None without one).
        config: the seqlab config the model was built from.
        architecture: transformers' class name, e.g. ``"BertForSequenceClassification"``.
        hf_config: ``config.json`` as read (token ids, labels and the rest).
        generation_config: ``generation_config.json`` as read (empty without one).
        folder: where it came from.
    """

    model: nn.Module
    tokenizer: Tokenizer | None
    config: Any
    architecture: str
    hf_config: dict = field(default_factory=dict)
    generation_config: dict = field(default_factory=dict)
    folder: Path | None = None

    def token_id(self, name: str) -> int | None:
        """``bos_token_id``, ``eos_token_id``, ``pad_token_id`` or ``decoder_start_token_id``: from
        ``generation_config.json`` first, as transformers' ``generate`` reads them, then ``config.json``."""
        if name not in TOKEN_FIELDS:
            raise SeqlabError(f"token_id: expected one of {', '.join(TOKEN_FIELDS)}, got {name!r}")
        value = self.generation_config.get(name, self.hf_config.get(name))
        if value is None and name == "decoder_start_token_id" and isinstance(self.model, T5):
            value = self.token_id("pad_token_id")  # T5 starts decoding from its padding id
        if isinstance(value, list):
            if len(value) > 1:
                log.warning("%s lists %s; seqlab decodes with one, %s", name, value, value[0])
            value = value[0] if value else None
        return value

    @property
    def labels(self) -> list[str] | None:
        """The class names of a classifier (``id2label``), in id order; None for other models."""
        if not isinstance(self.model, BertForSequenceClassification):
            return None
        names = self.hf_config.get("id2label") or {}
        count = self.model.classifier.out_features
        return [str(names.get(str(i), names.get(i, f"LABEL_{i}"))) for i in range(count)]

    def encode(self, text: str, pair: str | None = None) -> torch.Tensor:
        """Token ids (1, T) of ``text`` by the folder's tokenizer, special tokens included."""
        if self.tokenizer is None:
            raise SeqlabError(f"{self.folder}: no tokenizer.json; pass token ids to the model instead")
        ids = self.tokenizer.encode(text, pair).ids
        return torch.tensor([ids], dtype=torch.long)

    def generate(self, prompt: str, max_new_tokens: int = 50, decoding: DecodingConfig = GREEDY,
                 seed: int = 0) -> str:
        """Text from a language model: ``prompt`` and its continuation (GPT-2), or the output for the
        input ``prompt`` (T5), decoded by ``seqlab.generation`` (greedy, sampling seeded by ``seed``,
        or beam search). Decoding stops at the end-of-sequence token."""
        if not isinstance(self.model, GPT | T5):
            raise SeqlabError(f"generate needs a language model (GPT2LMHeadModel or T5ForConditionalGeneration), "
                              f"got {self.architecture}")
        if self.tokenizer is None:
            raise SeqlabError(f"{self.folder}: no tokenizer.json, so no text to generate from")
        options = {"temperature": decoding.temperature, "top_k": decoding.top_k, "top_p": decoding.top_p,
                   "beam_size": decoding.beam_size, "length_penalty": decoding.length_penalty,
                   "eos_id": self.token_id("eos_token_id"), "generator": torch.Generator().manual_seed(seed)}
        ids = self.tokenizer.encode(prompt).ids
        if isinstance(self.model, T5):
            start = torch.tensor([[self.token_id("decoder_start_token_id")]])
            out = self.model.generate(start, max_new_tokens, source=torch.tensor([ids]), **options)
            return self.tokenizer.decode(strip(out, 1, options["eos_id"])[0])
        if not ids:
            bos = self.token_id("bos_token_id")
            if bos is None:
                raise SeqlabError("prompt: expected at least one token (the model has no bos_token_id to start from)")
            ids = [bos]
        out = self.model.generate(torch.tensor([ids]), max_new_tokens, **options)  # the window slides past block_size
        new = strip(out, len(ids), options["eos_id"])[0]
        # as transformers' text-generation pipeline: the prompt as given, then what decoding the whole
        # sequence adds to decoding the prompt (a continuation alone may lose its leading space)
        whole, head = self.tokenizer.decode(ids + new), self.tokenizer.decode(ids)
        return prompt + whole[len(head):] if whole.startswith(head) else whole

    def save(self, folder: str | Path, max_shard_size: int | str | None = None) -> list[Path]:
        """``save_pretrained`` with this checkpoint's token ids, labels and other non-architecture fields."""
        family, _ = _save_spec(self.model)
        architecture_fields = set(family.config_to_hf(self.config))
        extras = {k: v for k, v in self.hf_config.items()
                  if k not in architecture_fields and k not in ("architectures", "transformers_version", "dtype",
                                                                "torch_dtype", "_name_or_path")}
        return save_pretrained(self.model, folder, self.tokenizer, extras, max_shard_size)


def _family(hf: dict, where: Path) -> ModuleType:
    model_type = hf.get("model_type")
    if model_type not in FAMILIES:
        raise SeqlabError(f"{where}: model_type {model_type!r} is not supported; expected one of {SUPPORTED}")
    return FAMILIES[model_type]


def _saved_architecture(hf: dict, family: ModuleType, where: Path) -> str:
    architectures = hf.get("architectures") or [family.ARCHITECTURES[0]]
    if not isinstance(architectures, list) or len(architectures) != 1:
        raise SeqlabError(f"{where}: architectures: expected one class name, got {architectures!r}")
    if architectures[0] not in family.ARCHITECTURES:
        raise SeqlabError(f"{where}: architecture {architectures[0]!r} is not supported for {family.MODEL_TYPE}; "
                          f"expected one of {', '.join(family.ARCHITECTURES)}")
    return architectures[0]


def _tied_groups(model: nn.Module) -> list[list[str]]:
    """The names of each parameter that appears under more than one name (tied weights)."""
    groups: dict[int, list[str]] = {}
    for name, parameter in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(parameter), []).append(name)
    return [names for names in groups.values() if len(names) > 1]


def _build(spec: Spec, dtype: torch.dtype, on_meta: bool) -> nn.Module:
    """The model of ``spec``: on the meta device (no memory, no random initialisation) when every parameter
    will be loaded and it has no buffers to compute, else initialised as usual."""
    if on_meta:
        with torch.device("meta"):
            model = spec.build()
        if not any(True for _ in model.buffers()):
            return model
    return spec.build().to(dtype)


def _load_state(model: nn.Module, state: dict[str, torch.Tensor], fresh: set[str], where: str) -> None:
    """Load ``state`` into ``model``: a meta model takes the tensors themselves (then its ties are restored),
    an initialised one copies them. Parameters in ``fresh`` keep their initialisation."""
    on_meta = any(p.is_meta for p in model.parameters())
    groups = _tied_groups(model)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=on_meta)
    for names in groups:  # assigning replaced one name's Parameter: point the others at it again
        loaded = [name for name in names if name in state]
        source = model.get_parameter(loaded[0]) if loaded else None
        for name in names:
            if source is not None and name not in state:
                owner, _, attribute = name.rpartition(".")
                setattr(model.get_submodule(owner), attribute, source)
    aliases = {name for names in groups for name in names}
    left = [name for name in missing if name not in fresh and name not in aliases]
    left += [name for name, p in model.named_parameters() if p.is_meta]
    if left or unexpected:  # the tables and the models disagree: a bug in seqlab, not in the checkpoint
        raise RuntimeError(f"{where}: name table and model disagree: not loaded {sorted(set(left))}, "
                           f"unknown {sorted(unexpected)}")


def _check_dtype(dtype) -> torch.dtype:
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype, None) if dtype.isidentifier() else None
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise SeqlabError(f"dtype: expected a floating-point torch dtype such as torch.float32, got {dtype!r}")
    return dtype


def _load(folder: str | Path, dtype, architecture: str | None, num_labels: int | None,
          new_heads: bool) -> Pretrained:
    folder = Path(folder)
    dtype = _check_dtype(dtype)
    hf = read_config(folder)
    family = _family(hf, folder / CONFIG)
    saved_architecture = _saved_architecture(hf, family, folder / CONFIG)
    target = architecture or saved_architecture
    if target not in family.ARCHITECTURES:
        raise SeqlabError(f"architecture: expected one of {', '.join(family.ARCHITECTURES)} for a "
                          f"{family.MODEL_TYPE} checkpoint, got {target!r}")
    tensors, source = read_weights(folder)
    if hasattr(family, "rename_legacy"):
        tensors = family.rename_legacy(tensors)
    where = str(folder / source)
    saved: Spec = family.load_spec(hf, saved_architecture, tensors, where)
    same = target == saved_architecture and num_labels is None
    spec: Spec = saved if same else family.load_spec(hf, target, tensors, where, num_labels=num_labels)

    # another head than the saved one: the saved head's tensors are left out; a new head starts fresh
    dropped = saved.hf_names() - spec.hf_names() if target != saved_architecture else set()
    fresh = [rule for rule in spec.rules if new_heads and not any(n in tensors for n in rule.hf)
             and not any(n in saved.hf_names() for n in rule.hf)]
    rules = [rule for rule in spec.rules if rule not in fresh]
    model = _build(spec, dtype, on_meta=not fresh)
    state = to_seqlab(tensors, rules, model.state_dict(), dtype, where,
                      ignorable=lambda name: spec.ignorable(name) or saved.ignorable(name) or name in dropped)
    _load_state(model, state, {rule.seqlab for rule in fresh}, family.__name__)
    if dropped:
        log.info("%s: left out the %s head's tensors: %s", folder, saved_architecture, listing(sorted(dropped)))
    if fresh:
        log.info("%s: new %s parameters (initialised, not loaded): %s", folder, target,
                 listing(rule.seqlab for rule in fresh))
    tokenizer = Tokenizer.from_file(folder / TOKENIZER) if (folder / TOKENIZER).is_file() else None
    model.eval()
    return Pretrained(model, tokenizer, spec.config, target, hf, read_generation_config(folder), folder)


def load_pretrained(folder: str | Path, dtype: torch.dtype | str = torch.float32,
                    architecture: str | None = None) -> Pretrained:
    """Load a Hugging Face model folder into seqlab's model of the same architecture.

    Args:
        folder: ``config.json``, weights (``model.safetensors``, sharded or not, or a plain-tensor
            ``pytorch_model.bin``) and optionally ``tokenizer.json``.
        dtype: of the loaded parameters, whatever the file stores (float32 by default).
        architecture: a part of the saved architecture to load instead of all of it, leaving the rest
            out: ``GPT2Model`` from a ``GPT2LMHeadModel``, ``BertModel`` (or ``BertForMaskedLM``) from
            any BERT head model, ``T5EncoderModel`` from a ``T5ForConditionalGeneration``.

    Returns:
        a ``Pretrained`` with the model in eval mode.

    Raises:
        SeqlabError: on an unsupported model type, architecture or config field, and when the
            checkpoint's tensors do not fit the model (missing, unused, wrong shape or dtype); the
            message names them.
    """
    return _load(folder, dtype, architecture, None, new_heads=False)


def load_for_sequence_classification(folder: str | Path, num_labels: int | None = None,
                                     dtype: torch.dtype | str = torch.float32) -> Pretrained:
    """A ``BertForSequenceClassification`` from any BERT checkpoint, ready for fine-tuning.

    From a ``BertForSequenceClassification`` checkpoint the classifier is loaded (``num_labels``, if
    given, must match it). From any other BERT checkpoint the encoder (and pooler, when saved) is
    loaded, the pre-training heads are left out, and the classification layer (and a missing
    pooler) starts from BERT's initialisation, N(0, 0.02), as transformers' ``from_pretrained``
    does; ``num_labels`` is then required.
    """
    hf = read_config(folder)
    family = _family(hf, Path(folder) / CONFIG)
    if family is not bert:
        raise SeqlabError(f"{folder}: sequence classification loads BERT checkpoints, got model_type "
                          f"{family.MODEL_TYPE!r}")
    saved = _saved_architecture(hf, family, Path(folder) / CONFIG)
    if saved == "BertForSequenceClassification":
        saved_labels = bert.num_labels_of(hf)
        if num_labels is not None and num_labels != saved_labels:
            raise SeqlabError(f"{folder}: the classifier has {saved_labels} labels, asked for {num_labels}; load "
                              f"its encoder with a new classifier by saving it as BertModel first")
    elif num_labels is None:
        raise SeqlabError(f"{folder}: a {saved} checkpoint has no classifier; give num_labels for a new one")
    if num_labels is not None and num_labels < 1:
        raise SeqlabError(f"num_labels: expected a positive integer, got {num_labels}")
    pretrained = _load(folder, dtype, "BertForSequenceClassification", num_labels, new_heads=True)
    if saved != "BertForSequenceClassification":  # label names of the checkpoint describe no classifier of ours
        pretrained.hf_config = {k: v for k, v in hf.items() if k not in ("id2label", "label2id", "num_labels")}
    return pretrained


def _save_spec(model: nn.Module) -> tuple[ModuleType, Spec]:
    for family in FAMILIES.values():
        spec = family.save_spec(model)
        if spec is not None:
            return family, spec
    kinds = (GPT, BertModel, BertForPreTraining, BertForSequenceClassification, T5, T5Encoder)
    raise SeqlabError(f"save_pretrained: expected one of {', '.join(k.__name__ for k in kinds)}, "
                      f"got {type(model).__name__}")


def save_pretrained(model: nn.Module, folder: str | Path, tokenizer: Tokenizer | None = None,
                    config_extras: dict | None = None, max_shard_size: int | str | None = None) -> list[Path]:
    """Write a seqlab model as a Hugging Face folder that transformers' ``from_pretrained`` loads.

    Args:
        model: a ``GPT`` (saved as ``GPT2LMHeadModel``), ``BertModel``, ``BertForPreTraining`` (as
            ``BertForPreTraining``, or ``BertForMaskedLM`` without its next-sentence head),
            ``BertForSequenceClassification``, ``T5`` (``T5ForConditionalGeneration``) or ``T5Encoder``
            (``T5EncoderModel``).
        folder: created if needed; earlier weight files in it are replaced.
        tokenizer: written as ``tokenizer.json`` (with a ``tokenizer_config.json`` naming
            ``PreTrainedTokenizerFast``, so ``AutoTokenizer`` reads it).
        config_extras: more ``config.json`` fields: token ids (``eos_token_id``, ...), ``id2label``...
            They may not contradict the architecture's own fields.
        max_shard_size: bytes (or "200MB") per weights file; larger checkpoints are sharded.

    Returns:
        the files written.
    """
    family, spec = _save_spec(model)
    fields = family.config_to_hf(spec.config)
    extras = dict(config_extras or {})
    clash = [f"{k}={extras[k]!r} (the model has {fields[k]!r})" for k in extras if k in fields and extras[k] !=
             fields[k]]
    if clash:
        raise SeqlabError(f"config_extras contradict the model: {', '.join(clash)}")
    if isinstance(model, BertForSequenceClassification):
        count = model.classifier.out_features
        labels = extras.get("id2label") or {str(i): f"LABEL_{i}" for i in range(count)}
        if len(labels) != count:
            raise SeqlabError(f"config_extras: id2label has {len(labels)} labels, the classifier {count}")
        labels = {str(k): v for k, v in labels.items()}
        extras["id2label"], extras["label2id"] = labels, {v: int(k) for k, v in labels.items()}
    parameter = next(model.parameters())
    config = {**spec.defaults, **extras, **fields, "architectures": [spec.architecture],
              "dtype": str(parameter.dtype).removeprefix("torch.")}
    folder = Path(folder)
    written = write_weights(folder, to_hf(model.state_dict(), spec.rules), max_shard_size)
    write_json_atomic(folder / CONFIG, dict(sorted(config.items())))
    written.append(folder / CONFIG)
    if tokenizer is not None:
        tokenizer.save(folder / TOKENIZER)
        write_json_atomic(folder / TOKENIZER_CONFIG, {"tokenizer_class": "PreTrainedTokenizerFast"})
        written += [folder / TOKENIZER, folder / TOKENIZER_CONFIG]
    return written
