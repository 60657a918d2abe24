r"""Gate and state traces over a real input, and how saturated the gates are.

A sigmoid gate near 0 blocks and near 1 passes; a tanh candidate near +-1 is saturated and its
derivative 1 - g^2 is small. ``saturation`` counts, per gate, the fraction of (step, sequence,
unit) entries in those regions:

    sigmoid gates (i, f, o; r, z):   near_0 = P(v < eps),        near_1 = P(v > 1 - eps)
    tanh candidates (g; n):          near_0 = P(v < -1 + eps),   near_1 = P(v > 1 - eps)

Example:
    >>> model, vocab = untrained_char_lm("lstm")
    >>> traces = trace_text(model, vocab, "To be, or not to be")
    >>> traces.gates[0]["f"].shape            # layer 0: (T, H)
    torch.Size([19, 64])
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.errors import SeqlabError
from seqlab.nn import record_trace

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
    """Per-layer gates and states of a character LM reading a text (forward direction, batch of one)."""

    tokens: list[str]
    gates: list[dict[str, torch.Tensor]]  # per layer: name -> (T, H), h and c included
    loss_per_step: list[float]  # -log p(x_{t+1} | x_{<=t}); the last step has no target

    def saturation(self, eps: float = 0.1) -> list[dict[str, dict[str, float]]]:
        return [saturation(layer, eps) for layer in self.gates]


@torch.no_grad()
def trace_text(model, vocab, text: str) -> TextTrace:
    """Run ``model`` (a ``RecurrentLanguageModel``) over ``text`` and record every gate and state."""
    if len(text) < 2:
        raise SeqlabError(f"text: expected at least 2 characters, got {len(text)}")
    ids = vocab.encode(text).unsqueeze(0)  # (1, T)
    was_training = model.training
    model.eval()
    with record_trace(model) as trace:
        logits, _ = model(ids)  # (1, T, V)
    model.train(was_training)
    log_probs = torch.log_softmax(logits[0, :-1], dim=-1)
    nll = -log_probs.gather(1, ids[0, 1:, None]).squeeze(1)
    traced = trace.keys()  # (layer, direction) keys, or (module name, layer, direction)
    gates = []
    for layer in sorted({key[-2] for key in traced}):
        key = next(k for k in traced if k[-2:] == (layer, 0))
        gates.append({name: value[:, 0] for name, value in trace[key].items()})  # (T, H)
    return TextTrace(tokens=list(text), gates=gates, loss_per_step=nll.tolist())


def untrained_char_lm(cell: str = "lstm", hidden_size: int = 64, seed: int = 0):
    """A freshly initialised character LM over Tiny Shakespeare's 65 characters (for comparisons)."""
    from seqlab.data.corpora import load_tiny_shakespeare
    from seqlab.models.rnn_lm import RecurrentLanguageModel
    from seqlab.text.characters import CharacterVocabulary

    vocab = CharacterVocabulary.from_text(load_tiny_shakespeare())
    torch.manual_seed(seed)
    return RecurrentLanguageModel(len(vocab), 32, hidden_size, 1, cell=cell), vocab


def load_char_lm(run_dir: str | Path):
    """The model and vocabulary of a ``seqlab demo`` run folder (safetensors weights; no pickle)."""
    from safetensors.torch import load_file

    from seqlab.models.rnn_lm import RecurrentLanguageModel
    from seqlab.text.characters import CharacterVocabulary

    run_dir = Path(run_dir)
    needed = [run_dir / name for name in ("config.json", "vocabulary.json", "model.safetensors")]
    missing = [p.name for p in needed if not p.is_file()]
    if missing:
        raise SeqlabError(f"{run_dir}: expected a character-LM run folder (seqlab demo); missing {', '.join(missing)}")
    config = json.loads(needed[0].read_text())
    if config.get("task") != "char_lm":
        raise SeqlabError(f"{run_dir}: expected a run of task 'char_lm', got {config.get('task')!r}")
    vocab = CharacterVocabulary.from_dict(json.loads(needed[1].read_text()))
    model = RecurrentLanguageModel(len(vocab), config["embedding_dim"], config["hidden_size"], config["num_layers"],
                                   cell=config["cell"], dropout=config["dropout"],
                                   layer_options=config.get("layer_options") or {})
    model.load_state_dict(load_file(needed[2]))
    return model.eval(), vocab
