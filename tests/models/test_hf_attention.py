"""Attention maps of loaded checkpoints equal transformers' ``output_attentions``, layer by layer and head by head."""

from __future__ import annotations

import pytest
import torch

from seqlab.models.huggingface import attention_maps, load_pretrained

TEXT = "the cat sat on the big red mat ."


@pytest.mark.parametrize(("name", "kind"), [("gpt2", "causal self-attention"), ("bert-classifier", "encoder"),
                                             ("t5", "encoder"), ("t5-encoder", "encoder")])
def test_attention_maps_equal_transformers_output_attentions(transformers, hf_folder, name, kind):
    pretrained = load_pretrained(hf_folder(name), dtype=torch.float64)
    maps = attention_maps(pretrained, TEXT)
    encoding = pretrained.tokenizer.encode(TEXT)
    assert maps.tokens == encoding.tokens and kind in maps.kind
    if name.startswith("bert"):
        assert maps.tokens[0] == "[CLS]" and maps.tokens[-1] == "[SEP]"
    architecture = transformers.T5EncoderModel if name.startswith("t5") else getattr(transformers,
                                                                                      pretrained.architecture)
    theirs = architecture.from_pretrained(hf_folder(name), dtype=torch.float64, attn_implementation="eager").eval()
    ids = torch.tensor([encoding.ids])
    with torch.no_grad():
        reference = torch.stack([layer[0] for layer in theirs(ids, output_attentions=True).attentions])
    assert maps.weights.shape == reference.shape == (2, 2, len(encoding.ids), len(encoding.ids))
    torch.testing.assert_close(maps.weights, reference, atol=1e-12, rtol=0)
    torch.testing.assert_close(maps.weights.sum(-1), torch.ones(2, 2, len(encoding.ids), dtype=torch.float64))
    if name == "gpt2":  # causal: nothing above the diagonal
        assert not maps.weights.triu(diagonal=1).any()
    assert torch.equal(maps.layer(-1), maps.weights[1])
