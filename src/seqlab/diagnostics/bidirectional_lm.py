r"""Why a bidirectional RNN cannot be a left-to-right language model: it sees the answer.

A character LM predicts x_{t+1} from the output at t. In a bidirectional layer that output is
[h_fwd_t; h_bwd_t], where h_fwd_t has read x_0..x_t but h_bwd_t has read x_T..x_t, which includes
the target x_{t+1} itself. Trained with teacher forcing it learns to copy x_{t+1} from h_bwd and
reaches a validation loss no honest model can (far below the ~1.5 nats/char of good char LMs).
Used as a generator it has no future to read: at the last position of a prefix h_bwd has seen
only x_t, so its "prediction from the past" loss is poor and its samples degenerate.

``bidirectional_lm_experiment`` trains a unidirectional and a bidirectional LSTM with the same
budget and measures both losses (teacher-forced, and from the past only) and their samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from seqlab.data.corpora import split_fraction
from seqlab.errors import SeqlabError
from seqlab.nn import LSTM
from seqlab.text.factories import character_tokenizer


class CharTagger(nn.Module):
    """Embedding -> (bi)LSTM -> linear: logits for x_{t+1} at every position t."""

    def __init__(self, vocab_size: int, hidden_size: int, bidirectional: bool):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 32)
        self.rnn = LSTM(32, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.rnn(self.embedding(ids))[0])  # (B, T, V)


@dataclass
class BidirectionalLMResult:
    """Per direction: teacher-forced val loss, val loss predicting from the past only, and a sample."""

    teacher_forced: dict[str, float]
    from_the_past: dict[str, float]
    samples: dict[str, str]
    sample_loss_under_unidirectional: dict[str, float]  # how plausible each sample is to the honest model
    uniform_loss: float
    steps: int


def _windows(data: torch.Tensor, block: int, batch: int, generator: torch.Generator):
    starts = torch.randint(len(data) - block - 1, (batch,), generator=generator).tolist()
    window = torch.stack([data[s : s + block + 1] for s in starts])  # (B, T+1)
    return window[:, :-1], window[:, 1:]


@torch.no_grad()
def _teacher_forced(model, data, block, generator) -> float:
    x, y = _windows(data, block, 32, generator)
    return float(F.cross_entropy(model(x).flatten(0, 1), y.flatten()))


@torch.no_grad()
def _from_the_past(model, data, block, generator, positions: int = 16) -> float:
    """-log p(x_{t+1} | x_0..x_t) read at the last position of each prefix, as a generator reads it."""
    x, y = _windows(data, block, 32, generator)
    losses = []
    for t in range(block - positions, block):
        logits = model(x[:, : t + 1])[:, -1]  # the model is shown nothing after x_t
        losses.append(F.cross_entropy(logits, y[:, t]))
    return float(torch.stack(losses).mean())


@torch.no_grad()
def _sample(model, prompt: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    ids = prompt
    for _ in range(length):
        probs = torch.softmax(model(ids)[:, -1] / 0.8, dim=-1)
        ids = torch.cat([ids, torch.multinomial(probs, 1, generator=generator)], dim=1)
    return ids[0, prompt.shape[1] :]


def bidirectional_lm_experiment(text: str, *, steps: int = 300, hidden_size: int = 64, block: int = 32,
                                sample_length: int = 100, seed: int = 0) -> BidirectionalLMResult:
    """Train a unidirectional and a bidirectional char LSTM on ``text`` (90/10 split) and compare them."""
    if steps < 1 or block < 17:
        raise SeqlabError(f"steps >= 1 and block >= 17 expected, got {steps} and {block}")
    tokenizer = character_tokenizer(text)
    train_text, val_text = split_fraction(text, 0.9)
    train, val = (torch.tensor(tokenizer.encode(part).ids) for part in (train_text, val_text))
    models = {}
    for name in ("unidirectional", "bidirectional"):
        torch.manual_seed(seed)
        model = CharTagger(tokenizer.vocab_size, hidden_size, bidirectional=name == "bidirectional")
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        generator = torch.Generator().manual_seed(seed)
        for _ in range(steps):
            x, y = _windows(train, block, 32, generator)
            loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        models[name] = model.eval()
    teacher, past, samples, judged = {}, {}, {}, {}
    prompt = torch.tensor([tokenizer.encode("\n").ids])
    for name, model in models.items():
        teacher[name] = _teacher_forced(model, val, block, torch.Generator().manual_seed(seed + 1))
        past[name] = _from_the_past(model, val, block, torch.Generator().manual_seed(seed + 1))
        ids = _sample(model, prompt, sample_length, torch.Generator().manual_seed(seed))
        samples[name] = tokenizer.decode(ids.tolist())
        with torch.no_grad():  # the honest model's loss on this sample: how text-like it is
            sequence = torch.cat([prompt[0], ids]).unsqueeze(0)
            logits = models["unidirectional"](sequence[:, :-1])
            judged[name] = float(F.cross_entropy(logits[0], sequence[0, 1:]))
    return BidirectionalLMResult(teacher_forced=teacher, from_the_past=past, samples=samples,
                                 sample_loss_under_unidirectional=judged, uniform_loss=math.log(tokenizer.vocab_size),
                                 steps=steps)
