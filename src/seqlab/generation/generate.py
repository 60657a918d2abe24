"""``generate``: continue a prefix with any autoregressive model by greedy search, sampling or beam search.

The one entry point for every model of ``seqlab.models`` that predicts the next token (the
recurrent language model, GPT, the RNN and Transformer encoder-decoders, T5): each exposes
``decoding_state`` and ``decoding_step`` (``seqlab.generation.decode.Autoregressive``), and this
function runs the loop of ``decode`` or ``beam_search`` over them in eval mode without gradients.

    y_{t+1} = argmax_v p(v | y_<=t, x)                          greedy (temperature 0)
    y_{t+1} ~ softmax(filter(logits) / temperature)             sampling (top-k, top-p)
    argmax_y log p(y | x) / |y|^alpha  over a beam of K          beam search

The result is always a tensor of ids (B, t0 + n): the prompt, then the new tokens. A row that
emits ``eos_id`` keeps it and is padded with ``eos_id`` after it; ``strip`` gives the new ids of
each row as lists, cut before the end token. An encoder-decoder gets its ``source`` (B, S) and
``source_lengths`` (B,) and starts from a prompt of start tokens (B, 1).

Example:
    >>> from seqlab.models.gpt import GPT, GPTConfig
    >>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=1, n_embd=8))
    >>> generate(model, torch.zeros(2, 1, dtype=torch.long), 5).shape
    torch.Size([2, 6])
"""

from __future__ import annotations

from typing import Any

import torch

from seqlab.checks import integer
from seqlab.errors import SeqlabError
from seqlab.generation.beam import beam_search
from seqlab.generation.config import DecodingConfig
from seqlab.generation.decode import Autoregressive, decode
from seqlab.nn.modes import eval_mode

MAX_NEW_TOKENS = 1_000_000  # a bound on what one call may allocate


@torch.no_grad()
def generate(model: Autoregressive, prompt: torch.Tensor, max_new_tokens: int, *, temperature: float = 0.0,
             top_k: int | None = None, top_p: float | None = None, beam_size: int = 1, length_penalty: float = 1.0,
             eos_id: int | None = None, source: torch.Tensor | None = None, source_lengths: torch.Tensor | None = None,
             generator: torch.Generator | None = None, state: Any = None) -> torch.Tensor:
    """Continue ``prompt`` (B, t0) by up to ``max_new_tokens`` ids; returns (B, t0 + n).

    Args:
        model: an ``Autoregressive`` model (see the module docstring).
        prompt: the prefix ids (B, t0), t0 >= 1; for an encoder-decoder, the start token(s).
        max_new_tokens: how many ids to add at most (fewer when every row has emitted ``eos_id``).
        temperature, top_k, top_p, beam_size, length_penalty: the strategy (``DecodingConfig``).
        eos_id: the end token, or None to always generate ``max_new_tokens``.
        source, source_lengths: the source sentences (B, S) and their lengths (B,) of an encoder-decoder.
        generator: the random generator of sampling (seeded for reproducible samples).
        state: a decoding state to start from instead of ``model.decoding_state(source, source_lengths)``.
    """
    decoding = DecodingConfig(temperature, top_k, top_p, beam_size, length_penalty)
    integer(max_new_tokens, "max_new_tokens", low=0, high=MAX_NEW_TOKENS)
    _check_prompt(prompt, model.vocab_size)
    if eos_id is not None:
        integer(eos_id, "eos_id", low=0, high=model.vocab_size - 1)
    if source is not None and source.shape[0] != prompt.shape[0]:
        raise SeqlabError(f"source: expected one source per prompt row ({prompt.shape[0]}), got {source.shape[0]}")
    with eval_mode(model):
        if state is None:
            state = model.decoding_state(source, source_lengths)
        if decoding.beam_size == 1:
            return decode(model.decoding_step, state, prompt, max_new_tokens, eos_id, decoding.temperature,
                          decoding.top_k, decoding.top_p, generator)
        best = beam_search(model.decoding_step, state, prompt, max_new_tokens, decoding.beam_size, eos_id,
                           decoding.length_penalty)
    rows = [[*h.tokens, eos_id] if h.ended and eos_id is not None else h.tokens for h in best]
    width = max(len(row) for row in rows)
    pad = eos_id if eos_id is not None else 0  # without eos_id every row has the full width
    new = torch.tensor([row + [pad] * (width - len(row)) for row in rows], dtype=torch.long, device=prompt.device)
    return torch.cat((prompt, new.view(len(rows), width)), dim=1)


class GenerationMixin:
    """``model.generate(...)``: the same method, with the same signature and result, on every autoregressive model."""

    def generate(self, prompt: torch.Tensor, max_new_tokens: int, *, temperature: float = 0.0,
                 top_k: int | None = None, top_p: float | None = None, beam_size: int = 1,
                 length_penalty: float = 1.0, eos_id: int | None = None, source: torch.Tensor | None = None,
                 source_lengths: torch.Tensor | None = None, generator: torch.Generator | None = None,
                 **state_options) -> torch.Tensor:
        """Continue ``prompt`` (B, t0); returns (B, t0 + n). See ``seqlab.generation.generate``.

        ``state_options`` go to the model's ``decoding_state`` (GPT: ``use_cache=False``).
        """
        state = self.decoding_state(source, source_lengths, **state_options)
        return generate(self, prompt, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                        beam_size=beam_size, length_penalty=length_penalty, eos_id=eos_id, source=source,
                        source_lengths=source_lengths, generator=generator, state=state)


def _check_prompt(prompt: torch.Tensor, vocab_size: int) -> None:
    if not isinstance(prompt, torch.Tensor) or prompt.dim() != 2 or prompt.shape[1] == 0:
        shape = tuple(prompt.shape) if isinstance(prompt, torch.Tensor) else type(prompt).__name__
        raise SeqlabError(f"prompt: expected token ids of shape (B, t0) with t0 >= 1, got {shape}")
    if prompt.dtype != torch.long:
        raise SeqlabError(f"prompt: expected token ids of dtype torch.long, got {prompt.dtype}")
    if prompt.numel() and (int(prompt.min()) < 0 or int(prompt.max()) >= vocab_size):
        raise SeqlabError(f"prompt: expected ids in [0, {vocab_size}), got ids from {int(prompt.min())} "
                          f"to {int(prompt.max())}")


__all__ = ["MAX_NEW_TOKENS", "GenerationMixin", "generate"]
