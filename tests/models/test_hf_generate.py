"""Greedy and beam-search decoding of loaded GPT-2 and T5 checkpoints equal transformers' ``generate``.

transformers' beam search matches seqlab's documented one (``seqlab.generation.beam``) with
``early_stopping="never"``: a finished hypothesis scores log p / |y|^α with |y| counting the generated
tokens and the end-of-sequence token, and the search stops when no live hypothesis could still beat
the best finished one with the longest allowed length. Its default ``early_stopping=False`` stops
sooner, on a guess, and may return a worse hypothesis.
"""

from __future__ import annotations

import pytest
import torch

from seqlab.generation import DecodingConfig, strip
from seqlab.models.huggingface import load_pretrained

EOS = 1
BEAMS = [(3, 1.0), (4, 0.0), (2, 2.0)]  # (beam size, length penalty α)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def until_eos(row: list[int]) -> list[int]:
    return row[:row.index(EOS)] if EOS in row else row


def translate(model, src, lengths, start, **decoding) -> list[list[int]]:
    """T5's outputs for each source (without the start and end tokens), by seqlab's one ``generate``."""
    out = model.generate(torch.full((src.shape[0], 1), start), 10, source=src, source_lengths=lengths, eos_id=EOS,
                         **decoding)
    return strip(out, 1, EOS)


def test_gpt2_greedy_and_beam_search_equal_transformers(hf_folder, hf_reference):
    pretrained = load_pretrained(hf_folder("gpt2"), dtype=torch.float64)
    theirs = hf_reference("gpt2").double()
    prompt = torch.randint(5, 40, (6, 3), generator=torch.Generator().manual_seed(3))
    options = {"attention_mask": torch.ones_like(prompt), "do_sample": False, "eos_token_id": EOS,
               "pad_token_id": EOS}
    try:
        greedy = theirs.generate(prompt, max_new_tokens=12, **options)
        ours = pretrained.model.generate(prompt, 12, temperature=0.0, eos_id=EOS)
        assert [until_eos(r[3:]) for r in greedy.tolist()] == [until_eos(r[3:]) for r in ours.tolist()]
        searches = []
        for beam_size, alpha in BEAMS:
            beams = theirs.generate(prompt, max_new_tokens=10, num_beams=beam_size, length_penalty=alpha,
                                    early_stopping="never", **options)
            out = pretrained.model.generate(prompt, 10, beam_size=beam_size, length_penalty=alpha, eos_id=EOS)
            found = strip(out, 3, EOS)
            assert [until_eos(r[3:]) for r in beams.tolist()] == found, (beam_size, alpha)
            searches += found
    finally:
        theirs.float()
    # the case is not trivial: some searches stop at EOS, some beat the greedy continuation
    assert any(len(tokens) < 10 for tokens in searches)
    assert any(tokens != until_eos(row[3:])[:10] for tokens, row in zip(searches, greedy.tolist() * len(BEAMS)))


@pytest.mark.parametrize("name", ["t5", "t5-gated"])
def test_t5_greedy_and_beam_search_equal_transformers(hf_folder, hf_reference, name):
    pretrained = load_pretrained(hf_folder(name), dtype=torch.float64)
    theirs = hf_reference(name).double()
    generator = torch.Generator().manual_seed(4)
    src = torch.randint(5, 40, (6, 7), generator=generator)
    lengths = torch.tensor([7, 5, 3, 7, 6, 2])
    is_real = torch.arange(7)[None, :] < lengths[:, None]
    src = src.masked_fill(~is_real, 0)
    start = pretrained.token_id("decoder_start_token_id")
    assert start == 0 and pretrained.token_id("eos_token_id") == EOS
    # transformers 5.24 sizes its decoder cache by num_layers, so a T5 with more decoder than encoder
    # blocks (as here, 3 and 2) must generate without it; the logits are the same
    options = {"attention_mask": is_real.long(), "do_sample": False, "max_new_tokens": 10, "use_cache": False}
    try:
        greedy = theirs.generate(src, **options)
        assert [until_eos(r[1:]) for r in greedy.tolist()] == translate(pretrained.model, src, lengths, start)
        searches = []
        for beam_size, alpha in BEAMS:
            beams = theirs.generate(src, num_beams=beam_size, length_penalty=alpha, early_stopping="never", **options)
            found = translate(pretrained.model, src, lengths, start, beam_size=beam_size, length_penalty=alpha)
            assert [until_eos(r[1:]) for r in beams.tolist()] == found, (beam_size, alpha)
            searches += found
    finally:
        theirs.float()
    assert any(len(tokens) < 10 for tokens in searches)
    assert len({tuple(tokens) for tokens in searches}) > 6  # varied outputs, not one token repeated


def test_text_generation_of_a_pretrained_folder(hf_folder, hf_reference):
    """``Pretrained.generate``: GPT-2 returns the prompt and its continuation, T5 its output; as transformers."""
    gpt2 = load_pretrained(hf_folder("gpt2"))
    prompt = torch.tensor([gpt2.tokenizer.encode("the dog ran to").ids])
    beams = hf_reference("gpt2").generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False,
                                          max_new_tokens=7, num_beams=3, early_stopping="never", eos_token_id=EOS,
                                          pad_token_id=EOS)
    assert gpt2.generate("the dog ran to", 7, DecodingConfig(beam_size=3)) == gpt2.tokenizer.decode(beams[0].tolist())
    t5 = load_pretrained(hf_folder("t5"))
    src = torch.tensor([t5.tokenizer.encode("the dog ran to the park").ids])
    out = hf_reference("t5").generate(src, do_sample=False, max_new_tokens=8, use_cache=False)
    assert t5.generate("the dog ran to the park", 8) == t5.tokenizer.decode(out[0].tolist())
    sampled = DecodingConfig(temperature=1.0)
    assert t5.generate("the dog ran to the park", 8, sampled, seed=3) == \
        t5.generate("the dog ran to the park", 8, sampled, seed=3)
