"""Text in, text out: a prompt continued, sentences translated, through a model and its tokenizers.

These are the inference halves of the ``lm`` and ``translate`` recipes, usable on any model and
tokenizers: strings are encoded with the run's tokenizers, decoded by ``generate`` with a
``DecodingConfig``, and decoded back to strings with special tokens left out. Special tokens are
found by name (``<bos>``, ``<eos>``, ``<pad>``), never by number.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from seqlab.errors import SeqlabError
from seqlab.generation.config import DecodingConfig
from seqlab.generation.decode import Autoregressive, strip
from seqlab.generation.generate import generate
from seqlab.text.factories import BOS, EOS, PAD, UNK, special_id
from seqlab.text.tokenizer import Tokenizer

GREEDY = DecodingConfig()  # frozen: safe as a default


def generate_text(model: Autoregressive, tokenizer: Tokenizer, prompt: str, max_new_tokens: int,
                  decoding: DecodingConfig = GREEDY, seed: int = 0) -> str:
    """``prompt`` followed by ``max_new_tokens`` tokens of the model, as text (sampling seeded by ``seed``)."""
    ids = tokenizer.encode(prompt, add_special_tokens=False).ids
    if not ids:
        raise SeqlabError("prompt: expected at least one token, got an empty prompt")
    generator = torch.Generator().manual_seed(seed)
    out = generate(model, torch.tensor([ids]), max_new_tokens, temperature=decoding.temperature, top_k=decoding.top_k,
                   top_p=decoding.top_p, beam_size=decoding.beam_size, length_penalty=decoding.length_penalty,
                   generator=generator)
    return prompt + tokenizer.decode(out[0, len(ids):].tolist())


@torch.no_grad()
def translate_texts(model: Autoregressive, source_tokenizer: Tokenizer, target_tokenizer: Tokenizer,
                    texts: Sequence[str], max_new_tokens: int, decoding: DecodingConfig = GREEDY,
                    batch_size: int = 64) -> list[str]:
    """Each text translated, in input order: sources batched by length, decoded from ``<bos>`` to ``<eos>``."""
    bos, eos = special_id(target_tokenizer, BOS), special_id(target_tokenizer, EOS)
    pad, unk = special_id(source_tokenizer, PAD), special_id(source_tokenizer, UNK)
    encoded = [source_tokenizer.encode(text).ids or [unk] for text in texts]  # an empty source reads as <unk>
    out: list[str] = [""] * len(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # similar lengths batch together
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        lengths = torch.tensor([len(encoded[i]) for i in rows])
        source = torch.full((len(rows), int(lengths.max())), pad, dtype=torch.long)  # (B, S)
        for b, i in enumerate(rows):
            source[b, : len(encoded[i])] = torch.tensor(encoded[i])
        prompt = torch.full((len(rows), 1), bos, dtype=torch.long)  # (B, 1)
        ids = generate(model, prompt, max_new_tokens, temperature=decoding.temperature, top_k=decoding.top_k,
                       top_p=decoding.top_p, beam_size=decoding.beam_size, length_penalty=decoding.length_penalty,
                       eos_id=eos, source=source, source_lengths=lengths)
        for i, row in zip(rows, strip(ids, 1, eos), strict=True):
            out[i] = target_tokenizer.decode(row)
    return out


__all__ = ["generate_text", "translate_texts"]
