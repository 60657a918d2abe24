"""T5: transformers' ``T5ForConditionalGeneration`` and ``T5EncoderModel`` as seqlab's ``T5`` and ``T5Encoder``.

transformers numbers the sub-layers of a block (``layer.0`` self-attention, ``layer.1`` cross-attention
in the decoder, then the feed-forward network) and keeps the relative position bias in the first
block's self-attention; seqlab names them and keeps the bias on the stack. Loaded models compute
their RMS norms' mean square in float32 as transformers' ``T5LayerNorm`` does
(``T5Config.variance_in_float32``), so that float64 models match to 1e-15.

T5 1.1 and Flan-T5 checkpoints hold an ``lm_head.weight`` of their own and say
``tie_word_embeddings: false`` (transformers 4) or ``scale_decoder_outputs: false`` (transformers 5).
"""

from __future__ import annotations

import torch

from seqlab.models.huggingface.mapping import SAME, expand
from seqlab.models.huggingface.spec import Spec, matcher, read_field, refuse, same_tensor
from seqlab.models.t5 import T5, T5Config, T5Encoder

MODEL_TYPE = "t5"
ARCHITECTURES = ("T5ForConditionalGeneration", "T5EncoderModel")

SHARED = [("shared.weight", "shared.weight", SAME)]

ENCODER = [
    # seqlab T5 encoder                                     transformers T5 encoder                   layout
    ("encoder.relative_bias.relative_attention_bias.weight",
     "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",                          SAME),
    ("encoder.final_norm.weight",            "encoder.final_layer_norm.weight",                       SAME),
]
ENCODER_BLOCK = [
    # seqlab encoder block i                 transformers encoder block i                             layout
    ("encoder.blocks.{i}.self_norm.weight",   "encoder.block.{i}.layer.0.layer_norm.weight",          SAME),
    ("encoder.blocks.{i}.self_attn.q.weight", "encoder.block.{i}.layer.0.SelfAttention.q.weight",     SAME),
    ("encoder.blocks.{i}.self_attn.k.weight", "encoder.block.{i}.layer.0.SelfAttention.k.weight",     SAME),
    ("encoder.blocks.{i}.self_attn.v.weight", "encoder.block.{i}.layer.0.SelfAttention.v.weight",     SAME),
    ("encoder.blocks.{i}.self_attn.o.weight", "encoder.block.{i}.layer.0.SelfAttention.o.weight",     SAME),
    ("encoder.blocks.{i}.ff_norm.weight",     "encoder.block.{i}.layer.1.layer_norm.weight",          SAME),
    ("encoder.blocks.{i}.wo.weight",          "encoder.block.{i}.layer.1.DenseReluDense.wo.weight",   SAME),
]
ENCODER_FEED_FORWARD = [
    ("encoder.blocks.{i}.wi.weight",          "encoder.block.{i}.layer.1.DenseReluDense.wi.weight",   SAME),
]
ENCODER_GATED_FEED_FORWARD = [
    ("encoder.blocks.{i}.wi_0.weight",        "encoder.block.{i}.layer.1.DenseReluDense.wi_0.weight", SAME),
    ("encoder.blocks.{i}.wi_1.weight",        "encoder.block.{i}.layer.1.DenseReluDense.wi_1.weight", SAME),
]

DECODER = [
    ("decoder.relative_bias.relative_attention_bias.weight",
     "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",                          SAME),
    ("decoder.final_norm.weight",             "decoder.final_layer_norm.weight",                      SAME),
]
DECODER_BLOCK = [
    # seqlab decoder block i                   transformers decoder block i                           layout
    ("decoder.blocks.{i}.self_norm.weight",    "decoder.block.{i}.layer.0.layer_norm.weight",         SAME),
    ("decoder.blocks.{i}.self_attn.q.weight",  "decoder.block.{i}.layer.0.SelfAttention.q.weight",    SAME),
    ("decoder.blocks.{i}.self_attn.k.weight",  "decoder.block.{i}.layer.0.SelfAttention.k.weight",    SAME),
    ("decoder.blocks.{i}.self_attn.v.weight",  "decoder.block.{i}.layer.0.SelfAttention.v.weight",    SAME),
    ("decoder.blocks.{i}.self_attn.o.weight",  "decoder.block.{i}.layer.0.SelfAttention.o.weight",    SAME),
    ("decoder.blocks.{i}.cross_norm.weight",   "decoder.block.{i}.layer.1.layer_norm.weight",         SAME),
    ("decoder.blocks.{i}.cross_attn.q.weight", "decoder.block.{i}.layer.1.EncDecAttention.q.weight",  SAME),
    ("decoder.blocks.{i}.cross_attn.k.weight", "decoder.block.{i}.layer.1.EncDecAttention.k.weight",  SAME),
    ("decoder.blocks.{i}.cross_attn.v.weight", "decoder.block.{i}.layer.1.EncDecAttention.v.weight",  SAME),
    ("decoder.blocks.{i}.cross_attn.o.weight", "decoder.block.{i}.layer.1.EncDecAttention.o.weight",  SAME),
    ("decoder.blocks.{i}.ff_norm.weight",      "decoder.block.{i}.layer.2.layer_norm.weight",         SAME),
    ("decoder.blocks.{i}.wo.weight",           "decoder.block.{i}.layer.2.DenseReluDense.wo.weight",  SAME),
]
DECODER_FEED_FORWARD = [
    ("decoder.blocks.{i}.wi.weight",           "decoder.block.{i}.layer.2.DenseReluDense.wi.weight",  SAME),
]
DECODER_GATED_FEED_FORWARD = [
    ("decoder.blocks.{i}.wi_0.weight",         "decoder.block.{i}.layer.2.DenseReluDense.wi_0.weight", SAME),
    ("decoder.blocks.{i}.wi_1.weight",         "decoder.block.{i}.layer.2.DenseReluDense.wi_1.weight", SAME),
]
UNTIED_HEAD = [("lm_head.weight", "lm_head.weight", SAME)]

# transformers ignores this tensor (cross-attention has no position bias) and some checkpoints have it
UNUSED = matcher(r"^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$")

# transformers' T5Config defaults, for the fields a config.json may leave out
DEFAULTS = {"vocab_size": 32128, "d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6,
            "num_decoder_layers": None, "num_heads": 8, "relative_attention_num_buckets": 32,
            "relative_attention_max_distance": 128, "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6,
            "feed_forward_proj": "relu"}


def config_from_hf(hf: dict, where: str = "config.json") -> T5Config:
    """T5Config from transformers' T5Config fields (with transformers' float32 mean square in the norms)."""
    refuse(hf, where, is_decoder=False)

    def get(name, kind):
        return read_field(hf, name, DEFAULTS[name], kind, where)

    num_layers = get("num_layers", int)
    decoder_layers = get("num_decoder_layers", (int, type(None)))
    # transformers 5 reads the scaling from scale_decoder_outputs, else from tie_word_embeddings (T5 1.1: false)
    tied = read_field(hf, "tie_word_embeddings", True, bool, where)
    scale = read_field(hf, "scale_decoder_outputs", tied, bool, where)
    return T5Config(vocab_size=get("vocab_size", int), d_model=get("d_model", int), d_kv=get("d_kv", int),
                    d_ff=get("d_ff", int), num_layers=num_layers,
                    num_decoder_layers=num_layers if decoder_layers is None else decoder_layers,
                    num_heads=get("num_heads", int),
                    relative_attention_num_buckets=get("relative_attention_num_buckets", int),
                    relative_attention_max_distance=get("relative_attention_max_distance", int),
                    dropout=get("dropout_rate", float), layer_norm_epsilon=get("layer_norm_epsilon", float),
                    feed_forward_proj=get("feed_forward_proj", str), scale_decoder_outputs=scale,
                    variance_in_float32=True).validate()


def config_to_hf(config: T5Config) -> dict:
    c = config
    return {"model_type": MODEL_TYPE, "vocab_size": c.vocab_size, "d_model": c.d_model, "d_kv": c.d_kv,
            "d_ff": c.d_ff, "num_layers": c.num_layers, "num_decoder_layers": c.num_decoder_layers,
            "num_heads": c.num_heads, "relative_attention_num_buckets": c.relative_attention_num_buckets,
            "relative_attention_max_distance": c.relative_attention_max_distance, "dropout_rate": c.dropout,
            "layer_norm_epsilon": c.layer_norm_epsilon, "feed_forward_proj": c.feed_forward_proj,
            "tie_word_embeddings": c.tie_word_embeddings, "scale_decoder_outputs": c.scale_decoder_outputs,
            "is_encoder_decoder": True, "is_decoder": False}


# what transformers' T5Config assumes when the ids are not given: T5 decodes from its padding id
TOKEN_DEFAULTS = {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0}


def _rules(architecture: str, config: T5Config):
    gated = config.is_gated
    rules = expand(SHARED) + expand(ENCODER) + expand(
        ENCODER_BLOCK + (ENCODER_GATED_FEED_FORWARD if gated else ENCODER_FEED_FORWARD), config.num_layers)
    if architecture == "T5EncoderModel":
        return rules
    rules += expand(DECODER) + expand(DECODER_BLOCK + (DECODER_GATED_FEED_FORWARD if gated else DECODER_FEED_FORWARD),
                                      config.num_decoder_layers)
    return rules + ([] if config.tie_word_embeddings else expand(UNTIED_HEAD))


def load_spec(hf: dict, architecture: str, tensors: dict[str, torch.Tensor], where: str, **options) -> Spec:
    config = config_from_hf(hf, where)
    head_is_copy = same_tensor(tensors, "lm_head.weight", "shared.weight")
    # transformers 5 ties the output layer unless the checkpoint has a different one of its own
    config.tie_word_embeddings = architecture == "T5EncoderModel" or "lm_head.weight" not in tensors or head_is_copy
    copies = {name for name in ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight")
              if same_tensor(tensors, name, "shared.weight")}

    def ignorable(name: str) -> bool:
        return UNUSED(name) or name in copies

    model_class = T5Encoder if architecture == "T5EncoderModel" else T5
    return Spec(architecture, config, lambda: model_class(config), _rules(architecture, config), ignorable,
                dict(TOKEN_DEFAULTS))


def save_spec(model) -> Spec | None:
    """The spec of a seqlab T5 or T5Encoder; None for any other model."""
    if isinstance(model, T5):
        architecture = "T5ForConditionalGeneration"
    elif isinstance(model, T5Encoder):
        architecture = "T5EncoderModel"
    else:
        return None
    return Spec(architecture, model.config, lambda: model, _rules(architecture, model.config),
                defaults=dict(TOKEN_DEFAULTS))
