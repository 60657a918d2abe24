"""BERT: transformers' ``BertModel``, ``BertForMaskedLM``, ``BertForPreTraining`` and
``BertForSequenceClassification`` as seqlab's ``BertModel``, ``BertForPreTraining`` and
``BertForSequenceClassification``.

BERT keeps the three attention projections apart (``query``, ``key``, ``value``, each (H, H)); seqlab
stacks them into ``in_proj_weight`` (3H, H) as ``torch.nn.MultiheadAttention`` does. The MLM decoder is
the word embedding (tied) with a bias of its own, ``cls.predictions.bias``. A ``BertForMaskedLM`` is a
``BertForPreTraining`` without the next-sentence head, and without the pooler unless the checkpoint
has one (the released ``bert-base-uncased`` keeps both from its pre-training, and they are kept).
"""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError
from seqlab.models.bert import BertConfig, BertForPreTraining, BertForSequenceClassification, BertModel
from seqlab.models.huggingface.mapping import SAME, STACKED, expand
from seqlab.models.huggingface.spec import Spec, align_prefix, matcher, read_field, refuse, same_tensor

MODEL_TYPE = "bert"
ARCHITECTURES = ("BertModel", "BertForMaskedLM", "BertForPreTraining", "BertForSequenceClassification")
PREFIX = "bert."  # where the head models keep their BertModel

# config.json's hidden_act -> BertConfig.hidden_act
ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}

EMBEDDINGS = [
    # seqlab BertModel                         transformers BertModel                    layout
    ("embeddings.word_embeddings.weight",       "embeddings.word_embeddings.weight",       SAME),
    ("embeddings.position_embeddings.weight",   "embeddings.position_embeddings.weight",   SAME),
    ("embeddings.token_type_embeddings.weight", "embeddings.token_type_embeddings.weight", SAME),
    ("embeddings.norm.weight",                  "embeddings.LayerNorm.weight",             SAME),
    ("embeddings.norm.bias",                    "embeddings.LayerNorm.bias",               SAME),
]

LAYER = [
    # seqlab encoder layer i                     transformers encoder layer i                    layout
    ("encoder.layers.{i}.self_attn.in_proj_weight", ("encoder.layer.{i}.attention.self.query.weight",
                                                     "encoder.layer.{i}.attention.self.key.weight",
                                                     "encoder.layer.{i}.attention.self.value.weight"), STACKED),
    ("encoder.layers.{i}.self_attn.in_proj_bias",   ("encoder.layer.{i}.attention.self.query.bias",
                                                     "encoder.layer.{i}.attention.self.key.bias",
                                                     "encoder.layer.{i}.attention.self.value.bias"), STACKED),
    ("encoder.layers.{i}.self_attn.out_proj.weight", "encoder.layer.{i}.attention.output.dense.weight",     SAME),
    ("encoder.layers.{i}.self_attn.out_proj.bias",   "encoder.layer.{i}.attention.output.dense.bias",       SAME),
    ("encoder.layers.{i}.norm1.weight",              "encoder.layer.{i}.attention.output.LayerNorm.weight", SAME),
    ("encoder.layers.{i}.norm1.bias",                "encoder.layer.{i}.attention.output.LayerNorm.bias",   SAME),
    ("encoder.layers.{i}.linear1.weight",            "encoder.layer.{i}.intermediate.dense.weight",         SAME),
    ("encoder.layers.{i}.linear1.bias",              "encoder.layer.{i}.intermediate.dense.bias",           SAME),
    ("encoder.layers.{i}.linear2.weight",            "encoder.layer.{i}.output.dense.weight",               SAME),
    ("encoder.layers.{i}.linear2.bias",              "encoder.layer.{i}.output.dense.bias",                 SAME),
    ("encoder.layers.{i}.norm2.weight",              "encoder.layer.{i}.output.LayerNorm.weight",           SAME),
    ("encoder.layers.{i}.norm2.bias",                "encoder.layer.{i}.output.LayerNorm.bias",             SAME),
]

POOLER = [
    ("pooler.weight", "pooler.dense.weight", SAME),
    ("pooler.bias",   "pooler.dense.bias",   SAME),
]

MASKED_LM_HEAD = [
    # seqlab BertForPreTraining   transformers                                  layout
    ("transform.weight",          "cls.predictions.transform.dense.weight",     SAME),
    ("transform.bias",            "cls.predictions.transform.dense.bias",       SAME),
    ("transform_norm.weight",     "cls.predictions.transform.LayerNorm.weight", SAME),
    ("transform_norm.bias",       "cls.predictions.transform.LayerNorm.bias",   SAME),
    ("decoder.bias",              "cls.predictions.bias",                       SAME),
]
UNTIED_DECODER = [("decoder.weight", "cls.predictions.decoder.weight", SAME)]
NEXT_SENTENCE_HEAD = [
    ("nsp.weight", "cls.seq_relationship.weight", SAME),
    ("nsp.bias",   "cls.seq_relationship.bias",   SAME),
]
CLASSIFIER_HEAD = [
    ("classifier.weight", "classifier.weight", SAME),
    ("classifier.bias",   "classifier.bias",   SAME),
]

BUFFERS = matcher(r"(^|\.)embeddings\.position_ids$")

# transformers' BertConfig defaults, for the fields a config.json may leave out
DEFAULTS = {"vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
            "intermediate_size": 3072, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512, "type_vocab_size": 2,
            "layer_norm_eps": 1e-12, "classifier_dropout": None, "tie_word_embeddings": True}


def config_from_hf(hf: dict, where: str = "config.json") -> BertConfig:
    """BertConfig from transformers' BertConfig fields; refuses what seqlab's BERT does not compute."""
    refuse(hf, where, position_embedding_type="absolute", is_decoder=False, add_cross_attention=False)
    activation = read_field(hf, "hidden_act", DEFAULTS["hidden_act"], str, where)
    if activation not in ACTIVATIONS:
        raise SeqlabError(f"{where}: hidden_act: expected one of {', '.join(ACTIVATIONS)}, got {activation!r}")

    def get(name, kind):
        return read_field(hf, name, DEFAULTS[name], kind, where)

    return BertConfig(vocab_size=get("vocab_size", int), hidden_size=get("hidden_size", int),
                      num_hidden_layers=get("num_hidden_layers", int),
                      num_attention_heads=get("num_attention_heads", int),
                      intermediate_size=get("intermediate_size", int),
                      max_position_embeddings=get("max_position_embeddings", int),
                      type_vocab_size=get("type_vocab_size", int), dropout=get("hidden_dropout_prob", float),
                      attention_dropout=get("attention_probs_dropout_prob", float),
                      classifier_dropout=get("classifier_dropout", (float, type(None))),
                      layer_norm_eps=get("layer_norm_eps", float), hidden_act=ACTIVATIONS[activation],
                      tie_word_embeddings=get("tie_word_embeddings", bool)).validate()


def num_labels_of(hf: dict, where: str = "config.json") -> int:
    """transformers' count of labels: the size of ``id2label``, else ``num_labels``, else 2."""
    if isinstance(hf.get("id2label"), dict) and hf["id2label"]:
        return len(hf["id2label"])
    return read_field(hf, "num_labels", 2, int, where)


def config_to_hf(config: BertConfig) -> dict:
    c = config
    activation = {"gelu": "gelu", "gelu_tanh": "gelu_new", "relu": "relu"}[c.hidden_act]
    return {"model_type": MODEL_TYPE, "vocab_size": c.vocab_size, "hidden_size": c.hidden_size,
            "num_hidden_layers": c.num_hidden_layers, "num_attention_heads": c.num_attention_heads,
            "intermediate_size": c.intermediate_size, "hidden_act": activation, "hidden_dropout_prob": c.dropout,
            "attention_probs_dropout_prob": c.dropout if c.attention_dropout is None else c.attention_dropout,
            "classifier_dropout": c.classifier_dropout, "max_position_embeddings": c.max_position_embeddings,
            "type_vocab_size": c.type_vocab_size, "layer_norm_eps": c.layer_norm_eps,
            "position_embedding_type": "absolute", "tie_word_embeddings": c.tie_word_embeddings,
            "is_decoder": False, "add_cross_attention": False}


def _rules(architecture: str, config: BertConfig, pooler: bool, next_sentence: bool):
    base = EMBEDDINGS + LAYER + (POOLER if pooler else [])
    if architecture == "BertModel":
        return expand(base, config.num_hidden_layers)
    rules = expand(base, config.num_hidden_layers, seqlab_prefix="bert.", hf_prefix=PREFIX)
    if architecture == "BertForSequenceClassification":
        return rules + expand(CLASSIFIER_HEAD)
    heads = MASKED_LM_HEAD + ([] if config.tie_word_embeddings else UNTIED_DECODER)
    return rules + expand(heads + (NEXT_SENTENCE_HEAD if next_sentence else []))


def rename_legacy(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Checkpoints converted from TensorFlow call the layer norms' parameters gamma and beta."""
    renamed = {}
    for name, tensor in tensors.items():
        if ".LayerNorm." in name and name.endswith((".gamma", ".beta")):
            name = name.removesuffix(".gamma") + ".weight" if name.endswith(".gamma") else \
                name.removesuffix(".beta") + ".bias"
        renamed[name] = tensor
    return renamed


def load_spec(hf: dict, architecture: str, tensors: dict[str, torch.Tensor], where: str,
              num_labels: int | None = None, **options) -> Spec:
    config = config_from_hf(hf, where)
    names = set(tensors)

    def spelt(name: str) -> str:  # a base-model name as this file spells it
        return align_prefix(expand([("x", name, SAME)], hf_prefix=PREFIX), names, PREFIX)[0].hf[0]

    word_embeddings = spelt("embeddings.word_embeddings.weight")
    has_pooler = spelt("pooler.dense.weight") in tensors
    decoder_is_copy = same_tensor(tensors, "cls.predictions.decoder.weight", word_embeddings)
    if "cls.predictions.decoder.weight" in tensors and not decoder_is_copy:
        config.tie_word_embeddings = False  # as transformers: a different decoder of its own is not tied
    copies = {"cls.predictions.decoder.weight"} if decoder_is_copy and config.tie_word_embeddings else set()
    if same_tensor(tensors, "cls.predictions.decoder.bias", "cls.predictions.bias"):
        copies.add("cls.predictions.decoder.bias")

    if architecture == "BertModel":
        pooler, next_sentence = has_pooler, False

        def build():
            return BertModel(config, add_pooling_layer=pooler)
    elif architecture == "BertForSequenceClassification":
        pooler, next_sentence = True, False
        labels = num_labels_of(hf, where) if num_labels is None else num_labels

        def build():
            return BertForSequenceClassification(config, labels)
    else:
        # BertForPreTraining needs both; a BertForMaskedLM keeps whichever its checkpoint has
        full = architecture == "BertForPreTraining"
        next_sentence = full or "cls.seq_relationship.weight" in tensors
        pooler = full or has_pooler or next_sentence

        def build():
            return BertForPreTraining(config, next_sentence=next_sentence, add_pooling_layer=pooler)
    rules = align_prefix(_rules(architecture, config, pooler, next_sentence), names, PREFIX)

    def ignorable(name: str) -> bool:
        return BUFFERS(name) or name in copies

    return Spec(architecture, config, build, rules, ignorable)


def save_spec(model) -> Spec | None:
    """The spec of a seqlab BERT model; None for any other model."""
    if isinstance(model, BertModel):
        architecture, bert, next_sentence = "BertModel", model, False
    elif isinstance(model, BertForSequenceClassification):
        architecture, bert, next_sentence = "BertForSequenceClassification", model.bert, False
    elif isinstance(model, BertForPreTraining):
        next_sentence = model.nsp is not None
        architecture, bert = ("BertForPreTraining" if next_sentence else "BertForMaskedLM"), model.bert
    else:
        return None
    config = bert.config
    return Spec(architecture, config, lambda: model, _rules(architecture, config, bert.pooler is not None,
                                                            next_sentence))
