"""Attention maps from real models are PNGs with the right labels; mismatched labels raise."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from seqlab.errors import SeqlabError
from seqlab.models.gpt import GPT, GPTConfig
from seqlab.models.seq2seq import Seq2SeqAttention
from seqlab.models.transformer import TransformerSeq2Seq
from seqlab.plots.attention import (
    attention_figures,
    attention_heads_figure,
    attention_layers_figure,
    attention_map_figure,
)


def _is_png_with_content(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100 and np.std(image) > 0.01


def test_seq2seq_alignment_and_gpt_heads(tmp_path):
    model = Seq2SeqAttention(12, 12, 8, 16).eval()
    with torch.no_grad():
        _, weights = model(torch.tensor([[3, 4, 5, 6]]), torch.tensor([4]), torch.tensor([[1, 6, 5]]),
                           need_weights=True)
    attention_map_figure(weights[0], ["le", "chat", "noir", "."], ["<s>", "the", "black"], tmp_path / "align.png")
    _is_png_with_content(tmp_path / "align.png")

    gpt = GPT(GPTConfig(vocab_size=12, block_size=8, n_layer=1, n_head=3, n_embd=12)).eval()
    with torch.no_grad():
        _, layers = gpt(torch.tensor([[1, 2, 3, 4, 5]]), need_weights=True)
    tokens = list("abcde")
    attention_heads_figure(layers[0][0], tokens, tokens, tmp_path / "heads.png", columns=2)
    _is_png_with_content(tmp_path / "heads.png")
    transformer = TransformerSeq2Seq(12, 12, d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                                     dim_feedforward=16, dropout=0.0).eval()
    with torch.no_grad():
        _, maps = transformer(torch.tensor([[3, 4, 5, 6]]), torch.tensor([4]), torch.tensor([[1, 6, 5]]),
                              need_weights=True)
    assert [m[0].shape for m in (maps["encoder"], maps["decoder_self"], maps["cross"])] == [(1, 2, 4, 4), (1, 2, 3, 3),
                                                                                         (1, 2, 3, 4)]
    attention_heads_figure(maps["cross"][0][0], ["le", "chat", "noir", "."], ["<s>", "the", "black"],
                           tmp_path / "cross.png", title="cross-attention, layer 1")
    _is_png_with_content(tmp_path / "cross.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["align.png", "cross.png", "heads.png"]


def test_labels_must_match_the_map(tmp_path):
    with pytest.raises(SeqlabError, match="2 query and 3 key labels"):
        attention_map_figure(torch.rand(2, 3), ["a", "b"], ["x", "y"], tmp_path / "bad.png")
    with pytest.raises(SeqlabError, match="3 dimensions"):
        attention_heads_figure(torch.rand(2, 3), ["a", "b", "c"], ["x", "y"], tmp_path / "bad.png")
    assert not list(tmp_path.iterdir())


def test_every_layer_and_head_of_a_model(tmp_path):
    gpt = GPT(GPTConfig(vocab_size=12, block_size=8, n_layer=3, n_head=2, n_embd=8)).eval()
    with torch.no_grad():
        _, layers = gpt(torch.tensor([[1, 2, 3, 4, 5, 6]]), need_weights=True)
    weights = torch.stack([layer[0] for layer in layers])  # (L, nh, T, T)
    tokens = ["The", "cat", "sat", "on", "the", "mat"]
    attention_layers_figure(weights, tokens, tokens, tmp_path / "all.png")
    _is_png_with_content(tmp_path / "all.png")
    paths = attention_figures(weights, tokens, tmp_path / "every")
    assert [p.name for p in paths] == ["layers.png", "layer-0.png", "layer-1.png", "layer-2.png"]
    for path in paths:
        _is_png_with_content(path)
    assert [p.name for p in attention_figures(weights, tokens, tmp_path / "last", layer=-1)] == ["layer-2.png"]
    with pytest.raises(SeqlabError, match=r"layer: expected an index in \[-3, 2\] \(0 is the first\), got 3"):
        attention_figures(weights, tokens, tmp_path / "bad", layer=3)
    with pytest.raises(SeqlabError, match="4 dimensions"):
        attention_layers_figure(weights[0], tokens, tokens, tmp_path / "bad.png")
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.png").exists()
