r"""Gate and state traces over a real input, and how saturated the gates are.

A sigmoid gate near 0 blocks and near 1 passes; a tanh candidate near +-1 is saturated and its
derivative 1 - g^2 is small. ``saturation`` counts, per gate, the fraction of (step, sequence,
unit) entries in those regions:

    sigmoid gates (i, f, o; r, z):   near_0 = P(v < eps),        near_1 = P(v > 1 - eps)
    tanh candidates (g; n):          near_0 = P(v < -1 + eps),   near_1 = P(v > 1 - eps)

Example:
    >>> model, tokenizer = untrained_char_lm("lstm")
    >>> traces = trace_text(model, tokenizer, "To be, or not to be")
    >>> traces.gates[0]["f"].shape            # layer 0: (T, H)
    torch.Size([19, 64])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from seqlab.data.corpora import load_tiny_shakespeare
from seqlab.errors import SeqlabError
from seqlab.models.config import LanguageModelConfig
from seqlab.models.factory import make_model
from seqlab.models.rnn_lm import RecurrentLanguageModel
from seqlab.nn import record_trace
from seqlab.nn.modes import eval_mode
from seqlab.text.factories import character_tokenizer
from seqlab.text.tokenizer import Tokenizer

TANH_GATES = ("g", "n")


def saturation(values: dict[str, torch.Tensor], eps: float = 0.1) -> dict[str, dict[str, float]]:
    """Fraction of each gate's entries near 0 and near 1 (near -1 and +1 for tanh candidates)."""
    if not 0 < eps < 0.5:
        raise SeqlabError(f"eps: expected a number in (0, 0.5), got {eps}")
    result = {}
    for name, v in values.items():
        if name in ("h", "c"):
            continue
        low = -1 + eps if name in TANH_GATES else eps
        result[name] = {"near_0" if name not in TANH_GATES else "near_-1": float((v < low).float().mean()),
                        "near_1": float((v > 1 - eps).float().mean()), "mean": float(v.mean())}
    return result


@dataclass
class TextTrace:
    """Per-layer gates and states of a recurrent LM reading a text (forward direction, batch of one)."""

    tokens: list[str]
    gates: list[dict[str, torch.Tensor]]  # per layer: name -> (T, H), h and c included
    loss_per_step: list[float]  # -log p(x_{t+1} | x_{<=t}); the last step has no target

    def saturation(self, eps: float = 0.1) -> list[dict[str, dict[str, float]]]:
        return [saturation(layer, eps) for layer in self.gates]


@torch.no_grad()
def trace_text(model: RecurrentLanguageModel, tokenizer: Tokenizer, text: str) -> TextTrace:
    """Run ``model`` over ``text`` (encoded by its ``tokenizer``) and record every gate and state."""
    if not isinstance(model, RecurrentLanguageModel):
        raise SeqlabError(f"model: expected a recurrent language model (LSTM, GRU or RNN) to trace, got "
                          f"{type(model).__name__}")
    try:
        encoding = tokenizer.encode(text, add_special_tokens=False)
    except SeqlabError as error:
        raise SeqlabError(f"text: {error}") from None
    if len(encoding.ids) < 2:
        raise SeqlabError(f"text: expected at least 2 tokens, got {len(encoding.ids)}")
    ids = torch.tensor([encoding.ids])  # (1, T)
    with eval_mode(model), record_trace(model) as trace:
        logits, _ = model(ids)  # (1, T, V)
    log_probs = torch.log_softmax(logits[0, :-1], dim=-1)
    nll = -log_probs.gather(1, ids[0, 1:, None]).squeeze(1)
    traced = trace.keys()  # (layer, direction) keys, or (module name, layer, direction)
    gates = []
    for layer in sorted({key[-2] for key in traced}):
        key = next(k for k in traced if k[-2:] == (layer, 0))
        gates.append({name: value[:, 0] for name, value in trace[key].items()})  # (T, H)
    return TextTrace(tokens=list(encoding.tokens), gates=gates, loss_per_step=nll.tolist())


def untrained_char_lm(cell: str = "lstm", hidden_size: int = 64, seed: int = 0
                      ) -> tuple[RecurrentLanguageModel, Tokenizer]:
    """A freshly initialised character LM over Tiny Shakespeare's 65 characters (for comparisons), and its tokenizer."""
    tokenizer = character_tokenizer(load_tiny_shakespeare())
    torch.manual_seed(seed)
    model = make_model(LanguageModelConfig(arch=cell, embedding_dim=32, hidden_size=hidden_size, num_layers=1,
                                           dropout=0.0), vocab_size=tokenizer.vocab_size, block_size=1)
    return model, tokenizer
