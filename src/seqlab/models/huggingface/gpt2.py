"""GPT-2: transformers' ``GPT2LMHeadModel`` and ``GPT2Model`` as ``seqlab.models.GPT``.

GPT-2 stores its linear maps as ``Conv1D`` (in, out): the transpose of ``nn.Linear``. Its fused
query/key/value projection ``c_attn`` (E, 3E) is [W^Q | W^K | W^V], so its transpose is
seqlab's ``in_proj_weight`` [W^Q; W^K; W^V] (3E, E) as it is. The output layer is the token
embedding (tied) unless the checkpoint holds an ``lm_head.weight`` of its own.
"""

from __future__ import annotations

import torch

from seqlab.errors import SeqlabError
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.huggingface.mapping import SAME, TRANSPOSED, expand
from seqlab.models.huggingface.spec import Spec, align_prefix, matcher, read_field, refuse, same_tensor

MODEL_TYPE = "gpt2"
ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
PREFIX = "transformer."  # where GPT2LMHeadModel keeps its GPT2Model

# config.json's activation_function -> GPTConfig.activation
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}

EMBEDDINGS_AND_FINAL_NORM = [
    # seqlab GPT          GPT2Model             layout
    ("wte.weight",        "wte.weight",         SAME),
    ("wpe.weight",        "wpe.weight",         SAME),
    ("ln_f.weight",       "ln_f.weight",        SAME),
    ("ln_f.bias",         "ln_f.bias",          SAME),
]

BLOCK = [
    # seqlab GPT block i                       GPT2Model block i            layout
    ("blocks.{i}.norm1.weight",                "h.{i}.ln_1.weight",         SAME),
    ("blocks.{i}.norm1.bias",                  "h.{i}.ln_1.bias",           SAME),
    ("blocks.{i}.self_attn.in_proj_weight",    "h.{i}.attn.c_attn.weight",  TRANSPOSED),
    ("blocks.{i}.self_attn.in_proj_bias",      "h.{i}.attn.c_attn.bias",    SAME),
    ("blocks.{i}.self_attn.out_proj.weight",   "h.{i}.attn.c_proj.weight",  TRANSPOSED),
    ("blocks.{i}.self_attn.out_proj.bias",     "h.{i}.attn.c_proj.bias",    SAME),
    ("blocks.{i}.norm2.weight",                "h.{i}.ln_2.weight",         SAME),
    ("blocks.{i}.norm2.bias",                  "h.{i}.ln_2.bias",           SAME),
    ("blocks.{i}.linear1.weight",              "h.{i}.mlp.c_fc.weight",     TRANSPOSED),
    ("blocks.{i}.linear1.bias",                "h.{i}.mlp.c_fc.bias",       SAME),
    ("blocks.{i}.linear2.weight",              "h.{i}.mlp.c_proj.weight",   TRANSPOSED),
    ("blocks.{i}.linear2.bias",                "h.{i}.mlp.c_proj.bias",     SAME),
]

UNTIED_HEAD = [("lm_head.weight", "lm_head.weight", SAME)]

# buffers older checkpoints saved with the weights: the causal mask and its fill value
BUFFERS = matcher(r"(^|\.)h\.\d+\.attn\.(bias|masked_bias)$")

# transformers' GPT2Config defaults, for the fields a config.json may leave out
DEFAULTS = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None,
            "activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
            "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}


def config_from_hf(hf: dict, where: str = "config.json") -> GPTConfig:
    """GPTConfig from transformers' GPT2Config fields; refuses what seqlab's GPT does not compute."""
    refuse(hf, where, add_cross_attention=False, scale_attn_weights=True, scale_attn_by_inverse_layer_idx=False)
    activation = read_field(hf, "activation_function", DEFAULTS["activation_function"], str, where)
    if activation not in ACTIVATIONS:
        raise SeqlabError(f"{where}: activation_function: expected one of {', '.join(ACTIVATIONS)}, got "
                          f"{activation!r}")

    def get(name, kind):
        return read_field(hf, name, DEFAULTS[name], kind, where)

    return GPTConfig(vocab_size=get("vocab_size", int), block_size=get("n_positions", int),
                     n_layer=get("n_layer", int), n_head=get("n_head", int), n_embd=get("n_embd", int),
                     n_inner=get("n_inner", (int, type(None))), dropout=get("resid_pdrop", float),
                     attention_dropout=get("attn_pdrop", float), embedding_dropout=get("embd_pdrop", float),
                     layer_norm_eps=get("layer_norm_epsilon", float), activation=ACTIVATIONS[activation],
                     tie_weights=get("tie_word_embeddings", bool), bias=True, positions="learned").validate()


def config_to_hf(config: GPTConfig) -> dict:
    """transformers' GPT2Config fields of a seqlab GPTConfig; refuses a GPT that GPT-2 cannot express."""
    c = config
    if c.positions != "learned" or not c.bias or c.activation not in ("gelu_tanh", "gelu", "relu"):
        raise SeqlabError(f"GPT with positions={c.positions!r}, bias={c.bias}, activation={c.activation!r} has no "
                          f"GPT-2 equivalent in transformers (GPT-2 is learned positions, biases, GELU)")
    activation = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}[c.activation]
    return {"model_type": MODEL_TYPE, "vocab_size": c.vocab_size, "n_positions": c.block_size, "n_embd": c.n_embd,
            "n_layer": c.n_layer, "n_head": c.n_head, "n_inner": c.n_inner, "activation_function": activation,
            "resid_pdrop": c.dropout, "attn_pdrop": c.dropout if c.attention_dropout is None else c.attention_dropout,
            "embd_pdrop": c.dropout if c.embedding_dropout is None else c.embedding_dropout,
            "layer_norm_epsilon": c.layer_norm_eps, "tie_word_embeddings": c.tie_weights, "scale_attn_weights": True,
            "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False, "add_cross_attention": False}


def _rules(architecture: str, config: GPTConfig):
    base = EMBEDDINGS_AND_FINAL_NORM + BLOCK
    if architecture == "GPT2Model":
        return expand(base, config.n_layer)
    rules = expand(base, config.n_layer, hf_prefix=PREFIX)
    return rules + ([] if config.tie_weights else expand(UNTIED_HEAD))


def load_spec(hf: dict, architecture: str, tensors: dict[str, torch.Tensor], where: str, **options) -> Spec:
    config = config_from_hf(hf, where)
    names = set(tensors)
    wte = align_prefix(expand([("wte.weight", "wte.weight", SAME)], hf_prefix=PREFIX), names, PREFIX)[0].hf[0]
    # a tied head saved anyway (pytorch_model.bin files hold both names): a copy, not a head of its own
    head_is_copy = same_tensor(tensors, "lm_head.weight", wte)
    if architecture == "GPT2LMHeadModel":
        # as transformers: tied as configured, unless the checkpoint has a different head of its own
        config.tie_weights = config.tie_weights and ("lm_head.weight" not in tensors or head_is_copy)
    else:
        config.tie_weights = True  # the bare model has no head; seqlab's GPT gets GPT-2's tied one
    rules = align_prefix(_rules(architecture, config), names, PREFIX)

    def ignorable(name: str) -> bool:
        return BUFFERS(name) or (name == "lm_head.weight" and head_is_copy and config.tie_weights)

    return Spec(architecture, config, lambda: GPT(config), rules, ignorable)


def save_spec(model) -> Spec | None:
    """The spec of a seqlab GPT, saved as a GPT2LMHeadModel; None for any other model."""
    if not isinstance(model, GPT):
        return None
    # transformers' GPT2Config would otherwise assume GPT-2's 50256, outside a smaller vocabulary
    return Spec("GPT2LMHeadModel", model.config, lambda: model, _rules("GPT2LMHeadModel", model.config),
                defaults={"bos_token_id": None, "eos_token_id": None})
